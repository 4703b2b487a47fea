// BlockService: the datanode's RPC methods on block data (proto/datanode.proto).
//
//   dn.WriteBlock       one packet of a pipeline write: validated, checksums verified,
//                       forwarded to the rest of the pipeline while written locally.
//   dn.ReadBlock        a chunk-aligned range of a replica with its CRCs, verified.
//   dn.GetReplica       a replica's stamp, length, state (recovery) and visible length
//                       (readers of a file being written).
//   dn.FinalizeReplica  cut, restamp, sync and finalize a replica (lease recovery).
//
// Every request is checked against limits.h and the replica's state before anything is
// written; a bad request gets an error status and changes nothing. Operating failures of
// the pipeline (a full disk, a dead downstream datanode) are not error statuses: the reply's
// failed_index names the first failed position (0: this datanode).
//
// Requires: the store is loaded. Mutations of one block are serialized by `locks`.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/common/fiber_group.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/datanode/block_lock_table.h"
#include "core/datanode/datanode_options.h"
#include "core/datanode/replica_store.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "core/security/block_token.h"
#include "proto/datanode.pb.h"

namespace granary {

// A replica as the protocol names it (id, generation stamp, length).
proto::BlockRef ToBlockRef(const Replica& replica);

// What the service tells its datanode, which tells the namenode. Called on the handler's
// fiber; must not suspend for long (queue, then return).
struct BlockEvents {
  // A replica became finalized (last packet, or FinalizeReplica).
  std::function<void(const Replica&)> finalized;
  // A replica was found corrupt by a read; it is marked and no longer served.
  std::function<void(const Replica&)> corrupt;
  // A writer's pipeline began a replica here, or reopened one under a new stamp (append,
  // pipeline recovery): HDFS's RECEIVING_BLOCK. Every namenode learns who holds a block being
  // written, so that a standby that becomes the active can recover its lease and locate it
  // for readers (issue 16). Optional.
  std::function<void(const Replica&)> receiving;
};

class BlockService {
 public:
  BlockService(Env& env, Transport& transport, ReplicaStore& store, BlockLockTable& locks,
               FiberGroup& fibers, const DatanodeOptions& options, BlockEvents events);
  BlockService(const BlockService&) = delete;
  BlockService& operator=(const BlockService&) = delete;

  // Adds the four dn.* methods to `router`, which must not outlive this service.
  void AddRoutes(rpc::Router& router);

  // The methods, callable directly (the datanode recovers its own replica through them).
  // `deadline` is when the caller stops waiting; forwarded packets get less.
  Status WriteBlock(const proto::WriteBlockRequest& request, const std::string& payload,
                    Instant deadline, proto::WriteBlockReply* reply);
  Status ReadBlock(const proto::ReadBlockRequest& request, proto::ReadBlockReply* reply,
                   std::string* payload);
  Status GetReplica(const proto::GetReplicaRequest& request, proto::GetReplicaReply* reply);
  Status FinalizeReplica(const proto::FinalizeReplicaRequest& request);

  // Packets being written now (for heartbeats).
  uint32_t writes_in_progress() const { return writes_in_progress_; }

  // The block token keys (the datanode sets them from heartbeat replies).
  BlockTokenVerifier& token_verifier() { return verifier_; }

 private:
  // How a packet meets the replica: the replica's state decides, checked before any write.
  // kReplace: a replication's copy starts over a leftover replica (WriteBlockRequest.transfer).
  enum class WritePlan : uint8_t { kCreate, kReopen, kAppend, kReplace };
  struct PipelineOutcome {
    int32_t failed_index = -1;
    std::string failure;
  };

  Status ValidateWrite(const proto::WriteBlockRequest& request, const std::string& payload) const;
  Result<WritePlan> PlanWrite(const proto::WriteBlockRequest& request,
                              uint64_t payload_bytes) const;
  // WriteLocally's reopen: the packet's leading whole chunks the replica holds already.
  uint64_t HeldWholeChunks(BlockId id, uint64_t offset, std::string_view payload);
  Status WriteLocally(const proto::WriteBlockRequest& request, const std::string& payload,
                      const std::vector<uint32_t>& crcs, WritePlan plan);
  PipelineOutcome Forward(const proto::WriteBlockRequest& request, std::string payload,
                          Instant deadline);
  Status ChargeChecksums(uint64_t bytes, bool reading);
  // With options.require_block_tokens: a request from a client key needs a valid token for
  // the block in `mode`; a datanode key (pipeline forwarding, replication) needs none.
  // dn.FinalizeReplica (lease recovery) is then for datanode keys only.
  Status CheckAccess(const RpcContext& context, const std::string& token, uint64_t block_id,
                     BlockAccess mode) const;

  Env& env_;
  Transport& transport_;
  ReplicaStore& store_;
  BlockLockTable& locks_;
  FiberGroup& fibers_;
  const DatanodeOptions& options_;
  BlockEvents events_;
  uint32_t writes_in_progress_ = 0;
  BlockTokenVerifier verifier_;
  // Per replica being written: the length every datanode after this one acknowledged (the
  // visible length readers get from dn.GetReplica). Dropped when the replica is finalized;
  // one entry per replica under construction here.
  std::map<BlockId, uint64_t> visible_bytes_;
  // Blocks a lease recovery asked about (dn.GetReplica with recovery_generation_stamp): writes
  // at older stamps are refused. Dropped when the replica is finalized or written at the
  // recovery's stamp or a newer one. In memory: a restart forgets it (the writer's
  // connection broke then, and its pipeline recovery needs the namenode, which refuses it).
  std::map<BlockId, GenerationStamp> recovering_;
  // Replicas reloaded after a restart that a writer's packet reopened (a pipeline recovery):
  // no datanode after this one has acknowledged anything at the new stamp yet, and what the
  // old pipeline acknowledged was forgotten in the restart. dn.GetReplica reports them as
  // reloaded (not measured) until a packet is acknowledged through the new pipeline; with a
  // visible length of 0 a reader took the namenode's older length, short of flushed bytes
  // (the fault swarm, seed 1051 over 120 s).
  std::set<BlockId> unmeasured_;
};

}  // namespace granary
