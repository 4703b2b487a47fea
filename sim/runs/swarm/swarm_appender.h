// The swarm's appenders and tail readers (issue 16: files that grow while others read them).
//
// Each client keeps one log file, DIR/log, that it appends records to in sessions: it opens
// the log (Create the first time, Append after), writes a few records of random sizes at a
// time, and after each burst flushes, syncs, closes or goes on. Other clients read the logs
// while they grow. A session that fails, or whose client crashes, leaves the log uncertain:
// before its next session the client recovers the lease (nn.RecoverLease) and reads the log
// back. The promises checked (README, "Files that grow"):
//   - a reader that opens a log sees at least every byte its live writer had flushed before
//     (acked_lost otherwise), and never a byte that was not appended there, in order
//     (corrupt_reads otherwise);
//   - after the writer died and the lease was recovered, the log holds at least every synced
//     byte and is a prefix of what was appended;
//   - a log whose last session closed holds exactly what was appended.
// The checker's final look (CheckLogs) applies the last two to every log.
//
// The window this workload found: when a writer's Write carries an inline file past the
// inline threshold, the file moves to blocks. The client once dropped the inline bytes first
// (nn.ConvertToBlocks), so a new reader saw the file empty and a writer dying then lost the
// bytes a Sync had stored inline. Now it syncs them to the file's conversion block before
// the namenode swaps the block in for them (core/client/writer.h, SwitchToBlocks). A short
// read or recovery while a log is moving is counted in `conversion_gaps`, and fails the run
// like acked_lost.
#pragma once

#include <memory>

#include "core/client/file_system.h"
#include "core/client/writer.h"
#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {

class SwarmAppender {
 public:
  // `fs` must outlive the appender. A log left open by an earlier incarnation of this client
  // (its writer died with it) becomes uncertain.
  SwarmAppender(Env& env, SwarmState& state, FileSystem& fs, uint32_t index,
                const std::string& dir);

  // One burst of this client's appender: begins a session when none is live, appends a few
  // records, then flushes, syncs, closes or goes on.
  Status Step();
  // Reads some client's log as it grows and checks what it got.
  Status TailRead();
  // At the end of the workload: closes a live session.
  Status Finish();

 private:
  Status Begin(AppendLog& log);
  // Recovers the lease of an uncertain log and adopts what it holds, after checking it.
  Status Resync(AppendLog& log);
  Status Fail(AppendLog& log, const Status& status);

  Env& env_;
  SwarmState& state_;
  FileSystem& fs_;
  const uint32_t index_;
  std::unique_ptr<Writer> writer_;
};

// Checks `data`, read from `log`, against what was appended: at least `at_least` bytes, and
// a prefix of `expected`. Counts and names what is wrong in the result; `when` says when it
// was read.
void CheckLogBytes(SwarmState& state, const AppendLog& log, const std::string& expected,
                   const std::string& data, uint64_t at_least, const char* when);
// On the checker's fiber, after healing: every log closed (recovering leases left behind),
// read back and checked.
void CheckLogs(Env& env, FileSystem& fs, SwarmState& state);

}  // namespace granary::sim::swarm
