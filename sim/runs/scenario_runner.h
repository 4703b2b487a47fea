// `granary-sim run`: one scenario (proto/scenario.proto, sim/runs/scenario.h) on a simulated
// Granary cluster running the real core code.
//
// The run: build the cluster of the scenario's system kind; pre-populate the namenode's
// store; start it and wait until every datanode has registered (time 0 of the workload);
// start the clients; inject the faults at their times; sample the cluster every
// sample_interval_s; end at duration_s, or earlier once every client has finished (unless
// faults were scheduled: then the run lasts duration_s, so that recovery is seen).
//
// Outputs: a summary (JSON: throughput and latency quantiles per operation in the measured
// window [warmup_s, end], bytes moved, utilisation of each node class's CPU, NIC and disk,
// the workload's own results, trace_hash), and under `out_dir` (when not empty):
// summary.json, timeseries.csv (one row per sample), latency.csv (one row per operation).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "core/common/status.h"
#include "proto/scenario.pb.h"

namespace granary::sim {

struct RunOptions {
  // Where relative paths of the scenario (calibration, trace) are resolved.
  std::string scenario_dir = ".";
  // Where the CSV files go; nothing is written when empty.
  std::string out_dir;
  // When not empty, every operation the workload issues is written here as a trace.
  std::string record_trace_path;
};

// Runs a scenario that ApplyDefaults and ValidateScenario have accepted. kInvalidArgument
// (naming the field) for what only the run can find wrong (an unreadable trace file);
// kInternal when the cluster never came up.
Result<nlohmann::json> RunScenario(const proto::Scenario& scenario, const RunOptions& options);

// Loads SCENARIO, applies the overrides, its calibration file, defaults and validation:
// what `granary-sim run` does before RunScenario.
Result<proto::Scenario> PrepareScenario(const std::string& path,
                                        const std::vector<std::string>& overrides,
                                        uint64_t seed_override);

}  // namespace granary::sim
