#include "core/namenode/orphan_collector.h"

#include <algorithm>
#include <cassert>
#include <mutex>
#include <optional>
#include <vector>

#include "core/common/limits.h"

static_assert(3 + granary::kBlocksPerFileMax + 1 <= granary::kMetaBatchOpsMax,
              "one file and its orphan record fit in a collection batch");

namespace granary {

using namespace_detail::DropFileData;
using namespace_detail::IsDirectory;

OrphanCollector::OrphanCollector(InodeStore& records, NamespaceReader& reader,
                                 NamespaceCounts& counts)
    : records_(records), reader_(reader), counts_(counts) {}

Result<size_t> OrphanCollector::Collect(size_t budget, ReleasedBlocks* released) {
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
    // Within the store's limit: the first child always fits (kBlocksPerFileMax), later ones
    // only when they do.
    assert(batch.size() <= kMetaBatchOpsMax);
    GRANARY_RETURN_IF_ERROR(reader_.Commit(batch));
    counts_.files -= std::min(counts_.files, files);
    counts_.directories -= std::min(counts_.directories, directories);
    removed += taken + (last_page ? 1 : 0);
    assert(removed <= budget + 1);
  }
  return removed;
}

}  // namespace granary
