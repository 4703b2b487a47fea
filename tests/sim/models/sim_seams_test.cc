// The seam contract suites (tests/seams/) over the simulated implementations: SimTransport,
// SimDisk and SimMetaStore on a two-node simulator.
#include <gtest/gtest.h>

#include <functional>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/sim_disk.h"
#include "tests/seams/disk_contract.h"
#include "tests/seams/meta_store_contract.h"
#include "tests/seams/seam_world.h"
#include "tests/seams/transport_contract.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using seams_test::SeamWorld;

// node-0 runs the body (env, disk, store, client); node-1 is the server.
class SimWorld final : public SeamWorld {
 public:
  SimWorld(SimProcess& client, SimDiskStorage& client_disk, SimProcess& server)
      : client_(client), client_disk_(client_disk), server_(server) {}

  Env& env() override { return client_.env(); }
  Disk& disk() override { return client_.disk(); }
  MetaStore& store() override { return client_.meta_store(); }
  Transport& client() override { return client_.transport(); }
  Transport& server() override { return server_.transport(); }
  Env& server_env() override { return server_.env(); }
  Address UnknownAddress() override { return Address{"no-such-node"}; }

  // The crash model of node-0's disk, without ending the process that runs the body: what
  // the disk keeps is exactly what a crash of the node would keep. The MemStore holds only
  // acknowledged (durable) batches, so it has nothing to lose.
  bool Reopen() override {
    client_disk_.Crash();
    return true;
  }

 private:
  SimProcess& client_;
  SimDiskStorage& client_disk_;
  SimProcess& server_;
};

struct SimHarness {
  static void Run(const std::function<void(SeamWorld&)>& body) {
    const uint64_t seed = testing::SeedForTest();
    SCOPED_TRACE(testing::SeedTrace(seed));
    testing::ModelledSim sim(seed);
    bool finished = false;
    const NodeId client = sim.AddNode(testing::Node("node-0", 2), [&](SimProcess& process) {
      SimWorld world(process, sim.machine(process.node().id()).disk_storage(),
                     *sim.node(NodeId(1)).process());
      body(world);
      finished = true;
    });
    const NodeId server = sim.AddNode(testing::Node("node-1", 2), [](SimProcess&) {});
    sim.StartNode(server);
    sim.StartNode(client);
    // Bounded: a body that waits forever shows up as "never finished", not as a hang.
    sim.RunUntil(sim.Now() + std::chrono::hours(1));
    EXPECT_TRUE(finished) << "the body blocked and never finished";
    const Status shutdown = sim.Shutdown();
    ASSERT_TRUE(shutdown.ok()) << shutdown.ToString();
  }
};

}  // namespace
}  // namespace granary::sim

namespace granary::seams_test {

INSTANTIATE_TYPED_TEST_SUITE_P(Sim, TransportContractTest, ::testing::Types<sim::SimHarness>);
INSTANTIATE_TYPED_TEST_SUITE_P(Sim, DiskContractTest, ::testing::Types<sim::SimHarness>);
INSTANTIATE_TYPED_TEST_SUITE_P(Sim, MetaStoreContractTest, ::testing::Types<sim::SimHarness>);

}  // namespace granary::seams_test
