// MetaStore: the namenode's ordered key-value store (DESIGN.md §3).
//
// Keys and values are byte strings (keys up to kMetaKeyBytesMax, values kMetaValueBytesMax).
// Keys order bytewise, so a prefix scan lists one directory's entries.
//
// Contract:
//   - Write applies a batch atomically: after a crash either all of it is there or none.
//     When Write returns ok the batch is durable. Concurrent writers may share one sync.
//   - Reads see every batch whose Write returned before the read began.
//   - A Snapshot reads the store as it was when taken, until released (the last shared_ptr
//     dropped). Snapshots must be released before the store is destroyed.
//   - kNotFound from Get: no such key. kNodeDown: the calling process crashed.
//   - kInvalidArgument: a key, value or batch past its limit; nothing was written.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace granary {

class WriteBatch {
 public:
  struct Op {
    enum class Kind : uint8_t { kPut, kDelete };
    Kind kind;
    std::string key;
    std::string value;
  };

  void Put(std::string_view key, std::string_view value) {
    ops_.push_back({Op::Kind::kPut, std::string(key), std::string(value)});
  }
  void Delete(std::string_view key) { ops_.push_back({Op::Kind::kDelete, std::string(key), {}}); }
  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }
  size_t size() const { return ops_.size(); }

  // kInvalidArgument naming the first key, value or count past its limit.
  Status Validate() const;

 private:
  std::vector<Op> ops_;
};

struct KeyValue {
  std::string key;
  std::string value;
  bool operator==(const KeyValue&) const = default;
};

// An opaque point-in-time view; implementations derive from it.
class Snapshot {
 public:
  virtual ~Snapshot() = default;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  virtual Result<std::string> Get(std::string_view key, const Snapshot* snapshot = nullptr) = 0;
  // Get's answer appended to `out` rather than returned: a caller gathering values into one
  // buffer (a reply's payload) reads each without a string of its own. On any error `out`
  // is as it was. The default calls Get; a store that can hand out its bytes in place (a
  // pinned RocksDB value) overrides it to save the copy. Same latency and faults as Get.
  virtual Status GetAppend(std::string_view key, std::string& out,
                           const Snapshot* snapshot = nullptr);
  // Entries with start <= key < end in key order (an empty end means no upper bound), at most
  // `limit` (1..kMetaScanEntriesMax) of them.
  virtual Result<std::vector<KeyValue>> Scan(std::string_view start, std::string_view end,
                                             uint32_t limit,
                                             const Snapshot* snapshot = nullptr) = 0;
  virtual Status Write(const WriteBatch& batch) = 0;
  // Write that may return before the batch is synced: for a caller whose batches are durable
  // elsewhere already (the namenode's journal, journaled_store.h). The batch is atomic and
  // ordered as with Write, and visible to reads once this returns; a crash may lose it and
  // the unsynced ones after it, never a batch whose Write returned before it. The default
  // writes synced.
  virtual Status WriteUnsynced(const WriteBatch& batch) { return Write(batch); }
  virtual std::shared_ptr<const Snapshot> GetSnapshot() = 0;
};

// The smallest key greater than every key starting with `prefix` ("" when there is none):
// Scan(prefix, PrefixEnd(prefix), ...) lists exactly the keys with that prefix.
std::string PrefixEnd(std::string_view prefix);

}  // namespace granary
