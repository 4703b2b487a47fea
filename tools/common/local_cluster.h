// A Granary cluster on this machine under one directory: the commands of granary-cluster.
//
// DIR holds cluster.json (ports and flags), namenode/meta (or namenode-K/meta and journal-K/
// with several namenodes: cluster_dir.h), datanode-K/data, logs/<node>.log, run/<node>.pid
// and, with --curve, keys/. Every node listens on 127.0.0.1. Processes are
// signalled only through their PID files, and only while the PID still runs our binary on
// this DIR (process_control.h); never by name. Each command returns the exit code and prints
// failures as one line "granary-cluster: <reason>" on stderr.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace granary::tools {

struct ClusterStartFlags {
  // 1: one namenode, no journal. More: that many namenodes on a three-member etcd journal.
  uint32_t namenodes = 1;
  uint32_t datanodes = 3;
  uint32_t port_base = 0;  // 0: find free ports
  uint64_t inline_threshold = 64 * 1024;
  uint64_t block_bytes = 0;   // 0: the namenode's default
  uint32_t replication = 0;   // 0: min(3, datanodes)
  uint64_t heartbeat_ms = 0;  // 0: the binaries' defaults
  uint64_t dead_after_ms = 0;
  uint64_t scan_period_ms = 0;
  uint64_t scanner_bytes_per_second = 0;
  bool scanner_rate_set = false;
  std::string superuser;  // empty: the user running granary-cluster
  bool curve = false;
  // With curve: a key directory keys/users/NAME/ per user, admitted as that user.
  std::vector<std::string> users;
  std::vector<std::string> namenode_args;
  std::vector<std::string> datanode_args;
  std::string log_level = "info";
};

// Starts the journal members (with several namenodes; waits until they are healthy), the
// namenodes and the datanodes (or the recorded cluster of DIR again), waits until one
// namenode serves (role "active", or "single" without a journal) and every datanode is live
// at it, and prints the namenodes' addresses, comma-separated, on stdout.
int ClusterStart(const std::string& dir, const ClusterStartFlags& flags, uint32_t wait_seconds);
// SIGTERM to every node, SIGKILL to those still alive after wait_seconds.
int ClusterStop(const std::string& dir, uint32_t wait_seconds);
// SIGKILL to one node ("namenode", "namenode-K", "journal-K" or "datanode-K").
int ClusterKill(const std::string& dir, const std::string& node);
// Stops (if running) and starts one node, then waits until it is ready: a journal member
// healthy; a namenode answering while one namenode serves and every running datanode is live
// at that one; a datanode live there.
int ClusterRestart(const std::string& dir, const std::string& node, uint32_t wait_seconds);
// Which nodes run, each namenode's role, each journal member's health and what the serving
// namenode reports; 0 when every node runs.
int ClusterStatus(const std::string& dir, bool as_json);

}  // namespace granary::tools
