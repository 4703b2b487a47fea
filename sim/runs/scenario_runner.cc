#include "sim/runs/scenario_runner.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <vector>

#include "core/common/path.h"
#include "core/namenode/namenode.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/mem_store.h"
#include "sim/models/sim_disk.h"
#include "sim/models/sim_network.h"
#include "sim/runs/sampler.h"
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

// The RPC CPU costs of each node class, and the client's by method (ClientCosts).
void SetRpcCpuCosts(const proto::ClusterSpec& c, const proto::SystemSpec& y, SimClusterOptions& o) {
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
}

// The namenode of the scenario's system: its timeouts and its CPU costs by method.
void SetNamenodeOptions(const proto::SystemSpec& y, NamenodeOptions& n) {
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
      {std::string(rpc::nn::kFsync.name), Micros(k.block_op_us())},
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
}

// The datanodes of the scenario's system: their timeouts and checksum and replica costs.
void SetDatanodeOptions(const proto::SystemSpec& y, DatanodeOptions& d) {
  d.heartbeat_interval = Secs(y.heartbeat_interval_s());
  d.rpc_timeout = seconds(10);
  d.scanner_bytes_per_second = 0;  // the scanner's reads are not what is studied
  d.transfer_packet_bytes = 1 << 20;
  d.checksum_bytes_per_second = (1 << 20) / (y.datanode_costs().write_us_per_mib() * 1e-6);
  d.cpu_per_replica = Micros(y.datanode_costs().replica_us());
  d.read_checksum_bytes_per_second = (1 << 20) / (y.datanode_costs().read_us_per_mib() * 1e-6);
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
  for (double us : c.datanode().disk_sync_us_samples()) {
    o.datanode_disk.sync_samples.push_back(Micros(us));
  }
  for (double us : c.datanode().disk_dir_sync_us_samples()) {
    o.datanode_disk.directory_sync_samples.push_back(Micros(us));
  }
  for (double us : c.meta_store().write_us_samples()) {
    o.namenode_meta_store.write_samples.push_back(Micros(us));
  }
  o.host_cpu_neighbours = c.host_cpu_neighbours();
  o.host_sync_slots = c.host_sync_slots();
  o.datanode_disk.sync_delay = Micros(c.sync_delay_us());
  o.namenode_meta_store.write_delay = Micros(c.sync_delay_us());
  SetRpcCpuCosts(c, y, o);
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
  SetNamenodeOptions(y, o.namenode);
  SetDatanodeOptions(y, o.datanode);
  o.namenodes = c.namenodes();
  if (!y.read_policy().empty()) o.client_read_policy = *ParseReadPolicy(y.read_policy());
  o.client_stale_reads = y.has_consistent_reads() && !y.consistent_reads();
  o.ha.campaign_window =
      Micros(1e3 * (y.has_standby_campaign_window_ms() ? y.standby_campaign_window_ms() : 10));
  return o;
}

// Schedules the scenario's faults from `start`; returns the time of the first datanode crash
// (kInstantMax when there is none).
Instant ScheduleFaults(Simulator& sim, SimCluster& cluster, const proto::Scenario& s,
                       Instant start) {
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
  return first_crash;
}

// The summary's "ops" (count, rate and latency quantiles of each operation over `measured`
// seconds), adding one row per operation to `latency` (latency.csv) and the totals to
// `total_ok` and `total_failed`.
nlohmann::json OpsJson(const Metrics& metrics, double measured, std::string& latency,
                       uint64_t& total_ok, uint64_t& total_failed) {
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [name, stats_const] : metrics.ops()) {
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
  return ops;
}

// Runs the simulation from `start` (now) to `end`, sampling each interval, and stops early
// once every client finished when the scenario has no faults; returns when it stopped.
// `window_open` says whether the measured window (from `measure_from`) began.
Instant RunSampled(Simulator& sim, Sampler& sampler, const proto::Scenario& s, Instant start,
                   Instant end, Instant measure_from, const uint32_t& active_clients,
                   bool& window_open) {
  window_open = measure_from <= start;
  if (window_open) sampler.OpenWindow();
  const Duration interval = Secs(s.sample_interval_s());
  const bool stop_early = s.faults_size() == 0;
  Instant now = start;
  while (now < end) {
    const Instant next = std::min(end, now + interval);
    if (!window_open && next >= measure_from) {
      sim.RunUntil(measure_from);
      sampler.OpenWindow();
      window_open = true;
    }
    sim.RunUntil(next);
    const double dt = ToSeconds(next - now);
    now = next;
    sampler.Sample(now, dt);
    if (stop_early && active_clients == 0 && now > start) break;
  }
  return now;
}

// The summary's fields of the scenario and of its throughput over `measured` seconds; adds
// latency.csv's rows to `latency`.
nlohmann::json ThroughputSummary(const proto::Scenario& s, const Metrics& metrics, double measured,
                                 std::string& latency) {
  nlohmann::json summary;
  summary["scenario"] = s.name();
  summary["system"] = s.system().kind();
  summary["workload"] = s.workload().kind();
  summary["seed"] = s.seed();
  summary["namenodes"] = s.cluster().namenodes();
  summary["read_policy"] = s.system().read_policy();
  summary["consistent_reads"] = !s.system().has_consistent_reads() || s.system().consistent_reads();
  summary["datanodes"] = s.cluster().datanodes();
  summary["clients"] = s.cluster().clients();
  summary["measured_seconds"] = measured;
  uint64_t total_ok = 0, total_failed = 0;
  const nlohmann::json ops = OpsJson(metrics, measured, latency, total_ok, total_failed);
  summary["ops"] = ops;
  summary["ops_ok"] = total_ok;
  summary["ops_failed"] = total_failed;
  summary["throughput_ops_per_s"] = total_ok / measured;
  summary["bytes_written"] = metrics.bytes_written();
  summary["bytes_read"] = metrics.bytes_read();
  summary["write_mib_per_s"] = metrics.bytes_written() / measured / (1 << 20);
  summary["read_mib_per_s"] = metrics.bytes_read() / measured / (1 << 20);
  return summary;
}

// Adds the scenario's `count` clients, each running `workload`'s client `i`; counts those
// running in `active` and notes when the last one finished in `last_done`.
std::vector<NodeId> AddClients(SimCluster& cluster, uint32_t count, Workload& workload,
                               uint32_t& active, Instant& last_done) {
  std::vector<NodeId> clients;
  Simulator& sim = cluster.sim();
  for (uint32_t i = 0; i < count; ++i) {
    clients.push_back(cluster.AddClient("client-" + std::to_string(i),
                                        [&workload, &active, &last_done, &sim, i](SimProcess& p) {
                                          ++active;
                                          workload.RunClient(p, i);
                                          --active;
                                          last_done = sim.Now();
                                        }));
  }
  return clients;
}

// Writes timeseries.csv and latency.csv into the output folder, and the recorded trace, when
// the options ask for them.
Status WriteOutputs(const RunOptions& options, const std::string& series,
                    const std::string& latency, const std::vector<TraceRow>& trace) {
  if (!options.out_dir.empty()) {
    GRANARY_RETURN_IF_ERROR(WriteText(options.out_dir + "/timeseries.csv", series));
    GRANARY_RETURN_IF_ERROR(WriteText(options.out_dir + "/latency.csv", latency));
  }
  if (!options.record_trace_path.empty()) {
    GRANARY_RETURN_IF_ERROR(WriteText(options.record_trace_path, FormatTrace(trace)));
  }
  return Status::Ok();
}

// Every namenode's store gets the scenario's pre-populated namespace (standbys and observers
// serve reads of it from the start).
Status PopulateNamenodes(const proto::Scenario& s, const SimClusterOptions& options,
                         SimCluster& cluster) {
  if (s.workload().populate().files() == 0) return Status::Ok();
  std::vector<NodeId> namenodes = cluster.namenode_ids();
  if (namenodes.empty()) namenodes.push_back(cluster.namenode_id());
  for (NodeId namenode : namenodes) {
    GRANARY_RETURN_IF_ERROR(PrePopulate(
        cluster.machine(namenode).meta_store(), s.workload().populate().files(),
        s.workload().populate().files_per_dir(), options.namenode.ns.permissions.superuser,
        options.namenode.ns.permissions.supergroup));
  }
  return Status::Ok();
}

// With several namenodes: the reads each answered (a crashed one's count is lost); [] with one.
nlohmann::json ReadsServedJson(const SimCluster& cluster) {
  nlohmann::json reads_served = nlohmann::json::array();
  for (size_t i = 0; i < cluster.namenode_ids().size(); ++i) {
    const HaNamenode* namenode = cluster.live_ha_namenode(i);
    reads_served.push_back(namenode != nullptr ? namenode->reads_served() : 0);
  }
  return reads_served;
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
    if (file[0] != '/') file = JoinPath(ParentOf(path), file);
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
  const std::vector<NodeId> clients =
      AddClients(cluster, s.cluster().clients(), *workload, active_clients, last_client_done);
  GRANARY_RETURN_IF_ERROR(PopulateNamenodes(s, cluster_options, cluster));
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

  const Instant first_crash = ScheduleFaults(sim, cluster, s, start);

  // Sampling.
  Sampler sampler(cluster, clients, *metrics, start, first_crash);
  bool window_open = false;
  const Instant run_end =
      RunSampled(sim, sampler, s, start, end, measure_from, active_clients, window_open);
  // Throughput counts until the last client finished, when that was before the end.
  const Instant measure_end =
      active_clients == 0 && last_client_done > measure_from ? last_client_done : run_end;
  const double measured = std::max(ToSeconds(measure_end - measure_from), 1e-9);

  std::string latency = "op,count,failed,per_s,mean_ms,p50_ms,p95_ms,p99_ms,max_ms,bytes\n";
  nlohmann::json summary = ThroughputSummary(s, *metrics, measured, latency);
  summary["network_bytes"] = cluster.network().stats().bytes_sent;
  if (window_open) summary["utilisation"] = sampler.WindowUse(ToSeconds(run_end - measure_from));
  if (first_crash != kInstantMax) {
    summary["recovery"] = {{"dead_declared_s", sampler.dead_declared_s()},
                           {"replication_restored_s", sampler.restored_s()}};
  }
  nlohmann::json own = nlohmann::json::object();
  workload->Summarize(own);
  summary["results"] = own;
  summary["namenode_reads_served"] = ReadsServedJson(cluster);
  summary["virtual_seconds"] = ToSeconds(run_end.time_since_epoch());
  summary["events"] = sim.events_fired();
  summary["trace_hash"] = Hex(sim.trace_hash());
  const std::vector<TraceRow> trace = metrics->trace();

  const Status shutdown = sim.Shutdown();
  if (!shutdown.ok()) summary["shutdown_problem"] = shutdown.ToString();

  GRANARY_RETURN_IF_ERROR(WriteOutputs(options, sampler.series(), latency, trace));
  return summary;
}

}  // namespace granary::sim
