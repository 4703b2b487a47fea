#include "sim/runs/swarm.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/limits.h"
#include "core/datanode/datanode.h"
#include "core/namenode/namenode.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/sim_disk_storage.h"
#include "sim/models/sim_network.h"
#include "sim/runs/sim_cluster.h"

namespace granary::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kNamesPerClient = 16;
constexpr uint32_t kReplication = 3;
constexpr uint64_t kBlockBytes = 512 * 1024;
constexpr uint64_t kLargeFileBytesMax = 1536 * 1024;
constexpr Duration kHealTime = seconds(40);

// The small-file size mix of ../shared/workloads/small_file_sizes.csv (hammer-bench's
// configuration around the HopsFS small-files work), as (bytes, percent).
constexpr std::pair<uint64_t, double> kSmallFileSizes[] = {
    {0, 0.3},     {1024, 6.3},  {2048, 7.2},  {3072, 8.5},   {4096, 9.6},   {5120, 10.2},
    {6144, 10.5}, {7168, 10.8}, {8192, 11.0}, {16384, 11.9}, {32768, 13.7}, {65536, 0.0}};

// What the clients were told, per path. A path is certain while the last operation on it
// was acknowledged; an operation that failed (or never finished) leaves it uncertain until
// the next acknowledged one.
struct LedgerEntry {
  bool certain = true;
  bool exists = false;
  uint64_t length = 0;
  uint64_t digest = 0;
  // Every content ever written to the path, as (path it was written under, version, length):
  // an uncertain path may hold any of them, or a prefix of one (a writer that died has its
  // file closed by lease recovery at the length its replicas agree on).
  std::set<std::tuple<std::string, uint64_t, uint64_t>> written;
};

struct SwarmState {
  SwarmOptions options;
  SwarmResult result;
  std::map<std::string, LedgerEntry> ledger;
  SimCluster* cluster = nullptr;
  const NamenodeInspection* namenode() const { return cluster->namenode(); }
  Instant workload_end{};
  Instant check_at{};
  std::vector<Instant> impaired_until;  // per datanode index
  std::vector<NodeId> datanode_ids;
  std::vector<NodeId> client_ids;
  NodeId namenode_id;
  Random faults{0};
  uint64_t versions = 0;
  // Client loops still running: the checker starts once none is.
  uint32_t active_clients = 0;

  void Problem(const std::string& what) {
    if (result.problems.size() < kSimSwarmProblemsBytesMax) {
      if (!result.problems.empty()) result.problems += "; ";
      result.problems += what;
    }
  }
};

std::string Content(const std::string& path, uint64_t version, uint64_t length) {
  Random random(HashBytes(path) ^ Mix64(version));
  std::string out(length, '\0');
  for (uint64_t i = 0; i < length; i += 8) {
    const uint64_t word = random.Next();
    std::memcpy(out.data() + i, &word, std::min<uint64_t>(8, length - i));
  }
  return out;
}

bool Plausible(const LedgerEntry& entry, const std::string& data) {
  for (const auto& [origin, version, length] : entry.written) {
    if (data.size() > length) continue;
    if (Content(origin, version, length).compare(0, data.size(), data) == 0) return true;
  }
  return data.empty();
}

uint64_t SmallFileBytes(Random& random) {
  std::vector<double> weights;
  for (const auto& [bytes, percent] : kSmallFileSizes) weights.push_back(percent);
  const WeightedChoice choice(weights);
  const size_t i = choice.Sample(random);
  // Spread sizes within each bucket of the distribution.
  const uint64_t low = i == 0 ? 0 : kSmallFileSizes[i - 1].first;
  return low + random.Below(kSmallFileSizes[i].first - low + 1);
}

// ---- the clients ----

class SwarmClient {
 public:
  SwarmClient(SimProcess& process, SwarmState& state, uint32_t index)
      : env_(process.env()),
        state_(state),
        dir_("/c" + std::to_string(index)),
        fs_(process.env(), process.transport(), state.cluster->ClientOptionsFor(process)) {}

  void Run() {
    ++state_.active_clients;
    struct Leave {
      SwarmState& state;
      ~Leave() { --state.active_clients; }
    } leave{state_};
    if (!fs_.Mkdirs(dir_).ok()) return;
    while (env_.Now() < state_.workload_end) {
      const Status step = Step();
      if (step.code() == StatusCode::kNodeDown) return;
      if (!env_.SleepFor(Duration(static_cast<int64_t>(env_.random().Exponential(20e6)))).ok()) {
        return;
      }
    }
  }

 private:
  std::string RandomPath() {
    return dir_ + "/f" + std::to_string(env_.random().Below(kNamesPerClient));
  }

  // A path this client's ledger says certainly exists, or "".
  std::string ExistingPath() {
    std::vector<std::string> paths;
    for (uint32_t i = 0; i < kNamesPerClient; ++i) {
      const std::string path = dir_ + "/f" + std::to_string(i);
      auto it = state_.ledger.find(path);
      if (it != state_.ledger.end() && it->second.certain && it->second.exists) {
        paths.push_back(path);
      }
    }
    if (paths.empty()) return "";
    return paths[env_.random().Below(paths.size())];
  }

  Status Count(const Status& status) {
    if (status.ok()) {
      ++state_.result.ops_ok;
    } else if (status.code() != StatusCode::kNodeDown) {
      ++state_.result.ops_failed;
    }
    return status;
  }

  Status Step() {
    const uint64_t dice = env_.random().Below(100);
    if (dice < 35) return Write(false);
    if (dice < 45) return Write(true);
    if (dice < 75) return Read();
    if (dice < 85) return Delete();
    if (dice < 93) return Rename();
    return List();
  }

  Status Write(bool large) {
    const std::string path = RandomPath();
    const uint64_t version = ++state_.versions;
    const uint64_t length = large ? kLargeFileBytesMax / 8 + env_.random().Below(kLargeFileBytesMax)
                                  : SmallFileBytes(env_.random());
    const std::string data = Content(path, version, length);
    LedgerEntry& entry = state_.ledger[path];
    entry.certain = false;
    entry.written.insert({path, version, length});
    CreateOptions options;
    options.overwrite = true;
    options.replication = kReplication;
    options.block_bytes = kBlockBytes;
    const Status status = fs_.WriteFile(path, data, options);
    if (status.ok()) {
      LedgerEntry& now = state_.ledger[path];
      now.certain = true;
      now.exists = true;
      now.length = length;
      now.digest = HashBytes(data);
      state_.result.bytes_acked += length;
    }
    return Count(status);
  }

  Status Read() {
    const std::string path = ExistingPath();
    if (path.empty()) return Status::Ok();
    Result<std::string> data = fs_.ReadFile(path);
    if (data.ok()) {
      const LedgerEntry& entry = state_.ledger[path];
      // The ledger may have moved on while the read was in flight: check against it only
      // if it is still certain, and otherwise against anything ever written there.
      const bool matches =
          (entry.certain && data->size() == entry.length && HashBytes(*data) == entry.digest) ||
          Plausible(entry, *data);
      if (!matches) {
        ++state_.result.corrupt_reads;
        state_.Problem("read of " + path + " returned bytes never written");
      }
    }
    return Count(data.status());
  }

  Status Delete() {
    const std::string path = RandomPath();
    LedgerEntry& entry = state_.ledger[path];
    const bool was_certain_present = entry.certain && entry.exists;
    entry.certain = false;
    const Status status = fs_.Delete(path, false);
    LedgerEntry& now = state_.ledger[path];
    if (status.ok()) {
      now.certain = true;
      now.exists = false;
    } else if (status.code() == StatusCode::kNotFound) {
      if (was_certain_present) {
        ++state_.result.acked_lost;
        state_.Problem("delete found no " + path + " though its write was acknowledged");
      }
      now.certain = true;
      now.exists = false;
      return Count(Status::Ok());
    }
    return Count(status);
  }

  Status Rename() {
    const std::string source = ExistingPath();
    if (source.empty()) return Status::Ok();
    const std::string destination = RandomPath();
    if (source == destination) return Status::Ok();
    const LedgerEntry moving = state_.ledger[source];
    state_.ledger[source].certain = false;
    state_.ledger[destination].certain = false;
    state_.ledger[destination].written.insert(moving.written.begin(), moving.written.end());
    const Status status = fs_.Rename(source, destination);
    if (status.ok()) {
      LedgerEntry& to = state_.ledger[destination];
      to.certain = true;
      to.exists = true;
      to.length = moving.length;
      to.digest = moving.digest;
      LedgerEntry& from = state_.ledger[source];
      from.certain = true;
      from.exists = false;
    }
    return Count(status);
  }

  Status List() {
    Result<std::vector<proto::FileStatus>> entries = fs_.ListAll(dir_);
    if (entries.ok()) {
      std::set<std::string> listed;
      for (const proto::FileStatus& e : *entries) listed.insert(dir_ + "/" + e.name());
      for (uint32_t i = 0; i < kNamesPerClient; ++i) {
        const std::string path = dir_ + "/f" + std::to_string(i);
        auto it = state_.ledger.find(path);
        if (it == state_.ledger.end() || !it->second.certain) continue;
        if (it->second.exists != (listed.count(path) != 0)) {
          ++state_.result.namespace_errors;
          state_.Problem("listing of " + dir_ + " disagrees about " + path);
        }
      }
    }
    return Count(entries.status());
  }

  Env& env_;
  SwarmState& state_;
  const std::string dir_;
  FileSystem fs_;
};

// ---- the checker ----

class SwarmChecker {
 public:
  SwarmChecker(SimProcess& process, SwarmState& state)
      : env_(process.env()),
        state_(state),
        fs_(process.env(), process.transport(), state.cluster->ClientOptionsFor(process)) {}

  void Run() {
    if (!env_.SleepUntil(state_.workload_end).ok()) return;
    while (state_.active_clients > 0) {
      if (!env_.SleepFor(milliseconds(100)).ok()) return;
    }
    WaitForReplication();
    CheckLedger();
    CheckTree();
    state_.result.checker_finished = true;
  }

 private:
  void WaitForReplication() {
    const Instant start = env_.Now();
    Result<proto::ClusterReportReply> report = Status(StatusCode::kUnavailable, "no report yet");
    while (env_.Now() < state_.check_at) {
      report = fs_.Report();
      if (report.ok() && report->under_replicated_blocks() == 0 && report->missing_blocks() == 0 &&
          report->pending_replications() == 0 && state_.namenode() != nullptr &&
          state_.namenode()->open_files() == 0) {
        break;
      }
      if (!env_.SleepFor(milliseconds(250)).ok()) return;
    }
    state_.result.replication_restore_seconds = ToSeconds(env_.Now() - start);
    if (!report.ok()) {
      ++state_.result.under_replicated;
      state_.Problem("no cluster report after healing: " + report.status().ToString());
      return;
    }
    state_.result.under_replicated += report->under_replicated_blocks() + report->missing_blocks();
    if (report->under_replicated_blocks() + report->missing_blocks() > 0) {
      state_.Problem(std::to_string(report->under_replicated_blocks()) +
                     " blocks under-replicated, " + std::to_string(report->missing_blocks()) +
                     " missing after healing");
      if (state_.namenode() != nullptr) {
        for (BlockId id : state_.namenode()->UnderReplicatedBlocks(2)) {
          state_.Problem(state_.namenode()->DescribeBlock(id));
        }
      }
    } else if (state_.result.replication_restore_seconds >
               state_.result.replication_restore_bound_seconds) {
      ++state_.result.under_replicated;
      state_.Problem("replication restored only after " +
                     std::to_string(state_.result.replication_restore_seconds) + " s");
    }
  }

  void CheckLedger() {
    for (const auto& [path, entry] : state_.ledger) {
      ++state_.result.files_checked;
      Result<std::string> data = fs_.ReadFile(path);
      if (entry.certain && entry.exists) {
        if (!data.ok()) {
          ++state_.result.acked_lost;
          state_.Problem("acknowledged " + path + " unreadable: " + data.status().ToString());
        } else if (data->size() != entry.length || HashBytes(*data) != entry.digest) {
          ++state_.result.corrupt_reads;
          state_.Problem(path + " does not hold its acknowledged bytes");
        }
      } else if (entry.certain && !entry.exists) {
        if (data.code() != StatusCode::kNotFound) {
          ++state_.result.acked_lost;
          state_.Problem("deleted " + path + " is back: " + data.status().ToString());
        }
      } else if (data.ok()) {
        if (!Plausible(entry, *data)) {
          ++state_.result.corrupt_reads;
          state_.Problem(path + " holds bytes never written there");
        }
      } else if (data.code() != StatusCode::kNotFound) {
        ++state_.result.acked_lost;
        state_.Problem("uncertain " + path + " unreadable: " + data.status().ToString());
      }
    }
  }

  // Walks the whole tree: every entry reachable and stat-able, nothing open, nothing but
  // the clients' files, and the namenode's counters equal to what the walk found.
  void CheckTree() {
    uint64_t files = 0, directories = 0;
    std::vector<std::string> pending{"/"};
    while (!pending.empty()) {
      const std::string dir = pending.back();
      pending.pop_back();
      Result<std::vector<proto::FileStatus>> entries = fs_.ListAll(dir);
      if (!entries.ok()) {
        ++state_.result.namespace_errors;
        state_.Problem("cannot list " + dir + ": " + entries.status().ToString());
        continue;
      }
      for (const proto::FileStatus& e : *entries) {
        const std::string path = (dir == "/" ? "" : dir) + "/" + e.name();
        Result<proto::FileStatus> stat = fs_.Stat(path);
        if (!stat.ok() || stat->inode_id() != e.inode_id()) {
          ++state_.result.namespace_errors;
          state_.Problem("listed " + path + " does not stat");
        }
        if (e.type() == proto::INODE_TYPE_DIRECTORY) {
          ++directories;
          pending.push_back(path);
          continue;
        }
        ++files;
        if (e.under_construction()) {
          ++state_.result.namespace_errors;
          state_.Problem(path + " still open after its writer's lease expired");
        }
        if (!state_.ledger.count(path)) {
          ++state_.result.namespace_errors;
          state_.Problem("unexpected file " + path);
        }
      }
    }
    if (state_.namenode() != nullptr) {
      const NamespaceCounts counts = state_.namenode()->namespace_counts();
      if (counts.files != files || counts.directories != directories) {
        ++state_.result.namespace_errors;
        state_.Problem("namenode counts " + std::to_string(counts.files) + " files, " +
                       std::to_string(counts.directories) + " dirs; walk found " +
                       std::to_string(files) + ", " + std::to_string(directories));
      }
    }
  }

  Env& env_;
  SwarmState& state_;
  FileSystem fs_;
};

// ---- faults ----

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
  all.push_back(state.namenode_id);
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

void ScheduleFault(Simulator& sim, SwarmState& state) {
  const Instant next = sim.Now() + Duration(static_cast<int64_t>(state.faults.Exponential(0.8e9)));
  if (next >= state.workload_end) return;
  sim.At(next, [&sim, &state] {
    Random& r = state.faults;
    const Instant now = sim.Now();
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
      if (sim.node(state.namenode_id).up()) {
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
    ScheduleFault(sim, state);
  });
}

}  // namespace

SwarmResult RunSwarm(const SwarmOptions& options) {
  SwarmState state;
  state.options = options;
  state.result.seed = options.seed;
  Simulator sim(options.seed);
  state.faults = sim.DeriveRandom("swarm-faults");
  state.workload_end = sim.Now() + Duration(static_cast<int64_t>(options.fault_seconds * 1e9));
  state.check_at = state.workload_end + kHealTime;
  SimClusterOptions cluster_options = FastClusterOptions();
  cluster_options.datanodes = options.datanodes;
  cluster_options.namenode.ns.inline_threshold_bytes = options.inline_threshold_bytes;
  cluster_options.namenode.ns.default_replication = kReplication;
  cluster_options.namenode.ns.default_block_bytes = kBlockBytes;
  const NamenodeOptions& namenode_options = cluster_options.namenode;
  // The bound on healing, from the moment faults stop: a datanode restarted last is seen
  // dead only after the timeout, a namenode restarted last waits out its start-up grace
  // (the same timeout), a monitor pass and a heartbeat deliver the copy commands, the copy
  // itself (1.5 MiB over 10 Gbit/s and an SSD) takes well under a second; blocks of files
  // whose writers died complete only after the lease hard limit and up to
  // kRecoveryAttemptsMax recovery rounds.
  state.result.replication_restore_bound_seconds = ToSeconds(
      namenode_options.datanode_dead_after * 2 + namenode_options.heartbeat_interval * 2 +
      namenode_options.replication_check_interval * 2 + namenode_options.lease_hard_limit +
      namenode_options.lease_check_interval * kRecoveryAttemptsMax +
      namenode_options.recovery_timeout + seconds(2));
  SimCluster cluster(sim, cluster_options);
  state.cluster = &cluster;
  state.namenode_id = cluster.namenode_id();
  state.datanode_ids = cluster.datanode_ids();
  state.impaired_until.assign(options.datanodes, Instant{});
  for (uint32_t i = 0; i < options.clients; ++i) {
    state.client_ids.push_back(
        cluster.AddClient("client-" + std::to_string(i + 1), [&state, i](SimProcess& p) {
          SwarmClient client(p, state, i + 1);
          client.Run();
        }));
  }
  const NodeId checker = cluster.AddClient("checker", [&state](SimProcess& p) {
    SwarmChecker checker(p, state);
    checker.Run();
  });

  cluster.Start();
  for (NodeId id : state.client_ids) sim.StartNode(id);
  sim.StartNode(checker);
  if (options.faults) ScheduleFault(sim, state);
  sim.RunUntil(state.workload_end);
  // Faults stop: the network heals and every node comes back.
  cluster.network().HealAll();
  cluster.network().SetExtraLossProbability(0);
  sim.StartNode(state.namenode_id);
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
