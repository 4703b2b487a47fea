#include "sim/kernel/simulator.h"

#include <gtest/gtest.h>

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "tests/sim/sim_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using testing::FinishAndShutDown;
using testing::KernelNode;

Instant At(Duration d) { return Instant(d); }

TEST(SimulatorTest, EventsFireByTimeThenByInsertionOrder) {
  Simulator sim(1);
  std::vector<std::string> fired;
  auto record = [&fired](std::string name) { return [&fired, name] { fired.push_back(name); }; };
  sim.At(At(5ms), record("5ms-first"));
  sim.At(At(3ms), record("3ms-first"));
  sim.At(At(3ms), record("3ms-second"));
  sim.At(At(5ms), record("5ms-second"));
  sim.At(At(1ms), record("1ms"));
  sim.At(At(3ms), record("3ms-third"));
  sim.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<std::string>{"1ms", "3ms-first", "3ms-second", "3ms-third",
                                             "5ms-first", "5ms-second"}));
  EXPECT_EQ(sim.Now(), At(5ms));
  EXPECT_EQ(sim.events_fired(), 6u);
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimulatorTest, EventsScheduledByAnEventForNowFireAfterThoseAlreadyQueued) {
  Simulator sim(1);
  std::vector<std::string> fired;
  sim.At(At(2ms), [&] {
    fired.push_back("a");
    sim.At(sim.Now(), [&] { fired.push_back("scheduled-by-a"); });
  });
  sim.At(At(2ms), [&] { fired.push_back("b"); });
  sim.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<std::string>{"a", "b", "scheduled-by-a"}));
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimulatorTest, CancelledEventsNeverFire) {
  Simulator sim(1);
  std::vector<int> fired;
  sim.Schedule(At(1ms), EventKind::kControl, kNoNode, 0, [&] { fired.push_back(1); });
  const TimerId two =
      sim.Schedule(At(2ms), EventKind::kControl, kNoNode, 0, [&] { fired.push_back(2); });
  sim.Schedule(At(3ms), EventKind::kControl, kNoNode, 0, [&] { fired.push_back(3); });
  sim.Cancel(two);
  sim.Cancel(two);  // twice is a no-op
  sim.RunUntilIdle();
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_EQ(sim.events_fired(), 2u);
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimulatorTest, CancellingAFiredEventDoesNotTouchTheEventReusingItsSlot) {
  Simulator sim(1);
  int fired = 0;
  const TimerId first = sim.Schedule(At(1ms), EventKind::kControl, kNoNode, 0, [&] { ++fired; });
  sim.RunUntilIdle();
  ASSERT_EQ(fired, 1);
  const TimerId second = sim.Schedule(At(2ms), EventKind::kControl, kNoNode, 0, [&] { ++fired; });
  ASSERT_EQ(second.slot, first.slot) << "the test wants the freed slot reused";
  sim.Cancel(first);  // stale: must not cancel `second`
  sim.RunUntilIdle();
  EXPECT_EQ(fired, 2);
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimulatorTest, RunUntilFiresEventsAtUntilAndLeavesTheClockThere) {
  Simulator sim(1);
  std::vector<int> fired;
  sim.At(At(10ms), [&] { fired.push_back(10); });
  sim.At(At(10ms) + 1ns, [&] { fired.push_back(11); });
  sim.RunUntil(At(7ms));
  EXPECT_TRUE(fired.empty());
  EXPECT_EQ(sim.Now(), At(7ms));
  sim.RunUntil(At(10ms));
  EXPECT_EQ(fired, std::vector<int>{10});
  EXPECT_EQ(sim.Now(), At(10ms));
  sim.RunFor(5ms);
  EXPECT_EQ(fired, (std::vector<int>{10, 11}));
  EXPECT_EQ(sim.Now(), At(15ms));
  // With nothing scheduled the clock still moves to `until`.
  sim.RunUntil(At(1s));
  EXPECT_EQ(sim.Now(), At(1s));
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimulatorTest, SleepsWakeAtExactVirtualTimes) {
  Simulator sim(1);
  std::vector<Instant> woke;
  const NodeId id = sim.AddNode(KernelNode("n"), [&](SimProcess& process) {
    Env& env = process.env();
    ASSERT_TRUE(env.SleepFor(1500us).ok());
    woke.push_back(env.Now());
    ASSERT_TRUE(env.SleepUntil(At(7ms) + 3ns).ok());
    woke.push_back(env.Now());
    ASSERT_TRUE(env.SleepUntil(At(1ms)).ok());  // in the past: returns at once
    woke.push_back(env.Now());
    ASSERT_TRUE(env.SleepFor(-5ms).ok());
    woke.push_back(env.Now());
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
  EXPECT_EQ(woke, (std::vector<Instant>{At(1500us), At(7ms) + 3ns, At(7ms) + 3ns, At(7ms) + 3ns}));
}

TEST(SimulatorTest, ReadyFibersRunBeforeTheClockMoves) {
  Simulator sim(1);
  std::vector<std::string> order;
  const NodeId id = sim.AddNode(KernelNode("n"), [&](SimProcess& process) {
    Env& env = process.env();
    env.Spawn("child", [&] { order.push_back("child@" + std::to_string(ToNanos(env.Now()))); });
    order.push_back("parent-before-suspending");
    ASSERT_TRUE(env.SleepFor(1ms).ok());
    order.push_back("parent@" + std::to_string(ToNanos(env.Now())));
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
  EXPECT_EQ(order,
            (std::vector<std::string>{"parent-before-suspending", "child@0", "parent@1000000"}));
}

TEST(SimulatorTest, SameSeedSameTraceOtherSeedOtherTrace) {
  auto run = [](uint64_t seed) {
    Simulator sim(seed);
    for (int n = 0; n < 3; ++n) {
      sim.AddNode(KernelNode("n" + std::to_string(n)), [](SimProcess& process) {
        Env& env = process.env();
        for (int i = 0; i < 50; ++i) {
          const Duration pause(static_cast<int64_t>(env.random().Below(1000000)));
          if (!env.SleepFor(pause).ok()) return;
        }
      });
      sim.StartNode(NodeId(n));
    }
    sim.RunUntilIdle();
    EXPECT_TRUE(sim.Shutdown().ok());
    return sim.trace_hash();
  };
  EXPECT_EQ(run(7), run(7));
  EXPECT_NE(run(7), run(8));
}

TEST(SimulatorTest, ShutdownReportsFibersThatNoCrashCanWake) {
  Simulator sim(1);
  boost::fibers::mutex mutex;
  boost::fibers::condition_variable wake;
  bool go = false;
  const NodeId id = sim.AddNode(KernelNode("n"), [&](SimProcess&) {
    std::unique_lock<boost::fibers::mutex> lock(mutex);
    wake.wait(lock, [&] { return go; });
  });
  sim.StartNode(id);
  sim.RunUntilIdle();
  const Status shutdown = sim.Shutdown();
  EXPECT_EQ(shutdown.code(), StatusCode::kInternal) << shutdown.ToString();
  EXPECT_EQ(sim.live_fibers(), 1u);
  // Let it go, so that the simulator can be destroyed.
  {
    std::unique_lock<boost::fibers::mutex> lock(mutex);
    go = true;
  }
  wake.notify_all();
  sim.RunUntilIdle();
  EXPECT_EQ(sim.live_fibers(), 0u);
}

TEST(SimulatorTest, StartAndRestartCountIncarnations) {
  Simulator sim(1);
  std::vector<uint64_t> started;
  const NodeId id = sim.AddNode(
      KernelNode("n"), [&](SimProcess& process) { started.push_back(process.incarnation()); });
  EXPECT_FALSE(sim.node(id).up());
  sim.StartNode(id);
  sim.StartNode(id);  // already up: no-op
  sim.RunFor(1ms);
  EXPECT_TRUE(sim.node(id).up());
  sim.CrashNode(id);
  sim.CrashNode(id);  // already down: no-op
  EXPECT_FALSE(sim.node(id).up());
  sim.RestartNode(id);
  sim.RunFor(1ms);
  sim.RestartNode(id);
  sim.RunFor(1ms);
  EXPECT_EQ(started, (std::vector<uint64_t>{1, 2, 3}));
  ASSERT_TRUE(sim.Shutdown().ok());
  EXPECT_FALSE(sim.node(id).up());
  sim.StartNode(id);  // refused once shutting down
  EXPECT_FALSE(sim.node(id).up());
}

TEST(SimulatorTest, EnvOfFindsTheRunningIncarnationByName) {
  Simulator sim(1);
  const NodeId a = sim.AddNode(KernelNode("a"), [](SimProcess&) {});
  sim.AddNode(KernelNode("b"), [](SimProcess&) {});
  EXPECT_EQ(sim.FindNode("a"), a);
  EXPECT_EQ(sim.FindNode("nobody"), std::nullopt);
  EXPECT_EQ(sim.EnvOf("a"), nullptr);  // down
  EXPECT_EQ(sim.EnvOf("nobody"), nullptr);
  sim.StartNode(a);
  granary::Env* env = sim.EnvOf("a");
  ASSERT_NE(env, nullptr);
  EXPECT_EQ(env, &sim.node(a).process()->env());
  EXPECT_EQ(env->node_name(), "a");
  EXPECT_EQ(sim.EnvOf("b"), nullptr);  // never started
  sim.RestartNode(a);
  ASSERT_NE(sim.EnvOf("a"), nullptr);
  EXPECT_EQ(sim.EnvOf("a"), &sim.node(a).process()->env());  // the new incarnation's
  sim.CrashNode(a);
  EXPECT_EQ(sim.EnvOf("a"), nullptr);
  ASSERT_TRUE(sim.Shutdown().ok());
}

}  // namespace
}  // namespace granary::sim
