#include "tools/roi_fit_plan.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>
#include <tuple>

#include "analytics/limits.h"
#include "tools/plan_runner.h"

namespace granary::tools {
namespace ga = granary::analytics;
namespace {

std::string Figure(double value) {
  if (std::isinf(value)) return "infinite";
  char text[64];
  std::snprintf(text, sizeof(text), std::abs(value) >= 1e6 ? "%.4g" : "%.6g", value);
  return text;
}

// granary-sim in the directory of this executable (build/bin, or an install's bin).
std::string SimBesideMe() {
  char self[PATH_MAX];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length <= 0) return "granary-sim";
  std::string path(self, static_cast<size_t>(length));
  return path.substr(0, path.rfind('/') + 1) + "granary-sim";
}

nlohmann::ordered_json CandidateJson(const ga::CandidateResult& result) {
  return {{"datanodes", result.cluster.datanodes},
          {"namenodes", result.cluster.namenodes},
          {"accelerator_busy", result.measured.busy_mean},
          {"accelerator_busy_min", result.measured.busy_min},
          {"monthly_cost", result.monthly_cost},
          {"busy_enough", result.busy_enough},
          {"scenario", result.measured.scenario}};
}

nlohmann::ordered_json EndJson(const ga::PlanEnd& end, const ga::PlanInputs& inputs) {
  nlohmann::ordered_json out;
  out["samples"] = std::isfinite(end.samples) ? nlohmann::ordered_json(end.samples) : nullptr;
  if (!std::isfinite(end.samples)) {
    out["feasible"] = false;
    out["reason"] = "the interval's pessimistic edge never reaches the target";
    return out;
  }
  out["stored_bytes"] = end.stored_bytes;
  out["min_datanodes"] = end.min_datanodes;
  out["feasible"] = end.feasible;
  if (end.feasible) {
    out["datanodes"] = end.chosen.cluster.datanodes;
    out["namenodes"] = end.chosen.cluster.namenodes;
    out["disks"] = end.chosen.cluster.datanodes * inputs.disks_per_datanode;
    out["accelerator_busy"] = end.chosen.measured.busy_mean;
    out["accelerator_busy_min"] = end.chosen.measured.busy_min;
    out["monthly_cost"] = end.chosen.monthly_cost;
    out["training_hours"] = end.training_hours;
  }
  nlohmann::ordered_json scenarios = nlohmann::ordered_json::array();
  nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
  for (const ga::CandidateResult& candidate : end.candidates) {
    scenarios.push_back(candidate.measured.scenario);
    candidates.push_back(CandidateJson(candidate));
  }
  out["scenarios"] = scenarios;
  out["candidates"] = candidates;
  return out;
}

std::string EndLine(const ga::PlanEnd& end, const ga::PlanInputs& inputs) {
  std::ostringstream line;
  char text[256];
  std::snprintf(text, sizeof(text), "  %-7s %-12s %-12s", end.name.c_str(),
                Figure(end.samples).c_str(),
                std::isfinite(end.samples) ? Figure(end.stored_bytes).c_str() : "-");
  line << text;
  if (!std::isfinite(end.samples)) {
    line << "not planned: the interval's pessimistic edge never reaches the target\n";
  } else if (!end.feasible) {
    line << "no cluster up to " << inputs.max_datanodes << " datanodes keeps them "
         << Figure(inputs.busy) << " busy (" << end.candidates.size() << " measured)\n";
  } else {
    std::snprintf(text, sizeof(text), "%-10lld %-10lld %-6lld %-7.3f %-13s %-11s %zu\n",
                  static_cast<long long>(end.chosen.cluster.datanodes),
                  static_cast<long long>(end.chosen.cluster.namenodes),
                  static_cast<long long>(end.chosen.cluster.datanodes * inputs.disks_per_datanode),
                  end.chosen.measured.busy_mean, Figure(end.chosen.monthly_cost).c_str(),
                  Figure(end.training_hours).c_str(), end.candidates.size());
    line << text;
  }
  return line.str();
}

bool ParseGrid(const std::string& text, std::vector<int64_t>* grid) {
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long value = std::strtoll(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || value < 1) return false;
    grid->push_back(value);
  }
  return !grid->empty();
}

}  // namespace

void DefinePlanFlags(CLI::App* app, PlanFlags* flags) {
  ga::PlanInputs& in = flags->inputs;
  app->add_flag("--plan", flags->plan,
                "plan the storage cluster for --target-error with granary-sim (needs "
                "--bytes-per-sample)");
  app->add_option("--files-per-sample", in.files_per_sample, "files one sample is stored in")
      ->capture_default_str();
  app->add_option("--accelerators", in.accelerators, "accelerators training (one reader each)")
      ->capture_default_str();
  app->add_option("--seconds-per-sample", in.seconds_per_sample,
                  "one accelerator's compute time per sample")
      ->capture_default_str();
  app->add_option("--epochs", in.epochs, "passes over the dataset (training time)")
      ->capture_default_str();
  app->add_option("--prefetch", in.prefetch, "samples each accelerator's loader keeps in flight")
      ->capture_default_str();
  app->add_option("--disk", in.disk, "datanode disk profile of the simulator")
      ->check(CLI::IsMember({"hdd", "ssd", "nvme"}))
      ->capture_default_str();
  app->add_option("--disks-per-datanode", in.disks_per_datanode, "disks in each datanode")
      ->capture_default_str();
  app->add_option("--disk-tb", in.disk_tb, "raw terabytes per disk")->capture_default_str();
  app->add_option("--nic-gbps", in.nic_gbps, "datanode NIC, Gbit/s each way")
      ->capture_default_str();
  app->add_option("--cores", in.datanode_cores, "datanode cores")->capture_default_str();
  app->add_option("--server-cost-per-month", in.server_cost_per_month,
                  "price of one server (namenode or datanode, disks included) per month")
      ->capture_default_str();
  app->add_option("--busy", in.busy, "the accelerators' busy fraction to keep, in (0, 1]")
      ->capture_default_str();
  app->add_option("--max-datanodes", in.max_datanodes, "the largest cluster the search tries")
      ->capture_default_str();
  app->add_option("--datanodes-grid", flags->datanodes_grid,
                  "measure these datanode counts (e.g. 3,4,6) instead of searching");
  app->add_option("--sim-files", in.sim_files, "files the simulated dataset holds at most")
      ->capture_default_str();
  app->add_option("--jobs", flags->jobs, "simulations at once (default: the machine's cores)");
  app->add_option("--plan-dir", flags->dir, "where the scenarios and their results go")
      ->capture_default_str();
  app->add_option("--granary-sim", flags->sim_path, "the simulator (default: beside roi-fit)");
}

std::string CheckPlanFlags(PlanFlags* flags, const ga::RoiInputs& roi) {
  ga::PlanInputs& in = flags->inputs;
  if (!flags->plan) return "";
  if (std::isnan(roi.target_error) || std::isnan(roi.bytes_per_sample)) {
    return "--plan needs --target-error and --bytes-per-sample";
  }
  if (!(in.busy > 0 && in.busy <= 1)) {
    return "--busy " + Figure(in.busy) + " is not a busy fraction: it must be in (0, 1]";
  }
  const std::pair<const char*, double> prices[] = {
      {"--server-cost-per-month", in.server_cost_per_month},
      {"--cost-per-gb-month", std::isnan(roi.cost_per_gb_month) ? 0.0 : roi.cost_per_gb_month}};
  for (const auto& [name, value] : prices) {
    if (!(value >= 0)) return std::string(name) + " " + Figure(value) + ": a price is >= 0";
  }
  const std::pair<const char*, double> positive[] = {
      {"--files-per-sample", in.files_per_sample},
      {"--accelerators", double(in.accelerators)},
      {"--seconds-per-sample", in.seconds_per_sample},
      {"--epochs", double(in.epochs)},
      {"--prefetch", double(in.prefetch)},
      {"--disks-per-datanode", double(in.disks_per_datanode)},
      {"--disk-tb", in.disk_tb},
      {"--nic-gbps", in.nic_gbps},
      {"--cores", double(in.datanode_cores)},
      {"--max-datanodes", double(in.max_datanodes)},
      {"--sim-files", double(in.sim_files)}};
  for (const auto& [name, value] : positive) {
    if (!(value > 0)) return std::string(name) + " " + Figure(value) + " must be positive";
  }
  if (in.files_per_sample < 1) return "--files-per-sample must be at least 1";
  const std::tuple<const char*, int64_t, int64_t> limited[] = {
      {"--max-datanodes", in.max_datanodes, ga::kPlanDatanodesMax},
      {"--accelerators", in.accelerators, ga::kPlanAcceleratorsMax},
      {"--sim-files", in.sim_files, ga::kPlanSimFilesMax}};
  for (const auto& [name, value, limit] : limited) {
    if (value > limit) {
      return std::string(name) + " " + std::to_string(value) + " is above the limit " +
             std::to_string(limit);
    }
  }
  if (roi.replication != std::floor(roi.replication)) {
    return "--replication " + Figure(roi.replication) + " must be a whole number for --plan";
  }
  in.replication = static_cast<int64_t>(roi.replication);
  in.cost_per_gb_month = std::isnan(roi.cost_per_gb_month) ? 0.0 : roi.cost_per_gb_month;
  in.bytes_per_sample = roi.bytes_per_sample;
  if (!flags->datanodes_grid.empty() && !ParseGrid(flags->datanodes_grid, &in.datanodes_grid)) {
    return "--datanodes-grid " + flags->datanodes_grid + ": a list of positive counts, e.g. 3,4,6";
  }
  if (static_cast<int64_t>(in.datanodes_grid.size()) > ga::kPlanGridPointsMax) {
    return "--datanodes-grid has more than " + std::to_string(ga::kPlanGridPointsMax) + " counts";
  }
  for (int64_t d : in.datanodes_grid) {
    if (d > ga::kPlanDatanodesMax) {
      return "--datanodes-grid " + std::to_string(d) + " is above the limit " +
             std::to_string(ga::kPlanDatanodesMax);
    }
  }
  if (flags->jobs < 0) return "--jobs must be positive";
  if (flags->jobs == 0)
    flags->jobs = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  in.parallel = flags->jobs;
  if (flags->sim_path.empty()) flags->sim_path = SimBesideMe();
  return "";
}

int RunPlan(const PlanFlags& flags, const ga::CurveReport& report,
            const ga::AnalysisOptions& options, nlohmann::ordered_json* plan, std::string* table,
            std::string* error) {
  const ga::PlanInputs& in = flags.inputs;
  if (!std::isfinite(report.roi.samples_for_target)) {
    *error = "--target-error " + Figure(options.roi.target_error) +
             " is at or below the fitted floor c = " + Figure(report.fit.params.c) + " of " +
             report.name + ": more data alone never reaches it";
    return 2;
  }
  mkdir(flags.dir.c_str(), 0755);
  PlanRunner runner(flags.sim_path, flags.dir, flags.jobs);
  const ga::ClusterPlan planner(in);
  bool failed = false;
  const ga::ClusterPlan::Evaluate evaluate = [&](const std::vector<ga::Candidate>& batch,
                                                 int64_t files) {
    std::vector<ga::Measurement> results;
    if (!failed) results = runner.Run(planner, batch, files);
    failed = failed || results.size() != batch.size();
    if (failed) results.assign(batch.size(), ga::Measurement{});
    return results;
  };
  // The ends: the optimistic and pessimistic edges of the samples' interval, and the fit.
  ga::Interval samples_ci;
  for (int f = 0; f < ga::RoiFigures::kFieldCount; ++f) {
    if (ga::RoiFigures::kFields[f].member == &ga::RoiFigures::samples_for_target) {
      samples_ci = report.roi_ci[f];
    }
  }
  const std::pair<const char*, double> ends[] = {{"low", samples_ci.low},
                                                 {"middle", report.roi.samples_for_target},
                                                 {"high", samples_ci.high}};
  std::vector<ga::PlanEnd> planned;
  for (const auto& [name, samples] : ends) {
    ga::PlanEnd end;
    end.name = name;
    end.samples = samples;
    if (std::isfinite(samples)) end = planner.Plan(name, std::max(samples, 1.0), evaluate);
    if (failed) {
      *error = runner.error();
      return 1;
    }
    planned.push_back(end);
  }
  const ga::PlanEnd& middle = planned[1];
  nlohmann::ordered_json& out = *plan;
  out["busy_target"] = in.busy;
  out["feasible"] = middle.feasible;
  if (middle.feasible) {
    out["datanodes"] = middle.chosen.cluster.datanodes;
    out["namenodes"] = middle.chosen.cluster.namenodes;
    out["disks"] = middle.chosen.cluster.datanodes * in.disks_per_datanode;
    out["accelerator_busy"] = middle.chosen.measured.busy_mean;
    out["monthly_cost"] = middle.chosen.monthly_cost;
  }
  out["scenarios"] = EndJson(middle, in)["scenarios"];
  out["simulations_run"] = runner.runs();
  for (const ga::PlanEnd& end : planned) out["ends"][end.name] = EndJson(end, in);

  std::ostringstream text;
  text << "  plan: the cheapest cluster keeping " << in.accelerators << " accelerators ("
       << Figure(in.seconds_per_sample) << " s/sample) >= " << Figure(in.busy) << " busy; "
       << in.disk << " x" << in.disks_per_datanode << " of " << Figure(in.disk_tb) << " TB, "
       << Figure(in.nic_gbps) << " Gbit/s, " << Figure(in.server_cost_per_month)
       << "/server-month; " << runner.runs() << " simulations in " << flags.dir << "\n";
  text << "  end     samples      stored B     datanodes  namenodes  disks  busy    "
          "monthly cost  training h  measured\n";
  for (const ga::PlanEnd& end : planned) text << EndLine(end, in);
  *table = text.str();
  return 0;
}

}  // namespace granary::tools
