#include "sim/runs/swarm/swarm_reads.h"

#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

std::vector<ReadModel::State>& ReadModel::History(const std::string& path) {
  std::vector<State>& history = histories_[path];
  if (history.empty()) history.push_back(State{});  // absent before any operation
  return history;
}

size_t ReadModel::BeginWrite(const std::string& path, const std::string& origin, uint64_t version,
                             uint64_t length) {
  std::vector<State>& history = History(path);
  history.push_back(State{true, origin, version, length, false});
  return history.size() - 1;
}

size_t ReadModel::BeginDelete(const std::string& path) {
  std::vector<State>& history = History(path);
  history.push_back(State{});
  return history.size() - 1;
}

size_t ReadModel::BeginRename(const std::string& source, const std::string& destination) {
  State moving = History(source).back();
  moving.acknowledged = false;
  (void)BeginDelete(source);
  std::vector<State>& history = History(destination);
  history.push_back(moving);
  return history.size() - 1;
}

size_t ReadModel::LastIndex(const std::string& path) const {
  auto it = histories_.find(path);
  return it == histories_.end() ? 0 : it->second.size() - 1;
}

void ReadModel::Acknowledged(uint32_t client, const std::string& path, size_t index) {
  std::vector<State>& history = History(path);
  history[index].acknowledged = true;
  history[index].acknowledged_at = ++acknowledgements_;
  Floors& floors = floors_[client][path];
  floors.ryw = std::max(floors.ryw, index);
  floors.seen = std::max(floors.seen, index);
}

void ReadModel::NewIncarnation(uint32_t client) { floors_.erase(client); }

bool ReadModel::Matches(const State& state, const ReadObservation& seen) {
  if (!state.exists || !seen.exists) return state.exists == seen.exists;
  // An acknowledged state is exact; any other may be a prefix (a writer died mid-file, or is
  // still writing: acknowledged only after the read began).
  const bool exact = state.acknowledged && state.acknowledged_at <= seen.began;
  if (exact ? seen.length != state.length : seen.length > state.length) {
    return false;
  }
  if (seen.data == nullptr) return true;
  return seen.data->size() == seen.length &&
         Content(state.origin, state.version, seen.length) == *seen.data;
}

ReadModel::Verdict ReadModel::Observe(uint32_t client, const std::string& path,
                                      const ReadObservation& seen) {
  const std::vector<State>& history = History(path);
  Floors& floors = floors_[client][path];
  // The greatest index the observation matches, and the least at or above the floor.
  std::optional<size_t> greatest, least_above;
  for (size_t i = history.size(); i-- > 0;) {
    if (!Matches(history[i], seen)) continue;
    if (!greatest) greatest = i;
    if (i >= floors.seen) least_above = i;
  }
  if (!greatest) return Verdict::kUnmatched;
  if (*greatest < floors.ryw) return Verdict::kRywViolation;
  if (!least_above) return Verdict::kBackwards;
  floors.seen = *least_above;
  return Verdict::kConsistent;
}

}  // namespace granary::sim::swarm
