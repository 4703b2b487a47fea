// ClusterPlan: from a projected dataset to the cheapest storage cluster that keeps the
// accelerators busy (issue 18). Pure logic: the caller runs the simulator (tools/plan_runner).
//
// A candidate cluster is one namenode (the core has one active namenode) and `datanodes`
// datanodes of one hardware class (disk profile, disks, NIC, cores). Its monthly cost is
//   (namenodes + datanodes) * server_cost_per_month + stored GB * cost_per_gb_month,
// and it must hold the dataset: stored bytes (samples * bytes per sample * replication) at
// most kDiskFillMax of its raw capacity (datanodes * disks * disk_tb), and at least
// `replication` datanodes. Whether it keeps the accelerators busy is measured by the
// simulator's `epoch_read` workload on a sample of the dataset (ScenarioText): the busy
// fraction is a property of the read rate the accelerators ask for and the latency the cluster
// answers with, not of how many files exist, so the scenario reads at most sim_files files of
// the real size, enough epochs for every accelerator to take kSimStepsPerAccelerator steps.
//
// Search (Search): the cost grows with the datanode count, so the cheapest cluster is the
// smallest one busy enough. With an explicit grid every grid point (that can hold the data) is
// measured and the cheapest busy enough is chosen. Otherwise the busy fraction is taken as
// non-decreasing in datanodes: doubling from the smallest that holds the data until one is busy
// enough (or max_datanodes fails), then narrowing the gap between the largest failing and the
// smallest passing count; each round measures up to `parallel` counts at once.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace granary::analytics {

struct PlanInputs {
  // The projected dataset.
  double bytes_per_sample = 0;  // > 0
  double files_per_sample = 1;  // >= 1: a sample's bytes are split over this many files
  // Training.
  int64_t accelerators = 8;
  double seconds_per_sample = 0.001;  // one accelerator's compute per sample
  int64_t epochs = 1;                 // passes over the data (for the training time)
  int64_t prefetch = 8;               // samples each accelerator's loader keeps in flight
  // Hardware on offer.
  std::string disk = "ssd";  // the simulator's profile: hdd, ssd, nvme
  int64_t disks_per_datanode = 4;
  double disk_tb = 8;  // raw terabytes (1e12 bytes) per disk
  double nic_gbps = 10;
  int64_t datanode_cores = 16;
  int64_t replication = 3;
  // Prices.
  double server_cost_per_month = 500;
  double cost_per_gb_month = 0;  // on top of the servers, per stored GB (1e9 bytes)
  // What to reach and how to search.
  double busy = 0.9;  // in (0, 1]
  int64_t max_datanodes = 256;
  std::vector<int64_t> datanodes_grid;  // empty: search
  int64_t sim_files = 2000;
  uint64_t seed = 1;
  int parallel = 2;
};

struct Candidate {
  int64_t namenodes = 1;
  int64_t datanodes = 0;
  bool operator<(const Candidate& other) const { return datanodes < other.datanodes; }
};

// What the simulator measured for a candidate.
struct Measurement {
  double busy_mean = 0;
  double busy_min = 0;
  std::string scenario;  // the scenario file run
};

struct CandidateResult {
  Candidate cluster;
  Measurement measured;
  double monthly_cost = 0;
  bool busy_enough = false;
};

// One end (low, middle, high) of the projected dataset and its answer.
struct PlanEnd {
  std::string name;
  double samples = 0;  // +infinity: the end is unbounded and not planned
  double stored_bytes = 0;
  int64_t min_datanodes = 0;                // the fewest that hold the data
  bool feasible = false;                    // some candidate was busy enough
  CandidateResult chosen;                   // the cheapest busy enough (when feasible)
  std::vector<CandidateResult> candidates;  // every one measured, by datanodes
  double training_hours = 0;  // epochs over the dataset at the chosen cluster's busy fraction
};

class ClusterPlan {
 public:
  static constexpr double kDiskFillMax = 0.8;  // of raw capacity, for rebuilds and growth
  static constexpr int64_t kSimStepsPerAccelerator = 200;

  // Measures a batch of candidates for a dataset of `files` simulated files; returns one
  // Measurement per candidate, in order. Deterministic for given inputs.
  using Evaluate =
      std::function<std::vector<Measurement>(const std::vector<Candidate>&, int64_t files)>;

  explicit ClusterPlan(const PlanInputs& inputs) : inputs_(inputs) {}

  double MonthlyCost(const Candidate& cluster, double stored_bytes) const;
  int64_t MinDatanodes(double stored_bytes) const;
  // Files the scenario of a dataset of `samples` reads: min(samples * files_per_sample,
  // sim_files), at least one per accelerator.
  int64_t SimFiles(double samples) const;
  // The granary-sim scenario (proto/scenario.proto text format) of a candidate.
  std::string ScenarioText(const Candidate& cluster, int64_t files) const;

  // Plans one end: requires samples > 0 (finite; an infinite end is the caller's to report).
  PlanEnd Plan(const std::string& name, double samples, const Evaluate& evaluate) const;

 private:
  CandidateResult Result(const Candidate& cluster, const Measurement& measured,
                         double stored_bytes) const;

  PlanInputs inputs_;
};

}  // namespace granary::analytics
