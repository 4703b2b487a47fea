// RetryCache (core/namenode/retry_cache.h): an answer recorded in a mutation's batch is found
// again by its (client, call) key, also by another namenode's store holding the same records;
// records expire, and a sweep bounds them in number, oldest first.
#include "core/namenode/retry_cache.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "sim/kernel/sim_node.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"

namespace granary {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

void RunOnNode(const std::function<void(sim::SimProcess&)>& body) {
  sim::Simulator sim(11);
  sim::Hardware hardware(sim);
  sim::NodeOptions node;
  node.name = "namenode";
  const NodeId id = hardware.AddNode(node, [](sim::SimProcess&) {});
  sim.StartNode(id);
  sim.RunUntilIdle();
  sim::SimProcess& process = *sim.node(id).process();
  bool done = false;
  process.Spawn("test", [&] {
    body(process);
    done = true;
  });
  sim.RunFor(minutes(30));
  EXPECT_TRUE(done);
  ASSERT_TRUE(sim.Shutdown().ok());
}

CachedAnswer Created(const std::string& body) { return CachedAnswer{StatusCode::kOk, "", body}; }

TEST(RetryCacheTest, AnAnswerRecordedWithItsMutationIsFoundByItsKeyOnly) {
  RunOnNode([](sim::SimProcess& p) {
    RetryCache cache(p.env(), p.meta_store());
    ASSERT_TRUE(cache.Load().ok());
    EXPECT_FALSE(cache.Find({7, 1})->has_value());
    WriteBatch batch;
    batch.Put("mutation", "value");
    cache.Record(batch, {7, 1}, Created("reply-body"));
    cache.Record(batch, {7, 2}, CachedAnswer{StatusCode::kNotFound, "/a", ""});
    // Nothing is there before the mutation's batch is written, everything after.
    EXPECT_FALSE(cache.Find({7, 1})->has_value());
    ASSERT_TRUE(p.meta_store().Write(batch).ok());
    EXPECT_EQ(**cache.Find({7, 1}), Created("reply-body"));
    EXPECT_EQ(**cache.Find({7, 2}), (CachedAnswer{StatusCode::kNotFound, "/a", ""}));
    EXPECT_FALSE(cache.Find({7, 3})->has_value());  // another call
    EXPECT_FALSE(cache.Find({8, 1})->has_value());  // another client
    EXPECT_FALSE(cache.Find({0, 1})->has_value());  // no client id: never looked up
    EXPECT_EQ(cache.records(), 2u);
    // A namenode that loads the same store (the next active) finds and counts them too.
    RetryCache next(p.env(), p.meta_store());
    ASSERT_TRUE(next.Load().ok());
    EXPECT_EQ(next.records(), 2u);
    EXPECT_EQ(**next.Find({7, 1}), Created("reply-body"));
    // An answer too large to keep is not recorded (the retry runs again).
    WriteBatch large;
    cache.Record(large, {7, 4}, Created(std::string(kRetryCacheBodyBytesMax + 1, 'x')));
    EXPECT_TRUE(large.empty());
  });
}

TEST(RetryCacheTest, RecordsExpireAndTheSweepDeletesThemOldestFirst) {
  RunOnNode([](sim::SimProcess& p) {
    RetryCache cache(p.env(), p.meta_store(), minutes(10));
    ASSERT_TRUE(cache.Load().ok());
    WriteBatch early;
    cache.Record(early, {1, 1}, Created("early"));
    ASSERT_TRUE(p.meta_store().Write(early).ok());
    ASSERT_TRUE(p.env().SleepFor(minutes(6)).ok());
    WriteBatch late;
    cache.Record(late, {1, 2}, Created("late"));
    ASSERT_TRUE(p.meta_store().Write(late).ok());
    EXPECT_EQ(*cache.Sweep(), 0u);  // nothing is 10 minutes old yet
    ASSERT_TRUE(p.env().SleepFor(minutes(5)).ok());
    // The early one expired: not found even before a sweep; the late one still is.
    EXPECT_FALSE(cache.Find({1, 1})->has_value());
    EXPECT_TRUE(cache.Find({1, 2})->has_value());
    EXPECT_EQ(*cache.Sweep(), 1u);
    EXPECT_EQ(cache.records(), 1u);
    Result<std::vector<KeyValue>> left = p.meta_store().Scan("R", "S", 10);
    ASSERT_TRUE(left.ok());
    EXPECT_EQ(left->size(), 1u);  // the index entry went with its record
    ASSERT_TRUE(p.env().SleepFor(minutes(6)).ok());
    EXPECT_EQ(*cache.Sweep(), 1u);
    EXPECT_EQ(cache.records(), 0u);
    EXPECT_TRUE(p.meta_store().Scan("R", "s", 10)->empty());
  });
}

TEST(RetryCacheTest, TheSweepKeepsAtMostEntriesMaxDroppingTheOldest) {
  RunOnNode([](sim::SimProcess& p) {
    RetryCache cache(p.env(), p.meta_store(), minutes(10), 3);
    ASSERT_TRUE(cache.Load().ok());
    for (uint64_t call = 1; call <= 5; ++call) {
      WriteBatch batch;
      cache.Record(batch, {9, call}, Created("c" + std::to_string(call)));
      ASSERT_TRUE(p.meta_store().Write(batch).ok());
      ASSERT_TRUE(p.env().SleepFor(seconds(1)).ok());
    }
    EXPECT_EQ(*cache.Sweep(), 2u);
    EXPECT_EQ(cache.records(), 3u);
    EXPECT_FALSE(cache.Find({9, 1})->has_value());
    EXPECT_FALSE(cache.Find({9, 2})->has_value());
    for (uint64_t call = 3; call <= 5; ++call) EXPECT_TRUE(cache.Find({9, call})->has_value());
  });
}

}  // namespace
}  // namespace granary
