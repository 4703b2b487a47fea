#include "net/payload_pool.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "core/common/limits.h"

namespace granary::net {
namespace {

std::string Buffer(size_t capacity) {
  std::string s;
  s.reserve(capacity);
  s.assign(capacity / 2, 'x');
  return s;
}

TEST(PayloadPoolTest, GivesBackABufferThatFitsWithItsMemory) {
  PayloadPool pool;
  const size_t size = 4 << 20;
  std::string given = Buffer(size);
  const char* memory = given.data();
  const size_t capacity = given.capacity();
  pool.Give(std::move(given));
  EXPECT_EQ(pool.bytes(), capacity);
  std::string taken = pool.Take(size);
  EXPECT_TRUE(taken.empty());  // its old contents are gone
  EXPECT_GE(taken.capacity(), size);
  EXPECT_EQ(taken.data(), memory);  // the same buffer: no new allocation
  EXPECT_EQ(pool.bytes(), 0u);
  EXPECT_EQ(pool.stats().reused, 1u);
  // The pool is empty now: the next Take finds nothing.
  EXPECT_EQ(pool.Take(size).capacity(), std::string().capacity());
  EXPECT_EQ(pool.stats().missed, 1u);
}

TEST(PayloadPoolTest, TakesTheSmallestThatFitsAndNoneMuchLarger) {
  PayloadPool pool;
  pool.Give(Buffer(1 << 20));
  pool.Give(Buffer(4 << 20));
  pool.Give(Buffer(2 << 20));
  // 3 MiB: the 4 MiB buffer (the 1 and 2 MiB ones are too small).
  EXPECT_GE(pool.Take(3 << 20).capacity(), 4u << 20);
  // 300 KiB: nothing kept is at most twice that, so no buffer (1 MiB would pin 700 KiB).
  EXPECT_LT(pool.Take(300 << 10).capacity(), 300u << 10);
  // 900 KiB: the 1 MiB one, not the 2 MiB one.
  const std::string taken = pool.Take(900 << 10);
  EXPECT_GE(taken.capacity(), 900u << 10);
  EXPECT_LT(taken.capacity(), 2u << 20);
  EXPECT_GE(pool.bytes(), 2u << 20);  // the 2 MiB one is still kept
}

TEST(PayloadPoolTest, SmallPayloadsAndBuffersBypassThePool) {
  PayloadPool pool;
  pool.Give(Buffer(kPayloadPoolBufferBytesMin / 2));
  EXPECT_EQ(pool.bytes(), 0u);
  EXPECT_EQ(pool.stats().dropped, 1u);
  pool.Give(Buffer(kPayloadPoolBufferBytesMin));
  // A payload under the minimum is not served from the pool even when a buffer would fit.
  EXPECT_EQ(pool.Take(kPayloadPoolBufferBytesMin - 1).capacity(), std::string().capacity());
  EXPECT_EQ(pool.stats().reused + pool.stats().missed, 0u);
}

TEST(PayloadPoolTest, KeepsAtMostTheBoundAndFreesTheRest) {
  PayloadPool pool;
  const size_t size = 4 << 20;
  const size_t count = kPayloadPoolBytesMax / size + 4;
  for (size_t i = 0; i < count; ++i) pool.Give(Buffer(size));
  EXPECT_LE(pool.bytes(), kPayloadPoolBytesMax);
  EXPECT_GT(pool.bytes(), kPayloadPoolBytesMax - 2 * size);
  EXPECT_GE(pool.stats().dropped, 4u);
  EXPECT_EQ(pool.stats().kept + pool.stats().dropped, count);
}

// Given on one thread, taken on another, as the loader's consumer and the loop do.
TEST(PayloadPoolTest, GiveAndTakeFromTwoThreads) {
  PayloadPool pool;
  const size_t size = 1 << 20;
  constexpr int kRounds = 500;
  std::thread giver([&] {
    for (int i = 0; i < kRounds; ++i) pool.Give(Buffer(size));
  });
  size_t reused = 0;
  for (int i = 0; i < kRounds; ++i) {
    std::string taken = pool.Take(size);
    if (taken.capacity() >= size) ++reused;
  }
  giver.join();
  EXPECT_EQ(pool.stats().reused, reused);
  EXPECT_EQ(pool.stats().reused + pool.stats().missed, static_cast<uint64_t>(kRounds));
  EXPECT_LE(pool.bytes(), kPayloadPoolBytesMax);
}

}  // namespace
}  // namespace granary::net
