// Quotas seen from clients of a simulated cluster (issue 17): writers running at once into
// one quota'd directory never take it past its limits at any instant, every write a client
// saw acknowledged reads back whole, the refused ones fail with kQuotaExceeded, and only the
// superuser sets quotas.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/namenode/namenode.h"
#include "tests/core/client/cluster_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using cluster_testing::Pattern;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr uint64_t kBlock = 512 * 1024;  // FastClusterOptions' block size
constexpr uint32_t kWriters = 4;
constexpr uint32_t kFilesPerWriter = 4;
constexpr uint32_t kReplication = 2;

// Samples the namenode's quotas every 10 ms of virtual time until `stop`; counts samples past
// a limit in `over`.
void Watch(sim::Simulator& sim, sim::SimCluster& cluster, const bool& stop, int& over,
           int& samples) {
  sim.At(sim.Now() + milliseconds(10), [&sim, &cluster, &stop, &over, &samples] {
    if (stop) return;
    if (const Namenode* namenode = cluster.namenode()) {
      for (const auto& [id, quota] : namenode->QuotaStates()) {
        ++samples;
        if (quota.bytes_max != 0 && quota.used.bytes > quota.bytes_max) ++over;
        if (quota.names_max != 0 && quota.used.names > quota.names_max) ++over;
      }
    }
    Watch(sim, cluster, stop, over, samples);
  });
}

TEST(QuotaClusterTest, ConcurrentBlockWritersStayWithinTheSpaceQuota) {
  ClusterHarness h;
  // Room for 7 blocks of 2 replicas: fewer than the writers ask for (16 files of 1.5 blocks).
  const uint64_t bytes_max = 7 * kBlock * kReplication;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    ASSERT_TRUE(fs.Mkdirs("/q").ok());
    ASSERT_TRUE(fs.SetQuota("/q", 100, bytes_max).ok());
  });
  bool stop = false;
  int over = 0;
  int samples = 0;
  Watch(h.sim(), h.cluster(), stop, over, samples);
  std::map<std::string, std::string> acknowledged;
  int refused = 0;
  int finished = 0;
  for (uint32_t w = 0; w < kWriters; ++w) {
    const NodeId id =
        h.cluster().AddClient("writer-" + std::to_string(w), [&, w](sim::SimProcess& p) {
          FileSystem fs(p.env(), p.transport(), h.cluster().ClientOptionsFor(p));
          for (uint32_t i = 0; i < kFilesPerWriter; ++i) {
            const std::string path = "/q/w" + std::to_string(w) + "-" + std::to_string(i);
            const std::string data = Pattern(w * 100 + i, kBlock + kBlock / 2);
            CreateOptions options;
            options.replication = kReplication;
            const Status written = fs.WriteFile(path, data, options);
            if (written.ok()) {
              acknowledged[path] = data;
            } else {
              EXPECT_EQ(written.code(), StatusCode::kQuotaExceeded) << written.ToString();
              ++refused;
            }
          }
          ++finished;
        });
    h.sim().StartNode(id);
  }
  const Instant end = h.sim().Now() + std::chrono::minutes(5);
  while (finished < static_cast<int>(kWriters) && h.sim().Now() < end) h.RunFor(milliseconds(100));
  ASSERT_EQ(finished, static_cast<int>(kWriters));
  // Writers whose last block was refused leave files open: their leases run out and
  // recovery closes them, giving the reservation back.
  h.RunFor(seconds(90));
  stop = true;
  EXPECT_GT(samples, 100);
  EXPECT_EQ(over, 0) << "samples past the quota";
  EXPECT_GT(refused, 0);
  EXPECT_GT(acknowledged.size(), 0u);
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    for (const auto& [path, data] : acknowledged) {
      Result<std::string> back = fs.ReadFile(path);
      ASSERT_TRUE(back.ok()) << path << ": " << back.status().ToString();
      EXPECT_EQ(*back, data) << path;
    }
    // What the namenode tracks is what the namespace holds, and within the limit.
    Result<std::vector<proto::FileStatus>> listed = fs.ListAll("/q");
    ASSERT_TRUE(listed.ok());
    uint64_t bytes = 0;
    for (const proto::FileStatus& file : *listed) {
      EXPECT_FALSE(file.under_construction()) << file.name();
      bytes += file.length_bytes() * file.replication();
    }
    Result<proto::GetQuotaReply> quota = fs.GetQuota("/q");
    ASSERT_TRUE(quota.ok());
    EXPECT_EQ(quota->names_used(), 1 + listed->size());
    EXPECT_EQ(quota->bytes_used(), bytes);
    EXPECT_LE(quota->bytes_used(), bytes_max);
  });
}

TEST(QuotaClusterTest, OnlyTheSuperuserSetsQuotasThroughTheNamenode) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess& p, FileSystem& fs) {
    ASSERT_TRUE(fs.Mkdirs("/shared").ok());
    ASSERT_TRUE(fs.SetPermission("/shared", 0777).ok());
    ClientOptions alice_options = h.cluster().ClientOptionsFor(p);
    alice_options.user.set_user("alice");
    alice_options.client_name += "/alice";
    FileSystem alice(p.env(), p.transport(), alice_options);
    const Status refused = alice.SetQuota("/shared", 1, std::nullopt);
    EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied) << refused.ToString();
    EXPECT_EQ(alice.ClearQuota("/shared").code(), StatusCode::kPermissionDenied);
    EXPECT_FALSE(alice.GetQuota("/shared")->has_quota());
    ASSERT_TRUE(fs.SetQuota("/shared", 2, std::nullopt).ok());
    ASSERT_TRUE(alice.WriteFile("/shared/one", "1", {}).ok());
    const Status full = alice.WriteFile("/shared/two", "2", {});
    EXPECT_EQ(full.code(), StatusCode::kQuotaExceeded);
    EXPECT_NE(full.message().find("name quota of /shared exceeded: 2 names"), std::string::npos)
        << full.ToString();
    EXPECT_EQ(alice.Stat("/shared/two").code(), StatusCode::kNotFound);
    Result<proto::GetQuotaReply> shown = alice.GetQuota("/shared");
    ASSERT_TRUE(shown.ok());
    EXPECT_TRUE(shown->has_quota());
    EXPECT_EQ(shown->names_max(), 2u);
    EXPECT_EQ(shown->names_used(), 2u);
  });
}

}  // namespace
}  // namespace granary
