#include "core/namenode/id_allocator.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "core/namenode/inode_store.h"
#include "sim/models/mem_store.h"

namespace granary {
namespace {

// MemStore never suspends, so the allocator runs here without a fiber scheduler of its own.
TEST(IdAllocatorTest, HandsOutIdsFromFirstAndReservesARangeAhead) {
  sim::MemStore store;
  IdAllocator ids(store, "inode", 2);
  ASSERT_TRUE(ids.Load().ok());
  EXPECT_EQ(*ids.Next(), 2u);
  EXPECT_EQ(*ids.Next(), 3u);
  InodeStore records(store);
  // One durable reservation covers the first kIdReservationSize ids: one write, not one per id.
  EXPECT_EQ(*records.GetCounter("inode"), 2 + kIdReservationSize);
  EXPECT_EQ(store.sequence(), 1u);
  for (uint64_t i = 2; i < kIdReservationSize; ++i) ASSERT_TRUE(ids.Next().ok());
  EXPECT_EQ(store.sequence(), 1u);
  EXPECT_EQ(*ids.Next(), 2 + kIdReservationSize);
  EXPECT_EQ(store.sequence(), 2u);
  EXPECT_EQ(*records.GetCounter("inode"), 2 + 2 * kIdReservationSize);
}

// A restart skips what was reserved and not used: no id is ever handed out twice.
TEST(IdAllocatorTest, ARestartResumesPastTheReservation) {
  sim::MemStore store;
  std::set<uint64_t> seen;
  for (int incarnation = 0; incarnation < 3; ++incarnation) {
    IdAllocator ids(store, "block", 1);
    ASSERT_TRUE(ids.Load().ok());
    for (int i = 0; i < 10; ++i) {
      Result<uint64_t> id = ids.Next();
      ASSERT_TRUE(id.ok());
      EXPECT_TRUE(seen.insert(*id).second) << "id " << *id << " handed out twice";
    }
  }
  EXPECT_EQ(*seen.begin(), 1u);
  EXPECT_EQ(*seen.rbegin(), 2 * kIdReservationSize + 10);
  // Counters are independent of each other.
  IdAllocator other(store, "generation", 1);
  ASSERT_TRUE(other.Load().ok());
  EXPECT_EQ(*other.Next(), 1u);
}

TEST(IdAllocatorTest, AStoredCounterBelowFirstIsIgnored) {
  sim::MemStore store;
  WriteBatch batch;
  InodeStore::PutCounter(batch, "inode", 5);
  ASSERT_TRUE(store.Write(batch).ok());
  IdAllocator ids(store, "inode", 100);
  ASSERT_TRUE(ids.Load().ok());
  EXPECT_EQ(*ids.Next(), 100u);
}

}  // namespace
}  // namespace granary
