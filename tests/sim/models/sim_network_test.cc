#include "sim/models/sim_network.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using testing::ExactLink;
using testing::FinishAndShutDown;
using testing::ModelledSim;
using testing::Node;

constexpr uint64_t kMebibyte = 1 << 20;
// 2^20 bytes * 8 bits / 10^10 bits/s = 838,860.8 ns, rounded to the nanosecond.
constexpr Duration kMebibyteAt10Gbit = 838861ns;
constexpr Duration kLatency = 50us;

// A simulator of `count` idle nodes with 10 Gbit/s NICs and exact 50 µs links.
std::unique_ptr<ModelledSim> Idle(uint64_t seed, int count) {
  auto sim = std::make_unique<ModelledSim>(seed);
  for (int i = 0; i < count; ++i) sim->AddNode(Node("node-" + std::to_string(i)), nullptr);
  sim->network().SetDefaultLink(ExactLink(kLatency));
  return sim;
}

TEST(SimNetworkTest, AMebibyteOnIdleNicsTakesItsWireTimePlusLatency) {
  auto sim = Idle(1, 2);
  std::optional<Instant> arrival = sim->network().Transmit(NodeId(0), NodeId(1), kMebibyte);
  ASSERT_TRUE(arrival.has_value());
  EXPECT_EQ(*arrival, Instant(kMebibyteAt10Gbit + kLatency));
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, TwoMessagesFromOneSenderLeaveOneAfterTheOther) {
  auto sim = Idle(1, 3);
  const Instant first = *sim->network().Transmit(NodeId(0), NodeId(1), kMebibyte);
  const Instant second = *sim->network().Transmit(NodeId(0), NodeId(2), kMebibyte);
  EXPECT_EQ(first, Instant(kMebibyteAt10Gbit + kLatency));
  EXPECT_EQ(second - first, kMebibyteAt10Gbit);
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, TwoSendersShareTheReceiversNic) {
  auto sim = Idle(1, 3);
  const Instant first = *sim->network().Transmit(NodeId(0), NodeId(2), kMebibyte);
  const Instant second = *sim->network().Transmit(NodeId(1), NodeId(2), kMebibyte);
  EXPECT_EQ(first, Instant(kMebibyteAt10Gbit + kLatency));
  EXPECT_EQ(second - first, kMebibyteAt10Gbit);
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, NicsFreeUpOnceTheirBytesAreThrough) {
  auto sim = Idle(1, 2);
  const Instant first = *sim->network().Transmit(NodeId(0), NodeId(1), kMebibyte);
  sim->RunUntil(first + 1ms);
  const Instant second = *sim->network().Transmit(NodeId(0), NodeId(1), kMebibyte);
  EXPECT_EQ(second - sim->Now(), kMebibyteAt10Gbit + kLatency);
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, SlowerNicsTakeLonger) {
  ModelledSim sim(1);
  testing::NodeSpec slow = Node("slow");
  slow.machine.nic.bandwidth_bits_per_second = 1e9;
  sim.AddNode(Node("fast"), nullptr);
  sim.AddNode(slow, nullptr);
  sim.network().SetDefaultLink(ExactLink(kLatency));
  // 1,000,000 bytes: 0.8 ms out of the 10 Gbit/s NIC, 8 ms into the 1 Gbit/s one.
  const Instant arrival = *sim.network().Transmit(NodeId(0), NodeId(1), 1000000);
  EXPECT_EQ(arrival, Instant(8ms));
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimNetworkTest, LoopbackTakesAMicrosecond) {
  auto sim = Idle(1, 1);
  EXPECT_EQ(*sim->network().Transmit(NodeId(0), NodeId(0), kMebibyte), Instant(1us));
  ASSERT_TRUE(sim->Shutdown().ok());
}

// The same arithmetic through the Transport: the request's bytes (payload, body, envelope)
// cross both NICs, then a small reply comes back.
TEST(SimNetworkTest, AMebibyteRpcTakesWireTimePlusTwoLatencies) {
  Instant replied{};
  ModelledSim rpc(2);
  rpc.AddNode(Node("client"), [&replied](SimProcess& process) {
    Result<RpcReply> reply = process.transport().Call(
        Address{"server"}, RpcRequest{"m", "", std::string(kMebibyte, 'x')},
        process.env().Now() + 1s);
    ASSERT_TRUE(reply.ok()) << reply.status().ToString();
    replied = process.env().Now();
  });
  rpc.AddNode(Node("server"), [](SimProcess& process) {
    ASSERT_TRUE(
        process.transport()
            .Serve([](const RpcContext&, RpcRequest&) -> Result<RpcReply> { return RpcReply{}; })
            .ok());
  });
  rpc.network().SetDefaultLink(ExactLink(kLatency));
  rpc.StartNode(NodeId(1));
  rpc.StartNode(NodeId(0));
  FinishAndShutDown(rpc);
  // Envelopes and bodies add well under 200 bytes: 160 ns at 10 Gbit/s, per NIC crossing.
  EXPECT_GE(replied, Instant(kMebibyteAt10Gbit + 2 * kLatency));
  EXPECT_LE(replied, Instant(kMebibyteAt10Gbit + 2 * kLatency + 1us));
}

// A client node calling a server node through the Transport, with a handler counter.
struct RpcPair {
  explicit RpcPair(uint64_t seed) : sim(seed) {
    sim.AddNode(Node("client"), nullptr);
    sim.AddNode(Node("server"), [this](SimProcess& process) {
      ASSERT_TRUE(process.transport()
                      .Serve([this](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
                        ++handled;
                        return RpcReply{request.body, ""};
                      })
                      .ok());
    });
    sim.network().SetDefaultLink(ExactLink(kLatency));
    sim.StartNode(NodeId(1));
    sim.RunFor(1ms);
  }

  ModelledSim sim;
  int handled = 0;
};

// Runs one call from `from` to `to` on a fresh fiber of `from`, and the simulator until it
// is done; returns its status.
Status CallAndWait(Simulator& sim, NodeId from, const std::string& to, Duration timeout) {
  auto result = std::make_shared<Status>(StatusCode::kInternal, "never ran");
  SimNode& node = sim.node(from);
  if (!node.up()) sim.StartNode(from);
  node.process()->Spawn("call", [process = node.process().get(), to, timeout, result] {
    Result<RpcReply> reply = process->transport().Call(Address{to}, RpcRequest{"m", "b", ""},
                                                       process->env().Now() + timeout);
    *result = reply.status();
  });
  sim.RunFor(timeout + 1ms);
  return *result;
}

TEST(SimNetworkTest, PartitionsBlockBothWaysUntilHealed) {
  RpcPair pair(1);
  ModelledSim& sim = pair.sim;
  ASSERT_TRUE(CallAndWait(sim, NodeId(0), "server", 10ms).ok());
  EXPECT_EQ(pair.handled, 1);

  sim.network().Partition(NodeId(0), NodeId(1));
  EXPECT_TRUE(sim.network().Blocked(NodeId(0), NodeId(1)));
  EXPECT_TRUE(sim.network().Blocked(NodeId(1), NodeId(0)));
  EXPECT_EQ(CallAndWait(sim, NodeId(0), "server", 10ms).code(), StatusCode::kTimeout);
  EXPECT_EQ(pair.handled, 1) << "the request crossed a partition";

  sim.network().Heal(NodeId(1), NodeId(0));  // either order of the pair heals it
  EXPECT_FALSE(sim.network().Blocked(NodeId(0), NodeId(1)));
  ASSERT_TRUE(CallAndWait(sim, NodeId(0), "server", 10ms).ok());
  EXPECT_EQ(pair.handled, 2);
  FinishAndShutDown(sim);
}

TEST(SimNetworkTest, OneWayPartitionLetsTheRequestThroughButNotTheReply) {
  RpcPair pair(1);
  ModelledSim& sim = pair.sim;
  sim.network().PartitionOneWay(NodeId(1), NodeId(0));
  EXPECT_FALSE(sim.network().Blocked(NodeId(0), NodeId(1)));
  EXPECT_TRUE(sim.network().Blocked(NodeId(1), NodeId(0)));
  EXPECT_EQ(CallAndWait(sim, NodeId(0), "server", 10ms).code(), StatusCode::kTimeout);
  EXPECT_EQ(pair.handled, 1) << "the request should have arrived";

  sim.network().HealAll();
  ASSERT_TRUE(CallAndWait(sim, NodeId(0), "server", 10ms).ok());
  EXPECT_EQ(pair.handled, 2);
  FinishAndShutDown(sim);
}

TEST(SimNetworkTest, IsolationCutsEveryLinkOfANode) {
  ModelledSim sim(1);
  for (int i = 0; i < 3; ++i) sim.AddNode(Node("n" + std::to_string(i)), nullptr);
  sim.network().Isolate(NodeId(1), true);
  EXPECT_TRUE(sim.network().Blocked(NodeId(0), NodeId(1)));
  EXPECT_TRUE(sim.network().Blocked(NodeId(1), NodeId(2)));
  EXPECT_FALSE(sim.network().Blocked(NodeId(0), NodeId(2)));
  EXPECT_FALSE(sim.network().Blocked(NodeId(1), NodeId(1)));
  EXPECT_FALSE(sim.network().Transmit(NodeId(2), NodeId(1), 100).has_value());
  sim.network().Isolate(NodeId(1), false);
  EXPECT_TRUE(sim.network().Transmit(NodeId(2), NodeId(1), 100).has_value());
  EXPECT_EQ(sim.network().stats().messages_dropped, 1u);
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimNetworkTest, LossProbabilityIsHonoured) {
  const uint64_t seed = testing::SeedForTest();
  SCOPED_TRACE(testing::SeedTrace(seed));
  auto sim = Idle(seed, 2);
  constexpr int kMessages = 20000;
  auto lost_fraction = [&] {
    int lost = 0;
    for (int i = 0; i < kMessages; ++i) {
      if (!sim->network().Transmit(NodeId(0), NodeId(1), 100)) ++lost;
    }
    return static_cast<double>(lost) / kMessages;
  };
  EXPECT_EQ(lost_fraction(), 0.0);
  // Binomial: sd = sqrt(0.2 * 0.8 / 20000) = 0.0028; the bounds are 7 sd wide.
  sim->network().SetExtraLossProbability(0.2);
  EXPECT_NEAR(lost_fraction(), 0.2, 0.02);
  // A link's own loss combines with the extra loss: 1 - 0.8 * 0.5 = 0.6.
  LinkProfile lossy = ExactLink();
  lossy.loss_probability = 0.5;
  sim->network().SetLink(NodeId(0), NodeId(1), lossy);
  EXPECT_NEAR(lost_fraction(), 0.6, 0.02);
  sim->network().SetExtraLossProbability(0);
  EXPECT_NEAR(lost_fraction(), 0.5, 0.02);
  // The other direction keeps the default link.
  int lost_back = 0;
  for (int i = 0; i < 1000; ++i) lost_back += !sim->network().Transmit(NodeId(1), NodeId(0), 1);
  EXPECT_EQ(lost_back, 0);
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, DelaySpikesAddTheirDelay) {
  const uint64_t seed = testing::SeedForTest();
  SCOPED_TRACE(testing::SeedTrace(seed));
  auto sim = Idle(seed, 2);
  // 1000 bytes cross each NIC in 800 ns.
  const Duration base = 800ns + kLatency;
  auto delay = [&] {
    const Instant now = sim->Now();
    const Instant arrival = *sim->network().Transmit(NodeId(0), NodeId(1), 1000);
    sim->RunFor(1s);  // let both NICs go idle again
    return arrival - now;
  };
  EXPECT_EQ(delay(), base);
  sim->network().SetDelaySpikes(1.0, 20ms);
  EXPECT_EQ(delay(), base + 20ms);
  sim->network().SetDelaySpikes(0.5, 20ms);
  int spiked = 0;
  for (int i = 0; i < 400; ++i) {
    const Duration d = delay();
    ASSERT_TRUE(d == base || d == base + 20ms) << d.count();
    spiked += d != base;
  }
  EXPECT_NEAR(spiked, 200, 60);  // sd 10
  sim->network().SetDelaySpikes(0, Duration(0));
  EXPECT_EQ(delay(), base);
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, JitterIsExponentialAroundItsMean) {
  const uint64_t seed = testing::SeedForTest();
  SCOPED_TRACE(testing::SeedTrace(seed));
  auto sim = Idle(seed, 2);
  LinkProfile link = ExactLink(kLatency);
  link.latency_jitter_mean = 10us;
  sim->network().SetDefaultLink(link);
  constexpr int kMessages = 4000;
  double total_jitter_ns = 0;
  for (int i = 0; i < kMessages; ++i) {
    const Instant now = sim->Now();
    const Duration d = *sim->network().Transmit(NodeId(0), NodeId(1), 0) - now;
    ASSERT_GE(d, kLatency);
    total_jitter_ns += static_cast<double>((d - kLatency).count());
    sim->RunFor(1ms);
  }
  // Exponential: sd = mean; the mean of 4000 draws has sd 10 µs / 63 = 0.16 µs.
  EXPECT_NEAR(total_jitter_ns / kMessages, 10000, 1000);
  ASSERT_TRUE(sim->Shutdown().ok());
}

TEST(SimNetworkTest, UnknownAddressesAreUnavailableAndDownNodesTimeOut) {
  RpcPair pair(1);
  ModelledSim& sim = pair.sim;
  EXPECT_EQ(CallAndWait(sim, NodeId(0), "nowhere", 10ms).code(), StatusCode::kUnavailable);
  sim.CrashNode(NodeId(1));
  EXPECT_EQ(CallAndWait(sim, NodeId(0), "server", 10ms).code(), StatusCode::kTimeout);
  sim.StartNode(NodeId(1));
  sim.RunFor(1ms);
  EXPECT_TRUE(CallAndWait(sim, NodeId(0), "server", 10ms).ok());
  FinishAndShutDown(sim);
}

// A reply that arrives for an incarnation that has crashed meanwhile goes nowhere, and never
// completes a call of the next incarnation.
TEST(SimNetworkTest, RepliesToACrashedCallerAreDropped) {
  ModelledSim sim(1);
  int handled = 0;
  std::vector<StatusCode> codes;
  sim.AddNode(Node("client"), [&codes](SimProcess& process) {
    Result<RpcReply> reply = process.transport().Call(Address{"server"}, RpcRequest{"m", "", ""},
                                                      process.env().Now() + 50ms);
    codes.push_back(reply.code());
  });
  sim.AddNode(Node("server"), [&handled](SimProcess& process) {
    Env& env = process.env();
    ASSERT_TRUE(process.transport()
                    .Serve([&env, &handled](const RpcContext&, RpcRequest&) -> Result<RpcReply> {
                      ++handled;
                      if (!env.SleepFor(5ms).ok()) return Status(StatusCode::kNodeDown, "");
                      return RpcReply{"late", ""};
                    })
                    .ok());
  });
  sim.network().SetDefaultLink(ExactLink(kLatency));
  sim.StartNode(NodeId(1));
  sim.StartNode(NodeId(0));
  sim.RunFor(1ms);
  sim.RestartNode(NodeId(0));  // the first call dies; the second incarnation calls again
  FinishAndShutDown(sim);
  EXPECT_EQ(codes, (std::vector<StatusCode>{StatusCode::kNodeDown, StatusCode::kOk}));
  EXPECT_EQ(handled, 2);
}

}  // namespace
}  // namespace granary::sim
