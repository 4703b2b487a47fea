// BlockLockTable: one lock per block id, handed over in FIFO order, dropped when unused.
// Run on plain Boost.Fiber fibers of the test's thread (round-robin: a yielding fiber lets
// every other ready fiber run once before it resumes).
#include "core/datanode/block_lock_table.h"

#include <gtest/gtest.h>

#include <boost/fiber/all.hpp>
#include <string>
#include <vector>

namespace granary {
namespace {

TEST(BlockLockTableTest, OneBlockIsHeldByOneFiberAtATimeInArrivalOrder) {
  BlockLockTable table;
  std::vector<std::string> events;
  size_t size_while_contended = 0;
  auto holder = [&](const std::string& name, int yields) {
    return [&, name, yields] {
      BlockLockTable::Guard guard(table, BlockId(7));
      events.push_back(name + " in");
      for (int i = 0; i < yields; ++i) boost::this_fiber::yield();
      if (name == "a") size_while_contended = table.size();
      events.push_back(name + " out");
    };
  };
  boost::fibers::fiber a(holder("a", 3));
  boost::fibers::fiber b(holder("b", 1));
  boost::fibers::fiber c(holder("c", 0));
  a.join();
  b.join();
  c.join();
  // b and c arrive while a holds the lock (a yields); each enters only when the one before
  // it has left, in the order they arrived.
  EXPECT_EQ(events, (std::vector<std::string>{"a in", "a out", "b in", "b out", "c in", "c out"}));
  EXPECT_EQ(size_while_contended, 1u);  // one entry for the block, however many wait on it
  EXPECT_EQ(table.size(), 0u);
}

TEST(BlockLockTableTest, DifferentBlocksDoNotWaitForEachOther) {
  BlockLockTable table;
  std::vector<std::string> events;
  size_t size_with_both = 0;
  boost::fibers::fiber a([&] {
    BlockLockTable::Guard guard(table, BlockId(1));
    events.push_back("a in");
    boost::this_fiber::yield();
    boost::this_fiber::yield();
    events.push_back("a out");
  });
  boost::fibers::fiber b([&] {
    BlockLockTable::Guard guard(table, BlockId(2));
    events.push_back("b in");
    size_with_both = table.size();
    events.push_back("b out");
  });
  a.join();
  b.join();
  // b takes block 2 while a still holds block 1.
  EXPECT_EQ(events, (std::vector<std::string>{"a in", "b in", "b out", "a out"}));
  EXPECT_EQ(size_with_both, 2u);
  EXPECT_EQ(table.size(), 0u);
}

TEST(BlockLockTableTest, AReleasedBlockCanBeTakenAgain) {
  BlockLockTable table;
  {
    BlockLockTable::Guard first(table, BlockId(3));
    EXPECT_EQ(table.size(), 1u);
  }
  EXPECT_EQ(table.size(), 0u);
  {
    BlockLockTable::Guard again(table, BlockId(3));
    BlockLockTable::Guard other(table, BlockId(4));
    EXPECT_EQ(table.size(), 2u);
  }
  EXPECT_EQ(table.size(), 0u);
}

}  // namespace
}  // namespace granary
