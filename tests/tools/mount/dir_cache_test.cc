#include "tools/mount/dir_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace granary::mount {
namespace {

using namespace std::chrono_literals;

TEST(DirCacheTest, OnlyAKnownDirectoryAnswersAbsence) {
  DirCache cache(10s);
  EXPECT_FALSE(cache.KnownAbsent(5, "a"));  // never listed: ask the namenode
  cache.Listing(5);
  cache.Known(5, {"a", "b"});
  EXPECT_FALSE(cache.KnownAbsent(5, "a"));
  EXPECT_TRUE(cache.KnownAbsent(5, "c"));
  cache.Added(5, "c");
  EXPECT_FALSE(cache.KnownAbsent(5, "c"));
  cache.Removed(5, "a");
  EXPECT_TRUE(cache.KnownAbsent(5, "a"));
  cache.Drop(5);
  EXPECT_FALSE(cache.KnownAbsent(5, "x"));
  cache.Made(9);
  EXPECT_TRUE(cache.KnownAbsent(9, "anything"));
}

TEST(DirCacheTest, NamesAddedWhileAListingIsInFlightAreKept) {
  DirCache cache(10s);
  cache.Made(3);
  cache.Listing(3);
  cache.Added(3, "new");  // the listing may have been taken before it
  cache.Known(3, {"old"});
  EXPECT_FALSE(cache.KnownAbsent(3, "new"));
  EXPECT_FALSE(cache.KnownAbsent(3, "old"));
  EXPECT_TRUE(cache.KnownAbsent(3, "other"));
  cache.Listing(4);  // a directory dropped while listed is not kept
  cache.Drop(4);
  cache.Known(4, {});
  EXPECT_FALSE(cache.KnownAbsent(4, "x"));
}

TEST(DirCacheTest, KnowledgeExpiresAndIsPerCaller) {
  DirCache cache(30ms);
  cache.Made(1, /*caller=*/7);
  EXPECT_TRUE(cache.KnownAbsent(1, "a", 7));
  EXPECT_FALSE(cache.KnownAbsent(1, "a", 8));  // listed for another user
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(cache.KnownAbsent(1, "a", 7));
  EXPECT_TRUE(cache.ListAgain(1, 10));
  EXPECT_FALSE(cache.ListAgain(1, 10));  // one listing in flight at a time
  cache.Known(1, {"a"}, 7);
  EXPECT_FALSE(cache.KnownAbsent(1, "a", 7));
  EXPECT_TRUE(cache.KnownAbsent(1, "b", 7));
  EXPECT_FALSE(cache.ListAgain(1, 10));  // fresh again
  DirCache off(0s);                      // entry_timeout=0: nothing is known
  off.Made(1);
  EXPECT_FALSE(off.KnownAbsent(1, "a"));
}

TEST(DirCacheTest, LargeDirectoriesAreNotKept) {
  DirCache cache(10s);
  std::vector<std::string> names;
  for (size_t i = 0; i <= DirCache::kNamesMax; ++i) names.push_back(std::to_string(i));
  cache.Listing(2);
  cache.Known(2, names);
  EXPECT_FALSE(cache.KnownAbsent(2, "absent"));
  names.pop_back();
  cache.Listing(2);
  cache.Known(2, names);
  EXPECT_TRUE(cache.KnownAbsent(2, "absent"));
  cache.Added(2, "one-too-many");
  EXPECT_FALSE(cache.KnownAbsent(2, "absent"));
}

}  // namespace
}  // namespace granary::mount
