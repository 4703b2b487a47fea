// Helpers shared by the simulator's tests: the kernel's alone (the models' tests add
// tests/sim/models/models_test_util.h).
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

// A node of the kernel alone: a name and its cores, no machine.
inline NodeOptions KernelNode(std::string name, uint32_t cores = 0) {
  NodeOptions options;
  options.name = std::move(name);
  options.cores = cores;
  return options;
}

// Runs the simulator until `limit`, then shuts it down, expecting every fiber to unwind.
inline void FinishAndShutDown(Simulator& sim, Duration limit = std::chrono::hours(1)) {
  sim.RunUntil(sim.Now() + limit);
  const Status shutdown = sim.Shutdown();
  EXPECT_TRUE(shutdown.ok()) << shutdown.ToString();
  EXPECT_EQ(sim.live_fibers(), 0u);
}

}  // namespace granary::sim::testing
