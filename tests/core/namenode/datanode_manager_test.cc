// The namenode's view of its datanodes (core/namenode/datanode_manager.h), driven directly:
// target choice, liveness and distance order.
#include "core/namenode/datanode_manager.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "core/common/limits.h"

namespace granary {
namespace {

using std::chrono::seconds;

TEST(DatanodeManagerTest, TargetsAreLiveDistinctLeastLoadedAndNotExcluded) {
  DatanodeManager datanodes(Random(3));
  for (uint32_t id = 1; id <= 6; ++id) {
    proto::RegisterRequest r;
    r.set_address("host" + std::to_string(id) + ":1");
    r.set_storage_id("DS-" + std::to_string(id));
    r.set_capacity_bytes(100);
    r.set_used_bytes(id == 6 ? 100 : 10);  // 6 is full
    ASSERT_TRUE(datanodes.Register(id, r, Instant(seconds(1))).ok());
  }
  const std::vector<uint32_t> chosen = datanodes.ChooseTargets(3, {1});
  ASSERT_EQ(chosen.size(), 3u);
  std::set<uint32_t> distinct(chosen.begin(), chosen.end());
  EXPECT_EQ(distinct.size(), 3u);
  EXPECT_FALSE(distinct.count(1));
  EXPECT_FALSE(distinct.count(6));
  // Those just chosen are now busier: the next choice prefers the others.
  const std::vector<uint32_t> next = datanodes.ChooseTargets(1, {1});
  ASSERT_EQ(next.size(), 1u);
  EXPECT_FALSE(distinct.count(next[0]));
  // Silent ones die; heartbeats keep the others.
  for (uint32_t id = 2; id <= 6; ++id) {
    proto::HeartbeatRequest beat;
    beat.set_datanode_id(id);
    ASSERT_TRUE(datanodes.Heartbeat(beat, Instant(seconds(20))).ok());
  }
  const std::vector<uint32_t> dead = datanodes.ExpireSilent(Instant(seconds(25)), seconds(10));
  EXPECT_EQ(dead, std::vector<uint32_t>{1});
  EXPECT_FALSE(datanodes.IsLive(1));
  proto::HeartbeatRequest late;
  late.set_datanode_id(1);
  EXPECT_EQ(datanodes.Heartbeat(late, Instant(seconds(26))).code(), StatusCode::kNotFound);
  // Same host first.
  std::vector<uint32_t> order{2, 3, 4};
  datanodes.SortByDistance(order, "host4:9999");
  EXPECT_EQ(order[0], 4u);
}

TEST(DatanodeManagerTest, CommandsQueueBoundedAndAreHandedOutInHeartbeatSizedBatches) {
  DatanodeManager datanodes(Random(5));
  proto::RegisterRequest r;
  r.set_address("host1:1");
  r.set_storage_id("DS-1");
  ASSERT_TRUE(datanodes.Register(1, r, Instant(seconds(1))).ok());
  for (size_t i = 0; i < kDatanodeCommandsQueuedMax + 10; ++i) {
    proto::DatanodeCommand command;
    command.set_kind(proto::DatanodeCommand::KIND_DELETE);
    command.mutable_block()->set_block_id(i + 1);
    datanodes.QueueCommand(1, std::move(command));
  }
  datanodes.QueueCommand(2, proto::DatanodeCommand());  // unknown: dropped
  size_t handed_out = 0;
  for (;;) {
    const std::vector<proto::DatanodeCommand> batch = datanodes.TakeCommands(1);
    if (batch.empty()) break;
    EXPECT_LE(batch.size(), kCommandsPerHeartbeatMax);
    if (handed_out == 0) {
      EXPECT_EQ(batch[0].block().block_id(), 1u);  // in queue order
    }
    handed_out += batch.size();
  }
  EXPECT_EQ(handed_out, kDatanodeCommandsQueuedMax);  // the rest were dropped
  EXPECT_TRUE(datanodes.TakeCommands(2).empty());
  // Re-registering keeps the id and drops what was queued for the earlier incarnation.
  proto::DatanodeCommand command;
  command.set_kind(proto::DatanodeCommand::KIND_DELETE);
  datanodes.QueueCommand(1, command);
  ASSERT_TRUE(datanodes.Register(1, r, Instant(seconds(2))).ok());
  EXPECT_TRUE(datanodes.TakeCommands(1).empty());
  EXPECT_EQ(datanodes.Find(1)->storage_id, "DS-1");
}

}  // namespace
}  // namespace granary
