// NamespaceWriter: the namespace's write side (namespace.h is the facade): creating, deleting,
// renaming and changing the attributes of directories and files, and the by-id file mutations
// of the block-write protocol.
//
// Every mutation is one atomic batch, written through NamespaceReader::Commit (which keeps
// the directory cache valid) before the call returns. Mutations take HopsFS-style locks
// (lock_manager.h): shared on every directory they traverse, exclusive on the entries and
// inodes they change. After locking they resolve the path again; if it changed meanwhile they
// start over (bounded by kRetryAttemptsMax). A mutation never moves an inode except Rename, and
// never hands out an id twice (IdAllocator).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "core/common/ids.h"
#include "core/common/path.h"
#include "core/common/status.h"
#include "core/namenode/id_allocator.h"
#include "core/namenode/lock_manager.h"
#include "core/namenode/namespace_reader.h"
#include "core/namenode/namespace_types.h"
#include "core/namenode/quota_tracker.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

class NamespaceWriter {
 public:
  // Everything passed in must outlive the writer; `counts` and `quotas` are kept up to date
  // (every mutation charges its quota'd ancestors; kQuotaExceeded refuses it unchanged).
  NamespaceWriter(Env& env, NamespaceReader& reader, const NamespaceOptions& options,
                  IdAllocator& inode_ids, NamespaceCounts& counts, QuotaTracker& quotas);

  // The mutations of the namespace (Namespace forwards them; see namespace.h). `released`
  // receives the blocks of the files a mutation removed only when it committed: a refused
  // one (kQuotaExceeded, a store error) leaves every file and its blocks as they were.
  Status Mkdirs(const User& user, std::string_view path, uint32_t mode, bool create_parents);
  Result<proto::Inode> Create(const User& user, std::string_view path, const CreateArgs& args,
                              ReleasedBlocks* released);
  Status Delete(const User& user, std::string_view path, bool recursive, ReleasedBlocks* released);
  Status Rename(const User& user, std::string_view source, std::string_view destination,
                ReleasedBlocks* released);
  Status SetPermission(const User& user, std::string_view path, uint32_t mode);
  // Times in nanoseconds since the epoch, -1 for "unchanged". The owner and the superuser
  // may set any time; others with write permission on the entry too (POSIX lets them set
  // "now", and a client's "now" arrives as a time).
  Status SetTimes(const User& user, std::string_view path, int64_t mtime_ns, int64_t atime_ns);
  Status SetOwner(const User& user, std::string_view path, const std::string& owner,
                  const std::string& group);
  Result<proto::Inode> SetReplication(const User& user, std::string_view path,
                                      uint32_t replication);

  // Runs `mutate` on the current record of file `id` under its exclusive lock, then commits
  // the edited inode and whatever `mutate` added to the batch in one write. `mutate` may not
  // change the inode's id, parent or name. kNotFound when the file is gone or unreachable;
  // kIsADirectory for a directory.
  using FileMutation = std::function<Status(proto::Inode& inode, WriteBatch& batch)>;
  Result<proto::Inode> MutateFile(InodeId id, const FileMutation& mutate);

  // Attribute changes share this path: lock the entry (exclusive on its inode, shared on the
  // directories above), resolve again, check traversal, `edit`, charge the change of the
  // entry's bytes to its quota'd ancestors, write. `edit` may not move the inode.
  Result<proto::Inode> MutateEntry(const User& user, std::string_view path,
                                   const std::function<Status(proto::Inode&)>& edit);

  // "/a/b" of inode `id` (for messages); "inode N" when it cannot be found.
  std::string PathOf(InodeId id);

 private:
  struct FileShape {
    uint32_t replication;
    uint64_t block_bytes;
  };
  // The replication and block size a create asks for, defaults applied; kInvalidArgument
  // for arguments past their limits.
  Result<FileShape> CheckCreateArgs(const CreateArgs& args) const;
  // The rest of Rename under the locks taken for the chains `from` and `to`: false when they
  // changed before the locks were held (start over).
  Result<bool> RenameLocked(const User& user, const ParsedPath& src, const ParsedPath& dst,
                            const NamespaceReader::Chain& from, const NamespaceReader::Chain& to,
                            ReleasedBlocks* released);
  // Charges `charges`, writes `batch`, and gives the charges back when the write fails.
  Status CommitCharged(const WriteBatch& batch, const QuotaCharges& charges);
  // Stops tracking quota'd directories no longer reachable (below a deleted directory).
  void ForgetUnreachableQuotas();
  // The next unused inode id (IdAllocator "inode").
  Result<InodeId> NextInodeId();
  // A new file `name` in directory `parent_inode` as `args` and `shape` ask.
  proto::Inode NewFile(InodeId id, const std::string& name, const User& user,
                       const proto::Inode& parent_inode, const CreateArgs& args,
                       const FileShape& shape);
  // A new inode `name` in directory `parent_inode`, owned by `user`, made now.
  proto::Inode NewInode(InodeId id, const std::string& name, proto::InodeType type,
                        const User& user, const proto::Inode& parent_inode, uint32_t mode);

  Env& env_;
  NamespaceReader& reader_;
  const NamespaceOptions& options_;
  IdAllocator& inode_ids_;
  NamespaceCounts& counts_;
  QuotaTracker& quotas_;
  LockManager locks_;
};

}  // namespace granary
