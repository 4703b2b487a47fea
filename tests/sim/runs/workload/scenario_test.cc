// Scenario loading, overrides, defaults, calibration and validation (sim/runs/scenario.h); the
// trace format (sim/runs/workload/trace_replay.h); the embedded workload tables against their CSVs.
#include "sim/runs/scenario.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "sim/runs/workload/trace_replay.h"
#include "sim/runs/workload/workload.h"

namespace granary::sim {
namespace {

proto::Scenario Parse(const std::string& text) {
  Result<proto::Scenario> s = ParseScenario(text, "test");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : proto::Scenario();
}

proto::Scenario Ready(const std::string& text) {
  proto::Scenario s = Parse(text);
  ApplyDefaults(s);
  return s;
}

TEST(ScenarioTest, ParseErrorNamesTheLineAndField) {
  Result<proto::Scenario> s = ParseScenario("cluster {\n  data_nodes: 3\n}\n", "x.textproto");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("x.textproto:2"), std::string::npos);
  EXPECT_NE(s.status().message().find("data_nodes"), std::string::npos);
}

TEST(ScenarioTest, DefaultsDependOnTheSystemKind) {
  proto::Scenario g = Ready("workload { kind: \"small_file_ingest\" }");
  EXPECT_EQ(g.system().kind(), "granary");
  EXPECT_EQ(g.system().inline_threshold_bytes(), 64u * 1024);
  EXPECT_FALSE(g.system().global_lock());
  EXPECT_EQ(g.system().edit_log_sync_us(), 0);
  EXPECT_EQ(g.cluster().meta_store().write_us(), 200);
  proto::Scenario h = Ready("system { kind: \"hdfs\" } workload { kind: \"small_file_ingest\" }");
  EXPECT_EQ(h.system().inline_threshold_bytes(), 0u);
  EXPECT_TRUE(h.system().global_lock());
  EXPECT_GT(h.system().edit_log_sync_us(), 0);
  EXPECT_GT(h.system().block_report_us_per_block(), 0);
  // The same work costs the same CPU in both systems.
  EXPECT_EQ(g.system().namenode_costs().create_us(), h.system().namenode_costs().create_us());
  // An explicit field beats the kind's default, zero included.
  proto::Scenario z = Ready("system { kind: \"granary\" inline_threshold_bytes: 0 }");
  EXPECT_EQ(z.system().inline_threshold_bytes(), 0u);
  EXPECT_TRUE(ValidateScenario(g).ok());
  EXPECT_TRUE(ValidateScenario(h).ok());
}

TEST(ScenarioTest, OverridesSetFieldsByPath) {
  proto::Scenario s = Parse("");
  ASSERT_TRUE(ApplyOverride(s, "cluster.datanodes=100").ok());
  ASSERT_TRUE(ApplyOverride(s, "system.kind=hdfs").ok());
  ASSERT_TRUE(ApplyOverride(s, "workload.kind=\"spotify\"").ok());
  ASSERT_TRUE(ApplyOverride(s, "cluster.content_free_disks=true").ok());
  ASSERT_TRUE(ApplyOverride(s, "duration_s=2.5").ok());
  EXPECT_EQ(s.cluster().datanodes(), 100u);
  EXPECT_EQ(s.system().kind(), "hdfs");
  EXPECT_EQ(s.workload().kind(), "spotify");
  EXPECT_TRUE(s.cluster().content_free_disks());
  EXPECT_EQ(s.duration_s(), 2.5);
  for (const char* bad : {"cluster.nodes=3", "cluster=3", "faults.at_s=1", "duration_s=fast",
                          "cluster.datanodes.x=1", "nothing"}) {
    const Status status = ApplyOverride(s, bad);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(ApplyOverride(s, "cluster.nodes=3").message().find("cluster.nodes"), std::string::npos);
}

TEST(ScenarioTest, ValidationNamesTheField) {
  struct Case {
    const char* text;
    const char* field;
  };
  const Case cases[] = {
      {"cluster { namenodes: 17 }", "cluster.namenodes"},
      {"system { read_policy: \"closest\" }", "system.read_policy"},
      {"system { standby_campaign_window_ms: -1 }", "system.standby_campaign_window_ms"},
      {"cluster { datanodes: 2 } system { replication: 3 }", "system.replication"},
      {"system { kind: \"ceph\" }", "system.kind"},
      {"cluster { datanode { disk: \"tape\" } }", "cluster.datanode.disk"},
      {"system { block_bytes: 1000 }", "system.block_bytes"},
      {"workload { kind: \"spotify\" }", "workload.populate.files"},
      {"workload { kind: \"dance\" }", "workload.kind"},
      {"workload { kind: \"trace\" }", "workload.trace.file"},
      {"faults { kind: \"meteor\" }", "faults[0].kind"},
      {"faults { kind: \"crash_datanode\" target: 99 }", "faults[0].target"},
      {"duration_s: 10 warmup_s: 20", "warmup_s"},
      {"workload { kind: \"checkpoint\" checkpoint { file_bytes: 1099511627776 } }",
       "cluster.content_free_disks"},
  };
  for (const Case& c : cases) {
    proto::Scenario s = Parse(c.text);
    if (s.workload().kind().empty()) s.mutable_workload()->set_kind("small_file_ingest");
    ApplyDefaults(s);
    const Status status = ValidateScenario(s);
    ASSERT_FALSE(status.ok()) << c.text;
    EXPECT_EQ(status.message().rfind(c.field, 0), 0u) << c.text << " -> " << status.message();
  }
}

TEST(ScenarioTest, CalibrationFillsUnsetCostsOnly) {
  proto::Scenario s = Parse("system { namenode_costs { stat_us: 7 } }");
  ASSERT_TRUE(ApplyCalibration(s, R"({"namenode": {"create_us": 95, "stat_us": 11},
                                      "datanode": {"write_us_per_mib": 450}})")
                  .ok());
  ApplyDefaults(s);
  EXPECT_EQ(s.system().namenode_costs().create_us(), 95);
  EXPECT_EQ(s.system().namenode_costs().stat_us(), 7);  // the scenario's own wins
  EXPECT_EQ(s.system().datanode_costs().write_us_per_mib(), 450);
  EXPECT_EQ(s.system().datanode_costs().read_us_per_mib(), 450);  // default: the write figure
  // The format granary-bench --calibrate writes.
  proto::Scenario b = Parse("");
  ASSERT_TRUE(ApplyCalibration(b, R"({"format": "granary-calibration/1",
      "namenode_service_us": {"create": 80.5, "stat": 12, "open": 30, "list": 44},
      "datanode_us_per_mib": {"write": 900, "read": 400}})")
                  .ok());
  EXPECT_EQ(b.system().namenode_costs().create_us(), 80.5);
  EXPECT_EQ(b.system().namenode_costs().list_us(), 44);
  EXPECT_EQ(b.system().datanode_costs().write_us_per_mib(), 900);
  EXPECT_FALSE(ApplyCalibration(s, "[1, 2]").ok());
  EXPECT_FALSE(ApplyCalibration(s, R"({"namenode": {"open_us": -1}})").ok());
  EXPECT_FALSE(ApplyCalibration(s, "{nope").ok());
}

TEST(TraceFormatTest, RoundTripsAndRejectsBadRows) {
  std::vector<TraceRow> rows = {{0.5, 1, "", "create", "/a/b", 4096, ""},
                                {1.25, 0, "", "rename", "/a/b", 0, "/a/c"}};
  Result<std::vector<TraceRow>> parsed = ParseTrace(FormatTrace(rows));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].op, "create");
  EXPECT_EQ((*parsed)[0].size, 4096u);
  EXPECT_EQ((*parsed)[0].client_name, "client-1");
  EXPECT_EQ((*parsed)[1].destination, "/a/c");
  EXPECT_DOUBLE_EQ((*parsed)[1].time_s, 1.25);
  for (const char* bad : {"x,c,create,/a,1\n", "1,c,fly,/a,1\n", "1,c,create,a,1\n",
                          "1,c,rename,/a,0\n", "1,c,create,/a\n", "-1,c,stat,/a,0\n"}) {
    Result<std::vector<TraceRow>> r = ParseTrace(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("trace line 1"), std::string::npos) << bad;
  }
}

// The tables compiled into the workloads equal the CSV files they were copied from.
std::vector<std::pair<std::string, double>> ReadCsv(const std::string& name) {
  std::ifstream in(std::string(GRANARY_SOURCE_DIR) + "/experiments/workloads/" + name);
  EXPECT_TRUE(in.good()) << name;
  std::vector<std::pair<std::string, double>> rows;
  std::string line;
  bool header = true;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (header) {
      header = false;
      continue;
    }
    const size_t comma = line.find(',');
    rows.emplace_back(line.substr(0, comma), std::stod(line.substr(comma + 1)));
  }
  return rows;
}

TEST(WorkloadTablesTest, MatchTheirCsvFiles) {
  const auto mix = ReadCsv("spotify_op_mix.csv");
  ASSERT_EQ(mix.size(), SpotifyOpMix().size());
  for (size_t i = 0; i < mix.size(); ++i) {
    EXPECT_EQ(mix[i].first, SpotifyOpMix()[i].first);
    EXPECT_DOUBLE_EQ(mix[i].second, SpotifyOpMix()[i].second);
  }
  const auto sizes = ReadCsv("small_file_sizes.csv");
  ASSERT_EQ(sizes.size(), SmallFileSizes().size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    EXPECT_EQ(std::stoull(sizes[i].first), SmallFileSizes()[i].first);
    EXPECT_DOUBLE_EQ(sizes[i].second, SmallFileSizes()[i].second);
  }
}

TEST(WorkloadTablesTest, SmallFileDrawsStayInTheirBuckets) {
  Random random(42);
  uint64_t max = 0;
  for (int i = 0; i < 10000; ++i) max = std::max(max, DrawSmallFileBytes(random));
  EXPECT_LE(max, 32768u);
  EXPECT_GT(max, 16384u);
}

}  // namespace
}  // namespace granary::sim
