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
    JournaledStore store(process.env(), process.meta_store(), journal, seconds(5));
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
