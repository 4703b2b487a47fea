#include "analytics/cluster_plan.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <limits>

namespace granary::analytics {
namespace {

constexpr double kBytesPerGb = 1e9;
constexpr double kBytesPerTb = 1e12;
constexpr double kSecondsPerHour = 3600;
// Virtual seconds a plan scenario may run; it ends earlier, when every epoch is read.
constexpr double kSimSecondsMax = 3600;

std::string Number(double value) {
  char text[64];
  std::snprintf(text, sizeof(text), "%.17g", value);
  return text;
}

}  // namespace

double ClusterPlan::MonthlyCost(const Candidate& cluster, double stored_bytes) const {
  return static_cast<double>(cluster.namenodes + cluster.datanodes) *
             inputs_.server_cost_per_month +
         stored_bytes / kBytesPerGb * inputs_.cost_per_gb_month;
}

int64_t ClusterPlan::MinDatanodes(double stored_bytes) const {
  const double per_datanode = static_cast<double>(inputs_.disks_per_datanode) * inputs_.disk_tb *
                              kBytesPerTb * kDiskFillMax;
  const double needed = std::ceil(stored_bytes / per_datanode);
  if (!(needed < static_cast<double>(std::numeric_limits<int64_t>::max() / 2))) {
    return std::numeric_limits<int64_t>::max() / 2;
  }
  return std::max<int64_t>(inputs_.replication, static_cast<int64_t>(needed));
}

int64_t ClusterPlan::SimFiles(double samples) const {
  const double files =
      std::min(samples * inputs_.files_per_sample, static_cast<double>(inputs_.sim_files));
  return std::max<int64_t>(inputs_.accelerators, std::llround(std::ceil(files)));
}

std::string ClusterPlan::ScenarioText(const Candidate& cluster, int64_t files) const {
  const int64_t file_bytes =
      std::max<int64_t>(1, std::llround(inputs_.bytes_per_sample / inputs_.files_per_sample));
  const double compute_ms = inputs_.seconds_per_sample / inputs_.files_per_sample * 1000;
  const int64_t steps = kSimStepsPerAccelerator * inputs_.accelerators;
  const int64_t epochs = std::max<int64_t>(1, (steps + files - 1) / files);
  std::string text;
  text += "# roi-fit --plan: " + std::to_string(cluster.datanodes) + " datanodes feeding " +
          std::to_string(inputs_.accelerators) + " accelerators, a sample of " +
          std::to_string(files) + " files of " + std::to_string(file_bytes) + " bytes.\n";
  text += "name: \"roi_fit_plan_d" + std::to_string(cluster.datanodes) + "\"\n";
  text += "cluster {\n  namenodes: " + std::to_string(cluster.namenodes) +
          "\n  datanodes: " + std::to_string(cluster.datanodes) +
          "\n  clients: " + std::to_string(inputs_.accelerators) + "\n  datanode { disk: \"" +
          inputs_.disk + "\" nic_gbps: " + Number(inputs_.nic_gbps) +
          " cores: " + std::to_string(inputs_.datanode_cores) +
          " }\n  content_free_disks: true\n}\n";
  text += "system { kind: \"granary\" replication: " + std::to_string(inputs_.replication) + " }\n";
  text += "workload {\n  kind: \"epoch_read\"\n  epoch_read { files: " + std::to_string(files) +
          " file_bytes: " + std::to_string(file_bytes) + " epochs: " + std::to_string(epochs) +
          " compute_ms: " + Number(compute_ms) + " prefetch: " + std::to_string(inputs_.prefetch) +
          " }\n}\n";
  text +=
      "duration_s: " + Number(kSimSecondsMax) + "\nseed: " + std::to_string(inputs_.seed) + "\n";
  return text;
}

CandidateResult ClusterPlan::Result(const Candidate& cluster, const Measurement& measured,
                                    double stored_bytes) const {
  CandidateResult result;
  result.cluster = cluster;
  result.measured = measured;
  result.monthly_cost = MonthlyCost(cluster, stored_bytes);
  result.busy_enough = measured.busy_mean >= inputs_.busy;
  return result;
}

PlanEnd ClusterPlan::Plan(const std::string& name, double samples, const Evaluate& evaluate) const {
  assert(samples > 0 && std::isfinite(samples));
  PlanEnd end;
  end.name = name;
  end.samples = samples;
  end.stored_bytes = samples * inputs_.bytes_per_sample * static_cast<double>(inputs_.replication);
  end.min_datanodes = MinDatanodes(end.stored_bytes);
  const int64_t files = SimFiles(samples);
  std::map<int64_t, CandidateResult> measured;
  const auto measure = [&](std::vector<int64_t> counts) {
    std::erase_if(counts, [&](int64_t d) { return measured.contains(d); });
    std::sort(counts.begin(), counts.end());
    counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
    if (counts.empty()) return;
    std::vector<Candidate> batch;
    for (int64_t d : counts) batch.push_back(Candidate{1, d});
    const std::vector<Measurement> results = evaluate(batch, files);
    assert(results.size() == batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      measured[batch[i].datanodes] = Result(batch[i], results[i], end.stored_bytes);
    }
  };
  const auto busy = [&](int64_t d) { return measured.at(d).busy_enough; };

  if (!inputs_.datanodes_grid.empty()) {
    std::vector<int64_t> counts;
    for (int64_t d : inputs_.datanodes_grid) {
      if (d >= end.min_datanodes) counts.push_back(d);
    }
    measure(counts);
  } else if (end.min_datanodes <= inputs_.max_datanodes) {
    const int parallel = std::max(1, inputs_.parallel);
    int64_t fail = end.min_datanodes - 1, pass = -1, next = end.min_datanodes;
    while (pass < 0 && fail < inputs_.max_datanodes) {  // double until busy enough
      std::vector<int64_t> batch;
      for (int i = 0; i < parallel && next <= inputs_.max_datanodes; ++i) {
        batch.push_back(next);
        next = next >= inputs_.max_datanodes ? inputs_.max_datanodes + 1
                                             : std::min(next * 2, inputs_.max_datanodes);
      }
      measure(batch);
      for (int64_t d : batch) {
        if (busy(d)) {
          pass = d;
          break;
        }
        fail = d;
      }
    }
    while (pass > 0 && pass - fail > 1) {  // narrow the gap (fail, pass)
      const int64_t gap = pass - fail;
      const int64_t points = std::min<int64_t>(parallel, gap - 1);
      std::vector<int64_t> batch;
      for (int64_t j = 1; j <= points; ++j) batch.push_back(fail + j * gap / (points + 1));
      measure(batch);
      for (int64_t d : batch) {
        if (busy(d)) {
          pass = std::min(pass, d);
          break;
        }
        fail = std::max(fail, d);
      }
    }
  }

  for (const auto& [d, result] : measured) {
    end.candidates.push_back(result);
    if (result.busy_enough && (!end.feasible || result.monthly_cost < end.chosen.monthly_cost)) {
      end.feasible = true;
      end.chosen = result;
    }
  }
  if (end.feasible) {
    end.training_hours =
        static_cast<double>(inputs_.epochs) * samples * inputs_.seconds_per_sample /
        (static_cast<double>(inputs_.accelerators) * end.chosen.measured.busy_mean) /
        kSecondsPerHour;
  }
  return end;
}

}  // namespace granary::analytics
