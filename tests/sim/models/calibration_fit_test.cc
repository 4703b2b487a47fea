// The calibration's distributions and shared-host models (sim/models/calibration.h), fitted
// on synthetic inputs whose answers are known: a heavy-tailed sync distribution survives the
// bench's summary (bench/process_cpu.h Quantiles) and the simulator's sampling with its mean
// and tail; a wake-up cost is recovered from one call in flight against many; the host's
// concurrent syncs and a CPU-burning neighbour act as the scenario says.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "bench/process_cpu.h"
#include "core/common/random.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/calibration.h"
#include "sim/models/sim_disk.h"
#include "sim/models/sim_disk_storage.h"
#include "sim/runs/scenario.h"

namespace granary::sim {
namespace {

using nlohmann::json;
using std::chrono::microseconds;
using std::chrono::seconds;

// The smallest calibration file the fit accepts; every CPU figure 0 but the RPC layer's.
json BaseDoc(double rpc_call_us, double rpc_loaded_us) {
  json doc = {{"format", "granary-calibration/2"},
              {"rpc_cpu_us_per_call", rpc_call_us},
              {"rpc_cpu_us_per_call_loaded", rpc_loaded_us},
              {"sync_us", 300},
              {"large_file_bytes", 1 << 21}};
  for (const char* op :
       {"stat_inline", "create_inline", "open_inline", "create_blocks", "open_blocks"}) {
    doc["cpu_us_per_op"][op] = {{"client", 0}, {"namenode", 0}, {"datanodes", 0}};
  }
  for (const char* op : {"write", "read"}) {
    doc["cpu_us_per_mib"][op] = {{"client", 0}, {"namenode", 0}, {"datanodes", 0}};
  }
  return doc;
}

double Mean(const std::vector<double>& v) {
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// Pareto (x_m = 150 us, alpha = 1.8): mean 337 us, p99 1.9 ms, a tail a mean hides. The bench
// keeps its 400 measured syncs (400 bins of one); here 20,000 synthetic ones in 1,000 bins,
// so that the input's own p99 is well defined and a bin is narrower than the tail's steps.
TEST(CalibrationFitTest, HeavyTailedSyncDistributionKeepsItsMeanAndTail) {
  Random random(7);
  std::vector<double> input;
  for (int i = 0; i < 20000; ++i) {
    input.push_back(150 / std::pow(1 - random.UniformDouble(), 1 / 1.8));
  }
  json doc = BaseDoc(20, 20);
  doc["sync_us_quantiles"] = bench::Quantiles(input, 1000);
  doc["dir_sync_us_quantiles"] = bench::Quantiles(input, 1000);
  proto::Scenario s;
  ASSERT_TRUE(ApplyCalibration(s, doc.dump()).ok());
  ASSERT_EQ(s.cluster().datanode().disk_sync_us_samples_size(), 1000);
  ASSERT_EQ(s.cluster().datanode().disk_dir_sync_us_samples_size(), 1000);
  ASSERT_EQ(s.cluster().meta_store().write_us_samples_size(), 1000);

  DiskProfile profile;
  for (double us : s.cluster().datanode().disk_sync_us_samples()) {
    profile.sync_samples.push_back(Duration(static_cast<int64_t>(us * 1e3)));
  }
  SimDiskStorage storage(profile, Random(1));
  std::vector<double> drawn;
  for (int i = 0; i < 200000; ++i) {
    drawn.push_back(static_cast<double>(storage.SyncLatency(false).count()) / 1e3);
  }
  // The mean is kept (bins by their means), the tail to a bin's width (0.1 %).
  EXPECT_NEAR(Mean(drawn), Mean(input), 0.03 * Mean(input));
  EXPECT_NEAR(Percentile(drawn, 0.5), Percentile(input, 0.5), 0.05 * Percentile(input, 0.5));
  EXPECT_NEAR(Percentile(drawn, 0.9), Percentile(input, 0.9), 0.10 * Percentile(input, 0.9));
  EXPECT_NEAR(Percentile(drawn, 0.99), Percentile(input, 0.99), 0.10 * Percentile(input, 0.99));
  // A fixed latency (the mean) would have no tail at all: the distribution is what differs.
  EXPECT_GT(Percentile(drawn, 0.99), 3 * Mean(input));
  // The same seed draws the same sequence (determinism); another seed another one.
  SimDiskStorage again(profile, Random(1)), other(profile, Random(2));
  std::vector<int64_t> a, b, c;
  for (int i = 0; i < 50; ++i) {
    a.push_back(again.SyncLatency(false).count());
    c.push_back(other.SyncLatency(false).count());
    b.push_back(static_cast<int64_t>(drawn[static_cast<size_t>(i)] * 1e3));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

// Without samples a sync keeps the profile's fixed latencies (runs without a calibration
// file draw nothing: their traces do not move).
TEST(CalibrationFitTest, WithoutSamplesSyncsKeepTheProfile) {
  DiskProfile profile;
  profile.sync_latency = microseconds(700);
  profile.directory_sync_latency = microseconds(90);
  SimDiskStorage storage(profile, Random(1));
  EXPECT_EQ(storage.SyncLatency(false), microseconds(700));
  EXPECT_EQ(storage.SyncLatency(true), microseconds(90));
}

// On a host of one core the wake-ups scale by the RPC layer's one-in-flight CPU measured on
// one CPU: (one_core - loaded) / 2 against (call - loaded) / 2.
TEST(CalibrationFitTest, OneCoreHostScalesWakeups) {
  json doc = BaseDoc(32, 12);                // w = 10 on two cores
  doc["rpc_cpu_us_per_call_one_core"] = 16;  // w = 2 on one
  proto::Scenario two, one;
  two.mutable_cluster()->set_shared_host_cores(2);
  one.mutable_cluster()->set_shared_host_cores(1);
  ASSERT_TRUE(ApplyCalibration(two, doc.dump()).ok());
  ASSERT_TRUE(ApplyCalibration(one, doc.dump()).ok());
  EXPECT_DOUBLE_EQ(two.cluster().namenode().rpc_wakeup_us(), 10);
  EXPECT_DOUBLE_EQ(one.cluster().namenode().rpc_wakeup_us(), 2);
  EXPECT_DOUBLE_EQ(one.cluster().client().rpc_wakeup_us(), 2);
  EXPECT_DOUBLE_EQ(one.cluster().namenode().rpc_cpu_us(), 3);  // a busy message: unchanged
}

// A synthetic RPC layer: a message costs m = 3 us when its node is busy and a wake-up
// w = 10 us more when it finds it idle. One call in flight: four messages, two received by
// idle ends: 4 m + 2 w = 32 us. Many in flight: 4 m = 12 us. The fit recovers m and w.
TEST(CalibrationFitTest, WakeupRecoveredFromOneAgainstManyInFlight) {
  const double m = 3, w = 10;
  proto::Scenario s;
  ASSERT_TRUE(ApplyCalibration(s, BaseDoc(4 * m + 2 * w, 4 * m).dump()).ok());
  EXPECT_DOUBLE_EQ(s.cluster().namenode().rpc_cpu_us(), m);
  EXPECT_DOUBLE_EQ(s.cluster().datanode().rpc_cpu_us(), m);
  EXPECT_DOUBLE_EQ(s.cluster().namenode().rpc_wakeup_us(), w);
  EXPECT_DOUBLE_EQ(s.cluster().client().rpc_wakeup_us(), w);
  // Busier than one in flight costs no wake-up: none is recovered.
  proto::Scenario busy;
  ASSERT_TRUE(ApplyCalibration(busy, BaseDoc(4 * m, 4 * m).dump()).ok());
  EXPECT_DOUBLE_EQ(busy.cluster().namenode().rpc_wakeup_us(), 0);
}

// A disk that completes k syncs at once: k syncers each wait k / slots times one's latency.
// With one syncer at 300 us, two at 320 and eight at 600 the host completes the most of
// 2 x 300 / 320 and 8 x 300 / 600 at once: 4.
TEST(CalibrationFitTest, HostSyncSlotsFromConcurrentSyncs) {
  json doc = BaseDoc(20, 20);
  doc["sync_concurrency"] = json::array({{{"threads", 1}, {"median_us", 300}, {"per_s", 3300}},
                                         {{"threads", 2}, {"median_us", 320}, {"per_s", 6000}},
                                         {{"threads", 8}, {"median_us", 600}, {"per_s", 13000}}});
  proto::Scenario shared;
  shared.mutable_cluster()->set_shared_host_cores(2);
  ASSERT_TRUE(ApplyCalibration(shared, doc.dump()).ok());
  EXPECT_EQ(shared.cluster().host_sync_slots(), 4u);
  // Not a shared host: each datanode's disk is its own.
  proto::Scenario apart;
  ASSERT_TRUE(ApplyCalibration(apart, doc.dump()).ok());
  EXPECT_EQ(apart.cluster().host_sync_slots(), 0u);
  // A disk that slows with every syncer completes one at a time.
  doc["sync_concurrency"][1]["median_us"] = 600;
  doc["sync_concurrency"][2]["median_us"] = 9000;
  proto::Scenario serial;
  serial.mutable_cluster()->set_shared_host_cores(2);
  ASSERT_TRUE(ApplyCalibration(serial, doc.dump()).ok());
  EXPECT_EQ(serial.cluster().host_sync_slots(), 1u);
  doc["sync_concurrency"] = json::array({{{"threads", 8}, {"median_us", 600}}});
  proto::Scenario no_single;
  no_single.mutable_cluster()->set_shared_host_cores(2);
  EXPECT_FALSE(ApplyCalibration(no_single, doc.dump()).ok());
}

// Two processes' disks share one host sync slot: two syncs at once end one after the other;
// with two slots together. The injected delay is waited after, holding no slot.
TEST(CalibrationFitTest, HostSyncSlotsSerialiseSyncsOfSeveralDisks) {
  auto ends = [](uint32_t slots, Duration delay) {
    Simulator sim(1);
    DiskProfile profile;
    profile.sync_latency = microseconds(1000);
    profile.sync_delay = delay;
    profile.host_sync_slots = std::make_shared<std::vector<Instant>>(slots, Instant{});
    SimDiskStorage first(profile, Random(1)), second(profile, Random(2));
    std::vector<Duration> out;
    NodeOptions node;
    node.name = "host";
    const NodeId id = sim.AddNode(node, [&](SimProcess& p) {
      SimDisk a(p, first), b(p, second);
      EXPECT_TRUE(a.Create("x").ok());
      EXPECT_TRUE(b.Create("x").ok());
      const Instant start = p.env().Now();
      int done = 0;
      for (SimDisk* disk : {&a, &b}) {
        p.env().Spawn("sync", [&, disk] {
          EXPECT_TRUE(disk->Sync("x").ok());
          out.push_back(p.env().Now() - start);
          ++done;
        });
      }
      while (done < 2) ASSERT_TRUE(p.env().SleepFor(microseconds(100)).ok());
    });
    sim.StartNode(id);
    sim.RunFor(seconds(1));
    EXPECT_TRUE(sim.Shutdown().ok());
    return out;
  };
  EXPECT_EQ(ends(1, Duration(0)), (std::vector<Duration>{microseconds(1000), microseconds(2000)}));
  EXPECT_EQ(ends(2, Duration(0)), (std::vector<Duration>{microseconds(1000), microseconds(1000)}));
  EXPECT_EQ(ends(1, microseconds(500)),
            (std::vector<Duration>{microseconds(1500), microseconds(2500)}));
}

// A CPU-burning neighbour on a shared host core: the node's work takes (cores + neighbours)
// / cores as long (ClusterSpec.host_cpu_neighbours).
TEST(CalibrationFitTest, NeighbourStretchesSharedHostWork) {
  auto took = [](double stretch) {
    Simulator sim(1);
    NodeOptions node;
    node.name = "proc";
    node.cores = 1;
    node.shared_cores = std::make_shared<std::vector<Instant>>(1, Instant{});
    node.shared_core_stretch = stretch;
    Duration out{};
    const NodeId id = sim.AddNode(node, [&](SimProcess& p) {
      const Instant start = p.env().Now();
      EXPECT_TRUE(p.env().ChargeCpu(microseconds(2000)).ok());
      out = p.env().Now() - start;
    });
    sim.StartNode(id);
    sim.RunFor(seconds(1));
    EXPECT_TRUE(sim.Shutdown().ok());
    return out;
  };
  EXPECT_EQ(took(1), microseconds(2000));
  EXPECT_EQ(took(2), microseconds(4000));
}

}  // namespace
}  // namespace granary::sim
