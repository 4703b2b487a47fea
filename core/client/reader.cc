#include "core/client/reader.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <vector>

#include "core/common/crc32c.h"
#include "core/common/handoff.h"
#include "core/common/limits.h"
#include "core/rpc/router.h"
#include "core/seams/transport.h"
#include "proto/datanode.pb.h"

namespace granary {
namespace {

// The most one dn.ReadBlock asks for (the datanode's own limit is 4 MiB).
constexpr uint64_t kReadRequestBytesMax = 4 << 20;

}  // namespace

Reader::Reader(ClientContext& context, std::string path, proto::OpenReply opened,
               std::string inline_data)
    : context_(context),
      namenode_(context.namenode()),
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

Reader::~Reader() { ResetWindow(position_); }

Status Reader::Seek(uint64_t offset) {
  if (offset > size_) return Status(StatusCode::kInvalidArgument, "seek past the end of " + path_);
  position_ = offset;
  return Status::Ok();
}

uint64_t Reader::PieceBytesMax() const {
  return std::clamp<uint64_t>(context_.options().read_piece_bytes, kChecksumChunkBytes,
                              kReadRequestBytesMax);
}

Result<Reader::Piece> Reader::PieceAt(uint64_t offset, uint64_t limit) const {
  assert(offset < size_);
  assert(limit > 0);
  // The first block not ending at or before `offset`.
  const auto& blocks = opened_.blocks();
  const auto it = std::upper_bound(blocks.begin(), blocks.end(), offset,
                                   [](uint64_t at, const proto::LocatedBlock& b) {
                                     return at < b.offset_bytes() + b.block().length_bytes();
                                   });
  if (it == blocks.end() || it->offset_bytes() > offset) {
    return Status(StatusCode::kCorruption, path_ + ": blocks end before the file does");
  }
  const uint64_t in_block = offset - it->offset_bytes();
  return Piece{static_cast<size_t>(it - blocks.begin()), in_block,
               std::min({limit, it->block().length_bytes() - in_block, size_ - offset})};
}

Status Reader::FillWindow(uint64_t target) {
  target = std::min(target, size_);
  const size_t pieces_max = std::max<uint32_t>(context_.options().read_parallelism, 1);
  const uint64_t piece_max = PieceBytesMax();
  while (window_end_ < target && window_.size() < pieces_max) {
    // No piece reaches far past the target: whole checksum chunks up to it.
    const uint64_t wanted = (target - window_end_ + kChecksumChunkBytes - 1) / kChecksumChunkBytes *
                            kChecksumChunkBytes;
    GRANARY_ASSIGN_OR_RETURN(const Piece piece, PieceAt(window_end_, std::min(piece_max, wanted)));
    Pending pending;
    pending.offset = window_end_;
    pending.length = piece.length;
    pending.fetch = std::make_unique<Handoff<Result<std::string>>>(
        Status(StatusCode::kNodeDown, "read never started"));
    // The fiber uses `this`: ResetWindow waits for it before the reader goes away.
    context_.env().Spawn("read-ahead", [this, piece, spread = pieces_started_++,
                                        sender = pending.fetch->TakeSender()] {
      sender->Set(ReadFromBlock(piece.block, piece.in_block, piece.length, spread));
    });
    window_end_ += piece.length;
    window_.push_back(std::move(pending));
  }
  return Status::Ok();
}

void Reader::ResetWindow(uint64_t offset) {
  for (Pending& pending : window_) {
    if (!pending.bytes) pending.bytes = pending.fetch->Wait();
  }
  window_.clear();
  window_end_ = offset;
}

Result<std::string> Reader::Read(uint64_t length) { return ReadUntil(length, ReadStop::kLength); }

Result<std::string> Reader::ReadPiece(uint64_t length) {
  return ReadUntil(length, ReadStop::kPieceEnd);
}

Result<std::string> Reader::ReadUntil(uint64_t length, ReadStop stop) {
  if (position_ >= size_ || length == 0) return std::string();
  length = std::min(length, size_ - position_);
  if (opened_.status().inline_data()) {
    std::string out = inline_data_.substr(position_, length);
    position_ += out.size();
    return out;
  }
  const bool sequential = position_ == sequential_at_;
  // Pieces wholly before the position are not needed any more; a position outside the
  // window starts a new one there.
  while (!window_.empty() && window_.front().offset + window_.front().length <= position_) {
    if (!window_.front().bytes) window_.front().bytes = window_.front().fetch->Wait();
    window_.pop_front();
  }
  if (window_.empty() || window_.front().offset > position_) ResetWindow(position_);
  const ClientOptions& options = context_.options();
  // The read-ahead grows while the reads stay sequential, doubling from read_ahead_bytes up
  // to the whole window (read_parallelism pieces), as the kernel's does: a reader that takes
  // a header and leaves does not pull 32 MiB (and wait for it on close), one that streams
  // soon keeps every piece in flight. A read elsewhere starts again from read_ahead_bytes.
  const uint64_t window_max = PieceBytesMax() * std::max<uint32_t>(options.read_parallelism, 1);
  const uint64_t first = std::max<uint64_t>(options.read_ahead_bytes, kChecksumChunkBytes);
  ahead_ =
      sequential && ahead_ > 0 ? std::min(ahead_ * 2, window_max) : std::min(first, window_max);
  const uint64_t ahead = ahead_;
  const uint64_t target = position_ + std::max(length, ahead);
  std::string out;
  while (out.size() < length) {
    const Status filled = FillWindow(target);
    if (!filled.ok()) {
      ResetWindow(position_);
      return filled;
    }
    assert(!window_.empty());
    Pending& front = window_.front();
    const uint64_t at = position_ + out.size();
    assert(front.offset <= at && at < front.offset + front.length);
    if (!front.bytes) front.bytes = front.fetch->Wait();
    if (!front.bytes->ok()) {
      const Status failed = front.bytes->status();
      ResetWindow(position_);
      return failed;
    }
    std::string& bytes = **front.bytes;
    assert(bytes.size() == front.length);
    const uint64_t skip = at - front.offset;
    const uint64_t take = std::min(length - out.size(), bytes.size() - skip);
    const bool used_up = skip + take == bytes.size();
    // The read is exactly this piece, or ends at its end (ReadPiece): moved, no copy. A
    // piece of the window may be shorter than `length` (the window starts small and grows).
    if (out.empty() && skip == 0 && used_up && (take == length || stop == ReadStop::kPieceEnd)) {
      out = std::move(bytes);
    } else {
      if (out.empty()) out.reserve(stop == ReadStop::kPieceEnd ? take : length);
      out.append(bytes, skip, take);
    }
    if (used_up) window_.pop_front();
    if (stop == ReadStop::kPieceEnd) break;
  }
  position_ += out.size();
  sequential_at_ = position_;
  // Keep the window full while the caller uses the bytes.
  if (sequential) (void)FillWindow(position_ + ahead);  // an error shows on the next Read
  return out;
}

Result<std::string> Reader::ReadAt(uint64_t offset, uint64_t length) {
  if (offset >= size_) return std::string();
  length = std::min(length, size_ - offset);
  if (opened_.status().inline_data()) return inline_data_.substr(offset, length);
  // The range in pieces: never across a block, never above the piece size.
  std::vector<Piece> pieces;
  for (uint64_t at = offset, end = offset + length; at < end;) {
    GRANARY_ASSIGN_OR_RETURN(const Piece piece, PieceAt(at, std::min(end - at, PieceBytesMax())));
    pieces.push_back(piece);
    at += piece.length;
  }
  std::string out;
  if (pieces.size() > 1) out.reserve(length);
  const size_t parallelism = std::max<uint32_t>(context_.options().read_parallelism, 1);
  for (size_t first = 0; first < pieces.size(); first += parallelism) {
    const size_t last = std::min(pieces.size(), first + parallelism);
    if (last - first == 1) {
      GRANARY_ASSIGN_OR_RETURN(std::string piece,
                               ReadFromBlock(pieces[first].block, pieces[first].in_block,
                                             pieces[first].length, pieces_started_++));
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
      context_.env().Spawn("read-piece", [this, piece = pieces[i], spread = pieces_started_++,
                                          sender = results.back()->TakeSender()] {
        sender->Set(ReadFromBlock(piece.block, piece.in_block, piece.length, spread));
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

Result<std::string> Reader::ReadFromBlock(size_t index, uint64_t offset_in_block, uint64_t length,
                                          uint64_t spread) {
  Status last_error(StatusCode::kUnavailable, "no replica of the block is known");
  const uint64_t block_id = opened_.blocks(static_cast<int>(index)).block().block_id();
  for (int pass = 0; pass < 2; ++pass) {
    // Another piece's refresh may have replaced the locations meanwhile.
    if (index >= static_cast<size_t>(opened_.blocks_size())) break;
    const proto::LocatedBlock block = opened_.blocks(static_cast<int>(index));
    // The namenode lists the replicas nearest first; those on the nearest one's host are
    // equally near and take turns.
    std::vector<const proto::DatanodeInfo*> order;
    for (const proto::DatanodeInfo& replica : block.replicas()) order.push_back(&replica);
    size_t equal = 0;
    while (equal < order.size() && HostOf(order[equal]->address()) == HostOf(order[0]->address())) {
      ++equal;
    }
    if (equal > 1) {
      std::rotate(order.begin(), order.begin() + static_cast<ptrdiff_t>(spread % equal),
                  order.begin() + static_cast<ptrdiff_t>(equal));
    }
    for (const proto::DatanodeInfo* replica : order) {
      Result<std::string> piece = ReadFromReplica(block, *replica, offset_in_block, length);
      if (piece.ok()) return piece;
      if (piece.code() == StatusCode::kNodeDown) return piece.status();
      last_error = piece.status();
      if (piece.code() == StatusCode::kCorruption) {
        proto::ReportBadBlockRequest report;
        *report.mutable_block() = block.block();
        report.set_datanode_id(replica->datanode_id());
        proto::ReportBadBlockReply reply;
        (void)namenode_.Call(rpc::nn::kReportBadBlock, report, &reply);
      }
    }
    if (pass == 0) {
      const Status refreshed = RefreshLocations();
      if (!refreshed.ok()) return refreshed;
      if (static_cast<size_t>(opened_.blocks_size()) <= index) break;
    }
  }
  return AsBlockReadError(last_error).WithContext(path_ + " block " + std::to_string(block_id));
}

Status AsBlockReadError(Status status) {
  if (status.code() != StatusCode::kNotFound) return status;
  return Status(StatusCode::kUnavailable, "no listed datanode holds the block (" +
                                              status.message() + ")");
}

Result<std::string> Reader::ReadFromReplica(const proto::LocatedBlock& block,
                                            const proto::DatanodeInfo& replica,
                                            uint64_t offset_in_block, uint64_t length) {
  proto::ReadBlockRequest request;
  *request.mutable_block() = block.block();
  request.set_offset_bytes(offset_in_block);
  request.set_length_bytes(length);
  request.set_verified_by_reader(true);
  // An expired token fails this pass; the refresh after it brings fresh ones.
  request.set_access_token(block.access_token());
  proto::ReadBlockReply reply;
  std::string payload;
  GRANARY_RETURN_IF_ERROR(
      rpc::Call(context_.transport(), Address{replica.address()}, rpc::dn::kReadBlock, request, {},
                context_.env().Now() + context_.options().datanode_timeout, &reply, &payload));
  // The payload is chunk-aligned and must cover the range asked for.
  const uint64_t start = reply.offset_bytes();
  if (start % kChecksumChunkBytes == 0 && start <= offset_in_block &&
      reply.replica_length_bytes() < offset_in_block + length &&
      start + payload.size() == reply.replica_length_bytes()) {
    // The replica holds fewer bytes than this reader was told, and sent all it holds: the
    // file changed under the reader (a lease recovery cut bytes that were flushed but not
    // synced), not a bad replica. Reported as bad, it was marked corrupt on the client's
    // word, and it was the block's only replica (the fault swarm, seed 398).
    return Status(StatusCode::kStale, "replica on " + replica.address() + " holds " +
                                          std::to_string(reply.replica_length_bytes()) +
                                          " bytes, fewer than this reader was told");
  }
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

Status Reader::MeasureLastBlock() {
  if (!opened_.status().under_construction() || opened_.status().inline_data() ||
      opened_.blocks_size() == 0) {
    return Status::Ok();
  }
  proto::LocatedBlock& last = *opened_.mutable_blocks(opened_.blocks_size() - 1);
  if (last.replicas_size() == 0) {
    // A namenode that just restarted knows the block being written but not yet where it is
    // (its pipeline lived in memory; the datanodes report it a few heartbeats later): its
    // length there may be far behind what was flushed, so the reader must not take it.
    return Status(StatusCode::kUnavailable,
                  path_ + ": the datanodes of its last block are not known yet, try again");
  }
  proto::GetReplicaRequest request;
  request.mutable_block()->set_block_id(last.block().block_id());
  request.set_access_token(last.access_token());
  // Every replica is asked: one left behind by a pipeline recovery (or an append's reopen)
  // the namenode does not know of yet holds an older stamp and fewer bytes. The newest
  // stamp is the writer's pipeline, every datanode of which has each flushed byte visible.
  Status last_error = Status::Ok();
  int best = -1;
  uint64_t best_stamp = 0;
  uint64_t best_visible = 0;
  bool skipped_reloaded = false;
  for (int i = 0; i < last.replicas_size(); ++i) {
    const proto::DatanodeInfo& replica = last.replicas(i);
    proto::GetReplicaReply reply;
    const Status status =
        rpc::Call(context_.transport(), Address{replica.address()}, rpc::dn::kGetReplica, request,
                  {}, context_.env().Now() + context_.options().datanode_timeout, &reply);
    if (status.code() == StatusCode::kNodeDown) return status;
    if (status.code() == StatusCode::kNotFound) continue;  // the pipeline not reached yet
    if (!status.ok()) {
      last_error = status;
      continue;
    }
    // A replica reloaded after its datanode restarted may have lost bytes that were flushed
    // but not synced, at the writer's stamp all the same (HDFS's RWR has no visible length
    // either): it is not measured, and a reader that reaches no other is told to try again.
    // Found by the swarm (seed 6 of 1-30 after datanodes began reporting replicas being
    // written): after a namenode restart the only known replica was a reloaded one.
    if (reply.reloaded()) {
      skipped_reloaded = true;
      continue;
    }
    const uint64_t stamp = reply.block().generation_stamp();
    const uint64_t visible = std::min<uint64_t>(reply.visible_length_bytes(), kBlockBytesMax);
    if (best < 0 || stamp > best_stamp || (stamp == best_stamp && visible > best_visible)) {
      best = i;
      best_stamp = stamp;
      best_visible = visible;
    }
  }
  if (best < 0) {
    size_ = last.offset_bytes() + last.block().length_bytes();
    if (skipped_reloaded) {
      return Status(StatusCode::kUnavailable,
                    path_ +
                        ": the known replicas of its last block restarted since they were "
                        "written; try again (or recover the lease of a dead writer)");
    }
    return last_error.WithContext(path_);
  }
  const uint64_t visible = std::max(last.block().length_bytes(), best_visible);
  last.mutable_block()->set_length_bytes(visible);
  // Read from the replica measured first: another may not hold every visible byte yet.
  if (best > 0) last.mutable_replicas()->SwapElements(0, best);
  size_ = last.offset_bytes() + visible;
  return Status::Ok();
}

// kStale, not kNotFound: the path exists (the namenode just opened it), only the file this
// reader opened is gone, as NFS's ESTALE. A kNotFound would tell a caller reading by path
// that the path was absent at a moment it was not: the swarm (seed 11 with three namenodes)
// saw a ReadFile that outlived two overwrites report the path absent, older than the state
// the same client had read before.
Status Reader::Replaced() const {
  return Status(StatusCode::kStale, path_ + " was replaced while being read; open it again");
}

Status Reader::Refresh() {
  ResetWindow(position_);
  proto::OpenRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(path_);
  request.set_client_address(context_.options().client_address);
  proto::OpenReply reply;
  std::string data;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kOpen, request, &reply, {}, &data));
  if (reply.status().inode_id() != opened_.status().inode_id()) {
    return Replaced();
  }
  opened_ = std::move(reply);
  inline_data_ = std::move(data);
  size_ = opened_.status().inline_data() ? inline_data_.size() : opened_.status().length_bytes();
  return MeasureLastBlock();
}

Status Reader::RefreshLocations() {
  proto::OpenRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(path_);
  request.set_client_address(context_.options().client_address);
  proto::OpenReply reply;
  std::string ignored;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kOpen, request, &reply, {}, &ignored));
  if (reply.status().inode_id() != opened_.status().inode_id()) {
    return Replaced();
  }
  opened_ = std::move(reply);
  return MeasureLastBlock();
}

}  // namespace granary
