#include "sim/runs/swarm/swarm_appender.h"

#include <string>
#include <utility>

namespace granary::sim::swarm {
namespace {

// A log stops growing past this (it is still read); records are 16 B to 4 KiB.
constexpr uint64_t kLogBytesMax = kLargeFileBytesMax;
constexpr uint64_t kRecordBytesMax = 4096;
constexpr uint32_t kRecordsPerBurstMax = 3;
constexpr Duration kRecoveryWait = seconds(30);

Status Counted(SwarmState& state, const Status& status) {
  if (status.ok()) {
    ++state.result.ops_ok;
  } else if (status.code() != StatusCode::kNodeDown) {
    ++state.result.ops_failed;
  }
  return status;
}

}  // namespace

SwarmAppender::SwarmAppender(Env& env, SwarmState& state, FileSystem& fs, uint32_t index,
                             const std::string& dir)
    : env_(env), state_(state), fs_(fs), index_(index) {
  AppendLog& log = state_.logs[index_];
  log.path = dir + "/log";
  if (log.open) {
    log.open = false;
    log.uncertain = true;
  }
}

Status SwarmAppender::Fail(AppendLog& log, const Status& status) {
  writer_.reset();  // abandoned: the lease is recovered before the next session
  log.open = false;
  log.uncertain = true;
  return Counted(state_, status);
}

Status SwarmAppender::Resync(AppendLog& log) {
  Result<bool> closed = fs_.RecoverLease(log.path);
  if (closed.code() == StatusCode::kNotFound) {
    // The create never took effect; nothing was acknowledged unless a sync was.
    CheckLogBytes(state_, log, log.expected, "", log.synced, "after its create failed");
    log = AppendLog{log.path, "", log.epoch + 1};
    return Status::Ok();
  }
  if (!closed.ok()) return Counted(state_, closed.status());
  if (!*closed) return Counted(state_, Status(StatusCode::kUnavailable, "recovery under way"));
  Result<std::string> data = fs_.ReadFile(log.path);
  if (!data.ok()) return Counted(state_, data.status());
  CheckLogBytes(state_, log, log.expected, *data, log.synced, "after lease recovery");
  log.expected = std::move(*data);
  ++log.epoch;
  log.flushed = log.synced = log.expected.size();
  log.created = true;
  log.uncertain = false;
  log.converting = false;
  return Counted(state_, Status::Ok());
}

Status SwarmAppender::Begin(AppendLog& log) {
  if (log.uncertain) {
    GRANARY_RETURN_IF_ERROR(Resync(log));
    if (log.uncertain) return Status::Ok();
  }
  Result<std::unique_ptr<Writer>> writer = Status(StatusCode::kUnavailable, "");
  if (log.created) {
    writer = fs_.Append(log.path);
  } else {
    CreateOptions options;
    options.replication = kReplication;
    options.block_bytes = kBlockBytes;
    log.created = true;  // from here on it may exist
    writer = fs_.Create(log.path, options);
  }
  if (!writer.ok()) {
    log.uncertain = true;
    return Counted(state_, writer.status());
  }
  writer_ = std::move(*writer);
  log.open = true;
  ++log.session;
  return Counted(state_, Status::Ok());
}

Status SwarmAppender::Step() {
  AppendLog& log = state_.logs[index_];
  if (!writer_) {
    if (log.expected.size() >= kLogBytesMax) return TailRead();
    GRANARY_RETURN_IF_ERROR(Begin(log));
    if (!writer_) return Status::Ok();
  }
  const uint32_t records = 1 + env_.random().Below(kRecordsPerBurstMax);
  for (uint32_t i = 0; i < records; ++i) {
    const uint64_t length = 16 + env_.random().Below(kRecordBytesMax - 15);
    const std::string record = Content(log.path, ++state_.versions, length);
    const uint64_t threshold = state_.options.inline_threshold_bytes;
    if (threshold > 0 && log.expected.size() <= threshold &&
        log.expected.size() + length > threshold) {
      log.converting = true;
    }
    log.expected += record;
    const Status written = writer_->Write(record);
    if (!written.ok()) return Fail(log, written);
  }
  const uint64_t dice = env_.random().Below(100);
  const uint64_t end = log.expected.size();
  if (dice < 45) {
    const Status flushed = writer_->Flush();
    if (!flushed.ok()) return Fail(log, flushed);
    state_.result.bytes_flushed += end - log.flushed;
    log.flushed = end;
    log.converting = false;
  } else if (dice < 70) {
    const Status synced = writer_->Sync();
    if (!synced.ok()) return Fail(log, synced);
    state_.result.bytes_flushed += end - log.flushed;
    log.flushed = log.synced = end;
    log.converting = false;
  } else if (dice < 85) {
    return Finish();
  }
  return Counted(state_, Status::Ok());
}

Status SwarmAppender::Finish() {
  AppendLog& log = state_.logs[index_];
  // An uncertain log is recovered and read back now, while faults no longer interfere.
  for (int attempt = 0; attempt < 20 && log.uncertain; ++attempt) {
    const Status resynced = Resync(log);
    if (resynced.code() == StatusCode::kNodeDown) return resynced;
    if (log.uncertain && !env_.SleepFor(seconds(1)).ok())
      return Status(StatusCode::kNodeDown, "crashed");
  }
  if (!writer_) return Status::Ok();
  const Status closed = writer_->Close();
  if (!closed.ok()) return Fail(log, closed);
  writer_.reset();
  log.flushed = log.synced = log.expected.size();
  log.open = false;
  log.converting = false;
  return Counted(state_, Status::Ok());
}

Status SwarmAppender::TailRead() {
  std::vector<uint32_t> created;
  for (const auto& [index, log] : state_.logs) {
    if (log.created && !log.path.empty()) created.push_back(index);
  }
  if (created.empty()) return Status::Ok();
  const uint32_t index = created[env_.random().Below(created.size())];
  const AppendLog before = state_.logs[index];
  // Another client's flush is promised to readers that see the namespace as of then: with
  // several namenodes, a standby may not have applied the reopening of a log for append yet
  // and still shows it closed (standby_reads.h), so the reader raises its sequence first.
  if (state_.ha()) {
    const Status synced = fs_.Msync();
    if (!synced.ok()) return Counted(state_, synced);
  }
  Result<std::string> data = fs_.ReadFile(before.path);
  if (!data.ok()) return Counted(state_, data.status());
  ++state_.result.tail_reads;
  const AppendLog& now = state_.logs[index];
  // Flushed bytes must be visible while the session that flushed them is still live and
  // healthy; after a writer's death only synced bytes are promised.
  const bool same_session = now.session == before.session && now.open && !now.uncertain &&
                            before.open && !before.uncertain;
  uint64_t at_least = same_session ? before.flushed : std::min(before.synced, now.synced);
  if (same_session && data->size() < at_least) {
    // Flushed bytes are promised while their writer holds the lease. A writer silent past the
    // hard limit (its client busy with other steps) lost it, and lease recovery kept what the
    // replicas hold: after the crash of every datanode of its pipeline, the synced bytes only
    // (HDFS's hflush promises no more). Seed 1025 over 120 s: the log closed by recovery
    // while its writer still counted its session live.
    Result<proto::FileStatus> status = fs_.Stat(before.path);
    if (status.ok() && !status->under_construction()) {
      at_least = std::min(before.synced, now.synced);
    }
  }
  // Within one epoch the log only grows, so the bytes must prefix what it holds now; across
  // a resynchronisation, what it held before or, when the read ended after the recovery and
  // the next session's appends (seed 9 with three namenodes), what it holds now.
  const bool now_prefix =
      data->size() <= now.expected.size() && now.expected.compare(0, data->size(), *data) == 0;
  const std::string& expected =
      now.epoch == before.epoch || now_prefix ? now.expected : before.expected;
  CheckLogBytes(state_, now, expected, *data, now.epoch == before.epoch ? at_least : 0,
                "while it grew");
  return Counted(state_, Status::Ok());
}

void CheckLogBytes(SwarmState& state, const AppendLog& log, const std::string& expected,
                   const std::string& data, uint64_t at_least, const char* when) {
  if (data.size() < at_least && log.converting) {
    ++state.result.conversion_gaps;
    state.Problem(log.path + " held " + std::to_string(data.size()) + " bytes " + when +
                  " while moving to blocks, " + std::to_string(at_least) + " were acknowledged");
  } else if (data.size() < at_least) {
    ++state.result.acked_lost;
    state.Problem(log.path + " held " + std::to_string(data.size()) + " bytes " + when + ", " +
                  std::to_string(at_least) + " were acknowledged");
  }
  if (data.size() > expected.size() || expected.compare(0, data.size(), data) != 0) {
    ++state.result.corrupt_reads;
    state.Problem(log.path + " held bytes never appended there " + when);
  }
}

void CheckLogs(Env& env, FileSystem& fs, SwarmState& state) {
  for (auto& [index, log] : state.logs) {
    if (!log.created) continue;
    const Instant give_up = env.Now() + kRecoveryWait;
    Result<bool> closed = fs.RecoverLease(log.path);
    while ((closed.ok() && !*closed) ||
           (!closed.ok() && env.Now() < give_up && closed.code() != StatusCode::kNotFound)) {
      if (env.Now() >= give_up || !env.SleepFor(milliseconds(500)).ok()) break;
      closed = fs.RecoverLease(log.path);
    }
    Result<std::string> data = fs.ReadFile(log.path);
    if (data.code() == StatusCode::kNotFound && log.synced == 0) continue;
    if (!data.ok()) {
      ++state.result.acked_lost;
      state.Problem("log " + log.path + " unreadable: " + data.status().ToString());
      continue;
    }
    const bool closed_cleanly = !log.open && !log.uncertain;
    CheckLogBytes(state, log, log.expected, *data,
                  closed_cleanly ? log.expected.size() : log.synced, "at the end");
  }
}

}  // namespace granary::sim::swarm
