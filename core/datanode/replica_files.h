// The names of a replica's files on a datanode's disk (core/datanode/replica_store.h):
//   rbw_<id>_<gs>.data / .meta   an under-construction replica's bytes and chunk CRCs
//   blk_<id>_<gs>.data / .meta   a finalized replica's
//   tail_<id>_<length>_<crc>     a ReplicaAnchor (below)
//
// ReplicaAnchor: a durable note that an under-construction replica's first `length_bytes`
// bytes are good when the bytes of their last, partial checksum chunk have CRC32C `crc32c`.
//
// Why: the meta file holds one CRC per chunk, and the CRC of a trailing partial chunk must be
// replaced when the chunk grows (ReplicaStore::AppendFrom) or is cut (TruncateTo). The Disk
// seam only appends and truncates, so the replacement cuts the meta file (durable at once)
// before it appends the new CRC (durable only at the next sync): a crash between the two
// leaves the chunk without a CRC, and Load would cut the replica to the chunk's start, losing
// bytes a client had synced. Before such a cut, the store writes an anchor for the synced part
// of the chunk; Load extends the checked length to the anchor's when the anchor's bytes match.
//
// The note lives in a file's name, "tail_<block>_<length>_<crc>", an empty file: Create and
// Rename are durable when they return, with no sync of the file's bytes. A replica has at most
// one anchor; a stale one (bytes since cut or rewritten) never matches or never reaches past
// the checked length, and is removed when the replica is finalized, removed or reloaded.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/seams/disk.h"

namespace granary {

enum class ReplicaState : uint8_t {
  kWriting = 1,    // under construction (rbw)
  kFinalized = 2,  // complete, synced (blk)
};

enum class ReplicaFileKind : uint8_t { kData, kMeta };

// The name of one of a replica's two files, and its parts.
struct ReplicaFileName {
  std::string name;
  ReplicaState state;
  BlockId block_id;
  GenerationStamp generation_stamp;
  ReplicaFileKind kind;

  static std::string Make(ReplicaState state, BlockId block_id, GenerationStamp stamp,
                          ReplicaFileKind kind);
  // The parts of a replica file's name; nullopt for any other name.
  static std::optional<ReplicaFileName> Parse(std::string_view name);
};

struct ReplicaAnchor {
  BlockId block_id;
  uint64_t length_bytes = 0;  // not a multiple of kChecksumChunkBytes
  uint32_t crc32c = 0;        // of the bytes from the last chunk's start to length_bytes

  std::string FileName() const;
  // The anchor a file name holds; nullopt for any other name.
  static std::optional<ReplicaAnchor> Parse(std::string_view name);
  bool operator==(const ReplicaAnchor&) const = default;
};

// `checked_length` (the longest prefix of `data_file` whose chunks match the meta file's CRCs)
// extended to the anchor's length when every chunk before the anchor's last one was checked
// and the data file's bytes of that chunk match the anchor's CRC; otherwise unchanged.
Result<uint64_t> ExtendByAnchor(Disk& disk, std::string_view data_file, uint64_t checked_length,
                                const ReplicaAnchor& anchor);

}  // namespace granary
