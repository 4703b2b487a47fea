#include "core/namenode/journaled_store.h"

#include <cassert>
#include <utility>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "proto/namenode.pb.h"

namespace granary {
namespace {

// What one batch adds to an entry's encoded size, an upper bound: each op's key and value
// plus the protobuf framing of the op and its two fields.
size_t EncodedBound(const WriteBatch& batch) {
  size_t bytes = 0;
  for (const WriteBatch::Op& op : batch.ops()) bytes += op.key.size() + op.value.size() + 32;
  return bytes;
}

// What a writer (and so its client) is told when its batch's append failed. A fenced append
// means a newer active exists: kNotActive sends the client on to find it. A journal out of
// reach (no majority of its members) is not something a retry on another namenode cures
// within a call's patience: a clear error at once, rather than a client rotating through
// namenodes that all wait on the same journal.
Status ForCaller(const Status& status) {
  if (status.code() == StatusCode::kFenced) return Status(StatusCode::kNotActive, "");
  if (status.code() == StatusCode::kTimeout || status.code() == StatusCode::kUnavailable) {
    return Status(StatusCode::kIoError,
                  "the namenodes' journal did not take the write (" + status.ToString() +
                      "); it was not acknowledged; writes resume once a majority of the "
                      "journal's members is back");
  }
  return status;
}

}  // namespace

JournaledStore::JournaledStore(Env& env, MetaStore& local, Journal& journal,
                               Duration journal_timeout, uint32_t appends_in_flight)
    : env_(env),
      local_(local),
      journal_(journal),
      journal_timeout_(journal_timeout),
      appends_in_flight_max_(appends_in_flight) {
  assert(appends_in_flight_max_ >= 1);
  assert(appends_in_flight_max_ <= kJournalAppendsInFlightMax);
}

Status JournaledStore::Load() {
  InodeStore records(local_);
  GRANARY_ASSIGN_OR_RETURN(applied_seq_, records.GetAppliedSeq());
  return Status::Ok();
}

void JournaledStore::BeginActive(FencingToken token, std::function<void(const Status&)> on_loss) {
  assert(token.value() != 0);
  token_ = token;
  on_loss_ = std::move(on_loss);
  hint_.clear();
  ++epoch_;  // writers of an earlier activation still waiting fail with kNotActive
  broken_ = false;
  broken_status_ = Status::Ok();
  changed_.notify_all();
}

void JournaledStore::EndActive(std::string hint) {
  token_ = FencingToken();
  hint_ = std::move(hint);
}

std::string JournaledStore::Encode(const std::vector<const WriteBatch*>& batches) {
  proto::JournalPayload payload;
  payload.set_batches(static_cast<uint32_t>(batches.size()));
  for (const WriteBatch* batch : batches) {
    for (const WriteBatch::Op& op : batch->ops()) {
      proto::JournalOp* out = payload.add_ops();
      out->set_is_delete(op.kind == WriteBatch::Op::Kind::kDelete);
      out->set_key(op.key);
      if (op.kind == WriteBatch::Op::Kind::kPut) out->set_value(op.value);
    }
  }
  return payload.SerializeAsString();
}

Status JournaledStore::ApplyLocally(const std::string& payload, uint64_t seq, bool ops_written) {
  proto::JournalPayload parsed;
  if (!parsed.ParseFromString(payload)) {
    return Status(StatusCode::kCorruption,
                  "journal entry " + std::to_string(seq) + " does not parse");
  }
  WriteBatch batch;
  for (const proto::JournalOp& op : parsed.ops()) {
    if (op.is_delete()) {
      batch.Delete(op.key());
    } else {
      batch.Put(op.key(), op.value());
    }
  }
  if (ops_written) batch = WriteBatch();  // this active wrote them when it logged them
  InodeStore::PutAppliedSeq(batch, seq);
  GRANARY_RETURN_IF_ERROR(local_.WriteUnsynced(batch));  // durable in the journal (header)
  applied_seq_ = seq;
  return Status::Ok();
}

Status JournaledStore::Apply(const JournalEntry& entry) {
  std::unique_lock lock(mutex_);
  if (diverged_) {
    return Status(StatusCode::kCorruption,
                  "the local store holds edits whose journal append failed (HDFS baseline)");
  }
  while (applying_) changed_.wait(lock);               // a writer's entry, from before EndActive
  if (entry.seq <= applied_seq_) return Status::Ok();  // applied before (a re-read)
  if (entry.seq != applied_seq_ + 1) {
    return Status(StatusCode::kInvalidArgument, "journal entry " + std::to_string(entry.seq) +
                                                    " after " + std::to_string(applied_seq_) +
                                                    ": entries are missing");
  }
  applying_ = true;
  lock.unlock();
  const Status applied = ApplyLocally(entry.payload, entry.seq);
  lock.lock();
  applying_ = false;
  changed_.notify_all();  // writers waiting for their turn look again
  return applied;
}

Status JournaledStore::CatchUp(uint64_t target, Instant deadline) {
  while (applied_seq_ < target) {
    if (env_.Now() >= deadline) {
      return Status(StatusCode::kTimeout, "caught up to " + std::to_string(applied_seq_) + " of " +
                                              std::to_string(target));
    }
    GRANARY_ASSIGN_OR_RETURN(std::vector<JournalEntry> entries,
                             journal_.Read(applied_seq_ + 1, kJournalReadEntriesMax, deadline));
    for (const JournalEntry& entry : entries) GRANARY_RETURN_IF_ERROR(Apply(entry));
  }
  return Status::Ok();
}

Result<std::string> JournaledStore::Get(std::string_view key, const Snapshot* snapshot) {
  return local_.Get(key, snapshot);
}

Status JournaledStore::GetAppend(std::string_view key, std::string& out, const Snapshot* snapshot) {
  return local_.GetAppend(key, out, snapshot);
}

Result<std::vector<KeyValue>> JournaledStore::Scan(std::string_view start, std::string_view end,
                                                   uint32_t limit, const Snapshot* snapshot) {
  return local_.Scan(start, end, limit, snapshot);
}

Status JournaledStore::Write(const WriteBatch& batch) {
  GRANARY_RETURN_IF_ERROR(batch.Validate());
  if (!writable()) return NotActive();
  Pending mine{&batch, EncodedBound(batch), true, false, Status::Ok()};
  if (mine.bytes > kJournalEntryBytesMax) {
    return Status(StatusCode::kInvalidArgument, "a batch of " + std::to_string(mine.bytes) +
                                                    " bytes does not fit one journal entry");
  }
  if (sync_mode_ == SyncMode::kAfterRelease) return WriteLogged(batch, mine.bytes);
  std::unique_lock lock(mutex_);
  queue_.push_back(&mine);
  // A writer whose batch is still queued and who finds an append slot free flushes the
  // queue's head group (its own batch may be in a later one); the others wait to be told.
  while (!mine.done) {
    if (mine.queued && appends_in_flight_ < appends_in_flight_max_) {
      FlushOneGroup(lock);
      continue;
    }
    changed_.wait(lock);
  }
  return mine.status;
}

Status JournaledStore::WriteLogged(const WriteBatch& batch, size_t bytes) {
  std::unique_lock lock(mutex_);
  if (diverged_ || broken_) return NotActive();
  // In write order, which the caller's locks make the namespace's order: the local store and
  // the journal see the batches in the same sequence.
  GRANARY_RETURN_IF_ERROR(local_.WriteUnsynced(batch));
  auto logged = std::make_shared<Logged>();
  logged->batch = batch;
  logged->pending = Pending{&logged->batch, bytes, true, false, Status::Ok()};
  queue_.push_back(&logged->pending);
  logged_.push_back(std::move(logged));
  return Status::Ok();
}

Status JournaledStore::SyncLogged() {
  if (sync_mode_ != SyncMode::kAfterRelease) return Status::Ok();
  std::unique_lock lock(mutex_);
  if (logged_.empty()) return diverged_ ? NotActive() : Status::Ok();
  const std::shared_ptr<Logged> last = logged_.back();  // everything written before this call
  // As FSEditLog.logSync: one sync in flight; edits logged meanwhile go together in the next.
  while (!last->pending.done) {
    if (last->pending.queued && appends_in_flight_ == 0) {
      FlushOneGroup(lock);
      continue;
    }
    changed_.wait(lock);
  }
  const Status status = last->pending.status;
  // The syncer of a group frees what no waiter needs any more: done edits at the front.
  while (!logged_.empty() && logged_.front()->pending.done) logged_.pop_front();
  return status;
}

void JournaledStore::FlushOneGroup(std::unique_lock<boost::fibers::mutex>& lock) {
  std::vector<Pending*> group;
  std::vector<const WriteBatch*> batches;
  size_t bytes = 0;
  while (!queue_.empty() &&
         (group.empty() || bytes + queue_.front()->bytes <= kJournalEntryBytesMax)) {
    bytes += queue_.front()->bytes;
    queue_.front()->queued = false;
    group.push_back(queue_.front());
    batches.push_back(queue_.front()->batch);
    queue_.pop_front();
  }
  const FencingToken token = token_;
  const uint64_t epoch = epoch_;
  Status status = token.value() == 0 ? NotActive() : Status::Ok();
  if (status.ok()) {
    ++appends_in_flight_;
    lock.unlock();
    const std::string payload = Encode(batches);
    Result<uint64_t> seq = journal_.Append(token, payload, env_.Now() + journal_timeout_);
    lock.lock();
    --appends_in_flight_;
    changed_.notify_all();  // a slot is free
    status = seq.ok() ? ApplyInTurn(lock, payload, *seq, epoch) : seq.status();
    if (status.ok()) {
      batches_appended_ += batches.size();
      ++entries_appended_;
    }
  }
  // A logged batch (kAfterRelease) is in the local store already: one not appended leaves the
  // store ahead of the journal.
  if (!status.ok() && sync_mode_ == SyncMode::kAfterRelease) diverged_ = true;
  const Status answer = ForCaller(status);
  for (Pending* pending : group) {
    pending->status = answer;
    pending->done = true;
  }
  changed_.notify_all();
  if (!status.ok() && token.value() != 0) Break(lock, status, epoch);
}

Status JournaledStore::ApplyInTurn(std::unique_lock<boost::fibers::mutex>& lock,
                                   const std::string& payload, uint64_t seq, uint64_t epoch) {
  turns_.insert(seq);
  for (;;) {
    if (broken_ && epoch_ == epoch) break;
    if (epoch_ != epoch) break;
    if (applied_seq_ >= seq) break;  // a follower applied it (after EndActive)
    if (!applying_ && applied_seq_ + 1 == seq) break;
    // Nobody will fill the gap before `seq`: no append in flight, nothing being applied and
    // no entry of ours next. Entries came from elsewhere; catching up is the owner's job.
    if (!applying_ && appends_in_flight_ == 0 && *turns_.begin() != applied_seq_ + 1) break;
    changed_.wait(lock);
  }
  turns_.erase(seq);
  if (epoch_ != epoch) return NotActive();
  if (broken_) return broken_status_;
  if (applied_seq_ >= seq) return Status::Ok();
  if (applying_ || applied_seq_ + 1 != seq) {
    return Status(StatusCode::kInternal, "journal entry " + std::to_string(seq) + " after " +
                                             std::to_string(applied_seq_) +
                                             ": entries this active did not append are missing");
  }
  applying_ = true;
  lock.unlock();
  const Status applied = ApplyLocally(payload, seq, sync_mode_ == SyncMode::kAfterRelease);
  lock.lock();
  applying_ = false;
  changed_.notify_all();
  return applied;
}

void JournaledStore::Break(std::unique_lock<boost::fibers::mutex>& lock, const Status& status,
                           uint64_t epoch) {
  if (broken_ || epoch_ != epoch) return;
  broken_ = true;
  broken_status_ = status;

  const Status answer = ForCaller(status);
  for (Pending* pending : queue_) {
    pending->queued = false;
    pending->status = answer;
    pending->done = true;
  }
  queue_.clear();
  changed_.notify_all();
  if (token_.value() == 0) return;  // EndActive came first: the owner knows
  token_ = FencingToken();
  std::function<void(const Status&)> on_loss = std::move(on_loss_);
  on_loss_ = nullptr;
  lock.unlock();
  if (on_loss) on_loss(status);
  lock.lock();
}

}  // namespace granary
