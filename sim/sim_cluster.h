// A Granary cluster in the simulator: one namenode and N datanodes running the real core
// code, plus client nodes running whatever a test or workload gives them.
//
// The namenode object of the running incarnation is reachable (namenode()) for checkers;
// it is null while the namenode is down. Node names: "namenode", "dn-1".., and the names
// given to AddClient.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/client/namenode_client.h"
#include "core/datanode/datanode_options.h"
#include "core/namenode/namenode.h"
#include "sim/sim_process.h"
#include "sim/simulator.h"

namespace granary::sim {

struct SimClusterOptions {
  uint32_t datanodes = 3;
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
  NodeId namenode_id() const { return namenode_id_; }
  const std::vector<NodeId>& datanode_ids() const { return datanode_ids_; }
  Address namenode_address() const { return namenode_address_; }
  // The running namenode, or null.
  Namenode* namenode() const { return namenode_; }
  // Runs until every datanode has registered with a live namenode (or `limit` passes).
  bool WaitForDatanodes(Duration limit);

 private:
  Simulator& sim_;
  SimClusterOptions options_;
  NodeId namenode_id_;
  Address namenode_address_;
  std::vector<NodeId> datanode_ids_;
  Namenode* namenode_ = nullptr;
};

}  // namespace granary::sim
