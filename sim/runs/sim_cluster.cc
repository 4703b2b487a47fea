#include "sim/runs/sim_cluster.h"

#include <algorithm>

#include "core/datanode/datanode.h"
#include "sim/models/sim_journal.h"

namespace granary::sim {

using std::chrono::milliseconds;
using std::chrono::seconds;

SimClusterOptions FastClusterOptions() {
  SimClusterOptions o;
  NamenodeOptions& n = o.namenode;
  n.ns.default_replication = 3;
  n.ns.default_block_bytes = 512 * 1024;
  n.ns.permissions.superuser = "granary";
  n.heartbeat_interval = milliseconds(500);
  n.datanode_dead_after = seconds(3);
  n.replication_check_interval = milliseconds(500);
  n.lease_soft_limit = seconds(3);
  n.lease_hard_limit = seconds(6);
  n.lease_check_interval = seconds(1);
  n.recovery_timeout = seconds(5);
  n.orphan_collect_interval = milliseconds(200);
  n.blocks.replication_timeout = seconds(5);
  DatanodeOptions& d = o.datanode;
  d.heartbeat_interval = milliseconds(500);
  d.rpc_timeout = seconds(2);
  d.scanner_bytes_per_second = 20 << 20;
  d.scan_period = seconds(3);
  d.register_backoff_initial = milliseconds(50);
  d.register_backoff_max = seconds(1);
  d.transfer_packet_bytes = 256 * 1024;
  return o;
}

SimCluster::SimCluster(Simulator& sim, SimClusterOptions options)
    : sim_(sim), hardware_(sim), options_(std::move(options)) {
  if (options_.shared_host_cores > 0) {
    host_cores_ = std::make_shared<std::vector<Instant>>(options_.shared_host_cores, Instant{});
    if (options_.host_sync_slots > 0) {
      options_.datanode_disk.host_sync_slots =
          std::make_shared<std::vector<Instant>>(options_.host_sync_slots, Instant{});
    }
  }
  NodeOptions nn;
  nn.name = "namenode";
  nn.cores = options_.namenode_cores;
  ShareHost(nn, options_.namenode_main_thread_share);
  MachineProfile nn_machine;
  nn_machine.rpc_cpu = options_.namenode_rpc_cpu;
  nn_machine.nic = options_.namenode_nic.value_or(options_.nic);
  nn_machine.meta_store = options_.namenode_meta_store;
  if (options_.namenodes > 1) {
    AddHaNamenodes(nn, nn_machine);
  } else {
    namenode_id_ = hardware_.AddNode(nn, nn_machine, [this](SimProcess& p) {
      Namenode namenode(p.env(), p.transport(), p.meta_store(), options_.namenode);
      namenode_ = &namenode;
      (void)namenode.Run();
      namenode_ = nullptr;
    });
    namenode_address_ = sim_.node(namenode_id_).address();
  }
  options_.datanode.namenode = namenode_address_;
  for (uint32_t i = 0; i < options_.datanodes; ++i) {
    NodeOptions dn;
    dn.name = "dn-" + std::to_string(i + 1);
    dn.cores = options_.datanode_cores;
    ShareHost(dn, options_.datanode_main_thread_share);
    MachineProfile dn_machine;
    dn_machine.rpc_cpu = options_.datanode_rpc_cpu;
    dn_machine.disk = options_.datanode_disk;
    dn_machine.nic = options_.nic;
    DatanodeOptions datanode_options = options_.datanode;
    if (options_.racks > 0) datanode_options.rack = "/rack-" + std::to_string(i % options_.racks);
    datanode_ids_.push_back(hardware_.AddNode(dn, dn_machine, [datanode_options](SimProcess& p) {
      Datanode datanode(p.env(), p.transport(), p.disk(), datanode_options);
      (void)datanode.Run();
    }));
  }
}

void SimCluster::AddHaNamenodes(const NodeOptions& node, const MachineProfile& machine) {
  journal_ = std::make_unique<SimJournalService>(hardware_, options_.journal);
  ha_namenodes_.assign(options_.namenodes, nullptr);
  for (uint32_t i = 0; i < options_.namenodes; ++i) {
    NodeOptions named = node;
    named.name = "namenode-" + std::to_string(i + 1);
    namenode_ids_.push_back(hardware_.AddNode(named, machine, [this, i](SimProcess& p) {
      SimJournal journal(p, *journal_);
      HaOptions ha = options_.ha;
      ha.candidate = p.transport().self().value;
      HaNamenode namenode(p.env(), p.transport(), p.meta_store(), journal, ha, options_.namenode);
      ha_namenodes_[i] = &namenode;
      (void)namenode.Run();
      ha_namenodes_[i] = nullptr;
    }));
    namenode_address_.value +=
        (i == 0 ? "" : ",") + sim_.node(namenode_ids_.back()).address().value;
  }
  namenode_id_ = namenode_ids_.front();
}

HaNamenode* SimCluster::live_ha_namenode(size_t i) const {
  const auto& process = sim_.node(namenode_ids_.at(i)).process();
  return process && process->alive() ? ha_namenodes_.at(i) : nullptr;
}

Namenode* SimCluster::namenode() const {
  if (namenode_ids_.empty()) return namenode_;
  for (size_t i = 0; i < ha_namenodes_.size(); ++i) {
    HaNamenode* namenode = live_ha_namenode(i);
    if (namenode != nullptr && namenode->active()) return namenode->namenode();
  }
  return nullptr;
}

void SimCluster::Start() {
  for (NodeId id : namenode_ids_) sim_.StartNode(id);
  if (namenode_ids_.empty()) sim_.StartNode(namenode_id_);
  for (NodeId id : datanode_ids_) sim_.StartNode(id);
}

NodeId SimCluster::AddClient(const std::string& name, std::function<void(SimProcess&)> body) {
  NodeOptions client;
  client.name = name;
  client.cores = options_.client_cores;
  MachineProfile client_machine;
  client_machine.nic = options_.client_nic;
  client_machine.rpc_cpu = options_.client_rpc_cpu;
  ShareHost(client, options_.client_main_thread_share);
  if (host_cores_ && options_.clients_in_one_process) {
    if (!client_threads_) {
      client_threads_ = std::make_shared<std::vector<Instant>>(client.cores, Instant{});
      client_helper_threads_ = std::make_shared<std::vector<Instant>>(1, Instant{});
    }
    client.shared_threads = client_threads_;
    client.shared_helper_threads = client_helper_threads_;
  }
  return hardware_.AddNode(client, client_machine, std::move(body));
}

void SimCluster::ShareHost(NodeOptions& node, double main_thread_share) const {
  if (!host_cores_) return;
  node.shared_cores = host_cores_;
  node.cores = std::max<uint32_t>(node.cores, 1);
  node.main_thread_share = main_thread_share;
  node.shared_core_stretch =
      1 + static_cast<double>(options_.host_cpu_neighbours) / options_.shared_host_cores;
}

ClientOptions SimCluster::ClientOptionsFor(SimProcess& process) const {
  ClientOptions options;
  options.namenode = namenode_address_;
  options.user.set_user(options_.namenode.ns.permissions.superuser);
  options.client_name = process.node().name() + "/" + std::to_string(process.incarnation());
  options.client_address = process.node().name();
  options.rpc_timeout = seconds(1);
  options.datanode_timeout = seconds(2);
  options.attempts = 12;
  options.backoff_initial = milliseconds(50);
  options.backoff_max = seconds(1);
  options.packet_bytes =
      options_.client_packet_bytes != 0 ? options_.client_packet_bytes : 256 * 1024;
  options.read_ahead_bytes =
      options_.client_read_ahead_bytes != 0 ? options_.client_read_ahead_bytes : 512 * 1024;
  options.lease_renew_interval = seconds(2);
  options.read_policy = options_.client_read_policy;
  options.stale_reads = options_.client_stale_reads;
  return options;
}

bool SimCluster::WaitForDatanodes(Duration limit) {
  const Instant end = sim_.Now() + limit;
  while (sim_.Now() < end) {
    Namenode* namenode = this->namenode();
    if (namenode != nullptr && namenode->ready() &&
        namenode->datanodes().live_count() == datanode_ids_.size()) {
      return true;
    }
    sim_.RunFor(milliseconds(100));
  }
  return false;
}

}  // namespace granary::sim
