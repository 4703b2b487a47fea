// SimProcess: one incarnation of the software on a simulated node (SimNode, sim_node.h), and
// Waiter, one pending wait of one of its fibers.
//
// A SimProcess owns the four seams handed to core code: its Env (SimEnv), and the Transport,
// Disk and MetaStore its node's Machine built for it (machine.h), all bound to that
// incarnation: once it crashes, each of them fails every pending and later wait with
// kNodeDown. The process object lives until its last fiber has finished, so fibers of a
// crashed incarnation unwind safely while a new incarnation runs beside them.
#pragma once

#include <boost/fiber/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/seams/disk.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"
#include "sim/kernel/machine.h"
#include "sim/kernel/sim_node.h"
#include "sim/kernel/simulator.h"

namespace granary::sim {

class SimEnv;
class SimNode;

// One pending wait of one fiber. Lives on the waiting fiber's stack.
class Waiter {
 public:
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Suspends the calling fiber until Complete; returns the status given there. Only the
  // process's Wait() calls this.
  Status Suspend();
  // Wakes the waiting fiber with `status`; later calls are ignored.
  void Complete(Status status);
  bool done() const { return done_; }

 private:
  friend class SimProcess;
  boost::fibers::context* context_ = nullptr;
  bool done_ = false;
  Status status_;
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
};

class SimProcess : public std::enable_shared_from_this<SimProcess> {
 public:
  SimProcess(Simulator& simulator, SimNode& node, uint64_t incarnation);
  ~SimProcess();

  Simulator& simulator() { return simulator_; }
  SimNode& node() { return node_; }
  uint64_t incarnation() const { return incarnation_; }
  bool alive() const { return alive_; }
  uint64_t live_fibers() const { return live_fibers_; }

  Env& env();
  // The seams its node's Machine gave this incarnation (machine.h); a node without a Machine,
  // or without that part, has none, and asking for it is a bug (asserted).
  // The incarnation's generator, derived from the root seed, the node's name and incarnation.
  Random& random() { return random_; }
  Transport& transport();
  Disk& disk();
  MetaStore& meta_store();

  // Registers `waiter` with this process, suspends until it completes (or the process
  // crashes: kNodeDown), unregisters it. kNodeDown at once when already crashed.
  Status Wait(Waiter& waiter);
  // Waits until `deadline` on a timer event of `kind` (a disk or CPU completion, a sleep).
  Status WaitUntil(Instant deadline, EventKind kind, uint64_t digest);
  // Starts a fiber of this process (nothing when crashed).
  void Spawn(std::string_view name, std::function<void()> body);

  // Ends this incarnation: fails every pending wait with kNodeDown, in the order the waits
  // began.
  void Crash();

 private:
  Simulator& simulator_;
  SimNode& node_;
  const uint64_t incarnation_;
  bool alive_ = true;
  uint64_t live_fibers_ = 0;
  Waiter waiters_;  // sentinel of the intrusive list of pending waits
  Random random_;
  std::unique_ptr<SimEnv> env_;
  ProcessSeams seams_;
};

}  // namespace granary::sim
