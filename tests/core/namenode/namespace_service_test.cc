// The client-facing namespace service (core/namenode/namespace_service.h) through its RPC
// methods: what each handler persists, and the leases and block-map state it leaves behind.
#include "core/namenode/namespace_service.h"

#include <gtest/gtest.h>

#include "core/namenode/namenode.h"
#include "tests/core/namenode/namenode_rpc_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using namenode_rpc_testing::NamenodeCaller;
using namenode_rpc_testing::Super;

TEST(NamespaceServiceTest, CompleteCreateStoresTheBytesInlineAndLeavesNoLease) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    proto::CreateRequest create;
    *create.mutable_user() = Super();
    create.set_path("/small");
    create.set_complete(true);
    proto::CreateReply created;
    ASSERT_TRUE(nn.Call(rpc::nn::kCreate, create, &created, "hello").ok());
    EXPECT_EQ(created.status().length_bytes(), 5u);
    EXPECT_FALSE(created.status().under_construction());
    EXPECT_EQ(created.inline_threshold_bytes(),
              h.cluster().namenode()->ns().options().inline_threshold_bytes);
    EXPECT_EQ(h.cluster().namenode()->open_files(), 0u);

    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/small");
    proto::OpenReply opened;
    std::string bytes;
    ASSERT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened, {}, &bytes).ok());
    EXPECT_EQ(bytes, "hello");
    EXPECT_EQ(opened.blocks_size(), 0);
  });
}

TEST(NamespaceServiceTest, WriteInlineNeedsTheLeaseAndCompletingItGivesTheLeaseBack) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    NamenodeCaller nn(p, h.cluster());
    const uint64_t id = nn.CreateOpen("/open", "writer");
    EXPECT_EQ(h.cluster().namenode()->open_files(), 1u);

    proto::WriteInlineRequest write;
    *write.mutable_user() = Super();
    write.set_inode_id(id);
    write.set_client_name("intruder");
    EXPECT_EQ(nn.Call(rpc::nn::kWriteInline, write, nullptr, "xyz").code(),
              StatusCode::kLeaseConflict);
    write.set_client_name("writer");
    const uint64_t threshold = h.cluster().namenode()->ns().options().inline_threshold_bytes;
    EXPECT_EQ(
        nn.Call(rpc::nn::kWriteInline, write, nullptr, std::string(threshold + 1, 'x')).code(),
        StatusCode::kInvalidArgument);
    ASSERT_TRUE(nn.Call(rpc::nn::kWriteInline, write, nullptr, "abc").ok());
    EXPECT_TRUE(nn.Stat("/open").under_construction());
    EXPECT_EQ(nn.Stat("/open").length_bytes(), 3u);

    write.set_complete(true);
    ASSERT_TRUE(nn.Call(rpc::nn::kWriteInline, write, nullptr, "abcd").ok());
    EXPECT_FALSE(nn.Stat("/open").under_construction());
    EXPECT_EQ(nn.Stat("/open").length_bytes(), 4u);
    EXPECT_EQ(h.cluster().namenode()->open_files(), 0u);
    // Closed: the writer's lease no longer covers it.
    EXPECT_EQ(nn.Call(rpc::nn::kWriteInline, write, nullptr, "more").code(), StatusCode::kStale);
  });
}

TEST(NamespaceServiceTest, DefaultsAndClusterReportDescribeTheCluster) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    NamenodeCaller nn(p, h.cluster());
    const NamespaceOptions& options = h.cluster().namenode()->ns().options();
    proto::ServerDefaultsReply defaults;
    ASSERT_TRUE(nn.Call(rpc::nn::kServerDefaults, proto::ServerDefaultsRequest(), &defaults).ok());
    EXPECT_EQ(defaults.inline_threshold_bytes(), options.inline_threshold_bytes);
    EXPECT_EQ(defaults.replication(), options.default_replication);
    EXPECT_EQ(defaults.block_bytes(), options.default_block_bytes);

    ASSERT_TRUE(fs.Mkdirs("/d").ok());
    ASSERT_TRUE(fs.WriteFile("/d/f", "x", {}).ok());
    proto::ClusterReportReply report;
    ASSERT_TRUE(nn.Call(rpc::nn::kClusterReport, proto::ClusterReportRequest(), &report).ok());
    EXPECT_EQ(static_cast<size_t>(report.datanodes_size()), h.cluster().datanode_ids().size());
    for (const proto::DatanodeReport& dn : report.datanodes()) EXPECT_TRUE(dn.live());
    EXPECT_EQ(report.files(), 1u);
    EXPECT_EQ(report.directories(), 1u);  // /d; the root is not counted
    EXPECT_EQ(report.blocks(), 0u);       // an inline file has none
  });
}

TEST(NamespaceServiceTest, SetReplicationReachesTheBlockMap) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    NamenodeCaller nn(p, h.cluster());
    const std::string data = cluster_testing::Pattern(3, 600 * 1024);  // two blocks
    ASSERT_TRUE(fs.WriteFile("/big", data, {}).ok());
    proto::SetReplicationRequest set;
    *set.mutable_user() = Super();
    set.set_path("/big");
    set.set_replication(2);
    ASSERT_TRUE(nn.Call(rpc::nn::kSetReplication, set).ok());
    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/big");
    proto::OpenReply opened;
    ASSERT_TRUE(nn.Call(rpc::nn::kOpen, open, &opened).ok());
    ASSERT_EQ(opened.blocks_size(), 2);
    for (const proto::LocatedBlock& located : opened.blocks()) {
      const BlockInfo* info =
          h.cluster().namenode()->blocks().Find(BlockId(located.block().block_id()));
      ASSERT_NE(info, nullptr);
      EXPECT_EQ(info->replication, 2u);
    }
  });
}

}  // namespace
}  // namespace granary
