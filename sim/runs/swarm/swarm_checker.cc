#include "sim/runs/swarm/swarm_checker.h"

#include <set>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "sim/kernel/sim_process.h"
#include "sim/runs/swarm/swarm_appender.h"
#include "sim/runs/swarm/swarm_ha.h"
#include "sim/runs/swarm/swarm_quota.h"

namespace granary::sim::swarm {
namespace {

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
    CheckLogs(env_, fs_, state_);
    CheckTree();
    CheckQuotas(env_, fs_, state_);
    if (state_.ha()) CheckStores(env_, state_);
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
        if (!state_.ledger.count(path) && !state_.IsLog(path)) {
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

}  // namespace

void RunSwarmChecker(SimProcess& process, SwarmState& state) {
  SwarmChecker checker(process, state);
  checker.Run();
}

}  // namespace granary::sim::swarm
