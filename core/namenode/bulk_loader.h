// BulkLoader: the namespace's bulk load. Writes a whole new namespace (the root, directories
// and empty files) into a MetaStore that no namenode has opened yet, in large batches through
// InodeStore, far faster than one Create per file. The simulator pre-populates big namespaces
// with it (sim/workload PrePopulate).
//
// What it writes is what Namespace::Load expects of any store: one root entry, an entry and a
// location record per inode, and the inode id counter past the last id handed out, so a
// namenode that opens the store afterwards counts what is there and never reuses an id. No
// namenode has the store open, so there is no directory cache to keep valid.
//
// Ids are given in call order: the root is kRootInodeId, each Add* call takes the next one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/permission.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

struct BulkLoadOptions {
  // Owner and group of every inode loaded, the root's included.
  std::string owner;
  std::string group;
  uint32_t root_mode = kDirectoryModeDefault;
  // Modification and access time of every inode loaded.
  int64_t time_ns = 0;
  // Of every file loaded.
  uint32_t file_replication = 3;
  uint64_t file_block_bytes = kBlockBytesDefault;
};

class BulkLoader {
 public:
  // `store` must hold no namespace (no root entry) and outlive the loader; the root is the
  // first inode written.
  BulkLoader(MetaStore& store, BulkLoadOptions options);

  InodeId root() const { return kRootInodeId; }

  // A directory or an empty, closed file named `name` in directory `parent`, which an earlier
  // call returned (or root()). Names must be unique within their directory; kInvalidArgument
  // for an empty name, one with '/' or one longer than kNameBytesMax. A store error from a
  // batch written on the way is returned, and the load is then void.
  Result<InodeId> AddDirectory(InodeId parent, std::string_view name, uint32_t mode);
  Result<InodeId> AddFile(InodeId parent, std::string_view name, uint32_t mode);

  // Writes what is left and the inode id counter; call once, last.
  Status Finish();

  // Inodes written so far, the root included.
  uint64_t inodes() const { return next_id_ - kRootInodeId.value(); }

 private:
  Result<InodeId> Add(InodeId parent, std::string_view name, proto::InodeType type, uint32_t mode);
  proto::Inode NewInode(InodeId parent, std::string_view name, proto::InodeType type,
                        uint32_t mode);

  InodeStore records_;
  const BulkLoadOptions options_;
  WriteBatch batch_;
  uint64_t next_id_ = kRootInodeId.value();
  // Whether inode (id - kRootInodeId) is a directory: parents must be.
  std::vector<bool> is_directory_;
  bool finished_ = false;
};

}  // namespace granary
