// RetryCache (core/namenode/retry_cache.h): an answer recorded in a mutation's batch is found
// again by its (client, call) key, also by another namenode's store holding the same records;
// records expire, and a sweep bounds them in number, oldest first. Run answers a retry from
// the record its first attempt's batch carried, runs a mutation that committed nothing again,
// and holds a retry back while its first attempt still runs.
#include "core/namenode/retry_cache.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "proto/namenode.pb.h"
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

// A mutation as the namenode's handlers write one: fills the reply, then commits a batch
// (CarryRecord is what NamespaceReader::Commit calls).
Status Commit(MetaStore& store, const std::string& key, proto::CreateReply* reply) {
  reply->mutable_status()->set_name(key);
  reply->set_inline_threshold_bytes(4096);
  WriteBatch batch;
  batch.Put(key, "made");
  RetryCache::CarryRecord(batch);
  return store.Write(batch);
}

TEST(RetryCacheTest, RunAnswersARetryFromTheRecordItsFirstAttemptCommitted) {
  RunOnNode([](sim::SimProcess& p) {
    RetryCache cache(p.env(), p.meta_store());
    ASSERT_TRUE(cache.Load().ok());
    int runs = 0;
    proto::CreateReply first;
    ASSERT_TRUE(cache
                    .Run({5, 1}, &first,
                         [&] {
                           ++runs;
                           EXPECT_TRUE(RetryCache::Carrying());
                           return Commit(p.meta_store(), "file-a", &first);
                         })
                    .ok());
    EXPECT_FALSE(RetryCache::Carrying());  // closed when the handler returned
    proto::CreateReply again;
    const Status retried = cache.Run({5, 1}, &again, [&] {
      ++runs;
      return Status(StatusCode::kAlreadyExists, "file-a");  // what a second run would say
    });
    EXPECT_TRUE(retried.ok()) << retried.ToString();
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(again.SerializeAsString(), first.SerializeAsString());
    EXPECT_EQ(again.status().name(), "file-a");
    EXPECT_EQ(cache.hits(), 1u);
    // Another call of the same client runs.
    proto::CreateReply other;
    EXPECT_TRUE(cache
                    .Run({5, 2}, &other,
                         [&] {
                           ++runs;
                           return Commit(p.meta_store(), "file-b", &other);
                         })
                    .ok());
    EXPECT_EQ(runs, 2);
    // A second store holding the same records (a standby that followed the journal) answers
    // the retry as well: the record is in the store, not in this object.
    RetryCache standby(p.env(), p.meta_store());
    ASSERT_TRUE(standby.Load().ok());
    EXPECT_EQ(standby.records(), 2u);
    proto::CreateReply there;
    EXPECT_TRUE(
        standby.Run({5, 2}, &there, [&] { return Status(StatusCode::kInternal, "ran"); }).ok());
    EXPECT_EQ(there.status().name(), "file-b");
  });
}

TEST(RetryCacheTest, RunRecordsNothingForAMutationThatCommittedNothing) {
  RunOnNode([](sim::SimProcess& p) {
    RetryCache cache(p.env(), p.meta_store());
    ASSERT_TRUE(cache.Load().ok());
    int runs = 0;
    proto::CreateReply reply;
    // Refused before any commit (a quota): the retry runs again, and may now succeed.
    EXPECT_EQ(cache
                  .Run({6, 1}, &reply,
                       [&] {
                         ++runs;
                         return Status(StatusCode::kQuotaExceeded, "/q");
                       })
                  .code(),
              StatusCode::kQuotaExceeded);
    EXPECT_EQ(cache.records(), 0u);
    EXPECT_TRUE(cache
                    .Run({6, 1}, &reply,
                         [&] {
                           ++runs;
                           return Commit(p.meta_store(), "file-q", &reply);
                         })
                    .ok());
    EXPECT_EQ(runs, 2);
    // Without a client id nothing is recorded and every attempt runs.
    for (int i = 0; i < 2; ++i) {
      EXPECT_TRUE(cache
                      .Run({0, 1}, &reply,
                           [&] {
                             ++runs;
                             EXPECT_FALSE(RetryCache::Carrying());
                             return Commit(p.meta_store(), "file-n", &reply);
                           })
                      .ok());
    }
    EXPECT_EQ(runs, 4);
    EXPECT_EQ(cache.records(), 1u);
  });
}

TEST(RetryCacheTest, ARetryArrivingWhileItsFirstAttemptRunsWaitsForItsAnswer) {
  RunOnNode([](sim::SimProcess& p) {
    RetryCache cache(p.env(), p.meta_store());
    ASSERT_TRUE(cache.Load().ok());
    int runs = 0;
    bool first_done = false;
    proto::CreateReply first;
    p.Spawn("first", [&] {
      EXPECT_TRUE(cache
                      .Run({7, 1}, &first,
                           [&] {
                             ++runs;
                             // The journal append is slow: the client's timeout fires meanwhile.
                             EXPECT_TRUE(p.env().SleepFor(seconds(2)).ok());
                             return Commit(p.meta_store(), "slow", &first);
                           })
                      .ok());
      first_done = true;
    });
    ASSERT_TRUE(p.env().SleepFor(seconds(1)).ok());
    EXPECT_FALSE(first_done);
    proto::CreateReply retry;
    EXPECT_TRUE(cache
                    .Run({7, 1}, &retry,
                         [&] {
                           ++runs;
                           return Status(StatusCode::kAlreadyExists, "slow");
                         })
                    .ok());
    EXPECT_TRUE(first_done);
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(retry.status().name(), "slow");
  });
}

}  // namespace
}  // namespace granary
