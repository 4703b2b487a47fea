// What the swarm's clients, checker and fault controller share (swarm.h): the ledger of what
// clients were told, the result being filled in, and the cluster's nodes.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "core/common/limits.h"
#include "core/common/random.h"
#include "core/common/time.h"
#include "sim/runs/sim_cluster.h"
#include "sim/runs/swarm.h"
#include "sim/runs/swarm/swarm_reads.h"

namespace granary::sim::swarm {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint32_t kNamesPerClient = 16;
constexpr uint32_t kReplication = 3;
constexpr uint64_t kBlockBytes = 512 * 1024;
constexpr uint64_t kLargeFileBytesMax = 1536 * 1024;
constexpr Duration kHealTime = seconds(40);
// The journal the swarm's namenodes keep (entries): short, so that a wiped or lagging
// namenode must copy a checkpoint rather than replay from the start.
constexpr uint64_t kSwarmJournalRetainEntries = 300;

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

// One client's growing log file (swarm_appender.h). `expected` is every byte appended since
// the last resynchronisation, in order; within one `epoch` it only grows, so a reader's
// bytes must be a prefix of it. Lengths are positions in it.
struct AppendLog {
  std::string path;
  std::string expected;
  uint64_t epoch = 0;
  uint64_t flushed = 0;    // acknowledged by the live session's last Flush, Sync or Close
  uint64_t synced = 0;     // acknowledged by its last Sync or Close (or held by a recovered file)
  uint64_t session = 0;    // sessions begun
  bool created = false;    // the file may exist
  bool open = false;       // a session is live: its writer holds the lease
  bool uncertain = false;  // a session failed or its writer died: recover and read back first
  // An inline log grew past the inline threshold and no Flush, Sync or Close has returned
  // since: it is moving to blocks (swarm_appender.h, SwarmResult::conversion_gaps).
  bool converting = false;
};

// A client directory's quota (swarm_quota.h); 0: no limit of that kind.
struct SwarmQuota {
  uint64_t names_max = 0;
  uint64_t bytes_max = 0;
};
// Writes refused for a quota kept for the end check (swarm_quota.h); more are only counted.
constexpr size_t kSwarmQuotaRefusalsKept = 4096;

struct SwarmState {
  SwarmOptions options;
  SwarmResult result;
  std::map<std::string, LedgerEntry> ledger;
  std::map<uint32_t, AppendLog> logs;        // by client index
  ReadModel reads;                           // what each client saw (swarm_reads.h)
  std::map<std::string, SwarmQuota> quotas;  // by directory (swarm_quota.h)
  std::vector<std::tuple<std::string, uint64_t, uint64_t>> quota_refused;  // path, version, length
  bool IsLog(const std::string& path) const {
    for (const auto& [index, log] : logs) {
      if (log.path == path) return true;
    }
    return false;
  }
  SimCluster* cluster = nullptr;
  const NamenodeInspection* namenode() const { return cluster->namenode(); }
  Instant workload_end{};
  Instant check_at{};
  std::vector<Instant> impaired_until;  // per datanode index
  std::vector<NodeId> datanode_ids;
  std::vector<NodeId> client_ids;
  NodeId namenode_id;
  // With several namenodes (swarm_ha.h): every namenode and journal member, what each fault
  // left impaired until when, and the fencing tokens seen active, with the namenodes that
  // held each.
  std::vector<NodeId> namenode_ids;
  std::vector<Instant> namenode_impaired_until;
  std::vector<Instant> member_impaired_until;
  std::map<uint64_t, std::set<size_t>> actives_by_token;
  uint64_t newest_active_token = 0;
  // Per namenode: the incarnation last watched and the checkpoint copies it had made.
  std::vector<std::pair<uint64_t, uint64_t>> bootstraps_seen;
  bool ha() const { return !namenode_ids.empty(); }
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

// The bytes of version `version` of `path` (deterministic from both).
std::string Content(const std::string& path, uint64_t version, uint64_t length);
// Whether `data` is one of the contents ever written to the entry's path, or a prefix of one.
bool Plausible(const LedgerEntry& entry, const std::string& data);
// A size drawn from the small-file size mix.
uint64_t SmallFileBytes(Random& random);

}  // namespace granary::sim::swarm
