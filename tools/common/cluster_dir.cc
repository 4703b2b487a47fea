#include "tools/common/cluster_dir.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>

#include "tools/common/etcd_member.h"
#include "tools/common/process_control.h"

namespace granary::tools {

namespace stdfs = std::filesystem;
using nlohmann::json;

ClusterDir::ClusterDir(const std::string& dir)
    : dir_(stdfs::absolute(dir).lexically_normal().string()) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

bool ClusterDir::Exists() const { return stdfs::exists(ConfigPath()); }

bool ClusterDir::Load() {
  std::ifstream in(ConfigPath());
  if (!in) return false;
  try {
    config_ = json::parse(in);
  } catch (const std::exception&) {
    return false;
  }
  if (!config_.contains("namenode_port") || !config_.contains("datanode_ports")) return false;
  if (!HighlyAvailable()) return true;
  const json& j = config_["journal"];
  return config_.contains("namenode_ports") && j.contains("client_ports") &&
         j.contains("peer_ports") && j.contains("token") &&
         j["client_ports"].size() == kClusterJournalMembers &&
         j["peer_ports"].size() == kClusterJournalMembers;
}

bool ClusterDir::Save() const {
  std::ofstream out(ConfigPath(), std::ios::trunc);
  out << config_.dump(2) << "\n";
  return static_cast<bool>(out);
}

uint32_t ClusterDir::PortsNeeded(uint32_t namenodes, uint32_t datanodes) {
  return namenodes + datanodes + (namenodes > 1 ? 2 * kClusterJournalMembers : 0);
}

void ClusterDir::Layout(uint32_t namenodes, uint32_t datanodes, uint32_t base) {
  config_["namenode_port"] = base;
  config_["datanode_ports"] = json::array();
  for (uint32_t k = 0; k < datanodes; ++k)
    config_["datanode_ports"].push_back(base + namenodes + k);
  if (namenodes <= 1) return;
  config_["namenode_ports"] = json::array();
  for (uint32_t k = 0; k < namenodes; ++k) config_["namenode_ports"].push_back(base + k);
  json client = json::array(), peer = json::array();
  for (uint32_t k = 0; k < kClusterJournalMembers; ++k) {
    client.push_back(base + namenodes + datanodes + 2 * k);
    peer.push_back(base + namenodes + datanodes + 2 * k + 1);
  }
  // The token keeps members of different local clusters apart: the directory and a random
  // part (two clusters made one after the other in the same directory differ too).
  std::random_device device;
  std::ostringstream token;
  token << "granary-" << std::hex << (std::hash<std::string>()(dir_) & 0xffffffffu) << "-"
        << device();
  config_["journal"] = {{"client_ports", client}, {"peer_ports", peer}, {"token", token.str()}};
}

uint32_t ClusterDir::datanodes() const {
  return static_cast<uint32_t>(config_["datanode_ports"].size());
}

std::vector<std::string> ClusterDir::Namenodes() const {
  if (!HighlyAvailable()) return {"namenode"};
  std::vector<std::string> out;
  for (size_t k = 1; k <= config_["namenode_ports"].size(); ++k) {
    out.push_back("namenode-" + std::to_string(k));
  }
  return out;
}

std::vector<std::string> ClusterDir::Journals() const {
  std::vector<std::string> out;
  if (!HighlyAvailable()) return out;
  for (uint32_t k = 1; k <= kClusterJournalMembers; ++k) {
    out.push_back("journal-" + std::to_string(k));
  }
  return out;
}

std::vector<std::string> ClusterDir::Nodes() const {
  std::vector<std::string> nodes = Journals();
  for (const std::string& nn : Namenodes()) nodes.push_back(nn);
  for (uint32_t k = 1; k <= datanodes(); ++k) nodes.push_back("datanode-" + std::to_string(k));
  return nodes;
}

bool ClusterDir::IsNode(const std::string& node) const {
  for (const std::string& n : Nodes()) {
    if (n == node) return true;
  }
  return false;
}

bool ClusterDir::IsNamenode(const std::string& node) { return node.rfind("namenode", 0) == 0; }
bool ClusterDir::IsJournal(const std::string& node) { return node.rfind("journal-", 0) == 0; }
bool ClusterDir::IsDatanode(const std::string& node) { return node.rfind("datanode-", 0) == 0; }

uint32_t ClusterDir::IndexOf(const std::string& node) const {
  return static_cast<uint32_t>(std::stoul(node.substr(node.rfind('-') + 1)));
}

std::string ClusterDir::Address(const std::string& node) const {
  uint32_t port = 0;
  if (node == "namenode") {
    port = config_["namenode_port"].get<uint32_t>();
  } else if (IsNamenode(node)) {
    port = config_["namenode_ports"][IndexOf(node) - 1].get<uint32_t>();
  } else if (IsJournal(node)) {
    port = JournalClientPort(node);
  } else {
    port = config_["datanode_ports"][IndexOf(node) - 1].get<uint32_t>();
  }
  return "127.0.0.1:" + std::to_string(port);
}

std::string ClusterDir::NamenodeList() const {
  std::string out;
  for (const std::string& nn : Namenodes()) out += (out.empty() ? "" : ",") + Address(nn);
  return out;
}

uint32_t ClusterDir::JournalClientPort(const std::string& journal) const {
  return config_["journal"]["client_ports"][IndexOf(journal) - 1].get<uint32_t>();
}

std::string ClusterDir::JournalUrl() const {
  std::string out;
  for (const std::string& j : Journals()) out += (out.empty() ? "" : ",") + Address(j);
  return "etcd://" + out;
}

std::string ClusterDir::DataPath(const std::string& node) const {
  if (IsJournal(node)) return dir_ + "/" + node;
  return dir_ + "/" + node + (IsNamenode(node) ? "/meta" : "/data");
}

std::string ClusterDir::Marker(const std::string& node) const {
  return (IsNamenode(node) ? " --meta-dir " : " --data-dir ") + DataPath(node) + " ";
}

std::vector<std::string> ClusterDir::Argv(const std::string& node,
                                          const std::string& bin_dir) const {
  if (IsJournal(node)) {
    std::vector<EtcdMemberSpec> members;
    for (const std::string& j : Journals()) {
      const uint32_t k = IndexOf(j) - 1;
      members.push_back({j, DataPath(j), config_["journal"]["client_ports"][k].get<uint32_t>(),
                         config_["journal"]["peer_ports"][k].get<uint32_t>()});
    }
    return EtcdArgv(members, IndexOf(node) - 1, config_["journal"]["token"].get<std::string>());
  }
  std::vector<std::string> argv;
  const json& flags = config_["flags"];
  if (IsNamenode(node)) {
    argv = {bin_dir + "/granary-namenode", "--listen", Address(node), "--meta-dir", DataPath(node)};
    if (HighlyAvailable()) argv.insert(argv.end(), {"--journal", JournalUrl()});
    for (const auto& arg : flags["namenode"]) argv.push_back(arg.get<std::string>());
  } else {
    argv = {bin_dir + "/granary-datanode",
            "--namenode",
            NamenodeList(),
            "--listen",
            Address(node),
            "--data-dir",
            DataPath(node)};
    for (const auto& arg : flags["datanode"]) argv.push_back(arg.get<std::string>());
  }
  argv.push_back("--name");
  argv.push_back(node);
  if (config_.value("curve", false)) {
    argv.push_back("--curve-keys");
    argv.push_back(KeysDir());
  }
  return argv;
}

std::optional<pid_t> ClusterDir::RunningPid(const std::string& node) const {
  const std::optional<pid_t> pid = ReadPidFile(PidFile(node));
  if (pid && IsOurProcess(*pid, Marker(node))) return pid;
  return std::nullopt;
}

}  // namespace granary::tools
