// NamespaceReader: the namespace's read side (namespace.h is the facade). It resolves paths,
// keeps the directory cache, answers Stat, List and Open, and holds the open views of
// nn.OpenMany. The write side (NamespaceWriter) and the orphan collector resolve through it and
// write through its Commit, the one door by which a namespace batch reaches the store.
//
// The directory cache holds what the store's latest committed state says of directory
// entries. Commit empties the cache before its batch is submitted, counts itself in
// writes_in_flight_ until it returns (the store may apply the batch at any point of that
// window) and then advances cache_epoch_. A reader takes a ticket when it takes its snapshot
// (or starts reading the latest state) and may use, or fill, the cache only while no write has
// started since: then the cache, its snapshot and the store's latest state agree. So a path
// never resolves partly through the cache and partly through a different point in time. The
// cache is a copy of durable state only; a restart starts with it empty.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/path.h"
#include "core/common/status.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namespace_types.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

class NamespaceReader {
 public:
  // `records` and `options` must outlive the reader.
  NamespaceReader(InodeStore& records, const NamespaceOptions& options);

  // ---- the reads of the namespace (Namespace forwards them; see namespace.h) ----
  Result<proto::FileStatus> Stat(const User& user, std::string_view path);
  Result<ListPage> List(const User& user, std::string_view path, std::string_view start_after,
                        uint32_t limit);
  Result<OpenResult> Open(const User& user, std::string_view path);
  class OpenView;
  std::shared_ptr<OpenView> NewOpenView();
  Result<OpenResult> Open(const User& user, std::string_view path, OpenView& view,
                          std::string* inline_out = nullptr);
  Result<proto::Inode> GetFile(InodeId id);
  static proto::FileStatus ToStatus(const proto::Inode& inode);

  // ---- for the write side ----
  // Writes `batch`, keeping the directory cache valid (see above). Every batch that may touch
  // a directory entry goes through here.
  Status Commit(const WriteBatch& batch);

  struct CacheTicket {  // {} (value-initialized): not usable
    uint64_t epoch;
    bool usable;
  };
  CacheTicket TakeCacheTicket() const {
    return {cache_epoch_, options_.directory_cache_entries > 0 && writes_in_flight_ == 0};
  }

  // A path resolved component by component: inodes[0] is the root, inodes[i] the inode of
  // components[i-1]. Resolution stops at the first missing component, and at a file that
  // has components after it (`blocked`: the path goes through a file).
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
  // Execute permission on every directory the chain passes through before `upto`; then
  // kNotADirectory when the chain is blocked by a file. Permission comes first, so that a
  // user who may not search a directory learns nothing of what is in it.
  Status CheckTraverse(const User& user, const Chain& chain, size_t upto,
                       const ParsedPath& path) const;
  Result<bool> HasChildren(InodeId directory);
  // The chain of inode ids from the root to `id`, by the location index; kNotFound when
  // some link is missing (the inode is unlinked).
  Result<std::vector<InodeId>> AncestorIds(InodeId id);
  // The record of inode `id` through its location record, reachable or not.
  Result<proto::Inode> ReadById(InodeId id);

 private:
  bool CacheValid(const CacheTicket& ticket) const {
    return ticket.usable && ticket.epoch == cache_epoch_ && writes_in_flight_ == 0;
  }
  Result<proto::Inode> ReadEntry(InodeId parent, std::string_view name, const Snapshot* snapshot,
                                 CacheTicket ticket = {});
  // The rest of Open once `path` is resolved on `snapshot`: to `chain` (as Resolve returns
  // it) when `leaf` is null; else to `chain` (the complete chain of the path's parent, a
  // directory) and the path's own inode `leaf`, which is moved into the result.
  Result<OpenResult> OpenResolved(const User& user, const ParsedPath& path, const Chain& chain,
                                  proto::Inode* leaf, const Snapshot* snapshot,
                                  std::string* inline_out = nullptr);

  InodeStore& records_;
  const NamespaceOptions& options_;
  // Directory inodes by entry, in entry key order; at most directory_cache_entries.
  std::map<EntryName, proto::Inode> directory_cache_;
  uint64_t cache_epoch_ = 0;
  uint32_t writes_in_flight_ = 0;
};

}  // namespace granary
