#include "core/client/reader.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <vector>

#include "core/common/crc32c.h"
#include "core/common/handoff.h"
#include "core/common/limits.h"
#include "core/rpc/router.h"
#include "proto/datanode.pb.h"

namespace granary {
namespace {

// The most one dn.ReadBlock asks for (the datanode's own limit is 4 MiB).
constexpr uint64_t kReadRequestBytesMax = 4 << 20;

}  // namespace

Reader::Reader(NamenodeClient& namenode, std::string path, proto::OpenReply opened,
               std::string inline_data)
    : namenode_(namenode),
      path_(std::move(path)),
      opened_(std::move(opened)),
      inline_data_(std::move(inline_data)) {
  size_ = opened_.status().inline_data() ? inline_data_.size() : opened_.status().length_bytes();
}

std::string Reader::TakeInlineData() {
  assert(opened_.status().inline_data());
  std::string out = std::move(inline_data_);
  inline_data_.clear();
  size_ = 0;
  position_ = 0;
  return out;
}

Status Reader::Seek(uint64_t offset) {
  if (offset > size_) return Status(StatusCode::kInvalidArgument, "seek past the end of " + path_);
  position_ = offset;
  return Status::Ok();
}

Result<std::string> Reader::Read(uint64_t length) {
  if (position_ >= size_ || length == 0) return std::string();
  length = std::min(length, size_ - position_);
  if (position_ < cache_offset_ || position_ >= cache_offset_ + cache_.size()) {
    const uint64_t fetch = std::max(length, namenode_.options().read_ahead_bytes);
    GRANARY_ASSIGN_OR_RETURN(cache_, ReadAt(position_, fetch));
    cache_offset_ = position_;
  }
  const uint64_t at = position_ - cache_offset_;
  std::string out;
  if (at == 0 && length >= cache_.size()) {
    // The whole cache is asked for: hand it over instead of copying it.
    out = std::move(cache_);
    cache_.clear();
  } else {
    out = cache_.substr(at, std::min<uint64_t>(length, cache_.size() - at));
  }
  position_ += out.size();
  return out;
}

Result<std::string> Reader::ReadAt(uint64_t offset, uint64_t length) {
  if (offset >= size_) return std::string();
  length = std::min(length, size_ - offset);
  if (opened_.status().inline_data()) return inline_data_.substr(offset, length);
  // The range in pieces: never across a block, never above the piece size.
  struct Piece {
    size_t block;
    uint64_t in_block;
    uint64_t length;
  };
  const ClientOptions& options = namenode_.options();
  const uint64_t piece_max =
      std::clamp<uint64_t>(options.read_piece_bytes, kChecksumChunkBytes, kReadRequestBytesMax);
  std::vector<Piece> pieces;
  for (uint64_t at = offset, left = length; left > 0;) {
    size_t index = 0;
    while (index < static_cast<size_t>(opened_.blocks_size())) {
      const proto::LocatedBlock& b = opened_.blocks(static_cast<int>(index));
      if (at < b.offset_bytes() + b.block().length_bytes()) break;
      ++index;
    }
    if (index == static_cast<size_t>(opened_.blocks_size())) {
      return Status(StatusCode::kCorruption, path_ + ": blocks end before the file does");
    }
    const proto::LocatedBlock& block = opened_.blocks(static_cast<int>(index));
    const uint64_t in_block = at - block.offset_bytes();
    const uint64_t take = std::min({left, block.block().length_bytes() - in_block, piece_max});
    pieces.push_back({index, in_block, take});
    at += take;
    left -= take;
  }
  std::string out;
  if (pieces.size() > 1) out.reserve(length);
  const size_t parallelism = std::max<uint32_t>(options.read_parallelism, 1);
  for (size_t first = 0; first < pieces.size(); first += parallelism) {
    const size_t last = std::min(pieces.size(), first + parallelism);
    if (last - first == 1) {
      GRANARY_ASSIGN_OR_RETURN(std::string piece, ReadFromBlock(pieces[first].block,
                                                                 pieces[first].in_block,
                                                                 pieces[first].length));
      if (out.empty()) {
        out = std::move(piece);  // the range is one piece: no copy
      } else {
        out += piece;
      }
      continue;
    }
    // Several pieces in flight at once, each on a fiber of its own; every one is waited for
    // before this returns, so they never outlive the reader.
    std::vector<std::unique_ptr<Handoff<Result<std::string>>>> results;
    for (size_t i = first; i < last; ++i) {
      results.push_back(std::make_unique<Handoff<Result<std::string>>>(
          Status(StatusCode::kNodeDown, "read never started")));
      namenode_.env().Spawn(
          "read-piece", [this, piece = pieces[i], sender = results.back()->TakeSender()] {
            sender->Set(ReadFromBlock(piece.block, piece.in_block, piece.length));
          });
    }
    Status failed;
    for (auto& result : results) {
      Result<std::string> piece = result->Wait();
      if (!piece.ok()) {
        if (failed.ok()) failed = piece.status();
        continue;
      }
      if (failed.ok()) out += *piece;
    }
    GRANARY_RETURN_IF_ERROR(failed);
  }
  return out;
}

Result<std::string> Reader::ReadFromBlock(size_t index, uint64_t offset_in_block,
                                          uint64_t length) {
  Status last_error(StatusCode::kUnavailable, "no replica of the block is known");
  const uint64_t block_id = opened_.blocks(static_cast<int>(index)).block().block_id();
  for (int pass = 0; pass < 2; ++pass) {
    // Another piece's refresh may have replaced the locations meanwhile.
    if (index >= static_cast<size_t>(opened_.blocks_size())) break;
    const proto::LocatedBlock block = opened_.blocks(static_cast<int>(index));
    for (const proto::DatanodeInfo& replica : block.replicas()) {
      Result<std::string> piece = ReadFromReplica(block, replica, offset_in_block, length);
      if (piece.ok()) return piece;
      if (piece.code() == StatusCode::kNodeDown) return piece.status();
      last_error = piece.status();
      if (piece.code() == StatusCode::kCorruption) {
        proto::ReportBadBlockRequest report;
        *report.mutable_block() = block.block();
        report.set_datanode_id(replica.datanode_id());
        proto::ReportBadBlockReply reply;
        (void)namenode_.Call("nn.ReportBadBlock", report, &reply);
      }
    }
    if (pass == 0) {
      const Status refreshed = RefreshLocations();
      if (!refreshed.ok()) return refreshed;
      if (static_cast<size_t>(opened_.blocks_size()) <= index) break;
    }
  }
  return last_error.WithContext(path_ + " block " + std::to_string(block_id));
}

Result<std::string> Reader::ReadFromReplica(const proto::LocatedBlock& block,
                                            const proto::DatanodeInfo& replica,
                                            uint64_t offset_in_block, uint64_t length) {
  proto::ReadBlockRequest request;
  *request.mutable_block() = block.block();
  request.set_offset_bytes(offset_in_block);
  request.set_length_bytes(length);
  proto::ReadBlockReply reply;
  std::string payload;
  GRANARY_RETURN_IF_ERROR(rpc::Call(namenode_.transport(), Address{replica.address()},
                                    "dn.ReadBlock", request, {},
                                    namenode_.env().Now() + namenode_.options().datanode_timeout,
                                    &reply, &payload));
  // The payload is chunk-aligned and must cover the range asked for.
  const uint64_t start = reply.offset_bytes();
  if (start % kChecksumChunkBytes != 0 || start > offset_in_block ||
      start + payload.size() < offset_in_block + length) {
    return Status(StatusCode::kCorruption, "replica on " + replica.address() + " is short");
  }
  const uint64_t chunks = (payload.size() + kChecksumChunkBytes - 1) / kChecksumChunkBytes;
  if (static_cast<uint64_t>(reply.chunk_crc32c_size()) != chunks) {
    return Status(StatusCode::kCorruption, "checksum count mismatch from " + replica.address());
  }
  for (uint64_t i = 0; i < chunks; ++i) {
    const std::string_view chunk =
        std::string_view(payload).substr(i * kChecksumChunkBytes, kChecksumChunkBytes);
    if (Crc32c(chunk) != reply.chunk_crc32c(static_cast<int>(i))) {
      return Status(StatusCode::kCorruption, "checksum mismatch in block " +
                                                 std::to_string(block.block().block_id()) +
                                                 " from " + replica.address());
    }
  }
  // Trimmed in place: the payload usually is exactly the range.
  const uint64_t skip = offset_in_block - start;
  if (skip > 0) payload.erase(0, skip);
  payload.resize(length);
  return payload;
}

Status Reader::RefreshLocations() {
  proto::OpenRequest request;
  *request.mutable_user() = namenode_.options().user;
  request.set_path(path_);
  request.set_client_address(namenode_.options().client_address);
  proto::OpenReply reply;
  std::string ignored;
  GRANARY_RETURN_IF_ERROR(namenode_.Call("nn.Open", request, &reply, {}, &ignored));
  if (reply.status().inode_id() != opened_.status().inode_id()) {
    return Status(StatusCode::kNotFound, path_ + " was replaced while being read");
  }
  opened_ = std::move(reply);
  return Status::Ok();
}

}  // namespace granary
