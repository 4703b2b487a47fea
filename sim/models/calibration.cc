#include "sim/models/calibration.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <vector>

namespace granary::sim {
namespace {

using nlohmann::json;

Status Bad(const std::string& field, const std::string& why) {
  return Status(StatusCode::kInvalidArgument, "system.calibration: " + field + ": " + why);
}

// doc[a][b] (and [c]) as a non-negative number.
Status Number(const json& doc, const std::string& path, double* out) {
  const json* at = &doc;
  size_t begin = 0;
  while (begin <= path.size()) {
    const size_t dot = path.find('.', begin);
    const std::string key = path.substr(begin, dot == std::string::npos ? dot : dot - begin);
    if (!at->is_object() || !at->contains(key)) return Bad(path, "missing");
    at = &(*at)[key];
    if (dot == std::string::npos) break;
    begin = dot + 1;
  }
  if (!at->is_number() || at->get<double>() < 0) return Bad(path, "not a non-negative number");
  *out = at->get<double>();
  return Status::Ok();
}

struct PerClass {
  double client = 0, namenode = 0, datanodes = 0;
};

Status Op(const json& doc, const std::string& section, const std::string& op, PerClass* out) {
  GRANARY_RETURN_IF_ERROR(Number(doc, section + "." + op + ".client", &out->client));
  GRANARY_RETURN_IF_ERROR(Number(doc, section + "." + op + ".namenode", &out->namenode));
  return Number(doc, section + "." + op + ".datanodes", &out->datanodes);
}

double AtLeastZero(double v) { return std::max(0.0, v); }

// What a calibration file of format 2 measured.
struct Measured {
  PerClass stat, create, open, create_blocks, open_blocks, write, read;
  double rpc_call = 0, rpc_loaded = 0, sync = 0, large_bytes = 0;
  // The syncs' own CPU (optional: older files lack it).
  double sync_cpu = 0, dir_sync_cpu = 0;
};

// The model's costs derived from them.
struct Costs {
  double m = 0, w = 0, w_client = 0;
  double write_block = 0, read_block = 0, client_write_per_mib = 0, client_read_per_mib = 0;
  double stat_us = 0, create_us = 0, open_us = 0, block_op_us = 0, replica_us = 0;
  double write_us_per_mib = 0, read_us_per_mib = 0;
};

Status ReadMeasured(const json& doc, Measured& r) {
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_op", "stat_inline", &r.stat));
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_op", "create_inline", &r.create));
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_op", "open_inline", &r.open));
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_op", "create_blocks", &r.create_blocks));
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_op", "open_blocks", &r.open_blocks));
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_mib", "write", &r.write));
  GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_mib", "read", &r.read));
  GRANARY_RETURN_IF_ERROR(Number(doc, "rpc_cpu_us_per_call", &r.rpc_call));
  GRANARY_RETURN_IF_ERROR(Number(doc, "rpc_cpu_us_per_call_loaded", &r.rpc_loaded));
  GRANARY_RETURN_IF_ERROR(Number(doc, "large_file_bytes", &r.large_bytes));
  if (r.large_bytes < (1 << 20)) return Bad("large_file_bytes", "less than 1 MiB");
  GRANARY_RETURN_IF_ERROR(Number(doc, "sync_us", &r.sync));
  if (doc.contains("sync_cpu_us")) GRANARY_RETURN_IF_ERROR(Number(doc, "sync_cpu_us", &r.sync_cpu));
  if (doc.contains("dir_sync_cpu_us")) {
    GRANARY_RETURN_IF_ERROR(Number(doc, "dir_sync_cpu_us", &r.dir_sync_cpu));
  }
  return Status::Ok();
}

// The RPC layer: a message's CPU when its node is busy (m), and the wake-up a received one
// costs besides when it finds the node idle (every one does with one client at a time): w
// for servers, w_client for the client. The wake-up is each class's fall in CPU per stat from
// one client to the most measured (a stat is one call: one message received at each end),
// when the file has those figures; else both ends' share of the RPC layer's fall from one
// call in flight to 64.
Status Wakeups(const json& doc, const Measured& r, bool scale_to_one_core, double* m_out,
               double* w_out, double* w_client_out) {
  const PerClass& stat = r.stat;
  const double m = r.rpc_loaded / 4;
  double w = AtLeastZero((r.rpc_call - r.rpc_loaded) / 2);
  // A host of one core: a wake-up is a switch on the running core, which the RPC layer's
  // one-in-flight CPU measured on one CPU shows; every class's wake-up scales by it.
  double one_core_scale = 1;
  if (scale_to_one_core && doc.contains("rpc_cpu_us_per_call_one_core") && w > 0) {
    double one_core = 0;
    GRANARY_RETURN_IF_ERROR(Number(doc, "rpc_cpu_us_per_call_one_core", &one_core));
    one_core_scale = AtLeastZero((one_core - r.rpc_loaded) / 2) / w;
  }
  double w_client = w;
  if (doc.contains("cpu_us_per_op_loaded")) {
    PerClass loaded_stat;
    GRANARY_RETURN_IF_ERROR(Op(doc, "cpu_us_per_op_loaded", "stat_inline", &loaded_stat));
    w_client = AtLeastZero(stat.client - loaded_stat.client);
    w = AtLeastZero(stat.namenode - loaded_stat.namenode - 2 * m);  // datanodes: the same code
  }
  *m_out = m;
  *w_out = w * one_core_scale;
  *w_client_out = w_client * one_core_scale;
  return Status::Ok();
}

Status DeriveCosts(const json& doc, const Measured& r, bool scale_to_one_core, Costs& k) {
  const PerClass &stat = r.stat, &create = r.create, &open = r.open;
  const PerClass &create_blocks = r.create_blocks, &open_blocks = r.open_blocks;
  const PerClass &write = r.write, &read = r.read;
  auto syncs_cpu = [&r](const SyncCounts& n, double datanode_share) {
    return n.namenode_commits * r.sync_cpu * (1 - datanode_share) +
           (n.datanode_file_syncs * r.sync_cpu + n.datanode_directory_syncs * r.dir_sync_cpu) *
               datanode_share;
  };

  double m = 0, w = 0, w_client = 0;
  GRANARY_RETURN_IF_ERROR(Wakeups(doc, r, scale_to_one_core, &m, &w, &w_client));

  // The client: CPU per call by method, from the measurements less the reply's wake-up (a
  // block create is Create, AddBlock, WriteBlock and Complete; the two block calls cost a
  // stat each).
  const double write_block =
      AtLeastZero(create_blocks.client - create.client - 2 * stat.client - w_client);
  const double read_block = AtLeastZero(open_blocks.client - open.client - w_client);
  const double client_write_per_mib = AtLeastZero(write.client - write_block - w_client);
  // A read makes kReadPieceMessages.client / 2 calls per MiB.
  const double client_read_per_mib =
      AtLeastZero(read.client - (read_block + w_client) * kReadPieceMessages.client / 2);

  // Servers: messages (half of them received, each with a wake-up), the rest in handlers.
  auto handler = [&](double cpu, double messages) {
    return AtLeastZero(cpu - messages * (m + w / 2));
  };
  const double stat_us = handler(stat.namenode, kStatMessages.namenode);
  // Less the syncs' CPU, which overlaps their waits (modelled as latency).
  const double create_us = AtLeastZero(handler(create.namenode, kCreateInlineMessages.namenode) -
                                       syncs_cpu(kCreateInlineSyncs, 0));
  const double open_us = handler(open.namenode, kOpenInlineMessages.namenode);
  const double block_op_us =
      AtLeastZero((handler(create_blocks.namenode, kCreateBlocksMessages.namenode) -
                   syncs_cpu(kCreateBlocksSyncs, 0) - create_us) /
                  5);
  const double replica_us =
      AtLeastZero(handler(create_blocks.datanodes, kCreateBlocksMessages.datanodes) -
                  syncs_cpu(kCreateBlocksSyncs, 1)) /
      3;
  const double large_mib = r.large_bytes / (1 << 20);
  const double write_us_per_mib =
      AtLeastZero((handler(write.datanodes, kWritePacketMessages.datanodes) -
                   (3 * replica_us + syncs_cpu(kCreateBlocksSyncs, 1)) / large_mib) /
                  3);
  const double read_us_per_mib = handler(read.datanodes, kReadPieceMessages.datanodes);

  k.m = m;
  k.w = w;
  k.w_client = w_client;
  k.write_block = write_block;
  k.read_block = read_block;
  k.client_write_per_mib = client_write_per_mib;
  k.client_read_per_mib = client_read_per_mib;
  k.stat_us = stat_us;
  k.create_us = create_us;
  k.open_us = open_us;
  k.block_op_us = block_op_us;
  k.replica_us = replica_us;
  k.write_us_per_mib = write_us_per_mib;
  k.read_us_per_mib = read_us_per_mib;
  return Status::Ok();
}

// doc[key] as a list of non-negative numbers into `out` (left empty when absent).
Status Samples(const json& doc, const std::string& key, std::vector<double>* out) {
  if (!doc.contains(key)) return Status::Ok();
  const json& list = doc[key];
  if (!list.is_array()) return Bad(key, "not a list");
  for (const json& v : list) {
    if (!v.is_number() || v.get<double>() < 0)
      return Bad(key, "not a list of non-negative numbers");
    out->push_back(v.get<double>());
  }
  return Status::Ok();
}

// The measured sync distributions (quantiles: each sync of the simulator draws one of them),
// for the datanodes' file and directory syncs and the store's commits (one WAL sync each);
// and, on a shared host, how many syncs its disk completes at once (from the median sync
// latency with one syncer and with the most measured; 1 to that many).
Status ApplySyncDistributions(const json& doc, proto::ClusterSpec& c) {
  std::vector<double> file, dir;
  GRANARY_RETURN_IF_ERROR(Samples(doc, "sync_us_quantiles", &file));
  GRANARY_RETURN_IF_ERROR(Samples(doc, "dir_sync_us_quantiles", &dir));
  proto::NodeClass& dn = *c.mutable_datanode();
  if (dn.disk_sync_us_samples().empty()) {
    for (double us : file) dn.add_disk_sync_us_samples(us);
  }
  if (dn.disk_dir_sync_us_samples().empty()) {
    for (double us : dir) dn.add_disk_dir_sync_us_samples(us);
  }
  if (c.meta_store().write_us_samples().empty()) {
    for (double us : file) c.mutable_meta_store()->add_write_us_samples(us);
  }
  if (!doc.contains("sync_concurrency") || c.shared_host_cores() == 0 || c.host_sync_slots() > 0) {
    return Status::Ok();
  }
  const json& levels = doc["sync_concurrency"];
  if (!levels.is_array() || levels.empty()) return Bad("sync_concurrency", "not a list");
  double one = 0;
  for (const json& level : levels) {
    double threads = 0, median = 0;
    GRANARY_RETURN_IF_ERROR(Number(level, "threads", &threads));
    GRANARY_RETURN_IF_ERROR(Number(level, "median_us", &median));
    if (threads == 1) one = median;
  }
  if (!(one > 0)) return Bad("sync_concurrency", "no median with one thread");
  // k syncers each waiting median(k) where one waits median(1): the disk completes
  // k median(1) / median(k) at once; the most any level showed (a shared machine's other
  // work only lowers it), 1 to the most threads measured.
  double slots = 1, most_threads = 1;
  for (const json& level : levels) {
    const double threads = level["threads"].get<double>();
    const double median = level["median_us"].get<double>();
    most_threads = std::max(most_threads, threads);
    if (median > 0) slots = std::max(slots, threads * one / median);
  }
  c.set_host_sync_slots(static_cast<uint32_t>(std::round(std::min(slots, most_threads))));
  return Status::Ok();
}

// The cluster's RPC, disk, store and thread figures, where the scenario leaves them unset.
Status ApplyToCluster(const json& doc, const Measured& r, const Costs& costs,
                      proto::ClusterSpec& c) {
  const double m = costs.m, w = costs.w, w_client = costs.w_client, sync = r.sync;
  for (proto::NodeClass* node : {c.mutable_namenode(), c.mutable_datanode()}) {
    if (!node->has_rpc_cpu_us()) node->set_rpc_cpu_us(m);
  }
  if (!c.client().has_rpc_wakeup_us()) c.mutable_client()->set_rpc_wakeup_us(w_client);
  for (proto::NodeClass* node : {c.mutable_namenode(), c.mutable_datanode()}) {
    if (!node->has_rpc_wakeup_us()) node->set_rpc_wakeup_us(w);
  }
  if (!c.datanode().has_disk_sync_us()) c.mutable_datanode()->set_disk_sync_us(sync);
  if (doc.contains("dir_sync_us")) {
    double dir_sync = 0;
    GRANARY_RETURN_IF_ERROR(Number(doc, "dir_sync_us", &dir_sync));
    if (!c.datanode().has_disk_dir_sync_us()) c.mutable_datanode()->set_disk_dir_sync_us(dir_sync);
  }
  if (!c.meta_store().has_write_us()) c.mutable_meta_store()->set_write_us(sync);
  GRANARY_RETURN_IF_ERROR(ApplySyncDistributions(doc, c));

  // Optional: the main threads' shares (older files lack them).
  if (doc.contains("main_thread_share")) {
    const std::pair<const char*, proto::NodeClass*> classes[] = {
        {"client", c.mutable_client()},
        {"namenode", c.mutable_namenode()},
        {"datanodes", c.mutable_datanode()}};
    for (const auto& [name, node] : classes) {
      double share = 1;
      GRANARY_RETURN_IF_ERROR(Number(doc, std::string("main_thread_share.") + name, &share));
      if (!(share > 0 && share <= 1)) {
        return Bad(std::string("main_thread_share.") + name, "not in (0, 1]");
      }
      if (!node->has_main_thread_share()) node->set_main_thread_share(share);
    }
  }
  // Store reads hit RocksDB's memtable and block cache: their cost is the namenode's CPU,
  // already in its figures.
  if (!c.meta_store().has_read_us()) c.mutable_meta_store()->set_read_us(0);

  return Status::Ok();
}

// The system's per-operation costs, where the scenario leaves them unset.
void ApplyToSystem(const Measured& r, const Costs& costs, proto::SystemSpec& y) {
  const PerClass &stat = r.stat, &create = r.create, &open = r.open;
  const double w_client = costs.w_client, write_block = costs.write_block,
               read_block = costs.read_block, client_write_per_mib = costs.client_write_per_mib,
               client_read_per_mib = costs.client_read_per_mib;
  const double stat_us = costs.stat_us, create_us = costs.create_us, open_us = costs.open_us,
               block_op_us = costs.block_op_us, replica_us = costs.replica_us;
  const double write_us_per_mib = costs.write_us_per_mib, read_us_per_mib = costs.read_us_per_mib;
  proto::ClientCosts& k = *y.mutable_client_costs();
  if (!k.has_call_us()) k.set_call_us(AtLeastZero(stat.client - w_client));
  if (!k.has_stat_us()) k.set_stat_us(AtLeastZero(stat.client - w_client));
  if (!k.has_create_us()) k.set_create_us(AtLeastZero(create.client - w_client));
  if (!k.has_open_us()) k.set_open_us(AtLeastZero(open.client - w_client));
  if (!k.has_write_block_us()) k.set_write_block_us(write_block);
  if (!k.has_read_block_us()) k.set_read_block_us(read_block);
  if (!k.has_write_us_per_mib()) k.set_write_us_per_mib(client_write_per_mib);
  if (!k.has_read_us_per_mib()) k.set_read_us_per_mib(client_read_per_mib);

  proto::NamenodeCosts& n = *y.mutable_namenode_costs();
  if (!n.has_stat_us()) n.set_stat_us(stat_us);
  if (!n.has_create_us()) n.set_create_us(create_us);
  if (!n.has_open_us()) n.set_open_us(open_us);
  if (!n.has_block_op_us()) n.set_block_op_us(block_op_us);
  if (!n.has_block_report_us()) n.set_block_report_us(block_op_us);
  // Not measured here: list, delete, rename, mkdir and attribute changes keep their
  // defaults (RenewLease and ServerDefaults cost a stat, scenario_runner.cc).
  proto::DatanodeCosts& d = *y.mutable_datanode_costs();
  // The simulator needs positive rates; a figure clamped at 0 becomes 1 ns per MiB.
  if (!d.has_write_us_per_mib()) d.set_write_us_per_mib(std::max(write_us_per_mib, 1e-3));
  if (!d.has_read_us_per_mib()) d.set_read_us_per_mib(std::max(read_us_per_mib, 1e-3));
  if (!d.has_replica_us()) d.set_replica_us(replica_us);
}

}  // namespace

Status ApplyMeasuredCalibration(proto::Scenario& scenario, const std::string& json_text) {
  const json doc = json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return Bad("document", "not a JSON object");
  Measured measured;
  GRANARY_RETURN_IF_ERROR(ReadMeasured(doc, measured));
  Costs costs;
  GRANARY_RETURN_IF_ERROR(
      DeriveCosts(doc, measured, scenario.cluster().shared_host_cores() == 1, costs));
  GRANARY_RETURN_IF_ERROR(ApplyToCluster(doc, measured, costs, *scenario.mutable_cluster()));
  ApplyToSystem(measured, costs, *scenario.mutable_system());
  return Status::Ok();
}

}  // namespace granary::sim
