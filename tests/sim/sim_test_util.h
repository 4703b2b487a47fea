// Helpers shared by the simulator's tests.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "core/common/random.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "tests/test_seed.h"

namespace granary::sim::testing {

using granary::test::SeedForTest;

inline std::string SeedTrace(uint64_t seed) { return "seed " + std::to_string(seed); }

// A link without jitter or loss: arrival times become exact.
inline LinkProfile ExactLink(Duration latency = std::chrono::microseconds(50)) {
  LinkProfile link;
  link.latency_fixed = latency;
  link.latency_jitter_mean = Duration(0);
  link.loss_probability = 0;
  return link;
}

inline NodeOptions Node(std::string name, uint32_t cores = 0, DiskProfile disk = {}) {
  NodeOptions options;
  options.name = std::move(name);
  options.cores = cores;
  options.disk = disk;
  return options;
}

// Runs the simulator until `limit`, then shuts it down, expecting every fiber to unwind.
inline void FinishAndShutDown(Simulator& sim, Duration limit = std::chrono::hours(1)) {
  sim.RunUntil(sim.Now() + limit);
  const Status shutdown = sim.Shutdown();
  EXPECT_TRUE(shutdown.ok()) << shutdown.ToString();
  EXPECT_EQ(sim.live_fibers(), 0u);
}

// Runs `body` on the start fiber of a lone node and expects it to finish.
inline void RunOnOneNode(uint64_t seed, NodeOptions options,
                         const std::function<void(SimProcess&)>& body) {
  Simulator sim(seed);
  bool finished = false;
  const NodeId id = sim.AddNode(std::move(options), [&](SimProcess& process) {
    body(process);
    finished = true;
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
  EXPECT_TRUE(finished) << "the body never finished";
}

}  // namespace granary::sim::testing
