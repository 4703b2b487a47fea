// Hardware and SimMachine (sim/models/hardware.h, sim_machine.h): the models a cluster's
// builder creates beside the simulator and hands to each node's incarnations.
#include "sim/models/hardware.h"

#include <gtest/gtest.h>

#include <string>

#include "core/seams/meta_store.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/profiles.h"
#include "sim/models/sim_machine.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using testing::FinishAndShutDown;
using testing::KernelNode;

TEST(HardwareTest, NodesAddedThroughItGetTheirMachinesSeams) {
  Simulator sim(testing::SeedForTest());
  Hardware hardware(sim);
  MachineProfile profile;
  profile.disk = HddProfile();
  bool ran = false;
  const NodeId a = hardware.AddNode(KernelNode("a", 1), profile, [&](SimProcess& process) {
    ASSERT_TRUE(process.disk().Create("f").ok());
    ASSERT_TRUE(process.disk().Append("f", "bytes").ok());
    WriteBatch batch;
    batch.Put("k", "v");
    ASSERT_TRUE(process.meta_store().Write(batch).ok());
    ASSERT_TRUE(process.transport().Serve(nullptr).ok());
    ran = true;
  });
  const NodeId k = sim.AddNode(KernelNode("k"), [](SimProcess&) {});
  EXPECT_EQ(sim.node(a).machine(), &hardware.machine(a));
  EXPECT_EQ(sim.node(k).machine(), nullptr);
  EXPECT_EQ(hardware.network().Resolve(Address{"a"}), a);
  EXPECT_EQ(hardware.network().Resolve(Address{"k"}), std::nullopt);  // not on the network
  EXPECT_EQ(hardware.machine(a).profile().disk.sync_latency, HddProfile().sync_latency);
  sim.StartNode(a);
  sim.StartNode(k);
  sim.RunFor(1s);
  EXPECT_TRUE(ran);
  // What the incarnation did went to the machine's state (before Shutdown's crash, which may
  // drop the unsynced bytes).
  EXPECT_EQ(*hardware.machine(a).disk_storage().Size("f"), 5u);
  EXPECT_EQ(hardware.machine(a).meta_store().key_count(), 1u);
  FinishAndShutDown(sim);
  EXPECT_EQ(hardware.machine(a).meta_store().key_count(), 1u);  // acknowledged: durable
}

TEST(HardwareTest, TheMachineOutlivesIncarnationsAndACrashDropsOnlyUnsyncedBytes) {
  Simulator sim(testing::SeedForTest());
  Hardware hardware(sim);
  int incarnation = 0;
  const NodeId id = hardware.AddNode(KernelNode("n"), [&](SimProcess& process) {
    ++incarnation;
    if (incarnation > 1) return;
    ASSERT_TRUE(process.disk().Create("f").ok());
    ASSERT_TRUE(process.disk().Append("f", "synced").ok());
    ASSERT_TRUE(process.disk().Sync("f").ok());
    ASSERT_TRUE(process.disk().Append("f", std::string(1000, 'u')).ok());
  });
  sim.StartNode(id);
  sim.RunFor(1s);
  SimDiskStorage& disk = hardware.machine(id).disk_storage();
  EXPECT_EQ(disk.UnsyncedBytes("f"), 1000u);
  sim.RestartNode(id);
  sim.RunFor(1s);
  EXPECT_EQ(incarnation, 2);
  EXPECT_EQ(&hardware.machine(id).disk_storage(), &disk);
  EXPECT_EQ(disk.UnsyncedBytes("f"), 0u);
  Result<std::string> kept = disk.Read("f", 0, 6);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, "synced");
  EXPECT_LE(*disk.Size("f"), 1006u);
  FinishAndShutDown(sim);
}

TEST(HardwareTest, CallsReachTheRunningIncarnationOnly) {
  Simulator sim(testing::SeedForTest());
  Hardware hardware(sim);
  std::vector<uint64_t> served_by;
  const NodeId server = hardware.AddNode(KernelNode("server"), [&](SimProcess& process) {
    const uint64_t incarnation = process.incarnation();
    ASSERT_TRUE(process.transport()
                    .Serve([&served_by, incarnation](const RpcContext&,
                                                     RpcRequest& request) -> Result<RpcReply> {
                      served_by.push_back(incarnation);
                      return RpcReply{request.body, ""};
                    })
                    .ok());
  });
  int replies = 0;
  const NodeId client = hardware.AddNode(KernelNode("client"), [&](SimProcess& process) {
    for (int i = 0; i < 2; ++i) {
      Result<RpcReply> reply = process.transport().Call(Address{"server"}, RpcRequest{"m", "b", ""},
                                                        process.env().Now() + 1s);
      if (reply.ok()) ++replies;
      ASSERT_TRUE(process.env().SleepFor(2s).ok());
    }
  });
  sim.StartNode(server);
  sim.StartNode(client);
  sim.RunFor(1s);
  sim.RestartNode(server);
  FinishAndShutDown(sim);
  EXPECT_EQ(replies, 2);
  EXPECT_EQ(served_by, (std::vector<uint64_t>{1, 2}));
}

}  // namespace
}  // namespace granary::sim
