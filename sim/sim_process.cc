#include "sim/sim_process.h"

#include <algorithm>
#include <cassert>

#include "sim/mem_store.h"
#include "sim/sim_disk.h"
#include "sim/sim_network.h"

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

// The Env of one simulated process.
class SimProcess::ProcessEnv final : public granary::Env {
 public:
  explicit ProcessEnv(SimProcess& process) : process_(process) {}

  Instant Now() override { return process_.simulator().Now(); }

  // Virtual time counts from 2026-01-01T00:00:00Z on the calendar.
  int64_t CalendarNanos() override {
    constexpr int64_t kSimulatedEpochNanos = 1767225600LL * 1000000000LL;
    return kSimulatedEpochNanos + ToNanos(Now());
  }

  Status SleepFor(Duration duration) override {
    return SleepUntil(Now() + std::max(duration, Duration(0)));
  }

  Status SleepUntil(Instant deadline) override {
    return process_.WaitUntil(std::max(deadline, Now()), EventKind::kTimer, 0);
  }

  void Spawn(std::string_view name, std::function<void()> fn) override {
    process_.Spawn(name, std::move(fn));
  }

  Random& random() override { return process_.random_; }

  Status ChargeCpu(Duration cpu_time) override {
    SimNode& node = process_.node();
    std::vector<Instant>& cores = node.core_free_at();
    if (cores.empty() || cpu_time <= Duration(0)) {
      return process_.alive() ? Status::Ok() : Status(StatusCode::kNodeDown, "crashed");
    }
    // The earliest free core takes the work (the lowest index on ties): FIFO service.
    auto core = std::min_element(cores.begin(), cores.end());
    const std::shared_ptr<std::vector<Instant>>& host = node.options().shared_cores;
    if (!host) {
      const Instant start = std::max(*core, Now());
      *core = start + cpu_time;
      node.AddCpuCharged(cpu_time);
      return process_.WaitUntil(*core, EventKind::kCpuDone, cpu_time.count());
    }
    // One process of a shared host: the main-thread part needs one of its threads and a host
    // core at once; the rest its helper thread and a host core, after it.
    const auto main_part = Duration(static_cast<int64_t>(static_cast<double>(cpu_time.count()) *
                                                         node.options().main_thread_share));
    Instant end = Now();
    if (main_part > Duration(0)) {
      auto host_core = std::min_element(host->begin(), host->end());
      const Instant start = std::max({*core, *host_core, Now()});
      end = start + main_part;
      *core = end;
      *host_core = end;
    }
    if (cpu_time > main_part) {
      auto host_core = std::min_element(host->begin(), host->end());
      Instant& helper = node.helper_free_at().front();
      const Instant start = std::max({*host_core, helper, end});
      end = start + (cpu_time - main_part);
      *host_core = end;
      helper = end;
    }
    node.AddCpuCharged(cpu_time);
    return process_.WaitUntil(end, EventKind::kCpuDone, cpu_time.count());
  }

  std::string_view node_name() const override { return process_.node().name(); }

 private:
  SimProcess& process_;
};

SimNode::SimNode(Simulator& simulator, NodeId id, NodeOptions options, StartFunction start)
    : simulator_(simulator),
      id_(id),
      options_(std::move(options)),
      start_(std::move(start)),
      disk_storage_(std::make_unique<SimDiskStorage>(
          options_.disk, simulator.DeriveRandom("disk/" + options_.name))),
      meta_store_(std::make_unique<MemStore>()),
      core_free_at_(options_.cores, Instant{}),
      helper_free_at_(1, Instant{}) {}

SimNode::~SimNode() = default;

bool SimNode::up() const { return process_ != nullptr; }

void SimNode::Start() {
  assert(!up());
  ++incarnation_;
  process_ = std::make_shared<SimProcess>(simulator_, *this, incarnation_);
  SimProcess* process = process_.get();
  process_->Spawn("start", [this, process] {
    if (start_) start_(*process);
  });
}

void SimNode::Crash() {
  assert(up());
  process_->Crash();
  disk_storage_->Crash();
  // Work queued on the node's own cores dies with the process (on a shared host's cores the
  // crashed process's queued work still occupies them: a simplification, see simulator.h).
  std::fill(core_free_at_.begin(), core_free_at_.end(), simulator_.Now());
  std::fill(helper_free_at_.begin(), helper_free_at_.end(), simulator_.Now());
  process_.reset();
}

SimProcess::SimProcess(Simulator& simulator, SimNode& node, uint64_t incarnation)
    : simulator_(simulator),
      node_(node),
      incarnation_(incarnation),
      random_(simulator.DeriveRandom(node.name() + "/" + std::to_string(incarnation))) {
  waiters_.prev_ = &waiters_;
  waiters_.next_ = &waiters_;
  env_ = std::make_unique<ProcessEnv>(*this);
  transport_ = std::make_unique<SimTransport>(*this, simulator.network());
  disk_ = std::make_unique<SimDisk>(*this, node.disk_storage());
  meta_store_ = std::make_unique<SimMetaStore>(*this, node.meta_store(), node.options().meta_store);
}

SimProcess::~SimProcess() {
  assert(live_fibers_ == 0);
  assert(waiters_.next_ == &waiters_);
}

granary::Env& SimProcess::env() { return *env_; }
Transport& SimProcess::transport() { return *transport_; }
Disk& SimProcess::disk() { return *disk_; }
MetaStore& SimProcess::meta_store() { return *meta_store_; }

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
