// The swarm's read checker (swarm.h, issue 14): what each client saw of each file, and the two
// promises consistent reads make whichever namenode answers.
//
// Model. Every path of a client's directory has a history: the states the path was put in by
// the operations begun on it, in the order they were begun (one client owns the directory
// and runs one operation at a time, so that order is the namespace's order). A state is
// "absent" or a content (the path it was written under, its version, its length); index 0 is
// the absent path before any operation. An operation that was acknowledged left its exact
// state; one that failed or never finished may have left its state, a prefix of its content
// (a writer that died is closed by lease recovery), or nothing.
//
// An operation acknowledged after a read began may show to that read in any state it passed
// through (an overwrite's new file is there, empty or growing, before the writer closes it),
// as one that was never acknowledged: a read that overlapped an overwrite saw its empty file
// (the fault swarm, seed 2021 with three namenodes and 24 clients), which the checker took
// for an older state.
//
// An observation (a read's bytes, a stat's or a listing's length, a not-found) matches a set
// of history indices. Per client incarnation (a restarted client starts with no journal
// sequence, so it starts with no promises either) and path, the checker keeps
//   - the read-your-writes floor: the index of the last operation this incarnation saw
//     acknowledged; an observation matching no index at or above it is a `ryw_violation`;
//   - the never-backwards floor: the least index at or above the floor that the previous
//     observations matched; an observation matching no index at or above it is a
//     `backwards_read`. Taking the least match (and checking against the greatest) keeps
//     ambiguous observations from raising false alarms.
// An observation that matches no index at all is left to the corruption checks (it is not a
// question of order) and counted in `reads_unmatched`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace granary::sim::swarm {

// What one read showed of one path.
struct ReadObservation {
  bool exists = false;
  uint64_t length = 0;
  // The bytes read, or null when only the length is known (a stat, a listing, an open).
  const std::string* data = nullptr;
  // ReadModel::Clock() when the read began (the default: before nothing is unsure).
  uint64_t began = UINT64_MAX;
};

class ReadModel {
 public:
  // What a check found.
  enum class Verdict { kConsistent, kRywViolation, kBackwards, kUnmatched };

  // Operations begun on `path` by its owner, before they are sent: a write of content
  // (origin, version, length), a delete, a rename of `source` onto `destination`. Each
  // returns the history index of the new state, for Acknowledged.
  size_t BeginWrite(const std::string& path, const std::string& origin, uint64_t version,
                    uint64_t length);
  size_t BeginDelete(const std::string& path);
  // The state `source` is in now moves to `destination`; `source` becomes absent. Returns the
  // destination's index; the source's is the index BeginDelete would give (its last).
  size_t BeginRename(const std::string& source, const std::string& destination);
  // The operation that made `index` of `path` was acknowledged to `client`.
  void Acknowledged(uint32_t client, const std::string& path, size_t index);
  // The last history index of `path` (0 when it has none).
  size_t LastIndex(const std::string& path) const;
  // Counts acknowledgements: a read notes it when it begins (ReadObservation::began).
  uint64_t Clock() const { return acknowledgements_; }

  // `client` started again (a new process): it keeps no floors.
  void NewIncarnation(uint32_t client);
  // Checks what `client` saw of `path` and raises its floors.
  Verdict Observe(uint32_t client, const std::string& path, const ReadObservation& seen);

 private:
  struct State {
    bool exists = false;
    std::string origin;
    uint64_t version = 0;
    uint64_t length = 0;
    bool acknowledged = false;
    uint64_t acknowledged_at = 0;  // Clock() after its acknowledgement
  };
  struct Floors {
    size_t ryw = 0;
    size_t seen = 0;
  };
  std::vector<State>& History(const std::string& path);
  static bool Matches(const State& state, const ReadObservation& seen);

  std::map<std::string, std::vector<State>> histories_;
  std::map<uint32_t, std::map<std::string, Floors>> floors_;  // by client, then path
  uint64_t acknowledgements_ = 0;
};

}  // namespace granary::sim::swarm
