#include "sim/runs/swarm.h"

#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/common/limits.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/runs/sim_cluster.h"
#include "sim/runs/swarm/swarm_checker.h"
#include "sim/runs/swarm/swarm_client.h"
#include "sim/runs/swarm/swarm_faults.h"
#include "sim/runs/swarm/swarm_ha.h"
#include "sim/runs/swarm/swarm_quota.h"
#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim {

using std::chrono::seconds;

namespace {

// The swarm's cluster: fast timeouts, its replication and block size, the journal for high
// availability; and (in `restore_bound_seconds`) how long healing may take once faults stop.
SimClusterOptions SwarmClusterOptions(const SwarmOptions& options, double* restore_bound_seconds) {
  SimClusterOptions cluster_options = FastClusterOptions();
  cluster_options.datanodes = options.datanodes;
  cluster_options.namenode.ns.inline_threshold_bytes = options.inline_threshold_bytes;
  cluster_options.namenode.ns.default_replication = swarm::kReplication;
  cluster_options.namenode.ns.default_block_bytes = swarm::kBlockBytes;
  if (options.namenodes > 1) {
    cluster_options.namenodes = options.namenodes;
    // A short journal, so that a wiped or lagging namenode must copy a checkpoint.
    cluster_options.ha.retain_entries = swarm::kSwarmJournalRetainEntries;
    cluster_options.ha.truncate_interval = seconds(2);
  }
  const NamenodeOptions& namenode_options = cluster_options.namenode;
  // The bound on healing, from the moment faults stop: a datanode restarted last is seen
  // dead only after the timeout, a namenode restarted last waits out its start-up grace
  // (the same timeout), a monitor pass and a heartbeat deliver the copy commands, the copy
  // itself (1.5 MiB over 10 Gbit/s and an SSD) takes well under a second; blocks of files
  // whose writers died complete only after the lease hard limit and up to
  // kRecoveryAttemptsMax recovery rounds.
  *restore_bound_seconds = ToSeconds(
      namenode_options.datanode_dead_after * 2 + namenode_options.heartbeat_interval * 2 +
      namenode_options.replication_check_interval * 2 + namenode_options.lease_hard_limit +
      namenode_options.lease_check_interval * kRecoveryAttemptsMax +
      namenode_options.recovery_timeout + seconds(2));
  if (options.namenodes > 1) {
    // A failover at the very end: the lease runs out, an election, the new active's catch-up.
    const SimJournalOptions& journal = cluster_options.journal;
    *restore_bound_seconds +=
        ToSeconds(journal.lease_ttl * 2 + journal.election_delay * 2 +
                  cluster_options.ha.follow_wait + cluster_options.ha.campaign_window);
  }
  return cluster_options;
}

}  // namespace

SwarmResult RunSwarm(const SwarmOptions& options) {
  swarm::SwarmState state;
  state.options = options;
  state.result.seed = options.seed;
  Simulator sim(options.seed);
  state.faults = sim.DeriveRandom("swarm-faults");
  state.workload_end = sim.Now() + Duration(static_cast<int64_t>(options.fault_seconds * 1e9));
  state.check_at = state.workload_end + swarm::kHealTime;
  const SimClusterOptions cluster_options =
      SwarmClusterOptions(options, &state.result.replication_restore_bound_seconds);
  SimCluster cluster(sim, cluster_options);
  state.cluster = &cluster;
  state.namenode_id = cluster.namenode_id();
  state.namenode_ids = cluster.namenode_ids();
  state.namenode_impaired_until.assign(state.namenode_ids.size(), Instant{});
  state.bootstraps_seen.assign(state.namenode_ids.size(), {0, 0});
  if (cluster.journal() != nullptr) {
    state.member_impaired_until.assign(cluster.journal()->members(), Instant{});
  }
  state.datanode_ids = cluster.datanode_ids();
  state.impaired_until.assign(options.datanodes, Instant{});
  for (uint32_t i = 0; i < options.clients; ++i) {
    state.client_ids.push_back(
        cluster.AddClient("client-" + std::to_string(i + 1),
                          [&state, i](SimProcess& p) { swarm::RunSwarmClient(p, state, i + 1); }));
  }
  const NodeId checker =
      cluster.AddClient("checker", [&state](SimProcess& p) { swarm::RunSwarmChecker(p, state); });

  cluster.Start();
  for (NodeId id : state.client_ids) sim.StartNode(id);
  sim.StartNode(checker);
  if (options.faults) swarm::ScheduleFault(sim, state);
  if (state.ha()) swarm::WatchActives(sim, state);
  if (options.quotas) swarm::WatchQuotas(sim, state);
  sim.RunUntil(state.workload_end);
  // Faults stop: the network heals and every node comes back.
  cluster.network().HealAll();
  cluster.network().SetExtraLossProbability(0);
  if (state.ha()) {
    swarm::HealHa(sim, state);
  } else {
    sim.StartNode(state.namenode_id);
  }
  for (NodeId id : state.datanode_ids) sim.StartNode(id);
  for (NodeId id : state.client_ids) sim.StartNode(id);
  while (!state.result.checker_finished && sim.Now() < state.check_at + seconds(120)) {
    sim.RunFor(seconds(1));
  }
  state.result.trace_hash = sim.trace_hash();
  state.result.events = sim.events_fired();
  state.result.virtual_seconds = ToSeconds(sim.Now().time_since_epoch());
  const Status shutdown = sim.Shutdown();
  if (!shutdown.ok()) {
    std::fprintf(stderr, "granary-sim: swarm seed %llu: %s\n",
                 static_cast<unsigned long long>(options.seed), shutdown.ToString().c_str());
    std::abort();
  }
  return state.result;
}

}  // namespace granary::sim
