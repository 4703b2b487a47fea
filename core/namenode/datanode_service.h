// The namenode's datanode-facing service: registration, heartbeats (whose replies carry the
// commands queued for the datanode), block reports and the answers to lease-recovery
// commands (rpc::nn in core/rpc/methods.h).
//
// A datanode's id is stable for its storage id, across namenode restarts too: the mapping is
// stored, so that reports sent with an id an earlier incarnation handed out never land on
// another datanode. A datanode the namenode does not know (it restarted, or declared it dead)
// is told to register again; registering voids what the block map knew of its replicas
// until its full report arrives. The Namenode routes the methods here, inside its guard.
#pragma once

#include "core/common/status.h"
#include "core/namenode/id_allocator.h"
#include "core/namenode/lease_recovery.h"
#include "core/namenode/namenode_context.h"
#include "core/rpc/router.h"
#include "core/seams/meta_store.h"
#include "proto/namenode.pb.h"

namespace granary {

class DatanodeService {
 public:
  // `datanode_ids` hands out new datanode ids (loaded by the Namenode before serving);
  // `store` keeps which id each storage id has; `recovery` receives nn.RecoveryDone.
  DatanodeService(NamenodeContext context, MetaStore& store, IdAllocator& datanode_ids,
                  LeaseRecovery& recovery)
      : ctx_(context), store_(store), datanode_ids_(datanode_ids), recovery_(recovery) {}

  Status Register(const proto::RegisterRequest&, proto::RegisterReply*, rpc::Exchange&);
  Status Heartbeat(const proto::HeartbeatRequest&, proto::HeartbeatReply*, rpc::Exchange&);
  Status BlockReport(const proto::BlockReportRequest&, proto::BlockReportReply*, rpc::Exchange&);
  Status RecoveryDone(const proto::RecoveryDoneRequest&, proto::RecoveryDoneReply*, rpc::Exchange&);

 private:
  NamenodeContext ctx_;
  MetaStore& store_;
  IdAllocator& datanode_ids_;
  LeaseRecovery& recovery_;
};

}  // namespace granary
