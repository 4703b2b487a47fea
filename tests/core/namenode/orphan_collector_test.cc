#include "core/namenode/orphan_collector.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "core/namenode/inode_store.h"
#include "core/namenode/namespace.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namenode_testing::CheckStore;
using namenode_testing::NamenodeHarness;
using namenode_testing::StoreCensus;
using namenode_testing::Super;

// A tree below /t: `dirs` directories of `files` files each, every file with one block record.
void MakeTree(Namespace& ns, int dirs, int files) {
  for (int d = 0; d < dirs; ++d) {
    const std::string dir = "/t/d" + std::to_string(d);
    ASSERT_TRUE(ns.Mkdirs(Super(), dir, 0, true).ok());
    for (int f = 0; f < files; ++f) {
      CreateArgs args;
      args.client_name = "writer";
      Result<proto::Inode> file = ns.Create(Super(), dir + "/f" + std::to_string(f), args, nullptr);
      ASSERT_TRUE(file.ok());
      Result<uint64_t> block_id = ns.block_ids().Next();
      ASSERT_TRUE(block_id.ok());
      ASSERT_TRUE(ns.MutateFile(InodeId(file->id()), [&](proto::Inode& inode, WriteBatch& batch) {
                      proto::BlockRef* ref = inode.add_blocks();
                      ref->set_block_id(*block_id);
                      ref->set_generation_stamp(1);
                      proto::StoredBlock stored;
                      stored.set_inode_id(inode.id());
                      *stored.mutable_block() = *ref;
                      InodeStore::PutBlock(batch, stored);
                      inode.set_inline_data(false);
                      inode.set_under_construction(false);
                      return Status::Ok();
                    }).ok());
    }
  }
}

TEST(OrphanCollectorTest, CollectsAnUnlinkedSubtreeWithinItsBudget) {
  NamenodeHarness h(1);
  h.Run([&h](Namespace& ns) {
    MakeTree(ns, 3, 5);
    ASSERT_TRUE(ns.Delete(Super(), "/t", true, nullptr).ok());
    InodeStore records(h.process().meta_store());
    NamespaceReader reader(records, ns.options());
    NamespaceCounts counts = ns.counts();
    EXPECT_EQ(counts.files, 15u);
    EXPECT_EQ(counts.directories, 3u);  // /t itself is gone
    OrphanCollector collector(records, reader, counts);
    ReleasedBlocks released;
    size_t total = 0;
    int rounds = 0;
    for (;;) {
      Result<size_t> removed = collector.Collect(4, &released);
      ASSERT_TRUE(removed.ok());
      EXPECT_LE(*removed, 5u) << "the budget, and one orphan record";
      if (*removed == 0) break;
      total += *removed;
      ASSERT_LT(++rounds, 100);
    }
    EXPECT_GT(rounds, 1) << "a budget of 4 takes several rounds";
    // 3 directories, 15 files, and the orphan records of /t and each directory.
    EXPECT_EQ(total, 3u + 15u + 4u);
    EXPECT_EQ(counts.files, 0u);
    EXPECT_EQ(counts.directories, 0u);
    EXPECT_EQ(released.blocks.size(), 15u);
    std::set<uint64_t> ids;
    for (const proto::BlockRef& block : released.blocks) ids.insert(block.block_id());
    EXPECT_EQ(ids.size(), 15u) << "each block released once";
    EXPECT_FALSE(records.FirstOrphan()->has_value());
  });
  const StoreCensus census = CheckStore(h.Dump(), true);
  EXPECT_EQ(census.files, 0u);
  EXPECT_EQ(census.directories, 0u);
}

// Two collectors on one namespace take turns: nothing is removed, counted or released twice.
TEST(OrphanCollectorTest, ConcurrentCollectorsTakeTurns) {
  NamenodeHarness h(2);
  h.Run([](Namespace& ns) {
    MakeTree(ns, 2, 6);
    ASSERT_TRUE(ns.Delete(Super(), "/t", true, nullptr).ok());
  });
  InodeStore records(h.process().meta_store());
  NamespaceReader reader(records, h.ns().options());
  NamespaceCounts counts = h.ns().counts();
  OrphanCollector collector(records, reader, counts);
  ReleasedBlocks released;
  size_t removed[2] = {0, 0};
  for (int i = 0; i < 2; ++i) {
    h.process().Spawn("collector", [&, i] {
      for (;;) {
        Result<size_t> one = collector.Collect(3, &released);
        if (!one.ok() || *one == 0) return;
        removed[i] += *one;
      }
    });
  }
  h.sim().RunUntilIdle();
  EXPECT_EQ(removed[0] + removed[1], 2u + 12u + 3u);
  EXPECT_EQ(released.blocks.size(), 12u);
  EXPECT_EQ(counts.files, 0u);
  EXPECT_EQ(counts.directories, 0u);
  CheckStore(h.Dump(), true);
}

}  // namespace
}  // namespace granary
