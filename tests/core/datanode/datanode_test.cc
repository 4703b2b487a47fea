// The datanode as a whole: registration, reports, heartbeat commands, corruption, crashes.
#include "core/datanode/datanode.h"

#include <gtest/gtest.h>

#include "tests/core/datanode/datanode_harness.h"

namespace granary::testing {
namespace {

constexpr uint64_t kChunk = kChecksumChunkBytes;
constexpr uint64_t kSeed = 777001;

proto::DatanodeCommand Command(proto::DatanodeCommand::Kind kind, proto::BlockRef block) {
  proto::DatanodeCommand command;
  command.set_kind(kind);
  *command.mutable_block() = std::move(block);
  return command;
}

TEST(DatanodeTest, RegistersWhenTheNamenodeComesUpThenReportsAndHeartbeats) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1);
  cluster.sim.CrashNode(cluster.nn_node);
  cluster.sim.RunFor(3s);
  EXPECT_TRUE(cluster.nn.registrations.empty());
  ASSERT_NE(cluster.running[0], nullptr);
  EXPECT_FALSE(cluster.running[0]->registered());
  cluster.sim.StartNode(cluster.nn_node);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }, 10s));
  ASSERT_EQ(cluster.nn.registrations.size(), 1u);
  const proto::RegisterRequest registration = cluster.nn.registrations[0];
  EXPECT_EQ(registration.address(), "dn-0");
  EXPECT_EQ(registration.storage_id().size(), 19u);
  EXPECT_EQ(registration.capacity_bytes(), cluster.disk(0).Usage().capacity_bytes);
  const proto::BlockReportRequest* full = cluster.nn.LastFullReport(cluster.dn_id(0));
  ASSERT_NE(full, nullptr);
  EXPECT_EQ(full->replicas_size(), 0);
  const size_t before = cluster.nn.heartbeats.size();
  cluster.sim.RunFor(1s);
  EXPECT_GE(cluster.nn.heartbeats.size(), before + 8);
  EXPECT_EQ(cluster.nn.heartbeats.back().capacity_bytes(), cluster.disk(0).Usage().capacity_bytes);

  // The storage id survives a restart; a REREGISTER command brings a new registration and a
  // new full report.
  ASSERT_TRUE(cluster.RestartDatanode(0));
  ASSERT_EQ(cluster.nn.registrations.size(), 2u);
  EXPECT_EQ(cluster.nn.registrations[1].storage_id(), registration.storage_id());
  const int reports = cluster.nn.FullReports(cluster.dn_id(0));
  cluster.nn.commands[cluster.dn_id(0)].push_back(
      Command(proto::DatanodeCommand::KIND_REREGISTER, Ref(0, 0, 0)));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.nn.FullReports(cluster.dn_id(0)) > reports; }));
  EXPECT_EQ(cluster.nn.registrations.size(), 3u);
}

TEST(DatanodeTest, CorruptChunkIsDetectedOnReadAndReported) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed);
  const std::string data = RandomBytes(random, 4 * kChunk);
  cluster.RunClient([&](Env& env, Transport& transport) {
    ASSERT_EQ(
        WriteWholeBlock(env, transport, cluster.dn(0), {}, 5, 1, data, 2 * kChunk)->failed_index(),
        -1);
  });
  ASSERT_TRUE(cluster.disk(0).Corrupt("blk_5_1.data", 2 * kChunk + 17).ok());
  cluster.RunClient([&](Env& env, Transport& transport) {
    // The untouched first chunk still reads; the range with the bad chunk does not.
    std::string payload;
    EXPECT_TRUE(ReadRange(env, transport, cluster.dn(0), 5, 1, 0, kChunk, &payload).ok());
    EXPECT_EQ(ReadRange(env, transport, cluster.dn(0), 5, 1, 2 * kChunk, kChunk, &payload).code(),
              StatusCode::kCorruption);
    // From now on the replica is not served at all.
    EXPECT_EQ(ReadRange(env, transport, cluster.dn(0), 5, 1, 0, kChunk, &payload).code(),
              StatusCode::kCorruption);
    EXPECT_EQ(GetReplica(env, transport, cluster.dn(0), 5).code(), StatusCode::kCorruption);
  });
  ASSERT_TRUE(cluster.RunUntil([&] { return !cluster.nn.bad_blocks.empty(); }));
  ASSERT_EQ(cluster.nn.bad_blocks.size(), 1u);
  EXPECT_EQ(cluster.nn.bad_blocks[0].block().block_id(), 5u);
  EXPECT_EQ(cluster.nn.bad_blocks[0].datanode_id(), cluster.dn_id(0));
}

// Writes blocks `a` and `b` (generation stamp 1) to the cluster's first datanode, whole, in
// packets of `packet` bytes; both writes must succeed.
void WriteTwoBlocks(DatanodeCluster& cluster, uint64_t a, const std::string& a_bytes, uint64_t b,
                    const std::string& b_bytes, uint64_t packet) {
  cluster.RunClient([&](Env& env, Transport& transport) {
    for (const auto& [id, bytes] : {std::pair{a, &a_bytes}, std::pair{b, &b_bytes}}) {
      Result<proto::WriteBlockReply> reply =
          WriteWholeBlock(env, transport, cluster.dn(0), {}, id, 1, *bytes, packet);
      ASSERT_TRUE(reply.ok()) << reply.status().ToString();
      ASSERT_EQ(reply->failed_index(), -1) << "block " << id;
    }
  });
}

TEST(DatanodeTest, ScannerFindsAndReportsACorruptReplica) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeOptions options = DatanodeCluster::TestOptions();
  options.scanner_bytes_per_second = 8 << 20;
  options.scan_period = 2s;
  DatanodeCluster cluster(kSeed, 1, options);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 1);
  const std::string good = RandomBytes(random, 20 * kChunk);
  const std::string bad = RandomBytes(random, 20 * kChunk + 5);
  WriteTwoBlocks(cluster, 1, good, 2, bad, 4 * kChunk);
  ASSERT_TRUE(cluster.disk(0).Corrupt("blk_2_1.data", 20 * kChunk + 3).ok());
  // No read touches it: the scanner finds it within a scan period or two.
  ASSERT_TRUE(cluster.RunUntil([&] { return !cluster.nn.bad_blocks.empty(); }, 10s));
  EXPECT_EQ(cluster.nn.bad_blocks[0].block().block_id(), 2u);
  EXPECT_EQ(cluster.running[0]->scanner().corrupt_found(), 1u);
  cluster.sim.RunFor(5s);
  EXPECT_EQ(cluster.nn.bad_blocks.size(), 1u);
  EXPECT_GE(cluster.running[0]->scanner().passes(), 2u);
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_TRUE(ReadWholeReplica(env, transport, cluster.dn(0), 1, 1).ok());
    EXPECT_EQ(ReadWholeReplica(env, transport, cluster.dn(0), 2, 1).code(),
              StatusCode::kCorruption);
  });
}

// KIND_VERIFY (a client reported a replica bad): the datanode re-reads the replica, reports
// it only if a chunk fails its checksum, and leaves a good one alone.
TEST(DatanodeTest, VerifyCommandReportsOnlyAReplicaThatIsBad) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1);  // the scanner is off: only the command reads
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 2);
  const std::string good = RandomBytes(random, 6 * kChunk);
  const std::string bad = RandomBytes(random, 6 * kChunk + 9);
  WriteTwoBlocks(cluster, 7, good, 8, bad, 2 * kChunk);
  ASSERT_TRUE(cluster.disk(0).Corrupt("blk_8_1.data", 5 * kChunk + 1).ok());
  cluster.nn.commands[cluster.dn_id(0)].push_back(
      Command(proto::DatanodeCommand::KIND_VERIFY, Ref(7, 1, good.size())));
  cluster.sim.RunFor(3s);
  EXPECT_TRUE(cluster.nn.bad_blocks.empty());  // the good one stays
  cluster.nn.commands[cluster.dn_id(0)].push_back(
      Command(proto::DatanodeCommand::KIND_VERIFY, Ref(8, 1, bad.size())));
  ASSERT_TRUE(cluster.RunUntil([&] { return !cluster.nn.bad_blocks.empty(); }, 5s));
  ASSERT_EQ(cluster.nn.bad_blocks.size(), 1u);
  EXPECT_EQ(cluster.nn.bad_blocks[0].block().block_id(), 8u);
  EXPECT_FALSE(cluster.nn.bad_blocks[0].from_client());
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_TRUE(ReadWholeReplica(env, transport, cluster.dn(0), 7, 1).ok());
  });
}

TEST(DatanodeTest, CrashMidWriteKeepsFinalizedReplicasAndAConsistentPrefix) {
  int shortened = 0;  // runs whose crash lost some unsynced bytes
  for (uint64_t seed = kSeed; seed < kSeed + 6; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    DatanodeCluster cluster(seed, 1);
    ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
    Random random(seed);
    const std::string done = RandomBytes(random, 3 * kChunk + 100);
    const std::string partial = RandomBytes(random, 12 * kChunk);
    cluster.RunClient([&](Env& env, Transport& transport) {
      ASSERT_EQ(WriteWholeBlock(env, transport, cluster.dn(0), {}, 1, 1, done, 2 * kChunk)
                    ->failed_index(),
                -1);
      // Three packets, the second synced, then the crash.
      for (uint64_t i = 0; i < 3; ++i) {
        Packet packet{.block_id = 2,
                      .offset_bytes = i * 4 * kChunk,
                      .data = partial.substr(i * 4 * kChunk, 4 * kChunk),
                      .sync = i == 1};
        ASSERT_EQ(WritePacket(env, transport, cluster.dn(0), packet, {})->failed_index(), -1);
      }
    });
    ASSERT_TRUE(cluster.RestartDatanode(0));
    const proto::BlockReportRequest* full = cluster.nn.LastFullReport(cluster.dn_id(0));
    ASSERT_NE(full, nullptr);
    ASSERT_EQ(full->replicas_size(), 2);
    EXPECT_EQ(full->replicas(0).block().block_id(), 1u);
    EXPECT_TRUE(full->replicas(0).finalized());
    EXPECT_EQ(full->replicas(0).block().length_bytes(), done.size());
    EXPECT_EQ(full->replicas(1).block().block_id(), 2u);
    EXPECT_FALSE(full->replicas(1).finalized());
    const uint64_t length = full->replicas(1).block().length_bytes();
    EXPECT_GE(length, 8 * kChunk);  // synced
    EXPECT_LE(length, partial.size());
    EXPECT_EQ(length % kChunk, 0u);
    shortened += length < partial.size();
    cluster.RunClient([&](Env& env, Transport& transport) {
      Result<std::string> read = ReadWholeReplica(env, transport, cluster.dn(0), 1, 1);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_TRUE(*read == done);
      Result<std::string> prefix = ReadWholeReplica(env, transport, cluster.dn(0), 2, 1);
      ASSERT_TRUE(prefix.ok()) << prefix.status().ToString();
      EXPECT_TRUE(*prefix == partial.substr(0, length));
      // The writer can go on from the recovered length.
      Packet next{
          .block_id = 2, .offset_bytes = length, .data = partial.substr(length), .last = true};
      EXPECT_EQ(WritePacket(env, transport, cluster.dn(0), next, {})->failed_index(), -1);
      Result<std::string> whole = ReadWholeReplica(env, transport, cluster.dn(0), 2, 1);
      ASSERT_TRUE(whole.ok());
      EXPECT_TRUE(*whole == partial);
    });
  }
  EXPECT_GT(shortened, 0);
}

TEST(DatanodeTest, ReplicateCommandCopiesTheBlockThroughAPipeline) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 3);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 2);
  const std::string data = RandomBytes(random, 40 * kChunk + 3);
  cluster.RunClient([&](Env& env, Transport& transport) {
    ASSERT_EQ(
        WriteWholeBlock(env, transport, cluster.dn(0), {}, 8, 4, data, 8 * kChunk)->failed_index(),
        -1);
  });
  proto::DatanodeCommand command =
      Command(proto::DatanodeCommand::KIND_REPLICATE, Ref(8, 4, data.size()));
  *command.add_targets() = cluster.info(1);
  *command.add_targets() = cluster.info(2);
  cluster.nn.commands[cluster.dn_id(0)].push_back(command);
  ASSERT_TRUE(cluster.RunUntil([&] {
    return cluster.nn.FinalizedReports(cluster.dn_id(1), 8) > 0 &&
           cluster.nn.FinalizedReports(cluster.dn_id(2), 8) > 0;
  }));
  cluster.RunClient([&](Env& env, Transport& transport) {
    for (int i = 1; i < 3; ++i) {
      Result<std::string> read = ReadWholeReplica(env, transport, cluster.dn(i), 8, 4);
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_TRUE(*read == data);
    }
  });
}

TEST(DatanodeTest, ReplicateCommandsBeyondTheConcurrencyLimitAreQueued) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeOptions options = DatanodeCluster::TestOptions();
  options.transfers_max = 2;
  DatanodeCluster cluster(kSeed, 2, options);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 5);
  const std::string data = RandomBytes(random, 8 * kChunk);
  constexpr uint64_t kBlocks = 7;
  cluster.RunClient([&](Env& env, Transport& transport) {
    for (uint64_t id = 1; id <= kBlocks; ++id) {
      ASSERT_EQ(WriteWholeBlock(env, transport, cluster.dn(0), {}, id, 1, data, 4 * kChunk)
                    ->failed_index(),
                -1);
    }
  });
  // All in one heartbeat reply, one of them twice.
  for (uint64_t id = 1; id <= kBlocks + 1; ++id) {
    proto::DatanodeCommand command =
        Command(proto::DatanodeCommand::KIND_REPLICATE, Ref(std::min(id, kBlocks), 1, data.size()));
    *command.add_targets() = cluster.info(1);
    cluster.nn.commands[cluster.dn_id(0)].push_back(command);
  }
  ASSERT_TRUE(cluster.RunUntil([&] {
    for (uint64_t id = 1; id <= kBlocks; ++id) {
      if (cluster.nn.FinalizedReports(cluster.dn_id(1), id) == 0) return false;
    }
    return true;
  }));
  cluster.sim.RunFor(1s);
  EXPECT_EQ(cluster.nn.FinalizedReports(cluster.dn_id(1), kBlocks), 1);
  EXPECT_EQ(cluster.disk(1).List("blk_").size(), 2 * kBlocks);
}

TEST(DatanodeTest, DeleteCommandRemovesTheReplica) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 1);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 3);
  const std::string data = RandomBytes(random, 2 * kChunk);
  cluster.RunClient([&](Env& env, Transport& transport) {
    for (uint64_t id : {3, 4}) {
      ASSERT_EQ(
          WriteWholeBlock(env, transport, cluster.dn(0), {}, id, 2, data, kChunk)->failed_index(),
          -1);
    }
  });
  // An older stamp than the replica's does not delete it; the right one does.
  cluster.nn.commands[cluster.dn_id(0)].push_back(
      Command(proto::DatanodeCommand::KIND_DELETE, Ref(4, 1, 0)));
  cluster.nn.commands[cluster.dn_id(0)].push_back(
      Command(proto::DatanodeCommand::KIND_DELETE, Ref(3, 2, data.size())));
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.nn.DeletedReports(cluster.dn_id(0), 3) > 0; }));
  cluster.sim.RunFor(1s);
  EXPECT_EQ(cluster.nn.DeletedReports(cluster.dn_id(0), 4), 0);
  EXPECT_EQ(cluster.disk(0).List(""),
            (std::vector<std::string>{"blk_4_2.data", "blk_4_2.meta", "storage_id"}));
  cluster.RunClient([&](Env& env, Transport& transport) {
    EXPECT_EQ(GetReplica(env, transport, cluster.dn(0), 3).code(), StatusCode::kNotFound);
    EXPECT_TRUE(GetReplica(env, transport, cluster.dn(0), 4).ok());
  });
}

TEST(DatanodeTest, LeaseRecoveryFinalizesEveryReplicaAtTheMinimumLength) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 4);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 4);
  const std::string data = RandomBytes(random, 4 * kChunk);
  // The writer died with its three replicas at different lengths; dn-3 holds none.
  const uint64_t chunks[] = {3, 2, 4};
  cluster.RunClient([&](Env& env, Transport& transport) {
    for (int i = 0; i < 3; ++i) {
      Packet packet{
          .block_id = 50, .generation_stamp = 6, .data = data.substr(0, chunks[i] * kChunk)};
      ASSERT_EQ(WritePacket(env, transport, cluster.dn(i), packet, {})->failed_index(), -1);
    }
  });
  proto::DatanodeCommand command =
      Command(proto::DatanodeCommand::KIND_RECOVER, Ref(50, 6, 4 * kChunk));
  command.set_recovery_generation_stamp(7);
  for (int i : {1, 2, 3}) *command.add_targets() = cluster.info(i);
  cluster.nn.commands[cluster.dn_id(0)].push_back(command);
  ASSERT_TRUE(cluster.RunUntil([&] { return !cluster.nn.recoveries.empty(); }));
  const proto::RecoveryDoneRequest& done = cluster.nn.recoveries[0];
  EXPECT_FALSE(done.failed());
  EXPECT_EQ(done.block().block_id(), 50u);
  EXPECT_EQ(done.block().generation_stamp(), 7u);
  EXPECT_EQ(done.block().length_bytes(), 2 * kChunk);
  EXPECT_EQ(std::vector<uint32_t>(done.datanodes().begin(), done.datanodes().end()),
            (std::vector<uint32_t>{cluster.dn_id(0), cluster.dn_id(1), cluster.dn_id(2)}));
  cluster.RunClient([&](Env& env, Transport& transport) {
    for (int i = 0; i < 3; ++i) {
      Result<proto::GetReplicaReply> replica = GetReplica(env, transport, cluster.dn(i), 50);
      ASSERT_TRUE(replica.ok());
      EXPECT_TRUE(replica->finalized());
      EXPECT_EQ(replica->block().generation_stamp(), 7u);
      EXPECT_EQ(replica->block().length_bytes(), 2 * kChunk);
      Result<std::string> read = ReadWholeReplica(env, transport, cluster.dn(i), 50, 7);
      ASSERT_TRUE(read.ok());
      EXPECT_TRUE(*read == data.substr(0, 2 * kChunk));
    }
  });
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(cluster.disk(i).List("blk_"),
              (std::vector<std::string>{"blk_50_7.data", "blk_50_7.meta"}));
    EXPECT_GT(cluster.nn.FinalizedReports(cluster.dn_id(i), 50), 0);
  }
}

TEST(DatanodeTest, LeaseRecoveryKeepsAFinalizedReplicasLengthOverAShorterCopy) {
  SCOPED_TRACE("seed " + std::to_string(kSeed));
  DatanodeCluster cluster(kSeed, 2);
  ASSERT_TRUE(cluster.RunUntil([&] { return cluster.AllRegistered(); }));
  Random random(kSeed + 6);
  const std::string data = RandomBytes(random, 4 * kChunk);
  // dn-0 holds the block finalized; dn-1 a copy of half of it at the same stamp, still being
  // written (a re-replication cut short), when a recovery asks both.
  cluster.RunClient([&](Env& env, Transport& transport) {
    ASSERT_EQ(WriteWholeBlock(env, transport, cluster.dn(0), {}, 60, 6, data, kChunk)
                  ->failed_index(),
              -1);
    Packet half{.block_id = 60, .generation_stamp = 6, .data = data.substr(0, 2 * kChunk)};
    ASSERT_EQ(WritePacket(env, transport, cluster.dn(1), half, {})->failed_index(), -1);
  });
  proto::DatanodeCommand command =
      Command(proto::DatanodeCommand::KIND_RECOVER, Ref(60, 6, 4 * kChunk));
  command.set_recovery_generation_stamp(7);
  *command.add_targets() = cluster.info(1);
  cluster.nn.commands[cluster.dn_id(0)].push_back(command);
  ASSERT_TRUE(cluster.RunUntil([&] { return !cluster.nn.recoveries.empty(); }));
  const proto::RecoveryDoneRequest& done = cluster.nn.recoveries[0];
  EXPECT_FALSE(done.failed());
  EXPECT_EQ(done.block().generation_stamp(), 7u);
  EXPECT_EQ(done.block().length_bytes(), 4 * kChunk);
  EXPECT_EQ(std::vector<uint32_t>(done.datanodes().begin(), done.datanodes().end()),
            (std::vector<uint32_t>{cluster.dn_id(0)}));
  cluster.RunClient([&](Env& env, Transport& transport) {
    Result<std::string> read = ReadWholeReplica(env, transport, cluster.dn(0), 60, 7);
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(*read == data);
    // The short copy is left as it was, at the old stamp: stale to the namenode.
    Result<proto::GetReplicaReply> copy = GetReplica(env, transport, cluster.dn(1), 60);
    ASSERT_TRUE(copy.ok());
    EXPECT_FALSE(copy->finalized());
    EXPECT_EQ(copy->block().generation_stamp(), 6u);
  });
}

}  // namespace
}  // namespace granary::testing
