// InodeStore: the one owner of the namenode's stored format (DESIGN.md §5). Nothing else
// builds a MetaStore key or encodes a stored value; everything reaches the records through
// the typed calls below. The layout:
//
//   "e" parent(8, big endian) name  -> proto::Inode   directory entry = the inode itself
//   "n" id(8)                        -> parent(8) name  where an inode lives (by-id lookups)
//   "x" id(8)                        -> bytes           an inline file's data
//   "g" id(8)                        -> proto::Inode    an unlinked subtree awaiting collection
//   "b" block id(8)                  -> proto::StoredBlock
//   "m" name                         -> counter (8)     id reservations (IdAllocator)
//   "d" storage id                   -> datanode id (8) a datanode's stable id
//   "j" "applied"                    -> sequence (8)    the last journal entry applied (HA)
//   "j" "bootstrap"                  -> "copying"       a checkpoint copy is under way (HA)
//
// Big-endian ids make a directory's entries one contiguous, name-ordered range: listing is a
// prefix scan, and the (parent id, name) key is HopsFS's partitioning key. The root's entry
// is (kNoParentId, ""); it has no location record. These bytes are what existing stores hold:
// changing any of them is a format change, not a refactoring.
//
// Writes are added to a caller's WriteBatch (static calls: they need no store), so that one
// mutation stays one atomic batch; reads and scans go to the store, on a snapshot when given.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

inline constexpr InodeId kRootInodeId{1};
inline constexpr InodeId kNoParentId{0};  // the root's parent

// Where an inode lives: the directory entry (parent, name). Orders as entry keys do.
struct EntryName {
  InodeId parent;
  std::string name;
  auto operator<=>(const EntryName&) const = default;
};

// A directory entry read from the store: its key's (parent, name) and its inode.
struct StoredEntry {
  EntryName entry;
  proto::Inode inode;
};

// What a raw key is, for tools and checkers that walk a whole store (InodeStore::Classify).
enum class RecordKind : uint8_t {
  kEntry,
  kLocation,
  kInline,
  kOrphan,
  kBlock,
  kCounter,
  kDatanode,
  kJournal,
  kUnknown,
};
struct RecordKey {
  RecordKind kind = RecordKind::kUnknown;
  uint64_t id = 0;   // the entry's parent, the inode or block id; 0 for counters and datanodes
  std::string name;  // the entry's name, the counter's name or the storage id
};

class InodeStore {
 public:
  // `store` must outlive this object.
  explicit InodeStore(MetaStore& store) : store_(store) {}

  MetaStore& meta_store() { return store_; }
  Status Write(const WriteBatch& batch) { return store_.Write(batch); }

  // ---- directory entries and locations ----
  // The entry of `inode` under (parent_id, name) and, except for the root, its location.
  static void PutInode(WriteBatch& batch, const proto::Inode& inode);
  static void DeleteEntry(WriteBatch& batch, const EntryName& entry);
  static void DeleteLocation(WriteBatch& batch, InodeId id);
  // kNotFound when there is no such entry; kCorruption when its record does not parse.
  Result<proto::Inode> GetEntry(const EntryName& entry, const Snapshot* snapshot = nullptr);
  // The entry whose location record names `id` (latest state); kNotFound when there is none.
  Result<EntryName> GetLocation(InodeId id);
  // Entries of directory `parent` after `start_after` (all when empty) in name order, at most
  // `limit` (1..kMetaScanEntriesMax).
  Result<std::vector<StoredEntry>> ScanEntries(InodeId parent, std::string_view start_after,
                                               uint32_t limit, const Snapshot* snapshot = nullptr);
  Result<bool> HasEntries(InodeId parent);
  // Every entry of the store in key order, read in pages of kStoreScanPageEntries (limits.h).
  Status ForEachEntry(const std::function<Status(const StoredEntry&)>& visit);

  // ---- inline file data ----
  static void PutInline(WriteBatch& batch, InodeId id, std::string_view data);
  static void DeleteInline(WriteBatch& batch, InodeId id);
  // Appends the bytes of inline file `id` to `out`; on any error `out` is as it was.
  Status AppendInline(InodeId id, std::string& out, const Snapshot* snapshot = nullptr);
  // The key prefix of inline data, which a store may leave to its caller to check
  // (RocksDbStoreOptions::caller_checked_prefix: the inode holds the CRC32C).
  static std::string InlinePrefix();

  // ---- orphans: unlinked subtrees awaiting collection ----
  static void PutOrphan(WriteBatch& batch, const proto::Inode& directory);
  static void DeleteOrphan(WriteBatch& batch, InodeId id);
  // The orphan with the smallest id; nullopt when there is none.
  Result<std::optional<InodeId>> FirstOrphan();

  // ---- block records ----
  static void PutBlock(WriteBatch& batch, const proto::StoredBlock& block);
  static void DeleteBlock(WriteBatch& batch, BlockId id);
  // Every block record in block id order, read in pages of kStoreScanPageEntries (limits.h).
  Status ForEachBlock(const std::function<void(const proto::StoredBlock&)>& visit);

  // ---- counters (IdAllocator's reservations) ----
  // The namespace's counters.
  static constexpr std::string_view kInodeIdCounter = "inode";
  static constexpr std::string_view kBlockIdCounter = "block";
  static constexpr std::string_view kGenerationStampCounter = "generation";
  static void PutCounter(WriteBatch& batch, std::string_view name, uint64_t value);
  // kNotFound when the counter was never written.
  Result<uint64_t> GetCounter(std::string_view name);

  // ---- datanodes' stable ids, by storage id ----
  static void PutDatanodeId(WriteBatch& batch, std::string_view storage_id, uint64_t id);
  // kNotFound when the storage id was never registered.
  Result<uint64_t> GetDatanodeId(std::string_view storage_id);

  // ---- the journal's position (HA, journaled_store.h): the last entry applied ----
  static void PutAppliedSeq(WriteBatch& batch, uint64_t seq);
  // 0 when no entry was ever applied (a store without a journal, or a new one).
  Result<uint64_t> GetAppliedSeq();
  // The mark of a store being filled from another namenode's checkpoint: present from before
  // the first copied record until after the last, so that a copy cut short is never taken
  // for a store (store_checkpoint.h).
  static void PutBootstrapMark(WriteBatch& batch);
  static void DeleteBootstrapMark(WriteBatch& batch);
  static std::string BootstrapMarkKey();
  Result<bool> HasBootstrapMark();

  // ---- lock names (LockManager): not stored, but named in the same space ----
  static std::string InodeLockName(InodeId id);
  static std::string EntryLockName(const EntryName& entry);

  // ---- whole-store walks ----
  static RecordKey Classify(std::string_view key);
  // A location record's value; kCorruption when it is too short to be one.
  static Result<EntryName> DecodeLocation(std::string_view value);

 private:
  MetaStore& store_;
};

}  // namespace granary
