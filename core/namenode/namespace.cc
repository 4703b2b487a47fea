#include "core/namenode/namespace.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <mutex>

#include "core/common/crc32c.h"
#include "core/common/limits.h"

namespace granary {
namespace {

Status NotFound(const std::string& path) { return Status(StatusCode::kNotFound, path); }

bool IsDirectory(const proto::Inode& inode) { return inode.type() == proto::INODE_TYPE_DIRECTORY; }

std::string ParentPathOf(const ParsedPath& path, size_t depth) {
  std::string out;
  for (size_t i = 0; i < depth; ++i) out += "/" + path.components[i];
  return out.empty() ? "/" : out;
}

Status ValidateMode(uint32_t mode) {
  if (mode > kModeBitsMax) return Status(StatusCode::kInvalidArgument, "mode beyond 07777");
  return Status::Ok();
}

}  // namespace

Namespace::Namespace(Env& env, MetaStore& store, NamespaceOptions options)
    : env_(env),
      store_(store),
      options_(std::move(options)),
      records_(store),
      inode_ids_(store, std::string(InodeStore::kInodeIdCounter), kRootInodeId.value() + 1),
      block_ids_(store, std::string(InodeStore::kBlockIdCounter), 1),
      generation_stamps_(store, std::string(InodeStore::kGenerationStampCounter), 1) {
  assert(options_.inline_threshold_bytes <= kInlineThresholdBytesMax);
  assert(options_.directory_cache_entries <= kDirectoryCacheEntriesMax);
}

Status Namespace::Commit(const WriteBatch& batch) {
  // No reader fills the cache while a write is in flight, so it is still empty when the
  // write returns; the epoch then voids the tickets taken before.
  ++writes_in_flight_;
  directory_cache_.clear();
  const Status written = store_.Write(batch);
  --writes_in_flight_;
  ++cache_epoch_;
  return written;
}

bool Namespace::Chain::SameIds(const Chain& other) const {
  if (inodes.size() != other.inodes.size()) return false;
  for (size_t i = 0; i < inodes.size(); ++i) {
    if (inodes[i].id() != other.inodes[i].id()) return false;
  }
  return true;
}

proto::FileStatus Namespace::ToStatus(const proto::Inode& inode) {
  proto::FileStatus s;
  s.set_name(inode.name());
  s.set_inode_id(inode.id());
  s.set_type(inode.type());
  s.set_owner(inode.owner());
  s.set_group(inode.group());
  s.set_mode(inode.mode());
  s.set_mtime_ns(inode.mtime_ns());
  s.set_atime_ns(inode.atime_ns());
  s.set_length_bytes(inode.length_bytes());
  s.set_replication(inode.replication());
  s.set_block_bytes(inode.block_bytes());
  s.set_inline_data(inode.inline_data());
  s.set_under_construction(inode.under_construction());
  s.set_block_count(static_cast<uint32_t>(inode.blocks_size()));
  return s;
}

Status Namespace::Load(std::vector<proto::Inode>* under_construction) {
  GRANARY_RETURN_IF_ERROR(inode_ids_.Load());
  GRANARY_RETURN_IF_ERROR(block_ids_.Load());
  GRANARY_RETURN_IF_ERROR(generation_stamps_.Load());
  Result<proto::Inode> root = records_.GetEntry(EntryName{kNoParentId, ""});
  if (root.code() == StatusCode::kNotFound) {
    proto::Inode inode;
    inode.set_id(kRootInodeId.value());
    inode.set_parent_id(kNoParentId.value());
    inode.set_type(proto::INODE_TYPE_DIRECTORY);
    inode.set_owner(options_.permissions.superuser);
    inode.set_group(options_.permissions.supergroup);
    inode.set_mode(kDirectoryModeDefault);
    inode.set_mtime_ns(env_.CalendarNanos());
    WriteBatch batch;
    PutInode(batch, inode);
    return Commit(batch);
  }
  if (!root.ok()) return root.status();
  // Count what is there and find the files writers left open.
  counts_ = NamespaceCounts{};
  const size_t first_open = under_construction != nullptr ? under_construction->size() : 0;
  GRANARY_RETURN_IF_ERROR(records_.ForEachEntry([&](const StoredEntry& entry) {
    const proto::Inode& inode = entry.inode;
    if (InodeId(inode.id()) == kRootInodeId) return Status::Ok();
    if (IsDirectory(inode)) {
      ++counts_.directories;
    } else {
      ++counts_.files;
      if (inode.under_construction() && under_construction != nullptr) {
        under_construction->push_back(inode);
      }
    }
    return Status::Ok();
  }));
  if (under_construction != nullptr) {
    // Files below a deleted directory wait for collection, not for lease recovery.
    std::vector<proto::Inode> open(under_construction->begin() + first_open,
                                   under_construction->end());
    under_construction->resize(first_open);
    for (proto::Inode& inode : open) {
      Result<std::vector<uint64_t>> ancestors = AncestorIds(inode.id());
      if (ancestors.code() == StatusCode::kNotFound) continue;
      if (!ancestors.ok()) return ancestors.status();
      under_construction->push_back(std::move(inode));
    }
  }
  return Status::Ok();
}

Result<proto::Inode> Namespace::ReadEntry(uint64_t parent, std::string_view name,
                                          const Snapshot* snapshot, CacheTicket ticket) {
  EntryName key{InodeId(parent), std::string(name)};
  if (CacheValid(ticket)) {
    auto cached = directory_cache_.find(key);
    if (cached != directory_cache_.end()) return cached->second;
  }
  GRANARY_ASSIGN_OR_RETURN(proto::Inode inode, records_.GetEntry(key, snapshot));
  // Checked again after the read, which may have suspended while a write began.
  if (IsDirectory(inode) && CacheValid(ticket)) {
    if (directory_cache_.size() >= options_.directory_cache_entries) {
      directory_cache_.erase(directory_cache_.begin());
    }
    directory_cache_.emplace(std::move(key), inode);
  }
  return inode;
}

Result<Namespace::Chain> Namespace::Resolve(const ParsedPath& path, const Snapshot* snapshot,
                                            CacheTicket ticket) {
  Chain chain;
  GRANARY_ASSIGN_OR_RETURN(proto::Inode root, ReadEntry(kNoParentId.value(), "", snapshot, ticket));
  chain.inodes.push_back(std::move(root));
  for (size_t i = 0; i < path.components.size(); ++i) {
    const proto::Inode& dir = chain.inodes.back();
    if (!IsDirectory(dir)) {
      // Reported by CheckTraverse, after the permission checks that come first.
      chain.blocked = true;
      break;
    }
    Result<proto::Inode> child = ReadEntry(dir.id(), path.components[i], snapshot, ticket);
    if (child.code() == StatusCode::kNotFound) break;
    if (!child.ok()) return child.status();
    chain.inodes.push_back(std::move(child).value());
  }
  return chain;
}

Status Namespace::CheckTraverse(const User& user, const Chain& chain, size_t upto,
                                const ParsedPath& path) const {
  for (size_t i = 0; i < upto && i < chain.inodes.size(); ++i) {
    if (!IsDirectory(chain.inodes[i])) break;  // only a blocking file, last in the chain
    GRANARY_RETURN_IF_ERROR(
        options_.permissions.Check(user, chain.inodes[i], Access::kExecute, ParentPathOf(path, i)));
  }
  if (chain.blocked) {
    return Status(StatusCode::kNotADirectory, ParentPathOf(path, chain.inodes.size() - 1));
  }
  return Status::Ok();
}

Result<bool> Namespace::HasChildren(uint64_t directory) {
  return records_.HasEntries(InodeId(directory));
}

proto::Inode Namespace::NewInode(uint64_t id, uint64_t parent, const std::string& name,
                                 proto::InodeType type, const User& user,
                                 const proto::Inode& parent_inode, uint32_t mode) {
  proto::Inode inode;
  inode.set_id(id);
  inode.set_parent_id(parent);
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

void Namespace::PutInode(WriteBatch& batch, const proto::Inode& inode) {
  InodeStore::PutInode(batch, inode);
}

void Namespace::DropFileData(WriteBatch& batch, const proto::Inode& file,
                             ReleasedBlocks* released) {
  if (file.inline_data()) InodeStore::DeleteInline(batch, InodeId(file.id()));
  for (const proto::BlockRef& block : file.blocks()) {
    InodeStore::DeleteBlock(batch, BlockId(block.block_id()));
    if (released != nullptr) released->blocks.push_back(block);
  }
}

// ---- reads ----

Result<proto::FileStatus> Namespace::Stat(const User& user, std::string_view path) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const std::shared_ptr<const Snapshot> snapshot = store_.GetSnapshot();
  GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, snapshot.get()));
  GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, parsed.components.size(), parsed));
  if (!chain.found(parsed)) return NotFound(parsed.normalized);
  return ToStatus(chain.last());
}

Result<Namespace::ListPage> Namespace::List(const User& user, std::string_view path,
                                            std::string_view start_after, uint32_t limit) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  if (start_after.size() > kNameBytesMax) {
    return Status(StatusCode::kNameTooLong, "start_after beyond kNameBytesMax");
  }
  if (limit == 0 || limit > kListPageEntriesMax) limit = kListPageEntriesMax;
  const std::shared_ptr<const Snapshot> snapshot = store_.GetSnapshot();
  GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, snapshot.get()));
  GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, parsed.components.size(), parsed));
  if (!chain.found(parsed)) return NotFound(parsed.normalized);
  const proto::Inode& target = chain.last();
  ListPage page;
  if (!IsDirectory(target)) {
    page.entries.push_back(ToStatus(target));
    return page;
  }
  // Listing returns every entry's status, so it needs search as well as read (as HDFS).
  GRANARY_RETURN_IF_ERROR(
      options_.permissions.Check(user, target, Access::kRead, parsed.normalized));
  GRANARY_RETURN_IF_ERROR(
      options_.permissions.Check(user, target, Access::kExecute, parsed.normalized));
  GRANARY_ASSIGN_OR_RETURN(
      std::vector<StoredEntry> rows,
      records_.ScanEntries(InodeId(target.id()), start_after, limit + 1, snapshot.get()));
  page.has_more = rows.size() > limit;
  if (page.has_more) rows.pop_back();
  for (const StoredEntry& row : rows) page.entries.push_back(ToStatus(row.inode));
  return page;
}

Result<Namespace::OpenResult> Namespace::Open(const User& user, std::string_view path) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const std::shared_ptr<const Snapshot> snapshot = store_.GetSnapshot();
  GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, snapshot.get()));
  if (!chain.found(parsed)) return OpenResolved(user, parsed, chain, nullptr, snapshot.get());
  proto::Inode leaf = std::move(chain.inodes.back());
  chain.inodes.pop_back();
  return OpenResolved(user, parsed, chain, &leaf, snapshot.get());
}

class Namespace::OpenView {
 public:
  std::shared_ptr<const Snapshot> snapshot;
  CacheTicket ticket{};  // taken with the snapshot
  // Resolved parent directories by normalized path (a chain as Resolve returns it).
  std::map<std::string, Chain, std::less<>> parents;
};

std::shared_ptr<Namespace::OpenView> Namespace::NewOpenView() {
  auto view = std::make_shared<OpenView>();
  view->snapshot = store_.GetSnapshot();
  view->ticket = TakeCacheTicket();
  return view;
}

Result<Namespace::OpenResult> Namespace::Open(const User& user, std::string_view path,
                                              OpenView& view, std::string* inline_out) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const Snapshot* snapshot = view.snapshot.get();
  if (parsed.is_root()) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, snapshot, view.ticket));
    return OpenResolved(user, parsed, chain, nullptr, snapshot, inline_out);
  }
  // Resolve(path) is Resolve(parent) extended by the last component when the parent chain
  // is complete and ends in a directory; otherwise it is the parent chain itself (blocked
  // when the parent is a file).
  const size_t depth = parsed.components.size() - 1;
  std::string parent_path = ParentPathOf(parsed, depth);
  auto cached = view.parents.find(parent_path);
  if (cached == view.parents.end()) {
    ParsedPath parent;
    parent.normalized = parent_path;
    parent.components.assign(parsed.components.begin(),
                             parsed.components.begin() + static_cast<std::ptrdiff_t>(depth));
    GRANARY_ASSIGN_OR_RETURN(Chain resolved, Resolve(parent, snapshot, view.ticket));
    cached = view.parents.emplace(std::move(parent_path), std::move(resolved)).first;
  }
  // The parent chain is shared by the files of the directory: read, not copied, when it
  // leads to the file.
  const Chain& parents = cached->second;
  if (parents.blocked || parents.inodes.size() != depth + 1) {
    return OpenResolved(user, parsed, parents, nullptr, snapshot, inline_out);
  }
  if (!IsDirectory(parents.last())) {
    Chain blocked = parents;
    blocked.blocked = true;
    return OpenResolved(user, parsed, blocked, nullptr, snapshot, inline_out);
  }
  Result<proto::Inode> child =
      ReadEntry(parents.last().id(), parsed.components[depth], snapshot, view.ticket);
  if (child.code() == StatusCode::kNotFound) {
    return OpenResolved(user, parsed, parents, nullptr, snapshot, inline_out);
  }
  if (!child.ok()) return child.status();
  return OpenResolved(user, parsed, parents, &child.value(), snapshot, inline_out);
}

Result<Namespace::OpenResult> Namespace::OpenResolved(const User& user, const ParsedPath& parsed,
                                                      const Chain& chain, proto::Inode* leaf,
                                                      const Snapshot* snapshot,
                                                      std::string* inline_out) {
  // With `leaf`, `chain` holds the directories down to the path's parent, all of which are
  // traversed: what CheckTraverse looks at of the chain extended by the leaf.
  assert(leaf == nullptr || chain.inodes.size() == parsed.components.size());
  assert(leaf == nullptr || !chain.blocked);
  GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, parsed.components.size(), parsed));
  if (leaf == nullptr && !chain.found(parsed)) return NotFound(parsed.normalized);
  OpenResult result{leaf != nullptr ? std::move(*leaf) : chain.last(), ""};
  if (IsDirectory(result.inode)) {
    return Status(StatusCode::kIsADirectory, parsed.normalized);
  }
  GRANARY_RETURN_IF_ERROR(
      options_.permissions.Check(user, result.inode, Access::kRead, parsed.normalized));
  if (result.inode.inline_data() && result.inode.length_bytes() > 0) {
    std::string& out = inline_out != nullptr ? *inline_out : result.inline_data;
    const size_t start = out.size();
    const Status read = records_.AppendInline(InodeId(result.inode.id()), out, snapshot);
    if (read.code() == StatusCode::kNodeDown) return read;  // stopping, not damage
    if (!read.ok()) {
      return Status(StatusCode::kCorruption, "inline data missing for " + parsed.normalized);
    }
    const std::string_view data = std::string_view(out).substr(start);
    if (data.size() != result.inode.length_bytes() ||
        (result.inode.has_inline_crc32c() && Crc32c(data) != result.inode.inline_crc32c())) {
      out.resize(start);
      return Status(StatusCode::kCorruption,
                    "inline data of " + parsed.normalized + " fails its checksum");
    }
  }
  return result;
}

// ---- mutations ----

Status Namespace::Mkdirs(const User& user, std::string_view path, uint32_t mode,
                         bool create_parents) {
  GRANARY_RETURN_IF_ERROR(ValidateMode(mode));
  if (mode == 0) mode = kDirectoryModeDefault;
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, nullptr));
    // Search permission on every existing directory down to the one that gets the new entry;
    // a directory that exists already needs none on itself.
    const size_t searched = chain.found(parsed) ? chain.inodes.size() - 1 : chain.inodes.size();
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, searched, parsed));
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
    GRANARY_ASSIGN_OR_RETURN(Chain again, Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    // Check what was read under the locks: a chmod may have landed before they were taken.
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, again, searched, parsed));
    const proto::Inode& parent = again.last();
    GRANARY_RETURN_IF_ERROR(
        options_.permissions.Check(user, parent, Access::kWrite, ParentPathOf(parsed, depth)));
    WriteBatch batch;
    proto::Inode above = parent;
    for (size_t i = depth; i < parsed.components.size(); ++i) {
      GRANARY_ASSIGN_OR_RETURN(uint64_t id, inode_ids_.Next());
      proto::Inode dir = NewInode(id, above.id(), parsed.components[i], proto::INODE_TYPE_DIRECTORY,
                                  user, above, mode);
      PutInode(batch, dir);
      above = std::move(dir);
    }
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    counts_.directories += parsed.components.size() - depth;
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Result<proto::Inode> Namespace::Create(const User& user, std::string_view path,
                                       const CreateArgs& args, ReleasedBlocks* released) {
  GRANARY_RETURN_IF_ERROR(ValidateMode(args.mode));
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  if (parsed.is_root()) return Status(StatusCode::kIsADirectory, "/");
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
    GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, nullptr));
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, depth, parsed));
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
    GRANARY_ASSIGN_OR_RETURN(Chain again, Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, again, depth, parsed));
    const proto::Inode& locked_parent = again.inodes[depth - 1];
    GRANARY_RETURN_IF_ERROR(options_.permissions.Check(user, locked_parent, Access::kWrite,
                                                       ParentPathOf(parsed, depth - 1)));
    WriteBatch batch;
    if (exists) {
      const proto::Inode& old = again.last();
      if (IsDirectory(old)) return Status(StatusCode::kIsADirectory, parsed.normalized);
      if (!args.overwrite) return Status(StatusCode::kAlreadyExists, parsed.normalized);
      if (old.under_construction() && old.lease_holder() != args.client_name &&
          !(args.lease_soft_expired && args.lease_soft_expired(old.lease_holder()))) {
        return Status(StatusCode::kLeaseConflict,
                      parsed.normalized + " is being written by " + old.lease_holder());
      }
      DropFileData(batch, old, released);
      InodeStore::DeleteLocation(batch, InodeId(old.id()));
    }
    GRANARY_ASSIGN_OR_RETURN(uint64_t id, inode_ids_.Next());
    proto::Inode file = NewInode(id, locked_parent.id(), name, proto::INODE_TYPE_FILE, user,
                                 locked_parent, args.mode ? args.mode : kFileModeDefault);
    file.set_replication(replication);
    file.set_block_bytes(block_bytes);
    file.set_inline_data(options_.inline_threshold_bytes > 0);
    file.set_length_bytes(args.inline_data.size());
    if (file.inline_data()) file.set_inline_crc32c(Crc32c(args.inline_data));
    if (!args.complete) {
      file.set_under_construction(true);
      file.set_lease_holder(args.client_name);
    }
    if (!args.inline_data.empty()) InodeStore::PutInline(batch, InodeId(id), args.inline_data);
    PutInode(batch, file);
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    if (!exists) ++counts_.files;
    return file;
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Status Namespace::Delete(const User& user, std::string_view path, bool recursive,
                         ReleasedBlocks* released) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  if (parsed.is_root()) return Status(StatusCode::kInvalidArgument, "cannot delete /");
  const size_t depth = parsed.components.size();
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, nullptr));
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, depth, parsed));
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
    GRANARY_ASSIGN_OR_RETURN(Chain again, Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, again, depth, parsed));
    GRANARY_RETURN_IF_ERROR(options_.permissions.Check(
        user, again.inodes[depth - 1], Access::kWrite, ParentPathOf(parsed, depth - 1)));
    const proto::Inode& target = again.last();
    WriteBatch batch;
    InodeStore::DeleteEntry(batch, {InodeId(parent.id()), target.name()});
    InodeStore::DeleteLocation(batch, InodeId(target.id()));
    if (IsDirectory(target)) {
      GRANARY_ASSIGN_OR_RETURN(bool has_children, HasChildren(target.id()));
      if (has_children) {
        if (!recursive) return Status(StatusCode::kDirectoryNotEmpty, parsed.normalized);
        InodeStore::PutOrphan(batch, target);
      }
    } else {
      DropFileData(batch, target, released);
    }
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    if (IsDirectory(target)) {
      --counts_.directories;
    } else {
      --counts_.files;
    }
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Status Namespace::Rename(const User& user, std::string_view source, std::string_view destination,
                         ReleasedBlocks* released) {
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
    GRANARY_ASSIGN_OR_RETURN(Chain from, Resolve(src, nullptr));
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, from, src_depth, src));
    if (!from.found(src)) return NotFound(src.normalized);
    GRANARY_ASSIGN_OR_RETURN(Chain to, Resolve(dst, nullptr));
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, to, dst_depth, dst));
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
    GRANARY_ASSIGN_OR_RETURN(Chain from_again, Resolve(src, nullptr));
    GRANARY_ASSIGN_OR_RETURN(Chain to_again, Resolve(dst, nullptr));
    if (!from_again.SameIds(from) || !to_again.SameIds(to)) continue;
    proto::Inode moving = from_again.last();
    // A directory may not move below itself, whatever the names say (ids are the truth).
    for (const proto::Inode& above : to_again.inodes) {
      if (above.id() == moving.id()) {
        return Status(StatusCode::kInvalidArgument,
                      "cannot move " + src.normalized + " into its own subtree");
      }
    }
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, from_again, src_depth, src));
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, to_again, dst_depth, dst));
    GRANARY_RETURN_IF_ERROR(options_.permissions.Check(
        user, from_again.inodes[src_depth - 1], Access::kWrite, ParentPathOf(src, src_depth - 1)));
    GRANARY_RETURN_IF_ERROR(options_.permissions.Check(
        user, to_again.inodes[dst_depth - 1], Access::kWrite, ParentPathOf(dst, dst_depth - 1)));
    WriteBatch batch;
    bool replaced_file = false;
    bool replaced_directory = false;
    if (replacing) {
      const proto::Inode& existing = to_again.last();
      if (existing.id() == moving.id()) return Status::Ok();  // hard to reach: same inode
      if (IsDirectory(moving) && !IsDirectory(existing)) {
        return Status(StatusCode::kNotADirectory, dst.normalized);
      }
      if (!IsDirectory(moving) && IsDirectory(existing)) {
        return Status(StatusCode::kIsADirectory, dst.normalized);
      }
      if (IsDirectory(existing)) {
        GRANARY_ASSIGN_OR_RETURN(bool has_children, HasChildren(existing.id()));
        if (has_children) return Status(StatusCode::kDirectoryNotEmpty, dst.normalized);
        replaced_directory = true;
      } else {
        if (existing.under_construction()) {
          return Status(StatusCode::kLeaseConflict, dst.normalized + " is being written");
        }
        DropFileData(batch, existing, released);
        replaced_file = true;
      }
      InodeStore::DeleteLocation(batch, InodeId(existing.id()));
    }
    InodeStore::DeleteEntry(batch, {InodeId(src_parent.id()), moving.name()});
    moving.set_parent_id(dst_parent.id());
    moving.set_name(dst.components.back());
    PutInode(batch, moving);
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    if (replaced_file) --counts_.files;
    if (replaced_directory) --counts_.directories;
    return Status::Ok();
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + src.normalized);
}

Result<proto::Inode> Namespace::MutateEntry(const User& user, std::string_view path,
                                            const std::function<Status(proto::Inode&)>& edit) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const size_t depth = parsed.components.size();
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, nullptr));
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, depth, parsed));
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
    GRANARY_ASSIGN_OR_RETURN(Chain again, Resolve(parsed, nullptr));
    if (!again.SameIds(chain)) continue;
    GRANARY_RETURN_IF_ERROR(CheckTraverse(user, again, depth, parsed));
    proto::Inode inode = again.last();
    GRANARY_RETURN_IF_ERROR(edit(inode));
    WriteBatch batch;
    PutInode(batch, inode);
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    return inode;
  }
  return Status(StatusCode::kUnavailable, "namespace busy: " + parsed.normalized);
}

Status Namespace::SetPermission(const User& user, std::string_view path, uint32_t mode) {
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

Status Namespace::SetOwner(const User& user, std::string_view path, const std::string& owner,
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

Result<proto::Inode> Namespace::SetReplication(const User& user, std::string_view path,
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

Result<std::vector<uint64_t>> Namespace::AncestorIds(uint64_t id) {
  std::vector<uint64_t> ids{id};
  uint64_t current = id;
  while (current != kRootInodeId.value()) {
    if (ids.size() > kPathDepthMax + 1) {
      return Status(StatusCode::kCorruption, "location chain longer than kPathDepthMax");
    }
    Result<EntryName> location = records_.GetLocation(InodeId(current));
    if (location.code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound, "inode " + std::to_string(id) + " is unlinked");
    }
    if (!location.ok()) return location.status();
    current = location->parent.value();
    ids.push_back(current);
  }
  std::reverse(ids.begin(), ids.end());
  return ids;
}

Result<proto::Inode> Namespace::ReadById(uint64_t id) {
  GRANARY_ASSIGN_OR_RETURN(EntryName location, records_.GetLocation(InodeId(id)));
  return ReadEntry(location.parent.value(), location.name, nullptr);
}

Result<proto::Inode> Namespace::GetFile(InodeId id) {
  // A file below a deleted directory keeps its location key until collection: only a
  // complete chain to the root makes it live.
  GRANARY_RETURN_IF_ERROR(AncestorIds(id.value()).status());
  return ReadById(id.value());
}

Result<proto::Inode> Namespace::MutateFile(InodeId id, const FileMutation& mutate) {
  if (id == kRootInodeId) return Status(StatusCode::kIsADirectory, "/");
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    Result<std::vector<uint64_t>> ancestors = AncestorIds(id.value());
    if (!ancestors.ok()) return ancestors.status();
    std::vector<LockRequest> wanted;
    for (size_t i = 0; i + 1 < ancestors->size(); ++i) {
      wanted.push_back({InodeStore::InodeLockName(InodeId((*ancestors)[i])), LockMode::kShared});
    }
    wanted.push_back({InodeStore::InodeLockName(InodeId(id.value())), LockMode::kExclusive});
    LockSet held = locks_.Acquire(std::move(wanted));
    Result<std::vector<uint64_t>> again = AncestorIds(id.value());
    if (!again.ok()) return again.status();
    if (*again != *ancestors) continue;
    GRANARY_ASSIGN_OR_RETURN(proto::Inode inode, ReadById(id.value()));
    if (IsDirectory(inode)) return Status(StatusCode::kIsADirectory, inode.name());
    WriteBatch batch;
    GRANARY_RETURN_IF_ERROR(mutate(inode, batch));
    PutInode(batch, inode);
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    return inode;
  }
  return Status(StatusCode::kUnavailable, "namespace busy: inode " + std::to_string(id.value()));
}

Result<size_t> Namespace::CollectOrphans(size_t budget, ReleasedBlocks* released) {
  // Orphans are unreachable from the root, so no other operation touches them: no namespace
  // locks. Collectors take turns, or two would remove the same children.
  std::unique_lock<boost::fibers::mutex> collecting(collect_mutex_);
  size_t removed = 0;
  while (removed < budget) {
    GRANARY_ASSIGN_OR_RETURN(std::optional<InodeId> orphan, records_.FirstOrphan());
    if (!orphan.has_value()) break;
    const uint32_t limit =
        static_cast<uint32_t>(std::min<size_t>(budget - removed, kStoreScanPageEntries)) + 1;
    GRANARY_ASSIGN_OR_RETURN(std::vector<StoredEntry> children,
                             records_.ScanEntries(*orphan, "", limit));
    bool last_page = children.size() < limit;
    if (!last_page) children.pop_back();
    WriteBatch batch;
    uint64_t files = 0, directories = 0;
    size_t taken = 0;
    for (const StoredEntry& row : children) {
      const proto::Inode& child = row.inode;
      // Entry, location, and an orphan record or the file's data: the batch must stay
      // within the store's limit (one op is kept for the orphan's own record).
      const size_t ops = 3 + static_cast<size_t>(child.blocks_size());
      if (taken > 0 && batch.size() + ops + 1 > kMetaBatchOpsMax) {
        last_page = false;
        break;
      }
      ++taken;
      InodeStore::DeleteEntry(batch, row.entry);
      InodeStore::DeleteLocation(batch, InodeId(child.id()));
      if (IsDirectory(child)) {
        // The child becomes an orphan root of its own, collected in a later round.
        InodeStore::PutOrphan(batch, child);
        ++directories;
      } else {
        DropFileData(batch, child, released);
        ++files;
      }
    }
    if (last_page) InodeStore::DeleteOrphan(batch, *orphan);
    GRANARY_RETURN_IF_ERROR(Commit(batch));
    counts_.files -= std::min(counts_.files, files);
    counts_.directories -= std::min(counts_.directories, directories);
    removed += taken + (last_page ? 1 : 0);
  }
  return removed;
}

Status Namespace::ForEachBlock(const std::function<void(const proto::StoredBlock&)>& visit) {
  return records_.ForEachBlock(visit);
}

}  // namespace granary
