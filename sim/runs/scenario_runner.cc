#include "sim/runs/scenario_runner.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "core/namenode/namenode.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/mem_store.h"
#include "sim/models/sim_disk.h"
#include "sim/models/sim_network.h"
#include "sim/runs/scenario.h"
#include "sim/runs/sim_cluster.h"
#include "sim/runs/workload/trace_replay.h"
#include "sim/runs/workload/workload.h"

namespace granary::sim {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

Duration Micros(double us) { return Duration(static_cast<int64_t>(us * 1e3)); }
Duration Secs(double s) { return Duration(static_cast<int64_t>(s * 1e9)); }

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kInvalidArgument, "cannot read " + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Status WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Status(StatusCode::kIoError, "cannot write " + path);
  return Status::Ok();
}

std::string Hex(uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof(buffer), "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

SimClusterOptions ClusterOptionsFor(const proto::Scenario& s) {
  const proto::ClusterSpec& c = s.cluster();
  const proto::SystemSpec& y = s.system();
  SimClusterOptions o = FastClusterOptions();
  o.datanodes = c.datanodes();
  o.racks = c.racks();
  o.namenode_cores = c.namenode().cores();
  o.datanode_cores = c.datanode().cores();
  o.client_cores = c.client().cores();
  (void)DiskProfileByName(c.datanode().disk(), &o.datanode_disk);
  o.datanode_disk.content_free = c.content_free_disks();
  o.nic.bandwidth_bits_per_second = c.datanode().nic_gbps() * 1e9;
  o.namenode_nic = NicProfile{c.namenode().nic_gbps() * 1e9};
  o.client_nic.bandwidth_bits_per_second = c.client().nic_gbps() * 1e9;
  o.namenode_meta_store.read_latency = Micros(c.meta_store().read_us());
  o.namenode_meta_store.write_latency = Micros(c.meta_store().write_us());
  if (c.datanode().has_disk_sync_us()) {
    o.datanode_disk.sync_latency = Micros(c.datanode().disk_sync_us());
  }
  if (c.datanode().has_disk_dir_sync_us()) {
    o.datanode_disk.directory_sync_latency = Micros(c.datanode().disk_dir_sync_us());
  }
  auto rpc_cpu = [](const proto::NodeClass& node) {
    RpcCpuCost cost;
    cost.per_message = Micros(node.rpc_cpu_us());
    cost.ns_per_byte = node.rpc_cpu_us_per_mib() * 1e3 / (1 << 20);
    cost.wakeup = Micros(node.rpc_wakeup_us());
    return cost;
  };
  o.namenode_rpc_cpu = rpc_cpu(c.namenode());
  o.datanode_rpc_cpu = rpc_cpu(c.datanode());
  o.client_rpc_cpu = rpc_cpu(c.client());
  const proto::ClientCosts& cc = y.client_costs();
  auto client_call = [&](std::string_view method, bool has, double us) {
    if (has) o.client_rpc_cpu.per_call[std::string(method)] = Micros(us);
  };
  client_call(rpc::nn::kCreate.name, cc.has_create_us(), cc.create_us());
  client_call(rpc::nn::kOpen.name, cc.has_open_us(), cc.open_us());
  client_call(rpc::nn::kStat.name, cc.has_stat_us(), cc.stat_us());
  client_call(rpc::dn::kWriteBlock.name, cc.has_write_block_us(), cc.write_block_us());
  client_call(rpc::dn::kReadBlock.name, cc.has_read_block_us(), cc.read_block_us());
  o.client_rpc_cpu.per_call_default = Micros(cc.call_us());
  const double ns_per_mib = 1e3 / (1 << 20);
  if (cc.has_write_us_per_mib()) {
    o.client_rpc_cpu.ns_per_byte_sent_by_call[std::string(rpc::dn::kWriteBlock.name)] =
        cc.write_us_per_mib() * ns_per_mib;
  }
  if (cc.has_read_us_per_mib()) {
    o.client_rpc_cpu.ns_per_byte_received_by_call[std::string(rpc::dn::kReadBlock.name)] =
        cc.read_us_per_mib() * ns_per_mib;
  }
  o.shared_host_cores = c.shared_host_cores();
  o.clients_in_one_process = c.clients_in_one_process();
  auto main_thread_share = [](const proto::NodeClass& node) {
    return node.has_main_thread_share() ? node.main_thread_share() : 1.0;
  };
  o.namenode_main_thread_share = main_thread_share(c.namenode());
  o.datanode_main_thread_share = main_thread_share(c.datanode());
  o.client_main_thread_share = main_thread_share(c.client());
  o.client_packet_bytes = y.client_packet_bytes();
  o.client_read_ahead_bytes = y.client_read_ahead_bytes();

  NamenodeOptions& n = o.namenode;
  n.ns.inline_threshold_bytes = y.inline_threshold_bytes();
  n.ns.default_replication = y.replication();
  n.ns.default_block_bytes = y.block_bytes();
  n.heartbeat_interval = Secs(y.heartbeat_interval_s());
  n.datanode_dead_after = Secs(y.datanode_dead_after_s());
  n.replication_check_interval = seconds(1);
  const NamenodeOptions plain;
  n.lease_soft_limit = plain.lease_soft_limit;
  n.lease_hard_limit = plain.lease_hard_limit;
  n.lease_check_interval = plain.lease_check_interval;
  n.recovery_timeout = plain.recovery_timeout;
  n.blocks.replication_timeout = seconds(30);
  n.cpu_per_request = Duration(0);
  const proto::NamenodeCosts& k = y.namenode_costs();
  n.cpu_per_method = {
      {std::string(rpc::nn::kCreate.name), Micros(k.create_us())},
      {std::string(rpc::nn::kStat.name), Micros(k.stat_us())},
      {std::string(rpc::nn::kOpen.name), Micros(k.open_us())},
      {std::string(rpc::nn::kList.name), Micros(k.list_us())},
      {std::string(rpc::nn::kDelete.name), Micros(k.delete_us())},
      {std::string(rpc::nn::kRename.name), Micros(k.rename_us())},
      {std::string(rpc::nn::kMkdirs.name), Micros(k.mkdir_us())},
      {std::string(rpc::nn::kWriteInline.name), Micros(k.block_op_us())},
      {std::string(rpc::nn::kConvertToBlocks.name), Micros(k.block_op_us())},
      {std::string(rpc::nn::kAddBlock.name), Micros(k.block_op_us())},
      {std::string(rpc::nn::kComplete.name), Micros(k.block_op_us())},
      {std::string(rpc::nn::kBumpGeneration.name), Micros(k.block_op_us())},
      {std::string(rpc::nn::kUpdatePipeline.name), Micros(k.block_op_us())},
      {std::string(rpc::nn::kRenewLease.name), Micros(k.stat_us())},
      {std::string(rpc::nn::kServerDefaults.name), Micros(k.stat_us())},
      {std::string(rpc::nn::kSetPermission.name), Micros(k.set_attribute_us())},
      {std::string(rpc::nn::kSetOwner.name), Micros(k.set_attribute_us())},
      {std::string(rpc::nn::kSetReplication.name), Micros(k.set_attribute_us())},
      {std::string(rpc::nn::kBlockReport.name), Micros(k.block_report_us())},
  };
  n.cpu_per_reported_block = Micros(y.block_report_us_per_block());
  n.global_namespace_lock = y.global_lock();
  n.edit_log_sync = Micros(y.edit_log_sync_us());

  DatanodeOptions& d = o.datanode;
  d.heartbeat_interval = Secs(y.heartbeat_interval_s());
  d.rpc_timeout = seconds(10);
  d.scanner_bytes_per_second = 0;  // the scanner's reads are not what is studied
  d.transfer_packet_bytes = 1 << 20;
  d.checksum_bytes_per_second = (1 << 20) / (y.datanode_costs().write_us_per_mib() * 1e-6);
  d.cpu_per_replica = Micros(y.datanode_costs().replica_us());
  d.read_checksum_bytes_per_second = (1 << 20) / (y.datanode_costs().read_us_per_mib() * 1e-6);
  return o;
}

// Cumulative counters of one node.
struct NodeCounters {
  int64_t cpu_ns = 0;
  uint64_t nic_bytes = 0;  // the busier direction
  uint64_t disk_bytes = 0;
};

struct ClassUse {
  double cpu_mean = 0, cpu_max = 0, nic_mean = 0, nic_max = 0, disk_mean = 0, disk_max = 0;
};

class ClassMeter {
 public:
  ClassMeter(SimCluster& cluster, std::vector<NodeId> nodes)
      : sim_(cluster.sim()), hardware_(cluster.hardware()), nodes_(std::move(nodes)) {}

  std::vector<NodeCounters> Read() const {
    std::vector<NodeCounters> out;
    out.reserve(nodes_.size());
    for (NodeId id : nodes_) {
      SimNode& node = sim_.node(id);
      const SimNetwork& network = hardware_.network();
      out.push_back(NodeCounters{node.cpu_charged().count(),
                                 std::max(network.tx_bytes(id), network.rx_bytes(id)),
                                 hardware_.machine(id).disk_storage().bytes_moved()});
    }
    return out;
  }

  ClassUse Use(const std::vector<NodeCounters>& before, const std::vector<NodeCounters>& after,
               double seconds) const {
    ClassUse use;
    if (nodes_.empty() || seconds <= 0) return use;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const NodeOptions& o = sim_.node(nodes_[i]).options();
      const MachineProfile& m = hardware_.machine(nodes_[i]).profile();
      const double cpu = o.cores == 0 ? 0
                                      : static_cast<double>(after[i].cpu_ns - before[i].cpu_ns) /
                                            1e9 / (o.cores * seconds);
      const double nic = static_cast<double>(after[i].nic_bytes - before[i].nic_bytes) * 8 /
                         (m.nic.bandwidth_bits_per_second * seconds);
      const double disk = static_cast<double>(after[i].disk_bytes - before[i].disk_bytes) /
                          (m.disk.bandwidth_bytes_per_second * seconds);
      use.cpu_mean += cpu;
      use.nic_mean += nic;
      use.disk_mean += disk;
      use.cpu_max = std::max(use.cpu_max, cpu);
      use.nic_max = std::max(use.nic_max, nic);
      use.disk_max = std::max(use.disk_max, disk);
    }
    const double n = static_cast<double>(nodes_.size());
    use.cpu_mean /= n;
    use.nic_mean /= n;
    use.disk_mean /= n;
    // Work is charged when queued, so a saturated interval can read slightly above 1.
    for (double* v : {&use.cpu_mean, &use.cpu_max, &use.nic_mean, &use.nic_max, &use.disk_mean,
                      &use.disk_max}) {
      *v = std::min(*v, 1.0);
    }
    return use;
  }

 private:
  Simulator& sim_;
  Hardware& hardware_;
  std::vector<NodeId> nodes_;
};

nlohmann::json UseJson(const ClassUse& u, bool disk) {
  nlohmann::json j = {{"cpu_mean", u.cpu_mean},
                      {"cpu_max", u.cpu_max},
                      {"nic_mean", u.nic_mean},
                      {"nic_max", u.nic_max}};
  if (disk) {
    j["disk_mean"] = u.disk_mean;
    j["disk_max"] = u.disk_max;
  }
  return j;
}

std::string Fixed(double v, int digits = 6) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", digits, v);
  return buffer;
}

}  // namespace

Result<proto::Scenario> PrepareScenario(const std::string& path,
                                        const std::vector<std::string>& overrides,
                                        uint64_t seed_override) {
  GRANARY_ASSIGN_OR_RETURN(proto::Scenario scenario, LoadScenarioFile(path));
  for (const std::string& o : overrides) GRANARY_RETURN_IF_ERROR(ApplyOverride(scenario, o));
  if (seed_override != 0) scenario.set_seed(seed_override);
  if (!scenario.system().calibration().empty()) {
    std::string file = scenario.system().calibration();
    if (file[0] != '/') file = DirOf(path) + "/" + file;
    Result<std::string> text = ReadText(file);
    if (!text.ok()) {
      return Status(StatusCode::kInvalidArgument, "system.calibration: " + text.status().message());
    }
    GRANARY_RETURN_IF_ERROR(ApplyCalibration(scenario, *text));
  }
  ApplyDefaults(scenario);
  GRANARY_RETURN_IF_ERROR(ValidateScenario(scenario));
  return scenario;
}

Result<nlohmann::json> RunScenario(const proto::Scenario& s, const RunOptions& options) {
  Simulator sim(s.seed());
  LinkProfile link;
  link.latency_fixed = Micros(s.cluster().link_latency_us());
  link.latency_jitter_mean = Micros(s.cluster().link_jitter_us());
  const SimClusterOptions cluster_options = ClusterOptionsFor(s);
  SimCluster cluster(sim, cluster_options);
  cluster.network().SetDefaultLink(link);

  // Time 0 of the workload is known only once the datanodes are up; workloads keep a
  // reference to the context and read the times when their clients start.
  const Duration duration = Secs(s.duration_s());
  auto metrics = std::make_unique<Metrics>(kInstantMax, Instant{});
  WorkloadContext context;
  context.scenario = &s;
  context.cluster = &cluster;
  context.metrics = metrics.get();
  context.scenario_dir = options.scenario_dir;
  context.clients = s.cluster().clients();
  GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Workload> workload, MakeWorkload(context));

  uint32_t active_clients = 0;
  Instant last_client_done{};
  std::vector<NodeId> clients;
  for (uint32_t i = 0; i < s.cluster().clients(); ++i) {
    clients.push_back(
        cluster.AddClient("client-" + std::to_string(i),
                          [&workload, &active_clients, &last_client_done, &sim, i](SimProcess& p) {
                            ++active_clients;
                            workload->RunClient(p, i);
                            --active_clients;
                            last_client_done = sim.Now();
                          }));
  }
  if (s.workload().populate().files() > 0) {
    GRANARY_RETURN_IF_ERROR(PrePopulate(
        cluster.machine(cluster.namenode_id()).meta_store(), s.workload().populate().files(),
        s.workload().populate().files_per_dir(), cluster_options.namenode.ns.permissions.superuser,
        cluster_options.namenode.ns.permissions.supergroup));
  }
  GRANARY_RETURN_IF_ERROR(workload->Prepare(context));

  cluster.Start();
  if (!cluster.WaitForDatanodes(seconds(120))) {
    return Status(StatusCode::kInternal, "the datanodes did not all register within 120 s");
  }
  const Instant start = sim.Now();
  const Instant end = start + duration;
  const Instant measure_from = start + Secs(s.warmup_s());
  *metrics = Metrics(measure_from, start);
  if (!options.record_trace_path.empty()) metrics->EnableTrace();
  context.start = start;
  context.end = end;
  for (NodeId id : clients) sim.StartNode(id);

  // Faults.
  Instant first_crash = kInstantMax;
  for (const proto::Fault& f : s.faults()) {
    const Instant at = start + Secs(f.at_s());
    const NodeId dn = cluster.datanode_ids()[f.target()];
    const NodeId nn = cluster.namenode_id();
    if (f.kind() == "crash_datanode") first_crash = std::min(first_crash, at);
    sim.At(at, [&sim, &cluster, kind = f.kind(), dn, nn] {
      if (kind == "crash_datanode") sim.CrashNode(dn);
      if (kind == "restart_datanode") sim.RestartNode(dn);
      if (kind == "crash_namenode") sim.CrashNode(nn);
      if (kind == "restart_namenode") sim.RestartNode(nn);
      if (kind == "partition") cluster.network().Partition(dn, cluster.namenode_id());
      if (kind == "heal") cluster.network().HealAll();
    });
  }

  // Sampling.
  ClassMeter namenode_meter(cluster, {cluster.namenode_id()});
  ClassMeter datanode_meter(cluster, cluster.datanode_ids());
  ClassMeter client_meter(cluster, clients);
  auto nn_prev = namenode_meter.Read();
  auto dn_prev = datanode_meter.Read();
  auto cl_prev = client_meter.Read();
  std::vector<NodeCounters> nn_window, dn_window, cl_window;
  bool window_open = measure_from <= start;
  if (window_open) {
    nn_window = nn_prev;
    dn_window = dn_prev;
    cl_window = cl_prev;
  }
  uint64_t ok_prev = 0, failed_prev = 0, written_prev = 0, read_prev = 0;
  const Duration interval = Secs(s.sample_interval_s());
  std::string series =
      "t_s,ops_per_s,failed_per_s,write_mib_per_s,read_mib_per_s,nn_cpu,nn_nic,dn_cpu_mean,"
      "dn_cpu_max,dn_nic_mean,dn_nic_max,dn_disk_mean,dn_disk_max,client_nic_mean,"
      "live_datanodes,blocks,under_replicated,pending_replications,files\n";
  double dead_declared_s = -1, restored_s = -1;
  const bool stop_early = s.faults_size() == 0;
  Instant now = start;
  while (now < end) {
    const Instant next = std::min(end, now + interval);
    if (!window_open && next >= measure_from) {
      sim.RunUntil(measure_from);
      nn_window = namenode_meter.Read();
      dn_window = datanode_meter.Read();
      cl_window = client_meter.Read();
      window_open = true;
    }
    sim.RunUntil(next);
    const double dt = ToSeconds(next - now);
    now = next;
    auto nn_now = namenode_meter.Read();
    auto dn_now = datanode_meter.Read();
    auto cl_now = client_meter.Read();
    const ClassUse nn = namenode_meter.Use(nn_prev, nn_now, dt);
    const ClassUse dn = datanode_meter.Use(dn_prev, dn_now, dt);
    const ClassUse cl = client_meter.Use(cl_prev, cl_now, dt);
    nn_prev = std::move(nn_now);
    dn_prev = std::move(dn_now);
    cl_prev = std::move(cl_now);
    uint64_t live = 0, blocks = 0, under = 0, pending = 0, files = 0;
    if (Namenode* namenode = cluster.namenode()) {
      live = namenode->datanodes().live_count();
      const BlockCounts counts = namenode->blocks().Counts();
      blocks = counts.blocks;
      under = counts.under_replicated + counts.missing;
      pending = counts.pending_replications;
      files = namenode->ns().counts().files;
      if (now > first_crash) {
        if (dead_declared_s < 0 && live < cluster.datanode_ids().size()) {
          dead_declared_s = ToSeconds(now - first_crash);
        }
        if (dead_declared_s >= 0 && restored_s < 0 && under == 0 && pending == 0) {
          restored_s = ToSeconds(now - first_crash);
        }
      }
    }
    const double t = ToSeconds(now - start);
    series += Fixed(t, 3) + "," + Fixed((metrics->completed_ok() - ok_prev) / dt, 2) + "," +
              Fixed((metrics->completed_failed() - failed_prev) / dt, 2) + "," +
              Fixed((metrics->all_bytes_written() - written_prev) / dt / (1 << 20), 3) + "," +
              Fixed((metrics->all_bytes_read() - read_prev) / dt / (1 << 20), 3) + "," +
              Fixed(nn.cpu_mean, 4) + "," + Fixed(nn.nic_mean, 4) + "," + Fixed(dn.cpu_mean, 4) +
              "," + Fixed(dn.cpu_max, 4) + "," + Fixed(dn.nic_mean, 4) + "," +
              Fixed(dn.nic_max, 4) + "," + Fixed(dn.disk_mean, 4) + "," + Fixed(dn.disk_max, 4) +
              "," + Fixed(cl.nic_mean, 4) + "," + std::to_string(live) + "," +
              std::to_string(blocks) + "," + std::to_string(under) + "," + std::to_string(pending) +
              "," + std::to_string(files) + "\n";
    ok_prev = metrics->completed_ok();
    failed_prev = metrics->completed_failed();
    written_prev = metrics->all_bytes_written();
    read_prev = metrics->all_bytes_read();
    if (stop_early && active_clients == 0 && now > start) break;
  }
  const Instant run_end = now;
  // Throughput counts until the last client finished, when that was before the end.
  const Instant measure_end =
      active_clients == 0 && last_client_done > measure_from ? last_client_done : run_end;
  const double measured = std::max(ToSeconds(measure_end - measure_from), 1e-9);

  nlohmann::json summary;
  summary["scenario"] = s.name();
  summary["system"] = s.system().kind();
  summary["workload"] = s.workload().kind();
  summary["seed"] = s.seed();
  summary["datanodes"] = s.cluster().datanodes();
  summary["clients"] = s.cluster().clients();
  summary["measured_seconds"] = measured;
  nlohmann::json ops = nlohmann::json::object();
  std::string latency = "op,count,failed,per_s,mean_ms,p50_ms,p95_ms,p99_ms,max_ms,bytes\n";
  uint64_t total_ok = 0, total_failed = 0;
  for (const auto& [name, stats_const] : metrics->ops()) {
    OpStats stats = stats_const;
    total_ok += stats.ok;
    total_failed += stats.failed;
    double mean = 0;
    int64_t max = 0;
    for (int64_t v : stats.latencies_ns) {
      mean += static_cast<double>(v);
      max = std::max(max, v);
    }
    mean = stats.latencies_ns.empty() ? 0 : mean / stats.latencies_ns.size() / 1e6;
    const double p50 = Quantile(stats.latencies_ns, 0.50) / 1e6;
    const double p95 = Quantile(stats.latencies_ns, 0.95) / 1e6;
    const double p99 = Quantile(stats.latencies_ns, 0.99) / 1e6;
    ops[name] = {{"count", stats.ok}, {"failed", stats.failed}, {"per_s", stats.ok / measured},
                 {"mean_ms", mean},   {"p50_ms", p50},          {"p95_ms", p95},
                 {"p99_ms", p99},     {"max_ms", max / 1e6},    {"bytes", stats.bytes}};
    latency += name + "," + std::to_string(stats.ok) + "," + std::to_string(stats.failed) + "," +
               Fixed(stats.ok / measured, 3) + "," + Fixed(mean, 4) + "," + Fixed(p50, 4) + "," +
               Fixed(p95, 4) + "," + Fixed(p99, 4) + "," + Fixed(max / 1e6, 4) + "," +
               std::to_string(stats.bytes) + "\n";
  }
  summary["ops"] = ops;
  summary["ops_ok"] = total_ok;
  summary["ops_failed"] = total_failed;
  summary["throughput_ops_per_s"] = total_ok / measured;
  summary["bytes_written"] = metrics->bytes_written();
  summary["bytes_read"] = metrics->bytes_read();
  summary["write_mib_per_s"] = metrics->bytes_written() / measured / (1 << 20);
  summary["read_mib_per_s"] = metrics->bytes_read() / measured / (1 << 20);
  summary["network_bytes"] = cluster.network().stats().bytes_sent;
  if (window_open) {
    const double window = ToSeconds(run_end - measure_from);
    summary["utilisation"] = {
        {"namenode", UseJson(namenode_meter.Use(nn_window, namenode_meter.Read(), window), false)},
        {"datanode", UseJson(datanode_meter.Use(dn_window, datanode_meter.Read(), window), true)},
        {"client", UseJson(client_meter.Use(cl_window, client_meter.Read(), window), false)}};
  }
  if (first_crash != kInstantMax) {
    summary["recovery"] = {{"dead_declared_s", dead_declared_s},
                           {"replication_restored_s", restored_s}};
  }
  nlohmann::json own = nlohmann::json::object();
  workload->Summarize(own);
  summary["results"] = own;
  summary["virtual_seconds"] = ToSeconds(run_end.time_since_epoch());
  summary["events"] = sim.events_fired();
  summary["trace_hash"] = Hex(sim.trace_hash());
  const std::vector<TraceRow> trace = metrics->trace();

  const Status shutdown = sim.Shutdown();
  if (!shutdown.ok()) summary["shutdown_problem"] = shutdown.ToString();

  if (!options.out_dir.empty()) {
    GRANARY_RETURN_IF_ERROR(WriteText(options.out_dir + "/timeseries.csv", series));
    GRANARY_RETURN_IF_ERROR(WriteText(options.out_dir + "/latency.csv", latency));
  }
  if (!options.record_trace_path.empty()) {
    GRANARY_RETURN_IF_ERROR(WriteText(options.record_trace_path, FormatTrace(trace)));
  }
  return summary;
}

}  // namespace granary::sim
