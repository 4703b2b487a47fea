// StandbyBlockMap (core/namenode/standby_block_map.h): a standby's block map learns blocks
// from the journal entries it applies and replicas from the datanodes, in either order; it
// hands out no datanode ids and no commands; LocateBlocks answers as the active would.
#include "core/namenode/standby_block_map.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "core/namenode/inode_store.h"
#include "core/namenode/journaled_store.h"
#include "core/rpc/methods.h"
#include "sim/kernel/sim_node.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"

namespace granary {
namespace {

constexpr uint64_t kFile = 42;

proto::BlockRef Ref(uint64_t id, uint64_t stamp, uint64_t length) {
  proto::BlockRef ref;
  ref.set_block_id(id);
  ref.set_generation_stamp(stamp);
  ref.set_length_bytes(length);
  return ref;
}

// The entry a journal would carry for `batch`.
JournalEntry Entry(uint64_t seq, const WriteBatch& batch) {
  return JournalEntry{seq, JournaledStore::Encode({&batch})};
}

// File kFile "/f" with `blocks`, open for writing or complete, and its block records.
WriteBatch FileBatch(const std::vector<proto::BlockRef>& blocks, bool open) {
  WriteBatch batch;
  proto::Inode file;
  file.set_id(kFile);
  file.set_parent_id(kRootInodeId.value());
  file.set_name("f");
  file.set_type(proto::INODE_TYPE_FILE);
  file.set_replication(1);
  file.set_under_construction(open);
  for (const proto::BlockRef& block : blocks) {
    *file.add_blocks() = block;
    proto::StoredBlock stored;
    stored.set_inode_id(kFile);
    *stored.mutable_block() = block;
    stored.set_replication(1);
    InodeStore::PutBlock(batch, stored);
  }
  InodeStore::PutInode(batch, file);
  return batch;
}

template <typename Request, typename Reply>
Status Call(StandbyBlockMap& map, const rpc::Method<Request, Reply>& method, const Request& request,
            Reply* reply) {
  RpcRequest raw{std::string(method.name), request.SerializeAsString(), {}};
  Result<RpcReply> answered = map.Handle(RpcContext{}, raw);
  if (!answered.ok()) return answered.status();
  EXPECT_TRUE(reply->ParseFromString(answered->body));
  return Status::Ok();
}

class StandbyBlockMapTest : public ::testing::Test {
 protected:
  void Run(const std::function<void(sim::SimProcess&, StandbyBlockMap&)>& body) {
    sim::Simulator sim(5);
    sim::Hardware hardware(sim);
    sim::NodeOptions node;
    node.name = "standby";
    const NodeId id = hardware.AddNode(node, [](sim::SimProcess&) {});
    sim.StartNode(id);
    sim.RunUntilIdle();
    sim::SimProcess& process = *sim.node(id).process();
    NamenodeOptions options;
    StandbyBlockMap map(process.env(), process.meta_store(), options);
    bool done = false;
    process.Spawn("test", [&] {
      ASSERT_TRUE(map.Load().ok());
      body(process, map);
      done = true;
    });
    sim.RunFor(std::chrono::minutes(1));
    EXPECT_TRUE(done);
    ASSERT_TRUE(sim.Shutdown().ok());
  }

  // Registers "DS-1" as datanode 7 (its id as the active gave it, through the journal).
  static void RegisterDatanode(sim::SimProcess& p, StandbyBlockMap& map, bool again = false) {
    proto::RegisterRequest reg;
    reg.set_address("dn-1");
    reg.set_storage_id("DS-1");
    reg.set_capacity_bytes(1 << 30);
    proto::RegisterReply reply;
    if (!again) {
      EXPECT_EQ(Call(map, rpc::nn::kRegister, reg, &reply).code(), StatusCode::kUnavailable);
      WriteBatch batch;
      InodeStore::PutDatanodeId(batch, "DS-1", 7);
      ASSERT_TRUE(p.meta_store().Write(batch).ok());
    }
    ASSERT_TRUE(Call(map, rpc::nn::kRegister, reg, &reply).ok());
    EXPECT_EQ(reply.datanode_id(), 7u);
    proto::BlockReportRequest full;
    full.set_datanode_id(7);
    full.set_full(true);
    proto::BlockReportReply ignored;
    ASSERT_TRUE(Call(map, rpc::nn::kBlockReport, full, &ignored).ok());
  }

  static Status Report(StandbyBlockMap& map, const proto::BlockRef& block) {
    proto::BlockReportRequest report;
    report.set_datanode_id(7);
    proto::ReplicaReport* replica = report.add_replicas();
    *replica->mutable_block() = block;
    replica->set_finalized(true);
    proto::BlockReportReply ignored;
    return Call(map, rpc::nn::kBlockReport, report, &ignored);
  }
};

TEST_F(StandbyBlockMapTest, AReplicaReportedBeforeItsBlockIsAppliedIsKeptAndLocated) {
  Run([](sim::SimProcess& p, StandbyBlockMap& map) {
    RegisterDatanode(p, map);
    // The datanode finalized block 5 before the standby applied the entry that adds it.
    ASSERT_TRUE(Report(map, Ref(5, 3, 1000)).ok());
    EXPECT_EQ(map.map()->blocks.unmatched_replicas(), 1u);
    EXPECT_EQ(map.map()->blocks.Find(BlockId(5)), nullptr);
    // AddBlock's entry (the block at length 0, the file open), then Complete's.
    ASSERT_TRUE(map.OnApplied(Entry(1, FileBatch({Ref(5, 3, 0)}, true))).ok());
    EXPECT_EQ(map.map()->blocks.unmatched_replicas(), 0u);
    const BlockInfo* info = map.map()->blocks.Find(BlockId(5));
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->state, BlockState::kUnderConstruction);
    ASSERT_TRUE(map.OnApplied(Entry(2, FileBatch({Ref(5, 3, 1000)}, false))).ok());
    EXPECT_EQ(info->state, BlockState::kComplete);
    EXPECT_EQ(info->length_bytes, 1000u);
    EXPECT_EQ(map.map()->blocks.GoodReplicas(BlockId(5)).size(), 1u);
    proto::Inode file;
    *file.add_blocks() = Ref(5, 3, 1000);
    const std::vector<proto::LocatedBlock> located = map.LocateBlocks(file, "client");
    ASSERT_EQ(located.size(), 1u);
    ASSERT_EQ(located[0].replicas_size(), 1);
    EXPECT_EQ(located[0].replicas(0).address(), "dn-1");
    // The file is deleted: the block goes, and its replica orders no delete on a standby.
    WriteBatch drop;
    InodeStore::DeleteBlock(drop, BlockId(5));
    ASSERT_TRUE(map.OnApplied(Entry(3, drop)).ok());
    EXPECT_EQ(map.map()->blocks.Find(BlockId(5)), nullptr);
    EXPECT_TRUE(map.map()->datanodes.Find(7)->commands.empty());
  });
}

TEST_F(StandbyBlockMapTest, HeartbeatsCarryNoCommandAndTokenZeroAndLoadReadsTheStore) {
  Run([](sim::SimProcess& p, StandbyBlockMap& map) {
    RegisterDatanode(p, map);
    // A block the store already holds (complete) and one of an open file.
    WriteBatch stored = FileBatch({Ref(8, 2, 500), Ref(9, 2, 0)}, true);
    ASSERT_TRUE(p.meta_store().Write(stored).ok());
    ASSERT_TRUE(map.Load().ok());
    ASSERT_NE(map.map()->blocks.Find(BlockId(8)), nullptr);
    EXPECT_EQ(map.map()->blocks.Find(BlockId(8))->state, BlockState::kComplete);
    EXPECT_EQ(map.map()->blocks.Find(BlockId(9))->state, BlockState::kUnderConstruction);
    // A fresh map knows no datanode: it asks for a registration.
    proto::HeartbeatRequest beat;
    beat.set_datanode_id(7);
    proto::HeartbeatReply reply;
    ASSERT_TRUE(Call(map, rpc::nn::kHeartbeat, beat, &reply).ok());
    ASSERT_EQ(reply.commands_size(), 1);
    EXPECT_EQ(reply.commands(0).kind(), proto::DatanodeCommand::KIND_REREGISTER);
    RegisterDatanode(p, map, true);
    // A replica of another stamp than the block's is stale: a standby keeps quiet about it.
    ASSERT_TRUE(Report(map, Ref(8, 1, 500)).ok());
    reply.Clear();
    ASSERT_TRUE(Call(map, rpc::nn::kHeartbeat, beat, &reply).ok());
    EXPECT_EQ(reply.commands_size(), 0);
    EXPECT_EQ(reply.fencing_token(), 0u);
    ASSERT_TRUE(Report(map, Ref(8, 2, 500)).ok());
    EXPECT_EQ(map.map()->blocks.GoodReplicas(BlockId(8)).size(), 1u);
    // Handed over to an active: the datanode methods wait.
    std::unique_ptr<HotBlockMap> handed = map.Release();
    ASSERT_NE(handed, nullptr);
    EXPECT_TRUE(handed->blocks.standby());
    EXPECT_EQ(Call(map, rpc::nn::kHeartbeat, beat, &reply).code(), StatusCode::kUnavailable);
  });
}

}  // namespace
}  // namespace granary
