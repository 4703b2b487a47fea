// The swarm's fault controller (swarm.h): crashes, partitions, message loss and bit rot,
// never damaging more than replication - 1 datanodes at once.
#pragma once

#include "sim/kernel/simulator.h"
#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

// Schedules the next fault (and, from it, the one after) until the workload ends.
void ScheduleFault(Simulator& sim, SwarmState& state);

}  // namespace granary::sim::swarm
