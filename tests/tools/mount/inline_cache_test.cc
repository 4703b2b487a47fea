#include "tools/mount/inline_cache.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>

namespace granary::mount {
namespace {

using namespace std::chrono_literals;

TEST(InlineCacheTest, OpenReadRelease) {
  InlineCache cache(10s);
  cache.Put(7, 100, "hello world");
  const InlineCache::Opened opened = cache.Open(7);
  ASSERT_NE(opened.fh, 0u);
  EXPECT_TRUE(InlineCache::Owns(opened.fh));
  EXPECT_FALSE(opened.keep_cache);  // first open of this version
  std::string out;
  ASSERT_TRUE(cache.Read(opened.fh, 6, 100, &out));
  EXPECT_EQ(out, "world");
  ASSERT_TRUE(cache.Read(opened.fh, 11, 10, &out));
  EXPECT_EQ(out, "");
  cache.Release(opened.fh);
  EXPECT_FALSE(cache.Read(opened.fh, 0, 1, &out));
  EXPECT_EQ(cache.Open(8).fh, 0u);
}

TEST(InlineCacheTest, PagesAreKeptOnlyForTheSameVersion) {
  InlineCache cache(10s);
  cache.Put(1, 100, "v1");
  cache.Release(cache.Open(1).fh);
  EXPECT_TRUE(cache.Open(1).keep_cache);
  cache.Put(1, 100, "v1");  // a new lookup of the same version
  EXPECT_TRUE(cache.Open(1).keep_cache);
  cache.Put(1, 200, "v2");
  const InlineCache::Opened changed = cache.Open(1);
  EXPECT_FALSE(changed.keep_cache);
  std::string out;
  ASSERT_TRUE(cache.Read(changed.fh, 0, 10, &out));
  EXPECT_EQ(out, "v2");
}

TEST(InlineCacheTest, OpenHandlesOutliveDropsAndEntriesExpire) {
  InlineCache cache(20ms);
  cache.Put(1, 1, "abc");
  const uint64_t fh = cache.Open(1).fh;
  cache.Drop(1);
  EXPECT_EQ(cache.Open(1).fh, 0u);
  std::string out;
  ASSERT_TRUE(cache.Read(fh, 0, 3, &out));  // an open file keeps its bytes
  EXPECT_EQ(out, "abc");
  cache.Put(2, 1, "x");
  std::this_thread::sleep_for(40ms);
  EXPECT_EQ(cache.Open(2).fh, 0u);
  InlineCache off(0s);  // attr_timeout=0: nothing is cached
  off.Put(3, 1, "y");
  EXPECT_EQ(off.Open(3).fh, 0u);
}

TEST(InlineCacheTest, OldestInodesAreEvictedPastTheByteLimit) {
  InlineCache cache(10s);
  const std::string big(InlineCache::kInlineCacheBytesDefault / 16, 'z');
  for (uint64_t ino = 1; ino <= 17; ++ino) cache.Put(ino, 1, big);
  EXPECT_EQ(cache.Open(1).fh, 0u);
  EXPECT_NE(cache.Open(17).fh, 0u);
}

// -o cache_bytes: the budget decides both what is evicted and the largest file kept.
TEST(InlineCacheTest, TheBudgetIsTheMountsToChoose) {
  const uint64_t budget = uint64_t{1} << 20;
  InlineCache small(10s, budget);
  small.Put(1, 1, std::string(budget / 16 + 1, 'a'));  // over a sixteenth: not kept
  EXPECT_EQ(small.Open(1).fh, 0u);
  for (uint64_t ino = 2; ino <= 18; ++ino) small.Put(ino, 1, std::string(budget / 16, 'b'));
  EXPECT_EQ(small.Open(2).fh, 0u);  // 17 sixteenths: the oldest went
  EXPECT_NE(small.Open(18).fh, 0u);
  InlineCache large(10s, 4 * InlineCache::kInlineCacheBytesDefault);
  const std::string big(InlineCache::kInlineCacheBytesDefault / 16, 'z');
  for (uint64_t ino = 1; ino <= 17; ++ino) large.Put(ino, 1, big);
  EXPECT_NE(large.Open(1).fh, 0u);  // what the default budget evicts, a larger one keeps
}

}  // namespace
}  // namespace granary::mount
