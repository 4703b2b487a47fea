#include "core/datanode/block_scanner.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "core/common/limits.h"

namespace granary {
namespace {

static_assert(kScannerPieceBytes <= kDatanodeReadBytesMax);

bool SameReplica(const Replica& a, const Replica& b) {
  return a.generation_stamp == b.generation_stamp && a.length_bytes == b.length_bytes &&
         a.state == b.state;
}

}  // namespace

BlockScanner::BlockScanner(Env& env, ReplicaStore& store, uint64_t bytes_per_second,
                           Duration scan_period, std::function<void(const Replica&)> on_corrupt)
    : env_(env),
      store_(store),
      bytes_per_second_(bytes_per_second),
      scan_period_(scan_period),
      on_corrupt_(std::move(on_corrupt)) {
  assert(scan_period_ > Duration(0));
  assert(on_corrupt_);
}

Status BlockScanner::Run() {
  if (bytes_per_second_ == 0) return Status::Ok();
  for (;;) {
    const Instant pass_start = env_.Now();
    for (const Replica& replica : store_.List()) {
      if (replica.state != ReplicaState::kFinalized || replica.corrupt) continue;
      GRANARY_RETURN_IF_ERROR(ScanReplica(replica));
    }
    ++passes_;
    GRANARY_RETURN_IF_ERROR(env_.SleepUntil(pass_start + scan_period_));
  }
}

Status BlockScanner::ScanReplica(const Replica& replica) {
  for (uint64_t offset = 0; offset < replica.length_bytes;) {
    const std::optional<Replica> now = store_.Get(replica.block_id);
    if (!now || now->corrupt || !SameReplica(*now, replica)) return Status::Ok();
    const uint64_t length = std::min(kScannerPieceBytes, replica.length_bytes - offset);
    Result<ReplicaRead> read = store_.Read(replica.block_id, offset, length);
    if (read.code() == StatusCode::kNodeDown) return read.status();
    if (read.code() == StatusCode::kCorruption) {
      const std::optional<Replica> bad = store_.Get(replica.block_id);
      if (bad && bad->corrupt) {
        ++corrupt_found_;
        on_corrupt_(*bad);
      }
      return Status::Ok();
    }
    if (!read.ok()) return Status::Ok();  // changed or vanished: the next pass sees it
    bytes_scanned_ += length;
    offset += length;
    const double nanos = static_cast<double>(length) * 1e9 / static_cast<double>(bytes_per_second_);
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(Duration(static_cast<int64_t>(nanos))));
  }
  return Status::Ok();
}

}  // namespace granary
