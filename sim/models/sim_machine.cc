#include "sim/models/sim_machine.h"

#include <cassert>
#include <memory>

#include "sim/kernel/sim_process.h"
#include "sim/models/sim_disk.h"
#include "sim/models/sim_meta_store.h"
#include "sim/models/sim_network.h"
#include "sim/models/sim_transport.h"

namespace granary::sim {

SimMachine::SimMachine(SimNetwork& network, NodeId node, MachineProfile profile, Random disk_random)
    : network_(network),
      node_(node),
      profile_(std::move(profile)),
      disk_storage_(profile_.disk, disk_random) {}

ProcessSeams SimMachine::Bind(SimProcess& process) {
  assert(process.node().id() == node_);
  ProcessSeams seams;
  auto transport = std::make_unique<SimTransport>(process, network_, profile_.rpc_cpu);
  network_.SetTransport(node_, transport.get());
  seams.transport = std::move(transport);
  seams.disk = std::make_unique<SimDisk>(process, disk_storage_);
  seams.meta_store = std::make_unique<SimMetaStore>(process, meta_store_, profile_.meta_store);
  return seams;
}

void SimMachine::Crash() { disk_storage_.Crash(); }

}  // namespace granary::sim
