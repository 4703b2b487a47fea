// The swarm's checker (swarm.h): once the faults stop and the cluster heals, it checks the
// ledger, the tree and replication, and counts what it finds in the result.
#pragma once

#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

// Waits for the workload to end, then checks; sets result.checker_finished when done.
void RunSwarmChecker(SimProcess& process, SwarmState& state);

}  // namespace granary::sim::swarm
