// SimNode: one simulated machine (DESIGN.md §4). It outlives its process incarnations: its
// name, its modelled cores and the CPU time charged to them, and its Machine (the models of its
// hardware, owned by whoever built the cluster) survive a crash; Start and Crash (called by the
// Simulator) begin and end an incarnation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/common/ids.h"
#include "core/common/time.h"
#include "core/seams/transport.h"
#include "sim/kernel/simulator.h"

namespace granary::sim {

class Machine;
class SimProcess;

class SimNode {
 public:
  // `machine` (may be null) outlives the node's incarnations (Simulator::AddNode).
  SimNode(Simulator& simulator, NodeId id, NodeOptions options, StartFunction start,
          Machine* machine);
  ~SimNode();

  NodeId id() const { return id_; }
  const NodeOptions& options() const { return options_; }
  const std::string& name() const { return options_.name; }
  Address address() const { return Address{options_.name}; }
  bool up() const;
  uint64_t incarnation() const { return incarnation_; }
  // The running incarnation; null when the node is down.
  const std::shared_ptr<SimProcess>& process() const { return process_; }

  // What models the node's hardware (its incarnations' seams); null when nothing does.
  Machine* machine() const { return machine_; }

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
  Machine* const machine_;
  std::vector<Instant> core_free_at_;
  std::vector<Instant> helper_free_at_;
  Duration cpu_charged_{0};
};

}  // namespace granary::sim
