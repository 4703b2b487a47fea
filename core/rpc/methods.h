// The one table of RPC methods: each method's wire name with its request and reply types.
//
// Every caller, router, fuzzer and cost table names a method through a constant here, never
// through a string literal, so a name cannot be paired with the wrong request type: rpc::Call
// and Router::Add take a Method<Request, Reply> and the compiler checks both types.
//
// The names are the wire's (RpcEnvelope.method) and the keys of the simulator's per-method
// costs; changing one is a protocol change.
#pragma once

#include <array>
#include <string_view>

#include "proto/datanode.pb.h"
#include "proto/namenode.pb.h"

namespace granary::rpc {

template <typename RequestT, typename ReplyT>
struct Method {
  using Request = RequestT;
  using Reply = ReplyT;
  std::string_view name;
};

#define GRANARY_METHOD(constant, wire_name, Request, Reply) \
  inline constexpr Method<proto::Request, proto::Reply> constant { wire_name }

// The namenode's methods. Client-facing namespace service:
namespace nn {
GRANARY_METHOD(kMkdirs, "nn.Mkdirs", MkdirsRequest, MkdirsReply);
GRANARY_METHOD(kCreate, "nn.Create", CreateRequest, CreateReply);
GRANARY_METHOD(kWriteInline, "nn.WriteInline", WriteInlineRequest, WriteInlineReply);
GRANARY_METHOD(kOpen, "nn.Open", OpenRequest, OpenReply);
GRANARY_METHOD(kOpenMany, "nn.OpenMany", OpenManyRequest, OpenManyReply);
GRANARY_METHOD(kStat, "nn.Stat", StatRequest, StatReply);
GRANARY_METHOD(kList, "nn.List", ListRequest, ListReply);
GRANARY_METHOD(kDelete, "nn.Delete", DeleteRequest, DeleteReply);
GRANARY_METHOD(kRename, "nn.Rename", RenameRequest, RenameReply);
GRANARY_METHOD(kSetPermission, "nn.SetPermission", SetPermissionRequest, SetAttributeReply);
GRANARY_METHOD(kSetOwner, "nn.SetOwner", SetOwnerRequest, SetAttributeReply);
GRANARY_METHOD(kSetReplication, "nn.SetReplication", SetReplicationRequest, SetAttributeReply);
GRANARY_METHOD(kSetTimes, "nn.SetTimes", SetTimesRequest, SetAttributeReply);
GRANARY_METHOD(kClusterReport, "nn.ClusterReport", ClusterReportRequest, ClusterReportReply);
GRANARY_METHOD(kServerDefaults, "nn.ServerDefaults", ServerDefaultsRequest, ServerDefaultsReply);
GRANARY_METHOD(kReportBadBlock, "nn.ReportBadBlock", ReportBadBlockRequest, ReportBadBlockReply);
// Block-write protocol:
GRANARY_METHOD(kConvertToBlocks, "nn.ConvertToBlocks", ConvertToBlocksRequest,
               ConvertToBlocksReply);
GRANARY_METHOD(kAddBlock, "nn.AddBlock", AddBlockRequest, AddBlockReply);
GRANARY_METHOD(kComplete, "nn.Complete", CompleteRequest, CompleteReply);
GRANARY_METHOD(kBumpGeneration, "nn.BumpGeneration", BumpGenerationRequest, BumpGenerationReply);
GRANARY_METHOD(kUpdatePipeline, "nn.UpdatePipeline", UpdatePipelineRequest, UpdatePipelineReply);
GRANARY_METHOD(kRenewLease, "nn.RenewLease", RenewLeaseRequest, RenewLeaseReply);
GRANARY_METHOD(kAppend, "nn.Append", AppendRequest, AppendReply);
GRANARY_METHOD(kRecoverLease, "nn.RecoverLease", RecoverLeaseRequest, RecoverLeaseReply);
// Datanode-facing service:
GRANARY_METHOD(kRegister, "nn.Register", RegisterRequest, RegisterReply);
GRANARY_METHOD(kHeartbeat, "nn.Heartbeat", HeartbeatRequest, HeartbeatReply);
GRANARY_METHOD(kBlockReport, "nn.BlockReport", BlockReportRequest, BlockReportReply);
GRANARY_METHOD(kRecoveryDone, "nn.RecoveryDone", RecoveryDoneRequest, RecoveryDoneReply);
// High availability (issue 13): every namenode answers these, whatever its role.
GRANARY_METHOD(kHaStatus, "nn.HaStatus", HaStatusRequest, HaStatusReply);
GRANARY_METHOD(kFailover, "nn.Failover", FailoverRequest, FailoverReply);
GRANARY_METHOD(kCheckpointPage, "nn.CheckpointPage", CheckpointPageRequest, CheckpointPageReply);
// Consistent reads (issue 14): the active's applied journal sequence, for a client to read
// other clients' writes from any namenode (HDFS's msync).
GRANARY_METHOD(kMsync, "nn.Msync", MsyncRequest, MsyncReply);
// Quotas (issue 17): set and clear by the superuser; read by anyone who may stat the path.
GRANARY_METHOD(kSetQuota, "nn.SetQuota", SetQuotaRequest, SetQuotaReply);
GRANARY_METHOD(kGetQuota, "nn.GetQuota", GetQuotaRequest, GetQuotaReply);
// Block-write protocol, added later: a block's first flush recorded (lease_recovery.h).
GRANARY_METHOD(kFsync, "nn.Fsync", FsyncRequest, FsyncReply);
}  // namespace nn

// The datanode's methods.
namespace dn {
GRANARY_METHOD(kWriteBlock, "dn.WriteBlock", WriteBlockRequest, WriteBlockReply);
GRANARY_METHOD(kReadBlock, "dn.ReadBlock", ReadBlockRequest, ReadBlockReply);
GRANARY_METHOD(kGetReplica, "dn.GetReplica", GetReplicaRequest, GetReplicaReply);
GRANARY_METHOD(kFinalizeReplica, "dn.FinalizeReplica", FinalizeReplicaRequest,
               FinalizeReplicaReply);
}  // namespace dn

#undef GRANARY_METHOD

// Calls visit(method) for every namenode method. The order is the fuzz input's method byte
// (fuzz/fuzz_router.cc) and its seed corpus depends on it: append only.
template <typename Visitor>
void ForEachNamenodeMethod(Visitor&& visit) {
  visit(nn::kMkdirs);
  visit(nn::kCreate);
  visit(nn::kWriteInline);
  visit(nn::kConvertToBlocks);
  visit(nn::kAddBlock);
  visit(nn::kComplete);
  visit(nn::kBumpGeneration);
  visit(nn::kUpdatePipeline);
  visit(nn::kRenewLease);
  visit(nn::kOpen);
  visit(nn::kStat);
  visit(nn::kList);
  visit(nn::kDelete);
  visit(nn::kRename);
  visit(nn::kSetPermission);
  visit(nn::kSetOwner);
  visit(nn::kSetReplication);
  visit(nn::kReportBadBlock);
  visit(nn::kClusterReport);
  visit(nn::kServerDefaults);
  visit(nn::kRegister);
  visit(nn::kHeartbeat);
  visit(nn::kBlockReport);
  visit(nn::kRecoveryDone);
  visit(nn::kOpenMany);
  visit(nn::kHaStatus);
  visit(nn::kFailover);
  visit(nn::kCheckpointPage);
  visit(nn::kAppend);
  visit(nn::kRecoverLease);
  visit(nn::kSetTimes);
  visit(nn::kMsync);
  visit(nn::kSetQuota);
  visit(nn::kGetQuota);
  visit(nn::kFsync);
}

template <typename Visitor>
void ForEachDatanodeMethod(Visitor&& visit) {
  visit(dn::kWriteBlock);
  visit(dn::kReadBlock);
  visit(dn::kGetReplica);
  visit(dn::kFinalizeReplica);
}

}  // namespace granary::rpc
