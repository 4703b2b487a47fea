#include "core/client/writer.h"

#include <algorithm>
#include <cassert>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/rpc/router.h"
#include "core/security/block_token.h"
#include "proto/datanode.pb.h"
#include "proto/namenode.pb.h"

namespace granary {
namespace {

Address AddressOf(const proto::DatanodeInfo& info) { return Address{info.address()}; }

// The first datanode refused the packet for its expired write token, or a later one did
// (`failure`, the reply's): no datanode failed, the writer needs a fresh token.
bool TokenExpired(const Status& status, const std::string& failure) {
  if (IsExpiredBlockToken(status)) return true;
  return status.ok() && failure.find(kBlockTokenExpired) != std::string::npos;
}

// The pipeline position to drop after a failed packet: none (-1) when the token expired, else
// the reply's failed index, or the first datanode when the call itself failed.
int FailedIndex(const Status& status, const std::string& failure, int failed_index, int replicas) {
  if (TokenExpired(status, failure)) return -1;
  return status.ok() ? std::clamp(failed_index, 0, replicas - 1) : 0;
}

}  // namespace

Writer::Writer(ClientContext& context, std::string path, const CreateOptions& options,
               uint64_t inline_threshold_bytes, uint64_t default_block_bytes)
    : context_(context),
      namenode_(context.namenode()),
      path_(std::move(path)),
      overwrite_(options.overwrite),
      create_parents_(options.create_parents),
      replication_(options.replication),
      mode_(options.mode),
      inline_threshold_bytes_(inline_threshold_bytes),
      block_bytes_(options.block_bytes ? options.block_bytes : default_block_bytes) {}

Writer::Writer(ClientContext& context, std::string path, AppendStart start,
               uint64_t inline_threshold_bytes)
    : context_(context),
      namenode_(context.namenode()),
      path_(std::move(path)),
      overwrite_(false),
      create_parents_(false),
      replication_(start.replication),
      mode_(0),
      inline_threshold_bytes_(inline_threshold_bytes),
      block_bytes_(start.block_bytes) {
  assert(start.inode_id != 0);
  created_ = true;
  lease_.emplace(context_.leases().Take());
  inode_id_ = start.inode_id;
  last_namenode_contact_ = context_.env().Now();
  if (start.inline_data) {
    inline_on_namenode_ = true;
    buffer_ = std::move(start.inline_bytes);
    inline_stored_bytes_ = buffer_.size();
    return;
  }
  mode_state_ = Mode::kBlocks;
  last_complete_block_ = start.full_last_block;
  if (start.last_block) {
    const uint64_t length = start.last_block->block().length_bytes();
    assert(start.last_block_tail.size() == length % kChecksumChunkBytes);
    block_ = std::move(start.last_block);
    block_->mutable_block()->set_generation_stamp(start.new_generation_stamp);
    block_bytes_acked_ = length - start.last_block_tail.size();
    buffer_ = std::move(start.last_block_tail);
    reopen_pending_ = true;
  }
}

Writer::~Writer() = default;

Status Writer::Fail(Status status) {
  mode_state_ = Mode::kFailed;
  lease_.reset();
  return status.WithContext(path_);
}

proto::CreateRequest Writer::CreateRequest(bool complete) const {
  proto::CreateRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(path_);
  request.set_mode(mode_);
  request.set_overwrite(overwrite_);
  request.set_replication(replication_);
  request.set_block_bytes(block_bytes_);
  request.set_client_name(context_.options().client_name);
  request.set_create_parents(create_parents_);
  request.set_complete(complete);
  return request;
}

Status Writer::EnsureCreated(std::string inline_data) {
  if (created_) return Status::Ok();
  const proto::CreateRequest request = CreateRequest(false);
  proto::CreateReply reply;
  GRANARY_RETURN_IF_ERROR(
      namenode_.Call(rpc::nn::kCreate, request, &reply, std::move(inline_data)));
  inode_id_ = reply.status().inode_id();
  created_ = true;
  lease_.emplace(context_.leases().Take());
  last_namenode_contact_ = context_.env().Now();
  return Status::Ok();
}

Status Writer::Write(std::string_view data) {
  if (mode_state_ == Mode::kClosed || mode_state_ == Mode::kFailed) {
    return Status(StatusCode::kInvalidArgument, path_ + ": write after close or failure");
  }
  bytes_written_ += data.size();
  buffer_.append(data);
  if (mode_state_ == Mode::kInline) {
    if (buffer_.size() <= inline_threshold_bytes_) return Status::Ok();
    const Status switched = SwitchToBlocks();
    if (!switched.ok()) return Fail(switched);
  }
  // Send every full packet (or block-filling packet) the buffer holds: full packets start
  // and are acknowledged later, a block's last goes alone once the others are acknowledged.
  const size_t in_flight_max = std::max<uint32_t>(context_.options().packets_in_flight, 1);
  for (;;) {
    if (!block_ && buffer_.empty()) return Status::Ok();
    const uint64_t room = block_bytes_ - block_bytes_acked_ - in_flight_bytes_;
    const uint64_t packet = std::min<uint64_t>(context_.options().packet_bytes, room);
    if (buffer_.size() - in_flight_bytes_ < packet) return Status::Ok();
    Status sent;
    if (packet == room) {
      sent = in_flight_.empty() ? SendPacket(true, false) : AwaitPackets(0);
    } else if (in_flight_.size() >= in_flight_max) {
      sent = AwaitPackets(in_flight_max - 1);
    } else if (!block_ || block_bytes_acked_ == 0 || reopen_pending_) {
      // A block's first packet goes alone: it connects the pipeline, and packets sent while
      // a connection is being made can overtake one another (the datanode refuses them).
      sent = SendPacket(false, false);
    } else {
      sent = StartPacket(packet);
    }
    if (!sent.ok()) return Fail(sent);
  }
}

Status Writer::StartPacket(uint64_t length) {
  if (!block_) GRANARY_RETURN_IF_ERROR(AllocateBlock());
  GRANARY_RETURN_IF_ERROR(RenewLeaseIfDue());
  length -= length % kChecksumChunkBytes;
  assert(length > 0);
  assert(in_flight_bytes_ + length <= buffer_.size());
  const std::string_view data = std::string_view(buffer_).substr(in_flight_bytes_, length);
  proto::WriteBlockRequest request = PacketRequest(data, block_bytes_acked_ + in_flight_bytes_,
                                                   /*last=*/false, /*sync=*/false, false);
  InFlight packet;
  packet.length = length;
  packet.reply = std::make_unique<Handoff<Result<proto::WriteBlockReply>>>(
      Status(StatusCode::kNodeDown, "packet never sent"));
  // The fiber uses nothing of the writer's, which may go away before it ends.
  context_.env().Spawn(
      "write-packet", [&transport = context_.transport(), to = AddressOf(block_->replicas(0)),
                       request = std::move(request), payload = std::string(data),
                       deadline = context_.env().Now() + context_.options().datanode_timeout,
                       sender = packet.reply->TakeSender()]() mutable {
        proto::WriteBlockReply reply;
        const Status status = rpc::Call(transport, to, rpc::dn::kWriteBlock, request,
                                        std::move(payload), deadline, &reply);
        if (status.ok()) {
          sender->Set(std::move(reply));
        } else {
          sender->Set(status);
        }
      });
  in_flight_bytes_ += length;
  in_flight_.push_back(std::move(packet));
  return Status::Ok();
}

Status Writer::AwaitPackets(size_t keep) {
  while (in_flight_.size() > keep) {
    Result<proto::WriteBlockReply> reply = in_flight_.front().reply->Wait();
    if (reply.ok() && reply->failed_index() == -1) {
      const uint64_t length = in_flight_.front().length;
      block_bytes_acked_ += length;
      in_flight_bytes_ -= length;
      buffer_.erase(0, length);
      in_flight_.pop_front();
      continue;
    }
    // The pipeline failed: every later packet is resent, whatever became of it (the
    // recovery cuts the survivors' replicas back to what was acknowledged).
    for (size_t i = 1; i < in_flight_.size(); ++i) (void)in_flight_[i].reply->Wait();
    in_flight_.clear();
    in_flight_bytes_ = 0;
    if (reply.code() == StatusCode::kNodeDown) return reply.status();
    const int failed = FailedIndex(reply.status(), reply.ok() ? reply->failure() : "",
                                   reply.ok() ? reply->failed_index() : 0, block_->replicas_size());
    GRANARY_RETURN_IF_ERROR(
        RecoverPipeline(failed, reply.ok() ? reply->failure() : reply.status().ToString()));
    const uint64_t room = block_bytes_ - block_bytes_acked_;
    const bool last =
        std::min<uint64_t>(context_.options().packet_bytes, room) == room && buffer_.size() >= room;
    return SendPacket(last, false, /*recovering=*/true);
  }
  return Status::Ok();
}

Status Writer::SwitchToBlocks() {
  GRANARY_RETURN_IF_ERROR(EnsureCreated(""));
  // A block smaller than the inline bytes cannot take them all (a tiny block size).
  if (inline_stored_bytes_ > 0 && inline_stored_bytes_ < block_bytes_) return MoveInlineToBlock();
  if (inline_threshold_bytes_ > 0 || inline_on_namenode_) {
    proto::ConvertToBlocksRequest request;
    *request.mutable_user() = context_.options().user;
    request.set_path(path_);
    request.set_inode_id(inode_id_);
    request.set_client_name(context_.options().client_name);
    proto::ConvertToBlocksReply reply;
    GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kConvertToBlocks, request, &reply));
  }
  mode_state_ = Mode::kBlocks;
  return Status::Ok();
}

Status Writer::MoveInlineToBlock() {
  assert(!block_ && !last_complete_block_ && block_bytes_acked_ == 0);
  mode_state_ = Mode::kBlocks;
  // Only the stored bytes go now: the rest of the buffer follows as ordinary packets.
  const std::string rest = buffer_.substr(inline_stored_bytes_);
  buffer_.resize(inline_stored_bytes_);
  const Status flushed = FlushBlocks(Durability::kDurable);
  buffer_ += rest;
  GRANARY_RETURN_IF_ERROR(flushed);
  assert(block_.has_value());
  proto::ConvertToBlocksRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(path_);
  request.set_inode_id(inode_id_);
  request.set_client_name(context_.options().client_name);
  *request.mutable_block() = block_->block();
  request.mutable_block()->set_length_bytes(inline_stored_bytes_);
  proto::ConvertToBlocksReply reply;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kConvertToBlocks, request, &reply));
  inline_stored_bytes_ = 0;
  last_namenode_contact_ = context_.env().Now();
  return Status::Ok();
}

Status Writer::AllocateBlock() {
  GRANARY_RETURN_IF_ERROR(EnsureCreated(""));
  proto::AddBlockRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(path_);
  request.set_inode_id(inode_id_);
  request.set_client_name(context_.options().client_name);
  if (last_complete_block_) *request.mutable_previous() = *last_complete_block_;
  for (uint32_t id : excluded_) request.add_excluded_datanodes(id);
  request.set_client_address(context_.options().client_address);
  proto::AddBlockReply reply;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kAddBlock, request, &reply));
  if (reply.block().replicas_size() == 0) {
    return Status(StatusCode::kUnavailable, "namenode gave a block without datanodes");
  }
  block_ = reply.block();
  block_bytes_acked_ = 0;
  last_namenode_contact_ = context_.env().Now();
  return Status::Ok();
}

Status Writer::RenewLeaseIfDue() {
  Env& env = context_.env();
  if (env.Now() - last_namenode_contact_ < context_.options().lease_renew_interval) {
    return Status::Ok();
  }
  proto::RenewLeaseRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_client_name(context_.options().client_name);
  proto::RenewLeaseReply reply;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kRenewLease, request, &reply));
  last_namenode_contact_ = env.Now();
  return Status::Ok();
}

proto::WriteBlockRequest Writer::PacketRequest(std::string_view data, uint64_t offset, bool last,
                                               bool sync, bool recovering, bool flush) const {
  const ClientOptions& options = context_.options();
  proto::WriteBlockRequest request;
  *request.mutable_block() = block_->block();
  request.mutable_block()->set_length_bytes(offset + data.size());
  request.set_offset_bytes(offset);
  for (uint64_t at = 0; at < data.size(); at += kChecksumChunkBytes) {
    request.add_chunk_crc32c(Crc32c(data.substr(at, kChecksumChunkBytes)));
  }
  for (int i = 1; i < block_->replicas_size(); ++i) *request.add_downstream() = block_->replicas(i);
  request.set_last_packet(last);
  request.set_sync(sync || last || options.sync_every_packet);
  request.set_recovery(recovering);
  request.set_flush(flush);
  request.set_client_name(options.client_name);
  request.set_access_token(block_->access_token());
  return request;
}

Status Writer::SendPacket(bool last, bool sync, bool recovering, bool flush) {
  assert(in_flight_.empty());
  if (!block_) GRANARY_RETURN_IF_ERROR(AllocateBlock());
  GRANARY_RETURN_IF_ERROR(RenewLeaseIfDue());
  const uint64_t room = block_bytes_ - block_bytes_acked_;
  uint64_t length = std::min<uint64_t>({context_.options().packet_bytes, room, buffer_.size()});
  // Whole chunks only, but in the last packet and a flush.
  if (!last && !flush) length -= length % kChecksumChunkBytes;
  assert(!flush || length == buffer_.size());
  // A flush keeps its trailing partial chunk in the buffer: the next packet starts there.
  const uint64_t done = last ? length : length - length % kChecksumChunkBytes;
  const std::string_view data(buffer_.data(), length);
  const ClientOptions& options = context_.options();
  bool recovery = recovering || reopen_pending_;
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    const proto::WriteBlockRequest request =
        PacketRequest(data, block_bytes_acked_, last, sync, recovery, flush);
    proto::WriteBlockReply reply;
    const Status status = rpc::Call(context_.transport(), AddressOf(block_->replicas(0)),
                                    rpc::dn::kWriteBlock, request, std::string(data),
                                    context_.env().Now() + options.datanode_timeout, &reply);
    if (status.code() == StatusCode::kNodeDown) return status;
    if (status.ok() && reply.failed_index() == -1) {
      // Only now that the survivors hold the block at its new stamp does the namenode learn
      // of it (HDFS's order): a writer dying before this leaves the namenode's older stamp,
      // which lease recovery then accepts on the datanodes.
      const uint64_t on_datanodes = block_bytes_acked_ + length;
      block_bytes_acked_ += done;
      buffer_.erase(0, done);
      if (recovery) {
        GRANARY_RETURN_IF_ERROR(UpdatePipeline(on_datanodes));
        reopen_pending_ = false;
      }
      if (last) {
        proto::BlockRef done = block_->block();
        done.set_length_bytes(block_bytes_acked_);
        last_complete_block_ = done;
        block_.reset();
        block_bytes_acked_ = 0;
      }
      return Status::Ok();
    }
    const int failed =
        FailedIndex(status, reply.failure(), reply.failed_index(), block_->replicas_size());
    GRANARY_RETURN_IF_ERROR(
        RecoverPipeline(failed, status.ok() ? reply.failure() : status.ToString()));
    recovery = true;
  }
  return Status(StatusCode::kUnavailable, "pipeline recovery did not converge");
}

Status Writer::RecoverPipeline(int failed_index, const std::string& why) {
  proto::LocatedBlock& block = *block_;
  if (failed_index >= 0) {
    excluded_.push_back(block.replicas(failed_index).datanode_id());
    block.mutable_replicas()->erase(block.mutable_replicas()->begin() + failed_index);
  }
  if (block.replicas_size() == 0) {
    return Status(StatusCode::kUnavailable, "every datanode of the pipeline failed: " + why);
  }
  proto::BumpGenerationRequest bump;
  *bump.mutable_user() = context_.options().user;
  bump.set_inode_id(inode_id_);
  bump.set_client_name(context_.options().client_name);
  *bump.mutable_block() = block.block();
  for (uint32_t id : excluded_) bump.add_excluded_datanodes(id);
  proto::BumpGenerationReply stamped;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kBumpGeneration, bump, &stamped));
  block.mutable_block()->set_generation_stamp(stamped.generation_stamp());
  block.mutable_block()->set_length_bytes(block_bytes_acked_);
  // The block continues under a fresh write token (empty: tokens are off).
  if (!stamped.access_token().empty()) block.set_access_token(stamped.access_token());
  last_namenode_contact_ = context_.env().Now();
  return Status::Ok();
}

Status Writer::UpdatePipeline(uint64_t length_bytes) {
  proto::UpdatePipelineRequest update;
  *update.mutable_user() = context_.options().user;
  update.set_inode_id(inode_id_);
  update.set_client_name(context_.options().client_name);
  *update.mutable_block() = block_->block();
  update.mutable_block()->set_length_bytes(length_bytes);
  for (const proto::DatanodeInfo& replica : block_->replicas()) {
    update.add_datanodes(replica.datanode_id());
  }
  proto::UpdatePipelineReply updated;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kUpdatePipeline, update, &updated));
  if (length_bytes > 0) recorded_block_ = update.block().block_id();
  last_namenode_contact_ = context_.env().Now();
  return Status::Ok();
}

Status Writer::FlushBlocks(Durability durability) {
  GRANARY_RETURN_IF_ERROR(AwaitPackets(0));
  // After a recovery the buffer may hold more than a packet: full packets go first.
  for (;;) {
    const uint64_t room = block_bytes_ - block_bytes_acked_;
    const uint64_t packet = std::min<uint64_t>(context_.options().packet_bytes, room);
    if (buffer_.size() < packet) break;
    GRANARY_RETURN_IF_ERROR(SendPacket(packet == room, false));
  }
  const bool sync = durability == Durability::kDurable;
  if (buffer_.empty() && !block_) return Status::Ok();  // every block so far is finalized
  return SendPacket(false, sync, false, /*flush=*/true);
}

Status Writer::Flush(Durability durability) {
  if (mode_state_ == Mode::kClosed || mode_state_ == Mode::kFailed) {
    return Status(StatusCode::kInvalidArgument, path_ + ": flush after close or failure");
  }
  // Nothing new since a flush at least as strong.
  if (synced_at_ == bytes_written_ ||
      (durability == Durability::kVisible && flushed_at_ == bytes_written_)) {
    if (created_) return Status::Ok();
  }
  const uint64_t written = bytes_written_;
  if (mode_state_ != Mode::kInline) {
    Status sent = FlushBlocks(durability);
    if (sent.ok()) sent = RecordLastBlock();
    if (!sent.ok()) return Fail(sent);
    flushed_at_ = written;
    if (durability == Durability::kDurable) synced_at_ = written;
    return Status::Ok();
  }
  // Inline bytes are stored in the namenode's store: visible and durable at once.
  flushed_at_ = synced_at_ = written;
  {
    Status status;
    inline_stored_bytes_ = buffer_.size();
    if (!created_) {
      status = EnsureCreated(buffer_);
    } else {
      proto::WriteInlineRequest request;
      *request.mutable_user() = context_.options().user;
      request.set_path(path_);
      request.set_inode_id(inode_id_);
      request.set_client_name(context_.options().client_name);
      proto::WriteInlineReply reply;
      status = namenode_.Call(rpc::nn::kWriteInline, request, &reply, buffer_);
    }
    return status.ok() ? status : Fail(status);
  }
}

Status Writer::RecordLastBlock() {
  proto::BlockRef last;
  if (block_) {
    last = block_->block();
    last.set_length_bytes(block_bytes_acked_ + buffer_.size());  // what the datanodes hold
  } else if (last_complete_block_) {
    last = *last_complete_block_;  // the flush filled it exactly
  } else {
    return Status::Ok();
  }
  if (last.length_bytes() == 0 || last.block_id() == recorded_block_) return Status::Ok();
  proto::FsyncRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_inode_id(inode_id_);
  request.set_client_name(context_.options().client_name);
  *request.mutable_block() = last;
  proto::FsyncReply reply;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kFsync, request, &reply));
  recorded_block_ = last.block_id();
  last_namenode_contact_ = context_.env().Now();
  return Status::Ok();
}

Status Writer::CompleteFile() {
  proto::CompleteRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(path_);
  request.set_inode_id(inode_id_);
  request.set_client_name(context_.options().client_name);
  if (last_complete_block_) *request.mutable_last() = *last_complete_block_;
  for (uint32_t attempt = 1; attempt <= context_.options().complete_attempts; ++attempt) {
    proto::CompleteReply reply;
    GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kComplete, request, &reply));
    if (!reply.retry_later()) return Status::Ok();
    GRANARY_RETURN_IF_ERROR(namenode_.Backoff(std::min<uint32_t>(attempt, 4)));
  }
  return Status(StatusCode::kTimeout, "last block never reached its minimum replication");
}

Status Writer::Close() {
  if (mode_state_ == Mode::kClosed) return Status::Ok();
  if (mode_state_ == Mode::kFailed) {
    return Status(StatusCode::kInvalidArgument, path_ + ": close after a failed write");
  }
  Status status;
  if (mode_state_ == Mode::kInline) {
    if (!created_) {
      // The one round trip of a small file: create, write and close together.
      const proto::CreateRequest request = CreateRequest(true);
      proto::CreateReply reply;
      bool retried = false;
      status = namenode_.Call(rpc::nn::kCreate, request, &reply, buffer_, nullptr, &retried);
      if (status.ok()) closed_status_ = reply.status();
      if (retried && status.code() == StatusCode::kAlreadyExists) {
        // Our first attempt may have landed: the file holding exactly our bytes says so.
        proto::OpenRequest open;
        *open.mutable_user() = context_.options().user;
        open.set_path(path_);
        proto::OpenReply opened;
        std::string bytes;
        if (namenode_.Call(rpc::nn::kOpen, open, &opened, {}, &bytes).ok() &&
            opened.status().inline_data() && !opened.status().under_construction() &&
            bytes == buffer_) {
          status = Status::Ok();
        }
      }
    } else {
      proto::WriteInlineRequest request;
      *request.mutable_user() = context_.options().user;
      request.set_path(path_);
      request.set_inode_id(inode_id_);
      request.set_client_name(context_.options().client_name);
      request.set_complete(true);
      proto::WriteInlineReply reply;
      status = namenode_.Call(rpc::nn::kWriteInline, request, &reply, buffer_);
    }
  } else {
    // The packets in flight, full packets, then the rest as the block's last packet.
    status = AwaitPackets(0);
    while (status.ok() && (block_ || !buffer_.empty())) {
      const uint64_t room = block_bytes_ - block_bytes_acked_;
      const uint64_t packet = std::min<uint64_t>(context_.options().packet_bytes, room);
      const bool last = buffer_.size() <= packet;
      status = SendPacket(last || packet == room, false);
    }
    if (status.ok()) status = CompleteFile();
  }
  if (!status.ok()) return Fail(status);
  mode_state_ = Mode::kClosed;
  lease_.reset();
  buffer_.clear();
  return Status::Ok();
}

}  // namespace granary
