// The swarm clients' reads through the read policy (swarm.h, issue 14): stats, opens and
// reads of their own files and of other clients', each observation checked by the read
// model (swarm_reads.h), and the namenode that answered counted.
#pragma once

#include <string>

#include "core/client/file_system.h"
#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

class SwarmReadSteps {
 public:
  // `fs` and `state` must outlive this object; `index` is the client's (1..clients).
  SwarmReadSteps(Env& env, SwarmState& state, FileSystem& fs, uint32_t index);

  // One read of the mix: a stat, a read of another client's file, or an nn.OpenMany of a few
  // paths of one client (inline bytes checked, files in blocks by length).
  Status Step();

  // Checks what a read of `path` returned (bytes, or a status such as kNotFound).
  void ObserveRead(const std::string& path, const Result<std::string>& data);
  // Checks what a stat or a listing said of `path` (null: not there).
  void ObserveStatus(const std::string& path, const proto::FileStatus* status);
  // Notes which namenode answered the reads since `before` (the locator's reads_answered).
  void CountAnswers(const std::vector<uint64_t>& before);
  std::vector<uint64_t> AnswersSoFar() const { return fs_.namenode().locator().reads_answered(); }
  // A read begins: observations until the next are checked as of now (ReadObservation::began).
  void BeginRead() { began_ = state_.reads.Clock(); }

 private:
  std::string PathOf(uint32_t client, uint32_t name) const;
  uint32_t AnyClient();
  void Check(const std::string& path, ReadObservation seen);
  Status Stat(uint32_t client);
  Status ReadOther();
  Status OpenMany(uint32_t client);

  Env& env_;
  SwarmState& state_;
  FileSystem& fs_;
  const uint32_t index_;
  uint64_t began_ = 0;
};

}  // namespace granary::sim::swarm
