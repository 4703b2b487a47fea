#include "sim/models/hardware.h"

#include <cassert>
#include <string>
#include <utility>

namespace granary::sim {

Hardware::Hardware(Simulator& sim) : sim_(sim), network_(sim, sim.DeriveRandom("network")) {}

NodeId Hardware::AddNode(NodeOptions node, MachineProfile profile, StartFunction start) {
  // The node's id is the next one; its machine exists before the node can start.
  const NodeId id(static_cast<uint32_t>(sim_.node_count()));
  const Address address{node.name};
  Random disk_random = sim_.DeriveRandom("disk/" + node.name);
  auto machine = std::make_unique<SimMachine>(network_, id, std::move(profile), disk_random);
  SimMachine* bound = machine.get();
  machines_.emplace(id, std::move(machine));
  network_.AddNode(id, address, bound->profile().nic);
  const NodeId added = sim_.AddNode(std::move(node), std::move(start), bound);
  assert(added == id);
  (void)added;
  return id;
}

SimMachine& Hardware::machine(NodeId node) {
  auto it = machines_.find(node);
  assert(it != machines_.end());
  return *it->second;
}

}  // namespace granary::sim
