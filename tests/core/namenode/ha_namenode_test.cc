// HaNamenode (core/namenode/ha_namenode.h) on simulated namenodes over a MemoryJournal: one
// active, standbys that redirect to it, failover after the active dies or pauses past its
// lease with every acknowledged file still there, a deposed active that steps down, and a
// restarted namenode that catches up to the same store.
#include "core/namenode/ha_namenode.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "sim/kernel/sim_node.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "tests/core/namenode/memory_journal.h"

namespace granary {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr Duration kLease = seconds(3);

std::vector<KeyValue> Dump(MetaStore& store) {
  Result<std::vector<KeyValue>> all = store.Scan(std::string(1, '\0'), "", kMetaScanEntriesMax);
  EXPECT_TRUE(all.ok());
  return all.ok() ? *all : std::vector<KeyValue>{};
}

proto::UserContext Super() {
  proto::UserContext user;
  user.set_user("granary");
  return user;
}

// Three namenodes "nn-1".."nn-3" sharing one MemoryJournal, and client bodies.
class HaCluster {
 public:
  explicit HaCluster(HaOptions base = {},
                     const std::function<void(NamenodeOptions&)>& tune = nullptr)
      : sim_(11), hardware_(sim_) {
    NamenodeOptions options;
    options.heartbeat_interval = milliseconds(500);
    options.datanode_dead_after = seconds(3);
    if (tune) tune(options);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      sim::NodeOptions node;
      node.name = "nn-" + std::to_string(i + 1);
      node.cores = 4;
      ids_[i] = hardware_.AddNode(node, [this, i, options, base](sim::SimProcess& p) {
        auto journal = std::make_unique<testing::MemoryJournal>(p.env(), state_, kLease);
        journals_[i] = journal.get();
        HaOptions ha = base;
        ha.candidate = p.transport().self().value;
        HaNamenode namenode(p.env(), p.transport(), p.meta_store(), *journal, ha, options);
        nodes_[i] = &namenode;
        (void)namenode.Run();
        nodes_[i] = nullptr;
        journals_[i] = nullptr;
      });
      sim_.StartNode(ids_[i]);
    }
  }
  ~HaCluster() { EXPECT_TRUE(sim_.Shutdown().ok()); }

  sim::Simulator& sim() { return sim_; }
  NodeId id(size_t i) const { return ids_[i]; }
  Address address(size_t i) { return sim_.node(ids_[i]).address(); }
  HaNamenode* node(size_t i) { return nodes_[i]; }
  testing::MemoryJournal* journal(size_t i) { return journals_[i]; }
  MetaStore& store(size_t i) { return hardware_.machine(ids_[i]).meta_store(); }
  const testing::MemoryJournalState& journal_state() const { return *state_; }

  // The index of the one active namenode; -1 when none is, and a failure when two are.
  int Active() {
    int active = -1;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      const auto& process = sim_.node(ids_[i]).process();
      if (nodes_[i] == nullptr || !process || !process->alive() || !nodes_[i]->active()) continue;
      EXPECT_EQ(active, -1) << "two active namenodes";
      active = static_cast<int>(i);
    }
    return active;
  }

  // Runs until a namenode is active (at most `limit`); its index, or -1.
  int WaitForActive(Duration limit) {
    const Instant end = sim_.Now() + limit;
    while (sim_.Now() < end) {
      if (int active = Active(); active >= 0) return active;
      sim_.RunFor(milliseconds(100));
    }
    return -1;
  }

  void RunClient(const std::function<void(sim::SimProcess&)>& body) {
    bool done = false;
    sim::NodeOptions node;
    node.name = "client-" + std::to_string(++clients_);
    const NodeId id = hardware_.AddNode(node, [&](sim::SimProcess& p) {
      body(p);
      done = true;
    });
    sim_.StartNode(id);
    const Instant end = sim_.Now() + std::chrono::minutes(2);
    while (!done && sim_.Now() < end) sim_.RunFor(milliseconds(50));
    EXPECT_TRUE(done) << "client body still running";
  }

 private:
  std::shared_ptr<testing::MemoryJournalState> state_ =
      std::make_shared<testing::MemoryJournalState>();
  sim::Simulator sim_;
  sim::Hardware hardware_;
  std::array<NodeId, 3> ids_{};
  std::array<HaNamenode*, 3> nodes_{};
  std::array<testing::MemoryJournal*, 3> journals_{};
  int clients_ = 0;
};

Status Create(sim::SimProcess& p, const Address& to, const std::string& path, size_t bytes = 0) {
  proto::CreateRequest create;
  *create.mutable_user() = Super();
  create.set_path(path);
  create.set_complete(true);
  create.set_client_name("test");
  proto::CreateReply reply;
  return rpc::Call(p.transport(), to, rpc::nn::kCreate, create,
                   bytes == 0 ? "bytes of " + path : std::string(bytes, 'b'),
                   p.env().Now() + seconds(2), &reply);
}

Status Stat(sim::SimProcess& p, const Address& to, const std::string& path) {
  proto::StatRequest stat;
  *stat.mutable_user() = Super();
  stat.set_path(path);
  proto::StatReply reply;
  return rpc::Call(p.transport(), to, rpc::nn::kStat, stat, {}, p.env().Now() + seconds(2), &reply);
}

// nn.Failover at `active`, naming `to`.
Status HandOver(sim::SimProcess& p, const Address& active, const Address& to) {
  proto::FailoverRequest request;
  request.set_to(to.value);
  proto::FailoverReply reply;
  return rpc::Call(p.transport(), active, rpc::nn::kFailover, request, {},
                   p.env().Now() + seconds(5), &reply);
}

proto::HaStatusReply HaStatus(sim::SimProcess& p, const Address& to) {
  proto::HaStatusReply reply;
  EXPECT_TRUE(rpc::Call(p.transport(), to, rpc::nn::kHaStatus, proto::HaStatusRequest(), {},
                        p.env().Now() + seconds(2), &reply)
                  .ok());
  return reply;
}

TEST(HaNamenodeTest, OneActiveStandbysRedirectAndAFailoverKeepsEveryAcknowledgedFile) {
  HaCluster cluster;
  const int first = cluster.WaitForActive(seconds(10));
  ASSERT_GE(first, 0);
  const size_t standby = (first + 1) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    for (int i = 0; i < 20; ++i) {
      ASSERT_TRUE(Create(p, cluster.address(first), "/f" + std::to_string(i)).ok());
    }
    // A standby that has not looked yet answers "" (and looks, on a fiber of its own, so
    // the request never waits on the journal); soon after it names the active.
    Status redirected = Create(p, cluster.address(standby), "/elsewhere");
    for (int i = 0; i < 20 && redirected.message().empty(); ++i) {
      EXPECT_EQ(redirected.code(), StatusCode::kNotActive);
      ASSERT_TRUE(p.env().SleepFor(milliseconds(100)).ok());
      redirected = Create(p, cluster.address(standby), "/elsewhere");
    }
    EXPECT_EQ(redirected.code(), StatusCode::kNotActive);
    EXPECT_EQ(redirected.message(), cluster.address(first).value);
    const proto::HaStatusReply active = HaStatus(p, cluster.address(first));
    EXPECT_EQ(active.role(), "active");
    EXPECT_GT(active.fencing_token(), 0u);
    const proto::HaStatusReply follower = HaStatus(p, cluster.address(standby));
    EXPECT_EQ(follower.role(), "standby");
    EXPECT_EQ(follower.active(), cluster.address(first).value);
  });
  const uint64_t acknowledged_seq = cluster.journal_state().last_seq;

  cluster.sim().CrashNode(cluster.id(first));
  cluster.sim().RunFor(milliseconds(100));
  const int second = cluster.WaitForActive(kLease + seconds(10));
  ASSERT_GE(second, 0);
  ASSERT_NE(second, first);
  EXPECT_GE(cluster.node(second)->applied_seq(), acknowledged_seq);
  cluster.RunClient([&](sim::SimProcess& p) {
    for (int i = 0; i < 20; ++i) {
      EXPECT_TRUE(Stat(p, cluster.address(second), "/f" + std::to_string(i)).ok()) << i;
    }
    EXPECT_EQ(Stat(p, cluster.address(second), "/elsewhere").code(), StatusCode::kNotFound);
    EXPECT_TRUE(Create(p, cluster.address(second), "/after").ok());
  });

  // The crashed namenode comes back as a standby and catches up to the same bytes.
  cluster.sim().RestartNode(cluster.id(first));
  cluster.sim().RunFor(seconds(5));
  EXPECT_EQ(cluster.Active(), second);
  ASSERT_NE(cluster.node(first), nullptr);
  EXPECT_FALSE(cluster.node(first)->active());
  EXPECT_EQ(cluster.node(first)->applied_seq(), cluster.journal_state().last_seq);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(Dump(cluster.store(i)), Dump(cluster.store(second))) << "namenode " << i;
  }
}

TEST(HaNamenodeTest, AnActivePausedPastItsLeaseStepsDownAndAcknowledgesNothingMore) {
  HaCluster cluster;
  const int first = cluster.WaitForActive(seconds(10));
  ASSERT_GE(first, 0);
  cluster.journal(first)->PauseRenewal();
  // Another wins once the lease lapses; the old one learns it and stops serving.
  cluster.sim().RunFor(kLease + seconds(5));
  const int second = cluster.Active();
  ASSERT_GE(second, 0);
  EXPECT_NE(second, first);
  ASSERT_NE(cluster.node(first), nullptr);
  EXPECT_FALSE(cluster.node(first)->active());
  cluster.RunClient([&](sim::SimProcess& p) {
    const Status refused = Create(p, cluster.address(first), "/late");
    EXPECT_EQ(refused.code(), StatusCode::kNotActive) << refused.ToString();
    EXPECT_TRUE(Create(p, cluster.address(second), "/on-time").ok());
    EXPECT_EQ(Stat(p, cluster.address(second), "/late").code(), StatusCode::kNotFound);
  });
}

TEST(HaNamenodeTest, HandoverMovesTheActiveToTheNamedStandby) {
  HaCluster cluster;
  const int first = cluster.WaitForActive(seconds(10));
  ASSERT_GE(first, 0);
  const size_t named = (first + 2) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    ASSERT_TRUE(Create(p, cluster.address(first), "/before").ok());
    EXPECT_TRUE(HandOver(p, cluster.address(first), cluster.address(named)).ok());
  });
  EXPECT_EQ(cluster.WaitForActive(seconds(10)), static_cast<int>(named));
  cluster.RunClient(
      [&](sim::SimProcess& p) { EXPECT_TRUE(Stat(p, cluster.address(named), "/before").ok()); });
}

// The active leaves the election as it hands over, not when its Namenode has stopped: with a
// lease monitor that sleeps 20 s (so the old Namenode takes up to 20 s to stop), the named
// standby is active within a second, inside its eager campaign (handover_holdoff, 3 s).
TEST(HaNamenodeTest, HandoverDoesNotWaitForTheOldNamenodeToStop) {
  HaCluster cluster({}, [](NamenodeOptions& options) { options.lease_check_interval = seconds(20); });
  const int first = cluster.WaitForActive(seconds(10));
  ASSERT_GE(first, 0);
  cluster.sim().RunFor(seconds(1));  // the lease monitor is asleep
  const size_t named = (first + 1) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    EXPECT_TRUE(HandOver(p, cluster.address(first), cluster.address(named)).ok());
  });
  EXPECT_EQ(cluster.WaitForActive(seconds(1)), static_cast<int>(named));
}

// A handover back to the namenode that handed over a second ago: it stopped its Namenode at
// once (its monitors look for the stop every 100 ms, not after their whole intervals: the retry
// cache's sweeper slept 10 s) and, named, stands aside no more, so it is active within a second.
TEST(HaNamenodeTest, AHandoverBackToTheOldActiveDoesNotWaitForItToStop) {
  HaCluster cluster;
  const int first = cluster.WaitForActive(seconds(10));
  ASSERT_GE(first, 0);
  cluster.sim().RunFor(seconds(1));
  const size_t second = (first + 1) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    EXPECT_TRUE(HandOver(p, cluster.address(first), cluster.address(second)).ok());
  });
  ASSERT_EQ(cluster.WaitForActive(seconds(1)), static_cast<int>(second));
  cluster.sim().RunFor(seconds(1));
  cluster.RunClient([&](sim::SimProcess& p) {
    EXPECT_TRUE(HandOver(p, cluster.address(second), cluster.address(first)).ok());
  });
  EXPECT_EQ(cluster.WaitForActive(seconds(1)), first);
}

// A namenode whose store was wiped, and one that fell behind the journal's truncation
// point, both copy a checkpoint of the active's store (several pages of it), catch up to the
// same bytes, and can take over with every file.
TEST(HaNamenodeTest, WipedAndFarBehindNamenodesCopyACheckpointAndCatchUp) {
  HaOptions ha;
  ha.retain_entries = 5;
  ha.truncate_interval = seconds(1);
  HaCluster cluster(ha);
  const int active = cluster.WaitForActive(seconds(10));
  ASSERT_GE(active, 0);
  const size_t wiped = (active + 1) % 3;
  const size_t behind = (active + 2) % 3;
  cluster.sim().CrashNode(cluster.id(wiped));
  cluster.sim().CrashNode(cluster.id(behind));
  cluster.RunClient([&](sim::SimProcess& p) {
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(Create(p, cluster.address(active), "/big" + std::to_string(i), 60000).ok());
    }
  });
  cluster.sim().RunFor(seconds(3));  // the active truncates
  EXPECT_GT(cluster.journal_state().first_seq, 10u);
  MetaStore& store = cluster.store(wiped);
  Result<std::vector<KeyValue>> all = store.Scan("", "", kMetaScanEntriesMax);
  ASSERT_TRUE(all.ok());
  WriteBatch wipe;
  for (const KeyValue& kv : *all) wipe.Delete(kv.key);
  ASSERT_TRUE(store.Write(wipe).ok());
  cluster.sim().RestartNode(cluster.id(wiped));
  cluster.sim().RestartNode(cluster.id(behind));
  cluster.sim().RunFor(seconds(10));
  for (size_t i : {wiped, behind}) {
    ASSERT_NE(cluster.node(i), nullptr);
    EXPECT_GE(cluster.node(i)->bootstraps(), 1u) << i;
    EXPECT_EQ(cluster.node(i)->applied_seq(), cluster.journal_state().last_seq) << i;
    EXPECT_EQ(Dump(cluster.store(i)), Dump(cluster.store(active))) << i;
  }
  cluster.sim().CrashNode(cluster.id(active));
  cluster.sim().RunFor(milliseconds(100));
  const int next = cluster.WaitForActive(kLease + seconds(10));
  ASSERT_GE(next, 0);
  cluster.RunClient([&](sim::SimProcess& p) {
    for (int i = 0; i < 60; ++i) {
      EXPECT_TRUE(Stat(p, cluster.address(next), "/big" + std::to_string(i)).ok()) << i;
    }
  });
}

}  // namespace
}  // namespace granary
