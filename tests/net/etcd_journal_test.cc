// EtcdJournal (net/etcd_journal.h) against a real three-member etcd that each test starts on
// 127.0.0.1 (tests/net/etcd_cluster.h): the Journal contract suite (tests/seams/
// journal_contract.h) and what is EtcdJournal's own (options, defragmentation).
#include "net/etcd_journal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "net/etcd_client.h"
#include "net/real_env.h"
#include "tests/net/etcd_cluster.h"
#include "tests/net/net_test_util.h"
#include "tests/seams/journal_contract.h"

namespace granary::net {
namespace {

// etcd's shortest lease with a 500 ms election timeout is 1 s; 2 s leaves renewals room on
// a loaded machine.
constexpr Duration kLeaseTtl = std::chrono::seconds(2);
constexpr Duration kStartPatience = std::chrono::seconds(30);

class EtcdWorld final : public seams_test::JournalWorld {
 public:
  EtcdWorld(RealEnv& env, testing::EtcdCluster& cluster) : env_(env), cluster_(cluster) {}

  // Opens both clients and waits until the cluster answers a linearizable read.
  Status Open() {
    for (int i = 0; i < 2; ++i) {
      EtcdJournalOptions options;
      options.endpoints = cluster_.endpoints();
      options.prefix = "/granary-test/journal/";
      options.lease_ttl = kLeaseTtl;
      // Reads learn of new entries through the watch alone: the safety poll never fires
      // within a test (WaitingFollowerLearnsOfAnAppend relies on it).
      options.follow_poll_interval = std::chrono::hours(1);
      GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<EtcdJournal> journal,
                               EtcdJournal::Open(env_, options));
      journals_.push_back(std::move(journal));
    }
    GRANARY_ASSIGN_OR_RETURN(admin_, EtcdClient::Connect(env_, cluster_.endpoints()));
    return journals_[0]->LastSeq(env_.Now() + kStartPatience).status();
  }

  void Close() {
    journals_.clear();
    admin_.reset();
  }

  Env& env() override { return env_; }
  Journal& client(int i) override { return *journals_.at(i); }
  EtcdJournal& etcd(int i) { return *journals_.at(i); }
  EtcdClient& admin() { return *admin_; }
  Duration lease_ttl() override { return kLeaseTtl; }
  int members() override { return cluster_.members(); }
  bool Crash(int member) override { return cluster_.Crash(member); }
  // Restarts the member and waits until it answers again.
  bool Restart(int member) override {
    if (!cluster_.Restart(member)) return false;
    Result<etcdserverpb::StatusResponse> status =
        admin_->MemberStatus(member, env_.Now() + kStartPatience);
    EXPECT_TRUE(status.ok()) << status.status().ToString();
    return status.ok();
  }
  bool PauseRenewal(int i) override {
    journals_.at(i)->StopRenewing();
    return true;
  }

 private:
  RealEnv& env_;
  testing::EtcdCluster& cluster_;
  std::vector<std::unique_ptr<EtcdJournal>> journals_;
  std::shared_ptr<EtcdClient> admin_;
};

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream all;
  all << in.rdbuf();
  const std::string text = all.str();
  return text.size() > 3000 ? text.substr(text.size() - 3000) : text;
}

struct EtcdHarness {
  static void Run(const std::function<void(seams_test::JournalWorld&)>& body) {
    RunEtcd([&](EtcdWorld& world) { body(world); });
  }

  static void RunEtcd(const std::function<void(EtcdWorld&)>& body) {
    if (!testing::EtcdCluster::Available()) GTEST_SKIP() << testing::kEtcdBinary << " missing";
    const uint64_t seed = testing::SeedForTest();
    SCOPED_TRACE("seed " + std::to_string(seed));
    testing::TempDir directory;
    testing::EtcdCluster cluster(directory.path(), 3);
    ASSERT_TRUE(cluster.Start());
    testing::OnFreshThread([&] {
      RealEnvOptions options = testing::TestEnvOptions("journal-test");
      options.blocking_threads = 6;  // renewals must not queue behind slow appends
      RealEnv env(options);
      EtcdWorld world(env, cluster);
      bool finished = false;
      const Status ran = env.RunMain([&] {
        GRANARY_RETURN_IF_ERROR(world.Open());
        body(world);
        finished = true;
        return Status::Ok();
      });
      EXPECT_TRUE(ran.ok()) << ran.ToString();
      EXPECT_TRUE(finished) << "the body never finished";
      EXPECT_EQ(env.live_fibers(), 0u);
      world.Close();
    });
    if (::testing::Test::HasFailure()) {
      for (int m = 0; m < cluster.members(); ++m) {
        std::cerr << "---- " << cluster.LogPath(m) << " (tail)\n" << Tail(cluster.LogPath(m));
      }
    }
  }
};

TEST(EtcdJournalTest, OpenRejectsBadOptions) {
  testing::OnFreshThread([] {
    RealEnv env(testing::TestEnvOptions());
    EtcdJournalOptions options;
    options.endpoints = {"localhost:2379"};  // names are not resolved: IPv4 only
    EXPECT_EQ(EtcdJournal::Open(env, options).code(), StatusCode::kInvalidArgument);
    options.endpoints = {};
    EXPECT_EQ(EtcdJournal::Open(env, options).code(), StatusCode::kInvalidArgument);
    options.endpoints = {"127.0.0.1:2379"};
    options.prefix = "/no-slash";
    EXPECT_EQ(EtcdJournal::Open(env, options).code(), StatusCode::kInvalidArgument);
    options.prefix = "/granary/";
    options.lease_ttl = std::chrono::milliseconds(500);  // etcd counts whole seconds
    EXPECT_EQ(EtcdJournal::Open(env, options).code(), StatusCode::kInvalidArgument);
    options.lease_ttl = std::chrono::seconds(1);
    EXPECT_TRUE(EtcdJournal::Open(env, options).ok());  // connects lazily
  });
}

// Truncate compacts etcd's history, so defragmentation finds the dropped entries' pages free
// and gives them back: every member's file shrinks to less than half.
TEST(EtcdJournalTest, TruncateThenDefragmentShrinksEveryMember) {
  EtcdHarness::RunEtcd([](EtcdWorld& world) {
    Env& env = world.env();
    EtcdJournal& journal = world.etcd(0);
    const Instant deadline = env.Now() + std::chrono::seconds(60);
    Result<FencingToken> token = journal.Campaign("nn-a", deadline);
    ASSERT_TRUE(token.ok()) << token.status().ToString();
    const std::string entry = seams_test::PatternBytes(512 * 1024, 1);
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(journal.Append(*token, entry, deadline).ok());
    ASSERT_TRUE(journal.Truncate(*token, 41, deadline).ok());
    // bbolt frees the compacted pages only at a later write transaction, once no reader still
    // sees them: keep appending small entries until every member reports them free.
    std::vector<int64_t> before(3, 0);
    for (size_t m = 0; m < 3; ++m) {
      const bool freed = seams_test::WaitFor(
          env,
          [&] {
            if (!journal.Append(*token, "tick", deadline).ok()) return false;
            Result<etcdserverpb::StatusResponse> status = world.admin().MemberStatus(m, deadline);
            if (!status.ok()) return false;
            before[m] = status->dbsize();
            return status->dbsizeinuse() < status->dbsize() / 2;
          },
          std::chrono::seconds(30));
      ASSERT_TRUE(freed) << "member " << m << " never freed the truncated entries' pages";
    }
    ASSERT_TRUE(journal.DefragmentMembers(0.5, deadline).ok());
    for (size_t m = 0; m < 3; ++m) {
      Result<etcdserverpb::StatusResponse> status = world.admin().MemberStatus(m, deadline);
      ASSERT_TRUE(status.ok()) << status.status().ToString();
      EXPECT_LT(status->dbsize(), before[m] / 2) << "member " << m;
    }
    EXPECT_EQ(journal.Read(40, 1, deadline).code(), StatusCode::kNotFound);
    Result<uint64_t> after = journal.Append(*token, "after", deadline);
    ASSERT_TRUE(after.ok()) << after.status().ToString();
    EXPECT_GT(*after, 41u);
  });
}

}  // namespace
}  // namespace granary::net

namespace granary::seams_test {

INSTANTIATE_TYPED_TEST_SUITE_P(Etcd, JournalContractTest, ::testing::Types<net::EtcdHarness>);

}  // namespace granary::seams_test
