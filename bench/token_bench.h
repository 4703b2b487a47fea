// granary-bench --tokens: what block access tokens cost readers (issue 17), on real processes
// of this machine (STYLE.md 12: figures next to a baseline of the same run, never asserted).
// Two clusters started with granary-cluster under DIR, every file in blocks (inline threshold
// 0, so every read goes to a datanode): "tokens_on" (--block-tokens on, namenode and
// datanodes) and "tokens_off" (--block-tokens off), same datanodes and flags otherwise.
//
// Lines (JSON, one per line, "bench" names the kind):
//   cluster         a cluster started (kind, address)
//   tokens_read     one round on one cluster: small-file reads per second (FileSystem::
//                   ReadFile of `files` files of `file_bytes`, `clients` fibers of this
//                   process; with a window, the reads completed in `window_seconds`) and large-file read MB/s (one reader, `large_bytes`, 10^6 B/MB);
//                   the two clusters are measured one after the other within a round, in
//                   alternating order
//   tokens_summary  per cluster, the medians over rounds
//   ratio           "tokens_on_vs_off_small_reads" and "tokens_on_vs_off_large_read": the
//                   median over rounds of the per-round ratio on/off (the target:
//                   >= 0.95, i.e. tokens cost at most 5 %)
#pragma once

#include <cstdint>
#include <string>

namespace granary::bench {

struct TokenBenchFlags {
  std::string dir;          // work directory (the clusters go under it)
  std::string cluster_bin;  // granary-cluster
  std::string user;
  uint32_t datanodes = 3;
  uint32_t port_base = 0;  // 0: granary-cluster chooses
  uint32_t files = 1000;   // small files read per measurement
  uint64_t file_bytes = 4096;
  uint32_t clients = 32;
  uint64_t large_bytes = 256ull << 20;
  uint32_t rounds = 5;
  // > 0: small reads are measured by time, not count: each client reads its share of the
  // `files` files over and over, a `warmup_seconds` warm-up and then a window of this many
  // seconds, and the figure is the reads completed in the window (granary-bench
  // --window-seconds). A round of 1,000 files lasted ~70 ms, so one scheduling hiccup moved
  // the ratio by a third; a window of seconds does not.
  double window_seconds = 0;
  double warmup_seconds = 0;
};

// Runs the token group and prints its lines; 0 when everything ran, 1 otherwise (an error
// line says why).
int RunTokenBench(const TokenBenchFlags& flags);

}  // namespace granary::bench
