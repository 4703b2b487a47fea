// The namenode's block-write protocol: how a writer turns an inline file into one stored in
// blocks, adds blocks through a pipeline of datanodes, bumps a block's generation stamp and
// updates its pipeline after a datanode failed, keeps its lease alive, and completes the
// file (rpc::nn in core/rpc/methods.h; lease recovery, the same protocol's ending for a
// writer that died, is lease_recovery.h).
//
// Every handler checks that the file is open for writing under the caller's lease
// (NamenodeContext::CheckWriter) against the stored inode, persists the change through
// Namespace::MutateFile, and only then updates the block map and renews or drops the lease.
// The Namenode routes the methods here, inside its guard (namenode.h).
#pragma once

#include <cstdint>
#include <vector>

#include "core/common/status.h"
#include "core/namenode/namenode_context.h"
#include "core/rpc/router.h"
#include "proto/namenode.pb.h"

namespace granary {

class BlockWriteService {
 public:
  explicit BlockWriteService(NamenodeContext context) : ctx_(context) {}

  // An inline file under construction continues in blocks: its conversion block (below),
  // filled with the inline bytes, becomes its content in the batch that drops them.
  Status ConvertToBlocks(const proto::ConvertToBlocksRequest&, proto::ConvertToBlocksReply*,
                         rpc::Exchange&);
  // Commits the previous block at the length the writer reached and allocates the next one
  // with its pipeline. On a file still inline: allocates its conversion block, which readers
  // do not see and lease recovery discards until nn.ConvertToBlocks makes it the content.
  Status AddBlock(const proto::AddBlockRequest&, proto::AddBlockReply*, rpc::Exchange&);
  // Closes the file once its last block has min_replication finalized replicas; until then
  // the reply says retry_later.
  Status Complete(const proto::CompleteRequest&, proto::CompleteReply*, rpc::Exchange&);
  // A new generation stamp for the last block and replacement datanodes for its pipeline.
  Status BumpGeneration(const proto::BumpGenerationRequest&, proto::BumpGenerationReply*,
                        rpc::Exchange&);
  // The last block continues at a newer stamp on a new pipeline.
  Status UpdatePipeline(const proto::UpdatePipelineRequest&, proto::UpdatePipelineReply*,
                        rpc::Exchange&);
  // A writer's first flush of its last block: its length is recorded (grows only), so that
  // lease recovery knows the block holds acknowledged bytes (lease_recovery.h).
  Status Fsync(const proto::FsyncRequest&, proto::FsyncReply*, rpc::Exchange&);
  Status RenewLease(const proto::RenewLeaseRequest&, proto::RenewLeaseReply*, rpc::Exchange&);
  // Opens a closed file for appending under a new lease (proto/namenode.proto's AppendRequest):
  // write permission on the file; kLeaseConflict naming the holder when it is open already.
  // A last block with room is reopened in the block map on its good replicas (kUnavailable
  // when it has none) and its writer gets a new generation stamp for it.
  Status Append(const proto::AppendRequest&, proto::AppendReply*, rpc::Exchange&);

 private:
  // Datanodes for a new block of `current`: kUnavailable when none is live, or when the
  // namenode is starting and fewer than the file's replication are.
  Result<std::vector<uint32_t>> ChoosePipeline(const proto::AddBlockRequest& r,
                                               const proto::Inode& current);

  NamenodeContext ctx_;
};

}  // namespace granary
