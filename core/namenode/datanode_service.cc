#include "core/namenode/datanode_service.h"

#include <cassert>

#include "core/namenode/inode_store.h"
#include "core/security/block_token.h"
#include "core/security/identity.h"

namespace granary {

Status DatanodeService::Register(const proto::RegisterRequest& r, proto::RegisterReply* reply,
                                 rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(DatanodeManager::ValidateRegistration(r));
  // A datanode's id is stable for its storage id, across namenode restarts too: reports sent
  // with an id handed out by an earlier incarnation must not land on another datanode.
  InodeStore records(store_);
  uint32_t id = 0;
  Result<uint64_t> known = records.GetDatanodeId(r.storage_id());
  if (known.ok()) {
    id = static_cast<uint32_t>(*known);
  } else if (known.code() == StatusCode::kNotFound) {
    GRANARY_ASSIGN_OR_RETURN(uint64_t fresh, datanode_ids_.Next());
    if (fresh > UINT32_MAX) return Status(StatusCode::kLimitExceeded, "datanode ids exhausted");
    WriteBatch batch;
    InodeStore::PutDatanodeId(batch, r.storage_id(), fresh);
    GRANARY_RETURN_IF_ERROR(records.Write(batch));
    id = static_cast<uint32_t>(fresh);
  } else {
    return known.status();
  }
  GRANARY_RETURN_IF_ERROR(ctx_.datanodes.Register(id, r, ctx_.env.Now()));
  // A datanode's storage id maps back to it.
  assert(id != 0);
  assert(ctx_.datanodes.Find(id) != nullptr);
  assert(ctx_.datanodes.Find(id)->storage_id == r.storage_id());
  // What the namenode knew of an earlier incarnation of this datanode is void: its full
  // report comes next.
  ctx_.blocks.DatanodeDead(id);
  reply->set_datanode_id(id);
  reply->set_heartbeat_interval_ns(ctx_.options.heartbeat_interval.count());
  return Status::Ok();
}

Status DatanodeService::Heartbeat(const proto::HeartbeatRequest& r, proto::HeartbeatReply* reply,
                                  rpc::Exchange&) {
  reply->set_fencing_token(ctx_.options.fencing_token);
  const Status known = ctx_.datanodes.Heartbeat(r, ctx_.env.Now());
  if (known.code() == StatusCode::kNotFound) {
    reply->add_commands()->set_kind(proto::DatanodeCommand::KIND_REREGISTER);
    return Status::Ok();
  }
  GRANARY_RETURN_IF_ERROR(known);
  for (proto::DatanodeCommand& command : ctx_.datanodes.TakeCommands(r.datanode_id())) {
    const bool transfers = command.kind() == proto::DatanodeCommand::KIND_REPLICATE ||
                           command.kind() == proto::DatanodeCommand::KIND_RECOVER;
    if (transfers && ctx_.block_keys.enabled()) {
      // Signed now, not when queued: a command may wait in the queue past a token's life.
      command.set_access_token(ctx_.block_keys.Issue(command.block().block_id(),
                                                     /*generation_stamp=*/0,
                                                     BlockAccess::kReplicate,
                                                     std::string(kDatanodePrincipal)));
    }
    *reply->add_commands() = std::move(command);
  }
  // Block token keys ride on every heartbeat reply: a new key reaches every datanode within
  // a heartbeat interval, and the previous keys stay listed for their grace period.
  for (const auto& [id, key] : ctx_.block_keys.LiveKeys()) {
    proto::BlockTokenKey* out = reply->add_block_keys();
    out->set_key_id(id);
    out->set_key(key.bytes);
    out->set_expiry_ns(ToNanos(key.expiry));
  }
  return Status::Ok();
}

Status DatanodeService::BlockReport(const proto::BlockReportRequest& r, proto::BlockReportReply*,
                                    rpc::Exchange&) {
  if (!ctx_.datanodes.IsLive(r.datanode_id())) {
    return Status(StatusCode::kNotFound, "unknown datanode: register again");
  }
  if (ctx_.options.cpu_per_reported_block > Duration(0)) {
    GRANARY_RETURN_IF_ERROR(
        ctx_.env.ChargeCpu(ctx_.options.cpu_per_reported_block * r.replicas_size()));
  }
  if (r.full()) {
    ctx_.blocks.FullReport(r.datanode_id(), {r.replicas().begin(), r.replicas().end()});
  } else {
    for (const proto::ReplicaReport& replica : r.replicas()) {
      ctx_.blocks.ReportReplica(r.datanode_id(), replica.block(), replica.finalized());
    }
  }
  for (const proto::BlockRef& deleted : r.deleted()) {
    ctx_.blocks.ReportDeleted(r.datanode_id(), deleted);
  }
  return Status::Ok();
}

Status DatanodeService::RecoveryDone(const proto::RecoveryDoneRequest& r, proto::RecoveryDoneReply*,
                                     rpc::Exchange&) {
  return recovery_.Finish(r);
}

}  // namespace granary
