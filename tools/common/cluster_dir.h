// The layout of a granary-cluster directory: which nodes it has, their ports, paths, PID
// files and command lines, recorded in DIR/cluster.json.
//
// One namenode (the default): nodes "namenode" and "datanode-K"; the namenode on port P,
// datanode K on P+K.
// Several namenodes (--namenodes 3): "journal-1..3" (etcd members, etcd_member.h),
// "namenode-1..N" and "datanode-K". Ports from P: namenode K on P+K-1, datanode K on P+N+K-1,
// then for journal K its client port and its peer port. Every namenode runs with
// --journal etcd://<the journal's client endpoints>; every datanode with --namenode
// <every namenode, comma-separated>.
//
// Paths: DIR/namenode[-K]/meta, DIR/datanode-K/data, DIR/journal-K (etcd's data dir),
// DIR/logs/NODE.log, DIR/run/NODE.pid.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace granary::tools {

inline constexpr uint32_t kClusterJournalMembers = 3;

class ClusterDir {
 public:
  explicit ClusterDir(const std::string& dir);

  const std::string& dir() const { return dir_; }
  std::string ConfigPath() const { return dir_ + "/cluster.json"; }
  std::string KeysDir() const { return dir_ + "/keys"; }
  bool Exists() const;

  // Reads cluster.json; false when it is missing or not a cluster description.
  bool Load();
  bool Save() const;
  nlohmann::json& config() { return config_; }
  const nlohmann::json& config() const { return config_; }

  // Records the ports of a new cluster with `namenodes` namenodes from `base`; with more than
  // one, also the journal's ports and its cluster token.
  void Layout(uint32_t namenodes, uint32_t datanodes, uint32_t base);
  // How many ports Layout takes from the base.
  static uint32_t PortsNeeded(uint32_t namenodes, uint32_t datanodes);

  bool HighlyAvailable() const { return config_.contains("journal"); }
  uint32_t datanodes() const;
  // Every node in start order (journal members, namenodes, datanodes).
  std::vector<std::string> Nodes() const;
  std::vector<std::string> Namenodes() const;
  std::vector<std::string> Journals() const;
  bool IsNode(const std::string& node) const;
  static bool IsNamenode(const std::string& node);
  static bool IsJournal(const std::string& node);
  static bool IsDatanode(const std::string& node);

  // "127.0.0.1:port": a namenode's or datanode's RPC address, a journal member's client URL.
  std::string Address(const std::string& node) const;
  // Every namenode's address, comma-separated: what clients and datanodes take.
  std::string NamenodeList() const;
  // "etcd://127.0.0.1:p1,127.0.0.1:p2,..." (HA only).
  std::string JournalUrl() const;
  uint32_t JournalClientPort(const std::string& journal) const;

  std::string DataPath(const std::string& node) const;
  std::string PidFile(const std::string& node) const { return dir_ + "/run/" + node + ".pid"; }
  std::string LogFile(const std::string& node) const { return dir_ + "/logs/" + node + ".log"; }
  // What /proc/<pid>/cmdline of this node's process contains.
  std::string Marker(const std::string& node) const;
  std::vector<std::string> Argv(const std::string& node, const std::string& bin_dir) const;

  std::optional<pid_t> RunningPid(const std::string& node) const;

 private:
  uint32_t IndexOf(const std::string& node) const;  // K of "xxx-K"

  std::string dir_;
  nlohmann::json config_;
};

}  // namespace granary::tools
