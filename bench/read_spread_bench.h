// granary-bench --spread-reads: reads of small inline files spread over three real namenodes
// against reads from the active only (issue 14), on one three-namenode cluster on etcd that
// this bench starts with granary-cluster under DIR (STYLE.md 12: a figure next to a baseline
// of the same run, never asserted).
//
// The bench writes `files` 4 KiB files through the active, waits until every namenode has
// applied them, then measures rounds; in each round both read policies read every file once
// (FileSystem::ReadFile by `clients` fibers of this process, each with its own FileSystem),
// in alternating order. On a machine with fewer cores than namenodes this shows what
// spreading costs (more processes sharing the cores), not scaling; the simulator's
// experiments (experiments/namenode_scaling) show scaling.
//
// Lines (JSON, one per line, "bench" names the kind):
//   cluster              the cluster started (namenode addresses)
//   spread_reads         one measurement: policy ("least-loaded" or "active"), clients, round,
//                        files_per_s, errors, and reads_by_namenode (reads each namenode of
//                        the list answered, summed over the clients)
//   spread_reads_summary the median files/s over rounds per policy
//   ratio                "spread_vs_active_reads": the median over rounds of the per-round
//                        ratio least-loaded / active
#pragma once

#include <cstdint>
#include <string>

namespace granary::bench {

struct SpreadReadsFlags {
  std::string dir;          // work directory (the cluster goes under it)
  std::string cluster_bin;  // granary-cluster
  std::string user;
  uint32_t datanodes = 3;
  uint32_t port_base = 0;  // 0: granary-cluster chooses
  uint32_t files = 2000;
  uint32_t clients = 32;
  uint32_t rounds = 5;
};

// Runs the group and prints its lines; 0 when everything ran, 1 otherwise (an error line says
// why).
int RunSpreadReadsBench(const SpreadReadsFlags& flags);

}  // namespace granary::bench
