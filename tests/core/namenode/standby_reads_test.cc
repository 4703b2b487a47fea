// StandbyReads (core/namenode/standby_reads.h) inside HaNamenode, on three simulated
// namenodes over a MemoryJournal: a standby answers reads at the sequence the client needs
// (read-your-writes across namenodes), waits for the follower and is woken by it, refuses
// (redirects to the active) when stuck or too far behind, never answers below what the
// client saw, and the namenodes count what they served.
#include "core/namenode/standby_reads.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <memory>
#include <string>

#include "core/common/limits.h"
#include "core/namenode/ha_namenode.h"
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

proto::UserContext Super() {
  proto::UserContext user;
  user.set_user("granary");
  return user;
}

// Three HA namenodes "nn-1".."nn-3" on one MemoryJournal, and client bodies.
class Cluster {
 public:
  Cluster() : sim_(23), hardware_(sim_) {
    NamenodeOptions options;
    options.heartbeat_interval = milliseconds(500);
    options.datanode_dead_after = seconds(3);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      sim::NodeOptions node;
      node.name = "nn-" + std::to_string(i + 1);
      node.cores = 4;
      ids_[i] = hardware_.AddNode(node, [this, i, options](sim::SimProcess& p) {
        testing::MemoryJournal journal(p.env(), state_, seconds(3));
        journals_[i] = &journal;
        HaOptions ha;
        ha.candidate = p.transport().self().value;
        HaNamenode namenode(p.env(), p.transport(), p.meta_store(), journal, ha, options);
        nodes_[i] = &namenode;
        (void)namenode.Run();
        nodes_[i] = nullptr;
        journals_[i] = nullptr;
      });
      sim_.StartNode(ids_[i]);
    }
  }
  ~Cluster() { EXPECT_TRUE(sim_.Shutdown().ok()); }

  Address address(size_t i) { return sim_.node(ids_[i]).address(); }
  HaNamenode* node(size_t i) { return nodes_[i]; }
  testing::MemoryJournal* journal(size_t i) { return journals_[i]; }
  sim::Simulator& sim() { return sim_; }

  int WaitForActive() {
    for (int round = 0; round < 100; ++round) {
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i] != nullptr && nodes_[i]->active()) return static_cast<int>(i);
      }
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
    const Instant end = sim_.Now() + std::chrono::minutes(5);
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

// A complete inline file; the sequence its reply carried.
Result<uint64_t> Create(sim::SimProcess& p, const Address& to, const std::string& path) {
  proto::CreateRequest create;
  *create.mutable_user() = Super();
  create.set_path(path);
  create.set_complete(true);
  create.set_client_name("test");
  proto::CreateReply reply;
  rpc::CallSeq seq;
  GRANARY_RETURN_IF_ERROR(rpc::CallByName(p.transport(), to, rpc::nn::kCreate.name, create,
                                          "bytes of " + path, p.env().Now() + seconds(2), &reply,
                                          nullptr, &seq));
  return seq.seen;
}

// nn.Stat needing `need`; the sequence the reply carried.
Result<uint64_t> Stat(sim::SimProcess& p, const Address& to, const std::string& path,
                      uint64_t need) {
  proto::StatRequest stat;
  *stat.mutable_user() = Super();
  stat.set_path(path);
  proto::StatReply reply;
  rpc::CallSeq seq{need, 0};
  GRANARY_RETURN_IF_ERROR(rpc::CallByName(p.transport(), to, rpc::nn::kStat.name, stat, {},
                                          p.env().Now() + seconds(5), &reply, nullptr, &seq));
  return seq.seen;
}

proto::HaStatusReply HaStatus(sim::SimProcess& p, const Address& to) {
  proto::HaStatusReply reply;
  EXPECT_TRUE(rpc::Call(p.transport(), to, rpc::nn::kHaStatus, proto::HaStatusRequest(), {},
                        p.env().Now() + seconds(2), &reply)
                  .ok());
  return reply;
}

TEST(StandbyReadsTest, AStandbyAnswersEveryReadAtTheSequenceTheWriterSaw) {
  Cluster cluster;
  const int active = cluster.WaitForActive();
  ASSERT_GE(active, 0);
  cluster.RunClient([&](sim::SimProcess& p) {
    for (int i = 0; i < 30; ++i) {
      const std::string path = "/f" + std::to_string(i);
      Result<uint64_t> written = Create(p, cluster.address(active), path);
      ASSERT_TRUE(written.ok()) << written.status().ToString();
      EXPECT_GT(*written, 0u);
      // At once, on every standby: the write is there, and the answer is at least as new.
      for (size_t s = 0; s < 3; ++s) {
        if (static_cast<int>(s) == active) continue;
        Result<uint64_t> read = Stat(p, cluster.address(s), path, *written);
        ASSERT_TRUE(read.ok()) << "namenode " << s << ": " << read.status().ToString();
        EXPECT_GE(*read, *written);
      }
    }
    // Open (inline bytes), list and open-many on a standby.
    const size_t standby = (active + 1) % 3;
    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/f3");
    proto::OpenReply opened;
    std::string bytes;
    ASSERT_TRUE(rpc::Call(p.transport(), cluster.address(standby), rpc::nn::kOpen, open, {},
                          p.env().Now() + seconds(2), &opened, &bytes)
                    .ok());
    EXPECT_EQ(bytes, "bytes of /f3");
    proto::ListRequest list;
    *list.mutable_user() = Super();
    list.set_path("/");
    proto::ListReply listed;
    ASSERT_TRUE(rpc::Call(p.transport(), cluster.address(standby), rpc::nn::kList, list, {},
                          p.env().Now() + seconds(2), &listed)
                    .ok());
    EXPECT_EQ(listed.entries_size(), 30);
    proto::OpenManyRequest many;
    *many.mutable_user() = Super();
    many.add_paths("/f1");
    many.add_paths("/missing");
    proto::OpenManyReply many_reply;
    std::string many_bytes;
    ASSERT_TRUE(rpc::Call(p.transport(), cluster.address(standby), rpc::nn::kOpenMany, many, {},
                          p.env().Now() + seconds(2), &many_reply, &many_bytes)
                    .ok());
    ASSERT_EQ(many_reply.files_size(), 2);
    EXPECT_EQ(many_bytes, "bytes of /f1");
    EXPECT_EQ(many_reply.files(1).status_code(), static_cast<int32_t>(StatusCode::kNotFound));
    // Writes still go to the active only.
    Result<uint64_t> refused = Create(p, cluster.address(standby), "/elsewhere");
    EXPECT_EQ(refused.code(), StatusCode::kNotActive);
    // The counters.
    const proto::HaStatusReply at_active = HaStatus(p, cluster.address(active));
    EXPECT_EQ(at_active.writes_served(), 30u);
    EXPECT_EQ(at_active.reads_served(), 0u);
    const proto::HaStatusReply at_standby = HaStatus(p, cluster.address(standby));
    EXPECT_EQ(at_standby.writes_served(), 0u);
    EXPECT_EQ(at_standby.reads_served(), 33u);  // 30 stats, open, list, open-many
    EXPECT_EQ(at_standby.lag_entries(), 0u);
  });
}

// A file still being written changes with every flush: a standby sends its stat, open and
// open-many to the active, so a tail reader that carries none of the writer's sequence still
// sees the latest flush; once the file is complete the standby answers again.
TEST(StandbyReadsTest, AFileBeingWrittenIsReadOnTheActive) {
  Cluster cluster;
  const int active = cluster.WaitForActive();
  ASSERT_GE(active, 0);
  const size_t standby = (active + 1) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    proto::CreateRequest create;
    *create.mutable_user() = Super();
    create.set_path("/growing");
    create.set_client_name("writer");
    proto::CreateReply created;
    rpc::CallSeq written;
    ASSERT_TRUE(rpc::CallByName(p.transport(), cluster.address(active), rpc::nn::kCreate.name,
                                create, "first", p.env().Now() + seconds(2), &created, nullptr,
                                &written)
                    .ok());
    // The standby has applied the create (the client asks for its sequence), and still
    // refuses: the file is under construction.
    EXPECT_EQ(Stat(p, cluster.address(standby), "/growing", written.seen).code(),
              StatusCode::kNotActive);
    proto::OpenRequest open;
    *open.mutable_user() = Super();
    open.set_path("/growing");
    proto::OpenReply opened;
    EXPECT_EQ(rpc::Call(p.transport(), cluster.address(standby), rpc::nn::kOpen, open, {},
                        p.env().Now() + seconds(2), &opened)
                  .code(),
              StatusCode::kNotActive);
    proto::OpenManyRequest many;
    *many.mutable_user() = Super();
    many.add_paths("/growing");
    proto::OpenManyReply many_reply;
    EXPECT_EQ(rpc::Call(p.transport(), cluster.address(standby), rpc::nn::kOpenMany, many, {},
                        p.env().Now() + seconds(2), &many_reply)
                  .code(),
              StatusCode::kNotActive);
    // A complete file next to it is answered by the standby.
    Result<uint64_t> done = Create(p, cluster.address(active), "/done");
    ASSERT_TRUE(done.ok()) << done.status().ToString();
    EXPECT_TRUE(Stat(p, cluster.address(standby), "/done", *done).ok());
  });
}

// A stuck standby never answers below what the client saw: it waits kStandbyReadWaitMax,
// then names the active. A client that needs nothing newer is still answered there, and a
// read that waits is answered as soon as the follower applies (woken, within the wait).
TEST(StandbyReadsTest, AStuckStandbyRedirectsAndAWaitingReadIsWokenByTheFollower) {
  Cluster cluster;
  const int active = cluster.WaitForActive();
  ASSERT_GE(active, 0);
  const size_t stuck = (active + 1) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    Result<uint64_t> before = Create(p, cluster.address(active), "/before");
    ASSERT_TRUE(before.ok());
    ASSERT_TRUE(Stat(p, cluster.address(stuck), "/before", *before).ok());
    cluster.journal(stuck)->HoldReads(true);
    ASSERT_TRUE(p.env().SleepFor(milliseconds(600)).ok());  // its current read ends
    Result<uint64_t> written = Create(p, cluster.address(active), "/after");
    ASSERT_TRUE(written.ok());
    ASSERT_GT(*written, *before);
    const Instant start = p.env().Now();
    Result<uint64_t> refused = Stat(p, cluster.address(stuck), "/after", *written);
    EXPECT_EQ(refused.code(), StatusCode::kNotActive);
    EXPECT_EQ(refused.status().message(), cluster.address(active).value);
    EXPECT_GE(p.env().Now() - start, kStandbyReadWaitMax);
    // Needing only what it has: answered, with the sequence it is at (not the writer's).
    Result<uint64_t> old = Stat(p, cluster.address(stuck), "/before", *before);
    ASSERT_TRUE(old.ok());
    EXPECT_LT(*old, *written);
    EXPECT_EQ(Stat(p, cluster.address(stuck), "/after", 0).code(), StatusCode::kNotFound);
    // A read that waits, released halfway through its wait.
    p.env().Spawn("release", [&] {
      (void)p.env().SleepFor(kStandbyReadWaitMax / 4);
      cluster.journal(stuck)->HoldReads(false);
    });
    Result<uint64_t> woken = Stat(p, cluster.address(stuck), "/after", *written);
    ASSERT_TRUE(woken.ok()) << woken.status().ToString();
    EXPECT_GE(*woken, *written);
    EXPECT_EQ(HaStatus(p, cluster.address(stuck)).reads_served(), 4u);
  });
}

// A follower far behind the journal (a slow one that learns the journal's end while it
// catches up) takes no reads at all until it is within kStandbyReadLagEntriesMax.
TEST(StandbyReadsTest, AStandbyFarBehindTheJournalRefusesEveryRead) {
  Cluster cluster;
  const int active = cluster.WaitForActive();
  ASSERT_GE(active, 0);
  const size_t slow = (active + 1) % 3;
  cluster.RunClient([&](sim::SimProcess& p) {
    cluster.journal(slow)->HoldReads(true);
    for (uint64_t i = 0; i < kStandbyReadLagEntriesMax + 300; ++i) {
      ASSERT_TRUE(Create(p, cluster.address(active), "/f" + std::to_string(i)).ok());
    }
    cluster.journal(slow)->SetReadDelay(milliseconds(200));
    cluster.journal(slow)->HoldReads(false);
    ASSERT_TRUE(p.env().SleepFor(milliseconds(500)).ok());  // one batch applied, the end learnt
    const proto::HaStatusReply behind = HaStatus(p, cluster.address(slow));
    EXPECT_GT(behind.lag_entries(), kStandbyReadLagEntriesMax);
    EXPECT_EQ(Stat(p, cluster.address(slow), "/", 0).code(), StatusCode::kNotActive);
    cluster.journal(slow)->SetReadDelay(Duration(0));
    // A standby campaigns between reads of the journal: 32 entries per campaign window.
    ASSERT_TRUE(p.env().SleepFor(seconds(15)).ok());
    EXPECT_TRUE(Stat(p, cluster.address(slow), "/", 0).ok());
    EXPECT_EQ(HaStatus(p, cluster.address(slow)).lag_entries(), 0u);
  });
}

}  // namespace
}  // namespace granary
