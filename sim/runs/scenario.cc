#include "sim/runs/scenario.h"

#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/common/limits.h"
#include "core/rpc/namenode_locator.h"
#include "sim/models/calibration.h"
#include "sim/models/profiles.h"

namespace granary::sim {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

Status Invalid(const std::string& field, const std::string& why) {
  return Status(StatusCode::kInvalidArgument, field + ": " + why);
}

class Collector final : public google::protobuf::io::ErrorCollector {
 public:
  explicit Collector(std::string source) : source_(std::move(source)) {}
  void AddError(int line, int column, const std::string& message) override {
    if (first_.empty()) {
      first_ = source_ + ":" + std::to_string(line + 1) + ":" + std::to_string(column + 1) + ": " +
               message;
    }
  }
  void AddWarning(int, int, const std::string&) override {}
  const std::string& first() const { return first_; }

 private:
  std::string source_;
  std::string first_;
};

}  // namespace

Result<proto::Scenario> ParseScenario(const std::string& text, const std::string& source_name) {
  proto::Scenario scenario;
  google::protobuf::TextFormat::Parser parser;
  Collector collector(source_name);
  parser.RecordErrorsTo(&collector);
  if (!parser.ParseFromString(text, &scenario)) {
    return Status(StatusCode::kInvalidArgument,
                  collector.first().empty() ? source_name + ": does not parse" : collector.first());
  }
  return scenario;
}

Result<proto::Scenario> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(StatusCode::kInvalidArgument, path + ": cannot read the scenario");
  std::stringstream text;
  text << in.rdbuf();
  return ParseScenario(text.str(), path);
}

Status ApplyOverride(proto::Scenario& scenario, std::string_view assignment) {
  const size_t equals = assignment.find('=');
  if (equals == std::string_view::npos || equals == 0) {
    return Invalid(std::string(assignment), "expected FIELD=VALUE");
  }
  const std::string path(assignment.substr(0, equals));
  std::string value(assignment.substr(equals + 1));
  Message* message = &scenario;
  size_t begin = 0;
  for (;;) {
    const size_t dot = path.find('.', begin);
    const std::string name = path.substr(begin, dot == std::string::npos ? dot : dot - begin);
    const FieldDescriptor* field = message->GetDescriptor()->FindFieldByName(name);
    const std::string so_far = path.substr(0, dot);
    if (field == nullptr) return Invalid(so_far, "no such field");
    if (field->is_repeated()) return Invalid(so_far, "a repeated field cannot be --set");
    if (dot == std::string::npos) {
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
        return Invalid(so_far, "a message; --set one of its fields");
      }
      if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING &&
          (value.empty() || (value.front() != '"' && value.front() != '\''))) {
        value = "\"" + value + "\"";
      }
      if (!google::protobuf::TextFormat::ParseFieldValueFromString(value, field, message)) {
        return Invalid(so_far, "bad value '" + std::string(assignment.substr(equals + 1)) + "'");
      }
      return Status::Ok();
    }
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) {
      return Invalid(so_far, "not a message, has no field " + path.substr(dot + 1));
    }
    message = message->GetReflection()->MutableMessage(message, field);
    begin = dot + 1;
  }
}

namespace {

// Sets a cost from `section[key]` of a calibration file, unless `has()` says the scenario
// sets it already; an absent key is no error, one that is not a non-negative number is.
template <typename Has, typename Set>
Status CalibrationNumber(const nlohmann::json& section, const char* section_name, const char* key,
                         Has has, Set set) {
  if (!section.contains(key)) return Status::Ok();
  const nlohmann::json& v = section[key];
  if (!v.is_number() || v.get<double>() < 0) {
    return Invalid(std::string("system.calibration: ") + section_name + "." + key,
                   "not a non-negative number");
  }
  if (!has()) set(v.get<double>());
  return Status::Ok();
}

}  // namespace

Status ApplyCalibration(proto::Scenario& scenario, const std::string& json_text) {
  nlohmann::json doc = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Invalid("system.calibration", "not a JSON object");
  }
  // CPU measured per operation and class (sim/models/calibration.h); the fields of format 1 that
  // such a file also carries (latencies less a round trip) are then ignored.
  if (doc.value("format", "") == "granary-calibration/2") {
    return ApplyMeasuredCalibration(scenario, json_text);
  }
  auto number = [](const nlohmann::json& section, const char* section_name, const char* key,
                   auto has,
                   auto set) { return CalibrationNumber(section, section_name, key, has, set); };
  proto::NamenodeCosts* n = scenario.mutable_system()->mutable_namenode_costs();
  proto::DatanodeCosts* d = scenario.mutable_system()->mutable_datanode_costs();
  if (doc.contains("namenode")) {
    const nlohmann::json& s = doc["namenode"];
    if (!s.is_object()) return Invalid("system.calibration: namenode", "not an object");
#define GRANARY_CAL(field)                                     \
  GRANARY_RETURN_IF_ERROR(number(                              \
      s, "namenode", #field, [&] { return n->has_##field(); }, \
      [&](double x) { n->set_##field(x); }))
    GRANARY_CAL(create_us);
    GRANARY_CAL(stat_us);
    GRANARY_CAL(open_us);
    GRANARY_CAL(list_us);
    GRANARY_CAL(delete_us);
    GRANARY_CAL(rename_us);
    GRANARY_CAL(mkdir_us);
#undef GRANARY_CAL
  }
  // The older format `granary-bench --calibrate` wrote ("granary-calibration/1"): service times
  // under "namenode_service_us" {create, stat, open, list} and "datanode_us_per_mib"
  // {write, read}. They are latencies less an RPC round trip, so they bound the CPU cost
  // from above (store waits and, for the datanode, the whole pipeline are inside them).
  if (doc.contains("namenode_service_us")) {
    const nlohmann::json& s = doc["namenode_service_us"];
    if (!s.is_object()) return Invalid("system.calibration: namenode_service_us", "not an object");
    GRANARY_RETURN_IF_ERROR(number(
        s, "namenode_service_us", "create", [&] { return n->has_create_us(); },
        [&](double x) { n->set_create_us(x); }));
    GRANARY_RETURN_IF_ERROR(number(
        s, "namenode_service_us", "stat", [&] { return n->has_stat_us(); },
        [&](double x) { n->set_stat_us(x); }));
    GRANARY_RETURN_IF_ERROR(number(
        s, "namenode_service_us", "open", [&] { return n->has_open_us(); },
        [&](double x) { n->set_open_us(x); }));
    GRANARY_RETURN_IF_ERROR(number(
        s, "namenode_service_us", "list", [&] { return n->has_list_us(); },
        [&](double x) { n->set_list_us(x); }));
  }
  if (doc.contains("datanode_us_per_mib")) {
    const nlohmann::json& s = doc["datanode_us_per_mib"];
    if (!s.is_object()) return Invalid("system.calibration: datanode_us_per_mib", "not an object");
    GRANARY_RETURN_IF_ERROR(number(
        s, "datanode_us_per_mib", "write", [&] { return d->has_write_us_per_mib(); },
        [&](double x) { d->set_write_us_per_mib(x); }));
    GRANARY_RETURN_IF_ERROR(number(
        s, "datanode_us_per_mib", "read", [&] { return d->has_read_us_per_mib(); },
        [&](double x) { d->set_read_us_per_mib(x); }));
  }
  if (doc.contains("datanode")) {
    const nlohmann::json& s = doc["datanode"];
    if (!s.is_object()) return Invalid("system.calibration: datanode", "not an object");
    GRANARY_RETURN_IF_ERROR(number(
        s, "datanode", "write_us_per_mib", [&] { return d->has_write_us_per_mib(); },
        [&](double x) { d->set_write_us_per_mib(x); }));
    GRANARY_RETURN_IF_ERROR(number(
        s, "datanode", "read_us_per_mib", [&] { return d->has_read_us_per_mib(); },
        [&](double x) { d->set_read_us_per_mib(x); }));
  }
  return Status::Ok();
}

namespace {

Status ValidateHostModels(const proto::ClusterSpec& c);

Status ValidateCluster(const proto::ClusterSpec& c) {
  if (c.namenodes() < 1 || c.namenodes() > kNamenodeListMax) {
    return Invalid("cluster.namenodes", "must be 1..16");
  }
  if (c.datanodes() < 1 || c.datanodes() > 100000)
    return Invalid("cluster.datanodes", "must be 1..100000");
  if (c.clients() < 1 || c.clients() > 100000)
    return Invalid("cluster.clients", "must be 1..100000");
  if (c.racks() < 1 || c.racks() > c.datanodes())
    return Invalid("cluster.racks", "must be 1..datanodes");
  const std::pair<const char*, const proto::NodeClass*> classes[] = {
      {"cluster.namenode", &c.namenode()},
      {"cluster.datanode", &c.datanode()},
      {"cluster.client", &c.client()}};
  for (const auto& [name, node] : classes) {
    if (node->cores() > 4096) return Invalid(std::string(name) + ".cores", "must be 0..4096");
    if (node->rpc_cpu_us() < 0) return Invalid(std::string(name) + ".rpc_cpu_us", "must be >= 0");
    if (node->rpc_cpu_us_per_mib() < 0) {
      return Invalid(std::string(name) + ".rpc_cpu_us_per_mib", "must be >= 0");
    }
    if (node->disk_sync_us() < 0) {
      return Invalid(std::string(name) + ".disk_sync_us", "must be >= 0");
    }
    if (node->rpc_wakeup_us() < 0) {
      return Invalid(std::string(name) + ".rpc_wakeup_us", "must be >= 0");
    }
    if (node->disk_dir_sync_us() < 0) {
      return Invalid(std::string(name) + ".disk_dir_sync_us", "must be >= 0");
    }
    if (node->has_main_thread_share() &&
        !(node->main_thread_share() > 0 && node->main_thread_share() <= 1)) {
      return Invalid(std::string(name) + ".main_thread_share", "must be in (0, 1]");
    }
    if (!(node->nic_gbps() > 0) || node->nic_gbps() > 10000) {
      return Invalid(std::string(name) + ".nic_gbps", "must be in (0, 10000]");
    }
  }
  DiskProfile disk;
  if (!DiskProfileByName(c.datanode().disk(), &disk)) {
    return Invalid("cluster.datanode.disk",
                   "must be hdd, ssd, nvme or page_cache, not '" + c.datanode().disk() + "'");
  }
  if (c.meta_store().read_us() < 0) return Invalid("cluster.meta_store.read_us", "must be >= 0");
  if (c.meta_store().write_us() < 0) return Invalid("cluster.meta_store.write_us", "must be >= 0");
  if (c.link_latency_us() < 0) return Invalid("cluster.link_latency_us", "must be >= 0");
  if (c.shared_host_cores() > 4096) return Invalid("cluster.shared_host_cores", "must be 0..4096");
  if (c.link_jitter_us() < 0) return Invalid("cluster.link_jitter_us", "must be >= 0");
  return ValidateHostModels(c);
}

// The measured distributions and the shared host's neighbours and sync slots.
Status ValidateHostModels(const proto::ClusterSpec& c) {
  const std::pair<const char*, const google::protobuf::RepeatedField<double>*> samples[] = {
      {"cluster.datanode.disk_sync_us_samples", &c.datanode().disk_sync_us_samples()},
      {"cluster.datanode.disk_dir_sync_us_samples", &c.datanode().disk_dir_sync_us_samples()},
      {"cluster.meta_store.write_us_samples", &c.meta_store().write_us_samples()}};
  for (const auto& [name, values] : samples) {
    for (double us : *values) {
      if (!(us >= 0 && us < 1e9)) return Invalid(name, "every sample must be in [0, 1e9)");
    }
  }
  if ((c.host_cpu_neighbours() > 0 || c.host_sync_slots() > 0) && c.shared_host_cores() == 0) {
    return Invalid("cluster.host_cpu_neighbours",
                   "host_cpu_neighbours and host_sync_slots need shared_host_cores");
  }
  if (c.host_cpu_neighbours() > 4096)
    return Invalid("cluster.host_cpu_neighbours", "must be 0..4096");
  if (c.host_sync_slots() > 4096) return Invalid("cluster.host_sync_slots", "must be 0..4096");
  if (!(c.sync_delay_us() >= 0 && c.sync_delay_us() <= 1e7)) {
    return Invalid("cluster.sync_delay_us", "must be 0..1e7");
  }
  return Status::Ok();
}

Status ValidateSystem(const proto::SystemSpec& y, const proto::ClusterSpec& c) {
  if (y.kind() != "granary" && y.kind() != "hdfs") {
    return Invalid("system.kind", "must be granary or hdfs, not '" + y.kind() + "'");
  }
  if (!y.read_policy().empty() && !ParseReadPolicy(y.read_policy())) {
    return Invalid("system.read_policy", "must be least-loaded, random, nearest, observer or active, not '" +
                                             y.read_policy() + "'");
  }
  if (y.standby_campaign_window_ms() < 0 || y.standby_campaign_window_ms() > 10000) {
    return Invalid("system.standby_campaign_window_ms", "must be 0..10000");
  }
  if (y.inline_threshold_bytes() > kInlineThresholdBytesMax) {
    return Invalid("system.inline_threshold_bytes", "must be at most 1 MiB");
  }
  if (y.replication() < 1 || y.replication() > kReplicationMax) {
    return Invalid("system.replication", "must be 1..16");
  }
  if (y.replication() > c.datanodes()) {
    return Invalid("system.replication", "exceeds cluster.datanodes");
  }
  if (y.block_bytes() < kChecksumChunkBytes || y.block_bytes() > kBlockBytesMax ||
      y.block_bytes() % kChecksumChunkBytes != 0) {
    return Invalid("system.block_bytes", "must be a multiple of 64 KiB, 64 KiB..1 GiB");
  }
  if (y.edit_log_sync_us() < 0) return Invalid("system.edit_log_sync_us", "must be >= 0");
  if (y.block_report_us_per_block() < 0) {
    return Invalid("system.block_report_us_per_block", "must be >= 0");
  }
  for (const auto& [name, costs] :
       {std::pair<std::string, const Message*>{"system.namenode_costs.", &y.namenode_costs()},
        {"system.client_costs.", &y.client_costs()}}) {
    for (int i = 0; i < costs->GetDescriptor()->field_count(); ++i) {
      const FieldDescriptor* f = costs->GetDescriptor()->field(i);
      if (costs->GetReflection()->GetDouble(*costs, f) < 0) {
        return Invalid(name + f->name(), "must be >= 0");
      }
    }
  }
  if (y.datanode_costs().write_us_per_mib() <= 0) {
    return Invalid("system.datanode_costs.write_us_per_mib", "must be > 0");
  }
  if (y.datanode_costs().replica_us() < 0) {
    return Invalid("system.datanode_costs.replica_us", "must be >= 0");
  }
  if (y.datanode_costs().read_us_per_mib() <= 0) {
    return Invalid("system.datanode_costs.read_us_per_mib", "must be > 0");
  }
  for (const auto& [name, bytes] :
       {std::pair<const char*, uint64_t>{"system.client_packet_bytes", y.client_packet_bytes()},
        {"system.client_read_ahead_bytes", y.client_read_ahead_bytes()}}) {
    if (bytes % kChecksumChunkBytes != 0 || bytes > kDatanodePacketBytesMax) {
      return Invalid(name, "must be 0 or a multiple of 64 KiB up to the packet maximum");
    }
  }
  if (!(y.heartbeat_interval_s() > 0)) return Invalid("system.heartbeat_interval_s", "must be > 0");
  if (y.datanode_dead_after_s() <= y.heartbeat_interval_s()) {
    return Invalid("system.datanode_dead_after_s", "must exceed system.heartbeat_interval_s");
  }
  return Status::Ok();
}

Status ValidateWorkload(const proto::WorkloadSpec& w, const proto::ClusterSpec& c,
                        const proto::SystemSpec& y) {
  if (w.populate().files() > 1000000000ull)
    return Invalid("workload.populate.files", "at most 10^9");
  if (w.populate().files_per_dir() < 1 || w.populate().files_per_dir() > 10000000) {
    return Invalid("workload.populate.files_per_dir", "must be 1..10^7");
  }
  if (w.kind() == "spotify") {
    if (w.populate().files() == 0) {
      return Invalid("workload.populate.files", "the spotify workload needs a populated namespace");
    }
    if (w.spotify().think_ms() < 0) return Invalid("workload.spotify.think_ms", "must be >= 0");
    if (w.spotify().zipf_exponent() < 0) {
      return Invalid("workload.spotify.zipf_exponent", "must be >= 0");
    }
  } else if (w.kind() == "small_file_ingest") {
    if (w.small_file_ingest().files() < 1)
      return Invalid("workload.small_file_ingest.files", "must be >= 1");
    if (w.small_file_ingest().file_bytes() > (1ull << 34)) {
      return Invalid("workload.small_file_ingest.file_bytes", "at most 16 GiB");
    }
  } else if (w.kind() == "epoch_read") {
    const proto::EpochReadWorkload& e = w.epoch_read();
    if (e.files() < 1) return Invalid("workload.epoch_read.files", "must be >= 1");
    if (e.epochs() < 1 || e.epochs() > 1000)
      return Invalid("workload.epoch_read.epochs", "must be 1..1000");
    if (e.compute_ms() < 0) return Invalid("workload.epoch_read.compute_ms", "must be >= 0");
    if (e.prefetch() < 1 || e.prefetch() > 256)
      return Invalid("workload.epoch_read.prefetch", "must be 1..256");
    if (e.file_bytes() > (1ull << 30))
      return Invalid("workload.epoch_read.file_bytes", "at most 1 GiB");
  } else if (w.kind() == "checkpoint") {
    const proto::CheckpointWorkload& k = w.checkpoint();
    if (k.file_bytes() < 1 || k.file_bytes() > (1ull << 40)) {
      return Invalid("workload.checkpoint.file_bytes", "must be 1 B..1 TiB");
    }
    if (!(k.interval_s() > 0)) return Invalid("workload.checkpoint.interval_s", "must be > 0");
    if (k.bursts() < 1 || k.bursts() > 100000)
      return Invalid("workload.checkpoint.bursts", "must be 1..100000");
    const double stored =
        static_cast<double>(k.file_bytes()) * c.clients() * k.bursts() * y.replication();
    if (!c.content_free_disks() && stored > 8.0 * (1ull << 30)) {
      return Invalid("cluster.content_free_disks",
                     "the run would hold ~" +
                         std::to_string(static_cast<int64_t>(stored / (1ull << 30))) +
                         " GiB of block bytes in memory; set it to true");
    }
  } else if (w.kind() == "trace") {
    if (w.trace().file().empty()) return Invalid("workload.trace.file", "required");
  } else {
    return Invalid("workload.kind",
                   "must be spotify, small_file_ingest, epoch_read, checkpoint or "
                   "trace, not '" +
                       w.kind() + "'");
  }
  return Status::Ok();
}

}  // namespace

Status ValidateScenario(const proto::Scenario& s) {
  const proto::ClusterSpec& c = s.cluster();
  GRANARY_RETURN_IF_ERROR(ValidateCluster(c));
  GRANARY_RETURN_IF_ERROR(ValidateSystem(s.system(), c));
  GRANARY_RETURN_IF_ERROR(ValidateWorkload(s.workload(), c, s.system()));
  for (int i = 0; i < s.faults_size(); ++i) {
    const proto::Fault& f = s.faults(i);
    const std::string field = "faults[" + std::to_string(i) + "]";
    if (f.at_s() < 0) return Invalid(field + ".at_s", "must be >= 0");
    static const char* kKinds[] = {"crash_datanode",   "restart_datanode", "crash_namenode",
                                   "restart_namenode", "partition",        "heal"};
    bool known = false;
    for (const char* k : kKinds) known = known || f.kind() == k;
    if (!known) return Invalid(field + ".kind", "unknown fault '" + f.kind() + "'");
    if (f.target() >= c.datanodes()) return Invalid(field + ".target", "no such datanode");
  }
  if (!(s.duration_s() > 0) || s.duration_s() > 1e6)
    return Invalid("duration_s", "must be in (0, 10^6]");
  if (s.warmup_s() < 0 || s.warmup_s() >= s.duration_s()) {
    return Invalid("warmup_s", "must be in [0, duration_s)");
  }
  if (!(s.sample_interval_s() > 0) || s.duration_s() / s.sample_interval_s() > 1e6) {
    return Invalid("sample_interval_s", "must be > 0 and give at most 10^6 samples");
  }
  return Status::Ok();
}

}  // namespace granary::sim
