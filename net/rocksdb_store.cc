#include "net/rocksdb_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <boost/fiber/future.hpp>
#include <cassert>

#include "core/common/limits.h"
#include "net/test_knobs.h"

namespace granary::net {
namespace {

Status FromRocks(const rocksdb::Status& status, std::string_view what) {
  if (status.ok()) return Status::Ok();
  if (status.IsNotFound()) return Status(StatusCode::kNotFound, std::string(what));
  if (status.IsNoSpace())
    return Status(StatusCode::kNoSpace, std::string(what) + ": " + status.ToString());
  if (status.IsCorruption()) {
    return Status(StatusCode::kCorruption, std::string(what) + ": " + status.ToString());
  }
  return Status(StatusCode::kIoError, std::string(what) + ": " + status.ToString());
}

rocksdb::Slice ToSlice(std::string_view bytes) {
  return rocksdb::Slice(bytes.data(), bytes.size());
}

}  // namespace

// One Write waiting for the writer thread.
struct RocksDbStore::Queued {
  const WriteBatch* batch;  // the caller's, alive until done is set
  uint64_t bytes;
  bool sync;
  boost::fibers::promise<Status> done;
};

namespace {

Status AddToBatch(const WriteBatch& batch, rocksdb::WriteBatch& out) {
  for (const WriteBatch::Op& op : batch.ops()) {
    const rocksdb::Status added = op.kind == WriteBatch::Op::Kind::kPut
                                      ? out.Put(ToSlice(op.key), ToSlice(op.value))
                                      : out.Delete(ToSlice(op.key));
    GRANARY_RETURN_IF_ERROR(FromRocks(added, "batch"));
  }
  return Status::Ok();
}

}  // namespace

class RocksDbStore::DbSnapshot final : public Snapshot {
 public:
  DbSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snapshot) : db_(db), snapshot_(snapshot) {}
  ~DbSnapshot() override { db_->ReleaseSnapshot(snapshot_); }
  const rocksdb::Snapshot* get() const { return snapshot_; }

 private:
  rocksdb::DB* const db_;
  const rocksdb::Snapshot* const snapshot_;
};

Result<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(RealEnv& env, std::string directory,
                                                         RocksDbStoreOptions options) {
  if (options.group_batches_max == 0) {
    return Status(StatusCode::kInvalidArgument, "group_batches_max must be positive");
  }
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.paranoid_checks = true;
  db_options.write_buffer_size = options.write_buffer_bytes;
  db_options.max_background_jobs = 2;
  // Keep the WAL: every acknowledged batch is in it, synced, until flushed to tables.
  db_options.manual_wal_flush = false;
  if (options.min_blob_bytes > 0) {
    db_options.enable_blob_files = true;
    db_options.min_blob_size = options.min_blob_bytes;
    // Deleted and overwritten files' bytes are reclaimed when compaction reaches them.
    db_options.enable_blob_garbage_collection = true;
    if (options.blob_cache_bytes > 0) {
      db_options.blob_cache = rocksdb::NewLRUCache(options.blob_cache_bytes);
      db_options.prepopulate_blob_cache = rocksdb::PrepopulateBlobCache::kFlushOnly;
    }
  }
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  if (options.bloom_bits_per_key > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(options.bloom_bits_per_key));
    // The memtable too: a Get of a key written long ago skips its skip list, whose search
    // is a chain of cache misses through the write buffer.
    db_options.memtable_whole_key_filtering = true;
    db_options.memtable_prefix_bloom_size_ratio = 0.02;
  }
  db_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* db = nullptr;
  const rocksdb::Status opened = rocksdb::DB::Open(db_options, directory, &db);
  if (!opened.ok()) return FromRocks(opened, "open RocksDB at " + directory);
  return std::unique_ptr<RocksDbStore>(new RocksDbStore(env, options, db));
}

RocksDbStore::RocksDbStore(RealEnv& env, RocksDbStoreOptions options, rocksdb::DB* db)
    : env_(env), options_(options), db_(db), writer_([this] { WriterLoop(); }) {}

RocksDbStore::~RocksDbStore() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closing_ = true;
  }
  queued_.notify_one();
  writer_.join();
  assert(queue_.empty());
  const rocksdb::Status closed = db_->Close();
  (void)closed;  // every acknowledged batch is synced already
}

RocksDbStoreStats RocksDbStore::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

Result<std::string> RocksDbStore::Get(std::string_view key, const Snapshot* snapshot) {
  std::string value;  // empty: GetAppend reads it as RocksDB fills a string, one copy at most
  GRANARY_RETURN_IF_ERROR(GetAppend(key, value, snapshot));
  return value;
}

Status RocksDbStore::GetAppend(std::string_view key, std::string& out, const Snapshot* snapshot) {
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  rocksdb::ReadOptions read;
  if (snapshot != nullptr) read.snapshot = static_cast<const DbSnapshot*>(snapshot)->get();
  if (!options_.caller_checked_prefix.empty() && key.starts_with(options_.caller_checked_prefix)) {
    read.verify_checksums = false;
  }
  if (out.empty()) {
    // RocksDB fills a string itself with one copy at most (none from the memtable's own
    // buffer is possible either way); a pinned slice would add one for an unpinned value.
    const rocksdb::Status status = db_->Get(read, ToSlice(key), &out);
    if (status.IsNotFound()) {
      out.clear();
      return Status(StatusCode::kNotFound, "no key");
    }
    if (!status.ok()) out.clear();
    return FromRocks(status, "get");
  }
  // A value RocksDB can pin (a table block in the block cache, a blob in the blob cache) is
  // appended straight from there; any other it copies into the slice first, as Get would.
  rocksdb::PinnableSlice value;
  const rocksdb::Status status = db_->Get(read, db_->DefaultColumnFamily(), ToSlice(key), &value);
  if (status.IsNotFound()) return Status(StatusCode::kNotFound, "no key");
  GRANARY_RETURN_IF_ERROR(FromRocks(status, "get"));
  out.append(value.data(), value.size());
  return Status::Ok();
}

Result<std::vector<KeyValue>> RocksDbStore::Scan(std::string_view start, std::string_view end,
                                                 uint32_t limit, const Snapshot* snapshot) {
  if (limit == 0 || limit > kMetaScanEntriesMax) {
    return Status(StatusCode::kInvalidArgument, "scan limit outside 1..kMetaScanEntriesMax");
  }
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  rocksdb::ReadOptions read;
  if (snapshot != nullptr) read.snapshot = static_cast<const DbSnapshot*>(snapshot)->get();
  const rocksdb::Slice upper = ToSlice(end);
  if (!end.empty()) read.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read));
  std::vector<KeyValue> out;
  for (it->Seek(ToSlice(start)); it->Valid() && out.size() < limit; it->Next()) {
    out.push_back(KeyValue{it->key().ToString(), it->value().ToString()});
  }
  GRANARY_RETURN_IF_ERROR(FromRocks(it->status(), "scan"));
  return out;
}

Status RocksDbStore::Write(const WriteBatch& batch) { return Enqueue(batch, true); }

Status RocksDbStore::WriteUnsynced(const WriteBatch& batch) { return Enqueue(batch, false); }

Status RocksDbStore::Enqueue(const WriteBatch& batch, bool sync) {
  GRANARY_RETURN_IF_ERROR(batch.Validate());
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  if (batch.empty()) return Status::Ok();
  Queued queued{&batch, 0, sync, {}};
  for (const WriteBatch::Op& op : batch.ops()) queued.bytes += op.key.size() + op.value.size();
  boost::fibers::future<Status> done = queued.done.get_future();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    assert(!closing_);
    queue_.push_back(&queued);
  }
  queued_.notify_one();
  // The writer always answers (the store outlives every Write), also after a Stop.
  return done.get();
}

std::shared_ptr<const Snapshot> RocksDbStore::GetSnapshot() {
  return std::make_shared<DbSnapshot>(db_.get(), db_->GetSnapshot());
}

void RocksDbStore::WriterLoop() {
  std::vector<Queued*> group;
  for (;;) {
    group.clear();
    {
      std::unique_lock<std::mutex> lock(mutex_);
      queued_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;
      uint64_t bytes = 0;
      while (!queue_.empty() && group.size() < options_.group_batches_max &&
             (group.empty() || bytes + queue_.front()->bytes <= options_.group_bytes_max)) {
        bytes += queue_.front()->bytes;
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }
    rocksdb::WriteOptions write;
    write.sync = false;
    rocksdb::WriteBatch merged;
    Status status;
    for (Queued* queued : group) {
      write.sync = write.sync || queued->sync;
      status = AddToBatch(*queued->batch, merged);
      if (!status.ok()) break;
    }
    if (status.ok()) status = FromRocks(db_->Write(write, &merged), "write");
    if (write.sync) SleepTestSyncDelay();  // a test knob (test_knobs.h), 0 unless set
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (write.sync) ++stats_.synced_writes;
      if (status.ok()) stats_.batches += group.size();
    }
    for (Queued* queued : group) {
      // After set_value the fiber may return and free its Queued while set_value is still
      // notifying: the promise, and its share of the state, must live on this thread.
      boost::fibers::promise<Status> promise = std::move(queued->done);
      promise.set_value(status);
    }
  }
}

}  // namespace granary::net
