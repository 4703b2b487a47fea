// RocksDbStore: the MetaStore seam over RocksDB (DESIGN.md §3), the namenode's metadata.
//
// Durability: the write-ahead log is on and every Write returns only once its batch is in a
// synced WAL write (WriteOptions::sync). Concurrent writers share syncs (group commit): Write
// queues its batch for a dedicated writer thread, which takes every batch waiting, applies
// them as one synced RocksDB write, and wakes their fibers through Boost.Fiber promises (the
// cross-thread wake-up reaches the RealEnv's loop through RealScheduling::notify). A merged
// write is atomic as a whole, so each batch in it is; if it fails, each batch in it fails.
// A batch that fails validation (WriteBatch::Validate) is refused before it is queued.
//
// Large values (an inline file's bytes; at least min_blob_bytes) live in RocksDB's blob files
// (integrated BlobDB), the key and a reference in the tables: compaction moves references,
// not file bytes, the tables stay small enough for the block cache to hold their hot part,
// and a read of a value is one pread of a blob file that does not churn the block cache.
// Tables and the memtable carry bloom filters, so a Get skips what cannot hold its key.
//
// Reads (Get, Scan) run directly on the calling fiber; a Scan reads through one iterator, a
// consistent view, so it never sees half a batch. Snapshots are RocksDB snapshots.
//
// Threading: Get, Scan, Write and GetSnapshot from the RealEnv's thread (fibers); the writer
// thread is internal. Destroy after every snapshot is released and every Write has returned.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/common/status.h"
#include "core/seams/meta_store.h"
#include "net/real_env.h"

namespace rocksdb {
class DB;
}

namespace granary::net {

struct RocksDbStoreOptions {
  // Batches merged into one synced write at most, and their bytes at most.
  uint32_t group_batches_max = 1024;
  uint64_t group_bytes_max = 64ull << 20;
  // RocksDB's block cache and write buffer.
  uint64_t block_cache_bytes = 256ull << 20;
  uint64_t write_buffer_bytes = 64ull << 20;
  // Values of at least this many bytes go to blob files; 0 keeps every value in the tables.
  uint64_t min_blob_bytes = 4096;
  // An LRU cache of blob values (filled as blob files are written by flushes, and by reads),
  // so that reading a hot inline file costs no pread; 0: none, every blob read is a pread.
  // Memory is taken as values arrive, not up front.
  uint64_t blob_cache_bytes = 0;
  // Bloom filter bits per key in every table; 0: no filters.
  uint32_t bloom_bits_per_key = 10;
  // Point reads (Get) of keys starting with this byte skip RocksDB's own checksum check,
  // because their caller checks those values itself (the namenode's inline bytes carry a
  // CRC32C in their inode). Debian's portable RocksDB computes CRC32C without the CPU's
  // instruction, about 10 us per 16 KiB value. Empty: every read is checked.
  std::string caller_checked_prefix;
};

struct RocksDbStoreStats {
  uint64_t batches = 0;        // acknowledged Write calls with at least one op
  uint64_t synced_writes = 0;  // RocksDB writes (each one WAL sync)
};

class RocksDbStore final : public MetaStore {
 public:
  // Opens (creating when missing) the database in `directory`.
  static Result<std::unique_ptr<RocksDbStore>> Open(RealEnv& env, std::string directory,
                                                    RocksDbStoreOptions options = {});
  ~RocksDbStore() override;
  RocksDbStore(const RocksDbStore&) = delete;
  RocksDbStore& operator=(const RocksDbStore&) = delete;

  Result<std::string> Get(std::string_view key, const Snapshot* snapshot = nullptr) override;
  // Appends the value from where RocksDB pins it (a table block, or a blob in the blob
  // cache): one copy, into `out`. Into an empty `out`, exactly what Get does.
  Status GetAppend(std::string_view key, std::string& out,
                   const Snapshot* snapshot = nullptr) override;
  Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end, uint32_t limit,
                                     const Snapshot* snapshot = nullptr) override;
  Status Write(const WriteBatch& batch) override;
  // Queued like Write; a merged write is synced when any batch in it asked for a sync.
  Status WriteUnsynced(const WriteBatch& batch) override;
  std::shared_ptr<const Snapshot> GetSnapshot() override;

  // Counters of the writer thread (read them when no Write is in flight for exact values).
  RocksDbStoreStats stats() const;

 private:
  struct Queued;
  class DbSnapshot;

  RocksDbStore(RealEnv& env, RocksDbStoreOptions options, rocksdb::DB* db);
  void WriterLoop();
  Status Enqueue(const WriteBatch& batch, bool sync);

  RealEnv& env_;
  const RocksDbStoreOptions options_;
  std::unique_ptr<rocksdb::DB> db_;

  mutable std::mutex mutex_;
  std::condition_variable queued_;
  std::deque<Queued*> queue_;
  bool closing_ = false;
  RocksDbStoreStats stats_;
  std::thread writer_;
};

}  // namespace granary::net
