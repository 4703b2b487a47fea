// Lease recovery (core/namenode/lease_recovery.h): files of writers silent past the hard
// limit are closed, through a datanode's recovery when a block is being written, and the
// answers that arrive late or for nothing change nothing.
#include "core/namenode/lease_recovery.h"

#include <gtest/gtest.h>

#include "core/namenode/namenode.h"
#include "tests/core/namenode/namenode_rpc_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using namenode_rpc_testing::NamenodeCaller;
using namenode_rpc_testing::Super;
using std::chrono::seconds;

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
    const uint64_t id = nn.CreateOpen("/unwritten", "ghost");
    proto::ConvertToBlocksRequest convert;
    *convert.mutable_user() = Super();
    convert.set_inode_id(id);
    convert.set_client_name("ghost");
    ASSERT_TRUE(nn.Call(rpc::nn::kConvertToBlocks, convert).ok());
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(id);
    add.set_client_name("ghost");
    proto::AddBlockReply added;
    ASSERT_TRUE(nn.Call(rpc::nn::kAddBlock, add, &added).ok());
    block_id = added.block().block().block_id();
  });
  ASSERT_NE(h.cluster().namenode()->blocks().Find(BlockId(block_id)), nullptr);
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
