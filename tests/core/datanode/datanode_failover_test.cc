// The datanode with a list of namenodes (issue 13): one NamenodeActor per namenode
// (core/datanode/namenode_actor.h) registers with, reports to and heartbeats EVERY namenode,
// each on its own fiber, so that one unreachable namenode delays none of the others; block
// commands are obeyed only from the active under the newest fencing token, never from a
// standby (token 0) or a deposed active.
#include <gtest/gtest.h>

#include "core/datanode/datanode.h"
#include "tests/core/datanode/datanode_harness.h"

namespace granary::testing {
namespace {

constexpr uint64_t kChunk = kChecksumChunkBytes;
constexpr uint64_t kSeed = 131313;

proto::DatanodeCommand Delete(proto::BlockRef block) {
  proto::DatanodeCommand command;
  command.set_kind(proto::DatanodeCommand::KIND_DELETE);
  *command.mutable_block() = std::move(block);
  return command;
}

// Registered with `nn` (its registration count past `before`) and reported in full there.
bool RegisteredWith(const DatanodeCluster& cluster, const FakeNamenode& nn, size_t before) {
  const Datanode* datanode = cluster.running[0];
  if (datanode == nullptr || !datanode->registered() || nn.registrations.size() <= before) {
    return false;
  }
  auto it = nn.ids.find("dn-0");
  return it != nn.ids.end() && nn.LastFullReport(it->second) != nullptr;
}

TEST(DatanodeFailoverTest, EveryNamenodeOfTheListGetsRegistrationReportsAndHeartbeats) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  ASSERT_TRUE(cluster.RunUntil([&] {
    return RegisteredWith(cluster, cluster.nn, 0) && RegisteredWith(cluster, cluster.nn2, 0);
  }));
  ASSERT_EQ(cluster.running[0]->actors(), 2u);
  const size_t heartbeats[2] = {cluster.nn.heartbeats.size(), cluster.nn2.heartbeats.size()};
  cluster.sim.RunFor(1s);
  EXPECT_GE(cluster.nn.heartbeats.size(), heartbeats[0] + 5);
  EXPECT_GE(cluster.nn2.heartbeats.size(), heartbeats[1] + 5);
  EXPECT_EQ(cluster.nn.registrations.size(), 1u);  // registered once with each, then stays
  EXPECT_EQ(cluster.nn2.registrations.size(), 1u);
  // A replica finalized afterwards is reported to both.
  Random random(kSeed);
  const std::string data = RandomBytes(random, 2 * kChunk);
  cluster.RunClient([&](Env& env, Transport& transport) {
    ASSERT_EQ(
        WriteWholeBlock(env, transport, cluster.dn(0), {}, 3, 2, data, kChunk)->failed_index(), -1);
  });
  ASSERT_TRUE(cluster.RunUntil([&] {
    return cluster.nn.FinalizedReports(cluster.nn.ids.at("dn-0"), 3) > 0 &&
           cluster.nn2.FinalizedReports(cluster.nn2.ids.at("dn-0"), 3) > 0;
  }));
}

TEST(DatanodeFailoverTest, AnUnreachableNamenodeDelaysNoHeartbeatToTheOthers) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  ASSERT_TRUE(cluster.RunUntil([&] {
    return RegisteredWith(cluster, cluster.nn, 0) && RegisteredWith(cluster, cluster.nn2, 0);
  }));
  // "nn" stops answering: calls to it wait for their whole timeout (2 s in TestOptions).
  cluster.sim.CrashNode(cluster.nn_node);
  const size_t before = cluster.nn2.heartbeats.size();
  cluster.sim.RunFor(2s);
  // A heartbeat every 100 ms to "nn-2" all along, none waiting on "nn".
  EXPECT_GE(cluster.nn2.heartbeats.size(), before + 15);
  EXPECT_TRUE(cluster.running[0]->actor(1).registered());
}

TEST(DatanodeFailoverTest, AStandbysCommandsAndADeposedActivesAreRefusedANewerActivesObeyed) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  cluster.nn.fencing_token = 6;   // the active
  cluster.nn2.fencing_token = 0;  // a standby
  ASSERT_TRUE(cluster.RunUntil(
      [&] { return cluster.running[0] != nullptr && cluster.running[0]->fencing_token() == 6; }));
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn2, 0); }));
  Random random(kSeed);
  const std::string data = RandomBytes(random, 2 * kChunk);
  cluster.RunClient([&](Env& env, Transport& transport) {
    ASSERT_EQ(
        WriteWholeBlock(env, transport, cluster.dn(0), {}, 3, 2, data, kChunk)->failed_index(), -1);
  });
  const uint32_t id1 = cluster.nn.ids.at("dn-0");
  const uint32_t id2 = cluster.nn2.ids.at("dn-0");
  // A standby orders a delete (it never should): refused.
  cluster.nn2.commands[id2].push_back(Delete(Ref(3, 2, data.size())));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.nn2.commands[id2].empty(); }));
  cluster.sim.RunFor(1s);
  EXPECT_EQ(cluster.running[0]->stale_commands_refused(), 1u);
  EXPECT_EQ(cluster.nn2.DeletedReports(id2, 3), 0);
  // "nn-2" takes over under token 7; "nn", unaware, still acts under 6 and orders a delete.
  cluster.nn2.fencing_token = 7;
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.running[0]->fencing_token() == 7; }));
  cluster.nn.commands[id1].push_back(Delete(Ref(3, 2, data.size())));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.nn.commands[id1].empty(); }));
  cluster.sim.RunFor(1s);
  EXPECT_EQ(cluster.running[0]->stale_commands_refused(), 2u);
  EXPECT_EQ(cluster.running[0]->fencing_token(), 7u);
  EXPECT_EQ(cluster.nn.DeletedReports(id1, 3), 0);
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_TRUE(GetReplica(env, transport, cluster.dn(0), 3).ok());
  });
  // The active under the newest token is obeyed; both namenodes hear of the delete.
  cluster.nn2.commands[id2].push_back(Delete(Ref(3, 2, data.size())));
  ASSERT_TRUE(cluster.RunUntil([&] {
    return cluster.nn2.DeletedReports(id2, 3) > 0 && cluster.nn.DeletedReports(id1, 3) > 0;
  }));
  EXPECT_EQ(cluster.running[0]->stale_commands_refused(), 2u);
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_EQ(GetReplica(env, transport, cluster.dn(0), 3).code(), StatusCode::kNotFound);
  });
}

TEST(DatanodeFailoverTest, ANamenodeThatCannotTakeDatanodesYetIsTriedAgain) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  // "nn-2" answers kNotActive to everything at first (a namenode without a standby map).
  cluster.nn2.standby = true;
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn, 0); }));
  cluster.sim.RunFor(1s);
  EXPECT_TRUE(cluster.nn2.registrations.empty());
  cluster.nn2.standby = false;
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn2, 0); }));
  EXPECT_EQ(cluster.nn.registrations.size(), 1u);  // the other conversation went on untouched
}

}  // namespace
}  // namespace granary::testing
