// granary-sim: the simulator's command line. Flags and wiring only.
//
//   granary-sim selftest [--seed N] [--nodes K] [--seconds S] [--no-faults]
//
// Output for programs: one JSON object per line on stdout. Usage errors: one line on
// stderr naming the flag, exit 2. A run whose checks fail: exit 1, its seed in the JSON.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "sim/selftest.h"

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
  return 2;
}
