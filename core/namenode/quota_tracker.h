// QuotaTracker: per-directory quotas on names and bytes (HDFS's setQuota/setSpaceQuota) and
// what each quota'd directory's subtree uses, kept in memory and updated by every mutation.
//
// What counts:
//   - names: every inode of the subtree, the directory itself included (as HDFS counts).
//   - bytes: each file's bytes times its replication (ChargedBytes). A file open for writing
//     in blocks counts its last block as a full block (HDFS reserves one at addBlock and
//     settles at completion); with no block yet it counts one full block, so the conversion
//     of an inline file to blocks is refused while the first block would not fit and the
//     inline bytes stay. Inline files count length times replication like block files: a
//     file's charge does not depend on where the namenode keeps its bytes, so no conversion
//     jumps past a quota the same bytes were within.
//
// Where the truth lives: the limits are stored on the directory's inode (proto::Inode.quota),
// journaled like every mutation, so standbys have them. The usage is derived state: Load
// measures every quota'd subtree at start (and so after a failover); afterwards each mutation
// charges its delta to its quota'd ancestors before it commits, under the locks that keep the
// subtree still, and gives it back if the commit fails. The namenode runs its fibers on one
// thread: a charge's check and update happen without suspension, so two writers under the
// same directory cannot both take its last unit.
//
// Cost for the common case: with no quota anywhere every call returns after one empty-map
// test; with quotas, a mutation looks up each ancestor id in a map of the quota'd
// directories (the chain is already resolved).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/namenode/inode_store.h"
#include "proto/fs.pb.h"

namespace granary {

struct QuotaUsage {
  uint64_t names = 0;
  uint64_t bytes = 0;
};

// A change of usage, signed.
struct QuotaDelta {
  int64_t names = 0;
  int64_t bytes = 0;
  bool zero() const { return names == 0 && bytes == 0; }
};

struct QuotaState {
  uint64_t names_max = 0;  // 0: no limit on names
  uint64_t bytes_max = 0;  // 0: no limit on bytes
  QuotaUsage used;
};

// The deltas of one mutation, one per quota'd directory it touches, in the order given.
using QuotaCharges = std::vector<std::pair<InodeId, QuotaDelta>>;

class QuotaTracker {
 public:
  // `records` must outlive the tracker.
  explicit QuotaTracker(InodeStore& records) : records_(records) {}

  bool empty() const { return quotas_.empty(); }
  // The quota'd directory `id`'s limits and usage; null when it has no quota.
  const QuotaState* Find(InodeId id) const;
  // The quota'd directories' ids, in id order.
  std::vector<InodeId> Ids() const;

  // The bytes `inode` counts against space quotas (see above); 0 for a directory.
  static uint64_t ChargedBytes(const proto::Inode& inode);
  // What the subtree of `root` uses, `root` included, read from the latest state. The caller
  // holds what keeps the subtree still (an exclusive lock on `root`'s inode), or accepts a
  // figure that may be behind.
  Result<QuotaUsage> Measure(const proto::Inode& root);

  // What the inode `root` and its subtree use: a file's own figures, a quota'd directory's
  // tracked usage, or else a Measure (same contract). Only called when some quota needs it.
  Result<QuotaUsage> SubtreeUsage(const proto::Inode& root);

  // The quota'd directories among the first `count` inodes of `chain`, each charged `delta`;
  // empty when there are none or `delta` is zero.
  QuotaCharges ChargesFor(const std::vector<proto::Inode>& chain, size_t count,
                          QuotaDelta delta) const;
  // The charges of moving `moving` from below the first `src_count` inodes of `from` to below
  // the first `dst_count` of `to`, replacing `replaced` there (null: nothing). A directory
  // above both sides keeps the subtree: only the destination's loss of `replaced` reaches it.
  Result<QuotaCharges> RenameCharges(const std::vector<proto::Inode>& from, size_t src_count,
                                     const std::vector<proto::Inode>& to, size_t dst_count,
                                     const proto::Inode& moving, const proto::Inode* replaced);

  // Applies `charges` (at most one per directory) all or none: kQuotaExceeded, naming the directory
  // (`path_of`) and the limit, when a positive delta would take a directory past its limit;
  // decreases always apply. Charges of directories without a quota are skipped.
  Status Charge(const QuotaCharges& charges, const std::function<std::string(InodeId)>& path_of);
  // Gives back what Charge applied (a commit that failed after it).
  void Undo(const QuotaCharges& charges);

  // Starts tracking `id` with `limits` and the usage measured under the caller's locks.
  void Set(InodeId id, const proto::DirectoryQuota& limits, QuotaUsage used);
  void Clear(InodeId id) { quotas_.erase(id); }
  void Reset() { quotas_.clear(); }

 private:
  InodeStore& records_;
  std::map<InodeId, QuotaState> quotas_;
};

}  // namespace granary
