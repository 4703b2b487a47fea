#include "sim/models/mem_store.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using testing::ModelledSim;
using testing::Node;

Status Put(MetaStore& store, const std::string& key, const std::string& value) {
  WriteBatch batch;
  batch.Put(key, value);
  return store.Write(batch);
}

TEST(MemStoreTest, KeyCountAndSequenceFollowTheBatches) {
  MemStore store;
  EXPECT_EQ(store.key_count(), 0u);
  EXPECT_EQ(store.sequence(), 0u);
  ASSERT_TRUE(Put(store, "a", "1").ok());
  ASSERT_TRUE(Put(store, "b", "1").ok());
  ASSERT_TRUE(Put(store, "b", "2").ok());
  EXPECT_EQ(store.key_count(), 2u);
  WriteBatch batch;
  batch.Delete("a");
  batch.Delete("never");
  batch.Put("c", "1");
  batch.Delete("c");
  ASSERT_TRUE(store.Write(batch).ok());
  EXPECT_EQ(store.key_count(), 1u);
  EXPECT_EQ(store.sequence(), 4u);  // one per batch, not per op
  WriteBatch bad;
  bad.Put("", "x");
  EXPECT_EQ(store.Write(bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store.sequence(), 4u);
}

TEST(MemStoreTest, SnapshotsKeepOldVersionsWhileOverwritten) {
  MemStore store;
  ASSERT_TRUE(Put(store, "k", "v0").ok());
  std::shared_ptr<const Snapshot> old = store.GetSnapshot();
  for (int i = 1; i <= 100; ++i) ASSERT_TRUE(Put(store, "k", "v" + std::to_string(i)).ok());
  EXPECT_EQ(*store.Get("k", old.get()), "v0");
  EXPECT_EQ(*store.Get("k"), "v100");
  old.reset();
  ASSERT_TRUE(Put(store, "k", "v101").ok());
  EXPECT_EQ(*store.Get("k"), "v101");
  EXPECT_EQ(store.key_count(), 1u);
}

// Random batches, snapshots and releases against a plain std::map model (a copy of the map
// per snapshot); every read through every live snapshot must agree with its copy.
TEST(MemStoreTest, RandomOperationsMatchAModel) {
  const uint64_t seed = testing::SeedForTest();
  SCOPED_TRACE(testing::SeedTrace(seed));
  Random random(seed);
  MemStore store;
  std::map<std::string, std::string> model;
  struct Held {
    std::shared_ptr<const Snapshot> snapshot;
    std::map<std::string, std::string> model;
  };
  std::vector<Held> held;
  auto key = [&random] { return "k" + std::to_string(random.Below(40)); };
  for (int step = 0; step < 3000; ++step) {
    const uint64_t action = random.Below(10);
    if (action < 6) {
      WriteBatch batch;
      std::map<std::string, std::string> next = model;
      const int ops = 1 + static_cast<int>(random.Below(4));
      for (int i = 0; i < ops; ++i) {
        const std::string k = key();
        if (random.Bernoulli(0.3)) {
          batch.Delete(k);
          next.erase(k);
        } else {
          const std::string v = std::to_string(step) + "." + std::to_string(i);
          batch.Put(k, v);
          next[k] = v;
        }
      }
      ASSERT_TRUE(store.Write(batch).ok());
      model = std::move(next);
    } else if (action < 7 && held.size() < 8) {
      held.push_back(Held{store.GetSnapshot(), model});
    } else if (action < 8 && !held.empty()) {
      held.erase(held.begin() + static_cast<std::ptrdiff_t>(random.Below(held.size())));
    } else {
      const std::string k = key();
      auto check = [&](const Snapshot* snapshot, const std::map<std::string, std::string>& m) {
        Result<std::string> got = store.Get(k, snapshot);
        auto it = m.find(k);
        if (it == m.end()) {
          ASSERT_EQ(got.code(), StatusCode::kNotFound) << "step " << step << " key " << k;
        } else {
          ASSERT_TRUE(got.ok()) << "step " << step << " key " << k;
          ASSERT_EQ(*got, it->second);
        }
        Result<std::vector<KeyValue>> all = store.Scan("", "", 1000, snapshot);
        ASSERT_TRUE(all.ok());
        std::vector<KeyValue> want;
        for (const auto& [mk, mv] : m) want.push_back({mk, mv});
        ASSERT_EQ(*all, want) << "step " << step;
      };
      check(nullptr, model);
      for (const Held& h : held) check(h.snapshot.get(), h.model);
    }
    ASSERT_EQ(store.key_count(), model.size()) << "step " << step;
  }
}

// SimMetaStore: the profile's latencies, and atomic loss of a batch whose process crashed
// before it was acknowledged.
TEST(SimMetaStoreTest, ChargesTheProfileLatencies) {
  testing::RunOnOneNode(1, Node("n"), [](SimProcess& process) {
    MetaStore& store = process.meta_store();
    Env& env = process.env();
    const MetaStoreProfile profile;
    Instant start = env.Now();
    ASSERT_TRUE(Put(store, "k", "v").ok());
    EXPECT_EQ(env.Now() - start, profile.write_latency);
    start = env.Now();
    EXPECT_EQ(*store.Get("k"), "v");
    EXPECT_EQ(env.Now() - start, profile.read_latency);
    start = env.Now();
    EXPECT_EQ(store.Scan("", "", 10)->size(), 1u);
    EXPECT_EQ(env.Now() - start, profile.read_latency);
    // An invalid batch is refused at once.
    start = env.Now();
    EXPECT_EQ(Put(store, "", "v").code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(env.Now(), start);
  });
}

TEST(SimMetaStoreTest, ABatchInterruptedByACrashIsLostWhole) {
  ModelledSim sim(1);
  Status write_status;
  const NodeId id = sim.AddNode(Node("n"), [&](SimProcess& process) {
    if (process.incarnation() > 1) return;
    WriteBatch batch;
    batch.Put("a", "1");
    batch.Put("b", "2");
    write_status = process.meta_store().Write(batch);
  });
  sim.StartNode(id);
  sim.RunFor(100us);  // the write takes 200 µs
  sim.RestartNode(id);
  sim.RunFor(1s);
  EXPECT_EQ(write_status.code(), StatusCode::kNodeDown);
  EXPECT_EQ(sim.machine(id).meta_store().key_count(), 0u);
  EXPECT_EQ(sim.machine(id).meta_store().Get("a").code(), StatusCode::kNotFound);
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimMetaStoreTest, AcknowledgedBatchesSurviveCrashes) {
  ModelledSim sim(1);
  int acknowledged = 0;
  const NodeId id = sim.AddNode(Node("n"), [&](SimProcess& process) {
    for (;;) {
      if (!Put(process.meta_store(), "k" + std::to_string(acknowledged), "v").ok()) return;
      ++acknowledged;
    }
  });
  sim.StartNode(id);
  for (int i = 0; i < 20; ++i) {
    sim.RunFor(1ms + std::chrono::microseconds(37 * i));
    sim.RestartNode(id);
    // Every acknowledged key is there, and nothing past it.
    MemStore& store = sim.machine(id).meta_store();
    ASSERT_EQ(store.key_count(), static_cast<size_t>(acknowledged)) << "crash " << i;
  }
  EXPECT_GT(acknowledged, 50);
  testing::FinishAndShutDown(sim, 1ms);
}

}  // namespace
}  // namespace granary::sim
