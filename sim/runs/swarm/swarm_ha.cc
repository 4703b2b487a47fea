#include "sim/runs/swarm/swarm_ha.h"

#include <string>
#include <vector>

#include "core/namenode/ha_namenode.h"
#include "core/namenode/inode_store.h"
#include "sim/kernel/sim_process.h"
#include "sim/models/mem_store.h"
#include "sim/models/sim_journal_service.h"
#include "sim/models/sim_network.h"

namespace granary::sim::swarm {
namespace {

bool Impaired(const std::vector<Instant>& until, size_t i, Instant now) { return until[i] > now; }

size_t ImpairedCount(const std::vector<Instant>& until, Instant now) {
  size_t n = 0;
  for (size_t i = 0; i < until.size(); ++i) n += Impaired(until, i, now) ? 1 : 0;
  return n;
}

Duration Seconds(double s) { return Duration(static_cast<int64_t>(s * 1e9)); }

// The namenode serving as the active now, or -1.
int ActiveIndex(const SwarmState& state) {
  for (size_t i = 0; i < state.namenode_ids.size(); ++i) {
    HaNamenode* namenode = state.cluster->live_ha_namenode(i);
    if (namenode != nullptr && namenode->active()) return static_cast<int>(i);
  }
  return -1;
}

// Crashes the active (or, with `active` false or none active, a standby) for a while.
void CrashNamenode(Simulator& sim, SwarmState& state, Random& r, Instant now, bool active) {
  if (ImpairedCount(state.namenode_impaired_until, now) > 0) return;
  int i = active ? ActiveIndex(state) : -1;
  if (i < 0) i = static_cast<int>(r.Below(state.namenode_ids.size()));
  const NodeId id = state.namenode_ids[i];
  if (!sim.node(id).up()) return;
  const Duration down = Seconds(0.2 + 3.0 * r.UniformDouble());
  state.namenode_impaired_until[i] = now + down + seconds(1);
  ++state.result.namenode_crashes;
  sim.CrashNode(id);
  sim.At(now + down, [&sim, id] { sim.StartNode(id); });
}

// The active stops renewing its lease and hears nothing, for longer than the lease.
void PauseActive(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  if (ImpairedCount(state.namenode_impaired_until, now) > 0) return;
  const int i = ActiveIndex(state);
  if (i < 0) return;
  const NodeId id = state.namenode_ids[i];
  const std::string name = sim.node(id).name();
  const Duration paused =
      state.cluster->journal()->options().lease_ttl + Seconds(0.5 + 2.5 * r.UniformDouble());
  state.namenode_impaired_until[i] = now + paused + seconds(1);
  ++state.result.namenode_pauses;
  state.cluster->journal()->PauseRenewals(name, true);
  for (uint32_t n = 0; n < sim.node_count(); ++n) {
    if (NodeId(n) != id) state.cluster->network().Partition(id, NodeId(n));
  }
  sim.At(now + paused, [&sim, &state, id, name] {
    state.cluster->journal()->PauseRenewals(name, false);
    for (uint32_t n = 0; n < sim.node_count(); ++n) {
      if (NodeId(n) != id) state.cluster->network().Heal(id, NodeId(n));
    }
  });
}

// Every key of a namenode's store but the journal's bookkeeping, hashed in key order.
uint64_t NamespaceDigest(MemStore& store) {
  uint64_t digest = 0;
  std::string start;
  for (;;) {
    Result<std::vector<KeyValue>> page = store.Scan(start, "", kMetaScanEntriesMax);
    if (!page.ok() || page->empty()) return digest;
    for (const KeyValue& kv : *page) {
      if (InodeStore::Classify(kv.key).kind == RecordKind::kJournal) continue;
      digest = HashBytes(kv.value, HashBytes(kv.key, digest));
    }
    start = page->back().key + '\0';
  }
}

void Wipe(MemStore& store) {
  for (;;) {
    Result<std::vector<KeyValue>> page = store.Scan("", "", kMetaScanEntriesMax);
    if (!page.ok() || page->empty()) return;
    WriteBatch batch;
    for (const KeyValue& kv : *page) batch.Delete(kv.key);
    if (!store.Write(batch).ok()) return;
  }
}

// A standby loses its disk: crashed, its store emptied, started again.
void WipeStandby(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  if (ImpairedCount(state.namenode_impaired_until, now) > 0) return;
  const int active = ActiveIndex(state);
  if (active < 0) return;
  std::vector<size_t> standbys;
  for (size_t i = 0; i < state.namenode_ids.size(); ++i) {
    if (static_cast<int>(i) == active) continue;
    if (!sim.node(state.namenode_ids[i]).up()) return;  // every other namenode must be up
    standbys.push_back(i);
  }
  if (standbys.empty()) return;
  const size_t i = standbys[r.Below(standbys.size())];
  const NodeId id = state.namenode_ids[i];
  const Duration down = Seconds(0.3 + 1.5 * r.UniformDouble());
  state.namenode_impaired_until[i] = now + down + seconds(5);
  ++state.result.store_wipes;
  sim.CrashNode(id);
  Wipe(state.cluster->machine(id).meta_store());
  sim.At(now + down, [&sim, id] { sim.StartNode(id); });
}

// A journal member crashes, or is cut off from the others, for a while; a minority at a
// time, but one fault in ten may take a second member down briefly (no majority left).
void JournalFault(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  SimJournalService& journal = *state.cluster->journal();
  const int m = static_cast<int>(r.Below(journal.members()));
  const size_t impaired = ImpairedCount(state.member_impaired_until, now);
  if (Impaired(state.member_impaired_until, m, now) || !journal.MemberUp(m)) return;
  const bool majority_loss = r.Bernoulli(0.1);
  const size_t minority = static_cast<size_t>(journal.members() - 1) / 2;
  if (impaired >= minority && !(majority_loss && impaired == minority)) return;
  const Duration down = majority_loss && impaired == minority
                            ? Seconds(0.2 + r.UniformDouble())
                            : Seconds(0.5 + 3.5 * r.UniformDouble());
  state.member_impaired_until[m] = now + down + seconds(1);
  ++state.result.journal_faults;
  if (r.Bernoulli(0.6)) {
    journal.CrashMember(m);
    sim.At(now + down, [&state, m] { state.cluster->journal()->RestartMember(m); });
  } else {
    journal.PartitionMember(m, true);
    sim.At(now + down, [&state, m] { state.cluster->journal()->PartitionMember(m, false); });
  }
}

void CountBootstraps(Simulator& sim, SwarmState& state, size_t i, const HaNamenode& namenode) {
  const uint64_t incarnation = sim.node(state.namenode_ids[i]).process()->incarnation();
  auto& [seen_incarnation, seen] = state.bootstraps_seen[i];
  if (seen_incarnation != incarnation) seen_incarnation = incarnation, seen = 0;
  state.result.bootstraps += namenode.bootstraps() - seen;
  seen = namenode.bootstraps();
}

}  // namespace

void HaFault(Simulator& sim, SwarmState& state, Random& r, Instant now) {
  const uint64_t dice = r.Below(100);
  if (dice < 25) {
    CrashNamenode(sim, state, r, now, true);
  } else if (dice < 40) {
    CrashNamenode(sim, state, r, now, false);
  } else if (dice < 55) {
    PauseActive(sim, state, r, now);
  } else if (dice < 65) {
    WipeStandby(sim, state, r, now);
  } else {
    JournalFault(sim, state, r, now);
  }
}

void WatchActives(Simulator& sim, SwarmState& state) {
  sim.At(sim.Now() + milliseconds(50), [&sim, &state] {
    if (state.result.checker_finished) return;
    for (size_t i = 0; i < state.namenode_ids.size(); ++i) {
      HaNamenode* namenode = state.cluster->live_ha_namenode(i);
      if (namenode == nullptr) continue;
      CountBootstraps(sim, state, i, *namenode);
      if (!namenode->active()) continue;
      const uint64_t token = namenode->token().value();
      std::set<size_t>& holders = state.actives_by_token[token];
      if (holders.insert(i).second && holders.size() == 2) {
        ++state.result.split_brain;
        state.Problem("two namenodes active under token " + std::to_string(token));
      }
      if (token > state.newest_active_token) {
        if (state.newest_active_token != 0) ++state.result.failovers;
        state.newest_active_token = token;
      }
    }
    WatchActives(sim, state);
  });
}

void HealHa(Simulator& sim, SwarmState& state) {
  SimJournalService& journal = *state.cluster->journal();
  for (int m = 0; m < journal.members(); ++m) {
    journal.RestartMember(m);
    journal.PartitionMember(m, false);
  }
  for (NodeId id : state.namenode_ids) {
    journal.PauseRenewals(sim.node(id).name(), false);
    sim.StartNode(id);
  }
}

void CheckStores(Env& env, SwarmState& state) {
  const Instant limit = env.Now() + seconds(60);
  for (;;) {
    const int active = ActiveIndex(state);
    const uint64_t last = state.cluster->journal()->last_seq();
    size_t behind = 0;
    for (size_t i = 0; i < state.namenode_ids.size(); ++i) {
      HaNamenode* namenode = state.cluster->live_ha_namenode(i);
      if (namenode == nullptr || namenode->applied_seq() != last) ++behind;
    }
    if (active >= 0 && behind == 0) break;
    if (env.Now() >= limit) {
      state.result.stores_diverged += behind;
      state.Problem(std::to_string(behind) + " namenodes never caught up with the journal (" +
                    std::to_string(last) + " entries)" + (active < 0 ? ", none active" : ""));
      return;
    }
    if (!env.SleepFor(milliseconds(100)).ok()) return;
  }
  const int active = ActiveIndex(state);
  const uint64_t expected =
      NamespaceDigest(state.cluster->machine(state.namenode_ids[active]).meta_store());
  for (size_t i = 0; i < state.namenode_ids.size(); ++i) {
    if (NamespaceDigest(state.cluster->machine(state.namenode_ids[i]).meta_store()) != expected) {
      ++state.result.stores_diverged;
      state.Problem("namenode-" + std::to_string(i + 1) + "'s store differs from the active's");
    }
  }
}

}  // namespace granary::sim::swarm
