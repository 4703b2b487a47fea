// JournaledStore (core/namenode/journaled_store.h): nothing is acknowledged before it is in
// the journal; concurrent writes share appends; a standby applying the journal ends with the
// active's store byte for byte; a fenced append fails every waiting write and steps down.
#include "core/namenode/journaled_store.h"

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/inode_store.h"
#include "sim/kernel/sim_node.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "tests/core/namenode/memory_journal.h"

namespace granary {
namespace {

using std::chrono::seconds;
using testing::MemoryJournal;

std::vector<KeyValue> Dump(MetaStore& store) {
  Result<std::vector<KeyValue>> all = store.Scan(std::string(1, '\0'), "", kMetaScanEntriesMax);
  EXPECT_TRUE(all.ok());
  return all.ok() ? *all : std::vector<KeyValue>{};
}

WriteBatch Batch(int i) {
  WriteBatch batch;
  batch.Put("k" + std::to_string(i), "value-" + std::to_string(i));
  if (i % 3 == 0) batch.Delete("k" + std::to_string(i - 1));
  return batch;
}

// Two simulated processes ("active", "standby") over one MemoryJournal; `body` runs on a
// fiber of the active with both stores.
class JournaledStoreTest : public ::testing::Test {
 protected:
  void Run(const std::function<void(sim::SimProcess& active, JournaledStore& store,
                                    MemoryJournal& journal)>& body) {
    sim::Simulator sim(7);
    sim::Hardware hardware(sim);
    sim::NodeOptions node;
    node.name = "active";
    const NodeId active = hardware.AddNode(node, [](sim::SimProcess&) {});
    node.name = "standby";
    standby_ = hardware.AddNode(node, [](sim::SimProcess&) {});
    sim.StartNode(active);
    sim.StartNode(standby_);
    sim.RunUntilIdle();
    sim::SimProcess& process = *sim.node(active).process();
    standby_process_ = sim.node(standby_).process().get();
    MemoryJournal journal(process.env(), state_, seconds(3));
    JournaledStore store(process.env(), process.meta_store(), journal, seconds(5),
                         appends_in_flight_);
    bool done = false;
    process.Spawn("test", [&] {
      ASSERT_TRUE(store.Load().ok());
      body(process, store, journal);
      done = true;
    });
    sim.RunFor(std::chrono::minutes(2));
    EXPECT_TRUE(done);
    ASSERT_TRUE(sim.Shutdown().ok());
  }

  std::shared_ptr<testing::MemoryJournalState> state_ =
      std::make_shared<testing::MemoryJournalState>();
  uint32_t appends_in_flight_ = kJournalAppendsInFlightDefault;
  NodeId standby_;
  sim::SimProcess* standby_process_ = nullptr;
};

TEST_F(JournaledStoreTest, NothingIsWrittenWithoutLeadership) {
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal&) {
    EXPECT_EQ(store.Write(Batch(1)).code(), StatusCode::kNotActive);
    store.EndActive("namenode-2:7000");
    const Status refused = store.Write(Batch(1));
    EXPECT_EQ(refused.code(), StatusCode::kNotActive);
    EXPECT_EQ(refused.message(), "namenode-2:7000");  // the hint clients follow
    EXPECT_TRUE(Dump(p.meta_store()).empty());
    EXPECT_EQ(state_->last_seq, 0u);
  });
}

TEST_F(JournaledStoreTest, ConcurrentWritesShareAppendsAndEveryOneIsInTheJournal) {
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    store.BeginActive(*token, [](const Status&) { ADD_FAILURE() << "lost leadership"; });
    constexpr int kWriters = 40;
    int acknowledged = 0;
    bool all_done = false;
    for (int i = 1; i <= kWriters; ++i) {
      p.Spawn("writer", [&, i] {
        EXPECT_TRUE(store.Write(Batch(i)).ok());
        // Acknowledged: the batch is in the journal already.
        EXPECT_GE(state_->last_seq, 1u);
        if (++acknowledged == kWriters) all_done = true;
      });
    }
    while (!all_done) ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    EXPECT_EQ(store.batches_appended(), static_cast<uint64_t>(kWriters));
    // Group commit: 40 writers that arrive together need far fewer appends than writes.
    EXPECT_LT(state_->appends, static_cast<uint64_t>(kWriters) / 2);
    EXPECT_EQ(store.entries_appended(), state_->appends);
    EXPECT_EQ(store.applied_seq(), state_->last_seq);
    EXPECT_EQ(*InodeStore(p.meta_store()).GetAppliedSeq(), state_->last_seq);

    // A standby that applies the journal holds the same bytes, applied sequence included.
    MetaStore& standby = standby_process_->meta_store();
    JournaledStore follower(p.env(), standby, journal, seconds(5));
    ASSERT_TRUE(follower.Load().ok());
    ASSERT_TRUE(follower.CatchUp(state_->last_seq, p.env().Now() + seconds(5)).ok());
    EXPECT_EQ(Dump(standby), Dump(p.meta_store()));
    // Applying an entry again changes nothing; a gap is refused.
    EXPECT_TRUE(follower.Apply(state_->entries.front()).ok());
    EXPECT_EQ(follower.Apply({state_->last_seq + 2, state_->entries.front().payload}).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(follower.Apply({state_->last_seq + 1, "\xff\xff\xff"}).code(),
              StatusCode::kCorruption);
    EXPECT_EQ(Dump(standby), Dump(p.meta_store()));
  });
}

TEST_F(JournaledStoreTest, AFencedAppendFailsEveryWaiterStepsDownOnceAndWritesNothing) {
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    int losses = 0;
    store.BeginActive(*token, [&](const Status& why) {
      ++losses;
      EXPECT_EQ(why.code(), StatusCode::kFenced);
    });
    ASSERT_TRUE(store.Write(Batch(1)).ok());
    const std::vector<KeyValue> before = Dump(p.meta_store());
    // Another namenode takes over (this one's lease lapses while it is paused).
    journal.PauseRenewal();
    ASSERT_TRUE(p.env().SleepFor(seconds(4)).ok());
    MemoryJournal other(p.env(), state_, seconds(3));
    ASSERT_TRUE(other.Campaign("other", p.env().Now() + seconds(1)).ok());
    int failed = 0;
    for (int i = 2; i <= 6; ++i) {
      p.Spawn("writer", [&, i] {
        const Status status = store.Write(Batch(i));
        EXPECT_TRUE(status.code() == StatusCode::kFenced || status.code() == StatusCode::kNotActive)
            << status.ToString();
        ++failed;
      });
    }
    while (failed < 5) ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    EXPECT_EQ(losses, 1);
    EXPECT_FALSE(store.writable());
    EXPECT_EQ(store.Write(Batch(9)).code(), StatusCode::kNotActive);
    EXPECT_EQ(Dump(p.meta_store()), before);
    EXPECT_EQ(state_->last_seq, 1u);
  });
}

TEST_F(JournaledStoreTest, ABatchTooLargeForAnEntryIsRefusedAndNothingIsWritten) {
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    store.BeginActive(*token, [](const Status&) { ADD_FAILURE() << "lost leadership"; });
    WriteBatch big;
    big.Put("big", std::string(kJournalEntryBytesMax, 'x'));
    EXPECT_EQ(store.Write(big).code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(store.writable());
    EXPECT_TRUE(Dump(p.meta_store()).empty());
    EXPECT_EQ(state_->last_seq, 0u);
  });
}

}  // namespace
}  // namespace granary

namespace granary {
namespace {

// Several appends in flight whose replies come back out of order: every entry is applied
// locally in sequence order, and a write is acknowledged only once its entry and every one
// before it are applied.
TEST_F(JournaledStoreTest, AppendsInFlightTogetherApplyInSequenceOrder) {
  appends_in_flight_ = kJournalAppendsInFlightMax;
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    store.BeginActive(*token, [](const Status&) { ADD_FAILURE() << "lost leadership"; });
    // Entry 1 answers last, entry 4 first.
    state_->reply_delays = {std::chrono::milliseconds(40), std::chrono::milliseconds(30),
                            std::chrono::milliseconds(20), std::chrono::milliseconds(10)};
    constexpr int kWriters = 4;
    std::vector<int> acked;
    for (int i = 1; i <= kWriters; ++i) {
      p.Spawn("writer", [&, i] {
        ASSERT_TRUE(store.Write(Batch(i)).ok());
        // Acknowledged: this writer's entry (number i: one writer per entry here) and
        // every one before it are in the local store.
        EXPECT_GE(store.applied_seq(), static_cast<uint64_t>(i));
        EXPECT_GE(*InodeStore(p.meta_store()).GetAppliedSeq(), static_cast<uint64_t>(i));
        acked.push_back(i);
      });
      ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(1)).ok());
    }
    while (acked.size() < kWriters) {
      ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    }
    EXPECT_EQ(state_->in_flight_max, static_cast<uint32_t>(kWriters));
    EXPECT_EQ(state_->last_seq, static_cast<uint64_t>(kWriters));
    EXPECT_EQ(acked, (std::vector<int>{1, 2, 3, 4}));  // entry 1's reply came last
    EXPECT_EQ(store.applied_seq(), state_->last_seq);
    // At most kJournalAppendsInFlightMax appends at once: the rest wait and group.
    state_->reply_delays.assign(64, std::chrono::milliseconds(10));
    state_->in_flight_max = 0;
    int more = 0;
    for (int i = 10; i < 40; ++i) {
      p.Spawn("writer", [&, i] {
        EXPECT_TRUE(store.Write(Batch(i)).ok());
        ++more;
      });
    }
    while (more < 30) ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    EXPECT_EQ(state_->in_flight_max, kJournalAppendsInFlightMax);
    EXPECT_LT(state_->last_seq, static_cast<uint64_t>(kWriters + 30));
    // A standby applying the journal ends with the same bytes.
    MetaStore& standby = standby_process_->meta_store();
    JournaledStore follower(p.env(), standby, journal, seconds(5));
    ASSERT_TRUE(follower.Load().ok());
    ASSERT_TRUE(follower.CatchUp(state_->last_seq, p.env().Now() + seconds(5)).ok());
    EXPECT_EQ(Dump(standby), Dump(p.meta_store()));
  });
}

// The default: one append in flight at a time, everything else groups behind it.
TEST_F(JournaledStoreTest, ByDefaultOneAppendIsInFlight) {
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    store.BeginActive(*token, [](const Status&) { ADD_FAILURE() << "lost leadership"; });
    state_->reply_delays.assign(64, std::chrono::milliseconds(10));
    int done = 0;
    for (int i = 1; i <= 20; ++i) {
      p.Spawn("writer", [&, i] {
        EXPECT_TRUE(store.Write(Batch(i)).ok());
        ++done;
      });
      ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(1)).ok());
    }
    while (done < 20) ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    EXPECT_EQ(state_->in_flight_max, 1u);
    EXPECT_LT(state_->last_seq, 20u);
    EXPECT_EQ(store.applied_seq(), state_->last_seq);
  });
}

// Entry 1's reply is lost (its outcome unknown) while entry 2, appended after it, succeeds
// first: both writers fail, nothing is applied under this leadership, the owner hears of it
// once, and catching up from the journal then applies both entries.
TEST_F(JournaledStoreTest, AFailedEarlierEntryFailsALaterOneAlreadyAppended) {
  appends_in_flight_ = 2;
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    std::vector<Status> losses;
    store.BeginActive(*token, [&](const Status& why) { losses.push_back(why); });
    state_->reply_delays = {std::chrono::milliseconds(40), std::chrono::milliseconds(5)};
    state_->lose_replies = {1};
    std::vector<Status> results(4);
    int finished = 0;
    for (int i = 1; i <= 2; ++i) {
      p.Spawn("writer", [&, i] {
        results[i] = store.Write(Batch(i));
        ++finished;
      });
      ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(1)).ok());
    }
    // Entry 2 is stored and answered; its writer still waits for entry 1.
    ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(10)).ok());
    EXPECT_EQ(finished, 0);
    EXPECT_EQ(store.applied_seq(), 0u);
    while (finished < 2) ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    EXPECT_EQ(results[1].code(), StatusCode::kIoError) << results[1].ToString();
    EXPECT_EQ(results[2].code(), StatusCode::kIoError) << results[2].ToString();
    ASSERT_EQ(losses.size(), 1u);
    EXPECT_EQ(losses[0].code(), StatusCode::kTimeout);
    EXPECT_FALSE(store.writable());
    EXPECT_EQ(store.Write(Batch(3)).code(), StatusCode::kNotActive);
    EXPECT_EQ(store.applied_seq(), 0u);
    EXPECT_TRUE(Dump(p.meta_store()).empty());
    // The owner steps down and follows: both entries were stored after all.
    store.EndActive();
    ASSERT_TRUE(store.CatchUp(2, p.env().Now() + seconds(5)).ok());
    EXPECT_EQ(*store.Get("k1"), "value-1");
    EXPECT_EQ(*store.Get("k2"), "value-2");
  });
}

// The HDFS baseline's edit log (SyncMode::kAfterRelease): Write applies locally and returns
// without waiting for the journal (the caller's lock is held only that long); SyncLogged,
// after the lock, waits for the append, and writers that sync together share appends (one in
// flight, as FSEditLog.logSync). A standby applying the journal ends with the same bytes, also
// when a later batch overwrites an earlier one's key.
TEST_F(JournaledStoreTest, AfterReleaseModeLogsAtOnceAndSyncsInSharedAppends) {
  Run([&](sim::SimProcess& p, JournaledStore& store, MemoryJournal& journal) {
    Result<FencingToken> token = journal.Campaign("active", p.env().Now() + seconds(1));
    ASSERT_TRUE(token.ok());
    store.set_sync_mode(JournaledStore::SyncMode::kAfterRelease);
    store.BeginActive(*token, [](const Status&) { ADD_FAILURE() << "lost leadership"; });
    WriteBatch first;
    first.Put("shared", "first");
    ASSERT_TRUE(store.Write(first).ok());
    // Logged, not synced: the local store has it, the journal not yet.
    EXPECT_EQ(*p.meta_store().Get("shared"), "first");
    EXPECT_EQ(state_->last_seq, 0u);
    constexpr int kWriters = 20;
    int synced = 0;
    for (int i = 1; i <= kWriters; ++i) {
      p.Spawn("writer", [&, i] {
        WriteBatch batch = Batch(i);
        if (i == kWriters) batch.Put("shared", "last");  // overwrites the first batch's value
        EXPECT_TRUE(store.Write(batch).ok());
        EXPECT_TRUE(store.SyncLogged().ok());
        // Synced: every batch logged before is in the journal.
        EXPECT_GE(state_->appends, 1u);
        ++synced;
      });
    }
    while (synced < kWriters) ASSERT_TRUE(p.env().SleepFor(std::chrono::milliseconds(5)).ok());
    ASSERT_TRUE(store.SyncLogged().ok());
    EXPECT_EQ(store.batches_appended(), static_cast<uint64_t>(kWriters + 1));
    // One append in flight; the writers that logged meanwhile share the next.
    EXPECT_LT(state_->appends, static_cast<uint64_t>(kWriters) / 2);
    EXPECT_EQ(store.applied_seq(), state_->last_seq);
    EXPECT_EQ(*InodeStore(p.meta_store()).GetAppliedSeq(), state_->last_seq);
    EXPECT_EQ(*p.meta_store().Get("shared"), "last");
    MetaStore& standby = standby_process_->meta_store();
    JournaledStore follower(p.env(), standby, journal, seconds(5));
    ASSERT_TRUE(follower.Load().ok());
    ASSERT_TRUE(follower.CatchUp(state_->last_seq, p.env().Now() + seconds(5)).ok());
    EXPECT_EQ(Dump(standby), Dump(p.meta_store()));
  });
}

}  // namespace
}  // namespace granary
