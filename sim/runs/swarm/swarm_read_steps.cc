#include "sim/runs/swarm/swarm_read_steps.h"

#include <vector>

#include "core/namenode/ha_namenode.h"

namespace granary::sim::swarm {

constexpr size_t kOpenManyPaths = 4;

SwarmReadSteps::SwarmReadSteps(Env& env, SwarmState& state, FileSystem& fs, uint32_t index)
    : env_(env), state_(state), fs_(fs), index_(index) {}

std::string SwarmReadSteps::PathOf(uint32_t client, uint32_t name) const {
  return "/c" + std::to_string(client) + "/f" + std::to_string(name);
}

// This client half the time (read-your-writes), another one otherwise (never-backwards).
uint32_t SwarmReadSteps::AnyClient() {
  if (env_.random().Bernoulli(0.5)) return index_;
  return 1 + static_cast<uint32_t>(env_.random().Below(state_.options.clients));
}

Status SwarmReadSteps::Step() {
  const uint64_t dice = env_.random().Below(100);
  const std::vector<uint64_t> before = AnswersSoFar();
  BeginRead();
  Status status;
  if (dice < 40) {
    status = Stat(AnyClient());
  } else if (dice < 70) {
    status = ReadOther();
  } else {
    status = OpenMany(AnyClient());
  }
  CountAnswers(before);
  if (status.ok() || status.code() == StatusCode::kNotFound) {
    ++state_.result.ops_ok;
    return Status::Ok();
  }
  if (status.code() != StatusCode::kNodeDown) ++state_.result.ops_failed;
  return status;
}

Status SwarmReadSteps::Stat(uint32_t client) {
  const std::string path = PathOf(client, env_.random().Below(kNamesPerClient));
  Result<proto::FileStatus> status = fs_.Stat(path);
  if (status.ok()) {
    ObserveStatus(path, &*status);
  } else if (status.code() == StatusCode::kNotFound) {
    ObserveStatus(path, nullptr);
  }
  return status.status();
}

Status SwarmReadSteps::ReadOther() {
  const uint32_t client = 1 + static_cast<uint32_t>(env_.random().Below(state_.options.clients));
  const std::string path = PathOf(client, env_.random().Below(kNamesPerClient));
  Result<std::string> data = fs_.ReadFile(path);
  ObserveRead(path, data);
  return data.status();
}

Status SwarmReadSteps::OpenMany(uint32_t client) {
  std::vector<std::string> paths;
  for (size_t i = 0; i < kOpenManyPaths; ++i) {
    paths.push_back(PathOf(client, env_.random().Below(kNamesPerClient)));
  }
  Result<std::vector<FileSystem::Opened>> opened = fs_.OpenMany(paths);
  if (!opened.ok()) return opened.status();
  for (size_t i = 0; i < paths.size() && i < opened->size(); ++i) {
    FileSystem::Opened& one = (*opened)[i];
    if (one.ok()) {
      Reader& reader = **one;
      if (reader.status().inline_data()) {
        ObserveRead(paths[i], Result<std::string>(reader.TakeInlineData()));
      } else {
        ObserveStatus(paths[i], &reader.status());
      }
    } else if (one.status().code() == StatusCode::kNotFound) {
      ObserveStatus(paths[i], nullptr);
    }
  }
  return Status::Ok();
}

void SwarmReadSteps::ObserveRead(const std::string& path, const Result<std::string>& data) {
  if (data.ok()) {
    Check(path, ReadObservation{true, data->size(), &*data, 0});
  } else if (data.code() == StatusCode::kNotFound) {
    Check(path, ReadObservation{});
  }
}

void SwarmReadSteps::ObserveStatus(const std::string& path, const proto::FileStatus* status) {
  if (status == nullptr) {
    Check(path, ReadObservation{});
  } else if (status->type() == proto::INODE_TYPE_FILE) {
    Check(path, ReadObservation{true, status->length_bytes(), nullptr, 0});
  }
}

void SwarmReadSteps::Check(const std::string& path, ReadObservation seen) {
  seen.began = began_;
  ++state_.result.reads_checked;
  const size_t floor_hint = state_.reads.LastIndex(path);
  switch (state_.reads.Observe(index_, path, seen)) {
    case ReadModel::Verdict::kConsistent:
      return;
    case ReadModel::Verdict::kUnmatched:
      ++state_.result.reads_unmatched;
      return;
    case ReadModel::Verdict::kRywViolation:
      ++state_.result.ryw_violations;
      state_.Problem("client " + std::to_string(index_) + " did not read its own write of " + path +
                     " (" + (seen.exists ? std::to_string(seen.length) + " bytes" : "absent") +
                     ", history " + std::to_string(floor_hint + 1) + " states)");
      return;
    case ReadModel::Verdict::kBackwards:
      ++state_.result.backwards_reads;
      state_.Problem("client " + std::to_string(index_) + " saw " + path +
                     " go back to an older state (" +
                     (seen.exists ? std::to_string(seen.length) + " bytes" : "absent") + ")");
      return;
  }
}

void SwarmReadSteps::CountAnswers(const std::vector<uint64_t>& before) {
  const std::vector<uint64_t> after = AnswersSoFar();
  std::vector<uint64_t>& totals = state_.result.reads_by_namenode;
  if (totals.size() < after.size()) totals.resize(after.size(), 0);
  for (size_t i = 0; i < after.size() && i < before.size(); ++i) {
    const uint64_t answered = after[i] - before[i];
    if (answered == 0) continue;
    totals[i] += answered;
    HaNamenode* namenode = state_.ha() ? state_.cluster->live_ha_namenode(i) : nullptr;
    if (namenode != nullptr && !namenode->active()) state_.result.standby_reads += answered;
  }
}

}  // namespace granary::sim::swarm
