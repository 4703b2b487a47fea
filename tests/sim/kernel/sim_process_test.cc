#include "sim/kernel/sim_process.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/kernel/simulator.h"
#include "sim/models/sim_disk.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using testing::FinishAndShutDown;
using testing::ModelledSim;
using testing::Node;

// What the crash test's fibers saw, kept outside the simulator.
struct Observed {
  std::map<std::string, std::vector<StatusCode>> codes;  // by kind of wait
  int unwound = 0;
  int started = 0;
  std::vector<uint64_t> incarnations;
  std::string recovered;
};

constexpr int kFibersPerKind = 25;

// node-0: many fibers blocked in sleeps, RPC calls, disk operations and CPU charges.
// node-1: a server whose handler never answers in time.
void StartCrashTestNode(SimProcess& process, Observed& observed) {
  observed.incarnations.push_back(process.incarnation());
  Env& env = process.env();
  Disk& disk = process.disk();
  if (process.incarnation() > 1) {
    // A later incarnation, on the same disk: what was synced before the crash is there.
    Result<std::string> data = disk.Read("synced", 0, 100);
    observed.recovered = data.ok() ? *data : data.status().ToString();
    return;
  }
  ASSERT_TRUE(disk.Create("synced").ok());
  ASSERT_TRUE(disk.Append("synced", "before the crash").ok());
  ASSERT_TRUE(disk.Sync("synced").ok());
  ASSERT_TRUE(disk.Create("busy").ok());
  auto spawn = [&](const std::string& kind, std::function<Status()> wait) {
    for (int i = 0; i < kFibersPerKind; ++i) {
      env.Spawn(kind, [&observed, kind, wait] {
        ++observed.started;
        // Loops as core code must: any non-ok status ends the loop.
        for (;;) {
          const Status status = wait();
          if (!status.ok()) {
            observed.codes[kind].push_back(status.code());
            break;
          }
        }
        ++observed.unwound;
      });
    }
  };
  spawn("sleep", [&env] { return env.SleepFor(1h); });
  spawn("rpc", [&process, &env] {
    return process.transport()
        .Call(Address{"server"}, RpcRequest{"hang", "", ""}, env.Now() + 1h)
        .status();
  });
  spawn("disk", [&disk] { return disk.Append("busy", std::string(4096, 'x')); });
  spawn("cpu", [&env] { return env.ChargeCpu(10s); });
  // The start fiber itself waits too.
  const Status own = env.SleepFor(2h);
  observed.codes["start"].push_back(own.code());
  ++observed.unwound;
}

TEST(SimProcessTest, CrashUnwindsEveryBlockedFiberAndRestartSeesTheSyncedDisk) {
  ModelledSim sim(1);
  Observed observed;
  const NodeId id = sim.AddNode(Node("node-0", 2, HddProfile()), [&](SimProcess& process) {
    StartCrashTestNode(process, observed);
  });
  const NodeId server = sim.AddNode(Node("server"), [](SimProcess& process) {
    Env& env = process.env();
    ASSERT_TRUE(process.transport()
                    .Serve([&env](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
                      GRANARY_RETURN_IF_ERROR(env.SleepFor(10h));
                      return RpcReply{};
                    })
                    .ok());
  });
  sim.StartNode(server);
  sim.StartNode(id);
  sim.RunFor(1s);  // set-up done (HDD: ~40 ms), every fiber blocked
  ASSERT_EQ(observed.started, 4 * kFibersPerKind);
  ASSERT_EQ(observed.unwound, 0);
  std::weak_ptr<SimProcess> first = sim.node(id).process();
  EXPECT_EQ(first.lock()->live_fibers(), 4u * kFibersPerKind + 1);
  const uint64_t server_fibers = sim.live_fibers() - (4 * kFibersPerKind + 1);

  sim.CrashNode(id);
  EXPECT_FALSE(sim.node(id).up());
  sim.RunFor(1ms);  // no event needed: the crash made every fiber ready
  EXPECT_EQ(observed.unwound, 4 * kFibersPerKind + 1);
  for (const char* kind : {"sleep", "rpc", "disk", "cpu"}) {
    EXPECT_EQ(observed.codes[kind], std::vector<StatusCode>(kFibersPerKind, StatusCode::kNodeDown))
        << kind;
  }
  EXPECT_EQ(observed.codes["start"], std::vector<StatusCode>{StatusCode::kNodeDown});
  EXPECT_TRUE(first.expired()) << "the crashed incarnation outlived its fibers";
  EXPECT_EQ(sim.live_fibers(), server_fibers);

  sim.StartNode(id);
  sim.RunFor(1s);
  EXPECT_EQ(observed.incarnations, (std::vector<uint64_t>{1, 2}));
  EXPECT_EQ(observed.recovered, "before the crash");
  // The server's handlers still sleep; a shutdown unwinds them too.
  EXPECT_GT(sim.live_fibers(), 0u);
  FinishAndShutDown(sim, 1ms);
}

TEST(SimProcessTest, ACrashedProcessFailsEveryLaterWaitAtOnce) {
  ModelledSim sim(1);
  std::shared_ptr<SimProcess> kept;
  const NodeId id =
      sim.AddNode(Node("n", 1), [&](SimProcess& process) { kept = process.shared_from_this(); });
  sim.StartNode(id);
  sim.RunFor(1ms);
  sim.CrashNode(id);
  ASSERT_FALSE(kept->alive());
  std::vector<StatusCode> codes;
  int spawned_ran = 0;
  kept->Spawn("too-late", [&spawned_ran] { ++spawned_ran; });
  sim.AddNode(Node("observer"), [&](SimProcess&) {
    codes.push_back(kept->env().SleepFor(1ms).code());
    codes.push_back(kept->env().ChargeCpu(1ms).code());
    codes.push_back(kept->disk().Create("f").code());
    codes.push_back(kept->disk().Usage().code());
    codes.push_back(kept->meta_store().Get("k").code());
    codes.push_back(
        kept->transport().Call(Address{"n"}, RpcRequest{}, kept->env().Now() + 1s).code());
    codes.push_back(kept->transport().Serve(nullptr).code());
  });
  sim.StartNode(NodeId(1));
  sim.RunFor(1ms);
  EXPECT_EQ(codes, std::vector<StatusCode>(7, StatusCode::kNodeDown));
  EXPECT_EQ(spawned_ran, 0);
  kept.reset();
  FinishAndShutDown(sim, 1ms);
}

// Two cores, four 10 ms charges at once: two run at once, the other two after them.
TEST(SimProcessTest, CpuChargesQueueOnTheNodesCores) {
  ModelledSim sim(1);
  std::vector<Duration> done;
  const NodeId id = sim.AddNode(Node("n", 2), [&](SimProcess& process) {
    Env& env = process.env();
    for (int i = 0; i < 4; ++i) {
      env.Spawn("work", [&env, &done] {
        ASSERT_TRUE(env.ChargeCpu(10ms).ok());
        done.push_back(env.Now().time_since_epoch());
      });
    }
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
  EXPECT_EQ(done, (std::vector<Duration>{10ms, 10ms, 20ms, 20ms}));
}

TEST(SimProcessTest, CpuChargesStartWhenACoreIsFree) {
  ModelledSim sim(1);
  std::vector<Duration> done;
  const NodeId id = sim.AddNode(Node("n", 1), [&](SimProcess& process) {
    Env& env = process.env();
    env.Spawn("long", [&env, &done] {
      ASSERT_TRUE(env.ChargeCpu(30ms).ok());
      done.push_back(env.Now().time_since_epoch());
    });
    ASSERT_TRUE(env.SleepFor(10ms).ok());
    ASSERT_TRUE(env.ChargeCpu(5ms).ok());  // queued behind the 30 ms one
    done.push_back(env.Now().time_since_epoch());
    ASSERT_TRUE(env.SleepFor(100ms).ok());
    ASSERT_TRUE(env.ChargeCpu(5ms).ok());  // the core is idle again
    done.push_back(env.Now().time_since_epoch());
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
  EXPECT_EQ(done, (std::vector<Duration>{30ms, 35ms, 140ms}));
}

TEST(SimProcessTest, WithoutModelledCoresCpuIsFree) {
  testing::RunOnOneNode(1, Node("n", 0), [](SimProcess& process) {
    const Instant before = process.env().Now();
    ASSERT_TRUE(process.env().ChargeCpu(1s).ok());
    EXPECT_EQ(process.env().Now(), before);
  });
}

TEST(SimProcessTest, EachIncarnationHasItsOwnRandomStream) {
  ModelledSim sim(1);
  std::vector<uint64_t> draws;
  std::vector<std::string> names;
  const NodeId id = sim.AddNode(Node("datanode-3"), [&](SimProcess& process) {
    draws.push_back(process.env().random().Next());
    names.emplace_back(process.env().node_name());
  });
  sim.StartNode(id);
  sim.RunFor(1ms);
  sim.RestartNode(id);
  sim.RunFor(1ms);
  ASSERT_EQ(draws.size(), 2u);
  EXPECT_NE(draws[0], draws[1]);
  EXPECT_EQ(names, (std::vector<std::string>{"datanode-3", "datanode-3"}));
  ASSERT_TRUE(sim.Shutdown().ok());
}

}  // namespace
}  // namespace granary::sim
