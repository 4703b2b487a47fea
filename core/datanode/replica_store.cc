#include "core/datanode/replica_store.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "core/common/crc32c.h"
#include "core/common/limits.h"

namespace granary {
namespace {

constexpr uint64_t kCrcBytes = 4;
constexpr std::string_view kStorageIdFile = "storage_id";
constexpr std::string_view kStorageIdTempFile = "storage_id.tmp";
constexpr std::string_view kStorageIdPrefix = "DS-";
constexpr size_t kStorageIdHexDigits = 16;
static_assert(kReplicaDiskPieceBytes % kChecksumChunkBytes == 0);
static_assert(kReplicaDiskPieceBytes <= kDiskReadBytesMax);

uint64_t ChunkCount(uint64_t length_bytes) {
  return (length_bytes + kChecksumChunkBytes - 1) / kChecksumChunkBytes;
}

std::string EncodeCrcs(const std::vector<uint32_t>& crcs) {
  std::string out;
  out.reserve(crcs.size() * kCrcBytes);
  for (uint32_t crc : crcs) {
    for (uint64_t i = 0; i < kCrcBytes; ++i) out.push_back(static_cast<char>(crc >> (8 * i)));
  }
  return out;
}

// The longest prefix of `bytes` (shorter than all of it) whose CRC32C is `crc`; 0 for none.
uint64_t MatchingPrefix(std::string_view bytes, uint32_t crc) {
  uint64_t longest = 0;
  uint32_t running = 0;
  for (uint64_t i = 0; i + 1 < bytes.size(); ++i) {
    running = Crc32c(bytes.substr(i, 1), running);
    if (running == crc) longest = i + 1;
  }
  return longest;
}

uint32_t DecodeCrc(std::string_view bytes, uint64_t index) {
  assert(bytes.size() >= (index + 1) * kCrcBytes);
  uint32_t crc = 0;
  for (uint64_t i = 0; i < kCrcBytes; ++i) {
    crc |= static_cast<uint32_t>(static_cast<uint8_t>(bytes[index * kCrcBytes + i])) << (8 * i);
  }
  return crc;
}

// Reads exactly [offset, offset + length) of a file in pieces; shorter at the end of the file.
Result<std::string> ReadRange(Disk& disk, std::string_view name, uint64_t offset, uint64_t length) {
  std::string out;
  if (length > 0 && length <= kReplicaDiskPieceBytes) {
    // One read covers it: its bytes are the answer, without a copy.
    GRANARY_ASSIGN_OR_RETURN(out, disk.Read(name, offset, length));
    return out;
  }
  out.reserve(length);
  while (out.size() < length) {
    const uint64_t want = std::min<uint64_t>(length - out.size(), kReplicaDiskPieceBytes);
    GRANARY_ASSIGN_OR_RETURN(std::string piece, disk.Read(name, offset + out.size(), want));
    out += piece;
    if (piece.size() < want) break;
  }
  return out;
}

Status RemoveIfPresent(Disk& disk, std::string_view name) {
  const Status removed = disk.Remove(name);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
  return Status::Ok();
}

Status Corrupt(BlockId block_id, std::string_view what) {
  return Status(StatusCode::kCorruption,
                "replica of block " + std::to_string(block_id.value()) + ": " + std::string(what));
}

std::string HexDigits(uint64_t value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(kStorageIdHexDigits, '0');
  for (size_t i = 0; i < kStorageIdHexDigits; ++i) {
    out[kStorageIdHexDigits - 1 - i] = kDigits[(value >> (4 * i)) & 0xf];
  }
  return out;
}

bool IsValidStorageId(std::string_view id) {
  if (id.size() != kStorageIdPrefix.size() + kStorageIdHexDigits) return false;
  if (!id.starts_with(kStorageIdPrefix)) return false;
  return std::all_of(id.begin() + kStorageIdPrefix.size(), id.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::vector<uint32_t> ChunkCrcs(std::string_view data) {
  std::vector<uint32_t> crcs;
  crcs.reserve(ChunkCount(data.size()));
  for (uint64_t offset = 0; offset < data.size(); offset += kChecksumChunkBytes) {
    crcs.push_back(Crc32c(data.substr(offset, kChecksumChunkBytes)));
  }
  return crcs;
}

ReplicaStore::ReplicaStore(Disk& disk) : disk_(disk) {}

Status ReplicaStore::Load() {
  assert(records_.empty());
  GRANARY_ASSIGN_OR_RETURN(std::vector<std::string> names, disk_.List(""));
  std::map<BlockId, std::vector<std::string>> by_block;
  std::map<BlockId, std::vector<ReplicaAnchor>> anchors;
  for (const std::string& name : names) {
    std::optional<ReplicaFileName> parsed = ReplicaFileName::Parse(name);
    if (parsed) by_block[parsed->block_id].push_back(name);
    std::optional<ReplicaAnchor> anchor = ReplicaAnchor::Parse(name);
    if (anchor) {
      by_block[anchor->block_id];
      anchors[anchor->block_id].push_back(*anchor);
    }
  }
  for (const auto& [block_id, files] : by_block) {
    const std::vector<ReplicaAnchor>& block_anchors = anchors[block_id];
    GRANARY_RETURN_IF_ERROR(Reconcile(block_id, files, block_anchors));
    // Reconcile left the replica durable as it stands, or removed it: its anchors are done.
    for (const ReplicaAnchor& anchor : block_anchors) {
      GRANARY_RETURN_IF_ERROR(RemoveIfPresent(disk_, anchor.FileName()));
    }
    Record* record = Find(block_id);
    if (record != nullptr) GRANARY_RETURN_IF_ERROR(DropAnchor(*record));
  }
  return Status::Ok();
}

Status ReplicaStore::Reconcile(BlockId block_id, const std::vector<std::string>& files,
                               const std::vector<ReplicaAnchor>& anchors) {
  // The newest data and meta files: highest stamp, finalized before writing on a tie.
  std::optional<ReplicaFileName> data;
  std::optional<ReplicaFileName> meta;
  auto newer = [](const ReplicaFileName& a, const std::optional<ReplicaFileName>& b) {
    if (!b) return true;
    if (a.generation_stamp != b->generation_stamp) {
      return a.generation_stamp > b->generation_stamp;
    }
    return a.state == ReplicaState::kFinalized && b->state != ReplicaState::kFinalized;
  };
  for (const std::string& name : files) {
    ReplicaFileName parsed = *ReplicaFileName::Parse(name);
    std::optional<ReplicaFileName>& slot = parsed.kind == ReplicaFileKind::kData ? data : meta;
    if (newer(parsed, slot)) slot = std::move(parsed);
  }
  // Files of older stamps, and a data or meta file without its partner, are leftovers of an
  // interrupted create, restamp or removal.
  for (const std::string& name : files) {
    const bool keep = data && meta && (name == data->name || name == meta->name);
    if (!keep) GRANARY_RETURN_IF_ERROR(RemoveIfPresent(disk_, name));
  }
  if (!data || !meta) return Status::Ok();

  const GenerationStamp stamp = std::max(data->generation_stamp, meta->generation_stamp);
  // A blk_ file at the newest stamp means both files were synced before the first rename.
  const bool finalized =
      (data->generation_stamp == stamp && data->state == ReplicaState::kFinalized) ||
      (meta->generation_stamp == stamp && meta->state == ReplicaState::kFinalized);
  Record record;
  record.replica.block_id = block_id;
  record.replica.generation_stamp = data->generation_stamp;
  record.replica.state = data->state;
  record.data_file = data->name;
  record.meta_file = meta->name;
  record.version = next_version_++;
  const ReplicaState state = finalized ? ReplicaState::kFinalized : ReplicaState::kWriting;
  GRANARY_RETURN_IF_ERROR(RenameTo(record, state, stamp));
  if (finalized) {
    GRANARY_ASSIGN_OR_RETURN(record.replica.length_bytes, disk_.Size(record.data_file));
    record.synced_bytes = record.replica.length_bytes;
  } else {
    GRANARY_ASSIGN_OR_RETURN(uint64_t length, CheckedLength(record.data_file, record.meta_file));
    for (const ReplicaAnchor& anchor : anchors) {
      GRANARY_ASSIGN_OR_RETURN(length, ExtendByAnchor(disk_, record.data_file, length, anchor));
    }
    GRANARY_ASSIGN_OR_RETURN(record.replica.length_bytes, disk_.Size(record.data_file));
    // What the crash left is durable: the cut below keeps its partial chunk (an anchor).
    record.synced_bytes = length;
    GRANARY_RETURN_IF_ERROR(TruncateTo(record, length));
    GRANARY_RETURN_IF_ERROR(disk_.Sync(record.data_file));
    GRANARY_RETURN_IF_ERROR(disk_.Sync(record.meta_file));
    record.replica.reloaded = true;
  }
  records_[block_id] = std::move(record);
  return Status::Ok();
}

Result<uint64_t> ReplicaStore::CheckedLength(const std::string& data_file,
                                             const std::string& meta_file) {
  GRANARY_ASSIGN_OR_RETURN(const uint64_t meta_bytes, disk_.Size(meta_file));
  const uint64_t crc_count = std::min(meta_bytes / kCrcBytes, kReplicaChunksPerBlockMax);
  GRANARY_ASSIGN_OR_RETURN(const std::string crcs,
                           ReadRange(disk_, meta_file, 0, crc_count * kCrcBytes));
  uint64_t length = 0;
  uint64_t chunk = 0;
  while (chunk < crc_count) {
    GRANARY_ASSIGN_OR_RETURN(const std::string piece,
                             disk_.Read(data_file, length, kReplicaDiskPieceBytes));
    for (uint64_t at = 0; at < piece.size() && chunk < crc_count; ++chunk) {
      const std::string_view bytes = std::string_view(piece).substr(at, kChecksumChunkBytes);
      if (Crc32c(bytes) != DecodeCrc(crcs, chunk)) {
        // The last CRC may cover a prefix of its chunk (AppendFrom interrupted).
        return chunk + 1 == crc_count ? length + MatchingPrefix(bytes, DecodeCrc(crcs, chunk))
                                      : length;
      }
      length += bytes.size();
      at += bytes.size();
      // A partial chunk can only be the last.
      if (bytes.size() < kChecksumChunkBytes) return length;
    }
    if (piece.size() < kReplicaDiskPieceBytes) break;
  }
  return length;
}

Result<std::string> ReplicaStore::LoadOrCreateStorageId(Random& random) {
  Result<std::string> stored = disk_.Read(kStorageIdFile, 0, 64);
  if (stored.ok()) {
    if (IsValidStorageId(*stored)) return stored;
    // The file is renamed into place only once synced: a bad one is rot, not a torn write.
    return Status(StatusCode::kCorruption, "storage_id holds no valid storage id");
  }
  if (stored.code() != StatusCode::kNotFound) return stored.status();
  const std::string id = std::string(kStorageIdPrefix) + HexDigits(random.Next());
  const Status removed = disk_.Remove(kStorageIdTempFile);
  if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
  GRANARY_RETURN_IF_ERROR(disk_.Create(kStorageIdTempFile));
  GRANARY_RETURN_IF_ERROR(disk_.Append(kStorageIdTempFile, id));
  GRANARY_RETURN_IF_ERROR(disk_.Sync(kStorageIdTempFile));
  GRANARY_RETURN_IF_ERROR(disk_.Rename(kStorageIdTempFile, kStorageIdFile));
  return id;
}

std::optional<Replica> ReplicaStore::Get(BlockId block_id) const {
  auto it = records_.find(block_id);
  if (it == records_.end()) return std::nullopt;
  return it->second.replica;
}

std::vector<Replica> ReplicaStore::List() const {
  std::vector<Replica> out;
  out.reserve(records_.size());
  for (const auto& [id, record] : records_) out.push_back(record.replica);
  return out;
}

ReplicaStore::Record* ReplicaStore::Find(BlockId block_id) {
  auto it = records_.find(block_id);
  return it == records_.end() ? nullptr : &it->second;
}

Status ReplicaStore::Create(BlockId block_id, GenerationStamp generation_stamp) {
  assert(block_id.value() != 0);
  assert(generation_stamp.value() != 0);
  if (Find(block_id) != nullptr) {
    return Status(StatusCode::kAlreadyExists,
                  "block " + std::to_string(block_id.value()) + " has a replica");
  }
  Record record;
  record.replica = Replica{block_id, generation_stamp, 0, ReplicaState::kWriting, false};
  record.data_file = ReplicaFileName::Make(ReplicaState::kWriting, block_id, generation_stamp,
                                           ReplicaFileKind::kData);
  record.meta_file = ReplicaFileName::Make(ReplicaState::kWriting, block_id, generation_stamp,
                                           ReplicaFileKind::kMeta);
  record.version = next_version_++;
  // Leftovers of a failed earlier attempt would make Create fail.
  for (const std::string& name : {record.data_file, record.meta_file}) {
    const Status removed = disk_.Remove(name);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
  }
  GRANARY_RETURN_IF_ERROR(disk_.Create(record.data_file));
  GRANARY_RETURN_IF_ERROR(disk_.Create(record.meta_file));
  // A concurrent Create of the same id is excluded by the caller's block lock.
  assert(Find(block_id) == nullptr);
  records_[block_id] = std::move(record);
  return Status::Ok();
}

Status ReplicaStore::RenameTo(Record& record, ReplicaState state, GenerationStamp stamp) {
  const BlockId id = record.replica.block_id;
  const std::string data_file = ReplicaFileName::Make(state, id, stamp, ReplicaFileKind::kData);
  const std::string meta_file = ReplicaFileName::Make(state, id, stamp, ReplicaFileKind::kMeta);
  if (record.data_file != data_file) {
    record.version = next_version_++;
    GRANARY_RETURN_IF_ERROR(disk_.Rename(record.data_file, data_file));
    record.data_file = data_file;
  }
  if (record.meta_file != meta_file) {
    record.version = next_version_++;
    GRANARY_RETURN_IF_ERROR(disk_.Rename(record.meta_file, meta_file));
    record.meta_file = meta_file;
  }
  record.replica.state = state;
  record.replica.generation_stamp = stamp;
  return Status::Ok();
}

Status ReplicaStore::TruncateTo(Record& record, uint64_t length_bytes) {
  assert(length_bytes <= record.replica.length_bytes);
  const uint64_t whole_chunks = length_bytes / kChecksumChunkBytes;
  const uint64_t tail_offset = whole_chunks * kChecksumChunkBytes;
  const uint64_t tail_bytes = length_bytes - tail_offset;
  std::string tail;
  record.synced_bytes = std::min(record.synced_bytes, length_bytes);
  if (tail_bytes > 0) {
    // Anchored before the data file is cut: the meta file's CRC of this chunk stops matching
    // the data then, and is replaced only after it.
    GRANARY_ASSIGN_OR_RETURN(tail, disk_.Read(record.data_file, tail_offset, tail_bytes));
    if (tail.size() != tail_bytes) {
      return Corrupt(record.replica.block_id, "data file shorter than its record");
    }
    GRANARY_RETURN_IF_ERROR(AnchorSyncedTail(record, tail_offset, tail));
  }
  record.version = next_version_++;
  GRANARY_RETURN_IF_ERROR(disk_.Truncate(record.data_file, length_bytes));
  record.replica.length_bytes = length_bytes;
  GRANARY_ASSIGN_OR_RETURN(const uint64_t meta_bytes, disk_.Size(record.meta_file));
  if (meta_bytes > whole_chunks * kCrcBytes) {
    GRANARY_RETURN_IF_ERROR(disk_.Truncate(record.meta_file, whole_chunks * kCrcBytes));
  }
  if (tail_bytes == 0) return Status::Ok();
  return disk_.Append(record.meta_file, EncodeCrcs({Crc32c(tail)}));
}

Status ReplicaStore::AnchorSyncedTail(Record& record, uint64_t chunk_start,
                                      std::string_view chunk_bytes) {
  assert(chunk_start % kChecksumChunkBytes == 0);
  if (record.synced_bytes <= chunk_start) return Status::Ok();
  const uint64_t synced_tail =
      std::min<uint64_t>(record.synced_bytes - chunk_start, chunk_bytes.size());
  // A whole chunk's CRC is never replaced; nothing to keep in an empty one.
  if (synced_tail == 0 || synced_tail >= kChecksumChunkBytes) return Status::Ok();
  const ReplicaAnchor anchor{record.replica.block_id, chunk_start + synced_tail,
                             Crc32c(chunk_bytes.substr(0, synced_tail))};
  if (record.anchor == anchor) return Status::Ok();
  const std::string name = anchor.FileName();
  Status made = Status(StatusCode::kNotFound, "no anchor yet");
  if (record.anchor) made = disk_.Rename(record.anchor->FileName(), name);
  if (made.code() == StatusCode::kNotFound) made = disk_.Create(name);
  if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return made;
  record.anchor = anchor;
  return Status::Ok();
}

Status ReplicaStore::DropAnchor(Record& record) {
  if (!record.anchor) return Status::Ok();
  const std::string name = record.anchor->FileName();
  record.anchor.reset();
  return RemoveIfPresent(disk_, name);
}

Status ReplicaStore::Reopen(BlockId block_id, GenerationStamp generation_stamp,
                            uint64_t length_bytes) {
  Record* record = Find(block_id);
  assert(record != nullptr);
  assert(generation_stamp >= record->replica.generation_stamp);
  assert(length_bytes <= record->replica.length_bytes);
  GRANARY_RETURN_IF_ERROR(RenameTo(*record, ReplicaState::kWriting, generation_stamp));
  record = Find(block_id);
  assert(record != nullptr);
  record->replica.reloaded = false;  // written again: in the pipeline
  if (length_bytes == record->replica.length_bytes) return Status::Ok();
  return TruncateTo(*record, length_bytes);
}

Status ReplicaStore::Append(BlockId block_id, std::string_view data,
                            const std::vector<uint32_t>& chunk_crc32c) {
  Record* record = Find(block_id);
  assert(record != nullptr);
  assert(record->replica.state == ReplicaState::kWriting);
  assert(chunk_crc32c.size() == ChunkCount(data.size()));
  const uint64_t old_length = record->replica.length_bytes;
  if (old_length % kChecksumChunkBytes != 0) {
    return Status(StatusCode::kInvalidArgument,
                  "replica ends in a partial chunk at " + std::to_string(old_length));
  }
  if (data.empty()) return Status::Ok();
  const std::string data_file = record->data_file;
  const std::string meta_file = record->meta_file;
  Status status = disk_.Append(data_file, data);
  if (status.ok()) status = disk_.Append(meta_file, EncodeCrcs(chunk_crc32c));
  if (!status.ok()) {
    // Leave no leftovers for the next append to land after (best effort: a crash now leaves
    // them to Load, which cuts an unmatched tail anyway).
    if (status.code() != StatusCode::kNodeDown) {
      Result<uint64_t> data_bytes = disk_.Size(data_file);
      if (data_bytes.ok() && *data_bytes > old_length) (void)disk_.Truncate(data_file, old_length);
      const uint64_t meta_length = old_length / kChecksumChunkBytes * kCrcBytes;
      Result<uint64_t> meta_bytes = disk_.Size(meta_file);
      if (meta_bytes.ok() && *meta_bytes > meta_length) {
        (void)disk_.Truncate(meta_file, meta_length);
      }
    }
    return status;
  }
  record = Find(block_id);
  assert(record != nullptr);
  assert(record->replica.length_bytes == old_length);
  record->replica.length_bytes = old_length + data.size();
  return Status::Ok();
}

Status ReplicaStore::AppendFrom(BlockId block_id, uint64_t offset_bytes, std::string_view data,
                                const std::vector<uint32_t>& chunk_crc32c) {
  Record* record = Find(block_id);
  assert(record != nullptr);
  assert(record->replica.state == ReplicaState::kWriting);
  assert(chunk_crc32c.size() == ChunkCount(data.size()));
  const uint64_t old_length = record->replica.length_bytes;
  if (offset_bytes == old_length) return Append(block_id, data, chunk_crc32c);
  if (offset_bytes % kChecksumChunkBytes != 0 || offset_bytes > old_length ||
      old_length - offset_bytes >= kChecksumChunkBytes || offset_bytes + data.size() < old_length) {
    return Status(StatusCode::kInvalidArgument,
                  "offset " + std::to_string(offset_bytes) + " is not the start of the partial " +
                      "chunk ending the replica's " + std::to_string(old_length) + " bytes");
  }
  const uint64_t held = old_length - offset_bytes;
  const uint64_t crc_offset = offset_bytes / kChecksumChunkBytes * kCrcBytes;
  const std::string data_file = record->data_file;
  const std::string meta_file = record->meta_file;
  GRANARY_ASSIGN_OR_RETURN(const std::string stored, disk_.Read(meta_file, crc_offset, kCrcBytes));
  if (stored.size() != kCrcBytes) return Corrupt(block_id, "meta file shorter than its record");
  const uint32_t held_crc = DecodeCrc(stored, 0);
  if (Crc32c(data.substr(0, held)) != held_crc) {
    return Status(StatusCode::kInvalidArgument, "packet rewrites the partial chunk of block " +
                                                    std::to_string(block_id.value()) +
                                                    " with other bytes");
  }
  GRANARY_RETURN_IF_ERROR(AnchorSyncedTail(*record, offset_bytes, data.substr(0, held)));
  record = Find(block_id);
  assert(record != nullptr);
  // Reads that overlap the change retry (the meta file is cut and grown under them).
  record->version = next_version_++;
  Status status = disk_.Append(data_file, data.substr(held));
  if (status.ok()) status = disk_.Truncate(meta_file, crc_offset);
  if (status.ok()) status = disk_.Append(meta_file, EncodeCrcs(chunk_crc32c));
  record = Find(block_id);
  assert(record != nullptr);
  record->version = next_version_++;
  if (!status.ok()) {
    if (status.code() != StatusCode::kNodeDown) {
      (void)disk_.Truncate(data_file, old_length);
      if (disk_.Truncate(meta_file, crc_offset).ok()) {
        (void)disk_.Append(meta_file, EncodeCrcs({held_crc}));
      }
    }
    return status;
  }
  assert(record->replica.length_bytes == old_length);
  record->replica.length_bytes = offset_bytes + data.size();
  return Status::Ok();
}

Status ReplicaStore::Sync(BlockId block_id) {
  Record* record = Find(block_id);
  assert(record != nullptr);
  const std::string data_file = record->data_file;
  const std::string meta_file = record->meta_file;
  const uint64_t length = record->replica.length_bytes;
  GRANARY_RETURN_IF_ERROR(disk_.Sync(data_file));
  GRANARY_RETURN_IF_ERROR(disk_.Sync(meta_file));
  record = Find(block_id);
  if (record != nullptr && record->data_file == data_file) {
    record->synced_bytes =
        std::max(record->synced_bytes, std::min(length, record->replica.length_bytes));
  }
  return Status::Ok();
}

Status ReplicaStore::Finalize(BlockId block_id) {
  Record* record = Find(block_id);
  assert(record != nullptr);
  assert(record->replica.state == ReplicaState::kWriting);
  GRANARY_RETURN_IF_ERROR(Sync(block_id));
  record = Find(block_id);
  assert(record != nullptr);
  GRANARY_RETURN_IF_ERROR(
      RenameTo(*record, ReplicaState::kFinalized, record->replica.generation_stamp));
  // Finalized replicas keep their whole data file: the anchor is not needed (a leftover, if
  // the removal fails, goes at the next Load).
  record = Find(block_id);
  assert(record != nullptr);
  (void)DropAnchor(*record);
  return Status::Ok();
}

Status ReplicaStore::FinalizeAt(BlockId block_id, GenerationStamp generation_stamp,
                                uint64_t length_bytes) {
  Record* record = Find(block_id);
  assert(record != nullptr);
  // Through the rbw state, so that a crash halfway leaves a replica Load checks chunk by chunk.
  GRANARY_RETURN_IF_ERROR(Reopen(block_id, generation_stamp, length_bytes));
  return Finalize(block_id);
}

Status ReplicaStore::Remove(BlockId block_id) {
  Record* record = Find(block_id);
  if (record == nullptr) {
    return Status(StatusCode::kNotFound, "no replica of block " + std::to_string(block_id.value()));
  }
  const std::string data_file = record->data_file;
  const std::string meta_file = record->meta_file;
  record->version = next_version_++;
  (void)DropAnchor(*record);  // a leftover goes at the next Load
  record = Find(block_id);
  if (record == nullptr) return Status::Ok();
  // Data first: a meta file alone is a leftover that Load removes.
  const Status data_removed = disk_.Remove(data_file);
  if (!data_removed.ok() && data_removed.code() != StatusCode::kNotFound) return data_removed;
  records_.erase(block_id);
  const Status meta_removed = disk_.Remove(meta_file);
  if (!meta_removed.ok() && meta_removed.code() != StatusCode::kNotFound) return meta_removed;
  return Status::Ok();
}

void ReplicaStore::MarkCorrupt(BlockId block_id) {
  Record* record = Find(block_id);
  if (record != nullptr) record->replica.corrupt = true;
}

Result<ReplicaRead> ReplicaStore::Read(BlockId block_id, uint64_t offset_bytes,
                                       uint64_t length_bytes, CrcCheck check) {
  assert(length_bytes <= kDiskReadBytesMax);
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    const Record* record = Find(block_id);
    if (record == nullptr) {
      return Status(StatusCode::kNotFound,
                    "no replica of block " + std::to_string(block_id.value()));
    }
    if (record->replica.corrupt) return Corrupt(block_id, "marked corrupt");
    assert(offset_bytes <= record->replica.length_bytes);
    const Record snapshot = *record;
    Result<ReplicaRead> read = ReadOnce(snapshot, offset_bytes, length_bytes, check);
    if (read.code() == StatusCode::kNodeDown) return read;
    record = Find(block_id);
    if (record == nullptr || record->version != snapshot.version) continue;
    if (read.code() == StatusCode::kCorruption) MarkCorrupt(block_id);
    return read;
  }
  return Status(StatusCode::kUnavailable,
                "replica of block " + std::to_string(block_id.value()) + " kept changing");
}

Result<ReplicaRead> ReplicaStore::ReadOnce(const Record& record, uint64_t offset_bytes,
                                           uint64_t length_bytes, CrcCheck check) {
  const BlockId id = record.replica.block_id;
  const uint64_t replica_length = record.replica.length_bytes;
  const uint64_t end = std::min(offset_bytes + length_bytes, replica_length);
  ReplicaRead out;
  out.replica_length_bytes = replica_length;
  out.offset_bytes = offset_bytes;
  if (end == offset_bytes) return out;
  const uint64_t first_chunk = offset_bytes / kChecksumChunkBytes;
  const uint64_t end_chunk = ChunkCount(end);
  const uint64_t start = first_chunk * kChecksumChunkBytes;
  const uint64_t stop = std::min<uint64_t>(end_chunk * kChecksumChunkBytes, replica_length);
  out.offset_bytes = start;
  GRANARY_ASSIGN_OR_RETURN(out.data, ReadRange(disk_, record.data_file, start, stop - start));
  if (out.data.size() != stop - start) return Corrupt(id, "data file shorter than its record");
  const uint64_t chunks = end_chunk - first_chunk;
  GRANARY_ASSIGN_OR_RETURN(
      const std::string crcs,
      ReadRange(disk_, record.meta_file, first_chunk * kCrcBytes, chunks * kCrcBytes));
  if (crcs.size() != chunks * kCrcBytes) return Corrupt(id, "meta file shorter than its record");
  out.chunk_crc32c.reserve(chunks);
  for (uint64_t i = 0; i < chunks; ++i) {
    const uint32_t stored = DecodeCrc(crcs, i);
    const std::string_view chunk =
        std::string_view(out.data).substr(i * kChecksumChunkBytes, kChecksumChunkBytes);
    if (check == CrcCheck::kHere && Crc32c(chunk) != stored) {
      return Corrupt(id, "chunk " + std::to_string(first_chunk + i) + " does not match its CRC");
    }
    out.chunk_crc32c.push_back(stored);
  }
  return out;
}

}  // namespace granary
