// The namenode's RPC surface under malformed and hostile requests: every one gets its own
// clear error, and the store is byte-for-byte unchanged afterwards.
#include <gtest/gtest.h>

#include "core/common/limits.h"
#include "core/namenode/namenode.h"
#include "core/rpc/router.h"
#include "proto/namenode.pb.h"
#include "sim/models/mem_store.h"
#include "tests/core/client/cluster_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;

// Every key and value of the namenode's store.
std::vector<KeyValue> Dump(sim::SimCluster& cluster, NodeId namenode) {
  Result<std::vector<KeyValue>> all =
      cluster.machine(namenode).meta_store().Scan(std::string(1, '\0'), "", kMetaScanEntriesMax);
  EXPECT_TRUE(all.ok());
  return all.ok() ? *all : std::vector<KeyValue>{};
}

proto::UserContext Super() {
  proto::UserContext user;
  user.set_user("granary");
  return user;
}

TEST(NamenodeServiceTest, HostileRequestsGetClearErrorsAndChangeNothing) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.Mkdirs("/a/b").ok());
    ASSERT_TRUE(fs.WriteFile("/a/b/f", "data", {}).ok());
  });
  h.RunFor(std::chrono::seconds(2));
  const std::vector<KeyValue> before = Dump(h.cluster(), h.cluster().namenode_id());
  ASSERT_FALSE(before.empty());

  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    Transport& t = p.transport();
    const Address nn = h.cluster().namenode_address();
    auto deadline = [&] { return p.env().Now() + std::chrono::seconds(2); };
    auto raw = [&](const std::string& method, std::string body, std::string payload = {}) {
      return t.Call(nn, RpcRequest{method, std::move(body), std::move(payload)}, deadline()).code();
    };
    auto call = [&](const auto& method, const auto& request, std::string payload = {}) {
      // Replies are not inspected: only the status.
      return rpc::Call(t, nn, method, request, std::move(payload), deadline(), nullptr).code();
    };

    EXPECT_EQ(raw("nn.NoSuchMethod", ""), StatusCode::kUnimplemented);  // structure: allow
    EXPECT_EQ(raw(std::string(rpc::nn::kCreate.name),
                  std::string("\xff\xff\xff\xff\xff\x0f garbage", 13)),
              StatusCode::kBadMessage);

    proto::CreateRequest create;
    *create.mutable_user() = Super();
    create.set_complete(true);
    create.set_path("/" + std::string(kPathBytesMax, 'p'));
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kPathTooLong);
    create.set_path("/a/" + std::string(kNameBytesMax + 1, 'n'));
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kNameTooLong);
    create.set_path(std::string("/a/x\0y", 6));
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kInvalidPath);
    create.set_path("relative");
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kInvalidPath);
    create.set_path("/a/../etc");
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kInvalidPath);
    create.set_path("/a/too-big");
    EXPECT_EQ(call(rpc::nn::kCreate, create, std::string(kInlineThresholdBytesDefault + 1, 'x')),
              StatusCode::kInvalidArgument);
    create.set_replication(kReplicationMax + 1);
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kInvalidArgument);
    create.set_replication(0);
    create.set_block_bytes(12345);
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kInvalidArgument);
    create.set_block_bytes(0);
    create.set_mode(0777777);
    EXPECT_EQ(call(rpc::nn::kCreate, create), StatusCode::kInvalidArgument);

    // Users: none, absurd, and a stranger with no rights where the superuser owns the tree.
    proto::CreateRequest nobody = create;
    nobody.set_mode(0);
    nobody.clear_user();
    EXPECT_EQ(call(rpc::nn::kCreate, nobody), StatusCode::kPermissionDenied);
    nobody.mutable_user()->set_user(std::string(1000, 'u'));
    EXPECT_EQ(call(rpc::nn::kCreate, nobody), StatusCode::kInvalidArgument);
    nobody.mutable_user()->set_user("mallory");
    for (int i = 0; i < 100; ++i) nobody.mutable_user()->add_groups("g" + std::to_string(i));
    EXPECT_EQ(call(rpc::nn::kCreate, nobody), StatusCode::kInvalidArgument);
    nobody.mutable_user()->clear_groups();
    EXPECT_EQ(call(rpc::nn::kCreate, nobody), StatusCode::kPermissionDenied);
    proto::DeleteRequest stranger_delete;
    stranger_delete.mutable_user()->set_user("mallory");
    stranger_delete.set_path("/a/b/f");
    EXPECT_EQ(call(rpc::nn::kDelete, stranger_delete), StatusCode::kPermissionDenied);

    // Unknown ids.
    proto::AddBlockRequest add;
    *add.mutable_user() = Super();
    add.set_inode_id(987654321);
    add.set_client_name("c");
    EXPECT_EQ(call(rpc::nn::kAddBlock, add), StatusCode::kNotFound);
    for (int i = 0; i < 1000; ++i) add.add_excluded_datanodes(i);
    EXPECT_EQ(call(rpc::nn::kAddBlock, add), StatusCode::kInvalidArgument);
    proto::CompleteRequest complete;
    *complete.mutable_user() = Super();
    complete.set_inode_id(987654321);
    complete.set_client_name("c");
    EXPECT_EQ(call(rpc::nn::kComplete, complete), StatusCode::kNotFound);
    proto::UpdatePipelineRequest update;
    *update.mutable_user() = Super();
    update.set_inode_id(987654321);
    EXPECT_EQ(call(rpc::nn::kUpdatePipeline, update), StatusCode::kInvalidArgument);
    proto::WriteInlineRequest inline_write;
    *inline_write.mutable_user() = Super();
    inline_write.set_inode_id(987654321);
    EXPECT_EQ(call(rpc::nn::kWriteInline, inline_write), StatusCode::kNotFound);

    // The namespace's own rules.
    proto::RenameRequest rename;
    *rename.mutable_user() = Super();
    rename.set_source("/a");
    rename.set_destination("/a/b/inside");
    EXPECT_EQ(call(rpc::nn::kRename, rename), StatusCode::kInvalidArgument);
    rename.set_source("/");
    rename.set_destination("/x");
    EXPECT_EQ(call(rpc::nn::kRename, rename), StatusCode::kInvalidArgument);
    proto::DeleteRequest remove_root;
    *remove_root.mutable_user() = Super();
    remove_root.set_path("/");
    remove_root.set_recursive(true);
    EXPECT_EQ(call(rpc::nn::kDelete, remove_root), StatusCode::kInvalidArgument);
    proto::SetPermissionRequest chmod;
    *chmod.mutable_user() = Super();
    chmod.set_path("/a");
    chmod.set_mode(0xfffff);
    EXPECT_EQ(call(rpc::nn::kSetPermission, chmod), StatusCode::kInvalidArgument);
    proto::SetOwnerRequest chown;
    *chown.mutable_user() = Super();
    chown.set_path("/a");
    EXPECT_EQ(call(rpc::nn::kSetOwner, chown), StatusCode::kInvalidArgument);

    // Batched opens: refused whole when the batch itself is malformed.
    proto::OpenManyRequest many;
    EXPECT_EQ(call(rpc::nn::kOpenMany, many), StatusCode::kPermissionDenied);  // no user
    *many.mutable_user() = Super();
    EXPECT_EQ(call(rpc::nn::kOpenMany, many), StatusCode::kInvalidArgument);  // no path
    for (size_t i = 0; i <= kOpenManyPathsMax; ++i) many.add_paths("/a/b/f");
    EXPECT_EQ(call(rpc::nn::kOpenMany, many), StatusCode::kInvalidArgument);  // too many
    many.clear_paths();
    for (size_t i = 0; i < kOpenManyPathBytesMax / kPathBytesMax + 1; ++i) {
      many.add_paths("/" + std::string(kPathBytesMax - 1, 'p'));
    }
    EXPECT_EQ(call(rpc::nn::kOpenMany, many), StatusCode::kInvalidArgument);  // too many bytes
    many.clear_paths();
    many.add_paths("/a/b/f");
    many.set_client_address(std::string(1000, 'c'));
    EXPECT_EQ(call(rpc::nn::kOpenMany, many), StatusCode::kInvalidArgument);
    // A bad path inside a good batch is that path's own error.
    many.clear_client_address();
    many.add_paths("/a/../etc");
    many.add_paths("/" + std::string(kPathBytesMax, 'p'));
    proto::OpenManyReply opened;
    std::string opened_payload;
    ASSERT_TRUE(
        rpc::Call(t, nn, rpc::nn::kOpenMany, many, {}, deadline(), &opened, &opened_payload).ok());
    ASSERT_EQ(opened.files_size(), 3);
    EXPECT_EQ(opened.files(0).status_code(), 0);
    EXPECT_EQ(opened.files(0).inline_bytes(), 4u);
    EXPECT_EQ(opened_payload, "data");
    EXPECT_EQ(opened.files(1).status_code(), static_cast<int32_t>(StatusCode::kInvalidPath));
    EXPECT_EQ(opened.files(2).status_code(), static_cast<int32_t>(StatusCode::kPathTooLong));

    // The datanode protocol.
    proto::RegisterRequest reg;
    reg.set_address("x:1");
    EXPECT_EQ(call(rpc::nn::kRegister, reg), StatusCode::kInvalidArgument);  // no storage id
    proto::BlockReportRequest report;
    report.set_datanode_id(4242);
    EXPECT_EQ(call(rpc::nn::kBlockReport, report), StatusCode::kNotFound);
    proto::ReportBadBlockRequest bad;
    bad.set_datanode_id(4242);
    EXPECT_EQ(call(rpc::nn::kReportBadBlock, bad), StatusCode::kInvalidArgument);
    proto::HeartbeatRequest beat;
    beat.set_datanode_id(4242);
    proto::HeartbeatReply told;
    ASSERT_TRUE(rpc::Call(t, nn, rpc::nn::kHeartbeat, beat, {}, deadline(), &told).ok());
    ASSERT_EQ(told.commands_size(), 1);  // a stranger is told to register, nothing more
    EXPECT_EQ(told.commands(0).kind(), proto::DatanodeCommand::KIND_REREGISTER);
  });
  EXPECT_EQ(Dump(h.cluster(), h.cluster().namenode_id()), before);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    Result<std::string> data = fs.ReadFile("/a/b/f");
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(*data, "data");
  });
}

}  // namespace
}  // namespace granary
