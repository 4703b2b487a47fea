#include "core/namenode/store_checkpoint.h"

#include <utility>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "core/rpc/methods.h"
#include "core/rpc/router.h"

namespace granary {
namespace {

// Every key after `key`: the smallest key greater than it.
std::string After(const std::string& key) { return key + std::string(1, '\0'); }

// Deletes every record of `local` but the bootstrap mark, in bounded batches.
Status DeleteAllButTheMark(MetaStore& local) {
  const std::string mark = InodeStore::BootstrapMarkKey();
  std::string start;
  for (;;) {
    GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> page,
                             local.Scan(start, "", kCheckpointScanEntries));
    if (page.empty()) return Status::Ok();
    WriteBatch batch;
    for (const KeyValue& kv : page) {
      if (kv.key != mark) batch.Delete(kv.key);
    }
    start = After(page.back().key);
    if (!batch.empty()) GRANARY_RETURN_IF_ERROR(local.Write(batch));
  }
}

}  // namespace

void StoreCheckpoint::ExpireIdle() {
  const Instant now = env_.Now();
  for (auto it = open_.begin(); it != open_.end();) {
    it = now - it->second.last_used > kCheckpointIdle ? open_.erase(it) : std::next(it);
  }
}

Status StoreCheckpoint::ServePage(const proto::CheckpointPageRequest& request,
                                  proto::CheckpointPageReply* reply) {
  ExpireIdle();
  uint64_t id = request.checkpoint_id();
  if (id == 0) {
    GRANARY_ASSIGN_OR_RETURN(bool incomplete, Incomplete(store_));
    if (incomplete) {
      return Status(StatusCode::kUnavailable, "this namenode's own store is being copied");
    }
    if (open_.size() >= kCheckpointsOpenMax) {
      return Status(StatusCode::kUnavailable, "too many checkpoint copies under way");
    }
    id = next_id_++;
    open_[id] = Open{store_.GetSnapshot(), env_.Now()};
  }
  auto it = open_.find(id);
  if (it == open_.end()) {
    return Status(StatusCode::kNotFound, "checkpoint " + std::to_string(id) + " expired");
  }
  it->second.last_used = env_.Now();
  const std::shared_ptr<const Snapshot> snapshot = it->second.snapshot;
  reply->set_checkpoint_id(id);
  std::string start = request.start_after().empty() ? std::string() : After(request.start_after());
  size_t bytes = 0;
  while (bytes < kCheckpointPageBytes) {
    GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> chunk,
                             store_.Scan(start, "", kCheckpointScanEntries, snapshot.get()));
    for (const KeyValue& kv : chunk) {
      proto::JournalOp* record = reply->add_records();
      record->set_key(kv.key);
      record->set_value(kv.value);
      bytes += kv.key.size() + kv.value.size();
      if (bytes >= kCheckpointPageBytes) break;
    }
    if (chunk.size() < kCheckpointScanEntries && bytes < kCheckpointPageBytes) {
      reply->set_done(true);
      open_.erase(id);
      return Status::Ok();
    }
    start = After(reply->records(reply->records_size() - 1).key());
  }
  return Status::Ok();
}

Result<bool> StoreCheckpoint::Incomplete(MetaStore& local) {
  return InodeStore(local).HasBootstrapMark();
}

Status StoreCheckpoint::CopyFrom(Env& env, Transport& transport, const Address& from,
                                 MetaStore& local, Duration call_timeout) {
  WriteBatch mark;
  InodeStore::PutBootstrapMark(mark);
  GRANARY_RETURN_IF_ERROR(local.Write(mark));
  GRANARY_RETURN_IF_ERROR(DeleteAllButTheMark(local));
  proto::CheckpointPageRequest request;
  for (;;) {
    proto::CheckpointPageReply page;
    GRANARY_RETURN_IF_ERROR(rpc::Call(transport, from, rpc::nn::kCheckpointPage, request, {},
                                      env.Now() + call_timeout, &page)
                                .WithContext("checkpoint page from " + from.value));
    WriteBatch batch;
    for (const proto::JournalOp& record : page.records()) {
      if (record.key() == InodeStore::BootstrapMarkKey()) continue;
      batch.Put(record.key(), record.value());
    }
    if (page.done()) InodeStore::DeleteBootstrapMark(batch);
    if (!batch.empty()) GRANARY_RETURN_IF_ERROR(local.Write(batch));
    if (page.done()) return Status::Ok();
    if (page.records().empty()) {
      return Status(StatusCode::kBadMessage, "an empty checkpoint page that is not the last");
    }
    request.set_checkpoint_id(page.checkpoint_id());
    request.set_start_after(page.records(page.records_size() - 1).key());
  }
}

}  // namespace granary
