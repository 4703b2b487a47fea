// Helpers shared by the tests of the simulator's models (and of processes running on them).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "sim/models/profiles.h"
#include "sim/models/sim_machine.h"
#include "tests/sim/sim_test_util.h"

namespace granary::sim::testing {

// A link without jitter or loss: arrival times become exact.
inline LinkProfile ExactLink(Duration latency = std::chrono::microseconds(50)) {
  LinkProfile link;
  link.latency_fixed = latency;
  link.latency_jitter_mean = Duration(0);
  link.loss_probability = 0;
  return link;
}

// A node with its machine's models (sim/models/hardware.h).
struct NodeSpec {
  NodeOptions node;
  MachineProfile machine;
};

inline NodeSpec Node(std::string name, uint32_t cores = 0, DiskProfile disk = {}) {
  NodeSpec spec;
  spec.node = KernelNode(std::move(name), cores);
  spec.machine.disk = disk;
  return spec;
}

// A Simulator with a cluster's models beside it (Hardware), as a cluster's builder holds them:
// every node added through it gets a machine and a place on the network.
class ModelledSim : public Simulator {
 public:
  explicit ModelledSim(uint64_t seed) : Simulator(seed), hardware_(*this) {}

  NodeId AddNode(NodeSpec spec, StartFunction start) {
    return hardware_.AddNode(std::move(spec.node), std::move(spec.machine), std::move(start));
  }
  Hardware& hardware() { return hardware_; }
  SimNetwork& network() { return hardware_.network(); }
  SimMachine& machine(NodeId id) { return hardware_.machine(id); }

 private:
  Hardware hardware_;
};

// The machine of a process's node, when it was added with one (asserted).
inline SimMachine& MachineOf(SimProcess& process) {
  auto* machine = dynamic_cast<SimMachine*>(process.node().machine());
  EXPECT_NE(machine, nullptr) << process.node().name() << " has no SimMachine";
  if (machine == nullptr) std::abort();
  return *machine;
}

// Runs `body` on the start fiber of a lone node (with a machine) and expects it to finish.
inline void RunOnOneNode(uint64_t seed, NodeSpec options,
                         const std::function<void(SimProcess&)>& body) {
  ModelledSim sim(seed);
  bool finished = false;
  const NodeId id = sim.AddNode(std::move(options), [&](SimProcess& process) {
    body(process);
    finished = true;
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
  EXPECT_TRUE(finished) << "the body never finished";
}

}  // namespace granary::sim::testing
