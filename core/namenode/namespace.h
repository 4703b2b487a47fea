// The namespace: directories, files and their attributes, stored in the MetaStore
// (DESIGN.md §5, 5b). Block placement and replicas are the BlockManager's; this class keeps
// only what is durable: inodes, inline bytes, block lists and block records.
//
// Consistency:
//   - Every mutation is one atomic MetaStore batch, written before the call returns.
//   - Reads (Stat, List, Open) run on a MetaStore snapshot: a path resolves entirely in the
//     old tree or entirely in the new one, and one List page is one point in time.
//   - Mutations take HopsFS-style locks (lock_manager.h): shared on every directory they
//     traverse, exclusive on the entries and inodes they change. After locking they resolve
//     the path again; if it changed meanwhile they start over (bounded by kRetryAttemptsMax).
//   - Deleting a directory unlinks it in one batch (readers see it gone at once) and records
//     it as an orphan; CollectOrphans removes the unlinked subtree later in bounded batches,
//     after a restart too.
//   - Files are also addressed by inode id (MutateFile), so a writer is unaffected by a
//     rename of its file; a file that is no longer reachable from the root is kNotFound.
// Permissions: POSIX bits of the user's class (permission.h): execute on each traversed
// directory, write+execute on a directory whose entries change, read to open or list;
// chmod by the owner, chown by the superuser (group by an owner who is a member).
#pragma once

#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/namenode/id_allocator.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/lock_manager.h"
#include "core/namenode/path.h"
#include "core/namenode/permission.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

using User = proto::UserContext;

struct NamespaceOptions {
  PermissionPolicy permissions;
  // Files up to this many bytes keep their data with their inode; 0 disables inline files.
  uint64_t inline_threshold_bytes = 64 * 1024;
  uint32_t default_replication = 3;
  uint64_t default_block_bytes = 128ull * 1024 * 1024;
  // Directory inodes kept in memory by their entry (parent id, name), so that resolving a
  // path reads the store once per component not cached (in practice: once, for the file).
  // 0: no cache, every component is read from the store. At most kDirectoryCacheEntriesMax.
  uint32_t directory_cache_entries = 0;
};

struct CreateArgs {
  uint32_t mode = 0;  // 0: the default
  bool overwrite = false;
  uint32_t replication = 0;  // 0: the default
  uint64_t block_bytes = 0;  // 0: the default
  std::string client_name;   // required unless complete
  bool complete = false;     // the whole file is in inline_data; close it at once
  bool create_parents = false;
  std::string inline_data;
  // Whether the lease of another writer has passed its soft limit: an overwriting create may
  // then take the file over. Unset: never.
  std::function<bool(const std::string& holder)> lease_soft_expired;
};

// Blocks a mutation cut loose from the namespace, for the block manager to forget and the
// datanodes to delete.
struct ReleasedBlocks {
  std::vector<proto::BlockRef> blocks;
};

struct NamespaceCounts {
  uint64_t files = 0;
  uint64_t directories = 0;
};

class Namespace {
 public:
  Namespace(Env& env, MetaStore& store, NamespaceOptions options);

  // Creates the root on a new store; loads counters, id reservations and counts otherwise.
  // `under_construction` receives the files left open by writers before a restart.
  Status Load(std::vector<proto::Inode>* under_construction);

  const NamespaceOptions& options() const { return options_; }
  NamespaceCounts counts() const { return counts_; }

  // ---- reads ----
  Result<proto::FileStatus> Stat(const User& user, std::string_view path);
  struct ListPage {
    std::vector<proto::FileStatus> entries;
    bool has_more = false;
  };
  // Entries after `start_after` in name order, at most `limit` (0 or more than
  // kListPageEntriesMax: kListPageEntriesMax). A file lists as itself.
  Result<ListPage> List(const User& user, std::string_view path, std::string_view start_after,
                        uint32_t limit);
  struct OpenResult {
    proto::Inode inode;
    std::string inline_data;
  };
  Result<OpenResult> Open(const User& user, std::string_view path);
  // One point in time for many opens (nn.OpenMany): a snapshot, and the directories
  // resolved on it so far, so that the files of one directory resolve it once. Holds at
  // most one resolved directory per path opened through it.
  class OpenView;
  std::shared_ptr<OpenView> NewOpenView();
  // Open on `view`'s snapshot: the same answer, checks and errors as Open at that instant.
  // With `inline_out`, an inline file's bytes are appended to it (checked, as always, against
  // the inode's CRC32C) instead of returned in OpenResult::inline_data; on any error it is
  // left as it was.
  Result<OpenResult> Open(const User& user, std::string_view path, OpenView& view,
                          std::string* inline_out = nullptr);

  // ---- mutations ----
  Status Mkdirs(const User& user, std::string_view path, uint32_t mode, bool create_parents);
  Result<proto::Inode> Create(const User& user, std::string_view path, const CreateArgs& args,
                              ReleasedBlocks* released);
  Status Delete(const User& user, std::string_view path, bool recursive, ReleasedBlocks* released);
  Status Rename(const User& user, std::string_view source, std::string_view destination,
                ReleasedBlocks* released);
  Status SetPermission(const User& user, std::string_view path, uint32_t mode);
  Status SetOwner(const User& user, std::string_view path, const std::string& owner,
                  const std::string& group);
  Result<proto::Inode> SetReplication(const User& user, std::string_view path,
                                      uint32_t replication);

  // Runs `mutate` on the current record of file `id` under its exclusive lock, then commits
  // the edited inode and whatever `mutate` added to the batch in one write. kNotFound when
  // the file is gone or unreachable; kIsADirectory for a directory.
  using FileMutation = std::function<Status(proto::Inode& inode, WriteBatch& batch)>;
  Result<proto::Inode> MutateFile(InodeId id, const FileMutation& mutate);
  // The current record of inode `id`; kNotFound when it is gone or unreachable from the root
  // (below a deleted directory whose subtree is not collected yet).
  Result<proto::Inode> GetFile(InodeId id);

  // Removes up to about `budget` entries of unlinked subtrees; returns how many it removed.
  // Each store batch stays within kMetaBatchOpsMax; concurrent calls take turns.
  Result<size_t> CollectOrphans(size_t budget, ReleasedBlocks* released);

  // Every stored block record, in block id order (for rebuilding the block map).
  Status ForEachBlock(const std::function<void(const proto::StoredBlock&)>& visit);

  IdAllocator& block_ids() { return block_ids_; }
  IdAllocator& generation_stamps() { return generation_stamps_; }

  static proto::FileStatus ToStatus(const proto::Inode& inode);

 private:
  // A path resolved component by component: inodes[0] is the root, inodes[i] the inode of
  // components[i-1]. Resolution stops at the first missing component, and at a file that
  // has components after it (`blocked`: the path goes through a file).
  // The directory cache holds what the store's latest committed state says of directory
  // entries. Every namespace write goes through Commit, which empties the cache before its
  // batch is submitted, counts itself in writes_in_flight_ until it returns (the store may
  // apply the batch at any point of that window) and then advances cache_epoch_. A reader takes a
  // ticket when it takes its snapshot (or starts reading the latest state) and may use, or fill,
  // the cache only while no write has started since: then the cache, its snapshot and the store's
  // latest state agree. So a path never resolves partly through the cache and partly through a
  // different point in time. The cache is a copy of durable state only; a restart starts with it
  // empty.
  struct CacheTicket {  // {} (value-initialized): not usable
    uint64_t epoch;
    bool usable;
  };
  CacheTicket TakeCacheTicket() const {
    return {cache_epoch_, options_.directory_cache_entries > 0 && writes_in_flight_ == 0};
  }
  bool CacheValid(const CacheTicket& ticket) const {
    return ticket.usable && ticket.epoch == cache_epoch_ && writes_in_flight_ == 0;
  }
  // store_.Write for every batch that may touch a directory entry (see above).
  Status Commit(const WriteBatch& batch);

  struct Chain {
    std::vector<proto::Inode> inodes;
    bool blocked = false;
    bool found(const ParsedPath& path) const { return inodes.size() == path.components.size() + 1; }
    const proto::Inode& last() const { return inodes.back(); }
    bool SameIds(const Chain& other) const;
  };
  // On `snapshot` (null: the latest state), using the directory cache as `ticket` allows.
  Result<Chain> Resolve(const ParsedPath& path, const Snapshot* snapshot, CacheTicket ticket);
  // The same with a ticket taken now: for a snapshot taken just before, with no suspension
  // between, or for the latest state.
  Result<Chain> Resolve(const ParsedPath& path, const Snapshot* snapshot) {
    return Resolve(path, snapshot, TakeCacheTicket());
  }
  // The rest of Open once `path` is resolved on `snapshot`: to `chain` (as Resolve returns
  // it) when `leaf` is null; else to `chain` (the complete chain of the path's parent, a
  // directory) and the path's own inode `leaf`, which is moved into the result.
  Result<OpenResult> OpenResolved(const User& user, const ParsedPath& path, const Chain& chain,
                                  proto::Inode* leaf, const Snapshot* snapshot,
                                  std::string* inline_out = nullptr);
  // Execute permission on every directory the chain passes through before `upto`; then
  // kNotADirectory when the chain is blocked by a file. Permission comes first, so that a
  // user who may not search a directory learns nothing of what is in it.
  Status CheckTraverse(const User& user, const Chain& chain, size_t upto,
                       const ParsedPath& path) const;
  Result<proto::Inode> ReadEntry(uint64_t parent, std::string_view name, const Snapshot* snapshot,
                                 CacheTicket ticket = {});
  Result<bool> HasChildren(uint64_t directory);
  // The chain of inode ids from the root to `id`, by the location index; kNotFound when
  // some link is missing (the inode is unlinked).
  Result<std::vector<uint64_t>> AncestorIds(uint64_t id);
  // The record of inode `id` through its location key, reachable or not.
  Result<proto::Inode> ReadById(uint64_t id);
  proto::Inode NewInode(uint64_t id, uint64_t parent, const std::string& name,
                        proto::InodeType type, const User& user, const proto::Inode& parent_inode,
                        uint32_t mode);
  void PutInode(WriteBatch& batch, const proto::Inode& inode);
  // Adds the removal of a file's data and block records to `batch`.
  void DropFileData(WriteBatch& batch, const proto::Inode& file, ReleasedBlocks* released);
  // Attribute changes share this path: lock the entry, check, edit, write.
  Result<proto::Inode> MutateEntry(const User& user, std::string_view path,
                                   const std::function<Status(proto::Inode&)>& edit);

  Env& env_;
  MetaStore& store_;
  const NamespaceOptions options_;
  InodeStore records_;
  LockManager locks_;
  IdAllocator inode_ids_;
  IdAllocator block_ids_;
  IdAllocator generation_stamps_;
  NamespaceCounts counts_;
  // Two collectors working on the same orphan would remove (and count, and release) its
  // children twice.
  boost::fibers::mutex collect_mutex_;
  // Directory inodes by entry, in entry key order; see CacheTicket.
  std::map<EntryName, proto::Inode> directory_cache_;
  uint64_t cache_epoch_ = 0;
  uint32_t writes_in_flight_ = 0;
};

}  // namespace granary
