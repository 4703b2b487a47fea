// SimJournal and its SimJournalService (sim/models/sim_journal*.h): the Journal contract suite
// (tests/seams/journal_contract.h) over a simulated three-member journal, and what is the
// simulator's own: minority and majority faults, the cost model, determinism.
#include "sim/models/sim_journal.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/models/sim_journal_service.h"
#include "tests/seams/journal_contract.h"
#include "tests/sim/models/models_test_util.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;
using seams_test::journal_contract::kPatience;

// node "nn-1" runs the body; the journal's members are journal-1..N.
class SimJournalWorld final : public seams_test::JournalWorld {
 public:
  SimJournalWorld(SimProcess& process, SimJournalService& service)
      : process_(process), service_(service), first_(process, service), second_(process, service) {}

  Env& env() override { return process_.env(); }
  Journal& client(int i) override { return journal(i); }
  SimJournal& journal(int i) { return i == 0 ? first_ : second_; }
  SimJournalService& service() { return service_; }
  SimProcess& process() { return process_; }
  Duration lease_ttl() override { return service_.options().lease_ttl; }
  int members() override { return service_.members(); }
  bool Crash(int member) override {
    service_.CrashMember(member);
    return true;
  }
  bool Restart(int member) override {
    service_.RestartMember(member);
    return true;
  }
  bool PauseRenewal(int i) override {
    journal(i).PauseRenewal(true);
    return true;
  }

 private:
  SimProcess& process_;
  SimJournalService& service_;
  SimJournal first_;
  SimJournal second_;
};

// Builds a simulator with a journal, runs `body` on nn-1 and shuts everything down. Returns
// the trace hash.
uint64_t RunJournal(uint64_t seed, SimJournalOptions options,
                    const std::function<void(SimJournalWorld&)>& body,
                    const std::function<void(testing::ModelledSim&)>& setup = nullptr) {
  testing::ModelledSim sim(seed);
  if (setup) setup(sim);
  SimJournalService service(sim.hardware(), std::move(options));
  bool finished = false;
  const NodeId node = sim.AddNode(testing::Node("nn-1", 2), [&](SimProcess& process) {
    SimJournalWorld world(process, service);
    body(world);
    finished = true;
  });
  sim.StartNode(node);
  sim.RunUntil(sim.Now() + std::chrono::hours(1));
  EXPECT_TRUE(finished) << "the body never finished";
  const Status shutdown = sim.Shutdown();
  EXPECT_TRUE(shutdown.ok()) << shutdown.ToString();
  EXPECT_EQ(sim.live_fibers(), 0u);
  return sim.trace_hash();
}

struct SimJournalHarness {
  static void Run(const std::function<void(seams_test::JournalWorld&)>& body) {
    const uint64_t seed = testing::SeedForTest();
    SCOPED_TRACE(testing::SeedTrace(seed));
    RunJournal(seed, SimJournalOptions(), [&](SimJournalWorld& world) { body(world); });
  }
};

Instant In(Env& env, Duration d) { return env.Now() + d; }

FencingToken Lead(SimJournalWorld& world) {
  Result<FencingToken> token = world.journal(0).Campaign("nn-1", In(world.env(), kPatience));
  EXPECT_TRUE(token.ok()) << token.status().ToString();
  return token.ok() ? *token : FencingToken();
}

// Every (seq, payload) acknowledged is in the journal, read by the other client.
void ExpectAllThere(SimJournalWorld& world, const std::map<uint64_t, std::string>& acked) {
  if (acked.empty()) return;
  std::vector<JournalEntry> all = seams_test::journal_contract::ReadAll(
      world.env(), world.journal(1), 1, acked.rbegin()->first);
  ASSERT_EQ(all.size(), acked.rbegin()->first);
  for (const auto& [seq, payload] : acked) EXPECT_EQ(all[seq - 1].payload, payload) << seq;
}

// A minority of members crashed or cut off: appends go on, in order, without a gap.
TEST(SimJournalTest, MinorityDownAppendsGoOn) {
  const uint64_t seed = testing::SeedForTest();
  SimJournalOptions options;
  options.members = 5;
  RunJournal(seed, options, [](SimJournalWorld& world) {
    Env& env = world.env();
    SimJournalService& service = world.service();
    const FencingToken token = Lead(world);
    std::map<uint64_t, std::string> acked;
    auto append = [&](const std::string& payload) {
      Result<uint64_t> seq = world.journal(0).Append(token, payload, In(env, kPatience));
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      EXPECT_EQ(*seq, acked.size() + 1);
      acked[*seq] = payload;
    };
    append("before");
    const int leader = service.LogLeader();
    ASSERT_GE(leader, 0);
    service.CrashMember(leader);  // the log leader itself: an election, then on
    append("leader crashed");
    EXPECT_NE(service.LogLeader(), leader);
    service.PartitionMember((leader + 1) % 5, true);  // two of five gone
    for (int i = 0; i < 5; ++i) append("minority down " + std::to_string(i));
    service.RestartMember(leader);
    service.PartitionMember((leader + 1) % 5, false);
    append("healed");
    ExpectAllThere(world, acked);
  });
}

// A majority crashed or cut off: an append fails by its deadline with a clear error; once a
// member returns appends resume, and nothing acknowledged is lost.
TEST(SimJournalTest, MajorityDownFailsByTheDeadlineThenResumes) {
  const uint64_t seed = testing::SeedForTest();
  RunJournal(seed, SimJournalOptions(), [](SimJournalWorld& world) {
    Env& env = world.env();
    SimJournalService& service = world.service();
    const FencingToken token = Lead(world);
    std::map<uint64_t, std::string> acked;
    for (int i = 1; i <= 3; ++i) {
      Result<uint64_t> seq =
          world.journal(0).Append(token, "a" + std::to_string(i), In(env, kPatience));
      ASSERT_TRUE(seq.ok()) << seq.status().ToString();
      acked[*seq] = "a" + std::to_string(i);
    }
    const int leader = service.LogLeader();
    const int cut = (leader + 1) % 3;
    const int crashed = (leader + 2) % 3;
    service.PartitionMember(cut, true);
    service.CrashMember(crashed);
    const Instant deadline = In(env, 3s);
    Result<uint64_t> refused = world.journal(0).Append(token, "refused", deadline);
    EXPECT_TRUE(refused.code() == StatusCode::kUnavailable ||
                refused.code() == StatusCode::kTimeout)
        << refused.status().ToString();
    EXPECT_NE(refused.status().message().find("journal"), std::string::npos)
        << refused.status().ToString();
    EXPECT_LE(env.Now(), deadline);
    EXPECT_EQ(world.journal(1).LastSeq(In(env, 500ms)).code(), StatusCode::kUnavailable);
    service.PartitionMember(cut, false);
    Result<uint64_t> next = world.journal(0).Append(token, "resumed", In(env, kPatience));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    acked[*next] = "resumed";
    service.RestartMember(crashed);
    ExpectAllThere(world, acked);
  });
}

// Appends race member crashes, restarts and partitions drawn from the seed, majorities
// included: every acknowledged entry stays, what is committed is always synced on a majority,
// and appends resume once the faults stop.
TEST(SimJournalTest, NothingAcknowledgedIsLostUnderRandomFaults) {
  const uint64_t seed = testing::SeedForTest();
  RunJournal(seed, SimJournalOptions(), [](SimJournalWorld& world) {
    Env& env = world.env();
    SimJournalService& service = world.service();
    const FencingToken token = Lead(world);
    auto acked = std::make_shared<std::map<uint64_t, std::string>>();
    auto stop = std::make_shared<bool>(false);
    auto appender_done = std::make_shared<bool>(false);
    auto refused = std::make_shared<int>(0);
    SimJournal& journal = world.journal(0);
    env.Spawn("appender", [&env, &journal, token = FencingToken(token), acked, stop, appender_done,
                           refused]() mutable {
      for (int i = 0; !*stop; ++i) {
        const std::string payload = "p" + std::to_string(i);
        Result<uint64_t> seq = journal.Append(token, payload, env.Now() + 300ms);
        if (seq.ok()) (*acked)[*seq] = payload;
        if (seq.code() == StatusCode::kNodeDown) break;
        if (!seq.ok()) ++*refused;
        // A long outage lets the lease lapse: lead again, as a namenode would.
        if (seq.code() == StatusCode::kFenced) {
          Result<FencingToken> again = journal.Campaign("nn-1", env.Now() + 300ms);
          if (again.ok()) token = *again;
        }
      }
      *appender_done = true;
    });
    for (int step = 0; step < 60; ++step) {
      ASSERT_TRUE(env.SleepFor(Duration(env.random().UniformInt(1, 400) * 1ms)).ok());
      const int member = static_cast<int>(env.random().Below(3));
      switch (env.random().Below(3)) {
        case 0:
          service.CrashMember(member);
          break;
        case 1:
          service.RestartMember(member);
          break;
        default:
          service.PartitionMember(member, env.random().Bernoulli(0.5));
      }
      int synced = 0;
      for (int m = 0; m < 3; ++m) synced += service.MemberDurable(m) >= service.commit_index();
      EXPECT_GE(synced, 2) << "committed " << service.commit_index() << " at step " << step;
    }
    for (int m = 0; m < 3; ++m) {
      service.RestartMember(m);
      service.PartitionMember(m, false);
    }
    const size_t before = acked->size();
    ASSERT_TRUE(seams_test::WaitFor(
        env, [&] { return acked->size() >= before + 5; }, kPatience));
    *stop = true;
    ASSERT_TRUE(seams_test::WaitFor(
        env, [&] { return *appender_done; }, kPatience));
    EXPECT_GT(before, 0u);
    // 60 faults on three members always include majority outages (the test means them).
    EXPECT_GT(*refused, 0);
    ExpectAllThere(world, *acked);
  });
}

// The cost model on exact links (50 µs one way, no jitter) and 1 ms syncs: an append costs
// two round trips and one sync (client -> leader -> follower, sync, ack, reply), a read two
// round trips; ten concurrent appends share syncs (group commit).
TEST(SimJournalTest, CostModel) {
  const uint64_t seed = testing::SeedForTest();
  auto exact = [](testing::ModelledSim& sim) {
    sim.network().SetDefaultLink(testing::ExactLink());
  };
  RunJournal(
      seed, SimJournalOptions(),
      [](SimJournalWorld& world) {
        Env& env = world.env();
        const Instant campaign_start = env.Now();
        const FencingToken token = Lead(world);
        // The first call waits out the election of a log leader.
        EXPECT_GE(env.Now() - campaign_start, world.service().options().election_delay);
        Instant start = env.Now();
        ASSERT_TRUE(world.journal(0).Append(token, "x", In(env, kPatience)).ok());
        const Duration append = env.Now() - start;
        EXPECT_GE(append, 1200us);
        EXPECT_LE(append, 1205us);
        start = env.Now();
        ASSERT_TRUE(world.journal(1).LastSeq(In(env, kPatience)).ok());
        const Duration read = env.Now() - start;
        EXPECT_GE(read, 200us);
        EXPECT_LE(read, 205us);
        // Ten at once: the first sync on each member covers one, the next the other nine.
        start = env.Now();
        auto done = std::make_shared<int>(0);
        auto last = std::make_shared<Instant>(start);
        for (int i = 0; i < 10; ++i) {
          env.Spawn("append", [&env, &world, token, done, last] {
            EXPECT_TRUE(world.journal(0).Append(token, "y", env.Now() + kPatience).ok());
            *last = std::max(*last, env.Now());
            ++*done;
          });
        }
        ASSERT_TRUE(seams_test::WaitFor(
            env, [&] { return *done == 10; }, kPatience));
        EXPECT_GE(*last - start, 2200us);
        EXPECT_LE(*last - start, 2210us);
      },
      exact);
}

// A follower waiting in Read hears of an entry when it commits (a watch held at the log
// leader), not at a poll's next tick: with exact links it has the entry the moment the
// appender has its answer (both one message from the log leader). After the log leader
// crashes, the held watch moves to the new one and the next entry arrives the same way.
TEST(SimJournalTest, FollowerHearsOfACommitAtOnce) {
  const uint64_t seed = testing::SeedForTest();
  auto exact = [](testing::ModelledSim& sim) {
    sim.network().SetDefaultLink(testing::ExactLink());
  };
  RunJournal(
      seed, SimJournalOptions(),
      [](SimJournalWorld& world) {
        Env& env = world.env();
        const FencingToken token = Lead(world);
        auto seen_at = std::make_shared<std::vector<Instant>>();
        auto seen = std::make_shared<std::vector<JournalEntry>>();
        env.Spawn("follower", [&env, &world, seen, seen_at] {
          while (seen->size() < 2) {
            Result<std::vector<JournalEntry>> got = world.journal(1).Read(
                seen->size() + 1, kJournalReadEntriesMax, env.Now() + std::chrono::seconds(10));
            if (!got.ok()) return;
            for (JournalEntry& entry : *got) {
              seen->push_back(std::move(entry));
              seen_at->push_back(env.Now());
            }
          }
        });
        for (int i = 1; i <= 2; ++i) {
          // Long enough that the follower's watch is held before the append is sent.
          ASSERT_TRUE(env.SleepFor(std::chrono::milliseconds(50)).ok());
          if (i == 2) world.service().CrashMember(world.service().LogLeader());
          ASSERT_TRUE(
              world.journal(0).Append(token, "e" + std::to_string(i), In(env, kPatience)).ok());
          const Instant appended = env.Now();
          ASSERT_TRUE(seams_test::WaitFor(
              env, [&] { return seen->size() >= static_cast<size_t>(i); }, kPatience));
          EXPECT_EQ((*seen)[i - 1],
                    (JournalEntry{static_cast<uint64_t>(i), "e" + std::to_string(i)}));
          // The old follower polled every poll_interval (20 ms); a watch needs no tick.
          EXPECT_LE((*seen_at)[i - 1], appended + 5us) << "entry " << i;
        }
      },
      exact);
}

// A namenode whose renewals are paused (the service's hook, by node name) loses its lease in
// virtual time; the other takes over with a greater token.
TEST(SimJournalTest, PausedRenewalsLoseTheLease) {
  const uint64_t seed = testing::SeedForTest();
  RunJournal(seed, SimJournalOptions(), [](SimJournalWorld& world) {
    Env& env = world.env();
    const Duration ttl = world.lease_ttl();
    const FencingToken first = Lead(world);
    ASSERT_TRUE(env.SleepFor(ttl * 3).ok());  // renewals keep it
    EXPECT_EQ(seams_test::journal_contract::LeaderOf(env, world.journal(1)), "nn-1");
    world.service().PauseRenewals("nn-1", true);  // both clients live on nn-1:
    world.journal(1).PauseRenewal(false);         // only the leader is meant paused
    const Instant paused_at = env.Now();
    Result<FencingToken> second = world.journal(1).Campaign("nn-2", In(env, kPatience));
    ASSERT_TRUE(second.ok()) << second.status().ToString();
    EXPECT_GT(*second, first);
    EXPECT_GE(env.Now() - paused_at, ttl - ttl / 3);  // not before the lease could lapse
    EXPECT_LE(env.Now() - paused_at, ttl + 100ms);
    EXPECT_EQ(world.journal(0).WaitForLoss(first, In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(world.journal(0).Append(first, "late", In(env, kPatience)).code(),
              StatusCode::kFenced);
  });
}

// The same seed gives the same trace; the outcome does not depend on anything else.
TEST(SimJournalTest, SameSeedSameTrace) {
  auto run = [](uint64_t seed, std::vector<uint64_t>& seqs) {
    return RunJournal(seed, SimJournalOptions(), [&seqs](SimJournalWorld& world) {
      Env& env = world.env();
      const FencingToken token = Lead(world);
      for (int i = 0; i < 20; ++i) {
        if (i == 7) world.service().CrashMember(world.service().LogLeader());
        Result<uint64_t> seq = world.journal(0).Append(token, "e", In(env, kPatience));
        seqs.push_back(seq.ok() ? *seq : 0);
        seqs.push_back(static_cast<uint64_t>(env.Now().time_since_epoch().count()));
      }
    });
  };
  const uint64_t seed = testing::SeedForTest();
  std::vector<uint64_t> a, b, c;
  const uint64_t first = run(seed, a);
  EXPECT_EQ(run(seed, b), first);
  EXPECT_EQ(a, b);
  EXPECT_NE(run(seed + 1, c), first);  // jitter draws differ
}

}  // namespace
}  // namespace granary::sim

namespace granary::seams_test {

INSTANTIATE_TYPED_TEST_SUITE_P(Sim, JournalContractTest, ::testing::Types<sim::SimJournalHarness>);

}  // namespace granary::seams_test
