// The client library against a simulated cluster: small files in one round trip, large
// files through the pipeline, growth past the inline threshold, and the failures a client
// must ride out.
#include "core/client/file_system.h"

#include <gtest/gtest.h>

#include "core/common/limits.h"
#include "core/rpc/router.h"
#include "proto/namenode.pb.h"
#include "sim/models/sim_disk.h"
#include "sim/models/sim_network.h"
#include "tests/core/client/cluster_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using cluster_testing::Pattern;
using std::chrono::milliseconds;
using std::chrono::seconds;

CreateOptions Overwrite() {
  CreateOptions o;
  o.overwrite = true;
  return o;
}

TEST(FileSystemTest, SmallFileIsOneRoundTripEachWayAndTouchesNoDatanode) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.Defaults().ok());  // asked once per FileSystem, before the measurement
    const std::string data = Pattern(1, 10000);
    const uint64_t before = h.cluster().network().stats().messages_sent;
    ASSERT_TRUE(fs.WriteFile("/small", data, {}).ok());
    EXPECT_EQ(h.cluster().network().stats().messages_sent - before, 2u);  // request, reply
    const uint64_t read_before = h.cluster().network().stats().messages_sent;
    Result<std::string> back = fs.ReadFile("/small");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, data);
    EXPECT_EQ(h.cluster().network().stats().messages_sent - read_before, 2u);
    Result<proto::FileStatus> stat = fs.Stat("/small");
    ASSERT_TRUE(stat.ok());
    EXPECT_TRUE(stat->inline_data());
    EXPECT_EQ(stat->block_count(), 0u);
    EXPECT_EQ(stat->length_bytes(), data.size());
  });
  for (NodeId dn : h.cluster().datanode_ids()) {
    EXPECT_TRUE(h.cluster().machine(dn).disk_storage().List("blk_").empty());
    EXPECT_TRUE(h.cluster().machine(dn).disk_storage().List("rbw_").empty());
  }
}

TEST(FileSystemTest, ASmallFileClosedInOneRoundTripTellsWhatTheNamenodeStored) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::string data = Pattern(9, 3000);
    Result<std::unique_ptr<Writer>> writer = fs.Create("/told", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(data).ok());
    EXPECT_FALSE((*writer)->closed_status().has_value());  // nothing stored yet
    ASSERT_TRUE((*writer)->Close().ok());
    ASSERT_TRUE((*writer)->closed_status().has_value());
    const proto::FileStatus& told = *(*writer)->closed_status();
    Result<proto::FileStatus> stat = fs.Stat("/told");
    ASSERT_TRUE(stat.ok());
    EXPECT_EQ(told.length_bytes(), data.size());
    EXPECT_EQ(told.mtime_ns(), stat->mtime_ns());
    EXPECT_EQ(told.mode(), stat->mode());
    EXPECT_TRUE(told.inline_data());
    EXPECT_FALSE(told.under_construction());
    // A file that went to blocks was closed by several calls: no status to tell.
    Result<std::unique_ptr<Writer>> big = fs.Create("/big-untold", {});
    ASSERT_TRUE(big.ok());
    ASSERT_TRUE((*big)->Write(Pattern(10, 200000)).ok());
    ASSERT_TRUE((*big)->Close().ok());
    EXPECT_FALSE((*big)->closed_status().has_value());
  });
}

TEST(FileSystemTest, LargeFileSpansBlocksAndReadsBackExactly) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::string data = Pattern(2, 3 * 512 * 1024 + 12345);  // four blocks
    ASSERT_TRUE(fs.WriteFile("/big", data, {}).ok());
    Result<proto::FileStatus> stat = fs.Stat("/big");
    ASSERT_TRUE(stat.ok());
    EXPECT_FALSE(stat->inline_data());
    EXPECT_EQ(stat->block_count(), 4u);
    EXPECT_EQ(stat->length_bytes(), data.size());
    Result<std::unique_ptr<Reader>> reader = fs.Open("/big");
    ASSERT_TRUE(reader.ok());
    // Random reads across block boundaries, then a sequential pass in odd-sized pieces.
    for (uint64_t offset : {0ull, 524287ull, 524288ull, 1000000ull, 1572860ull}) {
      Result<std::string> piece = (*reader)->ReadAt(offset, 70000);
      ASSERT_TRUE(piece.ok());
      EXPECT_EQ(*piece, data.substr(offset, 70000)) << offset;
    }
    std::string all;
    for (;;) {
      Result<std::string> piece = (*reader)->Read(99999);
      ASSERT_TRUE(piece.ok());
      if (piece->empty()) break;
      all += *piece;
    }
    EXPECT_EQ(all, data);
  });
}

// A reader whose file is replaced under it (an overwrite) learns so when it refreshes: kStale,
// since the path still exists (a kNotFound would tell a caller reading by path that it was
// absent: the swarm's seed 11 with three namenodes); kNotFound once the path names nothing.
TEST(FileSystemTest, ReaderOfAReplacedFileIsStaleAndOfADeletedOneNotFound) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::string data = Pattern(3, 600000);  // two blocks
    ASSERT_TRUE(fs.WriteFile("/f", data, {}).ok());
    Result<std::unique_ptr<Reader>> reader = fs.Open("/f");
    ASSERT_TRUE(reader.ok());
    ASSERT_TRUE(fs.WriteFile("/f", Pattern(4, 700000), Overwrite()).ok());
    const Status replaced = (*reader)->Refresh();
    EXPECT_EQ(replaced.code(), StatusCode::kStale) << replaced.ToString();
    ASSERT_TRUE(fs.Delete("/f", false).ok());
    const Status deleted = (*reader)->Refresh();
    EXPECT_EQ(deleted.code(), StatusCode::kNotFound) << deleted.ToString();
  });
}

// A writer slower than its block token's lifetime (a long-lived appender, a slow producer):
// the first datanode refuses the next packet for the expired token, and the writer takes a
// fresh one with a new generation stamp (nn.BumpGeneration) instead of dropping datanodes
// until none is left. The file closes whole.
TEST(FileSystemTest, SlowWriterRenewsItsExpiredBlockToken) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.namenode.block_tokens.enabled = true;
  options.namenode.block_tokens.token_lifetime = seconds(1);
  options.datanode.require_block_tokens = true;
  ClusterHarness h(options);
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    const std::string data = Pattern(7, 512 * 1024 + 300 * 1024);  // two blocks
    Result<std::unique_ptr<Writer>> writer = fs.Create("/slow", {});
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    const size_t first = 200 * 1024;
    ASSERT_TRUE((*writer)->Write(data.substr(0, first)).ok());
    ASSERT_TRUE((*writer)->Flush(Durability::kVisible).ok());
    ASSERT_TRUE(p.env().SleepFor(seconds(3)).ok());  // past the 1 s lifetime, within the lease
    const Status wrote = (*writer)->Write(data.substr(first));
    ASSERT_TRUE(wrote.ok()) << wrote.ToString();
    const Status closed = (*writer)->Close();
    ASSERT_TRUE(closed.ok()) << closed.ToString();
    Result<std::string> back = fs.ReadFile("/slow");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == data);
  });
}

TEST(FileSystemTest, FileGrowingPastTheThresholdMovesToBlocksUnnoticed) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::string data = Pattern(3, 200000);
    Result<std::unique_ptr<Writer>> writer = fs.Create("/grows", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 40000)).ok());
    ASSERT_TRUE((*writer)->Flush().ok());
    // Flushed inline bytes are visible to readers while the file is open.
    Result<std::string> early = fs.ReadFile("/grows");
    ASSERT_TRUE(early.ok());
    EXPECT_EQ(*early, data.substr(0, 40000));
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(40000)).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    Result<proto::FileStatus> stat = fs.Stat("/grows");
    ASSERT_TRUE(stat.ok());
    EXPECT_FALSE(stat->inline_data());
    EXPECT_FALSE(stat->under_construction());
    Result<std::string> back = fs.ReadFile("/grows");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
  });
}

TEST(FileSystemTest, InlineThresholdZeroPutsEverySmallFileInBlocks) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.namenode.ns.inline_threshold_bytes = 0;
  ClusterHarness h(options);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::string data = Pattern(4, 4096);
    ASSERT_TRUE(fs.WriteFile("/hdfs-like", data, {}).ok());
    ASSERT_TRUE(fs.WriteFile("/empty", "", {}).ok());
    Result<proto::FileStatus> stat = fs.Stat("/hdfs-like");
    ASSERT_TRUE(stat.ok());
    EXPECT_FALSE(stat->inline_data());
    EXPECT_EQ(stat->block_count(), 1u);
    Result<std::string> back = fs.ReadFile("/hdfs-like");
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, data);
    Result<std::string> empty = fs.ReadFile("/empty");
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
  });
}

TEST(FileSystemTest, WriteSurvivesThePipelineLosingADatanode) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanodes = 5;
  ClusterHarness h(options);
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    const std::string data = Pattern(5, 900 * 1024);
    Result<std::unique_ptr<Writer>> writer = fs.Create("/survivor", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(0, 300 * 1024)).ok());
    // Kill a datanode that holds a replica being written (any of the pipeline's), as soon
    // as the packet in flight created one.
    bool killed = false;
    for (int wait = 0; !killed && wait < 1000; ++wait) {
      for (NodeId dn : h.cluster().datanode_ids()) {
        if (!killed && !h.cluster().machine(dn).disk_storage().List("rbw_").empty()) {
          h.sim().CrashNode(dn);
          killed = true;
        }
      }
      if (!killed) {
        ASSERT_TRUE(p.env().SleepFor(std::chrono::microseconds(100)).ok());
      }
    }
    ASSERT_TRUE(killed);
    ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(300 * 1024)).ok());
    const Status closed = (*writer)->Close();
    ASSERT_TRUE(closed.ok()) << closed.ToString();
    Result<std::string> back = fs.ReadFile("/survivor");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, data);
  });
}

// A datanode without the replica does not make the file absent: read by path, that would
// say the path was missing at a moment it existed.
TEST(FileSystemTest, ADatanodesMissingReplicaIsTheBlocksUnavailabilityNotAMissingFile) {
  const Status missing = AsBlockReadError(Status(StatusCode::kNotFound, "no replica of block 7"));
  EXPECT_EQ(missing.code(), StatusCode::kUnavailable);
  EXPECT_NE(missing.message().find("no replica of block 7"), std::string::npos);
  EXPECT_EQ(AsBlockReadError(Status(StatusCode::kCorruption, "bad")).code(),
            StatusCode::kCorruption);
  EXPECT_TRUE(AsBlockReadError(Status::Ok()).ok());
}

TEST(FileSystemTest, ReadFailsOverFromACorruptReplicaWhichIsThenReplaced) {
  ClusterHarness h;
  const std::string data = Pattern(6, 300 * 1024);
  h.RunClient(
      [&](sim::SimProcess&, FileSystem& fs) { ASSERT_TRUE(fs.WriteFile("/rot", data, {}).ok()); });
  // Flip a byte in every stored copy on one datanode.
  const NodeId victim = h.cluster().datanode_ids()[0];
  sim::SimDiskStorage& disk = h.cluster().machine(victim).disk_storage();
  int corrupted = 0;
  for (const std::string& name : disk.List("blk_")) {
    if (name.size() > 5 && name.substr(name.size() - 5) == ".data") {
      ASSERT_TRUE(disk.Corrupt(name, 1000).ok());
      ++corrupted;
    }
  }
  ASSERT_EQ(corrupted, 1);
  for (int i = 0; i < 5; ++i) {  // reads start at a random replica: try several times
    h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
      Result<std::string> back = fs.ReadFile("/rot");
      ASSERT_TRUE(back.ok()) << back.status().ToString();
      EXPECT_EQ(*back, data);
    });
  }
  h.RunFor(seconds(30));  // the scanner or a reader reported it; the namenode replaces it
  Namenode* nn = h.cluster().namenode();
  ASSERT_NE(nn, nullptr);
  const BlockCounts counts = nn->blocks().Counts();
  EXPECT_EQ(counts.under_replicated, 0u);
  EXPECT_EQ(counts.corrupt, 0u);
  for (uint64_t id : nn->blocks().UnderReplicated(10)) ADD_FAILURE() << nn->blocks().Describe(id);
}

// A bad-block report a client's key sent (from_client, which the identity check sets under
// CURVE) changes nothing on its word: the namenode has the datanode verify the replica. A good
// replica stays (a hostile client cannot have replicas re-made); a bad one is reported by its
// datanode and replaced. The scanner is off, and nothing reads the file: only the verify can
// find the bad copy.
TEST(FileSystemTest, AClientsBadBlockReportIsVerifiedByTheDatanodeFirst) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanode.scanner_bytes_per_second = 0;
  options.datanodes = 4;  // the replacement of a bad replica goes to the fourth
  ClusterHarness h(options);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.WriteFile("/suspect", Pattern(9, 300 * 1024), {}).ok());
  });
  h.RunFor(seconds(2));
  Namenode* nn = h.cluster().namenode();
  ASSERT_NE(nn, nullptr);
  const BlockInfo* info = nullptr;
  for (uint64_t id = 1; id < 10000 && info == nullptr; ++id) info = nn->blocks().Find(BlockId(id));
  ASSERT_NE(info, nullptr);
  const BlockId block_id = info->id;
  proto::BlockRef ref;
  ref.set_block_id(block_id.value());
  ref.set_generation_stamp(info->generation_stamp);
  ref.set_length_bytes(info->length_bytes);
  const std::vector<uint32_t> holders = nn->blocks().GoodReplicas(block_id);
  ASSERT_EQ(holders.size(), 3u);
  const auto report = [&](uint32_t datanode) {
    h.RunClient([&](sim::SimProcess& p, FileSystem&) {
      proto::ReportBadBlockRequest request;
      *request.mutable_block() = ref;
      request.set_datanode_id(datanode);
      request.set_from_client(true);
      proto::ReportBadBlockReply reply;
      EXPECT_TRUE(rpc::Call(p.transport(), h.cluster().namenode_address(),
                            rpc::nn::kReportBadBlock, request, {}, p.env().Now() + seconds(5),
                            &reply)
                      .ok());
    });
  };
  report(holders[0]);
  h.RunFor(seconds(10));
  EXPECT_EQ(nn->blocks().GoodReplicas(block_id), holders);  // a good replica stays
  EXPECT_EQ(nn->blocks().Counts().corrupt, 0u);
  // Now really bad on holders[1]'s disk: its datanode finds it on the verify and reports it.
  const std::string address = nn->datanodes().all().at(holders[1]).Info().address();
  bool corrupted = false;
  for (NodeId node : h.cluster().datanode_ids()) {
    if (h.sim().node(node).address().value != address) continue;
    sim::SimDiskStorage& disk = h.cluster().machine(node).disk_storage();
    for (const std::string& name : disk.List("blk_" + std::to_string(block_id.value()) + "_")) {
      if (name.ends_with(".data")) corrupted = disk.Corrupt(name, 1000).ok();
    }
  }
  ASSERT_TRUE(corrupted);
  h.RunFor(seconds(10));
  EXPECT_EQ(nn->blocks().GoodReplicas(block_id), holders);  // nobody has looked yet
  report(holders[1]);
  h.RunFor(seconds(30));
  const std::vector<uint32_t> now = nn->blocks().GoodReplicas(block_id);
  EXPECT_EQ(now.size(), 3u);
  EXPECT_EQ(std::count(now.begin(), now.end(), holders[1]), 0);  // replaced
  EXPECT_EQ(nn->blocks().Counts().corrupt, 0u);
}

// With `tokens`, datanodes require block access tokens and no request carries a principal
// (no CURVE): the copies are admitted only by the replicate token the namenode signs into each
// replicate command (before it did, every copy was refused and the blocks stayed short).
void DeadDatanodesBlocksRegainTheirReplication(bool tokens) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanodes = 5;
  options.namenode.block_tokens.enabled = tokens;
  options.datanode.require_block_tokens = tokens;
  ClusterHarness h(options);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    for (int i = 0; i < 6; ++i) {
      ASSERT_TRUE(fs.WriteFile("/f" + std::to_string(i), Pattern(10 + i, 700 * 1024), {}).ok());
    }
  });
  const NodeId victim = h.cluster().datanode_ids()[1];
  ASSERT_FALSE(h.cluster().machine(victim).disk_storage().List("blk_").empty());
  h.sim().CrashNode(victim);
  const Instant died = h.sim().Now();
  Namenode* nn = h.cluster().namenode();
  ASSERT_NE(nn, nullptr);
  // Dead after 3 s, rechecked every 0.5 s, copied in well under a second.
  Instant healed{};
  while (h.sim().Now() - died < seconds(20)) {
    h.RunFor(milliseconds(250));
    if (h.sim().Now() - died > seconds(3) && nn->blocks().Counts().under_replicated == 0 &&
        nn->datanodes().live_count() == 4) {
      healed = h.sim().Now();
      break;
    }
  }
  ASSERT_NE(healed, Instant{}) << "replication not restored";
  EXPECT_LT(healed - died, seconds(3) + milliseconds(500) * 4 + seconds(2));
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    for (int i = 0; i < 6; ++i) {
      Result<std::string> back = fs.ReadFile("/f" + std::to_string(i));
      ASSERT_TRUE(back.ok());
      EXPECT_EQ(*back, Pattern(10 + i, 700 * 1024));
    }
  });
}

TEST(FileSystemTest, DeadDatanodesBlocksRegainTheirReplication) {
  DeadDatanodesBlocksRegainTheirReplication(/*tokens=*/false);
}

TEST(FileSystemTest, DeadDatanodesBlocksRegainTheirReplicationWithTokensRequired) {
  DeadDatanodesBlocksRegainTheirReplication(/*tokens=*/true);
}

TEST(FileSystemTest, WriterThatDiesHasItsFileRecoveredAndClosed) {
  ClusterHarness h;
  const std::string data = Pattern(7, 700 * 1024);
  NodeId writer_node;
  bool wrote = false;
  writer_node = h.cluster().AddClient("doomed", [&](sim::SimProcess& p) {
    FileSystem fs(p.env(), p.transport(), h.cluster().ClientOptionsFor(p));
    Result<std::unique_ptr<Writer>> writer = fs.Create("/orphaned", {});
    if (!writer.ok()) return;
    // Two whole blocks' worth minus a bit: the first block completes, the second is open.
    if (!(*writer)->Write(data).ok()) return;
    wrote = true;
    (void)p.env().SleepFor(std::chrono::hours(1));  // never closes
  });
  h.sim().StartNode(writer_node);
  while (!wrote && h.sim().Now() < Instant(seconds(60))) h.RunFor(milliseconds(100));
  ASSERT_TRUE(wrote);
  h.sim().CrashNode(writer_node);
  h.RunFor(seconds(20));  // past the lease hard limit and the recovery
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    Result<proto::FileStatus> stat = fs.Stat("/orphaned");
    ASSERT_TRUE(stat.ok());
    EXPECT_FALSE(stat->under_construction());
    Result<std::string> back = fs.ReadFile("/orphaned");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    // What the replicas agreed on: a prefix of what was written, at least the first block.
    EXPECT_GE(back->size(), 512u * 1024);
    EXPECT_LE(back->size(), data.size());
    EXPECT_EQ(*back, data.substr(0, back->size()));
  });
}

TEST(FileSystemTest, NamespaceOperationsThroughTheClient) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.Mkdirs("/a/b/c").ok());
    for (int i = 0; i < 2500; ++i) {
      ASSERT_TRUE(fs.WriteFile("/a/b/c/f" + std::to_string(i), "x", {}).ok());
    }
    Result<std::vector<proto::FileStatus>> all = fs.ListAll("/a/b/c");
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 2500u);
    ASSERT_TRUE(fs.Rename("/a/b", "/z").ok());
    EXPECT_EQ(fs.Stat("/a/b/c/f1").code(), StatusCode::kNotFound);
    EXPECT_TRUE(fs.Stat("/z/c/f1").ok());
    EXPECT_EQ(fs.Rename("/z", "/z/c/inside").code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(fs.Delete("/z", false).code(), StatusCode::kDirectoryNotEmpty);
    ASSERT_TRUE(fs.Delete("/z", true).ok());
    EXPECT_EQ(fs.Stat("/z/c/f1").code(), StatusCode::kNotFound);
    EXPECT_EQ(fs.Delete("/", true).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(fs.WriteFile("/a", "x", {}).code(), StatusCode::kIsADirectory);
    ASSERT_TRUE(fs.WriteFile("/a/x", "one", {}).ok());
    EXPECT_EQ(fs.WriteFile("/a/x", "two", {}).code(), StatusCode::kAlreadyExists);
    ASSERT_TRUE(fs.WriteFile("/a/x", "two", Overwrite()).ok());
    EXPECT_EQ(*fs.ReadFile("/a/x"), "two");
    ASSERT_TRUE(fs.SetPermission("/a/x", 0600).ok());
    EXPECT_EQ(fs.Stat("/a/x")->mode(), 0600u);
    ASSERT_TRUE(fs.SetReplication("/a/x", 2).ok());
    EXPECT_EQ(fs.Stat("/a/x")->replication(), 2u);
  });
  h.RunFor(seconds(2));
  ASSERT_NE(h.cluster().namenode(), nullptr);
  const NamespaceCounts counts = h.cluster().namenode()->ns().counts();
  EXPECT_EQ(counts.files, 1u);        // /a/x
  EXPECT_EQ(counts.directories, 1u);  // /a
}

}  // namespace
}  // namespace granary

namespace granary {
namespace {

// A writer idle between writes for longer than the hard limit keeps its file: the client
// renews its lease in the background (HDFS's LeaseRenewer), once per renew interval and only
// while a writer holds a lease.
TEST(FileSystemTest, AnIdleWriterKeepsItsFilePastTheHardLimit) {
  ClusterHarness h;
  const std::string first = Pattern(9, 100000);
  const std::string second = Pattern(10, 50000);
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    Result<std::unique_ptr<Writer>> writer = fs.Create("/epochs.log", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(first).ok());
    ASSERT_TRUE((*writer)->Flush(Durability::kDurable).ok());
    EXPECT_EQ(fs.context().leases().holders(), 1u);
    // An epoch of training: 20 s with nothing written (the hard limit is 6 s).
    ASSERT_TRUE(p.env().SleepFor(seconds(20)).ok());
    EXPECT_GE(fs.context().leases().renewals(), 5u);
    ASSERT_TRUE((*writer)->Write(second).ok());
    ASSERT_TRUE((*writer)->Close().ok());
    EXPECT_EQ(fs.context().leases().holders(), 0u);
    Result<std::string> back = fs.ReadFile("/epochs.log");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_TRUE(*back == first + second);
    // No writer holds a lease: no more renewals.
    const uint64_t renewed = fs.context().leases().renewals();
    ASSERT_TRUE(p.env().SleepFor(seconds(10)).ok());
    EXPECT_LE(fs.context().leases().renewals(), renewed + 1);
  });
}

TEST(FileSystemTest, AnotherWriterTakesOverOnlyAfterTheSoftLimit) {
  ClusterHarness h;
  NodeId first = h.cluster().AddClient("first", [&](sim::SimProcess& p) {
    FileSystem fs(p.env(), p.transport(), h.cluster().ClientOptionsFor(p));
    Result<std::unique_ptr<Writer>> writer = fs.Create("/contested", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Write(Pattern(8, 100000)).ok());  // past the threshold: open
    (void)p.env().SleepFor(std::chrono::hours(1));
  });
  h.sim().StartNode(first);
  h.RunFor(seconds(1));
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    EXPECT_EQ(fs.WriteFile("/contested", "mine", Overwrite()).code(), StatusCode::kLeaseConflict);
  });
  // While its client lives, the lease is renewed in the background: still refused.
  h.RunFor(seconds(4));
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    EXPECT_EQ(fs.WriteFile("/contested", "mine", Overwrite()).code(), StatusCode::kLeaseConflict);
  });
  h.sim().CrashNode(first);
  h.RunFor(seconds(4));  // past the 3 s soft limit (the dead client renews nothing)
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.WriteFile("/contested", "mine", Overwrite()).ok());
    EXPECT_EQ(*fs.ReadFile("/contested"), "mine");
  });
}

}  // namespace
}  // namespace granary

namespace granary {
namespace {

TEST(FileSystemTest, OpenManyAnswersEachPathAsOpenWouldInOneRoundTrip) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    const std::string small = Pattern(11, 5000);
    const std::string big = Pattern(12, 600000);  // two blocks of 512 KiB
    ASSERT_TRUE(fs.Mkdirs("/d").ok());
    ASSERT_TRUE(fs.WriteFile("/d/small", small, {}).ok());
    ASSERT_TRUE(fs.WriteFile("/d/big", big, {}).ok());
    ASSERT_TRUE(fs.WriteFile("/d/empty", "", {}).ok());
    CreateOptions owner_only;
    owner_only.mode = 0600;
    ASSERT_TRUE(fs.WriteFile("/d/private", small, owner_only).ok());
    ASSERT_TRUE(fs.Mkdirs("/closed", 0700).ok());
    ASSERT_TRUE(fs.WriteFile("/closed/f", small, {}).ok());

    // A user who is not the owner: mode bits apply to it (the superuser passes them all).
    ClientOptions options = h.cluster().ClientOptionsFor(p);
    options.user.set_user("mallory");
    options.user.clear_groups();
    FileSystem stranger(p.env(), p.transport(), options);
    const std::vector<std::string> paths = {"/d/small",  "/d/missing", "/d/big",    "/d/private",
                                            "/d",        "/d/small/x", "relative",  "/d/empty",
                                            "/closed/f", "/d/small",   "/nothing/x"};
    const uint64_t before = h.cluster().network().stats().messages_sent;
    Result<std::vector<FileSystem::Opened>> opened = stranger.OpenMany(paths);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(h.cluster().network().stats().messages_sent - before, 2u);  // one round trip
    ASSERT_EQ(opened->size(), paths.size());
    const std::vector<StatusCode> codes = {StatusCode::kOk,
                                           StatusCode::kNotFound,
                                           StatusCode::kOk,
                                           StatusCode::kPermissionDenied,
                                           StatusCode::kIsADirectory,
                                           StatusCode::kNotADirectory,
                                           StatusCode::kInvalidPath,
                                           StatusCode::kOk,
                                           StatusCode::kPermissionDenied,
                                           StatusCode::kOk,
                                           StatusCode::kNotFound};
    for (size_t i = 0; i < paths.size(); ++i) {
      EXPECT_EQ((*opened)[i].code(), codes[i]) << paths[i];
      // Each answer is the one a lone Open gives, message and all.
      Result<std::unique_ptr<Reader>> alone = stranger.Open(paths[i]);
      EXPECT_EQ((*opened)[i].status(), alone.status()) << paths[i];
    }
    // Inline files came with their bytes: reading them asks nobody.
    const uint64_t before_reads = h.cluster().network().stats().messages_sent;
    for (size_t i : {0, 9}) {
      Reader& reader = *(*opened)[i].value();
      EXPECT_TRUE(reader.status().inline_data());
      Result<std::string> data = reader.ReadAt(0, reader.Size());
      ASSERT_TRUE(data.ok());
      EXPECT_EQ(*data, small);
    }
    // Or are moved out whole.
    Reader& moved = *(*opened)[0].value();
    EXPECT_EQ(moved.TakeInlineData(), small);
    EXPECT_EQ(moved.Size(), 0u);
    EXPECT_TRUE(moved.ReadAt(0, 100)->empty());
    Result<std::string> empty = (*opened)[7].value()->ReadAt(0, 100);
    ASSERT_TRUE(empty.ok());
    EXPECT_TRUE(empty->empty());
    EXPECT_EQ(h.cluster().network().stats().messages_sent, before_reads);
    // A file in blocks came with its locations: its bytes are a datanode read away.
    Reader& blocks = *(*opened)[2].value();
    EXPECT_FALSE(blocks.status().inline_data());
    EXPECT_EQ(blocks.Size(), big.size());
    Result<std::string> data = blocks.ReadAt(0, blocks.Size());
    ASSERT_TRUE(data.ok()) << data.status().ToString();
    EXPECT_EQ(*data, big);
    EXPECT_GT(h.cluster().network().stats().messages_sent, before_reads);
  });
}

TEST(FileSystemTest, OpenManyPastItsLimits) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    // One path too many is refused whole, before anything is sent.
    const std::vector<std::string> too_many(kOpenManyPathsMax + 1, "/x");
    const uint64_t before = h.cluster().network().stats().messages_sent;
    Result<std::vector<FileSystem::Opened>> refused = fs.OpenMany(too_many);
    EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(h.cluster().network().stats().messages_sent, before);
    Result<std::vector<FileSystem::Opened>> none = fs.OpenMany({});
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());

    // Inline bytes past one reply's payload: the namenode answers a prefix, the client asks
    // again for the rest.
    const uint64_t file_bytes = kInlineThresholdBytesDefault;
    const size_t fit = kOpenManyPayloadBytesMax / file_bytes;
    std::vector<std::string> paths;
    for (size_t i = 0; i <= fit; ++i) {
      paths.push_back("/full/f" + std::to_string(i));
      ASSERT_TRUE(fs.WriteFile(paths.back(), Pattern(100 + i, file_bytes), {}).ok());
    }
    proto::OpenManyRequest request;
    *request.mutable_user() = fs.options().user;
    for (const std::string& path : paths) request.add_paths(path);
    proto::OpenManyReply reply;
    std::string payload;
    ASSERT_TRUE(rpc::Call(p.transport(), h.cluster().namenode_address(), rpc::nn::kOpenMany,
                          request, {}, p.env().Now() + seconds(5), &reply, &payload)
                    .ok());
    EXPECT_EQ(static_cast<size_t>(reply.files_size()), fit);
    EXPECT_EQ(payload.size(), fit * file_bytes);
    const uint64_t before_all = h.cluster().network().stats().messages_sent;
    Result<std::vector<FileSystem::Opened>> all = fs.OpenMany(paths);
    ASSERT_TRUE(all.ok()) << all.status().ToString();
    EXPECT_EQ(h.cluster().network().stats().messages_sent - before_all, 4u);  // two round trips
    ASSERT_EQ(all->size(), paths.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      ASSERT_TRUE((*all)[i].ok()) << paths[i];
      Reader& reader = *(*all)[i].value();
      EXPECT_EQ(*reader.ReadAt(0, reader.Size()), Pattern(100 + i, file_bytes)) << paths[i];
    }
  });
}

// Reads `reader` from its position to the end in Reads of `size` bytes.
std::string ReadToEnd(Reader& reader, uint64_t size) {
  std::string out;
  for (;;) {
    Result<std::string> piece = reader.Read(size);
    EXPECT_TRUE(piece.ok()) << piece.status().ToString();
    if (!piece.ok() || piece->empty()) return out;
    EXPECT_LE(piece->size(), size);
    out += *piece;
  }
}

// Client options with small read pieces, so that a few blocks make a long read-ahead window.
ClientOptions SmallPieces(ClusterHarness& h, sim::SimProcess& p) {
  ClientOptions options = h.cluster().ClientOptionsFor(p);
  options.read_piece_bytes = 64 * 1024;
  options.read_parallelism = 3;
  options.read_ahead_bytes = 100 * 1024;
  return options;
}

TEST(FileSystemTest, ReadAheadWindowReturnsTheRightBytesForEveryReadPattern) {
  ClusterHarness h;
  const std::string data = Pattern(7, 3 * 512 * 1024 + 70001);  // four blocks, the last short
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.WriteFile("/window", data, {}).ok());
  });
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    const ClientOptions options = SmallPieces(h, p);
    FileSystem fs(p.env(), p.transport(), options);
    // Sequential passes in sizes below, at and above a piece, unaligned ones among them.
    for (uint64_t size : {1ull, 4095ull, 65536ull, 99999ull, 524288ull, 700001ull, 8ull << 20}) {
      Result<std::unique_ptr<Reader>> reader = fs.Open("/window");
      ASSERT_TRUE(reader.ok());
      if (size == 1) {  // one byte at a time is slow: only across the first piece boundary
        ASSERT_TRUE((*reader)->Seek(65536 - 50).ok());
        std::string bytes;
        for (int i = 0; i < 100; ++i) bytes += *(*reader)->Read(1);
        EXPECT_EQ(bytes, data.substr(65536 - 50, 100));
        continue;
      }
      EXPECT_EQ(ReadToEnd(**reader, size), data) << size;
      EXPECT_EQ((*reader)->Tell(), data.size());
      // At the end: empty, again and again.
      EXPECT_EQ(*(*reader)->Read(size), "");
      EXPECT_EQ(*(*reader)->Read(size), "");
    }
    // ReadPiece: the same bytes, in pieces of at most the size asked, none empty before the
    // end; a whole piece of the window comes as it arrived.
    for (uint64_t size : {4095ull, 65536ull, 700001ull}) {
      Result<std::unique_ptr<Reader>> reader = fs.Open("/window");
      ASSERT_TRUE(reader.ok());
      std::string bytes;
      uint64_t pieces = 0;
      for (;;) {
        Result<std::string> piece = (*reader)->ReadPiece(size);
        ASSERT_TRUE(piece.ok()) << piece.status().ToString();
        if (piece->empty()) break;
        ASSERT_LE(piece->size(), size);
        // A piece asked for with room to spare is the window's piece moved out, not a
        // copy into a buffer of the size asked (which would pin `size` bytes per piece).
        if (size > 65536) {
          EXPECT_LT(piece->capacity(), 2 * piece->size() + 64) << size;
        }
        bytes += *piece;
        ++pieces;
      }
      EXPECT_EQ(bytes, data) << size;
      // Never more than the whole-size reads plus one per piece boundary (64 KiB pieces).
      EXPECT_LE(pieces, data.size() / size + data.size() / 65536 + 2) << size;
      if (size > 65536) {
        EXPECT_GT(pieces, data.size() / size + 1) << size;
      }
    }
    // Random seeks, backwards and forwards, inside and outside the window, and reads that
    // run past the end of the file.
    Random random(cluster_testing::SeedForTest());
    Result<std::unique_ptr<Reader>> reader = fs.Open("/window");
    ASSERT_TRUE(reader.ok());
    for (int i = 0; i < 200; ++i) {
      uint64_t at = random.Below(data.size() + 1);
      if (i % 4 == 1) at = (*reader)->Tell();  // continue where the last read ended
      if (i % 4 == 2) at = (*reader)->Tell() - std::min<uint64_t>((*reader)->Tell(), 1000);
      const uint64_t size = 1 + random.Below(i % 2 == 0 ? 300000 : 5000);
      ASSERT_TRUE((*reader)->Seek(at).ok());
      Result<std::string> bytes = (*reader)->Read(size);
      ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
      ASSERT_EQ(*bytes, data.substr(at, size)) << "at " << at << " size " << size;
      EXPECT_EQ((*reader)->Tell(), at + bytes->size());
    }
    EXPECT_FALSE((*reader)->Seek(data.size() + 1).ok());
    // ReadAt neither moves the position nor disturbs the window.
    ASSERT_TRUE((*reader)->Seek(1000).ok());
    EXPECT_EQ(*(*reader)->Read(5000), data.substr(1000, 5000));
    EXPECT_EQ(*(*reader)->ReadAt(600000, 300000), data.substr(600000, 300000));
    EXPECT_EQ(*(*reader)->ReadAt(data.size() - 10, 100), data.substr(data.size() - 10));
    EXPECT_EQ(*(*reader)->ReadAt(data.size(), 100), "");
    EXPECT_EQ((*reader)->Tell(), 6000u);
    EXPECT_EQ(ReadToEnd(**reader, 77777), data.substr(6000));
    // A reader closed with pieces in flight waits for them.
    Result<std::unique_ptr<Reader>> dropped = fs.Open("/window");
    ASSERT_TRUE(dropped.ok());
    EXPECT_EQ(*(*dropped)->Read(10), data.substr(0, 10));
  });
}

TEST(FileSystemTest, ReadAheadStartsSmallAndGrowsWhileReadsStaySequential) {
  ClusterHarness h;
  const std::string data = Pattern(11, 3 * 512 * 1024);  // three blocks
  h.RunClient(
      [&](sim::SimProcess&, FileSystem& fs) { ASSERT_TRUE(fs.WriteFile("/grow", data, {}).ok()); });
  // Bytes the datanodes have sent so far (replies to reads, and their small heartbeats).
  auto datanode_tx = [&] {
    uint64_t total = 0;
    for (NodeId id : h.cluster().datanode_ids()) total += h.cluster().network().tx_bytes(id);
    return total;
  };
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    ClientOptions options = h.cluster().ClientOptionsFor(p);
    options.read_piece_bytes = 64 * 1024;
    options.read_parallelism = 16;  // a whole window of 1 MiB
    options.read_ahead_bytes = 64 * 1024;
    FileSystem fs(p.env(), p.transport(), options);
    // A reader that takes a header and leaves fetches the piece it reads and the next (the
    // read-ahead of 64 KiB past its position), not the window.
    uint64_t before = datanode_tx();
    {
      Result<std::unique_ptr<Reader>> reader = fs.Open("/grow");
      ASSERT_TRUE(reader.ok());
      EXPECT_EQ(*(*reader)->Read(100), data.substr(0, 100));
    }
    EXPECT_LT(datanode_tx() - before, 160u * 1024);
    // Sequential reads double it: three reads of 1 KiB reach 64, 128 and 256 KiB past their
    // position, so pieces up to 320 KiB are fetched (once the fibers in flight are done).
    before = datanode_tx();
    Result<std::unique_ptr<Reader>> reader = fs.Open("/grow");
    ASSERT_TRUE(reader.ok());
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(*(*reader)->Read(1024), data.substr(i * 1024, 1024));
    }
    ASSERT_TRUE(p.env().SleepFor(std::chrono::seconds(1)).ok());
    const uint64_t early = datanode_tx() - before;
    EXPECT_GT(early, 320u * 1024);
    EXPECT_LT(early, 400u * 1024);
    // Streaming on, the window reaches its whole 1 MiB, and the file is fetched once.
    EXPECT_EQ(ReadToEnd(**reader, 32 * 1024), data.substr(3 * 1024));
    const uint64_t all = datanode_tx() - before;
    EXPECT_GE(all, data.size());
    EXPECT_LT(all, data.size() + data.size() / 8);
    // A seek elsewhere starts small again.
    before = datanode_tx();
    ASSERT_TRUE((*reader)->Seek(700 * 1024).ok());
    EXPECT_EQ(*(*reader)->Read(10), data.substr(700 * 1024, 10));
    reader->reset();
    EXPECT_LT(datanode_tx() - before, 160u * 1024);
  });
}

TEST(FileSystemTest, SequentialReadFailsOverWhenADatanodeDiesMidStream) {
  ClusterHarness h;
  const std::string data = Pattern(8, 4 * 512 * 1024);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.WriteFile("/stream", data, {}).ok());
  });
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    const ClientOptions options = SmallPieces(h, p);
    FileSystem fs(p.env(), p.transport(), options);
    Result<std::unique_ptr<Reader>> reader = fs.Open("/stream");
    ASSERT_TRUE(reader.ok());
    std::string all = *(*reader)->Read(100000);
    // The window has pieces in flight to the nearest replicas; every datanode but one dies.
    const std::vector<NodeId> datanodes = h.cluster().datanode_ids();
    ASSERT_EQ(datanodes.size(), 3u);
    h.sim().CrashNode(datanodes[0]);
    h.sim().CrashNode(datanodes[1]);
    all += ReadToEnd(**reader, 123457);
    EXPECT_EQ(all, data);
  });
}

TEST(FileSystemTest, ReaderCatchesReplicasThatRottedAndReportsThem) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanode.scanner_bytes_per_second = 0;  // only a reader can find the rot
  ClusterHarness h(options);
  const std::string data = Pattern(9, 2 * 512 * 1024);
  h.RunClient(
      [&](sim::SimProcess&, FileSystem& fs) { ASSERT_TRUE(fs.WriteFile("/rot", data, {}).ok()); });
  // One chunk of every replica rots: the datanodes serve the bytes unchecked (the reader
  // verifies), so the reader must see every mismatch, fail, and report every replica.
  int corrupted = 0;
  for (NodeId dn : h.cluster().datanode_ids()) {
    sim::SimDiskStorage& disk = h.cluster().machine(dn).disk_storage();
    for (const std::string& name : disk.List("blk_")) {
      if (name.size() > 5 && name.substr(name.size() - 5) == ".data") {
        ASSERT_TRUE(disk.Corrupt(name, 70000).ok());
        ++corrupted;
      }
    }
  }
  ASSERT_EQ(corrupted, 6);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    Result<std::unique_ptr<Reader>> reader = fs.Open("/rot");
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(*(*reader)->ReadAt(0, 1000), data.substr(0, 1000));  // the first chunk is intact
    Result<std::string> bad = (*reader)->Read(1 << 20);
    EXPECT_EQ(bad.code(), StatusCode::kCorruption) << bad.status().ToString();
    // The window fetched (and failed) the second block too; its replicas are all known bad.
    EXPECT_FALSE((*reader)->ReadAt(512 * 1024, 100000).ok());
  });
  Namenode* nn = h.cluster().namenode();
  ASSERT_NE(nn, nullptr);
  EXPECT_EQ(nn->blocks().Counts().corrupt, 2u);  // every replica of both blocks reported
}

TEST(FileSystemTest, PacketsInFlightSurviveADatanodeDyingAmongThem) {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanodes = 5;
  ClusterHarness h(options);
  const std::string data = Pattern(10, 3 * 512 * 1024 + 4321);  // four blocks
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    ClientOptions client = h.cluster().ClientOptionsFor(p);
    client.packet_bytes = 64 * 1024;
    client.packets_in_flight = 6;
    FileSystem fs(p.env(), p.transport(), client);
    Result<std::unique_ptr<Writer>> writer = fs.Create("/inflight", {});
    ASSERT_TRUE(writer.ok());
    // Writes of odd sizes; one datanode of the second block's pipeline dies while that
    // block's packets are in flight.
    bool killed = false;
    for (uint64_t at = 0; at < data.size();) {
      const uint64_t n = std::min<uint64_t>(100003, data.size() - at);
      ASSERT_TRUE((*writer)->Write(std::string_view(data).substr(at, n)).ok()) << at;
      at += n;
      if (!killed && at > 600 * 1024) {
        for (NodeId dn : h.cluster().datanode_ids()) {
          if (!killed && !h.cluster().machine(dn).disk_storage().List("rbw_").empty()) {
            h.sim().CrashNode(dn);
            killed = true;
          }
        }
      }
    }
    EXPECT_TRUE(killed);
    const Status closed = (*writer)->Close();
    ASSERT_TRUE(closed.ok()) << closed.ToString();
    Result<std::string> back = fs.ReadFile("/inflight");
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, data);
  });
}

}  // namespace
}  // namespace granary

namespace granary {
namespace {

uint64_t TotalCalls(const NamenodeClient::CallCounts& counts) {
  uint64_t total = 0;
  for (const auto& [method, count] : counts) total += count;
  return total;
}

// What io.open must refuse (Python's open("wb"/"xb"), which creates without parents) is
// refused by the create itself: Create and Write send nothing, Close sends the one nn.Create
// with the bytes, and its answer is the refusal.
TEST(FileSystemTest, TheOneCreateOfASmallFileRefusesWhatIoOpenMust) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    ASSERT_TRUE(fs.Defaults().ok());
    ASSERT_TRUE(fs.Mkdirs("/d").ok());
    ASSERT_TRUE(fs.WriteFile("/f", "x", {}).ok());
    ASSERT_TRUE(fs.Mkdirs("/private", 0755).ok());
    ClientOptions alice_options = h.cluster().ClientOptionsFor(p);
    alice_options.user.set_user("alice");
    FileSystem alice(p.env(), p.transport(), alice_options);
    ASSERT_TRUE(alice.Defaults().ok());
    struct Case {
      FileSystem* fs;
      const char* path;
      bool exclusive;
      StatusCode code;
    };
    const Case cases[] = {
        {&fs, "/d", false, StatusCode::kIsADirectory},
        {&fs, "/missing/x", false, StatusCode::kNotFound},
        {&fs, "/f/x", false, StatusCode::kNotADirectory},
        {&fs, "/f", true, StatusCode::kAlreadyExists},
        {&alice, "/private/x", false, StatusCode::kPermissionDenied},
        {&fs, "/f", false, StatusCode::kOk},  // "wb" over a file: overwritten
        {&fs, "/new", true, StatusCode::kOk},
    };
    for (const Case& c : cases) {
      CreateOptions options;
      options.overwrite = !c.exclusive;
      options.create_parents = false;
      const NamenodeClient::CallCounts before = c.fs->namenode().call_counts();
      Result<std::unique_ptr<Writer>> writer = c.fs->Create(c.path, options);
      ASSERT_TRUE(writer.ok()) << c.path;
      ASSERT_TRUE((*writer)->Write("data").ok());
      EXPECT_EQ(c.fs->namenode().call_counts(), before) << c.path;  // nothing sent yet
      EXPECT_EQ((*writer)->Close().code(), c.code) << c.path;
      NamenodeClient::CallCounts after = c.fs->namenode().call_counts();
      EXPECT_EQ(TotalCalls(after), TotalCalls(before) + 1) << c.path;
      const std::string create(rpc::nn::kCreate.name);
      EXPECT_EQ(after[create], before.count(create) ? before.at(create) + 1 : 1) << c.path;
    }
    EXPECT_EQ(*fs.ReadFile("/f"), "data");
    EXPECT_EQ(*fs.ReadFile("/new"), "data");
    EXPECT_EQ(fs.Stat("/missing").code(), StatusCode::kNotFound);
    EXPECT_EQ(fs.Stat("/private/x").code(), StatusCode::kNotFound);
  });
}

}  // namespace
}  // namespace granary
