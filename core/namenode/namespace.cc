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
      reader_(records_, options_),
      writer_(env, reader_, options_, inode_ids_, counts_),
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
      Result<std::vector<InodeId>> ancestors = reader_.AncestorIds(InodeId(inode.id()));
      if (ancestors.code() == StatusCode::kNotFound) continue;
      if (!ancestors.ok()) return ancestors.status();
      under_construction->push_back(std::move(inode));
    }
  }
  return Status::Ok();
}

}  // namespace granary
