// ClusterPlan (issue 18): the cost and capacity rules, the scenario it writes, and the search
// for the cheapest cluster busy enough, against a fake simulator whose answer is known.
#include "analytics/cluster_plan.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace granary::analytics {
namespace {

PlanInputs Inputs() {
  PlanInputs inputs;
  inputs.bytes_per_sample = 1e6;
  inputs.replication = 3;
  inputs.disks_per_datanode = 2;
  inputs.disk_tb = 1;  // 2 TB raw, 1.6 TB usable per datanode
  inputs.server_cost_per_month = 100;
  inputs.cost_per_gb_month = 0.01;
  inputs.busy = 0.9;
  inputs.max_datanodes = 1000;
  inputs.parallel = 2;
  return inputs;
}

// A fake simulator: busy = min(1, datanodes / knee), recording every count it was asked for.
struct FakeSim {
  explicit FakeSim(double knee_datanodes) : knee(knee_datanodes) {}
  double knee;
  size_t max_batch = 2;
  std::vector<int64_t> asked;
  std::set<int64_t> fail_anyway;  // counts that measure 0 busy (a non-monotone grid)
  ClusterPlan::Evaluate Bind() {
    return [this](const std::vector<Candidate>& batch, int64_t) {
      EXPECT_LE(batch.size(), max_batch);  // a search measures `parallel` per round
      std::vector<Measurement> out;
      for (const Candidate& candidate : batch) {
        asked.push_back(candidate.datanodes);
        const double busy = fail_anyway.contains(candidate.datanodes)
                                ? 0.0
                                : std::min(1.0, static_cast<double>(candidate.datanodes) / knee);
        out.push_back(Measurement{busy, busy, "d" + std::to_string(candidate.datanodes)});
      }
      return out;
    };
  }
};

TEST(ClusterPlan, CostAndCapacity) {
  const ClusterPlan plan(Inputs());
  // 1 namenode + 4 datanodes at 100, and 1,000 GB stored at 0.01.
  EXPECT_DOUBLE_EQ(plan.MonthlyCost(Candidate{1, 4}, 1e12), 510);
  EXPECT_EQ(plan.MinDatanodes(1e9), 3);           // replication is the floor
  EXPECT_EQ(plan.MinDatanodes(16e12), 10);        // 16 TB / 1.6 TB usable each
  EXPECT_EQ(plan.MinDatanodes(16e12 + 1e9), 11);  // a byte more needs one more
}

TEST(ClusterPlan, ScenarioIsTheCandidateReadingASampleOfTheDataset) {
  PlanInputs inputs = Inputs();
  inputs.accelerators = 16;
  inputs.files_per_sample = 2;
  inputs.seconds_per_sample = 0.004;
  inputs.sim_files = 1000;
  const ClusterPlan plan(inputs);
  EXPECT_EQ(plan.SimFiles(100), 200);   // 100 samples of 2 files
  EXPECT_EQ(plan.SimFiles(1e9), 1000);  // capped
  EXPECT_EQ(plan.SimFiles(1), 16);      // at least one per accelerator
  const std::string text = plan.ScenarioText(Candidate{1, 7}, 1000);
  for (const char* part :
       {"datanodes: 7", "clients: 16", "replication: 3", "files: 1000", "file_bytes: 500000",
        "compute_ms: 2", "epochs: 4", "seed: 1", "kind: \"epoch_read\"", "disk: \"ssd\""}) {
    EXPECT_NE(text.find(part), std::string::npos) << part << " in\n" << text;
  }
}

TEST(ClusterPlan, SearchFindsTheSmallestBusyEnoughCluster) {
  FakeSim sim(37);  // 34 datanodes give 34/37 = 0.919, 33 give 0.892
  const PlanEnd end = ClusterPlan(Inputs()).Plan("middle", 1000, sim.Bind());
  ASSERT_TRUE(end.feasible);
  EXPECT_EQ(end.chosen.cluster.datanodes, 34);
  EXPECT_EQ(end.min_datanodes, 3);
  // Searched, not swept: far fewer than the 32 counts between 3 and 34.
  EXPECT_LE(sim.asked.size(), 14u);
  // Every count below the answer that was measured failed; the answer's cost is the least of
  // those that passed.
  for (const CandidateResult& candidate : end.candidates) {
    EXPECT_EQ(candidate.busy_enough, candidate.cluster.datanodes >= 34);
    if (candidate.busy_enough) {
      EXPECT_GE(candidate.monthly_cost, end.chosen.monthly_cost);
    }
  }
}

TEST(ClusterPlan, CapacityRaisesTheSmallestCandidate) {
  FakeSim sim(4);
  // 3 copies of 10^7 samples of 1 MB = 30 TB: 19 datanodes of 1.6 TB usable.
  const PlanEnd end = ClusterPlan(Inputs()).Plan("high", 1e7, sim.Bind());
  EXPECT_EQ(end.min_datanodes, 19);
  ASSERT_TRUE(end.feasible);
  EXPECT_EQ(end.chosen.cluster.datanodes, 19);
  EXPECT_EQ(sim.asked.front(), 19);
}

TEST(ClusterPlan, NoClusterUpToTheLimitIsReportedInfeasible) {
  PlanInputs inputs = Inputs();
  inputs.max_datanodes = 20;
  FakeSim sim(100);
  const PlanEnd end = ClusterPlan(inputs).Plan("middle", 1000, sim.Bind());
  EXPECT_FALSE(end.feasible);
  EXPECT_EQ(end.candidates.back().cluster.datanodes, 20);  // the limit itself was tried
}

// On a tiny explicit grid every point is measured and the cheapest busy enough is chosen,
// even when busy is not monotone in datanodes (6 measures 0 here).
TEST(ClusterPlan, GridChoosesTheKnownCheapest) {
  PlanInputs inputs = Inputs();
  inputs.datanodes_grid = {2, 4, 6, 8, 12};
  FakeSim sim(5);
  sim.fail_anyway = {6};
  sim.max_batch = 5;  // a grid is measured at once (the runner limits how many run together)
  const PlanEnd end = ClusterPlan(inputs).Plan("middle", 1000, sim.Bind());
  ASSERT_TRUE(end.feasible);
  EXPECT_EQ(end.chosen.cluster.datanodes, 8);  // 4 gives 0.8, 6 fails, 8 gives 1
  EXPECT_EQ(std::set<int64_t>(sim.asked.begin(), sim.asked.end()),
            (std::set<int64_t>{4, 6, 8, 12}));  // 2 cannot hold 3 replicas
}

}  // namespace
}  // namespace granary::analytics
