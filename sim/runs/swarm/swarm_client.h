// The swarm's client workload (swarm.h): small and large writes, reads, deletes, renames and
// listings in a directory of the client's own, each recorded in the ledger.
#pragma once

#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

// Runs one client's workload until the workload ends or its process crashes.
void RunSwarmClient(SimProcess& process, SwarmState& state, uint32_t index);

}  // namespace granary::sim::swarm
