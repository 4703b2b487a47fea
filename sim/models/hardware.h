// Hardware: the models of one simulated cluster, its network and each node's machine, built
// beside the Simulator by whoever builds the cluster (SimCluster, the self-test, tests).
//
// AddNode adds a node to the simulator together with its machine (SimMachine) and puts it on
// the network, so its incarnations get a Transport, a Disk and a MetaStore. Nodes added to the
// simulator directly have none of them (only an Env). The Hardware must outlive every process
// incarnation of its nodes: declare it after the Simulator and shut the simulator down first
// (Simulator::Shutdown), or destroy the Simulator first.
#pragma once

#include <map>
#include <memory>

#include "core/common/ids.h"
#include "sim/kernel/simulator.h"
#include "sim/models/sim_machine.h"
#include "sim/models/sim_network.h"

namespace granary::sim {

class Hardware {
 public:
  // The network draws from the simulator's "network" stream.
  explicit Hardware(Simulator& sim);
  Hardware(const Hardware&) = delete;
  Hardware& operator=(const Hardware&) = delete;

  // Adds a node to the simulator, with a machine of `profile`, on the network at its name.
  NodeId AddNode(NodeOptions node, MachineProfile profile, StartFunction start);
  NodeId AddNode(NodeOptions node, StartFunction start) {
    return AddNode(std::move(node), MachineProfile(), std::move(start));
  }

  Simulator& sim() { return sim_; }
  SimNetwork& network() { return network_; }
  // The machine of a node added through AddNode (asserted).
  SimMachine& machine(NodeId node);

 private:
  Simulator& sim_;
  SimNetwork network_;
  std::map<NodeId, std::unique_ptr<SimMachine>> machines_;
};

}  // namespace granary::sim
