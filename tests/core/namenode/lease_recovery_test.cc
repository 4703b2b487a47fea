// Lease recovery (core/namenode/lease_recovery.h): files of writers silent past the hard
// limit are closed, through a datanode's recovery when a block is being written, and the
// answers that arrive late or for nothing change nothing.
#include "core/namenode/lease_recovery.h"

#include <gtest/gtest.h>

#include "core/client/file_system.h"
#include "core/namenode/namenode.h"
#include "tests/core/namenode/namenode_rpc_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using namenode_rpc_testing::NamenodeCaller;
using namenode_rpc_testing::Super;
using std::chrono::seconds;

// Asks for `path`'s lease to be recovered, every 200 ms up to `attempts` times, until the file
// is closed; then it must hold `data`, no more and no less.
void ExpectRecoveredWith(sim::SimProcess& p, FileSystem& fs, const std::string& path,
                         const std::string& data, int attempts) {
  bool closed = false;
  for (int attempt = 0; attempt < attempts && !closed; ++attempt) {
    Result<bool> recovered = fs.RecoverLease(path);
    ASSERT_TRUE(recovered.ok()) << recovered.status().ToString();
    closed = *recovered;
    if (!closed) {
      ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(200)).ok());
    }
  }
  ASSERT_TRUE(closed);
  Result<std::string> back = fs.ReadFile(path);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->size(), data.size());
  EXPECT_TRUE(*back == data);
}

// Opens `path` for `client`, moves it to blocks and adds a block no datanode holds a byte of;
// its id (0 after a failure, which the caller's assertions then report).
uint64_t OpenWithAnUnwrittenBlock(NamenodeCaller& nn, const std::string& path,
                                  const std::string& client) {
  const uint64_t id = nn.CreateOpen(path, client);
  proto::ConvertToBlocksRequest convert;
  *convert.mutable_user() = Super();
  convert.set_inode_id(id);
  convert.set_client_name(client);
  EXPECT_TRUE(nn.Call(rpc::nn::kConvertToBlocks, convert).ok());
  proto::AddBlockRequest add;
  *add.mutable_user() = Super();
  add.set_inode_id(id);
  add.set_client_name(client);
  proto::AddBlockReply added;
  EXPECT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
  return added.block().block().block_id();
}

TEST(LeaseRecoveryTest, AFileWithoutBlocksIsClosedOnceItsWriterIsSilentPastTheHardLimit) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::CreateRequest create;
    *create.mutable_user() = Super();
    create.set_path("/abandoned");
    create.set_client_name("ghost");
    ASSERT_TRUE(nn.Call(rpc::nn::kCreate, create, nullptr, "kept bytes").ok());
  });
  EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);
  h.RunFor(seconds(3));  // within the hard limit (6 s)
  EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);
  h.RunFor(seconds(10));
  EXPECT_EQ(h.cluster().namenode()->open_files(), 0u);
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const proto::FileStatus status = nn.Stat("/abandoned");
    EXPECT_FALSE(status.under_construction());
    EXPECT_EQ(status.length_bytes(), 10u);  // what was committed stays
  });
}

TEST(LeaseRecoveryTest, ABlockNoReplicaHoldsIsGivenUpAndTheFileClosedWithoutIt) {
  ClusterHarness h;
  uint64_t block_id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    block_id = OpenWithAnUnwrittenBlock(nn, "/unwritten", "ghost");
  });
  ASSERT_NE(h.cluster().namenode()->blocks().Find(BlockId(block_id)), nullptr);
  // The first recovery takes the lease from the writer, which may only seem dead: its
  // requests about the file are refused from then on (HDFS moves the lease to the namenode).
  h.RunFor(seconds(8));  // past the hard limit (6 s) and a round of the lease monitor
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const proto::FileStatus status = nn.Stat("/unwritten");
    ASSERT_TRUE(status.under_construction());
    proto::BumpGenerationRequest bump;
    *bump.mutable_user() = Super();
    bump.set_inode_id(status.inode_id());
    bump.set_client_name("ghost");
    bump.mutable_block()->set_block_id(block_id);
    const Status refused = nn.Call(rpc::nn::kBumpGeneration, bump);
    EXPECT_EQ(refused.code(), StatusCode::kLeaseConflict);
    EXPECT_NE(refused.message().find(LeaseRecovery::RecoveryHolder("ghost")), std::string::npos)
        << refused.ToString();
  });
  // No datanode ever received a byte of the block: every recovery fails, and after
  // kRecoveryAttemptsMax of them the block is dropped.
  h.RunFor(seconds(60));
  EXPECT_EQ(h.cluster().namenode()->open_files(), 0u);
  EXPECT_EQ(h.cluster().namenode()->blocks().Find(BlockId(block_id)), nullptr);
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const proto::FileStatus status = nn.Stat("/unwritten");
    EXPECT_FALSE(status.under_construction());
    EXPECT_EQ(status.length_bytes(), 0u);
  });
}

// A writer that dies between adding an inline file's conversion block and converting it:
// the file closes inline, with every byte it held, and the block is dropped.
TEST(LeaseRecoveryTest, AWriterDeadMidConversionLeavesTheFileInlineWithItsBytes) {
  ClusterHarness h;
  uint64_t block_id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::CreateRequest create;
    *create.mutable_user() = Super();
    create.set_path("/converting");
    create.set_client_name("ghost");
    proto::CreateReply created;
    ASSERT_TRUE(nn.Call(rpc::nn::kCreate, create, &created, "synced bytes").ok());
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(created.status().inode_id());
    add.set_client_name("ghost");
    proto::AddBlockReply added;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    block_id = added.block().block().block_id();
  });
  ASSERT_NE(h.cluster().namenode()->blocks().Find(BlockId(block_id)), nullptr);
  h.RunFor(seconds(20));  // past the hard limit (6 s)
  EXPECT_EQ(h.cluster().namenode()->open_files(), 0u);
  EXPECT_EQ(h.cluster().namenode()->blocks().Find(BlockId(block_id)), nullptr);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    Result<proto::FileStatus> status = fs.Stat("/converting");
    ASSERT_TRUE(status.ok());
    EXPECT_FALSE(status->under_construction());
    EXPECT_TRUE(status->inline_data());
    EXPECT_EQ(*fs.ReadFile("/converting"), "synced bytes");
  });
}

// A namenode that restarted or took over from another forgets a block's pipeline, and may
// not have heard a report of its replicas yet (the swarm's seed 102 without inline files: a
// report lost after the restart). Its datanodes still hold the bytes a Sync made durable:
// lease recovery must find them by asking, not drop the block with every synced byte.
TEST(LeaseRecoveryTest, SyncedBytesOfABlockWhoseHoldersTheNamenodeForgotAreKept) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.namenode.lease_soft_limit = std::chrono::minutes(10);
  options.namenode.lease_hard_limit = std::chrono::minutes(20);  // never reached here
  ClusterHarness h(options);
  const std::string data = cluster_testing::Pattern(3, 300 * 1024);
  bool synced = false;
  std::string writer_name;
  const NodeId writer = h.cluster().AddClient("doomed", [&](sim::SimProcess& p) {
    writer_name = h.cluster().ClientOptionsFor(p).client_name;
    FileSystem fs(p.env(), p.transport(), h.cluster().ClientOptionsFor(p));
    Result<std::unique_ptr<Writer>> out = fs.Create("/log", {});
    if (!out.ok() || !(*out)->Write(data).ok() || !(*out)->Sync().ok()) return;
    synced = true;
    (void)p.env().SleepFor(std::chrono::hours(1));
  });
  h.sim().StartNode(writer);
  while (!synced && h.sim().Now() < Instant(seconds(60))) h.RunFor(std::chrono::milliseconds(100));
  ASSERT_TRUE(synced);
  h.sim().CrashNode(writer);
  proto::BlockRef block;
  uint64_t inode_id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/log");
    proto::OpenReply opened;
    ASSERT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened).ok());
    ASSERT_EQ(opened.blocks_size(), 1);
    block = opened.blocks(0).block();
    inode_id = opened.status().inode_id();
  });
  proto::BlockRef block_as_written = block;
  block_as_written.set_length_bytes(data.size());
  // The namenode forgets the pipeline and every replica of the block; its datanodes stay live.
  BlockManager& blocks = h.cluster().namenode()->blocks();
  const BlockInfo* info = blocks.Find(BlockId(block.block_id()));
  ASSERT_NE(info, nullptr);
  ASSERT_EQ(info->state, BlockState::kUnderConstruction);
  proto::BlockRef same = block;
  same.set_generation_stamp(info->generation_stamp);
  same.set_length_bytes(info->length_bytes);
  blocks.UpdatePipeline(same, {});
  for (const auto& [datanode, record] : h.cluster().namenode()->datanodes().all()) {
    blocks.DatanodeDead(datanode);
  }
  ASSERT_TRUE(blocks.Find(BlockId(block.block_id()))->replicas.empty());
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    ExpectRecoveredWith(p, fs, "/log", data, 100);
    // The writer, had it lived, would now close the file with its block as it knew it: the
    // file was closed by the recovery (a new stamp), which its Complete must not take for
    // its own retried one.
    NamenodeCaller nn(p, h.cluster());
    proto::CompleteRequest complete;
    *complete.mutable_user() = Super();
    complete.set_path("/log");
    complete.set_inode_id(inode_id);
    complete.set_client_name(writer_name);
    *complete.mutable_last() = block_as_written;
    EXPECT_FALSE(nn.Call(rpc::nn::kComplete, complete).ok());
  });
}

// The fault swarm's seed 142 (one namenode): every datanode holding a synced block was down
// when its writer's lease expired, and five fruitless rounds dropped the block with its
// acknowledged bytes. The writer's Sync recorded the block's length (nn.Fsync), so the block
// now waits under recovery, however long, and is recovered once its datanodes return.
TEST(LeaseRecoveryTest, ASyncedBlockWaitsForItsDatanodesInsteadOfBeingDropped) {
  ClusterHarness h;
  const std::string data = cluster_testing::Pattern(5, 200 * 1024 + 17);
  bool synced = false;
  const NodeId writer = h.cluster().AddClient("doomed", [&](sim::SimProcess& p) {
    FileSystem fs(p.env(), p.transport(), h.cluster().ClientOptionsFor(p));
    Result<std::unique_ptr<Writer>> out = fs.Create("/log", {});
    if (!out.ok() || !(*out)->Write(data).ok() || !(*out)->Sync().ok()) return;
    synced = true;
    (void)p.env().SleepFor(std::chrono::hours(1));
  });
  h.sim().StartNode(writer);
  while (!synced && h.sim().Now() < Instant(seconds(60))) h.RunFor(std::chrono::milliseconds(100));
  ASSERT_TRUE(synced);
  h.sim().CrashNode(writer);
  uint64_t block_id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/log");
    proto::OpenReply opened;
    ASSERT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened).ok());
    ASSERT_EQ(opened.blocks_size(), 1);
    block_id = opened.blocks(0).block().block_id();
    // The Sync told the namenode what the block holds (its trailing partial chunk included).
    EXPECT_EQ(opened.blocks(0).block().length_bytes(), data.size());
  });
  for (NodeId datanode : h.cluster().datanode_ids()) h.sim().CrashNode(datanode);
  h.RunFor(seconds(60));  // ten hard limits, many recovery rounds
  EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);
  EXPECT_NE(h.cluster().namenode()->blocks().Find(BlockId(block_id)), nullptr);
  for (NodeId datanode : h.cluster().datanode_ids()) h.sim().RestartNode(datanode);
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    ExpectRecoveredWith(p, fs, "/log", data, 300);
  });
}

// An answer at another stamp than the recovery in flight is an earlier round's (one that
// timed out): it must not close the file (the fault swarm, seed 1001 over 120 s, where it
// closed a log at a length the next round's replicas then contradicted).
TEST(LeaseRecoveryTest, AnEarlierRoundsAnswerDoesNotCloseTheFile) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.namenode.datanode_dead_after = std::chrono::minutes(5);  // asked, never answering
  ClusterHarness h(options);
  uint64_t block_id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    block_id = OpenWithAnUnwrittenBlock(nn, "/pending", "ghost");
  });
  for (NodeId datanode : h.cluster().datanode_ids()) h.sim().CrashNode(datanode);
  h.RunFor(seconds(8));  // the hard limit passed: a recovery is in flight, unanswered
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::RecoveryDoneRequest done;
    done.mutable_block()->set_block_id(block_id);
    done.mutable_block()->set_generation_stamp(1);  // not the round's stamp
    done.mutable_block()->set_length_bytes(4096);
    done.add_datanodes(1);
    EXPECT_TRUE(nn.Call(rpc::nn::kRecoveryDone, done).ok());
    EXPECT_TRUE(nn.Stat("/pending").under_construction());
  });
  EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);
  EXPECT_EQ(h.cluster().namenode()->blocks().Find(BlockId(block_id))->length_bytes, 0u);
}

TEST(LeaseRecoveryTest, AnAnswerToNoRecoveryChangesNothing) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = nn.CreateOpen("/open", "writer");
    proto::RecoveryDoneRequest done;
    done.mutable_block()->set_block_id(12345);
    done.mutable_block()->set_generation_stamp(99);
    done.add_datanodes(1);
    EXPECT_TRUE(nn.Call(rpc::nn::kRecoveryDone, done).ok());  // late or duplicate: ignored
    EXPECT_TRUE(nn.Stat("/open").under_construction());
    EXPECT_EQ(nn.Stat("/open").inode_id(), id);
  });
  EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);
}

}  // namespace
}  // namespace granary
