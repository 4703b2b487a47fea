// The deterministic discrete-event simulator (DESIGN.md §4, §7).
//
// Invariants:
//   - One OS thread. Every simulated node's fibers and the event loop share it; the event
//     loop runs on the thread's main fiber (see sim_scheduling.h).
//   - Events are ordered by (virtual time, insertion sequence): ties break by the order in
//     which they were scheduled, so a run depends only on the seed.
//   - The clock advances only by popping an event, and only once no fiber is ready.
//   - The trace hash folds (time, node, kind, digest) of every fired event; the same seed
//     gives the same hash on any machine.
//   - Nothing reads a wall clock or a nondeterministic seed, or iterates an unordered container.
//
// Nodes and processes: a SimNode is a machine (what its Machine models, such as its disk and
// its metadata store, survives crashes); a SimProcess is one incarnation of the software on it.
// The simulator owns no model: whoever builds a cluster creates them (sim/models/). CrashNode ends
// the incarnation: every pending and later wait of its fibers returns kNodeDown (so they unwind)
// and its disk loses what was not synced. RestartNode runs the node's start function again on
// a new incarnation, on the same disk.
#pragma once

#include <boost/fiber/pooled_fixedsize_stack.hpp>
#include <boost/fiber/protected_fixedsize_stack.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"

namespace granary::sim {

class SimNode;
class SimProcess;
class SimScheduling;
class Machine;

// What an event stands for; part of the trace hash.
enum class EventKind : uint8_t {
  kTimer = 1,
  kDeliverRequest = 2,
  kDeliverReply = 3,
  kDiskDone = 4,
  kCpuDone = 5,
  kControl = 6,
  kCrash = 7,
  kStart = 8,
};

inline constexpr uint32_t kNoNode = UINT32_MAX;

struct TimerId {
  uint32_t slot = UINT32_MAX;
  uint64_t sequence = 0;
};

struct SimulatorOptions {
  // Guard pages around every fiber stack: catches overflows, costs two mappings a fiber and
  // stops near 32,000 fibers. For debugging runs.
  bool guarded_stacks = false;
};

struct NodeOptions {
  std::string name;
  // Modelled cores for Env::ChargeCpu; 0 means CPU time is not modelled.
  uint32_t cores = 0;
  // When set, the node is one process among several on one host: its CPU work needs one of
  // these cores, shared with every node given the same vector, and `main_thread_share` of
  // it also one of the process's own `cores` (the threads its handlers run on); the rest is
  // its helper threads' work (messaging I/O, store commits), which needs its one helper
  // thread. A crash does not clear the shared cores: the host's other processes keep their
  // queued work.
  std::shared_ptr<std::vector<Instant>> shared_cores;
  double main_thread_share = 1;
  // With shared_cores: how much longer CPU work takes on a host core than alone there (other
  // programs' threads take their fair share of the cores; ClusterSpec.host_cpu_neighbours).
  double shared_core_stretch = 1;
  // When set, replace the node's own `cores` and its one helper thread (shared hosts
  // only): nodes given the same vectors are fibers of one process and share its threads
  // (clients of one benchmark process).
  std::shared_ptr<std::vector<Instant>> shared_threads;
  std::shared_ptr<std::vector<Instant>> shared_helper_threads;
};

// Runs on a fiber of a new process incarnation; gets everything the process owns.
using StartFunction = std::function<void(SimProcess& process)>;

class Simulator {
 public:
  explicit Simulator(uint64_t seed, SimulatorOptions options = {});
  // Requires that no fiber of this simulator is alive (call Shutdown first).
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  uint64_t seed() const { return seed_; }
  Instant Now() const { return now_; }
  // An independent generator for a named component, derived from the root seed.
  Random DeriveRandom(std::string_view stream) const { return root_random_.Derive(stream); }

  // Schedules `fire` at `at` (not before now). `fire` runs on the event loop's fiber: it may
  // wake fibers, spawn fibers and schedule events, but never suspends.
  TimerId Schedule(Instant at, EventKind kind, uint32_t node, uint64_t digest,
                   std::function<void()> fire);
  // Cancels a scheduled event; a no-op when it already fired or was cancelled.
  void Cancel(TimerId id);
  // A controller event (fault injection, workload phases): not bound to any node.
  void At(Instant at, std::function<void()> fire) {
    Schedule(at, EventKind::kControl, kNoNode, 0, std::move(fire));
  }

  // Nodes. `machine` (not owned; may be null) gives the node's incarnations their seams
  // besides the Env (machine.h); it must outlive every incarnation of the node.
  NodeId AddNode(NodeOptions options, StartFunction start, Machine* machine = nullptr);
  SimNode& node(NodeId id);
  // The node called `name`; nullopt when there is none (names are unique).
  std::optional<NodeId> FindNode(std::string_view name) const;
  // The Env of the running incarnation of the node called `name`; null when there is no such
  // node or it is down. Owned by that incarnation: valid while a fiber of it runs.
  granary::Env* EnvOf(std::string_view name);
  size_t node_count() const { return nodes_.size(); }
  // Starts a new process incarnation of a node that is down, at once (its start fiber runs
  // before the next event); part of the trace.
  void StartNode(NodeId id);
  // Ends the node's current incarnation; a no-op when it is down.
  void CrashNode(NodeId id);
  // Crashes the node if it is up, then starts a new incarnation.
  void RestartNode(NodeId id);

  // Runs fibers and events until the next event lies after `until`; the clock ends at
  // `until`. Events at exactly `until` fire.
  void RunUntil(Instant until);
  void RunFor(Duration duration) { RunUntil(now_ + duration); }
  // Runs until no event is left (beware of periodic timers: they never run out).
  void RunUntilIdle();
  // Crashes every node and runs until their fibers have unwound. kInternal naming the count
  // when fibers remain blocked (waiting on something no crash can wake): a bug of theirs.
  Status Shutdown();

  // Accounting.
  uint64_t trace_hash() const { return trace_hash_; }
  uint64_t events_fired() const { return events_fired_; }
  uint64_t live_fibers() const { return live_fibers_; }
  uint64_t fibers_started() const { return fibers_started_; }

  // Used by processes to start fibers with the simulator's stack allocator.
  void SpawnFiber(std::function<void()> body);

 private:
  struct Slot {
    uint64_t sequence = 0;
    uint32_t node = kNoNode;
    EventKind kind = EventKind::kTimer;
    bool live = false;
    uint64_t digest = 0;
    std::function<void()> fire;
  };
  struct HeapEntry {
    int64_t time_ns;
    uint64_t sequence;
    uint32_t slot;
  };

  void RunReadyFibers();
  // Pops and fires the next live event not after `until`; false when there is none.
  bool FireNext(int64_t until_ns);
  void FoldTrace(int64_t time_ns, uint32_t node, EventKind kind, uint64_t digest);

  const uint64_t seed_;
  const SimulatorOptions options_;
  Random root_random_;
  SimScheduling& scheduling_;
  boost::fibers::pooled_fixedsize_stack pooled_stacks_;
  boost::fibers::protected_fixedsize_stack guarded_stacks_;

  Instant now_{};
  uint64_t next_sequence_ = 1;
  std::vector<HeapEntry> heap_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;

  uint64_t trace_hash_ = 0x6772616e617279ull;  // "granary"
  uint64_t events_fired_ = 0;
  uint64_t live_fibers_ = 0;
  uint64_t fibers_started_ = 0;
  bool shutting_down_ = false;

  std::vector<std::unique_ptr<SimNode>> nodes_;
  std::map<std::string, NodeId, std::less<>> by_name_;
};

}  // namespace granary::sim
