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
// The pieces: NamespaceReader (resolution, the directory cache, Stat/List/Open and open
// views), NamespaceWriter (the mutations), OrphanCollector, over InodeStore (the stored
// format). This class owns them, the id allocators and the counts, loads a store at start,
// and is what the namenode uses.
// Permissions: POSIX bits of the user's class (permission.h): execute on each traversed
// directory, write+execute on a directory whose entries change, read to open or list;
// chmod by the owner, chown by the superuser (group by an owner who is a member).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/list_page.h"
#include "core/common/path.h"
#include "core/common/status.h"
#include "core/namenode/id_allocator.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namespace_reader.h"
#include "core/namenode/namespace_types.h"
#include "core/namenode/namespace_writer.h"
#include "core/namenode/orphan_collector.h"
#include "core/namenode/permission.h"
#include "core/namenode/quota_tracker.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

class Namespace {
 public:
  using ListPage = granary::ListPage;
  using OpenResult = granary::OpenResult;
  using OpenView = NamespaceReader::OpenView;
  using FileMutation = NamespaceWriter::FileMutation;

  Namespace(Env& env, MetaStore& store, NamespaceOptions options);

  // Creates the root on a new store; loads counters, id reservations and counts otherwise.
  // `under_construction` receives the files left open by writers before a restart.
  Status Load(std::vector<proto::Inode>* under_construction);

  const NamespaceOptions& options() const { return options_; }
  NamespaceCounts counts() const { return counts_; }

  // ---- reads ----
  Result<proto::FileStatus> Stat(const User& user, std::string_view path) {
    return reader_.Stat(user, path);
  }
  // Entries after `start_after` in name order, at most `limit` (0 or more than
  // kListPageEntriesMax: kListPageEntriesMax). A file lists as itself.
  Result<ListPage> List(const User& user, std::string_view path, std::string_view start_after,
                        uint32_t limit) {
    return reader_.List(user, path, start_after, limit);
  }
  Result<OpenResult> Open(const User& user, std::string_view path) {
    return reader_.Open(user, path);
  }
  // One point in time for many opens (nn.OpenMany): a snapshot, and the directories
  // resolved on it so far, so that the files of one directory resolve it once. Holds at
  // most one resolved directory per path opened through it.
  std::shared_ptr<OpenView> NewOpenView() { return reader_.NewOpenView(); }
  // Open on `view`'s snapshot: the same answer, checks and errors as Open at that instant.
  // With `inline_out`, an inline file's bytes are appended to it (checked, as always, against
  // the inode's CRC32C) instead of returned in OpenResult::inline_data; on any error it is
  // left as it was.
  Result<OpenResult> Open(const User& user, std::string_view path, OpenView& view,
                          std::string* inline_out = nullptr) {
    return reader_.Open(user, path, view, inline_out);
  }

  // ---- mutations ----
  Status Mkdirs(const User& user, std::string_view path, uint32_t mode, bool create_parents) {
    return writer_.Mkdirs(user, path, mode, create_parents);
  }
  Result<proto::Inode> Create(const User& user, std::string_view path, const CreateArgs& args,
                              ReleasedBlocks* released) {
    return writer_.Create(user, path, args, released);
  }
  Status Delete(const User& user, std::string_view path, bool recursive, ReleasedBlocks* released) {
    return writer_.Delete(user, path, recursive, released);
  }
  Status Rename(const User& user, std::string_view source, std::string_view destination,
                ReleasedBlocks* released) {
    return writer_.Rename(user, source, destination, released);
  }
  Status SetPermission(const User& user, std::string_view path, uint32_t mode) {
    return writer_.SetPermission(user, path, mode);
  }
  Status SetTimes(const User& user, std::string_view path, int64_t mtime_ns, int64_t atime_ns) {
    return writer_.SetTimes(user, path, mtime_ns, atime_ns);
  }
  Status SetOwner(const User& user, std::string_view path, const std::string& owner,
                  const std::string& group) {
    return writer_.SetOwner(user, path, owner, group);
  }
  Result<proto::Inode> SetReplication(const User& user, std::string_view path,
                                      uint32_t replication) {
    return writer_.SetReplication(user, path, replication);
  }

  // ---- quotas (quota_tracker.h) ----
  // Sets (a field present), changes or clears (`clear`, or both limits 0) the quota of
  // directory `path`: the superuser only. The subtree's usage is measured under the
  // directory's exclusive lock; a limit below it is allowed (HDFS too) and refuses growth.
  Status SetQuota(const User& user, std::string_view path, std::optional<uint64_t> names_max,
                  std::optional<uint64_t> bytes_max, bool clear);
  struct QuotaReport {
    bool has_quota = false;
    QuotaState state;  // limits 0 without a quota; usage measured then (may be a moment old)
  };
  // Anyone who may stat `path`.
  Result<QuotaReport> GetQuota(const User& user, std::string_view path);
  const QuotaTracker& quotas() const { return quotas_; }

  // Runs `mutate` on the current record of file `id` under its exclusive lock, then commits
  // the edited inode and whatever `mutate` added to the batch in one write (through
  // InodeStore's typed puts). kNotFound when the file is gone or unreachable; kIsADirectory
  // for a directory.
  Result<proto::Inode> MutateFile(InodeId id, const FileMutation& mutate) {
    return writer_.MutateFile(id, mutate);
  }
  // The current record of inode `id`; kNotFound when it is gone or unreachable from the root
  // (below a deleted directory whose subtree is not collected yet).
  Result<proto::Inode> GetFile(InodeId id) { return reader_.GetFile(id); }

  // Removes up to about `budget` entries of unlinked subtrees; returns how many it removed.
  // Each store batch stays within kMetaBatchOpsMax; concurrent calls take turns.
  Result<size_t> CollectOrphans(size_t budget, ReleasedBlocks* released) {
    return collector_.Collect(budget, released);
  }

  // Every stored block record, in block id order (for rebuilding the block map).
  Status ForEachBlock(const std::function<void(const proto::StoredBlock&)>& visit) {
    return records_.ForEachBlock(visit);
  }

  IdAllocator& block_ids() { return block_ids_; }
  IdAllocator& generation_stamps() { return generation_stamps_; }

  static proto::FileStatus ToStatus(const proto::Inode& inode) {
    return NamespaceReader::ToStatus(inode);
  }

 private:
  // Measures the quota'd directories found at load (those still reachable) and tracks them.
  Status LoadQuotas(const std::vector<proto::Inode>& directories);

  Env& env_;
  const NamespaceOptions options_;
  InodeStore records_;
  IdAllocator inode_ids_;
  IdAllocator block_ids_;
  IdAllocator generation_stamps_;
  NamespaceCounts counts_;
  QuotaTracker quotas_;
  NamespaceReader reader_;
  NamespaceWriter writer_;
  OrphanCollector collector_;
};

}  // namespace granary
