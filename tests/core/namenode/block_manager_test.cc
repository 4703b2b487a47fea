// The block map and its replication work, driven directly (no simulator needed: the block
// manager never waits).
#include "core/namenode/block_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "core/namenode/datanode_manager.h"

namespace granary {
namespace {

using std::chrono::seconds;

proto::BlockRef Ref(uint64_t id, uint64_t stamp, uint64_t length) {
  proto::BlockRef ref;
  ref.set_block_id(id);
  ref.set_generation_stamp(stamp);
  ref.set_length_bytes(length);
  return ref;
}

class BlockManagerTest : public ::testing::Test {
 protected:
  BlockManagerTest() : datanodes_(Random(7)), blocks_(datanodes_, Options()) {
    for (uint32_t id = 1; id <= 5; ++id) Register(id);
  }
  static BlockManagerOptions Options() {
    BlockManagerOptions o;
    o.replication_timeout = seconds(10);
    return o;
  }
  void Register(uint32_t id) {
    proto::RegisterRequest r;
    r.set_address("dn-" + std::to_string(id));
    r.set_storage_id("DS-" + std::to_string(id));
    r.set_capacity_bytes(1 << 30);
    ASSERT_TRUE(datanodes_.Register(id, r, now_).ok());
  }
  // A complete block 1 of `length` with finalized replicas on `holders`.
  void CompleteOn(const std::vector<uint32_t>& holders, uint64_t length = 1000) {
    blocks_.AddBlock(InodeId(9), Ref(1, 1, 0), 3, BlockState::kUnderConstruction, holders);
    for (uint32_t dn : holders) blocks_.ReportReplica(dn, Ref(1, 1, length), true);
    blocks_.CompleteBlock(Ref(1, 1, length));
  }
  // Commands queued for a datanode, by kind.
  std::vector<proto::DatanodeCommand> Take(uint32_t dn) { return datanodes_.TakeCommands(dn); }

  Instant now_ = Instant(seconds(100));
  DatanodeManager datanodes_;
  BlockManager blocks_;
};

TEST_F(BlockManagerTest, FullyReplicatedBlockNeedsNothing) {
  CompleteOn({1, 2, 3});
  blocks_.Monitor(now_);
  EXPECT_EQ(blocks_.Counts().under_replicated, 0u);
  EXPECT_EQ(blocks_.GoodReplicas(BlockId(1)).size(), 3u);
  for (uint32_t dn = 1; dn <= 5; ++dn) EXPECT_TRUE(Take(dn).empty()) << dn;
}

TEST_F(BlockManagerTest, DeadDatanodeTriggersOneBoundedCopyThatCompletes) {
  CompleteOn({1, 2, 3});
  blocks_.DatanodeDead(2);
  EXPECT_EQ(blocks_.Counts().under_replicated, 1u);
  blocks_.Monitor(now_);
  // One replicate command, on a holder, to a datanode that has no replica.
  std::vector<proto::DatanodeCommand> all;
  for (uint32_t dn : {1u, 3u}) {
    for (auto& c : Take(dn)) all.push_back(c);
  }
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind(), proto::DatanodeCommand::KIND_REPLICATE);
  ASSERT_EQ(all[0].targets_size(), 1);
  const uint32_t target = all[0].targets(0).datanode_id();
  EXPECT_TRUE(target == 4 || target == 5);
  // Pending: a second pass does not send it again.
  blocks_.Monitor(now_ + seconds(1));
  EXPECT_TRUE(Take(1).empty());
  EXPECT_TRUE(Take(3).empty());
  blocks_.ReportReplica(target, Ref(1, 1, 1000), true);
  blocks_.Monitor(now_ + seconds(2));
  EXPECT_EQ(blocks_.Counts().under_replicated, 0u);
  EXPECT_EQ(blocks_.Counts().pending_replications, 0u);
}

TEST_F(BlockManagerTest, UnconfirmedCopyIsScheduledAgainAfterTheTimeout) {
  CompleteOn({1, 2, 3});
  blocks_.DatanodeDead(3);
  blocks_.Monitor(now_);
  size_t sent = Take(1).size() + Take(2).size();
  EXPECT_EQ(sent, 1u);
  blocks_.Monitor(now_ + seconds(11));
  sent = Take(1).size() + Take(2).size();
  EXPECT_EQ(sent, 1u);
}

TEST_F(BlockManagerTest, CorruptReplicaIsDeletedAndReplaced) {
  CompleteOn({1, 2, 3});
  blocks_.ReportCorrupt(2, Ref(1, 1, 1000));
  EXPECT_EQ(blocks_.GoodReplicas(BlockId(1)).size(), 2u);
  blocks_.Monitor(now_);
  std::vector<proto::DatanodeCommand> to2 = Take(2);
  ASSERT_EQ(to2.size(), 1u);
  EXPECT_EQ(to2[0].kind(), proto::DatanodeCommand::KIND_DELETE);
  // The copy does not go to the datanode still holding the corrupt one.
  for (uint32_t dn : {1u, 3u}) {
    for (auto& c : Take(dn)) {
      ASSERT_EQ(c.kind(), proto::DatanodeCommand::KIND_REPLICATE);
      EXPECT_NE(c.targets(0).datanode_id(), 2u);
    }
  }
}

TEST_F(BlockManagerTest, ExcessReplicasAreTrimmed) {
  CompleteOn({1, 2, 3});
  blocks_.ReportReplica(4, Ref(1, 1, 1000), true);
  blocks_.ReportReplica(5, Ref(1, 1, 1000), true);
  blocks_.Monitor(now_);
  int deletes = 0;
  for (uint32_t dn = 1; dn <= 5; ++dn) {
    for (auto& c : Take(dn)) deletes += c.kind() == proto::DatanodeCommand::KIND_DELETE;
  }
  EXPECT_EQ(deletes, 2);
  EXPECT_EQ(blocks_.GoodReplicas(BlockId(1)).size(), 3u);
}

TEST_F(BlockManagerTest, WrongLengthStaleAndUnknownReplicasAreDeleted) {
  CompleteOn({1, 2, 3});
  blocks_.ReportReplica(4, Ref(1, 1, 999), true);  // finalized at the wrong length
  blocks_.ReportReplica(5, Ref(77, 1, 10), true);  // a block nobody has
  std::vector<proto::DatanodeCommand> to5 = Take(5);
  ASSERT_EQ(to5.size(), 1u);
  EXPECT_EQ(to5[0].kind(), proto::DatanodeCommand::KIND_DELETE);
  EXPECT_EQ(to5[0].block().block_id(), 77u);
  blocks_.Monitor(now_);
  std::vector<proto::DatanodeCommand> to4 = Take(4);
  ASSERT_EQ(to4.size(), 1u);
  EXPECT_EQ(to4[0].kind(), proto::DatanodeCommand::KIND_DELETE);
  // A pipeline recovery to stamp 2 on {1, 3}: the replica on 2, still at stamp 1, goes.
  blocks_.AddBlock(InodeId(9), Ref(2, 1, 0), 3, BlockState::kUnderConstruction, {1, 2, 3});
  for (uint32_t dn : {1u, 2u, 3u}) blocks_.ReportReplica(dn, Ref(2, 1, 100), false);
  blocks_.UpdatePipeline(Ref(2, 2, 100), {1, 3});
  bool deleted_on_2 = false;
  for (auto& c : Take(2)) deleted_on_2 |= c.block().block_id() == 2;
  EXPECT_TRUE(deleted_on_2);
}

// An append right after a close continues on every datanode the block was completed on,
// not only those whose finalized replica was reported by then (the fault swarm, seed 232 with
// three namenodes: the append went on on the one reported replica, the others went stale,
// and when that one rotted the log's acknowledged bytes were lost).
TEST_F(BlockManagerTest, AnAppendContinuesOnTheCompletedPipelineBeforeItsReportsArrive) {
  // Appended before at stamp 1 on {1, 2, 3}, then written at stamp 2 on the same pipeline
  // and completed; only 1 has reported stamp 2 finalized.
  CompleteOn({1, 2, 3});
  blocks_.ReopenBlock(BlockId(1), {1, 2, 3});
  blocks_.UpdatePipeline(Ref(1, 2, 1500), {1, 2, 3, 4});
  blocks_.ReportReplica(1, Ref(1, 2, 2000), true);
  blocks_.CompleteBlock(Ref(1, 2, 2000));
  blocks_.Monitor(now_);  // 2 and 3, still known at stamp 1, are stale so far
  EXPECT_EQ(blocks_.GoodReplicas(BlockId(1)), (std::vector<uint32_t>{1}));
  std::vector<uint32_t> holders = blocks_.AppendHolders(BlockId(1));
  std::sort(holders.begin(), holders.end());
  EXPECT_EQ(holders, (std::vector<uint32_t>{1, 2, 3, 4}));
  // Not a dead one, nor one reported corrupt at the completed stamp.
  for (uint32_t dn : {1u, 2u, 3u, 5u}) {
    proto::HeartbeatRequest beat;
    beat.set_datanode_id(dn);
    ASSERT_TRUE(datanodes_.Heartbeat(beat, now_ + seconds(20)).ok());
  }
  ASSERT_EQ(datanodes_.ExpireSilent(now_ + seconds(20), seconds(10)), std::vector<uint32_t>{4});
  blocks_.DatanodeDead(4);
  blocks_.ReportReplica(3, Ref(1, 2, 2000), true);
  blocks_.ReportCorrupt(3, Ref(1, 2, 2000));
  holders = blocks_.AppendHolders(BlockId(1));
  std::sort(holders.begin(), holders.end());
  EXPECT_EQ(holders, (std::vector<uint32_t>{1, 2}));
  // Once reopened, only what is reported counts again.
  blocks_.ReopenBlock(BlockId(1), {1, 2});
  blocks_.UpdatePipeline(Ref(1, 3, 2000), {1});
  blocks_.ReportReplica(1, Ref(1, 3, 2100), true);
  blocks_.CompleteBlock(Ref(1, 3, 2100));
  blocks_.ReopenBlock(BlockId(1), {1});
  EXPECT_EQ(blocks_.AppendHolders(BlockId(1)), (std::vector<uint32_t>{1}));
}

TEST_F(BlockManagerTest, ReleasedBlocksAreDeletedEverywhereAndForgotten) {
  CompleteOn({1, 2, 3});
  blocks_.Release({Ref(1, 1, 1000)});
  EXPECT_EQ(blocks_.Find(BlockId(1)), nullptr);
  for (uint32_t dn : {1u, 2u, 3u}) {
    std::vector<proto::DatanodeCommand> commands = Take(dn);
    ASSERT_EQ(commands.size(), 1u);
    EXPECT_EQ(commands[0].kind(), proto::DatanodeCommand::KIND_DELETE);
  }
}

TEST_F(BlockManagerTest, MissingBlockIsCountedAndWaitsForAReplica) {
  CompleteOn({1});
  blocks_.DatanodeDead(1);
  const BlockCounts counts = blocks_.Counts();
  EXPECT_EQ(counts.missing, 1u);
  EXPECT_EQ(counts.under_replicated, 1u);
  blocks_.Monitor(now_);  // nothing to copy from
  for (uint32_t dn = 2; dn <= 5; ++dn) EXPECT_TRUE(Take(dn).empty());
  Register(1);  // back, with its full report
  proto::ReplicaReport r;
  *r.mutable_block() = Ref(1, 1, 1000);
  r.set_finalized(true);
  blocks_.FullReport(1, {r});
  EXPECT_EQ(blocks_.Counts().missing, 0u);
}

TEST_F(BlockManagerTest, ReplicasOnCountsEachDatanodesReplicasAsTheyComeAndGo) {
  CompleteOn({1, 2, 3});
  for (uint32_t dn : {1u, 2u, 3u}) EXPECT_EQ(blocks_.ReplicasOn(dn), 1u) << dn;
  EXPECT_EQ(blocks_.ReplicasOn(4), 0u);
  EXPECT_EQ(blocks_.ReplicasOn(99), 0u);  // never registered
  // A second block on 2 and 4 only.
  blocks_.AddBlock(InodeId(9), Ref(2, 1, 0), 2, BlockState::kUnderConstruction, {2, 4});
  for (uint32_t dn : {2u, 4u}) blocks_.ReportReplica(dn, Ref(2, 1, 10), true);
  EXPECT_EQ(blocks_.ReplicasOn(2), 2u);
  EXPECT_EQ(blocks_.ReplicasOn(4), 1u);
  // A dead datanode holds nothing the namenode counts.
  blocks_.DatanodeDead(2);
  EXPECT_EQ(blocks_.ReplicasOn(2), 0u);
  // A full report without block 1 drops it from datanode 3.
  proto::ReplicaReport r;
  *r.mutable_block() = Ref(2, 1, 10);
  r.set_finalized(true);
  blocks_.FullReport(3, {r});
  EXPECT_EQ(blocks_.ReplicasOn(3), 1u);
  // Released blocks are gone from every datanode once deleted.
  blocks_.Release({Ref(1, 1, 1000)});
  EXPECT_EQ(blocks_.ReplicasOn(1), 0u);
}

// Standby mode (HA): the map learns, orders nothing, keeps replicas of blocks it does not
// know yet, and EndStandby turns it into an active's map.
TEST_F(BlockManagerTest, AStandbyOrdersNothingAndKeepsReplicasOfBlocksItDoesNotKnowYet) {
  blocks_.BeginStandby();
  // Replicas of block 7 (not applied yet) and a wrong-length one of block 1.
  blocks_.ReportReplica(1, Ref(7, 2, 300), true);
  blocks_.ReportReplica(2, Ref(7, 2, 300), true);
  blocks_.ReportReplica(4, Ref(8, 2, 300), true);  // garbage: block 8 never comes
  EXPECT_EQ(blocks_.unmatched_replicas(), 3u);
  CompleteOn({1, 2, 3});
  blocks_.ReportReplica(4, Ref(1, 1, 999), true);
  blocks_.Release({Ref(1, 1, 1000)});
  for (uint32_t dn = 1; dn <= 5; ++dn) EXPECT_TRUE(Take(dn).empty()) << dn;
  // Block 7's entry applied: its replicas attach and count.
  blocks_.AddBlock(InodeId(9), Ref(7, 2, 300), 2, BlockState::kComplete, {});
  EXPECT_EQ(blocks_.unmatched_replicas(), 1u);
  EXPECT_EQ(blocks_.GoodReplicas(BlockId(7)).size(), 2u);
  // A full report from datanode 4 without block 8 drops that one.
  blocks_.FullReport(4, {});
  EXPECT_EQ(blocks_.unmatched_replicas(), 0u);
  blocks_.ReportReplica(5, Ref(8, 2, 300), true);
  blocks_.AddBlock(InodeId(9), Ref(6, 2, 300), 1, BlockState::kComplete, {});
  blocks_.ReportReplica(5, Ref(6, 2, 300), true);
  // Active: block 6 is not in the store (garbage), block 7 is; the unmatched replica of
  // block 8 and the replica of block 6 are deleted.
  blocks_.EndStandby({BlockId(7)});
  EXPECT_FALSE(blocks_.standby());
  EXPECT_EQ(blocks_.Find(BlockId(6)), nullptr);
  EXPECT_EQ(blocks_.GoodReplicas(BlockId(7)).size(), 2u);
  const std::vector<proto::DatanodeCommand> deletes = Take(5);
  ASSERT_EQ(deletes.size(), 2u);
  std::set<uint64_t> deleted;
  for (const auto& c : deletes) {
    EXPECT_EQ(c.kind(), proto::DatanodeCommand::KIND_DELETE);
    deleted.insert(c.block().block_id());
  }
  EXPECT_EQ(deleted, (std::set<uint64_t>{6, 8}));
  for (uint32_t dn = 1; dn <= 4; ++dn) EXPECT_TRUE(Take(dn).empty()) << dn;
}

}  // namespace
}  // namespace granary
