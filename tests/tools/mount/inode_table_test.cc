#include "tools/mount/inode_table.h"

#include <gtest/gtest.h>

namespace granary::mount {
namespace {

TEST(InodeTableTest, PathsKeepTheirNumberUntilForgotten) {
  InodeTable table;
  EXPECT_EQ(table.PathOf(InodeTable::kRoot), "/");
  const uint64_t a = table.Ref("/a");
  EXPECT_NE(a, InodeTable::kRoot);
  EXPECT_EQ(table.Ref("/a"), a);
  EXPECT_EQ(table.references(a), 2u);
  table.Forget(a, 1);
  EXPECT_EQ(table.PathOf(a), "/a");
  table.Forget(a, 1);
  EXPECT_EQ(table.PathOf(a), std::nullopt);
  EXPECT_NE(table.Ref("/a"), a);  // a new number, never a reused one
  table.Forget(InodeTable::kRoot, 100);
  EXPECT_EQ(table.PathOf(InodeTable::kRoot), "/");
}

TEST(InodeTableTest, RenameMovesTheSubtreeAndOnlyIt) {
  InodeTable table;
  const uint64_t d = table.Ref("/d");
  const uint64_t f = table.Ref("/d/f");
  const uint64_t sibling = table.Ref("/d2/f");  // shares the prefix "/d" but not the dir
  const uint64_t old_target = table.Ref("/e");
  table.Renamed("/d", "/e");
  EXPECT_EQ(table.PathOf(d), "/e");
  EXPECT_EQ(table.PathOf(f), "/e/f");
  EXPECT_EQ(table.PathOf(sibling), "/d2/f");
  EXPECT_EQ(table.PathOf(old_target), std::nullopt);  // replaced
  EXPECT_EQ(table.Find("/d/f"), std::nullopt);
  EXPECT_EQ(table.Find("/e/f"), f);
}

TEST(InodeTableTest, RemovedNumbersResolveToNoPathUntilForgotten) {
  InodeTable table;
  const uint64_t d = table.Ref("/d");
  const uint64_t f = table.Ref("/d/f");
  table.Removed("/d");
  EXPECT_EQ(table.PathOf(d), std::nullopt);
  EXPECT_EQ(table.PathOf(f), std::nullopt);
  EXPECT_NE(table.Ref("/d"), d);
  table.Forget(f, 1);
  EXPECT_EQ(table.size(), 3u);  // root, the old /d (still referenced), the new /d
}

TEST(InodeTableTest, EntriesThatDidNotFitAreDropped) {
  InodeTable table;
  const uint64_t x = table.Ref("/x", 0);
  table.DropIfUnreferenced(x);
  EXPECT_EQ(table.PathOf(x), std::nullopt);
  const uint64_t y = table.Ref("/y", 1);
  table.DropIfUnreferenced(y);
  EXPECT_EQ(table.PathOf(y), "/y");
}

TEST(InodeTableTest, CacheIsKeptOnlyForAnUnchangedFile) {
  InodeTable table;
  const uint64_t f = table.Ref("/f");
  EXPECT_FALSE(table.UnchangedSinceLastOpen(f, 100, 5));
  EXPECT_TRUE(table.UnchangedSinceLastOpen(f, 100, 5));
  EXPECT_FALSE(table.UnchangedSinceLastOpen(f, 101, 5));
  EXPECT_FALSE(table.UnchangedSinceLastOpen(f, 101, 6));
}

}  // namespace
}  // namespace granary::mount
