// The defaults of a scenario (ApplyDefaults, scenario.h) and where each figure comes from.
//
// Figures marked "assumed" are engineering estimates of the right order of magnitude, not
// measurements; a calibration file (`granary-bench --calibrate`) replaces the per-operation
// CPU costs with times measured on a real machine. Both systems get the same costs for the
// same work: a comparison differs only in the mechanisms being studied (inline data, the
// global lock, the edit log).
//
// Hardware:
//   namenode 32 cores, datanode 16 cores, 10 Gbit/s NICs, SATA SSDs (sim/models/profiles.cc): a
//     common two-socket datacentre server of the HopsFS papers' era (assumed).
//   link latency 50 us one way + 5 us mean jitter: one datacentre rack/row (assumed).
//   metadata store: 5 us reads, 200 us synced batch writes (a RocksDB WAL fsync on an SSD,
//     assumed; RocksDB groups concurrent commits, which the model's independent waits reflect).
// Namenode CPU per request (assumed, chosen so that one core serves ~25-50 K stats/s and
//   ~10 K creates/s, the range HDFS NNThroughputBenchmark reports per core for getFileInfo
//   and create on commodity servers): stat 20 us, open (get block locations) 40 us, list page
//   60 us, create 100 us, delete 80 us, rename 100 us, mkdir 80 us, block protocol (add block,
//   complete, pipeline) 40 us, attribute changes 50 us.
// Datanode CPU per MiB: 500 us to receive, checksum (CRC32C) and store a MiB (~2 GiB/s per
//   core, assumed); reads the same unless set.
// RPC message CPU (NodeClass.rpc_cpu_us*): not modelled by default; the per-operation costs
//   above stand for it. The calibration experiment measures and sets it.
// HDFS baseline (system.kind "hdfs"):
//   inline threshold 0: HDFS stores every file's bytes in blocks on datanodes.
//   global lock: HDFS's FSNamesystem read-write lock (FSNamesystem.java, readLock/writeLock;
//     discussed as a limit to namenode throughput in "HDFS scalability: the limits to
//     growth", Shvachko, ;login: 2010, and the HopsFS paper, FAST'17); reads share it,
//     mutations and block reports hold it alone.
//   edit log: mutations are logged in memory under the lock and synced after it is released,
//     in batches (FSEditLog.logSync: one sync in flight, later edits wait for the next);
//     1 ms per sync, a quorum write to journal nodes' disks (assumed). The namespace itself is
//     in memory: 2 us store writes.
//   block reports: 1 us of namenode CPU per reported replica, under the global lock
//     (assumed). Granary pays the same CPU but not under a global lock. The core's datanodes
//     send a full report when they register and incremental ones as replicas change; HDFS's
//     periodic full reports (every 6 h by default) are not modelled.
// Failure detection: heartbeats every 1 s and a datanode dead after 10 s (HDFS uses 3 s and
//   10.5 min; shortened so that recovery experiments fit in minutes of simulated time).
#include <cmath>

#include "sim/runs/scenario.h"

namespace granary::sim {

void ApplyDefaults(proto::Scenario& s) {
  proto::ClusterSpec& c = *s.mutable_cluster();
  if (c.namenodes() == 0) c.set_namenodes(1);
  if (c.datanodes() == 0) c.set_datanodes(10);
  if (c.clients() == 0) c.set_clients(10);
  if (c.racks() == 0) c.set_racks(1);
  if (c.namenode().cores() == 0) c.mutable_namenode()->set_cores(32);
  if (c.datanode().cores() == 0) c.mutable_datanode()->set_cores(16);
  for (proto::NodeClass* node : {c.mutable_namenode(), c.mutable_datanode(), c.mutable_client()}) {
    if (node->nic_gbps() == 0) node->set_nic_gbps(10);
  }
  if (c.datanode().disk().empty()) c.mutable_datanode()->set_disk("ssd");
  proto::SystemSpec& y = *s.mutable_system();
  if (y.kind().empty()) y.set_kind("granary");
  const bool hdfs = y.kind() == "hdfs";
  if (!c.meta_store().has_read_us()) c.mutable_meta_store()->set_read_us(5);
  if (!c.meta_store().has_write_us()) c.mutable_meta_store()->set_write_us(hdfs ? 2 : 200);
  if (!c.has_link_latency_us()) c.set_link_latency_us(50);
  if (!c.has_link_jitter_us()) c.set_link_jitter_us(5);

  if (!y.has_inline_threshold_bytes()) y.set_inline_threshold_bytes(hdfs ? 0 : 64 * 1024);
  if (!y.has_replication()) y.set_replication(3);
  if (!y.has_block_bytes()) y.set_block_bytes(128ull << 20);
  if (!y.has_global_lock()) y.set_global_lock(hdfs);
  if (!y.has_edit_log_sync_us()) y.set_edit_log_sync_us(hdfs ? 1000 : 0);
  if (!y.has_block_report_us_per_block()) y.set_block_report_us_per_block(1);
  proto::NamenodeCosts& n = *y.mutable_namenode_costs();
  if (!n.has_create_us()) n.set_create_us(100);
  if (!n.has_stat_us()) n.set_stat_us(20);
  if (!n.has_open_us()) n.set_open_us(40);
  if (!n.has_list_us()) n.set_list_us(60);
  if (!n.has_delete_us()) n.set_delete_us(80);
  if (!n.has_rename_us()) n.set_rename_us(100);
  if (!n.has_mkdir_us()) n.set_mkdir_us(80);
  if (!n.has_block_op_us()) n.set_block_op_us(40);
  if (!n.has_set_attribute_us()) n.set_set_attribute_us(50);
  proto::DatanodeCosts& d = *y.mutable_datanode_costs();
  if (!d.has_write_us_per_mib()) d.set_write_us_per_mib(500);
  if (!d.has_read_us_per_mib()) d.set_read_us_per_mib(d.write_us_per_mib());
  if (!y.has_heartbeat_interval_s()) y.set_heartbeat_interval_s(1);
  if (!y.has_datanode_dead_after_s()) y.set_datanode_dead_after_s(10);

  proto::WorkloadSpec& w = *s.mutable_workload();
  if (w.populate().files_per_dir() == 0) w.mutable_populate()->set_files_per_dir(1000);
  if (w.small_file_ingest().files() == 0) w.mutable_small_file_ingest()->set_files(1000);
  proto::EpochReadWorkload& e = *w.mutable_epoch_read();
  if (e.files() == 0) e.set_files(1000);
  if (e.epochs() == 0) e.set_epochs(2);
  if (e.compute_ms() == 0) e.set_compute_ms(1);
  if (e.prefetch() == 0) e.set_prefetch(8);
  proto::CheckpointWorkload& k = *w.mutable_checkpoint();
  if (k.file_bytes() == 0) k.set_file_bytes(64ull << 20);
  if (k.interval_s() == 0) k.set_interval_s(10);
  if (k.bursts() == 0) k.set_bursts(3);
  if (s.duration_s() == 0) s.set_duration_s(60);
  if (s.sample_interval_s() == 0) s.set_sample_interval_s(1);
  if (s.seed() == 0) s.set_seed(1);
}

}  // namespace granary::sim
