// The block-write protocol (core/namenode/block_write_service.h) through its RPC methods, as
// a writer drives it: convert an inline file, add blocks, bump a generation stamp, update a
// pipeline, complete.
#include "core/namenode/block_write_service.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "core/namenode/namenode.h"
#include "tests/core/namenode/namenode_rpc_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using namenode_rpc_testing::NamenodeCaller;
using namenode_rpc_testing::Super;

sim::SimClusterOptions FourDatanodes() {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanodes = 4;
  return options;
}

// Opens `path` for `client` and moves it to blocks.
uint64_t OpenInBlocks(NamenodeCaller& nn, const std::string& path, const std::string& client) {
  const uint64_t id = nn.CreateOpen(path, client);
  proto::ConvertToBlocksRequest convert;
  *convert.mutable_user() = Super();
  convert.set_inode_id(id);
  convert.set_client_name(client);
  EXPECT_TRUE(nn.Call(rpc::nn::kConvertToBlocks, convert).ok());
  return id;
}

// Issue 16's conversion window: the inline bytes stay the file's content until its
// conversion block holds them, then the block replaces them in one step.
TEST(BlockWriteServiceTest, AnInlineFileMovesToItsConversionBlockInOneStep) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = nn.CreateOpen("/f", "w");
    proto::WriteInlineRequest write;
    *write.mutable_user() = Super();
    write.set_inode_id(id);
    write.set_client_name("w");
    ASSERT_TRUE(nn.Call(rpc::nn::kWriteInline, write, nullptr, "inline").ok());
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(id);
    add.set_client_name("w");
    add.mutable_previous()->set_block_id(77);
    EXPECT_EQ(nn.Call(rpc::nn::kAddBlock, add).code(), StatusCode::kInvalidArgument);
    add.clear_previous();
    // The conversion block: the file is still inline, its bytes what readers get.
    proto::AddBlockReply added;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    EXPECT_EQ(added.block().offset_bytes(), 0u);
    EXPECT_EQ(added.block().replicas_size(), 3);  // the default replication
    EXPECT_TRUE(nn.Stat("/f").inline_data());
    EXPECT_EQ(nn.Stat("/f").length_bytes(), 6u);
    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/f");
    proto::OpenReply opened;
    std::string bytes;
    ASSERT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened, {}, &bytes).ok());
    EXPECT_EQ(bytes, "inline");
    EXPECT_EQ(opened.blocks_size(), 0);
    // A second AddBlock (a retry) replaces the first.
    proto::AddBlockReply again;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &again).ok());
    const proto::BlockRef block = again.block().block();
    EXPECT_EQ(h.cluster().namenode()->blocks().Find(BlockId(added.block().block().block_id())),
              nullptr);
    EXPECT_NE(h.cluster().namenode()->blocks().Find(BlockId(block.block_id())), nullptr);

    proto::ConvertToBlocksRequest convert;
    *convert.mutable_user() = Super();
    convert.set_inode_id(id);
    convert.set_client_name("other");
    *convert.mutable_block() = block;
    convert.mutable_block()->set_length_bytes(6);
    EXPECT_EQ(nn.Call(rpc::nn::kConvertToBlocks, convert).code(), StatusCode::kLeaseConflict);
    convert.set_client_name("w");
    // Not the conversion block, or a block shorter than the inline bytes: refused.
    convert.mutable_block()->set_length_bytes(5);
    EXPECT_EQ(nn.Call(rpc::nn::kConvertToBlocks, convert).code(), StatusCode::kInvalidArgument);
    *convert.mutable_block() = added.block().block();
    convert.mutable_block()->set_length_bytes(6);
    EXPECT_EQ(nn.Call(rpc::nn::kConvertToBlocks, convert).code(), StatusCode::kInvalidArgument);
    proto::ConvertToBlocksRequest without = convert;
    without.clear_block();
    EXPECT_EQ(nn.Call(rpc::nn::kConvertToBlocks, without).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(nn.Stat("/f").inline_data());
    *convert.mutable_block() = block;
    convert.mutable_block()->set_length_bytes(6);
    ASSERT_TRUE(nn.Call(rpc::nn::kConvertToBlocks, convert).ok());
    EXPECT_TRUE(nn.Call(rpc::nn::kConvertToBlocks, convert).ok());  // a retry
    EXPECT_FALSE(nn.Stat("/f").inline_data());
    EXPECT_EQ(nn.Stat("/f").length_bytes(), 6u);
    bytes.clear();
    ASSERT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened, {}, &bytes).ok());
    EXPECT_TRUE(bytes.empty());
    ASSERT_EQ(opened.blocks_size(), 1);
    EXPECT_EQ(opened.blocks(0).block().block_id(), block.block_id());
    // The writer goes on with the next block after it.
    *add.mutable_previous() = convert.block();
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    EXPECT_EQ(added.block().offset_bytes(), 6u);
  });
}

TEST(BlockWriteServiceTest, AFileWithoutInlineBytesConvertsWithoutABlock) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = OpenInBlocks(nn, "/f", "w");
    EXPECT_FALSE(nn.Stat("/f").inline_data());
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(id);
    add.set_client_name("w");
    proto::AddBlockReply added;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    EXPECT_EQ(added.block().offset_bytes(), 0u);
  });
}

TEST(BlockWriteServiceTest, AddBlockCommitsThePreviousBlockAndTracksTheNewOne) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = OpenInBlocks(nn, "/f", "w");
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(id);
    add.set_client_name("w");
    proto::AddBlockReply first;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &first).ok());
    const BlockInfo* info =
        h.cluster().namenode()->blocks().Find(BlockId(first.block().block().block_id()));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->state, BlockState::kUnderConstruction);
    EXPECT_EQ(info->pipeline.size(), 3u);

    // The previous block must be the file's last one, no longer than the block size.
    proto::BlockRef previous = first.block().block();
    previous.set_length_bytes(1000);
    *add.mutable_previous() = previous;
    add.mutable_previous()->set_block_id(previous.block_id() + 1000);
    EXPECT_EQ(nn.Call(rpc::nn::kAddBlock, add).code(), StatusCode::kInvalidArgument);
    *add.mutable_previous() = previous;
    add.mutable_previous()->set_length_bytes(
        h.cluster().namenode()->ns().options().default_block_bytes + 1);
    EXPECT_EQ(nn.Call(rpc::nn::kAddBlock, add).code(), StatusCode::kInvalidArgument);
    *add.mutable_previous() = previous;
    proto::AddBlockReply second;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &second).ok());
    EXPECT_EQ(second.block().offset_bytes(), 1000u);
    EXPECT_NE(second.block().block().block_id(), previous.block_id());
    info = h.cluster().namenode()->blocks().Find(BlockId(previous.block_id()));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->state, BlockState::kComplete);
    EXPECT_EQ(info->length_bytes, 1000u);
    EXPECT_EQ(nn.Stat("/f").length_bytes(), 1000u);

    // Complete waits for a finalized replica of the last block: none was ever written.
    proto::CompleteRequest complete;
    *complete.mutable_user() = Super();
    complete.set_inode_id(id);
    complete.set_client_name("w");
    *complete.mutable_last() = second.block().block();
    proto::CompleteReply completed;
    ASSERT_TRUE(nn.Call(rpc::nn::kComplete, complete, &completed).ok());
    EXPECT_TRUE(completed.retry_later());
    EXPECT_TRUE(nn.Stat("/f").under_construction());
  });
}

TEST(BlockWriteServiceTest, PipelineRecoveryBumpsTheStampAndMovesTheBlock) {
  ClusterHarness h(FourDatanodes());
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = OpenInBlocks(nn, "/f", "w");
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(id);
    add.set_client_name("w");
    proto::AddBlockReply added;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    const proto::BlockRef block = added.block().block();
    std::vector<uint32_t> pipeline;
    for (const proto::DatanodeInfo& dn : added.block().replicas()) {
      pipeline.push_back(dn.datanode_id());
    }
    ASSERT_EQ(pipeline.size(), 3u);

    proto::BumpGenerationRequest bump;
    *bump.mutable_user() = Super();
    bump.set_inode_id(id);
    bump.set_client_name("w");
    *bump.mutable_block() = block;
    bump.add_excluded_datanodes(pipeline[0]);
    bump.set_replacements_wanted(1);
    proto::BumpGenerationReply bumped;
    ASSERT_TRUE(nn.Call(rpc::nn::kBumpGeneration, bump, &bumped).ok());
    EXPECT_GT(bumped.generation_stamp(), block.generation_stamp());
    ASSERT_EQ(bumped.replacements_size(), 1);  // the fourth datanode, outside the pipeline
    const uint32_t replacement = bumped.replacements(0).datanode_id();
    EXPECT_EQ(std::count(pipeline.begin(), pipeline.end(), replacement), 0);

    proto::UpdatePipelineRequest update;
    *update.mutable_user() = Super();
    update.set_inode_id(id);
    update.set_client_name("w");
    *update.mutable_block() = block;  // the old stamp
    update.add_datanodes(pipeline[1]);
    update.add_datanodes(pipeline[2]);
    update.add_datanodes(replacement);
    EXPECT_EQ(nn.Call(rpc::nn::kUpdatePipeline, update).code(), StatusCode::kStale);
    update.mutable_block()->set_generation_stamp(bumped.generation_stamp());
    ASSERT_TRUE(nn.Call(rpc::nn::kUpdatePipeline, update).ok());
    const BlockInfo* info = h.cluster().namenode()->blocks().Find(BlockId(block.block_id()));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->generation_stamp, bumped.generation_stamp());
    EXPECT_EQ(info->pipeline, (std::vector<uint32_t>{pipeline[1], pipeline[2], replacement}));

    // Someone else's client may not touch the pipeline.
    update.set_client_name("intruder");
    EXPECT_EQ(nn.Call(rpc::nn::kUpdatePipeline, update).code(), StatusCode::kLeaseConflict);
  });
}

// nn.Fsync: the last block's length is recorded for its writer at the block's stamp, grows
// only, and nobody else's client may record it.
TEST(BlockWriteServiceTest, FsyncRecordsTheLastBlocksLengthForItsWriterOnly) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = OpenInBlocks(nn, "/f", "w");
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(id);
    add.set_client_name("w");
    proto::AddBlockReply added;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    const auto stored_length = [&] {
      proto::OpenRequest open;
      *open.mutable_user() = Super();
      open.set_path("/f");
      proto::OpenReply opened;
      EXPECT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened).ok());
      return opened.blocks_size() == 1 ? opened.blocks(0).block().length_bytes() : UINT64_MAX;
    };
    EXPECT_EQ(stored_length(), 0u);
    proto::FsyncRequest fsync;
    *fsync.mutable_user() = Super();
    fsync.set_inode_id(id);
    fsync.set_client_name("w");
    *fsync.mutable_block() = added.block().block();
    fsync.mutable_block()->set_length_bytes(5000);
    ASSERT_TRUE(nn.Call(rpc::nn::kFsync, fsync).ok());
    EXPECT_EQ(stored_length(), 5000u);
    fsync.mutable_block()->set_length_bytes(100);  // shorter: a no-op, not an error
    ASSERT_TRUE(nn.Call(rpc::nn::kFsync, fsync).ok());
    EXPECT_EQ(stored_length(), 5000u);

    proto::FsyncRequest stale = fsync;
    stale.mutable_block()->set_length_bytes(9000);
    stale.mutable_block()->set_generation_stamp(fsync.block().generation_stamp() + 1);
    EXPECT_EQ(nn.Call(rpc::nn::kFsync, stale).code(), StatusCode::kStale);
    proto::FsyncRequest intruder = fsync;
    intruder.mutable_block()->set_length_bytes(9000);
    intruder.set_client_name("intruder");
    EXPECT_EQ(nn.Call(rpc::nn::kFsync, intruder).code(), StatusCode::kLeaseConflict);
    EXPECT_EQ(stored_length(), 5000u);
  });
}

TEST(BlockWriteServiceTest, RenewLeaseKeepsTheFileFromRecovery) {
  ClusterHarness h;
  uint64_t id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    id = nn.CreateOpen("/kept", "w");
    proto::RenewLeaseRequest renew;
    *renew.mutable_user() = Super();
    renew.set_client_name("w");
    // Twice the hard limit, renewed well within it.
    for (int i = 0; i < 12; ++i) {
      ASSERT_TRUE(nn.Call(rpc::nn::kRenewLease, renew).ok());
      ASSERT_TRUE(p.env().SleepFor(std::chrono::seconds(1)).ok());
    }
    EXPECT_TRUE(nn.Stat("/kept").under_construction());
  });
  EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);
  EXPECT_NE(id, 0u);
}

}  // namespace
}  // namespace granary
