#include "sim/kernel/sim_process.h"

#include <algorithm>
#include <cassert>

#include "sim/kernel/sim_env.h"
#include "sim/kernel/sim_node.h"

namespace granary::sim {

Status Waiter::Suspend() {
  if (!done_) {
    context_ = boost::fibers::context::active();
    context_->suspend();
  }
  assert(done_);
  return status_;
}

void Waiter::Complete(Status status) {
  if (done_) return;
  done_ = true;
  status_ = std::move(status);
  if (context_ != nullptr) boost::fibers::context::active()->schedule(context_);
}

SimProcess::SimProcess(Simulator& simulator, SimNode& node, uint64_t incarnation)
    : simulator_(simulator),
      node_(node),
      incarnation_(incarnation),
      random_(simulator.DeriveRandom(node.name() + "/" + std::to_string(incarnation))) {
  waiters_.prev_ = &waiters_;
  waiters_.next_ = &waiters_;
  env_ = std::make_unique<SimEnv>(*this);
  if (Machine* machine = node.machine()) seams_ = machine->Bind(*this);
}

SimProcess::~SimProcess() {
  assert(live_fibers_ == 0);
  assert(waiters_.next_ == &waiters_);
}

granary::Env& SimProcess::env() { return *env_; }

Transport& SimProcess::transport() {
  assert(seams_.transport != nullptr);
  return *seams_.transport;
}

Disk& SimProcess::disk() {
  assert(seams_.disk != nullptr);
  return *seams_.disk;
}

MetaStore& SimProcess::meta_store() {
  assert(seams_.meta_store != nullptr);
  return *seams_.meta_store;
}

Status SimProcess::Wait(Waiter& waiter) {
  if (!alive_) return Status(StatusCode::kNodeDown, node_.name() + " crashed");
  // Link at the tail: a crash fails waits in the order they began.
  waiter.prev_ = waiters_.prev_;
  waiter.next_ = &waiters_;
  waiters_.prev_->next_ = &waiter;
  waiters_.prev_ = &waiter;
  Status status = waiter.Suspend();
  waiter.prev_->next_ = waiter.next_;
  waiter.next_->prev_ = waiter.prev_;
  waiter.prev_ = waiter.next_ = nullptr;
  return status;
}

Status SimProcess::WaitUntil(Instant deadline, EventKind kind, uint64_t digest) {
  if (!alive_) return Status(StatusCode::kNodeDown, node_.name() + " crashed");
  Waiter waiter;
  const TimerId timer = simulator_.Schedule(deadline, kind, node_.id().value(), digest,
                                            [&waiter] { waiter.Complete(Status::Ok()); });
  Status status = Wait(waiter);
  if (!status.ok()) simulator_.Cancel(timer);
  return status;
}

void SimProcess::Spawn(std::string_view, std::function<void()> body) {
  if (!alive_) return;
  ++live_fibers_;
  simulator_.SpawnFiber([self = shared_from_this(), body = std::move(body)]() mutable {
    body();
    body = nullptr;
    --self->live_fibers_;
    self.reset();
  });
}

void SimProcess::Crash() {
  assert(alive_);
  alive_ = false;
  const Status down(StatusCode::kNodeDown, node_.name() + " crashed");
  for (Waiter* w = waiters_.next_; w != &waiters_; w = w->next_) w->Complete(down);
}

}  // namespace granary::sim
