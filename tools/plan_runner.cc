#include "tools/plan_runner.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace granary::tools {
namespace {

std::string Stem(const std::string& scenario) {
  return scenario.substr(0, scenario.size() - std::string(".textproto").size());
}

std::string LastLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace

bool PlanRunner::Launch(const std::string& scenario, int* pid) {
  const std::string stem = Stem(scenario);
  const pid_t child = fork();
  if (child == 0) {
    const int out = open((stem + ".json").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open((stem + ".log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (out < 0 || err < 0) _exit(126);
    dup2(out, STDOUT_FILENO);
    dup2(err, STDERR_FILENO);
    execl(sim_path_.c_str(), sim_path_.c_str(), "run", scenario.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  if (child < 0) {
    error_ = "cannot start " + sim_path_;
    return false;
  }
  *pid = child;
  ++runs_;
  return true;
}

bool PlanRunner::Collect(const std::string& scenario, analytics::Measurement* out) {
  const std::string stem = Stem(scenario);
  std::ifstream in(stem + ".json");
  std::string line;
  std::getline(in, line);
  const nlohmann::json summary = nlohmann::json::parse(line, nullptr, false);
  if (summary.is_discarded() || !summary.contains("results") ||
      !summary["results"].contains("accelerator_busy_mean")) {
    error_ = "granary-sim gave no result for " + scenario + ": " + LastLine(stem + ".log");
    return false;
  }
  out->busy_mean = summary["results"]["accelerator_busy_mean"].get<double>();
  out->busy_min = summary["results"]["accelerator_busy_min"].get<double>();
  out->scenario = scenario;
  return true;
}

std::vector<analytics::Measurement> PlanRunner::Run(const analytics::ClusterPlan& plan,
                                                    const std::vector<analytics::Candidate>& batch,
                                                    int64_t files) {
  std::vector<std::string> scenarios;
  for (const analytics::Candidate& candidate : batch) {
    const std::string path = dir_ + "/plan_f" + std::to_string(files) + "_d" +
                             std::to_string(candidate.datanodes) + ".textproto";
    scenarios.push_back(path);
    if (done_.contains(path)) continue;
    std::ofstream out(path);
    out << plan.ScenarioText(candidate, files);
    if (!out.good()) {
      error_ = "cannot write " + path;
      return {};
    }
  }
  // Run what is not measured yet, at most parallel_ at a time.
  std::map<int, std::string> running;  // pid -> scenario
  size_t next = 0;
  bool ok = true;
  while (next < scenarios.size() || !running.empty()) {
    while (ok && next < scenarios.size() && static_cast<int>(running.size()) < parallel_) {
      const std::string& scenario = scenarios[next++];
      if (done_.contains(scenario)) continue;
      bool queued = false;
      for (const auto& [pid, name] : running) queued = queued || name == scenario;
      if (queued) continue;
      int pid = 0;
      if (!Launch(scenario, &pid)) {
        ok = false;
        break;
      }
      running[pid] = scenario;
    }
    if (running.empty()) break;
    // Whichever simulation ends first frees its slot (roi-fit has no other children now).
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      error_ = "lost track of granary-sim runs";
      return {};
    }
    if (!running.contains(pid)) continue;
    const std::string scenario = running[pid];
    running.erase(pid);
    analytics::Measurement measured;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      error_ = "granary-sim failed on " + scenario + ": " + LastLine(Stem(scenario) + ".log");
      ok = false;
    } else if (Collect(scenario, &measured)) {
      done_[scenario] = measured;
    } else {
      ok = false;
    }
  }
  if (!ok) return {};
  std::vector<analytics::Measurement> results;
  for (const std::string& scenario : scenarios) results.push_back(done_.at(scenario));
  return results;
}

}  // namespace granary::tools
