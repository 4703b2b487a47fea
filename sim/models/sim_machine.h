// SimMachine: the modelled hardware of one simulated node, the Machine (sim/kernel/machine.h)
// that Hardware hands the kernel for it.
//
// It owns what survives the node's crashes: its disk's files (SimDiskStorage) and its metadata
// store (MemStore). Each incarnation gets from Bind a SimTransport on the network (charging the
// profile's RPC CPU), a SimDisk over the files and a SimMetaStore over the store; a crash
// drops the disk's unsynced bytes (SimDiskStorage::Crash).
#pragma once

#include "core/common/ids.h"
#include "core/common/random.h"
#include "sim/kernel/machine.h"
#include "sim/models/mem_store.h"
#include "sim/models/profiles.h"
#include "sim/models/sim_disk_storage.h"

namespace granary::sim {

class SimNetwork;

// The models' parameters for one node.
struct MachineProfile {
  NicProfile nic;
  DiskProfile disk;
  // The latencies of the node's metadata store (the namenode's RocksDB model).
  MetaStoreProfile meta_store;
  RpcCpuCost rpc_cpu;
};

class SimMachine final : public Machine {
 public:
  // The machine of node `node` on `network` (which outlives it); `disk_random` seeds the
  // disk's crash and fault draws.
  SimMachine(SimNetwork& network, NodeId node, MachineProfile profile, Random disk_random);

  ProcessSeams Bind(SimProcess& process) override;
  void Crash() override;

  NodeId node() const { return node_; }
  const MachineProfile& profile() const { return profile_; }
  // The machine's durable state, shared by its incarnations.
  SimDiskStorage& disk_storage() { return disk_storage_; }
  MemStore& meta_store() { return meta_store_; }

 private:
  SimNetwork& network_;
  const NodeId node_;
  const MachineProfile profile_;
  SimDiskStorage disk_storage_;
  MemStore meta_store_;
};

}  // namespace granary::sim
