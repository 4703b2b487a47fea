// The datanode-facing service (core/namenode/datanode_service.h): stable ids per storage id,
// heartbeats that carry commands or ask a stranger to register, and block reports.
#include "core/namenode/datanode_service.h"

#include <gtest/gtest.h>

#include "core/namenode/namenode.h"
#include "tests/core/namenode/namenode_rpc_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using namenode_rpc_testing::NamenodeCaller;

proto::RegisterRequest Registration(const std::string& storage_id) {
  proto::RegisterRequest reg;
  reg.set_address("fake-datanode:1");
  reg.set_rack("r9");
  reg.set_storage_id(storage_id);
  reg.set_capacity_bytes(1 << 30);
  return reg;
}

TEST(DatanodeServiceTest, AStorageIdKeepsItsDatanodeIdAcrossRegistrationsAndRestarts) {
  ClusterHarness h;
  uint32_t first = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::RegisterReply a;
    ASSERT_TRUE(nn.Call(rpc::nn::kRegister, Registration("disk-a"), &a).ok());
    first = a.datanode_id();
    EXPECT_GT(a.heartbeat_interval_ns(), 0);
    proto::RegisterReply again;
    ASSERT_TRUE(nn.Call(rpc::nn::kRegister, Registration("disk-a"), &again).ok());
    EXPECT_EQ(again.datanode_id(), first);
    proto::RegisterReply b;
    ASSERT_TRUE(nn.Call(rpc::nn::kRegister, Registration("disk-b"), &b).ok());
    EXPECT_NE(b.datanode_id(), first);
    const DatanodeRecord* record = h.cluster().namenode()->datanodes().Find(first);
    ASSERT_NE(record, nullptr);
    EXPECT_EQ(record->storage_id, "disk-a");
    EXPECT_EQ(record->rack, "r9");
  });
  h.sim().CrashNode(h.cluster().namenode_id());
  h.RunFor(std::chrono::seconds(1));
  h.sim().StartNode(h.cluster().namenode_id());
  ASSERT_TRUE(h.cluster().WaitForDatanodes(std::chrono::seconds(30)));
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::RegisterReply after;
    ASSERT_TRUE(nn.Call(rpc::nn::kRegister, Registration("disk-a"), &after).ok());
    EXPECT_EQ(after.datanode_id(), first);
  });
}

TEST(DatanodeServiceTest, HeartbeatsCarryQueuedCommandsAndReportsNeedALiveDatanode) {
  ClusterHarness h;
  uint32_t id = 0;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::RegisterReply reg;
    ASSERT_TRUE(nn.Call(rpc::nn::kRegister, Registration("disk-c"), &reg).ok());
    id = reg.datanode_id();

    // A full report naming a block the namespace does not have: the reply to the next
    // heartbeat tells the datanode to delete it.
    proto::BlockReportRequest report;
    report.set_datanode_id(id);
    report.set_full(true);
    proto::ReplicaReport* replica = report.add_replicas();
    replica->mutable_block()->set_block_id(777777);
    replica->mutable_block()->set_generation_stamp(1);
    replica->set_finalized(true);
    ASSERT_TRUE(nn.Call(rpc::nn::kBlockReport, report).ok());
    proto::HeartbeatRequest beat;
    beat.set_datanode_id(id);
    beat.set_capacity_bytes(1 << 30);
    proto::HeartbeatReply told;
    ASSERT_TRUE(nn.Call(rpc::nn::kHeartbeat, beat, &told).ok());
    ASSERT_EQ(told.commands_size(), 1);
    EXPECT_EQ(told.commands(0).kind(), proto::DatanodeCommand::KIND_DELETE);
    EXPECT_EQ(told.commands(0).block().block_id(), 777777u);
    ASSERT_TRUE(nn.Call(rpc::nn::kHeartbeat, beat, &told).ok());
    EXPECT_EQ(told.commands_size(), 0);  // handed out once
  });
  // Silent past datanode_dead_after: dead, and its reports are refused until it registers.
  h.RunFor(std::chrono::seconds(10));
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    EXPECT_FALSE(h.cluster().namenode()->datanodes().IsLive(id));
    proto::BlockReportRequest report;
    report.set_datanode_id(id);
    EXPECT_EQ(nn.Call(rpc::nn::kBlockReport, report).code(), StatusCode::kNotFound);
    proto::HeartbeatRequest beat;
    beat.set_datanode_id(id);
    proto::HeartbeatReply told;
    ASSERT_TRUE(nn.Call(rpc::nn::kHeartbeat, beat, &told).ok());
    ASSERT_EQ(told.commands_size(), 1);
    EXPECT_EQ(told.commands(0).kind(), proto::DatanodeCommand::KIND_REREGISTER);
    proto::RegisterReply reg;
    ASSERT_TRUE(nn.Call(rpc::nn::kRegister, Registration("disk-c"), &reg).ok());
    EXPECT_EQ(reg.datanode_id(), id);
    EXPECT_TRUE(nn.Call(rpc::nn::kBlockReport, report).ok());
  });
}

}  // namespace
}  // namespace granary
