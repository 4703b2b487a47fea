#include "sim/runs/swarm/swarm_client.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "sim/kernel/sim_process.h"
#include "sim/runs/swarm/swarm_appender.h"
#include "sim/runs/swarm/swarm_read_steps.h"
#include "sim/runs/swarm/swarm_quota.h"

namespace granary::sim::swarm {
namespace {

class SwarmClient {
 public:
  SwarmClient(SimProcess& process, SwarmState& state, uint32_t index)
      : env_(process.env()),
        state_(state),
        index_(index),
        dir_("/c" + std::to_string(index)),
        fs_(process.env(), process.transport(), state.cluster->ClientOptionsFor(process)),
        appender_(process.env(), state, fs_, index, dir_),
        reads_(process.env(), state, fs_, index) {}

  void Run() {
    ++state_.active_clients;
    struct Leave {
      SwarmState& state;
      ~Leave() { --state.active_clients; }
    } leave{state_};
    state_.reads.NewIncarnation(index_);
    if (!fs_.Mkdirs(dir_).ok()) return;
    if (!SetUpQuota(env_, fs_, state_, index_, dir_)) return;
    while (env_.Now() < state_.workload_end) {
      const Status step = Step();
      if (step.code() == StatusCode::kNodeDown) return;
      if (!env_.SleepFor(Duration(static_cast<int64_t>(env_.random().Exponential(20e6)))).ok()) {
        return;
      }
    }
    (void)appender_.Finish();
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
    if (state_.options.appenders && dice < 8) return appender_.Step();
    if (state_.options.appenders && dice < 12) return appender_.TailRead();
    if (dice < 35) return Write(false);
    if (dice < 45) return Write(true);
    // With several namenodes, half the reads are the read checker's mix (stats, other
    // clients' files, nn.OpenMany), spread over the namenodes by the read policy.
    if (dice < 75) return state_.ha() && env_.random().Bernoulli(0.5) ? reads_.Step() : Read();
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
    const size_t at = state_.reads.BeginWrite(path, path, version, length);
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
      state_.reads.Acknowledged(index_, path, at);
      state_.result.bytes_acked += length;
    }
    NoteRefusedWrite(state_, status, path, version, length);
    return Count(status);
  }

  Status Read() {
    const std::string path = ExistingPath();
    if (path.empty()) return Status::Ok();
    const std::vector<uint64_t> before = reads_.AnswersSoFar();
    reads_.BeginRead();
    Result<std::string> data = fs_.ReadFile(path);
    reads_.CountAnswers(before);
    reads_.ObserveRead(path, data);
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
    const size_t at = state_.reads.BeginDelete(path);
    const Status status = fs_.Delete(path, false);
    LedgerEntry& now = state_.ledger[path];
    if (status.ok() || status.code() == StatusCode::kNotFound) {
      state_.reads.Acknowledged(index_, path, at);
    }
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
    const size_t to_at = state_.reads.BeginRename(source, destination);
    const size_t from_at = state_.reads.LastIndex(source);
    const Status status = fs_.Rename(source, destination);
    if (status.ok()) {
      state_.reads.Acknowledged(index_, destination, to_at);
      state_.reads.Acknowledged(index_, source, from_at);
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
    reads_.BeginRead();
    Result<std::vector<proto::FileStatus>> entries = fs_.ListAll(dir_);
    if (entries.ok()) {
      std::map<std::string, const proto::FileStatus*> listed;
      for (const proto::FileStatus& e : *entries) listed[dir_ + "/" + e.name()] = &e;
      for (uint32_t i = 0; i < kNamesPerClient; ++i) {
        const std::string path = dir_ + "/f" + std::to_string(i);
        auto seen = listed.find(path);
        reads_.ObserveStatus(path, seen == listed.end() ? nullptr : seen->second);
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
  const uint32_t index_;
  const std::string dir_;
  FileSystem fs_;
  SwarmAppender appender_;
  SwarmReadSteps reads_;
};

}  // namespace

void RunSwarmClient(SimProcess& process, SwarmState& state, uint32_t index) {
  SwarmClient client(process, state, index);
  client.Run();
}

}  // namespace granary::sim::swarm
