#include "core/namenode/lock_manager.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namespace std::chrono_literals;
using namenode_testing::SeedForTest;

// A simulated process whose fibers share one LockManager; times are virtual milliseconds.
class LockWorld {
 public:
  explicit LockWorld(uint64_t seed = 1) : sim_(seed) {
    sim::NodeOptions node;
    node.name = "namenode";
    id_ = sim_.AddNode(node, [](sim::SimProcess&) {});
    sim_.StartNode(id_);
    sim_.RunUntilIdle();
  }
  ~LockWorld() {
    const Status shutdown = sim_.Shutdown();
    EXPECT_TRUE(shutdown.ok()) << shutdown.ToString();
  }

  LockManager& locks() { return locks_; }
  Env& env() { return sim_.node(id_).process()->env(); }
  int64_t NowMs() { return ToNanos(sim_.Now()) / 1000000; }

  // Starts a fiber that waits `start`, takes `requests`, records when it got them, holds them
  // for `hold` and releases.
  void Locker(Duration start, std::vector<LockRequest> requests, Duration hold,
              int64_t* acquired_ms) {
    sim_.node(id_).process()->Spawn("locker", [this, start, requests, hold, acquired_ms] {
      if (!env().SleepFor(start).ok()) return;
      LockSet held = locks_.Acquire(requests);
      *acquired_ms = NowMs();
      (void)env().SleepFor(hold);
    });
  }
  void Spawn(std::function<void()> body) {
    sim_.node(id_).process()->Spawn("worker", std::move(body));
  }
  void Run() { sim_.RunUntilIdle(); }

 private:
  sim::Simulator sim_;
  NodeId id_;
  LockManager locks_;
};

LockRequest Shared(const std::string& key) { return {key, LockMode::kShared}; }
LockRequest Exclusive(const std::string& key) { return {key, LockMode::kExclusive}; }

TEST(LockManagerTest, SharedLocksCoexist) {
  LockWorld world;
  int64_t a = -1, b = -1, c = -1;
  world.Locker(0ms, {Shared("k")}, 10ms, &a);
  world.Locker(1ms, {Shared("k")}, 10ms, &b);
  world.Locker(2ms, {Shared("k"), Shared("j")}, 10ms, &c);
  world.Run();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
  EXPECT_EQ(c, 2);
  EXPECT_EQ(world.locks().active_keys(), 0u);
}

TEST(LockManagerTest, ExclusiveExcludesEveryOtherHolder) {
  LockWorld world;
  int64_t writer = -1, reader = -1, writer2 = -1;
  world.Locker(0ms, {Exclusive("k")}, 10ms, &writer);
  world.Locker(1ms, {Shared("k")}, 10ms, &reader);
  world.Locker(2ms, {Exclusive("k")}, 10ms, &writer2);
  world.Run();
  EXPECT_EQ(writer, 0);
  // The reader and the second writer each wait for the one before them.
  EXPECT_GE(reader, 10);
  EXPECT_GE(writer2, 10);
  EXPECT_TRUE(writer2 >= reader + 10 || reader >= writer2 + 10) << reader << " " << writer2;
  EXPECT_EQ(world.locks().active_keys(), 0u);
}

TEST(LockManagerTest, ExclusiveWaitsForReaders) {
  LockWorld world;
  int64_t reader = -1, writer = -1;
  world.Locker(0ms, {Shared("k")}, 10ms, &reader);
  world.Locker(1ms, {Exclusive("k")}, 1ms, &writer);
  world.Run();
  EXPECT_EQ(reader, 0);
  EXPECT_EQ(writer, 10);
}

TEST(LockManagerTest, DisjointKeysDoNotInterfere) {
  LockWorld world;
  int64_t a = -1, b = -1;
  world.Locker(0ms, {Exclusive("a")}, 10ms, &a);
  world.Locker(1ms, {Exclusive("b")}, 10ms, &b);
  world.Run();
  EXPECT_EQ(a, 0);
  EXPECT_EQ(b, 1);
}

TEST(LockManagerTest, WaitingWriterHoldsBackNewReaders) {
  LockWorld world;
  int64_t r1 = -1, w = -1, r2 = -1;
  world.Locker(0ms, {Shared("k")}, 10ms, &r1);
  world.Locker(1ms, {Exclusive("k")}, 5ms, &w);
  world.Locker(2ms, {Shared("k")}, 1ms, &r2);
  world.Run();
  EXPECT_EQ(r1, 0);
  EXPECT_EQ(w, 10);
  EXPECT_EQ(r2, 15);  // after the writer, not beside the first reader
}

TEST(LockManagerTest, WriterIsNotStarvedByAStreamOfReaders) {
  LockWorld world;
  // Overlapping readers, one every millisecond for 200 ms, each holding 3 ms: without
  // writer preference the key would never be free.
  std::vector<int64_t> readers(200, -1);
  for (int i = 0; i < 200; ++i) {
    world.Locker(std::chrono::milliseconds(i), {Shared("k")}, 3ms, &readers[i]);
  }
  int64_t writer = -1;
  world.Locker(5ms, {Exclusive("k")}, 1ms, &writer);
  world.Run();
  ASSERT_GE(writer, 5);
  EXPECT_LE(writer, 10);  // the readers present at 5 ms drain within 3 ms
  EXPECT_EQ(world.locks().active_keys(), 0u);
}

TEST(LockManagerTest, DuplicateKeysMergeToTheStrongestMode) {
  LockWorld world;
  int64_t both = -1, other = -1;
  world.Locker(0ms, {Shared("k"), Exclusive("k"), Shared("k")}, 10ms, &both);
  world.Locker(1ms, {Shared("k")}, 1ms, &other);
  world.Run();
  EXPECT_EQ(both, 0);
  EXPECT_EQ(other, 10);
  EXPECT_EQ(world.locks().active_keys(), 0u);
}

TEST(LockManagerTest, ReleaseAndMoveReleaseExactlyOnce) {
  LockWorld world;
  bool done = false;
  world.Spawn([&] {
    LockSet a = world.locks().Acquire({Exclusive("x"), Shared("y")});
    EXPECT_EQ(world.locks().active_keys(), 2u);
    LockSet b = std::move(a);
    a.Release();  // moved-from: nothing to release
    EXPECT_EQ(world.locks().active_keys(), 2u);
    LockSet c;
    c = std::move(b);
    EXPECT_EQ(world.locks().active_keys(), 2u);
    c.Release();
    EXPECT_EQ(world.locks().active_keys(), 0u);
    c.Release();
    LockSet empty = world.locks().Acquire({});
    EXPECT_EQ(world.locks().active_keys(), 0u);
    done = true;
  });
  world.Run();
  EXPECT_TRUE(done);
}

// Many fibers lock random overlapping key sets, listed in random order, with random modes.
// Key ordering must rule out deadlock; holders must respect the modes; every key is
// released at the end.
TEST(LockManagerTest, RandomOverlappingSetsNeverDeadlock) {
  const uint64_t seed = SeedForTest();
  SCOPED_TRACE("seed " + std::to_string(seed));
  LockWorld world(seed);
  Random random(seed);
  constexpr int kFibers = 24;
  constexpr int kRounds = 150;
  constexpr int kKeys = 6;
  std::map<std::string, int> writers;  // holders per key, checked on every acquisition
  std::map<std::string, int> readers;
  int finished = 0;
  uint64_t violations = 0;
  for (int f = 0; f < kFibers; ++f) {
    world.Spawn([&, f, fiber_random = random.Derive(static_cast<uint64_t>(f))]() mutable {
      for (int round = 0; round < kRounds; ++round) {
        std::vector<LockRequest> wanted;
        const uint64_t count = 1 + fiber_random.Below(4);
        for (uint64_t i = 0; i < count; ++i) {
          const std::string key = "k" + std::to_string(fiber_random.Below(kKeys));
          wanted.push_back(fiber_random.Bernoulli(0.4) ? Exclusive(key) : Shared(key));
        }
        LockSet held = world.locks().Acquire(wanted);
        // The effective mode of each key: exclusive when any request for it was.
        std::map<std::string, LockMode> mode;
        for (const LockRequest& r : wanted) {
          auto [it, inserted] = mode.emplace(r.key, r.mode);
          if (r.mode == LockMode::kExclusive) it->second = LockMode::kExclusive;
        }
        for (const auto& [key, m] : mode) {
          if (writers[key] != 0) ++violations;
          if (m == LockMode::kExclusive && readers[key] != 0) ++violations;
          ++(m == LockMode::kExclusive ? writers[key] : readers[key]);
        }
        (void)world.env().SleepFor(std::chrono::microseconds(fiber_random.Below(200)));
        for (const auto& [key, m] : mode)
          --(m == LockMode::kExclusive ? writers[key] : readers[key]);
      }
      ++finished;
    });
  }
  world.Run();
  EXPECT_EQ(finished, kFibers) << "some fibers never finished: deadlock";
  EXPECT_EQ(violations, 0u);
  EXPECT_EQ(world.locks().active_keys(), 0u);
}

}  // namespace
}  // namespace granary
