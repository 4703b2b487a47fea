// A simulated Granary cluster for tests: namenode, datanodes, and test bodies run on client
// nodes. Randomness comes from GRANARY_SEED when set, else a seed per test, printed.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "core/client/file_system.h"
#include "sim/kernel/simulator.h"
#include "sim/runs/sim_cluster.h"
#include "tests/test_seed.h"

namespace granary::cluster_testing {

using granary::test::SeedForTest;

// Bytes that depend on (tag, length) only, so that a reader can check them.
inline std::string Pattern(uint64_t tag, uint64_t length) {
  Random random(tag);
  std::string out(length, '\0');
  for (uint64_t i = 0; i < length; ++i) out[i] = static_cast<char>(random.Next());
  return out;
}

class ClusterHarness {
 public:
  explicit ClusterHarness(sim::SimClusterOptions options = sim::FastClusterOptions())
      : sim_(SeedForTest()), cluster_(sim_, std::move(options)) {
    cluster_.Start();
    EXPECT_TRUE(cluster_.WaitForDatanodes(std::chrono::seconds(30)));
  }
  ~ClusterHarness() { EXPECT_TRUE(sim_.Shutdown().ok()); }

  sim::Simulator& sim() { return sim_; }
  sim::SimCluster& cluster() { return cluster_; }

  // Runs `body` on a new client node with a FileSystem, until it returns (bounded by
  // `limit` of virtual time: a body still running then fails the test).
  void RunClient(const std::function<void(sim::SimProcess&, FileSystem&)>& body,
                 Duration limit = std::chrono::minutes(5)) {
    bool done = false;
    const std::string name = "client-" + std::to_string(++clients_);
    const NodeId id = cluster_.AddClient(name, [&](sim::SimProcess& p) {
      FileSystem fs(p.env(), p.transport(), cluster_.ClientOptionsFor(p));
      body(p, fs);
      done = true;
    });
    sim_.StartNode(id);
    const Instant end = sim_.Now() + limit;
    while (!done && sim_.Now() < end) sim_.RunFor(std::chrono::milliseconds(100));
    EXPECT_TRUE(done) << "client body still running after the time limit";
  }

  // Lets the cluster run (monitors, reports) for a while.
  void RunFor(Duration d) { sim_.RunFor(d); }

 private:
  sim::Simulator sim_;
  sim::SimCluster cluster_;
  int clients_ = 0;
};

}  // namespace granary::cluster_testing
