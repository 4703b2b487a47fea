// A Granary cluster in the simulator: one namenode (or several over a SimJournal: high
// availability, issue 13) and N datanodes running the real core code, plus client nodes
// running whatever a test or workload gives them.
//
// The cluster builds its models (Hardware: the network and each node's machine) beside the
// simulator it is given; the simulator must be shut down before the cluster is destroyed.
//
// The namenode object of the running incarnation is reachable (namenode()) for checkers;
// it is null while the namenode is down. Node names: "namenode", "dn-1".., and the names
// given to AddClient. With `namenodes` > 1: "namenode-1".., the journal's members
// "journal-1".., and namenode() is the active one's (null while none is); clients and
// datanodes get the comma-separated list of the namenodes' addresses.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/namenode_client.h"
#include "core/datanode/datanode_options.h"
#include "core/namenode/ha_namenode.h"
#include "core/namenode/namenode.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "sim/models/profiles.h"
#include "sim/models/sim_journal_service.h"

namespace granary::sim {

struct SimClusterOptions {
  uint32_t datanodes = 3;
  // More than one: HaNamenodes sharing a SimJournal of `journal`'s members.
  uint32_t namenodes = 1;
  SimJournalOptions journal;
  HaOptions ha;  // `candidate` is filled in per namenode
  NamenodeOptions namenode;
  DatanodeOptions datanode;  // `namenode` is filled in by the cluster
  uint32_t namenode_cores = 8;
  uint32_t datanode_cores = 4;
  DiskProfile datanode_disk = SataSsdProfile();
  NicProfile nic;
  // Datanode i is on rack "/rack-(i mod racks)"; 0 leaves racks unset.
  uint32_t racks = 0;
  MetaStoreProfile namenode_meta_store;
  // Clients' NICs, and their cores (0: client CPU is not modelled).
  NicProfile client_nic;
  uint32_t client_cores = 0;
  // The namenode's NIC when it differs from the datanodes' (`nic`).
  std::optional<NicProfile> namenode_nic;
  // RPC message CPU of each class (profiles.h, RpcCpuCost); zero: not modelled.
  RpcCpuCost namenode_rpc_cpu;
  RpcCpuCost datanode_rpc_cpu;
  RpcCpuCost client_rpc_cpu;
  // When not 0, every node (namenode, datanodes, clients) is a process of one host with
  // this many cores, which they all share; each class's cores are then its processes'
  // handler threads (0 for clients means 1), and the main-thread shares below say how much
  // of their work needs one (simulator.h): the real cluster of one machine that the
  // calibration experiment measures.
  uint32_t shared_host_cores = 0;
  double namenode_main_thread_share = 1;
  double datanode_main_thread_share = 1;
  double client_main_thread_share = 1;
  // With a shared host: the clients are fibers of one process, sharing its client_cores
  // handler threads (as granary-bench runs its clients).
  bool clients_in_one_process = false;
  // With a shared host: CPU-burning threads of other programs sharing its cores
  // (NodeOptions::shared_core_stretch), and the syncs its one disk completes at once (0: each
  // datanode's disk syncs on its own; DiskProfile::host_sync_slots).
  uint32_t host_cpu_neighbours = 0;
  uint32_t host_sync_slots = 0;
  // Client I/O sizes (ClientOptions) when they should differ from FastClusterOptions' 256 KiB
  // packets and 512 KiB read-ahead; 0 keeps those.
  uint64_t client_packet_bytes = 0;
  uint64_t client_read_ahead_bytes = 0;
  // Where clients send reads with several namenodes, and whether reads skip the journal
  // sequence (ClientOptions::read_policy, stale_reads).
  ReadPolicy client_read_policy = ClientOptions().read_policy;
  bool client_stale_reads = false;
};

// Options suited to short simulated runs: second-scale heartbeats and timeouts.
SimClusterOptions FastClusterOptions();

class SimCluster {
 public:
  SimCluster(Simulator& sim, SimClusterOptions options);

  // Starts the namenode and every datanode.
  void Start();
  NodeId AddClient(const std::string& name, std::function<void(SimProcess&)> body);
  // Client options for a node: its name as address and lease holder, the namenode's address.
  ClientOptions ClientOptionsFor(SimProcess& process) const;

  Simulator& sim() { return sim_; }
  // The cluster's models: its network and each node's machine.
  Hardware& hardware() { return hardware_; }
  SimNetwork& network() { return hardware_.network(); }
  SimMachine& machine(NodeId node) { return hardware_.machine(node); }
  NodeId namenode_id() const { return namenode_id_; }
  const std::vector<NodeId>& datanode_ids() const { return datanode_ids_; }
  Address namenode_address() const { return namenode_address_; }
  // The running namenode (with several: the active one), or null.
  Namenode* namenode() const;
  // With several namenodes: node ids, the running HaNamenode of each (null while down),
  // and the journal's members. Empty / null with one.
  const std::vector<NodeId>& namenode_ids() const { return namenode_ids_; }
  HaNamenode* ha_namenode(size_t i) const { return ha_namenodes_.at(i); }
  // The same, but null unless its process is alive (a crashed one's object is gone).
  HaNamenode* live_ha_namenode(size_t i) const;
  SimJournalService* journal() { return journal_.get(); }
  // Runs until every datanode has registered with a live namenode (or `limit` passes).
  bool WaitForDatanodes(Duration limit);

 private:
  // The namenodes of an HA cluster, over a journal of their own.
  void AddHaNamenodes(const NodeOptions& node, const MachineProfile& machine);
  // Puts `node` on the shared host's cores, when there is one.
  void ShareHost(NodeOptions& node, double main_thread_share) const;

  Simulator& sim_;
  Hardware hardware_;
  SimClusterOptions options_;
  NodeId namenode_id_;
  Address namenode_address_;
  std::vector<NodeId> datanode_ids_;
  Namenode* namenode_ = nullptr;
  std::vector<NodeId> namenode_ids_;
  std::vector<HaNamenode*> ha_namenodes_;
  std::unique_ptr<SimJournalService> journal_;
  std::shared_ptr<std::vector<Instant>> host_cores_;
  std::shared_ptr<std::vector<Instant>> client_threads_;
  std::shared_ptr<std::vector<Instant>> client_helper_threads_;
};

}  // namespace granary::sim
