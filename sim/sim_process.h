// Simulated machines (SimNode) and the process incarnations running on them (SimProcess).
//
// A SimProcess owns the four seams handed to core code — Env, Transport, Disk, MetaStore —
// all bound to that incarnation: once it crashes, each of them fails every pending and later
// wait with kNodeDown. The process object lives until its last fiber has finished, so
// fibers of a crashed incarnation unwind safely while a new incarnation runs beside them.
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
#include "sim/simulator.h"

namespace granary::sim {

class MemStore;
class SimDiskStorage;
class SimTransport;

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

class SimNode {
 public:
  SimNode(Simulator& simulator, NodeId id, NodeOptions options, StartFunction start);
  ~SimNode();

  NodeId id() const { return id_; }
  const NodeOptions& options() const { return options_; }
  const std::string& name() const { return options_.name; }
  Address address() const { return Address{options_.name}; }
  bool up() const;
  uint64_t incarnation() const { return incarnation_; }
  // The running incarnation; null when the node is down.
  const std::shared_ptr<SimProcess>& process() const { return process_; }

  // The machine's durable state, shared by its incarnations.
  SimDiskStorage& disk_storage() { return *disk_storage_; }
  MemStore& meta_store() { return *meta_store_; }

  // Called by the simulator.
  void Start();
  void Crash();

  // The node's modelled cores: each is free from the given time on.
  // (Its own cores: with a shared host, the threads of its process.)
  std::vector<Instant>& core_free_at() {
    return options_.shared_threads ? *options_.shared_threads : core_free_at_;
  }
  // Its helper thread, on a shared host.
  std::vector<Instant>& helper_free_at() {
    return options_.shared_helper_threads ? *options_.shared_helper_threads : helper_free_at_;
  }
  // CPU time charged to the node's cores so far, over all incarnations (for utilisation).
  Duration cpu_charged() const { return cpu_charged_; }
  void AddCpuCharged(Duration cpu_time) { cpu_charged_ += cpu_time; }

 private:
  Simulator& simulator_;
  const NodeId id_;
  const NodeOptions options_;
  const StartFunction start_;
  uint64_t incarnation_ = 0;
  std::shared_ptr<SimProcess> process_;
  std::unique_ptr<SimDiskStorage> disk_storage_;
  std::unique_ptr<MemStore> meta_store_;
  std::vector<Instant> core_free_at_;
  std::vector<Instant> helper_free_at_;
  Duration cpu_charged_{0};
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
  Transport& transport();
  SimTransport& sim_transport() { return *transport_; }
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
  class ProcessEnv;
  Simulator& simulator_;
  SimNode& node_;
  const uint64_t incarnation_;
  bool alive_ = true;
  uint64_t live_fibers_ = 0;
  Waiter waiters_;  // sentinel of the intrusive list of pending waits
  Random random_;
  std::unique_ptr<ProcessEnv> env_;
  std::unique_ptr<SimTransport> transport_;
  std::unique_ptr<Disk> disk_;
  std::unique_ptr<MetaStore> meta_store_;
};

}  // namespace granary::sim
