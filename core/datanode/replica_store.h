// ReplicaStore: a datanode's replicas of blocks, kept on its Disk seam.
//
// On disk each replica is two files, named by state, block id and generation stamp:
//   rbw_<id>_<gs>.data / rbw_<id>_<gs>.meta   a replica being written (under construction)
//   blk_<id>_<gs>.data / blk_<id>_<gs>.meta   a finalized replica
// The .data file holds the block's bytes; the .meta file one little-endian CRC32C per
// checksum chunk (kChecksumChunkBytes) of the data, the last one over a partial chunk when
// the length is not a multiple of the chunk. Nothing else is stored: the length of a
// finalized replica is the size of its data file.
//
// Invariants (between suspension points):
//   - At most one replica per block id; its in-memory record names its two files exactly,
//     even after a failed rename.
//   - For a record of length L, the data file holds at least L bytes and the meta file at
//     least ceil(L / chunk) CRCs; bytes beyond are a failed append's leftovers, never read.
//   - Appends happen only at a chunk-aligned length, in whole chunks but for the last one;
//     AppendFrom continues a replica ending in a partial chunk from that chunk's start (a
//     flush made the partial chunk visible, the next packet sends it again with what follows).
//   - A finalized replica is synced and never appended to; only Reopen (pipeline recovery)
//     and FinalizeAt (lease recovery) change it, through the rbw state.
//
// Fault model (core/seams/disk.h): a crash keeps any prefix of each file's unsynced appends;
// creates, truncates and renames are durable on return. Every state change is ordered so that
// Load() can finish or undo it:
//   - Finalize syncs both files, then renames data, then meta. A replica whose newest file is
//     a blk_ file was synced before the first rename: Load completes the finalization.
//   - A restamp (Reopen, FinalizeAt) renames data, then meta, to the new stamp; Load takes the
//     newest stamp among the files of a block id and renames the other file to it.
//   - An under-construction replica's length after a crash is the longest prefix whose
//     chunks match their CRCs (for the last CRC stored: the longest prefix of its chunk that
//     matches it, since AppendFrom appends data before it replaces that CRC); Load truncates
//     both files beyond it. Replacing the CRC of a trailing partial chunk (AppendFrom,
//     TruncateTo) cuts the meta file before it appends the new CRC; when the chunk holds
//     synced bytes, a ReplicaAnchor (replica_files.h) naming their length and CRC is made
//     durable first, and Load keeps the anchor's length when its bytes match: a crash at any
//     point keeps every synced byte. Unsynced bytes may be lost: lease recovery prefers the
//     replicas that were not restarted (Replica::reloaded).
//   - A block id with only one of its two files (a crash between the creates) is removed.
// The disk may rot silently: Read verifies every chunk it returns and marks the replica
// corrupt on a mismatch, after which it is never served again; a read for a reader that
// verifies the CRCs itself (CrcCheck::kByReader) returns the stored CRCs unchecked, and
// rot is then found by that reader or by the block scanner.
//
// Concurrency: the caller serializes the mutations of one block id (BlockLockTable); reads
// need no lock (they retry when a rename or truncate ran meanwhile), except of a replica
// being written, whose AppendFrom cuts and regrows its meta file: the caller holds the
// block's lock for those.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/random.h"
#include "core/common/status.h"
#include "core/datanode/replica_files.h"
#include "core/seams/disk.h"

namespace granary {

struct Replica {
  BlockId block_id;
  GenerationStamp generation_stamp;
  uint64_t length_bytes = 0;
  ReplicaState state = ReplicaState::kWriting;
  bool corrupt = false;
  // Under construction and loaded after a restart (not written since): its length may have
  // lost unsynced bytes, so recovery trusts the replicas that stayed up first.
  bool reloaded = false;
};

// Who checks a read's bytes against their stored CRCs.
enum class CrcCheck : uint8_t {
  kHere = 1,      // ReplicaStore::Read, which refuses a mismatch
  kByReader = 2,  // the caller, who gets the stored CRCs unchecked
};

// A chunk-aligned range of a replica's bytes with the stored CRC of each chunk, verified
// unless read with CrcCheck::kByReader.
struct ReplicaRead {
  uint64_t offset_bytes = 0;  // a multiple of kChecksumChunkBytes, or the replica's length
  std::string data;
  std::vector<uint32_t> chunk_crc32c;
  uint64_t replica_length_bytes = 0;
};

// The CRC32C of each kChecksumChunkBytes piece of `data` (the last may be shorter).
std::vector<uint32_t> ChunkCrcs(std::string_view data);

class ReplicaStore {
 public:
  explicit ReplicaStore(Disk& disk);
  ReplicaStore(const ReplicaStore&) = delete;
  ReplicaStore& operator=(const ReplicaStore&) = delete;

  // Reconciles the disk after a crash (see the fault model) and loads every replica. Call
  // once, before anything else.
  Status Load();

  // The id of this disk's storage, "DS-" and 16 hex digits: read from the file "storage_id",
  // or drawn from `random` and stored (synced) the first time.
  Result<std::string> LoadOrCreateStorageId(Random& random);

  // A copy of the replica's record; nullopt when there is none.
  std::optional<Replica> Get(BlockId block_id) const;
  // Every replica, by block id.
  std::vector<Replica> List() const;
  size_t size() const { return records_.size(); }

  // The operations below change one replica; the caller holds its block's lock.

  // Creates an empty under-construction replica. kAlreadyExists when the block id has one.
  Status Create(BlockId block_id, GenerationStamp generation_stamp);
  // Pipeline recovery: turns the replica (finalized or not) into an under-construction one
  // stamped `generation_stamp` (not older than its own) and cut to `length_bytes` (not longer
  // than it is).
  Status Reopen(BlockId block_id, GenerationStamp generation_stamp, uint64_t length_bytes);
  // Appends `data` (chunk CRCs `chunk_crc32c`, already verified by the caller) to an
  // under-construction replica whose length is chunk-aligned. On failure (kNoSpace, ...)
  // the replica keeps its length.
  Status Append(BlockId block_id, std::string_view data, const std::vector<uint32_t>& chunk_crc32c);
  // Continues an under-construction replica from `offset_bytes`: its length, or the start of
  // its trailing partial chunk, whose bytes `data` begins with (checked against their CRC:
  // kInvalidArgument when they differ). The rest is appended and the partial chunk's CRC
  // replaced by `chunk_crc32c` (one per chunk of `data`). On failure the replica keeps its
  // length.
  Status AppendFrom(BlockId block_id, uint64_t offset_bytes, std::string_view data,
                    const std::vector<uint32_t>& chunk_crc32c);
  Status Sync(BlockId block_id);
  // Syncs an under-construction replica and makes it finalized.
  Status Finalize(BlockId block_id);
  // Lease recovery: cuts the replica to `length_bytes`, restamps it `generation_stamp`,
  // syncs and finalizes it.
  Status FinalizeAt(BlockId block_id, GenerationStamp generation_stamp, uint64_t length_bytes);
  // Removes the replica's files and record. kNotFound when there is none.
  Status Remove(BlockId block_id);
  // Marks the replica corrupt (in memory): Read refuses it from now on.
  void MarkCorrupt(BlockId block_id);

  // Reads the chunks covering [offset, offset + length) clipped to the replica's length, and
  // verifies them (unless `check` is kByReader). Requires offset <= the replica's length and
  // length <= kDiskReadBytesMax. kNotFound (no replica), kCorruption (a chunk does not match
  // its CRC, or the files are shorter than the record: the replica is marked corrupt),
  // kUnavailable (the replica kept changing under the read).
  Result<ReplicaRead> Read(BlockId block_id, uint64_t offset_bytes, uint64_t length_bytes,
                           CrcCheck check = CrcCheck::kHere);

 private:
  struct Record {
    Replica replica;
    std::string data_file;
    std::string meta_file;
    // Bumped by every rename, truncate and removal: a read that saw it change retries.
    uint64_t version = 0;
    // Bytes made durable by the last Sync (or Load, Finalize): a crash must keep them.
    uint64_t synced_bytes = 0;
    // The replica's anchor file, when it has one.
    std::optional<ReplicaAnchor> anchor;
  };

  Record* Find(BlockId block_id);
  // Renames the record's files to the names of `state` and `generation_stamp`, data first.
  Status RenameTo(Record& record, ReplicaState state, GenerationStamp generation_stamp);
  // Cuts both files to `length_bytes`, rewriting the CRC of a partial last chunk.
  Status TruncateTo(Record& record, uint64_t length_bytes);
  // Load's work for the files and anchors of one block id.
  Status Reconcile(BlockId block_id, const std::vector<std::string>& files,
                   const std::vector<ReplicaAnchor>& anchors);
  // Before the CRC of the partial chunk starting at `chunk_start` is replaced: when that
  // chunk holds synced bytes, makes an anchor for them durable. `chunk_bytes` are the
  // replica's bytes from `chunk_start` (at least up to the synced length).
  Status AnchorSyncedTail(Record& record, uint64_t chunk_start, std::string_view chunk_bytes);
  // Removes the record's anchor file, if any.
  Status DropAnchor(Record& record);
  // The longest prefix of an under-construction replica's chunks that match their CRCs.
  Result<uint64_t> CheckedLength(const std::string& data_file, const std::string& meta_file);
  Result<ReplicaRead> ReadOnce(const Record& record, uint64_t offset_bytes, uint64_t length_bytes,
                               CrcCheck check);

  Disk& disk_;
  std::map<BlockId, Record> records_;
  uint64_t next_version_ = 1;
};

}  // namespace granary
