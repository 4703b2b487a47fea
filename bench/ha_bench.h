// granary-bench --ha: what high availability costs and how fast it recovers, on real
// processes of this machine (STYLE.md 12: figures next to a baseline of the same run, never
// asserted). Two clusters started with granary-cluster under DIR: "single" (one namenode, no
// journal) and "ha" (--namenodes 3 on a three-member etcd journal), same datanodes and flags.
//
// Lines (JSON, one per line, "bench" names the kind):
//   cluster      a cluster started (kind, namenode addresses)
//   ha_creates   4 KiB inline creates (FileSystem::WriteFile) per second, one measurement:
//                cluster, clients (fibers of this process), round; the two clusters are
//                measured one after the other within a round, in alternating order;
//                for "ha" also journal_entries (entries the active applied meanwhile: its
//                applied_seq after minus before) and creates_per_entry (files / entries:
//                how many creates one group commit carried; the mkdir adds one entry)
//   ha_creates_summary  the medians over rounds per (cluster, clients)
//   ratio        "ha_vs_single_creates": per clients, the median over rounds of the per-round
//                ratio ha/single (the target: >= 0.5 at 32 clients)
//   ha_failover  one trial: milliseconds from the SIGKILL of the active namenode (granary-
//                cluster kill, timed from just before it runs) to the first create a
//                namenode acknowledges after it; then "ha_failover_summary": the median
// With --ha-in-flight K,L,... there is one HA cluster per value (kind "ha-in-flight-K", its
// namenodes run with --journal-appends-in-flight K), each with its ratio line; the failover
// trials run on the first (none with --ha-failovers 0).
// The HA cluster's creates go to its active namenode directly (found through nn.HaStatus);
// after a SIGKILL the bench polls every namenode for the new active and creates through it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace granary::bench {

struct HaBenchFlags {
  std::string dir;          // work directory (the clusters go under it)
  std::string cluster_bin;  // granary-cluster
  std::string user;
  uint32_t datanodes = 3;
  uint32_t port_base = 0;  // 0: granary-cluster chooses
  uint32_t files = 1000;   // creates per measurement
  std::vector<uint32_t> clients = {1, 32};
  uint32_t rounds = 3;
  uint32_t failovers = 5;
  // The HA cluster's --journal-appends-in-flight; several values start one HA cluster each
  // ("ha-in-flight-K"), measured interleaved with the others. Empty: one "ha" cluster with
  // the namenodes' default.
  std::vector<uint32_t> in_flight;
};

// Runs the HA group and prints its lines; 0 when everything ran, 1 otherwise (an error line
// says why).
int RunHaBench(const HaBenchFlags& flags);

}  // namespace granary::bench
