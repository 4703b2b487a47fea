#include "sim/runs/swarm/swarm_faults.h"

#include <cstdlib>
#include <string>
#include <vector>

#include "sim/models/sim_disk_storage.h"
#include "sim/models/sim_network.h"
#include "sim/runs/swarm/swarm_ha.h"

namespace granary::sim::swarm {
namespace {

bool Impaired(const SwarmState& state, size_t index, Instant now) {
  return state.impaired_until[index] > now;
}

size_t ImpairedCount(const SwarmState& state, Instant now) {
  size_t n = 0;
  for (size_t i = 0; i < state.impaired_until.size(); ++i) n += Impaired(state, i, now) ? 1 : 0;
  return n;
}

// Bit rot in one stored replica of a datanode nobody else is damaging.
void RotReplica(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  const size_t i = r.Below(state.datanode_ids.size());
  SimNode& node = sim.node(state.datanode_ids[i]);
  SimDiskStorage& disk = state.cluster->machine(node.id()).disk_storage();
  if (node.up() && !Impaired(state, i, now) && ImpairedCount(state, now) < kReplication - 1) {
    // Only a replica of a block that is fully replicated right now: rotting the last good
    // copy of a block is beyond what any replication tolerates.
    std::vector<std::string> files;
    const NamenodeInspection* namenode = state.namenode();
    for (const std::string& name : disk.List("blk_")) {
      if (namenode == nullptr) break;
      if (name.size() <= 5 || name.compare(name.size() - 5, 5, ".data") != 0) continue;
      const uint64_t block_id = std::strtoull(name.c_str() + 4, nullptr, 10);
      if (namenode->GoodReplicaCount(BlockId(block_id)) >= kReplication) {
        files.push_back(name);
      }
    }
    if (!files.empty()) {
      const std::string& victim = files[r.Below(files.size())];
      Result<uint64_t> size = disk.Size(victim);
      if (size.ok() && *size > 0) {
        (void)disk.Corrupt(victim, r.Below(*size));
        ++state.result.corruptions;
        state.impaired_until[i] = now + seconds(15);
      }
    }
  }
}

// A partition (one way or both) between two nodes of any kind, healed after a while.
void PartitionPair(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  std::vector<NodeId> all = state.datanode_ids;
  all.insert(all.end(), state.client_ids.begin(), state.client_ids.end());
  if (state.ha()) {
    all.insert(all.end(), state.namenode_ids.begin(), state.namenode_ids.end());
  } else {
    all.push_back(state.namenode_id);
  }
  const NodeId a = all[r.Below(all.size())];
  const NodeId b = all[r.Below(all.size())];
  if (a != b) {
    ++state.result.partitions;
    if (r.Bernoulli(0.7)) {
      state.cluster->network().Partition(a, b);
    } else {
      state.cluster->network().PartitionOneWay(a, b);
    }
    const Duration heal(static_cast<int64_t>(r.Exponential(1e9)));
    sim.At(now + heal, [&state, a, b] { state.cluster->network().Heal(a, b); });
  }
}

// One fault of the kinds every swarm has (with several namenodes, a namenode crash is one
// of swarm_ha.h's faults).
void OneFault(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  const uint64_t dice = r.Below(100);
  if (dice < 30) {
    // A datanode crashes; sometimes for longer than the dead timeout.
    const size_t i = r.Below(state.datanode_ids.size());
    if (!Impaired(state, i, now) && ImpairedCount(state, now) < kReplication - 1) {
      const Duration down(static_cast<int64_t>((0.3 + 6.0 * r.UniformDouble()) * 1e9));
      state.impaired_until[i] = now + down + seconds(1);
      ++state.result.datanode_crashes;
      const NodeId id = state.datanode_ids[i];
      sim.CrashNode(id);
      sim.At(now + down, [&sim, id] { sim.StartNode(id); });
    }
  } else if (dice < 38) {
    if (state.ha()) {
      HaFault(sim, state, r, now);
    } else if (sim.node(state.namenode_id).up()) {
      ++state.result.namenode_crashes;
      sim.CrashNode(state.namenode_id);
      const Duration down(static_cast<int64_t>((0.2 + 1.5 * r.UniformDouble()) * 1e9));
      sim.At(now + down, [&sim, &state] { sim.StartNode(state.namenode_id); });
    }
  } else if (dice < 50) {
    const NodeId id = state.client_ids[r.Below(state.client_ids.size())];
    if (sim.node(id).up()) {
      ++state.result.client_crashes;
      sim.CrashNode(id);
      const Duration down(static_cast<int64_t>((0.2 + 2.0 * r.UniformDouble()) * 1e9));
      sim.At(now + down, [&sim, id] { sim.StartNode(id); });
    }
  } else if (dice < 62) {
    RotReplica(sim, state, r, now);
  } else if (dice < 88) {
    PartitionPair(sim, state, r, now);
  } else {
    state.cluster->network().SetExtraLossProbability(0.01 + 0.02 * r.UniformDouble());
    sim.At(now + seconds(1), [&state] { state.cluster->network().SetExtraLossProbability(0); });
  }
}

}  // namespace

void ScheduleFault(Simulator& sim, SwarmState& state) {
  const Instant next = sim.Now() + Duration(static_cast<int64_t>(state.faults.Exponential(0.8e9)));
  if (next >= state.workload_end) return;
  sim.At(next, [&sim, &state] {
    Random& r = state.faults;
    const Instant now = sim.Now();
    if (state.ha() && r.Bernoulli(0.3)) {
      HaFault(sim, state, r, now);
    } else {
      OneFault(sim, state, r, now);
    }
    ScheduleFault(sim, state);
  });
}

}  // namespace granary::sim::swarm
