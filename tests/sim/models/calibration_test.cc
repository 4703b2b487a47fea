// The message counts that sim/calibration.h's fit relies on, checked against the protocol the
// core actually runs: every message costs its node 1 us of CPU and nothing else does, so the
// CPU each class was charged for an operation is its message count in microseconds.
#include "sim/models/calibration.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "sim/models/mem_store.h"
#include "sim/models/sim_disk_storage.h"
#include "sim/runs/scenario.h"
#include "sim/runs/scenario_runner.h"
#include "tests/core/client/cluster_test_util.h"

namespace granary::sim {
namespace {

using cluster_testing::ClusterHarness;
using cluster_testing::Pattern;
using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::seconds;

SimClusterOptions CountingOptions(uint64_t inline_threshold) {
  SimClusterOptions o = FastClusterOptions();
  o.namenode_cores = o.datanode_cores = o.client_cores = 4;
  for (RpcCpuCost* cost : {&o.namenode_rpc_cpu, &o.datanode_rpc_cpu, &o.client_rpc_cpu}) {
    cost->per_message = microseconds(1);
  }
  o.namenode.cpu_per_method.clear();
  o.namenode.cpu_per_request = Duration(0);
  o.namenode.cpu_per_reported_block = Duration(0);
  o.namenode.ns.inline_threshold_bytes = inline_threshold;
  o.namenode.ns.default_block_bytes = 128 << 20;  // as the real namenode's
  // Nothing periodic during a measurement: heartbeats far apart, no scanner.
  o.namenode.heartbeat_interval = hours(1);
  o.datanode.heartbeat_interval = hours(1);
  o.namenode.datanode_dead_after = hours(10);
  o.datanode.scanner_bytes_per_second = 0;
  o.datanode.checksum_bytes_per_second = 1e18;  // checksums cost nothing
  o.client_packet_bytes = 1 << 20;
  o.client_read_ahead_bytes = 1 << 20;
  return o;
}

// The value of `total()` before and after `op`, each once the cluster has settled (replica
// reports come after the client's call returns).
template <typename Total>
auto BeforeAndAfter(SimProcess& client, const std::function<void()>& op, Total total) {
  (void)client.env().SleepFor(seconds(2));
  const auto before = total();
  op();
  (void)client.env().SleepFor(seconds(2));
  return std::make_pair(before, total());
}

double Micros(Duration d) { return static_cast<double>(d.count()) / 1000; }

// Messages each class handled while `op` ran (each cost 1 us of CPU).
MessageCounts Count(ClusterHarness& h, SimProcess& client, const std::function<void()>& op) {
  const auto [before, after] = BeforeAndAfter(client, op, [&] {
    MessageCounts m;
    m.client = Micros(client.node().cpu_charged());
    m.namenode = Micros(h.sim().node(h.cluster().namenode_id()).cpu_charged());
    for (NodeId id : h.cluster().datanode_ids())
      m.datanodes += Micros(h.sim().node(id).cpu_charged());
    return m;
  });
  return MessageCounts{after.client - before.client, after.namenode - before.namenode,
                       after.datanodes - before.datanodes};
}

// Syncs while `op` ran.
SyncCounts CountSyncs(ClusterHarness& h, SimProcess& client, const std::function<void()>& op) {
  const auto [before, after] = BeforeAndAfter(client, op, [&] {
    SyncCounts c;
    c.namenode_commits =
        static_cast<double>(h.cluster().machine(h.cluster().namenode_id()).meta_store().sequence());
    for (NodeId id : h.cluster().datanode_ids()) {
      c.datanode_file_syncs +=
          static_cast<double>(h.cluster().machine(id).disk_storage().file_syncs());
      c.datanode_directory_syncs +=
          static_cast<double>(h.cluster().machine(id).disk_storage().directory_syncs());
    }
    return c;
  });
  return SyncCounts{after.namenode_commits - before.namenode_commits,
                    after.datanode_file_syncs - before.datanode_file_syncs,
                    after.datanode_directory_syncs - before.datanode_directory_syncs};
}

void ExpectSyncs(const SyncCounts& got, const SyncCounts& want, const char* what) {
  EXPECT_EQ(got.namenode_commits, want.namenode_commits) << what << ": namenode commits";
  EXPECT_EQ(got.datanode_file_syncs, want.datanode_file_syncs) << what << ": file syncs";
  EXPECT_EQ(got.datanode_directory_syncs, want.datanode_directory_syncs)
      << what << ": directory syncs";
}

void ExpectCounts(const MessageCounts& got, const MessageCounts& want, const char* what) {
  EXPECT_EQ(got.client, want.client) << what << ": client";
  EXPECT_EQ(got.namenode, want.namenode) << what << ": namenode";
  EXPECT_EQ(got.datanodes, want.datanodes) << what << ": datanodes";
}

TEST(CalibrationCountsTest, InlineOperations) {
  ClusterHarness h(CountingOptions(64 * 1024));
  h.RunClient([&](SimProcess& p, FileSystem& fs) {
    const std::string data = Pattern(1, 4096);
    ASSERT_TRUE(fs.WriteFile("/warm", data, CreateOptions{}).ok());  // fetches server defaults
    ExpectCounts(Count(h, p, [&] { ASSERT_TRUE(fs.WriteFile("/f", data, CreateOptions{}).ok()); }),
                 kCreateInlineMessages, "inline create");
    ExpectCounts(Count(h, p, [&] { ASSERT_TRUE(fs.Stat("/f").ok()); }), kStatMessages, "stat");
    ExpectSyncs(
        CountSyncs(h, p, [&] { ASSERT_TRUE(fs.WriteFile("/g", data, CreateOptions{}).ok()); }),
        kCreateInlineSyncs, "inline create");
    ExpectCounts(Count(h, p, [&] { ASSERT_EQ(*fs.ReadFile("/f"), data); }), kOpenInlineMessages,
                 "inline open and read");
  });
}

TEST(CalibrationCountsTest, BlockOperations) {
  ClusterHarness h(CountingOptions(0));
  h.RunClient([&](SimProcess& p, FileSystem& fs) {
    const std::string small = Pattern(2, 4096);
    ASSERT_TRUE(fs.WriteFile("/warm", small, CreateOptions{}).ok());
    ExpectCounts(Count(h, p, [&] { ASSERT_TRUE(fs.WriteFile("/s", small, CreateOptions{}).ok()); }),
                 kCreateBlocksMessages, "block create");
    ExpectCounts(Count(h, p, [&] { ASSERT_EQ(*fs.ReadFile("/s"), small); }), kOpenBlocksMessages,
                 "block open and read");
    ExpectSyncs(
        CountSyncs(h, p, [&] { ASSERT_TRUE(fs.WriteFile("/t", small, CreateOptions{}).ok()); }),
        kCreateBlocksSyncs, "block create");
    // Four more 1 MiB packets, and one more 4 MiB read piece: the per-packet and per-MiB
    // read counts.
    const std::string one = Pattern(3, 1 << 20);
    const std::string five = Pattern(4, 5 << 20);
    const MessageCounts w1 =
        Count(h, p, [&] { ASSERT_TRUE(fs.WriteFile("/one", one, CreateOptions{}).ok()); });
    const MessageCounts w5 =
        Count(h, p, [&] { ASSERT_TRUE(fs.WriteFile("/five", five, CreateOptions{}).ok()); });
    ExpectCounts(MessageCounts{(w5.client - w1.client) / 4, (w5.namenode - w1.namenode) / 4,
                               (w5.datanodes - w1.datanodes) / 4},
                 kWritePacketMessages, "write packet");
    const MessageCounts r1 =
        Count(h, p, [&] { ASSERT_EQ(fs.ReadFile("/one")->size(), one.size()); });
    const MessageCounts r5 =
        Count(h, p, [&] { ASSERT_EQ(fs.ReadFile("/five")->size(), five.size()); });
    ExpectCounts(MessageCounts{(r5.client - r1.client) / 4, (r5.namenode - r1.namenode) / 4,
                               (r5.datanodes - r1.datanodes) / 4},
                 kReadPieceMessages, "read piece");
  });
}

// The fit of sim/calibration.h on figures chosen so each result is known.
TEST(MeasuredCalibrationTest, SplitsCpuBetweenMessagesAndHandlers) {
  // m = 20 / 4 = 5 per message, w = (28 - 20) / 2 = 4 per wake-up: a server message with
  // half a wake-up is 7.
  const std::string doc = R"({"format": "granary-calibration/2", "rpc_cpu_us_per_call": 28,
    "rpc_cpu_us_per_call_loaded": 20, "sync_us": 1500, "dir_sync_us": 60,
    "sync_cpu_us": 2, "dir_sync_cpu_us": 0.5,
    "file_bytes": 4096, "large_file_bytes": 2097152,
    "main_thread_share": {"client": 0.5, "namenode": 0.25, "datanodes": 1},
    "cpu_us_per_op": {
      "stat_inline": {"client": 20, "namenode": 17, "datanodes": 0},
      "create_inline": {"client": 25, "namenode": 60, "datanodes": 0},
      "open_inline": {"client": 22, "namenode": 30, "datanodes": 0},
      "create_blocks": {"client": 305, "namenode": 160, "datanodes": 140},
      "open_blocks": {"client": 122, "namenode": 31, "datanodes": 40}},
    "cpu_us_per_mib": {
      "write": {"client": 500, "namenode": 0, "datanodes": 1130},
      "read": {"client": 700, "namenode": 1, "datanodes": 406}}})";
  proto::Scenario s;
  ASSERT_TRUE(ApplyCalibration(s, doc).ok());
  ApplyDefaults(s);
  const proto::ClientCosts& k = s.system().client_costs();
  EXPECT_DOUBLE_EQ(k.stat_us(), 16);
  EXPECT_DOUBLE_EQ(k.call_us(), 16);
  EXPECT_DOUBLE_EQ(k.create_us(), 21);
  EXPECT_DOUBLE_EQ(k.open_us(), 18);
  EXPECT_DOUBLE_EQ(k.write_block_us(), 305 - 25 - 40 - 4);
  EXPECT_DOUBLE_EQ(k.read_block_us(), 122 - 22 - 4);
  EXPECT_DOUBLE_EQ(k.write_us_per_mib(), 500 - 236 - 4);
  // A quarter of a read call (and of its wake-up) per MiB: pieces are 4 MiB.
  EXPECT_DOUBLE_EQ(k.read_us_per_mib(), 700 - (96 + 4) / 4.0);
  EXPECT_FALSE(s.cluster().client().has_rpc_cpu_us());
  for (const proto::NodeClass* node :
       {&s.cluster().client(), &s.cluster().namenode(), &s.cluster().datanode()}) {
    EXPECT_DOUBLE_EQ(node->rpc_wakeup_us(), 4);
  }
  EXPECT_DOUBLE_EQ(s.cluster().namenode().rpc_cpu_us(), 5);
  EXPECT_DOUBLE_EQ(s.cluster().datanode().rpc_cpu_us(), 5);
  EXPECT_DOUBLE_EQ(s.cluster().client().main_thread_share(), 0.5);
  EXPECT_DOUBLE_EQ(s.cluster().namenode().main_thread_share(), 0.25);
  EXPECT_DOUBLE_EQ(s.system().namenode_costs().stat_us(), 3);
  EXPECT_DOUBLE_EQ(s.system().namenode_costs().create_us(), 46 - 2);  // less one commit's CPU
  EXPECT_DOUBLE_EQ(s.system().namenode_costs().open_us(), 16);
  EXPECT_DOUBLE_EQ(s.system().namenode_costs().block_op_us(), (160 - 84 - 3 * 2 - 44) / 5.0);
  EXPECT_DOUBLE_EQ(s.system().namenode_costs().block_report_us(), 26 / 5.0);
  // Less 6 file syncs x 2 and 18 directory syncs x 0.5.
  EXPECT_DOUBLE_EQ(s.system().datanode_costs().replica_us(), (140 - 112 - 21) / 3.0);
  EXPECT_DOUBLE_EQ(s.system().datanode_costs().write_us_per_mib(),
                   (1130 - 70 - (7 + 21) / 2.0) / 3.0);
  EXPECT_DOUBLE_EQ(s.system().datanode_costs().read_us_per_mib(), 406 - 14 / 4.0);
  EXPECT_DOUBLE_EQ(s.cluster().datanode().disk_sync_us(), 1500);
  EXPECT_DOUBLE_EQ(s.cluster().datanode().disk_dir_sync_us(), 60);
  EXPECT_DOUBLE_EQ(s.cluster().meta_store().write_us(), 1500);
  EXPECT_DOUBLE_EQ(s.cluster().meta_store().read_us(), 0);
  // With the CPU of a stat under load, the wake-ups are each class's fall in it.
  std::string loaded = doc;
  loaded.insert(loaded.rfind('}'), R"(, "cpu_us_per_op_loaded": {
      "stat_inline": {"client": 8, "namenode": 2, "datanodes": 0}})");
  proto::Scenario l;
  ASSERT_TRUE(ApplyCalibration(l, loaded).ok());
  EXPECT_DOUBLE_EQ(l.cluster().client().rpc_wakeup_us(), 20 - 8);
  EXPECT_DOUBLE_EQ(l.cluster().namenode().rpc_wakeup_us(), 17 - 2 - 10);
  EXPECT_DOUBLE_EQ(l.system().client_costs().stat_us(), 8);
  EXPECT_DOUBLE_EQ(l.system().namenode_costs().stat_us(), 17 - 2 * (5 + 2.5));
  // A scenario's own figure wins; a missing measurement is named.
  proto::Scenario own;
  own.mutable_system()->mutable_namenode_costs()->set_stat_us(1);
  ASSERT_TRUE(ApplyCalibration(own, doc).ok());
  EXPECT_DOUBLE_EQ(own.system().namenode_costs().stat_us(), 1);
  const Status missing =
      ApplyCalibration(own, R"({"format": "granary-calibration/2", "sync_us": 1})");
  EXPECT_FALSE(missing.ok());
  EXPECT_NE(missing.message().find("cpu_us_per_op.stat_inline"), std::string::npos)
      << missing.message();
}

// Starts `clients` client nodes that each stat "/" once, all at the same instant, and returns
// the time until the last finished (the cluster runs 5 s).
Duration StatsAtOnce(ClusterHarness& h, int clients, const std::string& prefix) {
  int done = 0;
  Instant finished{};
  const Instant start = h.sim().Now();
  for (int i = 0; i < clients; ++i) {
    const NodeId id = h.cluster().AddClient(prefix + std::to_string(i), [&](SimProcess& p) {
      FileSystem fs(p.env(), p.transport(), h.cluster().ClientOptionsFor(p));
      EXPECT_TRUE(fs.Stat("/").ok());
      if (++done == clients) finished = p.env().Now();
    });
    h.sim().StartNode(id);
  }
  h.RunFor(seconds(5));
  EXPECT_EQ(done, clients);
  return finished - start;
}

// Shared host cores: two nodes' work queues on the same cores.
TEST(SharedHostTest, NodesOfOneHostShareItsCores) {
  SimClusterOptions o = CountingOptions(64 * 1024);
  o.shared_host_cores = 1;
  o.client_rpc_cpu.per_message = microseconds(1000);
  o.namenode_rpc_cpu.per_message = microseconds(1000);
  ClusterHarness h(o);
  Duration alone{0}, together{0};
  h.RunClient([&](SimProcess& p, FileSystem& fs) {
    const Instant start = p.env().Now();
    ASSERT_TRUE(fs.Stat("/").ok());
    alone = p.env().Now() - start;
  });
  // Two clients stat at once: on one shared core their 4 ms of CPU each cannot overlap.
  together = StatsAtOnce(h, 2, "pair-");
  EXPECT_GE(alone, microseconds(4000));  // 2 client + 2 namenode messages
  EXPECT_GE(together, microseconds(8000));
}

// Clients that are fibers of one process share its thread even with host cores free.
TEST(SharedHostTest, ClientsOfOneProcessShareItsThread) {
  auto pair_time = [](bool one_process) {
    SimClusterOptions o = CountingOptions(64 * 1024);
    o.shared_host_cores = 2;
    o.client_cores = 1;
    o.clients_in_one_process = one_process;
    o.namenode_rpc_cpu = RpcCpuCost{};
    o.client_rpc_cpu = RpcCpuCost{};
    o.client_rpc_cpu.per_message = microseconds(1000);
    ClusterHarness h(o);
    return StatsAtOnce(h, 2, "c-");
  };
  // Each stat is 2 ms of client CPU (request and reply): in parallel on the two host cores,
  // or one after the other on the one process's thread.
  const Duration apart = pair_time(false);
  const Duration together = pair_time(true);
  EXPECT_GE(apart, microseconds(2000));
  EXPECT_LT(apart, microseconds(4000));
  EXPECT_GE(together, microseconds(4000));
}

// On a shared host a process's CPU work is split: the main-thread share needs one of its
// handler threads, the rest its one helper thread; each thread does one thing at a time.
TEST(SharedHostTest, MainAndHelperThreadsEachServeOneAtATime) {
  Simulator sim(1);
  NodeOptions node;
  node.name = "proc";
  node.cores = 1;
  node.shared_cores = std::make_shared<std::vector<Instant>>(4, Instant{});
  node.main_thread_share = 0.5;
  std::vector<Duration> ends;
  const NodeId id = sim.AddNode(node, [&](SimProcess& p) {
    const Instant start = p.env().Now();
    int done = 0;
    for (int i = 0; i < 2; ++i) {
      p.env().Spawn("work", [&] {
        EXPECT_TRUE(p.env().ChargeCpu(microseconds(2000)).ok());
        ends.push_back(p.env().Now() - start);
        ++done;
      });
    }
    while (done < 2) ASSERT_TRUE(p.env().SleepFor(microseconds(100)).ok());
  });
  sim.StartNode(id);
  sim.RunFor(seconds(1));
  // First: main [0, 1 ms], helper [1, 2]. Second: main [1, 2] (the thread was busy), helper
  // [2, 3] (likewise), although two of the four host cores stayed free throughout.
  EXPECT_EQ(ends, (std::vector<Duration>{microseconds(2000), microseconds(3000)}));
  EXPECT_TRUE(sim.Shutdown().ok());
}

// A received message costs the wake-up only when it finds the node idle.
// A 64 MiB write and read on the host experiment 4 calibrated (one machine's two cores
// shared by every process, loopback-fast NICs whose links' jitter decides which of two
// packets arrives first). Experiment 4 found the write failing on every datanode of the
// pipeline when the writer kept several packets in flight by default: packets of one block
// overtook one another and the datanodes refused them.
TEST(SharedHostTest, LargeWriteAndReadSucceedOnTheCalibratedHost) {
  for (uint64_t seed : {1, 2, 3}) {
    Result<proto::Scenario> scenario =
        PrepareScenario(std::string(GRANARY_SIM_TEST_DATA) + "/calibrated_host/scenario.textproto",
                        {"cluster.clients=1", "workload.small_file_ingest.files=1",
                         "workload.small_file_ingest.file_bytes=67108864"},
                        seed);
    ASSERT_TRUE(scenario.ok()) << scenario.status().ToString();
    RunOptions options;
    options.scenario_dir = std::string(GRANARY_SIM_TEST_DATA) + "/calibrated_host";
    Result<nlohmann::json> run = RunScenario(*scenario, options);
    ASSERT_TRUE(run.ok()) << run.status().ToString();
    const nlohmann::json& results = (*run)["results"];
    EXPECT_EQ(results["failures"], 0) << "seed " << seed << ": " << results.dump();
    EXPECT_EQ(results["files_written"], 1) << "seed " << seed;
    EXPECT_EQ(results["files_read"], 1) << "seed " << seed;
  }
}

TEST(RpcCpuTest, WakeupIsPaidOnlyByAnIdleNode) {
  SimClusterOptions o = CountingOptions(64 * 1024);
  o.namenode_cores = 1;
  o.client_rpc_cpu = RpcCpuCost{};
  o.namenode_rpc_cpu = RpcCpuCost{};
  o.namenode_rpc_cpu.wakeup = microseconds(100);
  o.namenode.cpu_per_method[std::string(rpc::nn::kStat.name)] = microseconds(1000);
  ClusterHarness h(o);
  const NodeId nn = h.cluster().namenode_id();
  auto stats_at_once = [&](int clients) {
    const Duration before = h.sim().node(nn).cpu_charged();
    (void)StatsAtOnce(h, clients, "stat-" + std::to_string(clients) + "-");
    return h.sim().node(nn).cpu_charged() - before;
  };
  EXPECT_EQ(stats_at_once(1), microseconds(1100));
  // The second request arrives while the first is being served: no second wake-up.
  EXPECT_EQ(stats_at_once(2), microseconds(2100));
}

}  // namespace
}  // namespace granary::sim
