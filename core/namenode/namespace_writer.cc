#include "core/namenode/namespace_writer.h"

#include <algorithm>
#include <cassert>

#include "core/common/crc32c.h"
#include "core/common/limits.h"

namespace granary {
namespace {

using namespace_detail::DropFileData;
using namespace_detail::IsDirectory;
using namespace_detail::NotFound;
using namespace_detail::ParentPathOf;
using Chain = NamespaceReader::Chain;

// Hands the blocks a mutation dropped to the caller once its batch committed: a mutation
// refused or failed after DropFileData (a quota, the store) keeps its file, whose blocks the
// block manager must not forget nor the datanodes delete.
void HandOver(ReleasedBlocks& dropped, ReleasedBlocks* released) {
  if (released == nullptr) return;
  released->blocks.insert(released->blocks.end(), dropped.blocks.begin(), dropped.blocks.end());
  dropped.blocks.clear();
}

Status ValidateMode(uint32_t mode) {
  if (mode > kModeBitsMax) return Status(StatusCode::kInvalidArgument, "mode beyond 07777");
  return Status::Ok();
}

}  // namespace

NamespaceWriter::NamespaceWriter(Env& env, NamespaceReader& reader, const NamespaceOptions& options,
                                 IdAllocator& inode_ids, NamespaceCounts& counts,
                                 QuotaTracker& quotas)
    : env_(env),
      reader_(reader),
      options_(options),
      inode_ids_(inode_ids),
      counts_(counts),
      quotas_(quotas) {
  assert(options_.inline_threshold_bytes <= kInlineThresholdBytesMax);
}

std::string NamespaceWriter::PathOf(InodeId id) {
  std::string path;
  InodeId at = id;
  for (size_t depth = 0; at != kRootInodeId && depth <= kPathDepthMax; ++depth) {
    Result<proto::Inode> inode = reader_.ReadById(at);
    if (!inode.ok()) return "inode " + std::to_string(id.value());
    path = "/" + inode->name() + path;
    at = InodeId(inode->parent_id());
  }
  return path.empty() ? "/" : path;
}

Status NamespaceWriter::CommitCharged(const WriteBatch& batch, const QuotaCharges& charges) {
  GRANARY_RETURN_IF_ERROR(quotas_.Charge(charges, [this](InodeId id) { return PathOf(id); }));
  const Status committed = reader_.Commit(batch);
  if (!committed.ok()) quotas_.Undo(charges);
  return committed;
}

void NamespaceWriter::ForgetUnreachableQuotas() {
  for (InodeId id : quotas_.Ids()) {
    Result<std::vector<InodeId>> ancestors = reader_.AncestorIds(id);
    if (ancestors.code() == StatusCode::kNotFound) quotas_.Clear(id);
  }
}

Result<InodeId> NamespaceWriter::NextInodeId() {
  GRANARY_ASSIGN_OR_RETURN(const uint64_t id, inode_ids_.Next());
  return InodeId(id);
}

proto::Inode NamespaceWriter::NewInode(InodeId id, const std::string& name, proto::InodeType type,
                                       const User& user, const proto::Inode& parent_inode,
                                       uint32_t mode) {
  // Fresh ids only, below a directory.
  assert(id > kRootInodeId);
  assert(IsDirectory(parent_inode));
  proto::Inode inode;
  inode.set_id(id.value());
  inode.set_parent_id(parent_inode.id());
  inode.set_name(name);
  inode.set_type(type);
  inode.set_owner(user.user());
  // BSD semantics, as HDFS: a new inode takes its directory's group.
  inode.set_group(parent_inode.group());
  inode.set_mode(mode);
  const int64_t now = env_.CalendarNanos();
  inode.set_mtime_ns(now);
  inode.set_atime_ns(now);
  return inode;
}

Status NamespaceWriter::Mkdirs(const User& user, std::string_view path, uint32_t mode,
                               bool create_parents) {
  GRANARY_RETURN_IF_ERROR(ValidateMode(mode));
  if (mode == 0) mode = kDirectoryModeDefault;
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, reader_.Resolve(parsed, nullptr));
    // Search permission on every existing directory down to the one that gets the new entry;
    // a directory that exists already needs none on itself.
    const size_t searched = chain.found(parsed) ? chain.inodes.size() - 1 : chain.inodes.size();
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, chain, searched, parsed));
    if (chain.found(parsed)) {
      if (IsDirectory(chain.last())) return Status::Ok();
      return Status(StatusCode::kAlreadyExists, parsed.normalized + " is a file");
    }
    const size_t depth = chain.inodes.size() - 1;  // components that exist
    if (!IsDirectory(chain.last())) {
      return Status(StatusCode::kNotADirectory, ParentPathOf(parsed, depth));
    }
    if (!create_parents && depth + 1 < parsed.components.size()) {
      return Status(StatusCode::kNotFound, ParentPathOf(parsed, parsed.components.size() - 1));
    }
    std::vector<LockRequest> wanted;
    for (const proto::Inode& dir : chain.inodes) {
      wanted.push_back({InodeStore::InodeLockName(InodeId(dir.id())), LockMode::kShared});
    }
    wanted.push_back(
        {InodeStore::EntryLockName({InodeId(chain.last().id()), parsed.components[depth]}),
         LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    GRANARY_ASSIGN_OR_RETURN(Chain again, reader_.Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    // Check what was read under the locks: a chmod may have landed before they were taken.
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, again, searched, parsed));
    const proto::Inode& parent = again.last();
    GRANARY_RETURN_IF_ERROR(
        options_.permissions.Check(user, parent, Access::kWrite, ParentPathOf(parsed, depth)));
    WriteBatch batch;
    proto::Inode above = parent;
    for (size_t i = depth; i < parsed.components.size(); ++i) {
      GRANARY_ASSIGN_OR_RETURN(const InodeId id, NextInodeId());
      proto::Inode dir =
          NewInode(id, parsed.components[i], proto::INODE_TYPE_DIRECTORY, user, above, mode);
      InodeStore::PutInode(batch, dir);
      above = std::move(dir);
    }
    const auto made = static_cast<int64_t>(parsed.components.size() - depth);
    GRANARY_RETURN_IF_ERROR(CommitCharged(
        batch, quotas_.ChargesFor(again.inodes, again.inodes.size(), QuotaDelta{made, 0})));
    counts_.directories += parsed.components.size() - depth;
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

proto::Inode NamespaceWriter::NewFile(InodeId id, const std::string& name, const User& user,
                                      const proto::Inode& parent_inode, const CreateArgs& args,
                                      const FileShape& shape) {
  proto::Inode file = NewInode(id, name, proto::INODE_TYPE_FILE, user, parent_inode,
                               args.mode ? args.mode : kFileModeDefault);
  file.set_replication(shape.replication);
  file.set_block_bytes(shape.block_bytes);
  file.set_inline_data(options_.inline_threshold_bytes > 0);
  file.set_length_bytes(args.inline_data.size());
  if (file.inline_data()) file.set_inline_crc32c(Crc32c(args.inline_data));
  if (!args.complete) {
    file.set_under_construction(true);
    file.set_lease_holder(args.client_name);
  }
  // A file's inline bytes fit the threshold and match its length (checked on every open).
  assert(args.inline_data.size() <= options_.inline_threshold_bytes);
  assert(file.length_bytes() == args.inline_data.size());
  return file;
}

Result<NamespaceWriter::FileShape> NamespaceWriter::CheckCreateArgs(const CreateArgs& args) const {
  const uint32_t replication = args.replication ? args.replication : options_.default_replication;
  if (replication < 1 || replication > kReplicationMax) {
    return Status(StatusCode::kInvalidArgument, "replication outside 1..kReplicationMax");
  }
  const uint64_t block_bytes = args.block_bytes ? args.block_bytes : options_.default_block_bytes;
  if (block_bytes < kChecksumChunkBytes || block_bytes > kBlockBytesMax ||
      block_bytes % kChecksumChunkBytes != 0) {
    return Status(StatusCode::kInvalidArgument,
                  "block size must be a multiple of 64 KiB up to kBlockBytesMax");
  }
  if (args.inline_data.size() > options_.inline_threshold_bytes) {
    return Status(StatusCode::kInvalidArgument, "inline data exceeds the inline threshold");
  }
  if (!args.complete && args.client_name.empty()) {
    return Status(StatusCode::kInvalidArgument, "a file left open needs a client name");
  }
  if (args.client_name.size() > kNameBytesMax) {
    return Status(StatusCode::kInvalidArgument, "client name too long");
  }
  return FileShape{replication, block_bytes};
}

Result<proto::Inode> NamespaceWriter::Create(const User& user, std::string_view path,
                                             const CreateArgs& args, ReleasedBlocks* released) {
  GRANARY_RETURN_IF_ERROR(ValidateMode(args.mode));
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  if (parsed.is_root()) return Status(StatusCode::kIsADirectory, "/");
  GRANARY_ASSIGN_OR_RETURN(const FileShape shape, CheckCreateArgs(args));
  if (args.create_parents && parsed.components.size() > 1) {
    std::string parent = ParentPathOf(parsed, parsed.components.size() - 1);
    const Status made = Mkdirs(user, parent, 0, true);
    // The parent exists as a file: the same answer as without create_parents.
    if (made.code() == StatusCode::kAlreadyExists) {
      return Status(StatusCode::kNotADirectory, parent);
    }
    GRANARY_RETURN_IF_ERROR(made);
  }
  const size_t depth = parsed.components.size();
  const std::string& name = parsed.components.back();
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, reader_.Resolve(parsed, nullptr));
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, chain, depth, parsed));
    if (chain.inodes.size() < depth) {
      return Status(StatusCode::kNotFound, ParentPathOf(parsed, depth - 1));
    }
    const bool exists = chain.found(parsed);
    const proto::Inode& parent = chain.inodes[depth - 1];
    if (!IsDirectory(parent)) {
      return Status(StatusCode::kNotADirectory, ParentPathOf(parsed, depth - 1));
    }
    std::vector<LockRequest> wanted;
    for (size_t i = 0; i < depth; ++i) {
      wanted.push_back(
          {InodeStore::InodeLockName(InodeId(chain.inodes[i].id())), LockMode::kShared});
    }
    wanted.push_back(
        {InodeStore::EntryLockName({InodeId(parent.id()), name}), LockMode::kExclusive});
    if (exists)
      wanted.push_back(
          {InodeStore::InodeLockName(InodeId(chain.last().id())), LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    GRANARY_ASSIGN_OR_RETURN(Chain again, reader_.Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, again, depth, parsed));
    const proto::Inode& locked_parent = again.inodes[depth - 1];
    GRANARY_RETURN_IF_ERROR(options_.permissions.Check(user, locked_parent, Access::kWrite,
                                                       ParentPathOf(parsed, depth - 1)));
    WriteBatch batch;
    ReleasedBlocks dropped;
    QuotaDelta delta{exists ? 0 : 1, 0};
    if (exists) {
      const proto::Inode& old = again.last();
      delta.bytes = -static_cast<int64_t>(QuotaTracker::ChargedBytes(old));
      if (IsDirectory(old)) return Status(StatusCode::kIsADirectory, parsed.normalized);
      if (!args.overwrite) return Status(StatusCode::kAlreadyExists, parsed.normalized);
      if (old.under_construction() && old.lease_holder() != args.client_name &&
          !(args.lease_soft_expired && args.lease_soft_expired(old.lease_holder()))) {
        return Status(StatusCode::kLeaseConflict,
                      parsed.normalized + " is being written by " + old.lease_holder());
      }
      DropFileData(batch, old, &dropped);
      InodeStore::DeleteLocation(batch, InodeId(old.id()));
    }
    GRANARY_ASSIGN_OR_RETURN(const InodeId id, NextInodeId());
    proto::Inode file = NewFile(id, name, user, locked_parent, args, shape);
    if (!args.inline_data.empty()) InodeStore::PutInline(batch, id, args.inline_data);
    InodeStore::PutInode(batch, file);
    delta.bytes += static_cast<int64_t>(QuotaTracker::ChargedBytes(file));
    if (args.before_commit) args.before_commit(file);
    GRANARY_RETURN_IF_ERROR(CommitCharged(batch, quotas_.ChargesFor(again.inodes, depth, delta)));
    HandOver(dropped, released);
    if (!exists) ++counts_.files;
    return file;
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Status NamespaceWriter::Delete(const User& user, std::string_view path, bool recursive,
                               ReleasedBlocks* released) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  if (parsed.is_root()) return Status(StatusCode::kInvalidArgument, "cannot delete /");
  const size_t depth = parsed.components.size();
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, reader_.Resolve(parsed, nullptr));
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, chain, depth, parsed));
    if (!chain.found(parsed)) return NotFound(parsed.normalized);
    const proto::Inode& parent = chain.inodes[depth - 1];
    std::vector<LockRequest> wanted;
    for (size_t i = 0; i < depth; ++i) {
      wanted.push_back(
          {InodeStore::InodeLockName(InodeId(chain.inodes[i].id())), LockMode::kShared});
    }
    wanted.push_back({InodeStore::EntryLockName({InodeId(parent.id()), chain.last().name()}),
                      LockMode::kExclusive});
    wanted.push_back({InodeStore::InodeLockName(InodeId(chain.last().id())), LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    GRANARY_ASSIGN_OR_RETURN(Chain again, reader_.Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, again, depth, parsed));
    GRANARY_RETURN_IF_ERROR(options_.permissions.Check(
        user, again.inodes[depth - 1], Access::kWrite, ParentPathOf(parsed, depth - 1)));
    const proto::Inode& target = again.last();
    WriteBatch batch;
    ReleasedBlocks dropped;
    InodeStore::DeleteEntry(batch, {InodeId(parent.id()), target.name()});
    InodeStore::DeleteLocation(batch, InodeId(target.id()));
    if (IsDirectory(target)) {
      GRANARY_ASSIGN_OR_RETURN(bool has_children, reader_.HasChildren(InodeId(target.id())));
      if (has_children) {
        if (!recursive) return Status(StatusCode::kDirectoryNotEmpty, parsed.normalized);
        InodeStore::PutOrphan(batch, target);
      }
    } else {
      DropFileData(batch, target, &dropped);
    }
    QuotaCharges charges = quotas_.ChargesFor(again.inodes, depth, QuotaDelta{-1, 0});
    if (!charges.empty()) {
      GRANARY_ASSIGN_OR_RETURN(const QuotaUsage gone, quotas_.SubtreeUsage(target));
      for (auto& [id, delta] : charges) {
        delta = QuotaDelta{-static_cast<int64_t>(gone.names), -static_cast<int64_t>(gone.bytes)};
      }
    }
    GRANARY_RETURN_IF_ERROR(CommitCharged(batch, charges));
    HandOver(dropped, released);
    if (IsDirectory(target) && !quotas_.empty()) ForgetUnreachableQuotas();
    if (IsDirectory(target)) {
      --counts_.directories;
    } else {
      --counts_.files;
    }
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Result<bool> NamespaceWriter::RenameLocked(const User& user, const ParsedPath& src,
                                           const ParsedPath& dst, const Chain& from,
                                           const Chain& to, ReleasedBlocks* released) {
  const size_t src_depth = src.components.size();
  const size_t dst_depth = dst.components.size();
  const proto::Inode& src_parent = from.inodes[src_depth - 1];
  const proto::Inode& dst_parent = to.inodes[dst_depth - 1];
  const bool replacing = to.found(dst);
  GRANARY_ASSIGN_OR_RETURN(Chain from_again, reader_.Resolve(src, nullptr));
  GRANARY_ASSIGN_OR_RETURN(Chain to_again, reader_.Resolve(dst, nullptr));
  if (!from_again.SameIds(from) || !to_again.SameIds(to)) return false;
  proto::Inode moving = from_again.last();
  // A directory may not move below itself, whatever the names say (ids are the truth).
  for (const proto::Inode& above : to_again.inodes) {
    if (above.id() == moving.id()) {
      return Status(StatusCode::kInvalidArgument,
                    "cannot move " + src.normalized + " into its own subtree");
    }
  }
  GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, from_again, src_depth, src));
  GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, to_again, dst_depth, dst));
  GRANARY_RETURN_IF_ERROR(options_.permissions.Check(
      user, from_again.inodes[src_depth - 1], Access::kWrite, ParentPathOf(src, src_depth - 1)));
  GRANARY_RETURN_IF_ERROR(options_.permissions.Check(
      user, to_again.inodes[dst_depth - 1], Access::kWrite, ParentPathOf(dst, dst_depth - 1)));
  GRANARY_ASSIGN_OR_RETURN(
      const QuotaCharges charges,
      quotas_.RenameCharges(
          from_again.inodes, src_depth, to_again.inodes, dst_depth, moving,
          replacing && to_again.last().id() != moving.id() ? &to_again.last() : nullptr));
  WriteBatch batch;
  ReleasedBlocks dropped;
  bool replaced_file = false;
  bool replaced_directory = false;
  if (replacing) {
    const proto::Inode& existing = to_again.last();
    if (existing.id() == moving.id()) return true;  // hard to reach: same inode
    if (IsDirectory(moving) && !IsDirectory(existing)) {
      return Status(StatusCode::kNotADirectory, dst.normalized);
    }
    if (!IsDirectory(moving) && IsDirectory(existing)) {
      return Status(StatusCode::kIsADirectory, dst.normalized);
    }
    if (IsDirectory(existing)) {
      GRANARY_ASSIGN_OR_RETURN(bool has_children, reader_.HasChildren(InodeId(existing.id())));
      if (has_children) return Status(StatusCode::kDirectoryNotEmpty, dst.normalized);
      replaced_directory = true;
    } else {
      if (existing.under_construction()) {
        return Status(StatusCode::kLeaseConflict, dst.normalized + " is being written");
      }
      DropFileData(batch, existing, &dropped);
      replaced_file = true;
    }
    InodeStore::DeleteLocation(batch, InodeId(existing.id()));
  }
  InodeStore::DeleteEntry(batch, {InodeId(src_parent.id()), moving.name()});
  moving.set_parent_id(dst_parent.id());
  moving.set_name(dst.components.back());
  InodeStore::PutInode(batch, moving);
  GRANARY_RETURN_IF_ERROR(CommitCharged(batch, charges));
  HandOver(dropped, released);
  if (replaced_file) --counts_.files;
  if (replaced_directory) --counts_.directories;
  if (replaced_directory) quotas_.Clear(InodeId(to_again.last().id()));
  return true;
}

Status NamespaceWriter::Rename(const User& user, std::string_view source,
                               std::string_view destination, ReleasedBlocks* released) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath src, ParsePath(source));
  GRANARY_ASSIGN_OR_RETURN(ParsedPath dst, ParsePath(destination));
  if (src.is_root() || dst.is_root()) {
    return Status(StatusCode::kInvalidArgument, "cannot rename / or onto /");
  }
  if (dst.components.size() > src.components.size() &&
      std::equal(src.components.begin(), src.components.end(), dst.components.begin())) {
    return Status(StatusCode::kInvalidArgument,
                  "cannot move " + src.normalized + " into its own subtree");
  }
  const size_t src_depth = src.components.size();
  const size_t dst_depth = dst.components.size();
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain from, reader_.Resolve(src, nullptr));
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, from, src_depth, src));
    if (!from.found(src)) return NotFound(src.normalized);
    GRANARY_ASSIGN_OR_RETURN(Chain to, reader_.Resolve(dst, nullptr));
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, to, dst_depth, dst));
    if (to.inodes.size() < dst_depth) return NotFound(ParentPathOf(dst, dst_depth - 1));
    if (src.normalized == dst.normalized) return Status::Ok();
    const proto::Inode& src_parent = from.inodes[src_depth - 1];
    const proto::Inode& dst_parent = to.inodes[dst_depth - 1];
    if (!IsDirectory(dst_parent)) {
      return Status(StatusCode::kNotADirectory, ParentPathOf(dst, dst_depth - 1));
    }
    const bool replacing = to.found(dst);
    std::vector<LockRequest> wanted;
    for (size_t i = 0; i < src_depth; ++i) {
      wanted.push_back(
          {InodeStore::InodeLockName(InodeId(from.inodes[i].id())), LockMode::kShared});
    }
    for (size_t i = 0; i < dst_depth; ++i) {
      wanted.push_back({InodeStore::InodeLockName(InodeId(to.inodes[i].id())), LockMode::kShared});
    }
    wanted.push_back({InodeStore::EntryLockName({InodeId(src_parent.id()), src.components.back()}),
                      LockMode::kExclusive});
    wanted.push_back({InodeStore::EntryLockName({InodeId(dst_parent.id()), dst.components.back()}),
                      LockMode::kExclusive});
    wanted.push_back({InodeStore::InodeLockName(InodeId(from.last().id())), LockMode::kExclusive});
    if (replacing)
      wanted.push_back({InodeStore::InodeLockName(InodeId(to.last().id())), LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    Result<bool> renamed = RenameLocked(user, src, dst, from, to, released);
    if (!renamed.ok()) return renamed.status();
    if (*renamed) return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + src.normalized);
}

Result<proto::Inode> NamespaceWriter::MutateEntry(
    const User& user, std::string_view path, const std::function<Status(proto::Inode&)>& edit) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const size_t depth = parsed.components.size();
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, reader_.Resolve(parsed, nullptr));
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, chain, depth, parsed));
    if (!chain.found(parsed)) return NotFound(parsed.normalized);
    std::vector<LockRequest> wanted;
    for (size_t i = 0; i + 1 < chain.inodes.size(); ++i) {
      wanted.push_back(
          {InodeStore::InodeLockName(InodeId(chain.inodes[i].id())), LockMode::kShared});
    }
    const proto::Inode& target = chain.last();
    wanted.push_back({InodeStore::EntryLockName({InodeId(target.parent_id()), target.name()}),
                      LockMode::kExclusive});
    wanted.push_back({InodeStore::InodeLockName(InodeId(target.id())), LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    GRANARY_ASSIGN_OR_RETURN(Chain again, reader_.Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, again, depth, parsed));
    proto::Inode inode = again.last();
    const uint64_t charged_before = QuotaTracker::ChargedBytes(inode);
    GRANARY_RETURN_IF_ERROR(edit(inode));
    // An attribute change leaves the inode where it is (its entry is rewritten in place).
    assert(inode.id() == target.id());
    assert(inode.parent_id() == target.parent_id() && inode.name() == target.name());
    WriteBatch batch;
    InodeStore::PutInode(batch, inode);
    const QuotaDelta grown{0, static_cast<int64_t>(QuotaTracker::ChargedBytes(inode)) -
                                  static_cast<int64_t>(charged_before)};
    GRANARY_RETURN_IF_ERROR(CommitCharged(batch, quotas_.ChargesFor(again.inodes, depth, grown)));
    return inode;
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Status NamespaceWriter::SetPermission(const User& user, std::string_view path, uint32_t mode) {
  GRANARY_RETURN_IF_ERROR(ValidateMode(mode));
  return MutateEntry(
             user, path,
             [&](proto::Inode& inode) {
               if (!options_.permissions.IsSuperuser(user) && user.user() != inode.owner()) {
                 return Status(StatusCode::kPermissionDenied,
                               "only the owner may chmod " + std::string(path));
               }
               inode.set_mode(mode);
               return Status::Ok();
             })
      .status();
}

Status NamespaceWriter::SetTimes(const User& user, std::string_view path, int64_t mtime_ns,
                                 int64_t atime_ns) {
  if (mtime_ns < -1 || atime_ns < -1) {
    return Status(StatusCode::kInvalidArgument, "a time before the epoch for " + std::string(path));
  }
  return MutateEntry(
             user, path,
             [&](proto::Inode& inode) {
               if (!options_.permissions.IsSuperuser(user) && user.user() != inode.owner()) {
                 GRANARY_RETURN_IF_ERROR(
                     options_.permissions.Check(user, inode, Access::kWrite, std::string(path)));
               }
               if (mtime_ns >= 0) inode.set_mtime_ns(static_cast<uint64_t>(mtime_ns));
               if (atime_ns >= 0) inode.set_atime_ns(static_cast<uint64_t>(atime_ns));
               return Status::Ok();
             })
      .status();
}

Status NamespaceWriter::SetOwner(const User& user, std::string_view path, const std::string& owner,
                                 const std::string& group) {
  if (owner.size() > kNameBytesMax || group.size() > kNameBytesMax) {
    return Status(StatusCode::kInvalidArgument, "owner or group name too long");
  }
  return MutateEntry(
             user, path,
             [&](proto::Inode& inode) {
               const bool super = options_.permissions.IsSuperuser(user);
               if (!owner.empty() && owner != inode.owner() && !super) {
                 return Status(StatusCode::kPermissionDenied, "only the superuser may chown");
               }
               if (!group.empty() && !super) {
                 const bool member = std::find(user.groups().begin(), user.groups().end(), group) !=
                                     user.groups().end();
                 if (user.user() != inode.owner() || !member) {
                   return Status(StatusCode::kPermissionDenied,
                                 "only an owner in group " + group + " may chgrp");
                 }
               }
               if (!owner.empty()) inode.set_owner(owner);
               if (!group.empty()) inode.set_group(group);
               return Status::Ok();
             })
      .status();
}

Result<proto::Inode> NamespaceWriter::SetReplication(const User& user, std::string_view path,
                                                     uint32_t replication) {
  if (replication < 1 || replication > kReplicationMax) {
    return Status(StatusCode::kInvalidArgument, "replication outside 1..kReplicationMax");
  }
  return MutateEntry(user, path, [&](proto::Inode& inode) {
    if (IsDirectory(inode)) return Status(StatusCode::kIsADirectory, std::string(path));
    GRANARY_RETURN_IF_ERROR(
        options_.permissions.Check(user, inode, Access::kWrite, std::string(path)));
    inode.set_replication(replication);
    return Status::Ok();
  });
}

Result<proto::Inode> NamespaceWriter::MutateFile(InodeId id, const FileMutation& mutate) {
  if (id == kRootInodeId) return Status(StatusCode::kIsADirectory, "/");
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    Result<std::vector<InodeId>> ancestors = reader_.AncestorIds(id);
    if (!ancestors.ok()) return ancestors.status();
    std::vector<LockRequest> wanted;
    for (size_t i = 0; i + 1 < ancestors->size(); ++i) {
      wanted.push_back({InodeStore::InodeLockName((*ancestors)[i]), LockMode::kShared});
    }
    wanted.push_back({InodeStore::InodeLockName(id), LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    Result<std::vector<InodeId>> again = reader_.AncestorIds(id);
    if (!again.ok()) return again.status();
    if (*again != *ancestors) continue;
    GRANARY_ASSIGN_OR_RETURN(proto::Inode inode, reader_.ReadById(id));
    if (IsDirectory(inode)) return Status(StatusCode::kIsADirectory, inode.name());
    WriteBatch batch;
    const EntryName entry{InodeId(inode.parent_id()), inode.name()};
    const uint64_t charged_before = QuotaTracker::ChargedBytes(inode);
    GRANARY_RETURN_IF_ERROR(mutate(inode, batch));
    // A mutation edits the file in place: moving it would leave its old entry behind.
    assert(InodeId(inode.id()) == id);
    assert(InodeId(inode.parent_id()) == entry.parent && inode.name() == entry.name);
    assert(!IsDirectory(inode));
    InodeStore::PutInode(batch, inode);
    const int64_t grown = static_cast<int64_t>(QuotaTracker::ChargedBytes(inode)) -
                          static_cast<int64_t>(charged_before);
    QuotaCharges charges;
    if (!quotas_.empty() && grown != 0) {
      for (size_t i = 0; i + 1 < again->size(); ++i) {
        if (quotas_.Find((*again)[i]) != nullptr)
          charges.emplace_back((*again)[i], QuotaDelta{0, grown});
      }
    }
    GRANARY_RETURN_IF_ERROR(CommitCharged(batch, charges));
    return inode;
  }
  return Status(StatusCode::kUnavailable, "namespace busy: inode " + std::to_string(id.value()));
}

}  // namespace granary
