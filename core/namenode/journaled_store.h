// JournaledStore: the namenode's MetaStore when namenodes share a journal (issue 13).
//
// The active namenode writes through it. Every batch goes into the journal, under the
// active's fencing token, before it reaches the local store, and Write returns only then: no
// mutation is acknowledged that is not durable in the journal, and therefore not also
// applied, in the same order, by every standby. Concurrent batches share one journal append
// (group commit): a writer that finds an append slot free takes every batch queued (up to
// kJournalEntryBytesMax) into one entry and appends it; while `appends_in_flight` appends
// (1..kJournalAppendsInFlightMax) are in flight, later batches queue and go together in the next
// free slot. Entries reach the local store strictly in sequence order, one at a time, whatever
// order their appends return in: a writer whose entry got number N waits until N - 1 is applied.
// Each entry reaches the local store as ONE batch together with its sequence number
// (InodeStore::PutAppliedSeq), so that a restart resumes exactly after the last entry
// applied, and a crash between journal and store loses nothing (the follower applies the
// entry again from the journal). For the same reason the local write is not synced
// (MetaStore::WriteUnsynced): the journal holds the entry durably already, and a store that
// lost its unsynced tail in a crash reads it again from the journal (the active keeps
// kJournalRetainEntriesDefault entries, far more than a store's unsynced tail).
//
// Why several appends in flight, and why ordering still holds: the writers of batches in
// different entries each hold their namespace locks until Write returns, so two batches that
// touch the same records are never in flight together; batches in flight together commute,
// and a Write returns only once its entry and every one before it are applied locally, so a
// reader never sees an entry without its predecessors.
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
// Either way the batch fails, and so does every batch not applied locally yet: those queued,
// those whose appends are in flight (whatever their outcome) and those appended but waiting
// for their turn to be applied, also entries numbered before the failed one (the store
// applies nothing more under this token). Every later Write fails with kNotActive until the
// owner calls BeginActive again, and `on_loss` tells the owner to step down. The owner
// catches up from the journal before it writes again, which applies every entry that was
// stored after all. The same holds when the local write fails after the append succeeded.
// A writer told of such a failure may have had its batch journaled: its outcome is unknown,
// as with any timeout (the retry cache answers the client's retry; retry_cache.h).
//
// Reads (Get, Scan, snapshots) go to the local store unchanged.
//
// The HDFS baseline's edit log (SyncMode::kAfterRelease, the simulator's HDFS observers only).
// HDFS logs an edit in memory under its namesystem lock (FSEditLog.logEdit) and syncs it to
// the journal nodes after releasing the lock (FSEditLog.logSync: one sync in flight, edits
// logged meanwhile share the next). In this mode Write applies the batch to the local store
// at once, queues it for the journal and returns, so the caller's locks are free before the
// append; SyncLogged, called after they are released, waits until every batch written before
// it is in the journal (one append in flight; it then records the entry's sequence). Readers
// on the active see a batch before it is durable, as in HDFS. A failed append leaves the local
// store ahead of the journal: HDFS's namenode exits then; here the store refuses every later
// Apply and CatchUp (kCorruption), so this namenode never serves from it again.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"
#include "core/seams/journal.h"
#include "core/seams/meta_store.h"

namespace granary {

class JournaledStore final : public MetaStore {
 public:
  // `local` and `journal` must outlive this object. `journal_timeout` bounds each append.
  // An append slot frees as soon as the journal answers, so even with one in flight the next
  // group's append overlaps the local write of the one before.
  JournaledStore(Env& env, MetaStore& local, Journal& journal, Duration journal_timeout,
                 uint32_t appends_in_flight = kJournalAppendsInFlightDefault);

  // kInline: Write returns once its batch is in the journal and applied (Granary).
  // kAfterRelease: the HDFS baseline's edit log (header); one append in flight.
  enum class SyncMode : uint8_t { kInline, kAfterRelease };
  // Before BeginActive.
  void set_sync_mode(SyncMode mode) { sync_mode_ = mode; }
  SyncMode sync_mode() const { return sync_mode_; }
  // kAfterRelease: waits until every batch Written before this call is in the journal; its
  // error when one of them failed (the batch stays in the local store: see the header). Ok at
  // once in kInline.
  Status SyncLogged();

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
  // kInvalidArgument when entries are missing before it. Waits while a writer's entry is
  // being applied (after EndActive, the last of them may still be).
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
    bool queued = true;  // not taken into an entry yet
    bool done = false;
    Status status;
  };

  // Appends the longest prefix of the queue that fits one entry and applies it locally in
  // sequence order. Called with `lock` held by a writer that took a free append slot;
  // returns with it held.
  void FlushOneGroup(std::unique_lock<boost::fibers::mutex>& lock);
  // Waits for entry `seq`'s turn and applies it; Ok also when a follower applied it already.
  Status ApplyInTurn(std::unique_lock<boost::fibers::mutex>& lock, const std::string& payload,
                     uint64_t seq, uint64_t epoch);
  // Fails every writer not applied yet and tells the owner (the header's "lost the right").
  void Break(std::unique_lock<boost::fibers::mutex>& lock, const Status& status, uint64_t epoch);
  // Writes the ops of `payload` with `seq` to the local store as one batch (only `seq` when
  // the ops are there already: kAfterRelease).
  Status ApplyLocally(const std::string& payload, uint64_t seq, bool ops_written = false);
  // kAfterRelease's Write: applies `batch` locally and queues a copy for SyncLogged.
  Status WriteLogged(const WriteBatch& batch, size_t bytes);
  Status NotActive() const { return Status(StatusCode::kNotActive, hint_); }

  Env& env_;
  MetaStore& local_;
  Journal& journal_;
  const Duration journal_timeout_;
  const uint32_t appends_in_flight_max_;
  uint64_t applied_seq_ = 0;
  FencingToken token_{};
  std::string hint_;
  std::function<void(const Status&)> on_loss_;
  uint64_t batches_appended_ = 0;
  uint64_t entries_appended_ = 0;
  // Group commit: the queue of batches not yet appended, the appends in flight, whether an
  // entry is being written to the local store, and the activation (BeginActive) whose
  // writers may still apply: a failure ends it (broken_) and no entry is applied after.
  boost::fibers::mutex mutex_;
  boost::fibers::condition_variable changed_;
  std::deque<Pending*> queue_;
  uint32_t appends_in_flight_ = 0;
  bool applying_ = false;
  uint64_t epoch_ = 0;
  bool broken_ = false;
  Status broken_status_;      // the failure that broke the activation
  std::set<uint64_t> turns_;  // entries appended, waiting to be applied in order
  // kAfterRelease: batches applied locally, in write order, until their append is done.
  struct Logged {
    WriteBatch batch;
    Pending pending;
  };
  SyncMode sync_mode_ = SyncMode::kInline;
  std::deque<std::shared_ptr<Logged>> logged_;
  bool diverged_ = false;  // a logged batch's append failed: the store is ahead of the journal
};

}  // namespace granary
