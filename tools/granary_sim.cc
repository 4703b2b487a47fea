// granary-sim: the simulator's command line. Flags and wiring only.
//
//   granary-sim selftest [--seed N] [--nodes K] [--seconds S] [--no-faults]
//   granary-sim swarm [--seed N | --seeds A-B] [--datanodes D] [--clients C] [--seconds S]
//                     [--namenodes N] [--no-appenders]
//                     [--no-faults] [--no-quotas] [--inline-threshold BYTES]
//   granary-sim run SCENARIO [--seed N] [--set FIELD=VALUE ...] [--out DIR]
//                   [--record-trace FILE]
//
// `run` prints one JSON summary line (sim/runs/scenario_runner.h) with the wall time, the peak
// resident memory and the simulated operations per wall-clock second added; a scenario
// that does not parse or validate is a usage error naming the field (exit 2).
//
// Output for programs: one JSON object per line on stdout. Usage errors: one line on
// stderr naming the flag, exit 2. A run whose checks fail: exit 1, its seed in the JSON.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sim/runs/scenario_runner.h"
#include "sim/runs/selftest.h"
#include "sim/runs/swarm.h"

namespace {

std::string Hex(uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

int RunSelftestCommand(const granary::sim::SelftestOptions& options) {
  // The wall clock is read here, in tools/, never inside the simulation.
  const auto started = std::chrono::steady_clock::now();
  const granary::sim::SelftestResult r = granary::sim::RunSelftest(options);
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  nlohmann::json line = {
      {"seed", r.seed},
      {"trace_hash", Hex(r.trace_hash)},
      {"events", r.events},
      {"virtual_seconds", r.virtual_seconds},
      {"wall_seconds", wall_seconds},
      {"events_per_second", wall_seconds > 0 ? r.events / wall_seconds : 0.0},
      {"rpcs_ok", r.rpcs_ok},
      {"rpcs_failed", r.rpcs_failed},
      {"reply_mismatches", r.reply_mismatches},
      {"disk_bytes_synced", r.disk_bytes_synced},
      {"durability_violations", r.durability_violations},
      {"crashes", r.crashes},
      {"partitions", r.partitions},
      {"messages_dropped", r.messages_dropped},
      {"fibers_started", r.fibers_started},
      {"leaked_fibers", r.leaked_fibers},
      {"passed", r.passed()},
  };
  std::cout << line.dump() << std::endl;
  if (!r.passed()) {
    std::cerr << "granary-sim: selftest failed, seed " << r.seed << std::endl;
    return 1;
  }
  return 0;
}

nlohmann::json SwarmJson(const granary::sim::SwarmResult& r, double wall_seconds) {
  return {
      {"seed", r.seed},
      {"trace_hash", Hex(r.trace_hash)},
      {"ops_ok", r.ops_ok},
      {"ops_failed", r.ops_failed},
      {"acked_lost", r.acked_lost},
      {"corrupt_reads", r.corrupt_reads},
      {"under_replicated", r.under_replicated},
      {"namespace_errors", r.namespace_errors},
      {"files_checked", r.files_checked},
      {"bytes_acked", r.bytes_acked},
      {"datanode_crashes", r.datanode_crashes},
      {"namenode_crashes", r.namenode_crashes},
      {"client_crashes", r.client_crashes},
      {"corruptions", r.corruptions},
      {"partitions", r.partitions},
      {"bytes_flushed", r.bytes_flushed},
      {"tail_reads", r.tail_reads},
      {"conversion_gaps", r.conversion_gaps},
      {"quota_refusals", r.quota_refusals},
      {"quota_violations", r.quota_violations},
      {"failovers", r.failovers},
      {"namenode_pauses", r.namenode_pauses},
      {"store_wipes", r.store_wipes},
      {"bootstraps", r.bootstraps},
      {"journal_faults", r.journal_faults},
      {"stores_diverged", r.stores_diverged},
      {"split_brain", r.split_brain},
      {"reads_checked", r.reads_checked},
      {"reads_unmatched", r.reads_unmatched},
      {"standby_reads", r.standby_reads},
      {"reads_by_namenode", r.reads_by_namenode},
      {"ryw_violations", r.ryw_violations},
      {"backwards_reads", r.backwards_reads},
      {"replication_restore_seconds", r.replication_restore_seconds},
      {"replication_restore_bound_seconds", r.replication_restore_bound_seconds},
      {"events", r.events},
      {"virtual_seconds", r.virtual_seconds},
      {"wall_seconds", wall_seconds},
      {"passed", r.passed()},
      {"problems", r.problems},
  };
}

// Runs seeds first..last; one JSON line each, then a summary line when there are several.
int RunSwarmCommand(granary::sim::SwarmOptions options, uint64_t first, uint64_t last) {
  std::vector<uint64_t> failed;
  for (uint64_t seed = first; seed <= last; ++seed) {
    options.seed = seed;
    const auto started = std::chrono::steady_clock::now();
    const granary::sim::SwarmResult r = granary::sim::RunSwarm(options);
    const double wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::cout << SwarmJson(r, wall_seconds).dump() << std::endl;
    if (!r.passed()) failed.push_back(seed);
    if (seed == last) break;
  }
  if (first != last) {
    std::cout << nlohmann::json{{"seeds", last - first + 1}, {"failed_seeds", failed}}.dump()
              << std::endl;
  }
  for (uint64_t seed : failed) std::cerr << "granary-sim: swarm failed, seed " << seed << std::endl;
  return failed.empty() ? 0 : 1;
}

struct RunCommand {
  std::string scenario;
  uint64_t seed = 0;
  std::vector<std::string> overrides;
  std::string out_dir;
  std::string record_trace;
};

int RunScenarioCommand(const RunCommand& command) {
  granary::Result<granary::proto::Scenario> scenario =
      granary::sim::PrepareScenario(command.scenario, command.overrides, command.seed);
  if (!scenario.ok()) {
    std::cerr << "granary-sim: " << scenario.status().message() << std::endl;
    return 2;
  }
  granary::sim::RunOptions options;
  const std::filesystem::path path(command.scenario);
  options.scenario_dir = path.has_parent_path() ? path.parent_path().string() : ".";
  options.out_dir = command.out_dir;
  options.record_trace_path = command.record_trace;
  if (!options.out_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.out_dir, error);
    if (error) {
      std::cerr << "granary-sim: --out: cannot create " << options.out_dir << std::endl;
      return 2;
    }
  }
  // The wall clock and the process's memory are read here, in tools/, never in the simulation.
  const auto started = std::chrono::steady_clock::now();
  granary::Result<nlohmann::json> summary = granary::sim::RunScenario(*scenario, options);
  const double wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!summary.ok()) {
    const bool usage = summary.code() == granary::StatusCode::kInvalidArgument;
    std::cerr << "granary-sim: " << summary.status().message() << std::endl;
    return usage ? 2 : 1;
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  nlohmann::json& line = *summary;
  line["wall_seconds"] = wall_seconds;
  line["peak_rss_mib"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
  const double ops = line["ops_ok"].get<double>() + line["ops_failed"].get<double>();
  line["sim_ops_per_wall_s"] = wall_seconds > 0 ? ops / wall_seconds : 0.0;
  line["events_per_wall_s"] = wall_seconds > 0 ? line["events"].get<double>() / wall_seconds : 0.0;
  if (!options.out_dir.empty()) {
    std::ofstream out(options.out_dir + "/summary.json");
    out << line.dump(2) << std::endl;
  }
  std::cout << line.dump() << std::endl;
  return 0;
}

// "A-B" or "A" into a range; false when malformed or reversed.
bool ParseSeedRange(const std::string& text, uint64_t* first, uint64_t* last) {
  const size_t dash = text.find('-');
  try {
    size_t used = 0;
    *first = std::stoull(text.substr(0, dash), &used);
    if (used != (dash == std::string::npos ? text.size() : dash)) return false;
    if (dash == std::string::npos) {
      *last = *first;
      return true;
    }
    const std::string rest = text.substr(dash + 1);
    *last = std::stoull(rest, &used);
    return used == rest.size() && *first <= *last;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-sim: Granary's deterministic cluster simulator"};
  app.require_subcommand(1);

  granary::sim::SelftestOptions selftest;
  CLI::App* selftest_cmd =
      app.add_subcommand("selftest", "exercise the simulation kernel under random faults");
  selftest_cmd->add_option("--seed", selftest.seed, "root seed");
  selftest_cmd->add_option("--nodes", selftest.nodes, "nodes (2..1000)")
      ->check(CLI::Range(2u, 1000u));
  selftest_cmd->add_option("--seconds", selftest.virtual_seconds, "virtual seconds (0..100000]")
      ->check(CLI::Range(1e-3, 1e5));
  bool no_faults = false;
  selftest_cmd->add_flag("--no-faults", no_faults, "no crashes, partitions or loss");

  granary::sim::SwarmOptions swarm;
  std::string seeds;
  bool swarm_no_faults = false;
  CLI::App* swarm_cmd =
      app.add_subcommand("swarm", "run the file system under a fault swarm and check it");
  auto* seed_option = swarm_cmd->add_option("--seed", swarm.seed, "root seed");
  swarm_cmd->add_option("--seeds", seeds, "a range of seeds A-B")->excludes(seed_option);
  swarm_cmd->add_option("--datanodes", swarm.datanodes, "datanodes (5..200)")
      ->check(CLI::Range(5u, 200u));
  swarm_cmd->add_option("--clients", swarm.clients, "clients (1..200)")
      ->check(CLI::Range(1u, 200u));
  swarm_cmd->add_flag("--appenders,!--no-appenders", swarm.appenders,
                      "clients also append to logs and read them as they grow (the default)");
  swarm_cmd
      ->add_option("--namenodes", swarm.namenodes,
                   "namenodes (1, or 2..5 over a simulated journal: high availability)")
      ->check(CLI::Range(1u, 5u));
  swarm_cmd->add_option("--seconds", swarm.fault_seconds, "virtual seconds of workload and faults")
      ->check(CLI::Range(1.0, 3600.0));
  swarm_cmd
      ->add_option("--inline-threshold", swarm.inline_threshold_bytes,
                   "inline threshold in bytes (0: every file in blocks)")
      ->check(CLI::Range(uint64_t{0}, uint64_t{1} << 20));
  swarm_cmd->add_flag("--no-faults", swarm_no_faults, "no crashes, partitions, loss or rot");
  bool swarm_no_quotas = false;
  swarm_cmd->add_flag("--no-quotas", swarm_no_quotas, "no quotas on the clients' directories");

  RunCommand run;
  CLI::App* run_cmd = app.add_subcommand("run", "run a scenario file (proto/scenario.proto)");
  run_cmd->add_option("scenario", run.scenario, "scenario in protobuf text format")->required();
  run_cmd->add_option("--seed", run.seed, "root seed (overrides the scenario's)");
  run_cmd->add_option("--set", run.overrides, "FIELD=VALUE, a field by its text-format path")
      ->expected(1)
      ->take_all();
  run_cmd->add_option("--out", run.out_dir, "directory for summary.json and the CSV files");
  run_cmd->add_option("--record-trace", run.record_trace,
                      "write every operation issued as a trace CSV (the trace workload's format)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "granary-sim: " << e.what() << std::endl;
    return 2;
  }
  if (*selftest_cmd) {
    selftest.faults = !no_faults;
    return RunSelftestCommand(selftest);
  }
  if (*swarm_cmd) {
    swarm.faults = !swarm_no_faults;
    swarm.quotas = !swarm_no_quotas;
    uint64_t first = swarm.seed, last = swarm.seed;
    if (!seeds.empty() && !ParseSeedRange(seeds, &first, &last)) {
      std::cerr << "granary-sim: --seeds: expected A-B with A <= B, got '" << seeds << "'"
                << std::endl;
      return 2;
    }
    return RunSwarmCommand(swarm, first, last);
  }
  if (*run_cmd) return RunScenarioCommand(run);
  return 2;
}
