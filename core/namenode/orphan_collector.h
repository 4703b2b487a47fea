// OrphanCollector: removes the subtrees that deleting a non-empty directory unlinked.
//
// Delete unlinks a directory in one batch (readers see it gone at once) and records it as an
// orphan (InodeStore's orphan records). The collector then removes the unlinked subtree in
// bounded batches, after a restart too: each round takes the smallest orphan, removes up to a
// page of its entries (a child directory becomes an orphan of its own, its files' data and
// block records go), and drops the orphan record with its last page. Orphans are unreachable
// from the root, so no namespace operation touches them and no namespace lock is needed;
// collectors take turns, or two would remove the same children twice.
#pragma once

#include <boost/fiber/mutex.hpp>
#include <cstddef>

#include "core/common/status.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namespace_reader.h"
#include "core/namenode/namespace_types.h"

namespace granary {

class OrphanCollector {
 public:
  // Everything passed in must outlive the collector; `counts` loses what is removed.
  OrphanCollector(InodeStore& records, NamespaceReader& reader, NamespaceCounts& counts);

  // Removes up to about `budget` entries of unlinked subtrees (at most budget + 1: an
  // orphan's own record counts too); returns how many it removed. Each store batch stays
  // within kMetaBatchOpsMax. Blocks of removed files are added to `released` (when given).
  Result<size_t> Collect(size_t budget, ReleasedBlocks* released);

 private:
  InodeStore& records_;
  NamespaceReader& reader_;
  NamespaceCounts& counts_;
  boost::fibers::mutex collect_mutex_;
};

}  // namespace granary
