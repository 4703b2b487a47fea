// Clients of a three-namenode simulated cluster (sim/runs/sim_cluster.h, namenodes: 3, over a
// SimJournal) whose reads go to every namenode (ClientOptions::read_policy, issue 14): each
// reads its own writes at once wherever the read lands, the reads are spread over all three,
// a file in blocks is read through the active, and nn.Msync makes another client's writes
// visible.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "tests/core/client/cluster_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using cluster_testing::Pattern;
using std::chrono::milliseconds;

sim::SimClusterOptions HaCluster() {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.namenodes = 3;
  return options;
}

void ReadYourWrites(ReadPolicy policy) {
  ClusterHarness h(HaCluster());
  h.RunClient([&](sim::SimProcess& p, FileSystem&) {
    ClientOptions options = h.cluster().ClientOptionsFor(p);
    options.read_policy = policy;
    FileSystem fs(p.env(), p.transport(), options);
    ASSERT_TRUE(fs.Mkdirs("/d").ok());
    uint64_t last_seq = 0;
    for (int i = 0; i < 150; ++i) {
      const std::string path = "/d/f" + std::to_string(i);
      ASSERT_TRUE(fs.WriteFile(path, Pattern(i, 100 + i), {}).ok()) << path;
      Result<std::string> read = fs.ReadFile(path);
      ASSERT_TRUE(read.ok()) << path << ": " << read.status().ToString();
      EXPECT_EQ(*read, Pattern(i, 100 + i)) << path;
      Result<proto::FileStatus> stat = fs.Stat(path);
      ASSERT_TRUE(stat.ok()) << path << ": " << stat.status().ToString();
      EXPECT_EQ(stat->length_bytes(), 100u + i);
      // The client's state id only grows, and every write raised it.
      const uint64_t seq = fs.namenode().locator().seen_seq();
      EXPECT_GT(seq, last_seq);
      last_seq = seq;
    }
    Result<std::vector<proto::FileStatus>> listed = fs.ListAll("/d");
    ASSERT_TRUE(listed.ok());
    EXPECT_EQ(listed->size(), 150u);
    const std::vector<uint64_t> reads = fs.namenode().locator().reads_answered();
    ASSERT_EQ(reads.size(), 3u);
    for (size_t i = 0; i < reads.size(); ++i) {
      if (policy == ReadPolicy::kActive) {
        EXPECT_EQ(reads[i] > 0, h.cluster().ha_namenode(i)->active()) << i;
      } else if (policy == ReadPolicy::kLeastLoaded && h.cluster().ha_namenode(i)->active()) {
        // Least-loaded may leave the active out: since standbys learn of entries by the
        // journal's watch they answer at once, and the active, which also takes every write,
        // loses the latency tie-break (NamenodeLocator's two choices).
      } else {
        EXPECT_GT(reads[i], 0u) << "namenode " << i << " answered no read";
      }
    }
  });
  // What the namenodes counted agrees: with reads spread, every standby served some.
  uint64_t served = 0;
  for (size_t i = 0; i < 3; ++i) {
    HaNamenode* node = h.cluster().ha_namenode(i);
    ASSERT_NE(node, nullptr);
    served += node->reads_served();
    if (node->active()) {
      EXPECT_GE(node->writes_served(), 151u);  // the mkdir and the creates
    } else {
      EXPECT_EQ(node->writes_served(), 0u);
      if (policy != ReadPolicy::kActive) {
        EXPECT_GT(node->reads_served(), 0u) << i;
      }
    }
  }
  EXPECT_GE(served, 300u);
}

TEST(ConsistentReadsTest, LeastLoadedReadsItsOwnWritesOnEveryNamenode) {
  ReadYourWrites(ReadPolicy::kLeastLoaded);
}
TEST(ConsistentReadsTest, RandomReadsItsOwnWritesOnEveryNamenode) {
  ReadYourWrites(ReadPolicy::kRandom);
}
TEST(ConsistentReadsTest, ActiveReadsOnlyFromTheActive) { ReadYourWrites(ReadPolicy::kActive); }

TEST(ConsistentReadsTest, AFileInBlocksIsReadThroughTheActive) {
  ClusterHarness h(HaCluster());
  constexpr uint64_t kBytes = 3 << 20;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.WriteFile("/big", Pattern(7, kBytes), {}).ok());
    for (int i = 0; i < 5; ++i) {
      Result<std::string> read = fs.ReadFile("/big");
      ASSERT_TRUE(read.ok()) << read.status().ToString();
      EXPECT_TRUE(*read == Pattern(7, kBytes));
    }
  });
}

// Another client's acknowledged write is visible to a reader after Msync, whichever
// namenode the reader's reads land on.
TEST(ConsistentReadsTest, MsyncShowsAnotherClientsWrites) {
  ClusterHarness h(HaCluster());
  uint64_t writer_seq = 0;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(fs.WriteFile("/w" + std::to_string(i), Pattern(i, 10), {}).ok());
    }
    writer_seq = fs.namenode().locator().seen_seq();
  });
  ASSERT_GT(writer_seq, 0u);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    EXPECT_EQ(fs.namenode().locator().seen_seq(), 0u);
    ASSERT_TRUE(fs.Msync().ok());
    EXPECT_GE(fs.namenode().locator().seen_seq(), writer_seq);
    for (int i = 0; i < 20; ++i) {
      Result<std::string> read = fs.ReadFile("/w" + std::to_string(i));
      ASSERT_TRUE(read.ok()) << i << ": " << read.status().ToString();
      EXPECT_EQ(*read, Pattern(i, 10));
    }
  });
}

}  // namespace
}  // namespace granary
