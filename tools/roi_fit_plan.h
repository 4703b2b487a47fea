// roi-fit --plan: the flags of a storage plan and the plan itself, from one analysed curve to
// the cheapest cluster for the low, middle and high end of its projected dataset
// (analytics/cluster_plan.h, tools/plan_runner.h; docs/roi-fit.md, "From a curve to a
// cluster").
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "analytics/cluster_plan.h"
#include "analytics/curve_analysis.h"

namespace granary::tools {

struct PlanFlags {
  bool plan = false;
  analytics::PlanInputs inputs;
  std::string datanodes_grid;  // "1,2,4": measure these counts instead of searching
  int jobs = 0;                // 0: the machine's cores
  std::string dir = "roi-fit-plan";
  std::string sim_path;  // empty: granary-sim beside roi-fit
};

void DefinePlanFlags(CLI::App* app, PlanFlags* flags);

// Checks the plan's flags against each other and the ROI inputs; "" when fine, else the one
// line to print (exit 2).
std::string CheckPlanFlags(PlanFlags* flags, const analytics::RoiInputs& roi);

// Plans storage for `report` (analysed with flags' target and bytes per sample). Returns 0 and
// fills `plan` (the JSON object) and `table` (lines for people); 2 with `error` set when the
// target cannot be planned (at or below the fitted floor); 1 when a simulation fails.
int RunPlan(const PlanFlags& flags, const analytics::CurveReport& report,
            const analytics::AnalysisOptions& options, nlohmann::ordered_json* plan,
            std::string* table, std::string* error);

}  // namespace granary::tools
