#include <charconv>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/datanode/replica_files.h"

namespace granary {
namespace {

constexpr std::string_view kPrefix = "tail_";

// A decimal number that fills `text` exactly, without sign or leading zeros.
std::optional<uint64_t> ParseNumber(std::string_view text) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// Splits off the text before the next '_' (all of it when there is none).
std::string_view NextField(std::string_view& text) {
  const size_t separator = text.find('_');
  const std::string_view field = text.substr(0, separator);
  text.remove_prefix(separator == std::string_view::npos ? text.size() : separator + 1);
  return field;
}

}  // namespace

std::string ReplicaFileName::Make(ReplicaState state, BlockId block_id, GenerationStamp stamp,
                                  ReplicaFileKind kind) {
  std::string name = state == ReplicaState::kFinalized ? "blk_" : "rbw_";
  name += std::to_string(block_id.value());
  name += '_';
  name += std::to_string(stamp.value());
  name += kind == ReplicaFileKind::kData ? ".data" : ".meta";
  return name;
}

std::optional<ReplicaFileName> ReplicaFileName::Parse(std::string_view name) {
  ReplicaFileName parsed;
  parsed.name = std::string(name);
  if (name.starts_with("blk_")) {
    parsed.state = ReplicaState::kFinalized;
  } else if (name.starts_with("rbw_")) {
    parsed.state = ReplicaState::kWriting;
  } else {
    return std::nullopt;
  }
  name.remove_prefix(4);
  if (name.ends_with(".data")) {
    parsed.kind = ReplicaFileKind::kData;
  } else if (name.ends_with(".meta")) {
    parsed.kind = ReplicaFileKind::kMeta;
  } else {
    return std::nullopt;
  }
  name.remove_suffix(5);
  const size_t separator = name.find('_');
  if (separator == std::string_view::npos) return std::nullopt;
  const std::optional<uint64_t> id = ParseNumber(name.substr(0, separator));
  const std::optional<uint64_t> stamp = ParseNumber(name.substr(separator + 1));
  if (!id || !stamp || *id == 0 || *stamp == 0) return std::nullopt;
  parsed.block_id = BlockId(*id);
  parsed.generation_stamp = GenerationStamp(*stamp);
  return parsed;
}

std::string ReplicaAnchor::FileName() const {
  return std::string(kPrefix) + std::to_string(block_id.value()) + "_" +
         std::to_string(length_bytes) + "_" + std::to_string(crc32c);
}

std::optional<ReplicaAnchor> ReplicaAnchor::Parse(std::string_view name) {
  if (!name.starts_with(kPrefix)) return std::nullopt;
  name.remove_prefix(kPrefix.size());
  const std::optional<uint64_t> id = ParseNumber(NextField(name));
  const std::optional<uint64_t> length = ParseNumber(NextField(name));
  const std::optional<uint64_t> crc = ParseNumber(NextField(name));
  if (!id || !length || !crc || !name.empty() || *id == 0) return std::nullopt;
  if (*length % kChecksumChunkBytes == 0 || *crc > UINT32_MAX) return std::nullopt;
  return ReplicaAnchor{BlockId(*id), *length, static_cast<uint32_t>(*crc)};
}

Result<uint64_t> ExtendByAnchor(Disk& disk, std::string_view data_file, uint64_t checked_length,
                                const ReplicaAnchor& anchor) {
  const uint64_t chunk_start = anchor.length_bytes / kChecksumChunkBytes * kChecksumChunkBytes;
  if (anchor.length_bytes <= checked_length || checked_length < chunk_start) {
    return checked_length;
  }
  const uint64_t tail_bytes = anchor.length_bytes - chunk_start;
  GRANARY_ASSIGN_OR_RETURN(const std::string tail, disk.Read(data_file, chunk_start, tail_bytes));
  if (tail.size() != tail_bytes || Crc32c(tail) != anchor.crc32c) return checked_length;
  return anchor.length_bytes;
}

}  // namespace granary
