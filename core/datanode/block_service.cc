#include "core/datanode/block_service.h"

#include <algorithm>
#include <cassert>
#include <set>
#include <utility>
#include <vector>

#include "core/common/crc32c.h"
#include "core/common/handoff.h"
#include "core/common/limits.h"
#include "core/security/identity.h"

namespace granary {
namespace {

static_assert(kDatanodePacketBytesMax <= kPayloadBytesMax);
static_assert(kDatanodeReadBytesMax + 2 * kChecksumChunkBytes <= kPayloadBytesMax);
static_assert(kDatanodeReadBytesMax + 2 * kChecksumChunkBytes <= kDiskReadBytesMax);

Status Invalid(std::string what) { return Status(StatusCode::kInvalidArgument, std::move(what)); }
Status TooBig(std::string what) { return Status(StatusCode::kLimitExceeded, std::move(what)); }

std::string BlockName(uint64_t block_id) { return "block " + std::to_string(block_id); }

uint64_t ChunkCount(uint64_t bytes) {
  return (bytes + kChecksumChunkBytes - 1) / kChecksumChunkBytes;
}

// Whether a packet at `offset` continues `replica`: at its end, or from the start of the
// partial chunk it ends in (after a flush), covering that chunk's bytes.
bool RewritesTail(const Replica& replica, uint64_t offset, uint64_t payload_bytes) {
  if (offset == replica.length_bytes) return true;
  return offset < replica.length_bytes && replica.length_bytes - offset < kChecksumChunkBytes &&
         offset + payload_bytes >= replica.length_bytes;
}

}  // namespace

proto::BlockRef ToBlockRef(const Replica& replica) {
  proto::BlockRef ref;
  ref.set_block_id(replica.block_id.value());
  ref.set_generation_stamp(replica.generation_stamp.value());
  ref.set_length_bytes(replica.length_bytes);
  return ref;
}

BlockService::BlockService(Env& env, Transport& transport, ReplicaStore& store,
                           BlockLockTable& locks, FiberGroup& fibers,
                           const DatanodeOptions& options, BlockEvents events)
    : env_(env),
      transport_(transport),
      store_(store),
      locks_(locks),
      fibers_(fibers),
      options_(options),
      events_(std::move(events)) {
  assert(events_.finalized);
  assert(events_.corrupt);
}

void BlockService::AddRoutes(rpc::Router& router) {
  router.Add(rpc::dn::kWriteBlock, [this](const proto::WriteBlockRequest& request,
                                          proto::WriteBlockReply* reply, rpc::Exchange& exchange) {
    // A replication's copy (transfer) may replace replicas a writer may not (PlanWrite): it
    // takes a datanode key or a replicate token; a writer's token does not do.
    GRANARY_RETURN_IF_ERROR(
        CheckAccess(exchange.context, request.access_token(), request.block().block_id(),
                    request.transfer() ? BlockAccess::kReplicate : BlockAccess::kWrite));
    return WriteBlock(request, exchange.request_payload, exchange.context.deadline, reply);
  });
  router.Add(rpc::dn::kReadBlock, [this](const proto::ReadBlockRequest& request,
                                         proto::ReadBlockReply* reply, rpc::Exchange& exchange) {
    GRANARY_RETURN_IF_ERROR(CheckAccess(exchange.context, request.access_token(),
                                        request.block().block_id(), BlockAccess::kRead));
    return ReadBlock(request, reply, &exchange.reply_payload);
  });
  router.Add(rpc::dn::kGetReplica,
             [this](const proto::GetReplicaRequest& request, proto::GetReplicaReply* reply,
                    rpc::Exchange& exchange) {
               GRANARY_RETURN_IF_ERROR(CheckAccess(exchange.context, request.access_token(),
                                                   request.block().block_id(), BlockAccess::kRead));
               // A reader may not stop a writer: the recovery's fence is a datanode's.
               if (request.recovery_generation_stamp() != 0 && options_.require_block_tokens &&
                   !exchange.context.principal.empty() &&
                   exchange.context.principal != kDatanodePrincipal) {
                 return Status(StatusCode::kPermissionDenied,
                               "dn.GetReplica for a recovery is for datanode keys only");
               }
               return GetReplica(request, reply);
             });
  router.Add(rpc::dn::kFinalizeReplica, [this](const proto::FinalizeReplicaRequest& request,
                                               proto::FinalizeReplicaReply*,
                                               rpc::Exchange& exchange) {
    if (options_.require_block_tokens && !exchange.context.principal.empty() &&
        exchange.context.principal != kDatanodePrincipal) {
      return Status(StatusCode::kPermissionDenied, "dn.FinalizeReplica is for datanode keys only");
    }
    return FinalizeReplica(request);
  });
}

Status BlockService::CheckAccess(const RpcContext& context, const std::string& token,
                                 uint64_t block_id, BlockAccess mode) const {
  if (!options_.require_block_tokens || context.principal == kDatanodePrincipal) {
    return Status::Ok();
  }
  // Token expiries are calendar time: the namenode's clock signed them.
  return verifier_.Verify(token, block_id, /*generation_stamp=*/0, mode,
                          InstantFromNanos(env_.CalendarNanos()));
}

Status BlockService::ChargeChecksums(uint64_t bytes, bool reading) {
  const double rate = reading && options_.read_checksum_bytes_per_second > 0
                          ? options_.read_checksum_bytes_per_second
                          : options_.checksum_bytes_per_second;
  const double nanos = static_cast<double>(bytes) * 1e9 / rate;
  return env_.ChargeCpu(Duration(static_cast<int64_t>(nanos)));
}

// ---- dn.WriteBlock ----

Status BlockService::ValidateWrite(const proto::WriteBlockRequest& request,
                                   const std::string& payload) const {
  const proto::BlockRef& block = request.block();
  if (block.block_id() == 0) return Invalid("block id 0");
  if (block.generation_stamp() == 0) return Invalid("generation stamp 0");
  if (payload.size() > kDatanodePacketBytesMax) {
    return TooBig("packet of " + std::to_string(payload.size()) +
                  " bytes exceeds kDatanodePacketBytesMax");
  }
  if (block.length_bytes() > kBlockBytesMax) return TooBig("block length exceeds kBlockBytesMax");
  if (request.offset_bytes() > kBlockBytesMax) return TooBig("offset exceeds kBlockBytesMax");
  if (request.offset_bytes() % kChecksumChunkBytes != 0) {
    return Invalid("offset " + std::to_string(request.offset_bytes()) +
                   " is not a multiple of the checksum chunk");
  }
  if (request.offset_bytes() + payload.size() != block.length_bytes()) {
    return Invalid("block length " + std::to_string(block.length_bytes()) +
                   " is not offset + payload (" + std::to_string(request.offset_bytes()) + " + " +
                   std::to_string(payload.size()) + ")");
  }
  if (!request.last_packet()) {
    if (payload.empty() && !request.flush()) {
      return Invalid("empty packet that is neither the last nor a flush");
    }
    if (payload.size() % kChecksumChunkBytes != 0 && !request.flush()) {
      return Invalid("a packet other than the last or a flush must hold whole chunks");
    }
  }
  if (static_cast<uint64_t>(request.chunk_crc32c_size()) != ChunkCount(payload.size())) {
    return Invalid(std::to_string(request.chunk_crc32c_size()) + " chunk CRCs for " +
                   std::to_string(ChunkCount(payload.size())) + " chunks of payload");
  }
  if (static_cast<uint32_t>(request.downstream_size()) >= kReplicationMax) {
    return TooBig("pipeline longer than kReplicationMax");
  }
  if (request.client_name().size() > kDatanodeClientNameBytesMax) {
    return TooBig("client name exceeds kDatanodeClientNameBytesMax");
  }
  std::set<std::string> seen = {transport_.self().value};
  for (const proto::DatanodeInfo& next : request.downstream()) {
    if (next.address().empty()) return Invalid("downstream datanode without an address");
    if (next.address().size() > kDatanodeAddressBytesMax) {
      return TooBig("downstream address exceeds kDatanodeAddressBytesMax");
    }
    if (!seen.insert(next.address()).second) {
      return Invalid("pipeline visits " + next.address() + " twice");
    }
  }
  return Status::Ok();
}

Result<BlockService::WritePlan> BlockService::PlanWrite(const proto::WriteBlockRequest& request,
                                                        uint64_t payload_bytes) const {
  const BlockId id(request.block().block_id());
  const GenerationStamp stamp(request.block().generation_stamp());
  const uint64_t offset = request.offset_bytes();
  if (auto fence = recovering_.find(id); fence != recovering_.end() && stamp < fence->second) {
    return Status(StatusCode::kStale, BlockName(id.value()) + " is being recovered at stamp " +
                                          std::to_string(fence->second.value()));
  }
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica) {
    if (offset != 0) {
      return Invalid("offset gap: " + BlockName(id.value()) + " has no replica here, offset " +
                     std::to_string(offset));
    }
    return WritePlan::kCreate;
  }
  // A copy that failed on its way (a datanode after this one in the copy's pipeline) leaves
  // an unfinished replica here that the namenode may never hear of, and a replica dropped
  // from a writer's pipeline may still be here, or rotted: either would refuse every later
  // copy of the block to this datanode, which the namenode keeps choosing.
  if (request.transfer() && offset == 0 &&
      (replica->corrupt || replica->generation_stamp < stamp ||
       (replica->generation_stamp == stamp && replica->state == ReplicaState::kWriting))) {
    return WritePlan::kReplace;
  }
  if (replica->corrupt) {
    return Status(StatusCode::kCorruption, BlockName(id.value()) + ": replica is corrupt");
  }
  if (request.recovery()) {
    if (stamp < replica->generation_stamp) {
      return Status(StatusCode::kStale, BlockName(id.value()) + ": replica has a newer stamp");
    }
    if (offset > replica->length_bytes) {
      return Invalid("offset gap: replica holds " + std::to_string(replica->length_bytes) +
                     " bytes, offset " + std::to_string(offset));
    }
    const bool unchanged = stamp == replica->generation_stamp &&
                           RewritesTail(*replica, offset, payload_bytes) &&
                           replica->state == ReplicaState::kWriting;
    return unchanged ? WritePlan::kAppend : WritePlan::kReopen;
  }
  if (replica->state == ReplicaState::kFinalized) {
    return Status(StatusCode::kAlreadyExists, BlockName(id.value()) + " is finalized here");
  }
  if (stamp != replica->generation_stamp) {
    return Status(StatusCode::kStale, BlockName(id.value()) + ": replica has stamp " +
                                          std::to_string(replica->generation_stamp.value()));
  }
  if (!RewritesTail(*replica, offset, payload_bytes)) {
    return Invalid("offset " + std::to_string(offset) + " but the replica holds " +
                   std::to_string(replica->length_bytes) + " bytes");
  }
  return WritePlan::kAppend;
}

// A reopening packet (a pipeline recovery, an append) resends bytes from a chunk boundary the
// writer knows acknowledged; the replica may hold them already, and more. Whole chunks it
// holds with the packet's own bytes are kept, not cut and written again: they may hold
// synced bytes, which a crash between the cut (durable) and the next sync would lose (the
// fault swarm, seed 2016 with three namenodes and 24 clients: a flush past a chunk boundary,
// a pipeline recovery, then the crash of its one datanode left the block 62,024 synced bytes
// short). Returns how many of the packet's leading bytes the replica holds so (0 when a read
// fails: the chunks are then written again, as before).
uint64_t BlockService::HeldWholeChunks(BlockId id, uint64_t offset, std::string_view payload) {
  const std::optional<Replica> replica = store_.Get(id);
  assert(replica.has_value());
  uint64_t held = 0;
  while (offset + held + kChecksumChunkBytes <= replica->length_bytes &&
         held + kChecksumChunkBytes <= payload.size()) {
    // Stored CRCs unchecked (no corrupt mark): the bytes and their CRC must both match.
    Result<ReplicaRead> read =
        store_.Read(id, offset + held, kChecksumChunkBytes, CrcCheck::kByReader);
    if (!read.ok() || read->data != payload.substr(held, kChecksumChunkBytes) ||
        read->chunk_crc32c.size() != 1 ||
        read->chunk_crc32c[0] != Crc32c(payload.substr(held, kChecksumChunkBytes))) {
      break;
    }
    held += kChecksumChunkBytes;
  }
  return held;
}

Status BlockService::WriteLocally(const proto::WriteBlockRequest& request,
                                  const std::string& payload, const std::vector<uint32_t>& crcs,
                                  WritePlan plan) {
  const BlockId id(request.block().block_id());
  const GenerationStamp stamp(request.block().generation_stamp());
  if (request.last_packet()) GRANARY_RETURN_IF_ERROR(env_.ChargeCpu(options_.cpu_per_replica));
  uint64_t offset = request.offset_bytes();
  std::string_view data = payload;
  std::vector<uint32_t> chunk_crcs = crcs;
  switch (plan) {
    case WritePlan::kCreate:
      GRANARY_RETURN_IF_ERROR(store_.Create(id, stamp));
      break;
    case WritePlan::kReplace:
      GRANARY_RETURN_IF_ERROR(store_.Remove(id));
      visible_bytes_.erase(id);
      unmeasured_.erase(id);
      GRANARY_RETURN_IF_ERROR(store_.Create(id, stamp));
      break;
    case WritePlan::kReopen: {
      const uint64_t held = HeldWholeChunks(id, offset, data);
      offset += held;
      data.remove_prefix(held);
      chunk_crcs.erase(chunk_crcs.begin(),
                       chunk_crcs.begin() + static_cast<ptrdiff_t>(held / kChecksumChunkBytes));
      // The replica keeps a trailing partial chunk the packet sends again (an append to it,
      // or a recovery after a flush): cutting it first would lose flushed bytes to a crash.
      const std::optional<Replica> replica = store_.Get(id);
      assert(replica.has_value());
      if (replica->reloaded && !visible_bytes_.contains(id)) unmeasured_.insert(id);
      const uint64_t keep =
          RewritesTail(*replica, offset, data.size()) ? replica->length_bytes : offset;
      // A replica finalized through its whole pipeline (no visible length kept: a last packet
      // that failed on its way keeps the one before it) holds only acknowledged bytes; an
      // append reopening it keeps them visible (the fault swarm, seed 2018 with three
      // namenodes and 24 clients: a reader measuring the replica just reopened saw visible
      // length 0, fell back to the namenode's older length and read fewer bytes than a sync
      // had acknowledged before it began).
      if (replica->state == ReplicaState::kFinalized && !visible_bytes_.contains(id)) {
        visible_bytes_[id] = keep;
      }
      GRANARY_RETURN_IF_ERROR(store_.Reopen(id, stamp, keep));
      break;
    }
    case WritePlan::kAppend:
      break;
  }
  GRANARY_RETURN_IF_ERROR(store_.AppendFrom(id, offset, data, chunk_crcs));
  if (request.last_packet()) return store_.Finalize(id);
  if (request.sync() || options_.sync_every_packet) return store_.Sync(id);
  return Status::Ok();
}

BlockService::PipelineOutcome BlockService::Forward(const proto::WriteBlockRequest& request,
                                                    std::string payload, Instant deadline) {
  assert(request.downstream_size() > 0);
  const std::string& next = request.downstream(0).address();
  proto::WriteBlockRequest forwarded = request;
  forwarded.mutable_downstream()->DeleteSubrange(0, 1);
  proto::WriteBlockReply reply;
  const Status status = rpc::Call(transport_, Address{next}, rpc::dn::kWriteBlock, forwarded,
                                  std::move(payload), deadline, &reply);
  if (!status.ok()) return {1, "datanode " + next + ": " + status.ToString()};
  if (reply.failed_index() < -1 || reply.failed_index() > forwarded.downstream_size()) {
    return {1, "datanode " + next + ": reply names pipeline position " +
                   std::to_string(reply.failed_index())};
  }
  if (reply.failed_index() >= 0) return {1 + reply.failed_index(), reply.failure()};
  return {};
}

Status BlockService::WriteBlock(const proto::WriteBlockRequest& request, const std::string& payload,
                                Instant deadline, proto::WriteBlockReply* reply) {
  GRANARY_RETURN_IF_ERROR(ValidateWrite(request, payload));
  GRANARY_RETURN_IF_ERROR(ChargeChecksums(payload.size(), /*reading=*/false));
  const std::vector<uint32_t> crcs = ChunkCrcs(payload);
  for (size_t i = 0; i < crcs.size(); ++i) {
    if (crcs[i] != request.chunk_crc32c(static_cast<int>(i))) {
      return Status(StatusCode::kCorruption, BlockName(request.block().block_id()) + ": chunk " +
                                                 std::to_string(i) +
                                                 " of the packet does not "
                                                 "match its CRC");
    }
  }
  ++writes_in_progress_;
  PipelineOutcome local;
  std::optional<Handoff<PipelineOutcome>> forwarded;
  bool began = false;  // a replica begun or reopened here: the namenodes hear of it
  {
    BlockLockTable::Guard guard(locks_, BlockId(request.block().block_id()));
    Result<WritePlan> plan = PlanWrite(request, payload.size());
    if (!plan.ok()) {
      --writes_in_progress_;
      return plan.status();
    }
    if (request.downstream_size() > 0) {
      // The downstream datanode gets a share of the remaining time, so that this one can
      // still answer with the failed position before its own caller gives up.
      const Instant now = env_.Now();
      const Duration remaining = std::max(deadline - now, Duration(0));
      const Instant forward_deadline = now + std::min(options_.rpc_timeout, remaining * 3 / 4);
      forwarded.emplace(PipelineOutcome{1, "forwarding fiber never ran"});
      // Spawned while the lock is held: packets of one block leave in the order they came.
      fibers_.Spawn("dn-forward", [this, &request, payload_copy = payload, forward_deadline,
                                   sender = forwarded->TakeSender()]() mutable {
        sender->Set(Forward(request, std::move(payload_copy), forward_deadline));
      });
    }
    const Status written = WriteLocally(request, payload, crcs, *plan);
    if (!written.ok())
      local = {0, "datanode " + transport_.self().value + ": " + written.ToString()};
    recovering_.erase(BlockId(request.block().block_id()));  // written at its stamp or newer
    began = written.ok() && *plan != WritePlan::kAppend && !request.last_packet() &&
            !request.transfer();
  }
  if (began && events_.receiving) {
    if (const std::optional<Replica> replica = store_.Get(BlockId(request.block().block_id())))
      events_.receiving(*replica);
  }
  // `request` outlives the forwarding fiber: this fiber waits for it below.
  const PipelineOutcome downstream = forwarded ? forwarded->Wait() : PipelineOutcome{};
  --writes_in_progress_;
  const PipelineOutcome& first = local.failed_index >= 0 ? local : downstream;
  reply->set_failed_index(first.failed_index);
  reply->set_failure(first.failure);
  if (local.failed_index < 0 && request.last_packet()) {
    const std::optional<Replica> replica = store_.Get(BlockId(request.block().block_id()));
    if (replica && replica->state == ReplicaState::kFinalized) events_.finalized(*replica);
  }
  if (first.failed_index < 0 && !request.last_packet()) {
    // Every datanode after this one has the packet: readers may see it.
    uint64_t& visible = visible_bytes_[BlockId(request.block().block_id())];
    visible = std::max(visible, request.block().length_bytes());
    unmeasured_.erase(BlockId(request.block().block_id()));
  } else if (request.last_packet() && first.failed_index < 0) {
    // Finalized everywhere: the replica's length is what readers see from now on. A last
    // packet that failed on its way keeps what was visible: the writer recovers the pipeline
    // (a new stamp, the same block) and a reader in between must still see every flushed
    // byte (swarm seed 57 with three namenodes: a close lost a datanode, the survivors forgot
    // the flushed length, and a tail reader fell back to the namenode's older length).
    visible_bytes_.erase(BlockId(request.block().block_id()));
    unmeasured_.erase(BlockId(request.block().block_id()));
  }
  return Status::Ok();
}

// ---- dn.ReadBlock ----

Status BlockService::ReadBlock(const proto::ReadBlockRequest& request, proto::ReadBlockReply* reply,
                               std::string* payload) {
  const proto::BlockRef& block = request.block();
  if (block.block_id() == 0) return Invalid("block id 0");
  if (block.generation_stamp() == 0) return Invalid("generation stamp 0");
  if (request.length_bytes() > kDatanodeReadBytesMax) {
    return TooBig("read of " + std::to_string(request.length_bytes()) +
                  " bytes exceeds kDatanodeReadBytesMax");
  }
  const BlockId id(block.block_id());
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica) return Status(StatusCode::kNotFound, "no replica of " + BlockName(id.value()));
  if (replica->corrupt) {
    return Status(StatusCode::kCorruption, BlockName(id.value()) + ": replica is corrupt");
  }
  if (GenerationStamp(block.generation_stamp()) > replica->generation_stamp) {
    return Status(StatusCode::kStale, BlockName(id.value()) + ": replica has the older stamp " +
                                          std::to_string(replica->generation_stamp.value()));
  }
  if (request.offset_bytes() > replica->length_bytes) {
    return Invalid("offset " + std::to_string(request.offset_bytes()) + " past the replica's " +
                   std::to_string(replica->length_bytes) + " bytes");
  }
  // A reader that verifies the CRCs itself spares the datanode the second pass over the bytes.
  const CrcCheck check = request.verified_by_reader() ? CrcCheck::kByReader : CrcCheck::kHere;
  // A replica being written may have its trailing partial chunk rewritten (after a flush),
  // its CRC cut and appended again: a read of it waits for the packet being written.
  std::optional<BlockLockTable::Guard> writing;
  if (replica->state == ReplicaState::kWriting) writing.emplace(locks_, id);
  Result<ReplicaRead> read = store_.Read(id, request.offset_bytes(), request.length_bytes(), check);
  if (read.code() == StatusCode::kCorruption) {
    const std::optional<Replica> now = store_.Get(id);
    if (now && now->corrupt) events_.corrupt(*now);
  }
  if (!read.ok()) return read.status();
  if (check == CrcCheck::kHere) {
    GRANARY_RETURN_IF_ERROR(ChargeChecksums(read->data.size(), /*reading=*/true));
  }
  reply->set_offset_bytes(read->offset_bytes);
  for (uint32_t crc : read->chunk_crc32c) reply->add_chunk_crc32c(crc);
  reply->set_replica_length_bytes(read->replica_length_bytes);
  *payload = std::move(read->data);
  return Status::Ok();
}

// ---- dn.GetReplica ----

Status BlockService::GetReplica(const proto::GetReplicaRequest& request,
                                proto::GetReplicaReply* reply) {
  if (request.block().block_id() == 0) return Invalid("block id 0");
  const BlockId id(request.block().block_id());
  std::optional<BlockLockTable::Guard> fencing;
  if (request.recovery_generation_stamp() != 0) {
    // After any packet being written here, and before any later one: the length below is
    // then the last a writer at an older stamp adds.
    fencing.emplace(locks_, id);
    GenerationStamp& fence = recovering_[id];
    fence = std::max(fence, GenerationStamp(request.recovery_generation_stamp()));
  }
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica) return Status(StatusCode::kNotFound, "no replica of " + BlockName(id.value()));
  if (replica->corrupt) {
    return Status(StatusCode::kCorruption, BlockName(id.value()) + ": replica is corrupt");
  }
  *reply->mutable_block() = ToBlockRef(*replica);
  reply->set_finalized(replica->state == ReplicaState::kFinalized);
  uint64_t visible = replica->length_bytes;
  if (replica->state == ReplicaState::kWriting && !replica->reloaded) {
    const auto it = visible_bytes_.find(id);
    visible = it == visible_bytes_.end() ? 0 : std::min(it->second, replica->length_bytes);
  }
  reply->set_visible_length_bytes(visible);
  reply->set_reloaded(replica->reloaded ||
                      (replica->state == ReplicaState::kWriting && unmeasured_.contains(id)));
  return Status::Ok();
}

// ---- dn.FinalizeReplica ----

Status BlockService::FinalizeReplica(const proto::FinalizeReplicaRequest& request) {
  const proto::BlockRef& block = request.block();
  if (block.block_id() == 0) return Invalid("block id 0");
  if (block.generation_stamp() == 0) return Invalid("new generation stamp 0");
  if (request.old_generation_stamp() == 0) return Invalid("old generation stamp 0");
  if (block.generation_stamp() < request.old_generation_stamp()) {
    return Invalid("new generation stamp older than the old one");
  }
  if (block.length_bytes() > kBlockBytesMax) return TooBig("length exceeds kBlockBytesMax");
  const BlockId id(block.block_id());
  const GenerationStamp stamp(block.generation_stamp());
  BlockLockTable::Guard guard(locks_, id);
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica) return Status(StatusCode::kNotFound, "no replica of " + BlockName(id.value()));
  if (replica->state == ReplicaState::kFinalized && replica->generation_stamp == stamp &&
      replica->length_bytes == block.length_bytes()) {
    return Status::Ok();  // a retry of a finalization that happened
  }
  if (replica->corrupt) {
    return Status(StatusCode::kCorruption, BlockName(id.value()) + ": replica is corrupt");
  }
  if (replica->generation_stamp != GenerationStamp(request.old_generation_stamp())) {
    return Status(StatusCode::kStale, BlockName(id.value()) + ": replica has stamp " +
                                          std::to_string(replica->generation_stamp.value()));
  }
  if (block.length_bytes() > replica->length_bytes) {
    return Invalid("length " + std::to_string(block.length_bytes()) + " beyond the replica's " +
                   std::to_string(replica->length_bytes) + " bytes");
  }
  // FinalizeAt passes through a replica being written at the new stamp: a reader asking
  // meanwhile takes that newest stamp's visible length, which must be the recovered length,
  // not none (the fault swarm, seed 1029 over 120 s: a tail reader fell back to the
  // namenode's older length, below bytes a Sync had acknowledged). The replica holds it.
  visible_bytes_[id] = block.length_bytes();
  GRANARY_RETURN_IF_ERROR(store_.FinalizeAt(id, stamp, block.length_bytes()));
  visible_bytes_.erase(id);
  unmeasured_.erase(id);
  if (auto it = recovering_.find(id); it != recovering_.end() && it->second <= stamp) {
    recovering_.erase(it);
  }
  const std::optional<Replica> finalized = store_.Get(id);
  assert(finalized && finalized->state == ReplicaState::kFinalized);
  events_.finalized(*finalized);
  return Status::Ok();
}

}  // namespace granary
