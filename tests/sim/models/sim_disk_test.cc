#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/sim_disk_storage.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using testing::FinishAndShutDown;
using testing::ModelledSim;
using testing::Node;
using testing::RunOnOneNode;

std::string Bytes(Random& random, uint64_t size) {
  std::string out(size, '\0');
  for (char& c : out) c = static_cast<char>(random.Next());
  return out;
}

// Every seed: three files, appends, syncs at random points, more appends, a crash. What is
// left of each file is its synced bytes plus a prefix of the rest, never more; across seeds
// the unsynced tail is sometimes dropped, sometimes torn and sometimes kept.
TEST(SimDiskTest, CrashKeepsSyncedBytesAndAPrefixOfTheRest) {
  const uint64_t base_seed = testing::SeedForTest();
  int dropped = 0;
  int torn = 0;
  int kept = 0;
  for (uint64_t seed = base_seed; seed < base_seed + 300; ++seed) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    Random random(seed);
    SimDiskStorage storage(DiskProfile{}, Random(seed).Derive("disk"));
    struct Expected {
      std::string all;
      uint64_t synced = 0;
    };
    std::vector<Expected> files(3);
    for (size_t f = 0; f < files.size(); ++f) {
      const std::string name = "f" + std::to_string(f);
      ASSERT_TRUE(storage.Create(name).ok());
      const int appends = static_cast<int>(random.Below(6));
      for (int a = 0; a < appends; ++a) {
        const std::string data = Bytes(random, random.Below(5000));
        ASSERT_TRUE(storage.Append(name, data).ok());
        files[f].all += data;
        if (random.Bernoulli(0.4)) {
          ASSERT_TRUE(storage.MarkSynced(name, files[f].all.size()).ok());
          files[f].synced = files[f].all.size();
        }
      }
      ASSERT_EQ(storage.UnsyncedBytes(name), files[f].all.size() - files[f].synced);
    }
    storage.Crash();
    uint64_t total = 0;
    for (size_t f = 0; f < files.size(); ++f) {
      const std::string name = "f" + std::to_string(f);
      const Expected& want = files[f];
      const uint64_t size = *storage.Size(name);
      ASSERT_GE(size, want.synced);
      ASSERT_LE(size, want.all.size());
      ASSERT_EQ(*storage.Read(name, 0, size + 1), want.all.substr(0, size));
      EXPECT_EQ(storage.UnsyncedBytes(name), 0u) << "what survived a crash is durable";
      total += size;
      if (want.all.size() > want.synced) {
        dropped += size == want.synced;
        kept += size == want.all.size();
        torn += size > want.synced && size < want.all.size();
      }
    }
    EXPECT_EQ(storage.Usage().used_bytes, total);
  }
  EXPECT_GT(dropped, 0);
  EXPECT_GT(torn, 0);
  EXPECT_GT(kept, 0);
}

// The same promise through SimDisk and whole-node crashes: each incarnation checks what the
// one before synced, then appends and syncs until the crash comes at a random time.
TEST(SimDiskTest, SyncedDataSurvivesNodeCrashes) {
  const uint64_t seed = testing::SeedForTest();
  SCOPED_TRACE(testing::SeedTrace(seed));
  ModelledSim sim(seed);
  std::string synced;    // what the last completed Sync covered
  std::string appended;  // everything appended, synced or not
  int incarnations_checked = 0;
  int violations = 0;
  const NodeId id = sim.AddNode(Node("n", 0, NvmeProfile()), [&](SimProcess& process) {
    Disk& disk = process.disk();
    Env& env = process.env();
    if (process.incarnation() > 1) {
      Result<std::string> now = disk.Read("log", 0, appended.size() + 1);
      if (now.code() == StatusCode::kNodeDown) return;
      if (now.code() == StatusCode::kNotFound) {
        // The crash came before the file was created: fine only if nothing was synced.
        violations += !synced.empty();
      } else {
        if (!now.ok() || now->size() < synced.size() || now->size() > appended.size() ||
            *now != appended.substr(0, now->size())) {
          ++violations;
        }
        ++incarnations_checked;
        if (!disk.Remove("log").ok()) return;
      }
    }
    synced.clear();
    appended.clear();
    if (!disk.Create("log").ok()) return;
    for (int i = 0;; ++i) {
      const std::string data = Bytes(env.random(), 1 + env.random().Below(3000));
      if (!disk.Append("log", data).ok()) return;
      appended += data;
      if (i % 3 == 2) {
        const std::string covered = appended;
        if (!disk.Sync("log").ok()) return;
        synced = covered;
      }
    }
  });
  sim.StartNode(id);
  Random chaos = sim.DeriveRandom("chaos");
  for (int crash = 0; crash < 100; ++crash) {
    sim.RunFor(Duration(static_cast<int64_t>(chaos.Below(5000000))));
    sim.RestartNode(id);
  }
  sim.RunFor(1ms);
  FinishAndShutDown(sim, 1ms);
  EXPECT_EQ(violations, 0);
  EXPECT_GE(incarnations_checked, 50);  // most crashes leave a file to check
}

// A disk operation in service when the process crashes has no effect and returns kNodeDown.
TEST(SimDiskTest, OperationsInServiceAtACrashHaveNoEffect) {
  ModelledSim sim(1);
  Status append_status;
  const NodeId id = sim.AddNode(Node("n", 0, HddProfile()), [&](SimProcess& process) {
    if (process.incarnation() > 1) return;
    ASSERT_TRUE(process.disk().Create("f").ok());
    append_status = process.disk().Append("f", "never");
  });
  sim.StartNode(id);
  sim.RunFor(12ms);  // Create (10 ms) done; the Append (8 ms) is in service
  sim.CrashNode(id);
  sim.RunFor(1s);
  EXPECT_EQ(append_status.code(), StatusCode::kNodeDown);
  EXPECT_EQ(*sim.machine(id).disk_storage().Size("f"), 0u);
  EXPECT_EQ(sim.machine(id).disk_storage().Usage().used_bytes, 0u);
  ASSERT_TRUE(sim.Shutdown().ok());
}

TEST(SimDiskTest, FullDiskRejectsAppendsAndWritesNothing) {
  DiskProfile small;
  small.capacity_bytes = 100;
  SimDiskStorage storage(small, Random(1));
  ASSERT_TRUE(storage.Create("f").ok());
  ASSERT_TRUE(storage.Append("f", std::string(60, 'a')).ok());
  EXPECT_EQ(storage.Append("f", std::string(41, 'b')).code(), StatusCode::kNoSpace);
  EXPECT_EQ(*storage.Size("f"), 60u);
  EXPECT_EQ(storage.Usage().used_bytes, 60u);
  ASSERT_TRUE(storage.Append("f", std::string(40, 'c')).ok());  // exactly full
  EXPECT_EQ(storage.Append("f", "d").code(), StatusCode::kNoSpace);
  ASSERT_TRUE(storage.Truncate("f", 10).ok());
  EXPECT_TRUE(storage.Append("f", "e").ok());

  storage.SetFull(true);
  EXPECT_EQ(storage.Append("f", "x").code(), StatusCode::kNoSpace);
  EXPECT_EQ(*storage.Read("f", 0, 100), std::string(10, 'a') + "e");
  storage.SetFull(false);
  EXPECT_TRUE(storage.Append("f", "x").ok());
}

TEST(SimDiskTest, FullDiskThroughTheSeam) {
  ModelledSim sim(1);
  const NodeId id = sim.AddNode(Node("n"), [](SimProcess& process) {
    Disk& disk = process.disk();
    ASSERT_TRUE(disk.Create("f").ok());
    ASSERT_TRUE(disk.Append("f", "kept").ok());
    testing::MachineOf(process).disk_storage().SetFull(true);
    EXPECT_EQ(disk.Append("f", "lost").code(), StatusCode::kNoSpace);
    EXPECT_EQ(*disk.Read("f", 0, 100), "kept");
    EXPECT_EQ(disk.Usage()->used_bytes, 4u);
  });
  sim.StartNode(id);
  FinishAndShutDown(sim);
}

TEST(SimDiskTest, CorruptFlipsOneByteSilently) {
  SimDiskStorage storage(DiskProfile{}, Random(testing::SeedForTest()));
  ASSERT_TRUE(storage.Create("f").ok());
  const std::string original(1000, '\x5a');
  ASSERT_TRUE(storage.Append("f", original).ok());
  for (uint64_t offset : {0u, 1u, 500u, 999u}) {
    const std::string before = *storage.Read("f", 0, 1000);
    ASSERT_TRUE(storage.Corrupt("f", offset).ok());
    const std::string after = *storage.Read("f", 0, 1000);
    ASSERT_EQ(after.size(), before.size());
    int differing = 0;
    for (size_t i = 0; i < after.size(); ++i) differing += after[i] != before[i];
    EXPECT_EQ(differing, 1);
    EXPECT_NE(after[offset], before[offset]);
  }
  EXPECT_EQ(*storage.Size("f"), 1000u);
  EXPECT_EQ(storage.Corrupt("f", 1000).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(storage.Corrupt("missing", 0).code(), StatusCode::kNotFound);
}

// Elapsed virtual time of Create, a 64 KiB Append and a Sync on a disk of `profile`.
Duration WriteAndSyncTime(const DiskProfile& profile) {
  Duration elapsed{};
  RunOnOneNode(1, Node("n", 0, profile), [&elapsed](SimProcess& process) {
    Disk& disk = process.disk();
    const Instant start = process.env().Now();
    ASSERT_TRUE(disk.Create("f").ok());
    ASSERT_TRUE(disk.Append("f", std::string(64 * 1024, 'x')).ok());
    ASSERT_TRUE(disk.Sync("f").ok());
    elapsed = process.env().Now() - start;
  });
  return elapsed;
}

TEST(SimDiskTest, HddIsSlowerThanNvmeForTheSameWork) {
  const Duration hdd = WriteAndSyncTime(HddProfile());
  const Duration ssd = WriteAndSyncTime(SataSsdProfile());
  const Duration nvme = WriteAndSyncTime(NvmeProfile());
  EXPECT_GT(hdd, ssd);
  EXPECT_GT(ssd, nvme);
  EXPECT_GT(hdd, 10 * nvme);
  // Exactly the model: create (sync latency), append (write latency + bytes / bandwidth), sync.
  // HDD: 10 ms + 8 ms + 65536 B / 180 MB/s (364,089 ns) + 10 ms.
  EXPECT_EQ(hdd, 28ms + 364089ns);
  // NVMe: 300 µs + 15 µs + 65536 B / 3 GB/s (21,845 ns) + 300 µs.
  EXPECT_EQ(nvme, 615us + 21845ns);
}

TEST(SimDiskTest, DirectorySyncLatencyAppliesToCreatesNotFileSyncs) {
  DiskProfile profile = NvmeProfile();
  profile.directory_sync_latency = 50us;
  // Create 50 us (was the 300 us file sync), append 15 us + 21,845 ns, sync 300 us.
  EXPECT_EQ(WriteAndSyncTime(profile), 365us + 21845ns);
  EXPECT_EQ(WriteAndSyncTime(PageCacheProfile()), 1ms + 2us + 8192ns + 1ms);
}

// Completion times of `count` zero-byte reads issued at once.
std::vector<Duration> ConcurrentReads(const DiskProfile& profile, int count, uint64_t bytes) {
  std::vector<Duration> done;
  RunOnOneNode(1, Node("n", 0, profile), [&](SimProcess& process) {
    Disk& disk = process.disk();
    Env& env = process.env();
    // Set up without the timing model, so that all reads start at the same instant.
    ASSERT_TRUE(testing::MachineOf(process).disk_storage().Create("f").ok());
    ASSERT_TRUE(
        testing::MachineOf(process).disk_storage().Append("f", std::string(bytes, 'r')).ok());
    const Instant start = env.Now();
    int finished = 0;
    for (int i = 0; i < count; ++i) {
      env.Spawn("reader", [&, bytes] {
        Result<std::string> data = disk.Read("f", 0, bytes);
        EXPECT_TRUE(data.ok());
        done.push_back(env.Now() - start);
        ++finished;
      });
    }
    while (finished < count) ASSERT_TRUE(env.SleepFor(100us).ok());
  });
  return done;
}

TEST(SimDiskTest, QueueDepthOneServesOneOperationAtATime) {
  DiskProfile one;
  one.read_latency = 1ms;
  one.queue_depth = 1;
  EXPECT_EQ(ConcurrentReads(one, 4, 0), (std::vector<Duration>{1ms, 2ms, 3ms, 4ms}));
  DiskProfile four = one;
  four.queue_depth = 4;
  EXPECT_EQ(ConcurrentReads(four, 4, 0), (std::vector<Duration>{1ms, 1ms, 1ms, 1ms}));
  DiskProfile two = one;
  two.queue_depth = 2;
  EXPECT_EQ(ConcurrentReads(two, 4, 0), (std::vector<Duration>{1ms, 1ms, 2ms, 2ms}));
}

TEST(SimDiskTest, TransfersShareTheDisksBandwidth) {
  DiskProfile profile;
  profile.read_latency = 100us;
  profile.bandwidth_bytes_per_second = 500e6;
  profile.queue_depth = 32;
  // 1 MB at 500 MB/s is 2 ms; the second transfer waits for the first.
  EXPECT_EQ(ConcurrentReads(profile, 2, 1000000), (std::vector<Duration>{2100us, 4100us}));
}

}  // namespace
}  // namespace granary::sim
