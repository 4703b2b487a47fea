#include "core/namenode/namespace_reader.h"

#include <algorithm>
#include <cassert>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/namenode/retry_cache.h"

namespace granary {

using namespace_detail::IsDirectory;
using namespace_detail::NotFound;
using namespace_detail::ParentPathOf;

NamespaceReader::NamespaceReader(InodeStore& records, const NamespaceOptions& options)
    : records_(records), options_(options) {
  assert(options_.directory_cache_entries <= kDirectoryCacheEntriesMax);
}

Status NamespaceReader::Commit(const WriteBatch& batch) {
  // No reader fills the cache while a write is in flight, so it is still empty when the
  // write returns; the epoch then voids the tickets taken before.
  ++writes_in_flight_;
  directory_cache_.clear();
  Status written;
  if (RetryCache::Carrying()) {
    // The mutation's answer goes in its own batch (retry_cache.h), durable exactly with it.
    WriteBatch with_record = batch;
    RetryCache::CarryRecord(with_record);
    written = records_.Write(with_record);
  } else {
    written = records_.Write(batch);
  }
  assert(writes_in_flight_ > 0);
  assert(directory_cache_.empty());
  --writes_in_flight_;
  ++cache_epoch_;
  return written;
}

bool NamespaceReader::Chain::SameIds(const Chain& other) const {
  if (inodes.size() != other.inodes.size()) return false;
  for (size_t i = 0; i < inodes.size(); ++i) {
    if (inodes[i].id() != other.inodes[i].id()) return false;
  }
  return true;
}

proto::FileStatus NamespaceReader::ToStatus(const proto::Inode& inode) {
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

Result<proto::Inode> NamespaceReader::ReadEntry(InodeId parent, std::string_view name,
                                                const Snapshot* snapshot, CacheTicket ticket) {
  EntryName key{parent, std::string(name)};
  if (CacheValid(ticket)) {
    auto cached = directory_cache_.find(key);
    if (cached != directory_cache_.end()) {
      assert(IsDirectory(cached->second));
      return cached->second;
    }
  }
  GRANARY_ASSIGN_OR_RETURN(proto::Inode inode, records_.GetEntry(key, snapshot));
  // Checked again after the read, which may have suspended while a write began.
  if (IsDirectory(inode) && CacheValid(ticket)) {
    if (directory_cache_.size() >= options_.directory_cache_entries) {
      directory_cache_.erase(directory_cache_.begin());
    }
    directory_cache_.emplace(std::move(key), inode);
    assert(directory_cache_.size() <= options_.directory_cache_entries);
  }
  return inode;
}

Result<NamespaceReader::Chain> NamespaceReader::Resolve(const ParsedPath& path,
                                                        const Snapshot* snapshot,
                                                        CacheTicket ticket) {
  Chain chain;
  GRANARY_ASSIGN_OR_RETURN(proto::Inode root, ReadEntry(kNoParentId, "", snapshot, ticket));
  assert(InodeId(root.id()) == kRootInodeId);
  chain.inodes.push_back(std::move(root));
  for (size_t i = 0; i < path.components.size(); ++i) {
    const proto::Inode& dir = chain.inodes.back();
    if (!IsDirectory(dir)) {
      // Reported by CheckTraverse, after the permission checks that come first.
      chain.blocked = true;
      break;
    }
    Result<proto::Inode> child = ReadEntry(InodeId(dir.id()), path.components[i], snapshot, ticket);
    if (child.code() == StatusCode::kNotFound) break;
    if (!child.ok()) return child.status();
    // An entry's inode names the directory it is stored under.
    assert(child->parent_id() == dir.id());
    chain.inodes.push_back(std::move(child).value());
  }
  assert(chain.inodes.size() <= path.components.size() + 1);
  return chain;
}

Status NamespaceReader::CheckTraverse(const User& user, const Chain& chain, size_t upto,
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

Result<bool> NamespaceReader::HasChildren(InodeId directory) {
  return records_.HasEntries(directory);
}

Result<std::vector<InodeId>> NamespaceReader::AncestorIds(InodeId id) {
  std::vector<InodeId> ids{id};
  InodeId current = id;
  while (current != kRootInodeId) {
    if (ids.size() > kPathDepthMax + 1) {
      return Status(StatusCode::kCorruption, "location chain longer than kPathDepthMax");
    }
    Result<EntryName> location = records_.GetLocation(current);
    if (location.code() == StatusCode::kNotFound) {
      return Status(StatusCode::kNotFound, "inode " + std::to_string(id.value()) + " is unlinked");
    }
    if (!location.ok()) return location.status();
    current = location->parent;
    ids.push_back(current);
  }
  std::reverse(ids.begin(), ids.end());
  assert(ids.front() == kRootInodeId);
  return ids;
}

Result<proto::Inode> NamespaceReader::ReadById(InodeId id) {
  GRANARY_ASSIGN_OR_RETURN(EntryName location, records_.GetLocation(id));
  return ReadEntry(location.parent, location.name, nullptr);
}

Result<proto::Inode> NamespaceReader::GetFile(InodeId id) {
  // A file below a deleted directory keeps its location key until collection: only a
  // complete chain to the root makes it live.
  GRANARY_RETURN_IF_ERROR(AncestorIds(id).status());
  return ReadById(id);
}

// ---- reads ----

Result<proto::FileStatus> NamespaceReader::Stat(const User& user, std::string_view path) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const std::shared_ptr<const Snapshot> snapshot = records_.meta_store().GetSnapshot();
  GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, snapshot.get()));
  GRANARY_RETURN_IF_ERROR(CheckTraverse(user, chain, parsed.components.size(), parsed));
  if (!chain.found(parsed)) return NotFound(parsed.normalized);
  return ToStatus(chain.last());
}

Result<ListPage> NamespaceReader::List(const User& user, std::string_view path,
                                       std::string_view start_after, uint32_t limit) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  if (start_after.size() > kNameBytesMax) {
    return Status(StatusCode::kNameTooLong, "start_after beyond kNameBytesMax");
  }
  if (limit == 0 || limit > kListPageEntriesMax) limit = kListPageEntriesMax;
  const std::shared_ptr<const Snapshot> snapshot = records_.meta_store().GetSnapshot();
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

Result<OpenResult> NamespaceReader::Open(const User& user, std::string_view path) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  const std::shared_ptr<const Snapshot> snapshot = records_.meta_store().GetSnapshot();
  GRANARY_ASSIGN_OR_RETURN(Chain chain, Resolve(parsed, snapshot.get()));
  if (!chain.found(parsed)) return OpenResolved(user, parsed, chain, nullptr, snapshot.get());
  proto::Inode leaf = std::move(chain.inodes.back());
  chain.inodes.pop_back();
  return OpenResolved(user, parsed, chain, &leaf, snapshot.get());
}

class NamespaceReader::OpenView {
 public:
  std::shared_ptr<const Snapshot> snapshot;
  CacheTicket ticket{};  // taken with the snapshot
  // Resolved parent directories by normalized path (a chain as Resolve returns it).
  std::map<std::string, Chain, std::less<>> parents;
};

std::shared_ptr<NamespaceReader::OpenView> NamespaceReader::NewOpenView() {
  auto view = std::make_shared<OpenView>();
  view->snapshot = records_.meta_store().GetSnapshot();
  view->ticket = TakeCacheTicket();
  return view;
}

Result<OpenResult> NamespaceReader::Open(const User& user, std::string_view path, OpenView& view,
                                         std::string* inline_out) {
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
      ReadEntry(InodeId(parents.last().id()), parsed.components[depth], snapshot, view.ticket);
  if (child.code() == StatusCode::kNotFound) {
    return OpenResolved(user, parsed, parents, nullptr, snapshot, inline_out);
  }
  if (!child.ok()) return child.status();
  return OpenResolved(user, parsed, parents, &child.value(), snapshot, inline_out);
}

Result<OpenResult> NamespaceReader::OpenResolved(const User& user, const ParsedPath& parsed,
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

}  // namespace granary
