#include "sim/kernel/simulator.h"

#include <algorithm>
#include <boost/fiber/fiber.hpp>
#include <boost/fiber/operations.hpp>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "core/common/limits.h"
#include "sim/kernel/sim_node.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/sim_scheduling.h"

namespace granary::sim {
namespace {

// A min-heap on (time, sequence) through std::push_heap's max-heap convention.
struct Later {
  template <typename Entry>
  bool operator()(const Entry& a, const Entry& b) const {
    if (a.time_ns != b.time_ns) return a.time_ns > b.time_ns;
    return a.sequence > b.sequence;
  }
};

}  // namespace

Simulator::Simulator(uint64_t seed, SimulatorOptions options)
    : seed_(seed),
      options_(options),
      root_random_(seed),
      scheduling_(SimScheduling::ForThisThread()),
      pooled_stacks_(kFiberStackBytes),
      guarded_stacks_(kFiberStackBytes) {}

Simulator::~Simulator() {
  if (live_fibers_ != 0) {
    std::fprintf(stderr, "granary-sim: seed %llu: simulator destroyed with %llu live fibers\n",
                 static_cast<unsigned long long>(seed_),
                 static_cast<unsigned long long>(live_fibers_));
    std::abort();
  }
  // Let the dispatcher release finished fibers' stacks and captures while we still exist.
  boost::this_fiber::yield();
  nodes_.clear();
}

TimerId Simulator::Schedule(Instant at, EventKind kind, uint32_t node, uint64_t digest,
                            std::function<void()> fire) {
  assert(at >= now_);
  assert(fire);
  uint32_t slot;
  if (free_slots_.empty()) {
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  } else {
    slot = free_slots_.back();
    free_slots_.pop_back();
  }
  const uint64_t sequence = next_sequence_++;
  Slot& s = slots_[slot];
  s.sequence = sequence;
  s.node = node;
  s.kind = kind;
  s.live = true;
  s.digest = digest;
  s.fire = std::move(fire);
  heap_.push_back(HeapEntry{ToNanos(at), sequence, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later());
  return TimerId{slot, sequence};
}

void Simulator::Cancel(TimerId id) {
  if (id.slot >= slots_.size()) return;
  Slot& s = slots_[id.slot];
  if (s.sequence != id.sequence || !s.live) return;
  s.live = false;
  s.fire = nullptr;
}

NodeId Simulator::AddNode(NodeOptions options, StartFunction start, Machine* machine) {
  const NodeId id(static_cast<uint32_t>(nodes_.size()));
  const bool named = by_name_.emplace(options.name, id).second;
  assert(named);  // a second node of one name could not be addressed
  (void)named;
  nodes_.push_back(
      std::make_unique<SimNode>(*this, id, std::move(options), std::move(start), machine));
  return id;
}

SimNode& Simulator::node(NodeId id) {
  assert(id.value() < nodes_.size());
  return *nodes_[id.value()];
}

std::optional<NodeId> Simulator::FindNode(std::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

granary::Env* Simulator::EnvOf(std::string_view name) {
  const std::optional<NodeId> id = FindNode(name);
  if (!id) return nullptr;
  const std::shared_ptr<SimProcess>& process = node(*id).process();
  return process ? &process->env() : nullptr;
}

void Simulator::StartNode(NodeId id) {
  if (shutting_down_) return;
  SimNode& n = node(id);
  if (n.up()) return;
  FoldTrace(ToNanos(now_), id.value(), EventKind::kStart, n.incarnation() + 1);
  n.Start();
}

void Simulator::CrashNode(NodeId id) {
  SimNode& n = node(id);
  if (!n.up()) return;
  FoldTrace(ToNanos(now_), id.value(), EventKind::kCrash, n.incarnation());
  n.Crash();
}

void Simulator::RestartNode(NodeId id) {
  CrashNode(id);
  StartNode(id);
}

void Simulator::RunReadyFibers() {
  while (scheduling_.ReadyWorkers() > 0) boost::this_fiber::yield();
}

bool Simulator::FireNext(int64_t until_ns) {
  while (!heap_.empty()) {
    const HeapEntry top = heap_.front();
    if (top.time_ns > until_ns) return false;
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    heap_.pop_back();
    Slot& s = slots_[top.slot];
    assert(s.sequence == top.sequence);
    const bool live = s.live;
    std::function<void()> fire = std::move(s.fire);
    const uint32_t node = s.node;
    const EventKind kind = s.kind;
    const uint64_t digest = s.digest;
    s.live = false;
    s.fire = nullptr;
    free_slots_.push_back(top.slot);
    if (!live) continue;
    now_ = InstantFromNanos(top.time_ns);
    ++events_fired_;
    FoldTrace(top.time_ns, node, kind, digest);
    fire();
    return true;
  }
  return false;
}

void Simulator::FoldTrace(int64_t time_ns, uint32_t node, EventKind kind, uint64_t digest) {
  uint64_t h = Mix64(trace_hash_ + static_cast<uint64_t>(time_ns));
  h = Mix64(h ^ ((static_cast<uint64_t>(node) << 8) | static_cast<uint64_t>(kind)));
  trace_hash_ = Mix64(h ^ digest);
}

void Simulator::RunUntil(Instant until) {
  assert(boost::fibers::context::active()->is_context(boost::fibers::type::main_context));
  const int64_t until_ns = ToNanos(until);
  for (;;) {
    RunReadyFibers();
    if (!FireNext(until_ns)) break;
  }
  if (now_ < until) now_ = until;
}

void Simulator::RunUntilIdle() {
  for (;;) {
    RunReadyFibers();
    if (!FireNext(INT64_MAX)) break;
  }
}

Status Simulator::Shutdown() {
  shutting_down_ = true;
  for (auto& n : nodes_) CrashNode(n->id());
  RunReadyFibers();
  // Whatever is still scheduled belongs to processes that no longer exist.
  for (Slot& s : slots_) {
    s.live = false;
    s.fire = nullptr;
  }
  heap_.clear();
  free_slots_.clear();
  slots_.clear();
  if (live_fibers_ != 0) {
    return Status(StatusCode::kInternal,
                  std::to_string(live_fibers_) +
                      " fibers still blocked after every node crashed (seed " +
                      std::to_string(seed_) + ")");
  }
  return Status::Ok();
}

void Simulator::SpawnFiber(std::function<void()> body) {
  ++live_fibers_;
  ++fibers_started_;
  auto wrapper = [this, body = std::move(body)]() mutable {
    try {
      body();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "granary-sim: seed %llu: exception escaped a fiber: %s\n",
                   static_cast<unsigned long long>(seed_), e.what());
      std::abort();
    } catch (...) {
      std::fprintf(stderr, "granary-sim: seed %llu: unknown exception escaped a fiber\n",
                   static_cast<unsigned long long>(seed_));
      std::abort();
    }
    // Release the body's captures now, not when Boost releases the finished fiber.
    body = nullptr;
    --live_fibers_;
  };
  if (options_.guarded_stacks) {
    boost::fibers::fiber(std::allocator_arg, guarded_stacks_, std::move(wrapper)).detach();
  } else {
    boost::fibers::fiber(std::allocator_arg, pooled_stacks_, std::move(wrapper)).detach();
  }
}

}  // namespace granary::sim
