#include "core/namenode/bulk_loader.h"

#include <cassert>

namespace granary {

BulkLoader::BulkLoader(MetaStore& store, BulkLoadOptions options)
    : records_(store), options_(std::move(options)) {
  proto::Inode root = NewInode(kNoParentId, "", proto::INODE_TYPE_DIRECTORY, options_.root_mode);
  assert(InodeId(root.id()) == kRootInodeId);
  InodeStore::PutInode(batch_, root);
}

proto::Inode BulkLoader::NewInode(InodeId parent, std::string_view name, proto::InodeType type,
                                  uint32_t mode) {
  proto::Inode inode;
  inode.set_id(next_id_++);
  inode.set_parent_id(parent.value());
  inode.set_name(std::string(name));
  inode.set_type(type);
  inode.set_owner(options_.owner);
  inode.set_group(options_.group);
  inode.set_mode(mode);
  inode.set_mtime_ns(options_.time_ns);
  inode.set_atime_ns(options_.time_ns);
  if (type == proto::INODE_TYPE_FILE) {
    inode.set_replication(options_.file_replication);
    inode.set_block_bytes(options_.file_block_bytes);
  }
  is_directory_.push_back(type == proto::INODE_TYPE_DIRECTORY);
  // One flag per id handed out: the vector is indexed by id - kRootInodeId.
  assert(is_directory_.size() == next_id_ - kRootInodeId.value());
  return inode;
}

Result<InodeId> BulkLoader::Add(InodeId parent, std::string_view name, proto::InodeType type,
                                uint32_t mode) {
  assert(!finished_);
  // A parent is a directory handed out before (programmer error otherwise).
  assert(parent >= kRootInodeId && parent.value() < next_id_);
  assert(is_directory_[parent.value() - kRootInodeId.value()]);
  if (name.empty() || name.size() > kNameBytesMax || name.find('/') != std::string_view::npos) {
    return Status(StatusCode::kInvalidArgument, "bad name for a bulk-loaded inode");
  }
  const proto::Inode inode = NewInode(parent, name, type, mode);
  InodeStore::PutInode(batch_, inode);
  if (batch_.size() >= kBulkLoadBatchOps) {
    GRANARY_RETURN_IF_ERROR(records_.Write(batch_));
    batch_ = WriteBatch();
  }
  return InodeId(inode.id());
}

Result<InodeId> BulkLoader::AddDirectory(InodeId parent, std::string_view name, uint32_t mode) {
  return Add(parent, name, proto::INODE_TYPE_DIRECTORY, mode);
}

Result<InodeId> BulkLoader::AddFile(InodeId parent, std::string_view name, uint32_t mode) {
  return Add(parent, name, proto::INODE_TYPE_FILE, mode);
}

Status BulkLoader::Finish() {
  assert(!finished_);
  finished_ = true;
  // The inode counter (IdAllocator "inode") resumes past every id written here.
  InodeStore::PutCounter(batch_, InodeStore::kInodeIdCounter, next_id_);
  static_assert(kBulkLoadBatchOps + 2 <= kMetaBatchOpsMax);
  return records_.Write(batch_);
}

}  // namespace granary
