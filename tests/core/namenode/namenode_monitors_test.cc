// The namenode's monitors (core/namenode/namenode_monitors.h): silent datanodes are declared
// dead and their blocks re-replicated, and deleted subtrees are collected in the background.
#include "core/namenode/namenode_monitors.h"

#include <gtest/gtest.h>

#include "core/namenode/namenode.h"
#include "tests/core/namenode/namenode_rpc_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using std::chrono::seconds;

sim::SimClusterOptions FourDatanodes() {
  sim::SimClusterOptions options = sim::FastClusterOptions();
  options.datanodes = 4;
  return options;
}

TEST(NamenodeMonitorsTest, ADatanodeThatFallsSilentIsDeclaredDeadAndItsBlocksReplicated) {
  ClusterHarness h(FourDatanodes());
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.WriteFile("/f", cluster_testing::Pattern(1, 300 * 1024), {}).ok());
  });
  h.RunFor(seconds(5));  // past the start-up wait of the replication monitor
  Namenode* namenode = h.cluster().namenode();
  ASSERT_NE(namenode, nullptr);
  EXPECT_EQ(namenode->datanodes().live_count(), 4u);
  EXPECT_EQ(namenode->blocks().Counts().under_replicated, 0u);

  h.sim().CrashNode(h.cluster().datanode_ids()[0]);
  h.RunFor(seconds(1));  // well within datanode_dead_after (3 s): still live
  EXPECT_EQ(namenode->datanodes().live_count(), 4u);
  h.RunFor(seconds(4));
  EXPECT_EQ(namenode->datanodes().live_count(), 3u);
  h.RunFor(seconds(10));
  const BlockCounts counts = namenode->blocks().Counts();
  EXPECT_EQ(counts.blocks, 1u);
  EXPECT_EQ(counts.under_replicated, 0u);
  EXPECT_EQ(counts.missing, 0u);
}

TEST(NamenodeMonitorsTest, ADeletedDirectorysFilesAreCollectedAndTheirBlocksReleased) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.Mkdirs("/d/e").ok());
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(fs.WriteFile("/d/e/" + std::to_string(i), "x", {}).ok());
    }
    ASSERT_TRUE(fs.WriteFile("/d/big", cluster_testing::Pattern(2, 100 * 1024), {}).ok());
  });
  Namenode* namenode = h.cluster().namenode();
  ASSERT_NE(namenode, nullptr);
  EXPECT_EQ(namenode->ns().counts().files, 6u);
  EXPECT_EQ(namenode->blocks().Counts().blocks, 1u);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.Delete("/d", /*recursive=*/true).ok());
  });
  h.RunFor(seconds(2));  // a few rounds of the orphan collector
  EXPECT_EQ(namenode->ns().counts().files, 0u);
  EXPECT_EQ(namenode->ns().counts().directories, 0u);
  EXPECT_EQ(namenode->blocks().Counts().blocks, 0u);
}

}  // namespace
}  // namespace granary
