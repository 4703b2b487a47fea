// The datanode with a list of namenodes (issue 13): it follows kNotActive redirects and
// moves on from a dead namenode, registering again with the one it reaches, and obeys
// commands only under the newest fencing token it has seen.
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

TEST(DatanodeFailoverTest, ARedirectToTheActiveBringsARegistrationAndAFullReportThere) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn, 0); }));
  EXPECT_TRUE(cluster.nn2.registrations.empty());  // the first of the list, and only it
  EXPECT_EQ(cluster.running[0]->namenode().current(), Address{"nn"});
  // A failover: "nn" turns standby and names "nn-2".
  cluster.nn.standby = true;
  cluster.nn.active_hint = "nn-2";
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn2, 0); }));
  EXPECT_EQ(cluster.running[0]->namenode().current(), Address{"nn-2"});
  const size_t heartbeats = cluster.nn2.heartbeats.size();
  cluster.sim.RunFor(1s);
  EXPECT_GE(cluster.nn2.heartbeats.size(), heartbeats + 5);
  EXPECT_EQ(cluster.nn2.registrations.size(), 1u);  // registered once, then stays
}

TEST(DatanodeFailoverTest, ADeadNamenodeMakesItMoveToTheNextOfTheList) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn, 0); }));
  cluster.sim.CrashNode(cluster.nn_node);
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn2, 0); }));
  EXPECT_EQ(cluster.running[0]->namenode().current(), Address{"nn-2"});
}

TEST(DatanodeFailoverTest, ADeposedActivesDeleteIsRefusedAndANewerActivesIsObeyed) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1, DatanodeCluster::TestOptions(), Namenodes::kTwo);
  cluster.nn.fencing_token = 6;
  cluster.nn2.fencing_token = 7;
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn, 0); }));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.running[0]->fencing_token() == 6; }));
  // "nn-2" takes over under token 7.
  cluster.nn.standby = true;
  cluster.nn.active_hint = "nn-2";
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.running[0]->fencing_token() == 7; }));
  Random random(kSeed);
  const std::string data = RandomBytes(random, 2 * kChunk);
  cluster.RunClient([&](Env& env, Transport& transport) {
    ASSERT_EQ(
        WriteWholeBlock(env, transport, cluster.dn(0), {}, 3, 2, data, kChunk)->failed_index(), -1);
  });
  // "nn-2" becomes unreachable while the deposed "nn", unaware, still acts as the active
  // under its old token and orders the replica deleted.
  const size_t before = cluster.nn.registrations.size();
  cluster.sim.CrashNode(cluster.nn2_node);
  cluster.nn.standby = false;
  ASSERT_TRUE(cluster.RunUntil([&] { return RegisteredWith(cluster, cluster.nn, before); }));
  const uint32_t id = cluster.nn.ids.at("dn-0");
  cluster.nn.commands[id].push_back(Delete(Ref(3, 2, data.size())));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.nn.commands[id].empty(); }));
  cluster.sim.RunFor(1s);
  EXPECT_EQ(cluster.running[0]->stale_commands_refused(), 1u);
  EXPECT_EQ(cluster.running[0]->fencing_token(), 7u);
  EXPECT_EQ(cluster.nn.DeletedReports(id, 3), 0);
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_TRUE(GetReplica(env, transport, cluster.dn(0), 3).ok());
  });
  // A newer active (token 8) is obeyed.
  cluster.nn.fencing_token = 8;
  cluster.nn.commands[id].push_back(Delete(Ref(3, 2, data.size())));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.nn.DeletedReports(id, 3) > 0; }));
  EXPECT_EQ(cluster.running[0]->fencing_token(), 8u);
  EXPECT_EQ(cluster.running[0]->stale_commands_refused(), 1u);
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_EQ(GetReplica(env, transport, cluster.dn(0), 3).code(), StatusCode::kNotFound);
  });
}

}  // namespace
}  // namespace granary::testing
