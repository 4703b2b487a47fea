#include "core/namenode/namespace.h"

#include <utility>

namespace granary {

using namespace_detail::IsDirectory;

Namespace::Namespace(Env& env, MetaStore& store, NamespaceOptions options)
    : env_(env),
      options_(std::move(options)),
      records_(store),
      inode_ids_(store, std::string(InodeStore::kInodeIdCounter), kRootInodeId.value() + 1),
      block_ids_(store, std::string(InodeStore::kBlockIdCounter), 1),
      generation_stamps_(store, std::string(InodeStore::kGenerationStampCounter), 1),
      quotas_(records_),
      reader_(records_, options_),
      writer_(env, reader_, options_, inode_ids_, counts_, quotas_),
      collector_(records_, reader_, counts_) {}

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
    InodeStore::PutInode(batch, inode);
    return reader_.Commit(batch);
  }
  if (!root.ok()) return root.status();
  // Count what is there and find the files writers left open.
  counts_ = NamespaceCounts{};
  quotas_.Reset();
  std::vector<proto::Inode> quota_directories;
  const size_t first_open = under_construction != nullptr ? under_construction->size() : 0;
  GRANARY_RETURN_IF_ERROR(records_.ForEachEntry([&](const StoredEntry& entry) {
    const proto::Inode& inode = entry.inode;
    if (InodeId(inode.id()) == kRootInodeId) {
      if (inode.has_quota()) quota_directories.push_back(inode);
      return Status::Ok();
    }
    if (IsDirectory(inode)) {
      ++counts_.directories;
      if (inode.has_quota()) quota_directories.push_back(inode);
    } else {
      ++counts_.files;
      if (inode.under_construction() && under_construction != nullptr) {
        under_construction->push_back(inode);
      }
    }
    return Status::Ok();
  }));
  GRANARY_RETURN_IF_ERROR(LoadQuotas(quota_directories));
  if (under_construction != nullptr) {
    // Files below a deleted directory wait for collection, not for lease recovery.
    std::vector<proto::Inode> open(under_construction->begin() + first_open,
                                   under_construction->end());
    under_construction->resize(first_open);
    for (proto::Inode& inode : open) {
      Result<std::vector<InodeId>> ancestors = reader_.AncestorIds(InodeId(inode.id()));
      if (ancestors.code() == StatusCode::kNotFound) continue;
      if (!ancestors.ok()) return ancestors.status();
      under_construction->push_back(std::move(inode));
    }
  }
  return Status::Ok();
}

Status Namespace::LoadQuotas(const std::vector<proto::Inode>& directories) {
  for (const proto::Inode& directory : directories) {
    // A quota'd directory below a deleted one waits for collection: it counts nowhere.
    Result<std::vector<InodeId>> ancestors = reader_.AncestorIds(InodeId(directory.id()));
    if (ancestors.code() == StatusCode::kNotFound) continue;
    if (!ancestors.ok()) return ancestors.status();
    GRANARY_ASSIGN_OR_RETURN(const QuotaUsage used, quotas_.Measure(directory));
    quotas_.Set(InodeId(directory.id()), directory.quota(), used);
  }
  return Status::Ok();
}

Status Namespace::SetQuota(const User& user, std::string_view path,
                           std::optional<uint64_t> names_max, std::optional<uint64_t> bytes_max,
                           bool clear) {
  if (!options_.permissions.IsSuperuser(user)) {
    return Status(StatusCode::kPermissionDenied, "only the superuser may set or clear quotas (" +
                                                     user.user() + " asked for " +
                                                     std::string(path) + ")");
  }
  if (!clear && !names_max && !bytes_max) {
    return Status(StatusCode::kInvalidArgument, "a quota names a limit of names or bytes");
  }
  std::optional<proto::DirectoryQuota> limits;
  QuotaUsage used;
  GRANARY_ASSIGN_OR_RETURN(const proto::Inode directory,
                           writer_.MutateEntry(user, path, [&](proto::Inode& inode) {
                             if (!IsDirectory(inode)) {
                               return Status(StatusCode::kNotADirectory,
                                             "a quota is set on a directory: " + std::string(path));
                             }
                             proto::DirectoryQuota next = inode.quota();
                             if (names_max) next.set_names_max(*names_max);
                             if (bytes_max) next.set_bytes_max(*bytes_max);
                             if (clear || (next.names_max() == 0 && next.bytes_max() == 0)) {
                               inode.clear_quota();
                               return Status::Ok();
                             }
                             // Under the directory's exclusive lock: nothing below it changes until
                             // the write.
                             GRANARY_ASSIGN_OR_RETURN(used, quotas_.SubtreeUsage(inode));
                             *inode.mutable_quota() = next;
                             limits = next;
                             return Status::Ok();
                           }));
  // No suspension since the write: the usage is still exact.
  if (limits) {
    quotas_.Set(InodeId(directory.id()), *limits, used);
  } else {
    quotas_.Clear(InodeId(directory.id()));
  }
  return Status::Ok();
}

Result<Namespace::QuotaReport> Namespace::GetQuota(const User& user, std::string_view path) {
  GRANARY_ASSIGN_OR_RETURN(ParsedPath parsed, ParsePath(path));
  GRANARY_ASSIGN_OR_RETURN(NamespaceReader::Chain chain, reader_.Resolve(parsed, nullptr));
  GRANARY_RETURN_IF_ERROR(reader_.CheckTraverse(user, chain, parsed.components.size(), parsed));
  if (!chain.found(parsed)) return Status(StatusCode::kNotFound, parsed.normalized);
  QuotaReport report;
  if (const QuotaState* state = quotas_.Find(InodeId(chain.last().id()))) {
    report.has_quota = true;
    report.state = *state;
    return report;
  }
  GRANARY_ASSIGN_OR_RETURN(report.state.used, quotas_.Measure(chain.last()));
  return report;
}

}  // namespace granary
