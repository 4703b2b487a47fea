// The vocabulary shared by the namespace's pieces (namespace.h: the facade; NamespaceReader,
// NamespaceWriter, OrphanCollector): options, arguments, counts, and the few helpers each of
// them needs on inodes and paths.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/common/list_page.h"
#include "core/common/path.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/permission.h"
#include "core/seams/meta_store.h"
#include "proto/fs.pb.h"

namespace granary {

using User = proto::UserContext;

struct NamespaceOptions {
  PermissionPolicy permissions;
  // Files up to this many bytes keep their data with their inode; 0 disables inline files.
  uint64_t inline_threshold_bytes = 64 * 1024;
  uint32_t default_replication = 3;
  uint64_t default_block_bytes = 128ull * 1024 * 1024;
  // Directory inodes kept in memory by their entry (parent id, name), so that resolving a
  // path reads the store once per component not cached (in practice: once, for the file).
  // 0: no cache, every component is read from the store. At most kDirectoryCacheEntriesMax.
  uint32_t directory_cache_entries = 0;
};

struct CreateArgs {
  uint32_t mode = 0;  // 0: the default
  bool overwrite = false;
  uint32_t replication = 0;  // 0: the default
  uint64_t block_bytes = 0;  // 0: the default
  std::string client_name;   // required unless complete
  bool complete = false;     // the whole file is in inline_data; close it at once
  bool create_parents = false;
  std::string inline_data;
  // Whether the lease of another writer has passed its soft limit: an overwriting create may
  // then take the file over. Unset: never.
  std::function<bool(const std::string& holder)> lease_soft_expired;
  // Called with the new file just before the batch that creates it commits (unset: nothing),
  // so the caller can fill its reply in time for the retry cache (retry_cache.h).
  std::function<void(const proto::Inode& file)> before_commit;
};

// Blocks a mutation cut loose from the namespace, for the block manager to forget and the
// datanodes to delete.
struct ReleasedBlocks {
  std::vector<proto::BlockRef> blocks;
};

struct NamespaceCounts {
  uint64_t files = 0;
  uint64_t directories = 0;
};

// The result of an open: the file's inode and, for an inline file, its bytes.
struct OpenResult {
  proto::Inode inode;
  std::string inline_data;
};

namespace namespace_detail {

inline bool IsDirectory(const proto::Inode& inode) {
  return inode.type() == proto::INODE_TYPE_DIRECTORY;
}

inline Status NotFound(const std::string& path) { return Status(StatusCode::kNotFound, path); }

// The path of the first `depth` components of `path` ("/" for none).
inline std::string ParentPathOf(const ParsedPath& path, size_t depth) {
  std::string out;
  for (size_t i = 0; i < depth; ++i) out += "/" + path.components[i];
  return out.empty() ? "/" : out;
}

// Adds the removal of a file's data and block records to `batch`; its blocks go to
// `released` (when given), for the block manager to forget and the datanodes to delete.
inline void DropFileData(WriteBatch& batch, const proto::Inode& file, ReleasedBlocks* released) {
  if (file.inline_data()) InodeStore::DeleteInline(batch, InodeId(file.id()));
  for (const proto::BlockRef& block : file.blocks()) {
    InodeStore::DeleteBlock(batch, BlockId(block.block_id()));
    if (released != nullptr) released->blocks.push_back(block);
  }
}

}  // namespace namespace_detail
}  // namespace granary
