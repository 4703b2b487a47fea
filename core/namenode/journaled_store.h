// JournaledStore: the namenode's MetaStore when namenodes share a journal (issue 13).
//
// The active namenode writes through it. Every batch goes into the journal, under the
// active's fencing token, before it reaches the local store, and Write returns only then: no
// mutation is acknowledged that is not durable in the journal, and therefore not also
// applied, in the same order, by every standby. Concurrent batches share one journal append
// (group commit): while an append is in flight, later batches queue and go together in the
// next one, up to kJournalEntryBytesMax. Each entry reaches the local store as ONE batch
// together with its sequence number (InodeStore::PutAppliedSeq), so that a restart resumes
// exactly after the last entry applied, and a crash between journal and store loses nothing
// (the follower applies the entry again from the journal).
//
// Why whole store batches and not logical operations: the namenode's mutations read before
// they write (permissions, parents, counters, generation stamps); replaying the operations
// on a standby would have to reproduce every read exactly. Replaying the bytes the active
// wrote cannot diverge, and the format is the one InodeStore already owns. HDFS journals
// logical edits because its namespace lives in memory; ours lives in a store.
//
// A standby writes nothing of its own: Apply brings its store to the next entry.
//
// When an append fails the active has lost the right to write: kFenced (a newer leader), or
// an unknown outcome (kTimeout, kUnavailable: the entry may or may not be in the journal).
// Either way the batch and every batch queued behind it fail, every later Write fails with
// kNotActive until the owner calls BeginActive again, and `on_loss` tells the owner to step
// down. The owner catches up from the journal before it writes again, which applies the
// entry if it was stored after all. The same holds when the local write fails after the
// append succeeded.
//
// Reads (Get, Scan, snapshots) go to the local store unchanged.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"
#include "core/seams/journal.h"
#include "core/seams/meta_store.h"

namespace granary {

class JournaledStore final : public MetaStore {
 public:
  // `local` and `journal` must outlive this object. `journal_timeout` bounds each append.
  JournaledStore(Env& env, MetaStore& local, Journal& journal, Duration journal_timeout);

  // Reads where the local store stands in the journal. Call once before anything else.
  Status Load();
  // The last journal entry applied to the local store (0: none).
  uint64_t applied_seq() const { return applied_seq_; }
  // Batches appended so far, and the journal entries that carried them.
  uint64_t batches_appended() const { return batches_appended_; }
  uint64_t entries_appended() const { return entries_appended_; }

  // From now on Write appends under `token`. `on_loss` runs once, on the failing writer's
  // fiber, when an append or the local write after it fails (see above).
  void BeginActive(FencingToken token, std::function<void(const Status&)> on_loss);
  // From now on Write fails with kNotActive (`hint` as its message: the active's address
  // when known). Batches already being appended finish.
  void EndActive(std::string hint = {});
  bool writable() const { return token_.value() != 0; }

  // Applies `entry` to the local store: it must be the next one (applied_seq() + 1; one
  // already applied is skipped). kCorruption when its payload does not parse;
  // kInvalidArgument when entries are missing before it.
  Status Apply(const JournalEntry& entry);
  // Reads the journal from applied_seq() + 1 and applies until applied_seq() >= `target` or
  // `deadline` passes (kTimeout). kNotFound: entries needed were truncated away.
  Status CatchUp(uint64_t target, Instant deadline);

  // The payload of one entry holding `batches` in order (JournalPayload).
  static std::string Encode(const std::vector<const WriteBatch*>& batches);

  // MetaStore: reads go to the local store; Write as described above.
  Result<std::string> Get(std::string_view key, const Snapshot* snapshot = nullptr) override;
  Status GetAppend(std::string_view key, std::string& out,
                   const Snapshot* snapshot = nullptr) override;
  Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end, uint32_t limit,
                                     const Snapshot* snapshot = nullptr) override;
  Status Write(const WriteBatch& batch) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override { return local_.GetSnapshot(); }

 private:
  struct Pending {
    const WriteBatch* batch;
    size_t bytes;
    bool done = false;
    Status status;
  };

  // Appends the longest prefix of the queue that fits one entry and applies it locally.
  // Called with `lock` held by the one fiber that flushes; returns with it held.
  void FlushOneGroup(std::unique_lock<boost::fibers::mutex>& lock);
  // Writes the ops of `payload` with `seq` to the local store as one batch.
  Status ApplyLocally(const std::string& payload, uint64_t seq);
  Status NotActive() const { return Status(StatusCode::kNotActive, hint_); }

  Env& env_;
  MetaStore& local_;
  Journal& journal_;
  const Duration journal_timeout_;
  uint64_t applied_seq_ = 0;
  FencingToken token_{};
  std::string hint_;
  std::function<void(const Status&)> on_loss_;
  uint64_t batches_appended_ = 0;
  uint64_t entries_appended_ = 0;
  // Group commit: the queue of batches not yet appended, and whether a fiber is flushing.
  boost::fibers::mutex mutex_;
  boost::fibers::condition_variable changed_;
  std::deque<Pending*> queue_;
  bool flushing_ = false;
};

}  // namespace granary
