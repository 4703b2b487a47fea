// The contract of the Journal seam (core/seams/journal.h), as a typed suite over a journal
// Harness. Instantiate with
//   INSTANTIATE_TYPED_TEST_SUITE_P(Name, JournalContractTest, ::testing::Types<MyHarness>);
//
// A journal Harness is any type with
//   static void Run(const std::function<void(JournalWorld&)>& body);
// which builds a fresh, empty journal of several members, runs `body` on a fiber of the
// world's env to completion, and tears everything down (README.md in this folder says what
// Run must report).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/seams/journal.h"
#include "tests/seams/seam_world.h"

namespace granary::seams_test {

class JournalWorld {
 public:
  virtual ~JournalWorld() = default;

  // The process the body runs in.
  virtual Env& env() = 0;
  // Client `i` (0 or 1) of the one journal of this world, as two namenodes hold them.
  virtual Journal& client(int i) = 0;
  // The leadership lease the clients were built with.
  virtual Duration lease_ttl() = 0;

  // The journal's members, and faults on them. Crash stops member `m` at once (SIGKILL: what
  // it had not synced is lost); Restart brings it back with its data. Both return false when
  // the implementation cannot do this: the tests that need it then skip.
  virtual int members() = 0;
  virtual bool Crash(int member) = 0;
  virtual bool Restart(int member) = 0;
  // Client `i` stops renewing its lease as if its process were paused (SIGSTOP) while the
  // rest of the world goes on. False when not possible.
  virtual bool PauseRenewal(int i) = 0;
};

template <typename Harness>
class JournalContractTest : public ::testing::Test {};

TYPED_TEST_SUITE_P(JournalContractTest);

namespace journal_contract {

// Long enough for a real cluster to elect a leader and apply; short deadlines are for the
// calls that are expected to wait them out.
inline constexpr Duration kPatience = std::chrono::seconds(15);

inline std::string Payload(uint64_t i) { return "entry-" + std::to_string(i); }

inline Instant In(Env& env, Duration d) { return env.Now() + d; }

// Every entry from `from`, following Read's bounded waits until `count` are there.
inline std::vector<JournalEntry> ReadAll(Env& env, Journal& journal, uint64_t from, size_t count) {
  std::vector<JournalEntry> all;
  const Instant give_up = In(env, kPatience);
  while (all.size() < count && env.Now() < give_up) {
    Result<std::vector<JournalEntry>> got =
        journal.Read(from + all.size(), kJournalReadEntriesMax, In(env, std::chrono::seconds(1)));
    if (!got.ok()) {
      ADD_FAILURE() << "read from " << from + all.size() << ": " << got.status().ToString();
      break;
    }
    all.insert(all.end(), got->begin(), got->end());
  }
  return all;
}

inline FencingToken MustLead(Env& env, Journal& journal, std::string_view name) {
  Result<FencingToken> token = journal.Campaign(name, In(env, kPatience));
  EXPECT_TRUE(token.ok()) << token.status().ToString();
  return token.ok() ? *token : FencingToken();
}

inline uint64_t MustAppend(Env& env, Journal& journal, FencingToken token,
                           std::string_view payload) {
  Result<uint64_t> seq = journal.Append(token, payload, In(env, kPatience));
  EXPECT_TRUE(seq.ok()) << seq.status().ToString();
  return seq.ok() ? *seq : 0;
}

inline uint64_t MustLastSeq(Env& env, Journal& journal) {
  Result<uint64_t> last = journal.LastSeq(In(env, kPatience));
  EXPECT_TRUE(last.ok()) << last.status().ToString();
  return last.ok() ? *last : ~uint64_t{0};
}

// The current leader's name, or the error in angle brackets (never a name).
inline std::string LeaderOf(Env& env, Journal& journal) {
  Result<std::string> leader = journal.Leader(In(env, kPatience));
  return leader.ok() ? *leader : "<" + leader.status().ToString() + ">";
}

}  // namespace journal_contract

// Dense numbers from 1 in append order; reads return exactly what was appended.
TYPED_TEST_P(JournalContractTest, AppendsAreNumberedDenselyInOrder) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& journal = world.client(0);
    EXPECT_EQ(MustLastSeq(env, journal), 0u);
    const FencingToken token = MustLead(env, journal, "nn-a");
    EXPECT_GT(token.value(), 0u);
    for (uint64_t i = 1; i <= 12; ++i) EXPECT_EQ(MustAppend(env, journal, token, Payload(i)), i);
    EXPECT_EQ(MustLastSeq(env, journal), 12u);
    std::vector<JournalEntry> all = ReadAll(env, journal, 1, 12);
    ASSERT_EQ(all.size(), 12u);
    for (uint64_t i = 1; i <= 12; ++i) EXPECT_EQ(all[i - 1], (JournalEntry{i, Payload(i)}));
    // A window in the middle, bounded by max_entries.
    Result<std::vector<JournalEntry>> window = journal.Read(5, 3, In(env, kPatience));
    ASSERT_TRUE(window.ok()) << window.status().ToString();
    ASSERT_EQ(window->size(), 3u);
    EXPECT_EQ((*window)[0].seq, 5u);
    EXPECT_EQ((*window)[2], (JournalEntry{7, Payload(7)}));
    // Past the end: a bounded wait, then nothing.
    Result<std::vector<JournalEntry>> beyond =
        journal.Read(13, 4, In(env, std::chrono::milliseconds(200)));
    ASSERT_TRUE(beyond.ok()) << beyond.status().ToString();
    EXPECT_TRUE(beyond->empty());
    // The other client sees the same journal.
    EXPECT_EQ(MustLastSeq(env, world.client(1)), 12u);
  });
}

// Concurrent appends under one token take distinct consecutive numbers.
TYPED_TEST_P(JournalContractTest, ConcurrentAppendsTakeDistinctNumbers) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& journal = world.client(0);
    const FencingToken token = MustLead(env, journal, "nn-a");
    constexpr int kFibers = 4;
    constexpr int kEach = 5;
    auto seqs = std::make_shared<std::vector<uint64_t>>();
    auto done = std::make_shared<int>(0);
    for (int f = 0; f < kFibers; ++f) {
      env.Spawn("appender", [&env, &journal, token, seqs, done, f] {
        for (int i = 0; i < kEach; ++i) {
          Result<uint64_t> seq = journal.Append(token, Payload(100 * f + i), In(env, kPatience));
          if (seq.ok()) seqs->push_back(*seq);
        }
        ++*done;
      });
    }
    ASSERT_TRUE(WaitFor(env, [&] { return *done == kFibers; }));
    std::sort(seqs->begin(), seqs->end());
    ASSERT_EQ(seqs->size(), static_cast<size_t>(kFibers * kEach));
    for (size_t i = 0; i < seqs->size(); ++i) EXPECT_EQ((*seqs)[i], i + 1);
    EXPECT_EQ(ReadAll(env, journal, 1, seqs->size()).size(), seqs->size());
  });
}

// Entries past the limits are refused whole; the largest allowed one reads back intact.
TYPED_TEST_P(JournalContractTest, EntryLimits) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& journal = world.client(0);
    const FencingToken token = MustLead(env, journal, "nn-a");
    EXPECT_EQ(journal.Append(token, "", In(env, kPatience)).code(), StatusCode::kInvalidArgument);
    const std::string too_big(kJournalEntryBytesMax + 1, 'x');
    EXPECT_EQ(journal.Append(token, too_big, In(env, kPatience)).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(MustLastSeq(env, journal), 0u);  // nothing written
    const std::string largest = PatternBytes(kJournalEntryBytesMax, 3);
    EXPECT_EQ(MustAppend(env, journal, token, largest), 1u);
    std::vector<JournalEntry> back = ReadAll(env, journal, 1, 1);
    ASSERT_EQ(back.size(), 1u);
    EXPECT_TRUE(back[0].payload == largest);
    EXPECT_EQ(journal.Read(1, kJournalReadEntriesMax + 1, In(env, kPatience)).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(journal.Read(0, 1, In(env, kPatience)).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(journal.Campaign("", In(env, kPatience)).code(), StatusCode::kInvalidArgument);
  });
}

// A follower reading in bounded waits sees every entry, in order, as it is appended.
TYPED_TEST_P(JournalContractTest, FollowFromASequence) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& leader = world.client(0);
    Journal& follower = world.client(1);
    const FencingToken token = MustLead(env, leader, "nn-a");
    for (uint64_t i = 1; i <= 3; ++i) MustAppend(env, leader, token, Payload(i));
    auto seen = std::make_shared<std::vector<JournalEntry>>();
    auto stop = std::make_shared<bool>(false);
    auto exited = std::make_shared<bool>(false);
    env.Spawn("follower", [&env, &follower, seen, stop, exited] {
      uint64_t next = 3;  // follow from the middle
      while (!*stop) {
        Result<std::vector<JournalEntry>> got =
            follower.Read(next, 2, In(env, std::chrono::milliseconds(300)));
        if (!got.ok()) break;
        for (JournalEntry& entry : *got) seen->push_back(std::move(entry));
        next = 3 + seen->size();
      }
      *exited = true;
    });
    for (uint64_t i = 4; i <= 9; ++i) {
      MustAppend(env, leader, token, Payload(i));
      ASSERT_TRUE(env.SleepFor(std::chrono::milliseconds(30)).ok());
    }
    ASSERT_TRUE(WaitFor(
        env, [&] { return seen->size() >= 7; }, kPatience));
    *stop = true;
    ASSERT_EQ(seen->size(), 7u);
    for (uint64_t i = 0; i < 7; ++i) EXPECT_EQ((*seen)[i], (JournalEntry{3 + i, Payload(3 + i)}));
    ASSERT_TRUE(WaitFor(
        env, [&] { return *exited; }, kPatience));
  });
}

// Resigning hands over at once; the old token is fenced and its append changes nothing.
TYPED_TEST_P(JournalContractTest, FencedAfterResign) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& first = world.client(0);
    Journal& second = world.client(1);
    EXPECT_EQ(LeaderOf(env, second), "");  // nobody leads yet
    const FencingToken old_token = MustLead(env, first, "nn-a");
    EXPECT_EQ(MustLead(env, first, "nn-a"), old_token);  // campaigning again while leader
    EXPECT_EQ(LeaderOf(env, second), "nn-a");
    EXPECT_EQ(MustAppend(env, first, old_token, Payload(1)), 1u);
    EXPECT_EQ(first.WaitForLoss(old_token, In(env, std::chrono::milliseconds(100))).code(),
              StatusCode::kTimeout);
    // Held: the second candidate waits out its deadline.
    EXPECT_EQ(second.Campaign("nn-b", In(env, std::chrono::milliseconds(500))).code(),
              StatusCode::kTimeout);
    ASSERT_TRUE(first.Resign(In(env, kPatience)).ok());
    const FencingToken new_token = MustLead(env, second, "nn-b");
    EXPECT_GT(new_token, old_token);
    EXPECT_EQ(LeaderOf(env, first), "nn-b");
    EXPECT_EQ(first.WaitForLoss(old_token, In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(first.Append(old_token, Payload(99), In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(first.Truncate(old_token, 2, In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(MustLastSeq(env, second), 1u);  // the fenced append changed nothing
    EXPECT_EQ(MustAppend(env, second, new_token, Payload(2)), 2u);
    std::vector<JournalEntry> all = ReadAll(env, second, 1, 2);
    ASSERT_EQ(all.size(), 2u);
    EXPECT_EQ(all[1], (JournalEntry{2, Payload(2)}));
  });
}

// A handover reserves the election for the named successor: another candidate cannot win it
// while the reservation lasts, the successor can at once (and takes the reservation with it),
// and a reservation nobody takes lapses after its length. The old token is fenced.
TYPED_TEST_P(JournalContractTest, HandOverReservesTheElectionForTheSuccessor) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& first = world.client(0);
    Journal& second = world.client(1);
    const Duration reserve = std::chrono::seconds(3);
    const FencingToken old_token = MustLead(env, first, "nn-a");
    ASSERT_TRUE(first.HandOver("nn-b", reserve, In(env, kPatience)).ok());
    EXPECT_EQ(first.Append(old_token, Payload(99), In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(LeaderOf(env, second), "");
    // Not the successor: it cannot win, although nobody leads.
    EXPECT_EQ(second.Campaign("nn-c", In(env, std::chrono::milliseconds(500))).code(),
              StatusCode::kTimeout);
    EXPECT_EQ(first.Campaign("nn-a", In(env, std::chrono::milliseconds(300))).code(),
              StatusCode::kTimeout);
    const FencingToken successor = MustLead(env, second, "nn-b");
    EXPECT_GT(successor, old_token);
    EXPECT_EQ(LeaderOf(env, first), "nn-b");
    EXPECT_EQ(MustAppend(env, second, successor, Payload(1)), 1u);
    // Taken, the reservation is gone: after the successor resigns, anyone may win at once.
    ASSERT_TRUE(second.Resign(In(env, kPatience)).ok());
    Result<FencingToken> third = first.Campaign("nn-c", In(env, std::chrono::seconds(1)));
    ASSERT_TRUE(third.ok()) << third.status().ToString();  // well before the reservation's end
    EXPECT_GT(*third, successor);
    // A reservation for a successor that never campaigns lapses after its length.
    const Instant handed_over = env.Now();
    ASSERT_TRUE(first.HandOver("nn-gone", reserve, In(env, kPatience)).ok());
    const FencingToken fourth = MustLead(env, second, "nn-d");
    EXPECT_GT(fourth, *third);
    EXPECT_GE(env.Now() - handed_over, reserve - std::chrono::milliseconds(200));  // clocks
  });
}

// A leader that stops renewing (paused past its lease) loses to the next candidate, learns it,
// and can no longer append or truncate.
TYPED_TEST_P(JournalContractTest, FencedAfterLeaseExpiry) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& first = world.client(0);
    Journal& second = world.client(1);
    const FencingToken old_token = MustLead(env, first, "nn-a");
    EXPECT_EQ(MustAppend(env, first, old_token, Payload(1)), 1u);
    // Renewals keep it: well past one lease, the second candidate still cannot win.
    EXPECT_EQ(second.Campaign("nn-b", In(env, world.lease_ttl() * 2)).code(), StatusCode::kTimeout);
    if (!world.PauseRenewal(0)) GTEST_SKIP() << "cannot pause a client";
    const FencingToken new_token = MustLead(env, second, "nn-b");
    EXPECT_GT(new_token, old_token);
    EXPECT_EQ(LeaderOf(env, first), "nn-b");
    EXPECT_EQ(first.WaitForLoss(old_token, In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(first.Append(old_token, Payload(99), In(env, kPatience)).code(), StatusCode::kFenced);
    EXPECT_EQ(MustLastSeq(env, second), 1u);
    EXPECT_EQ(MustAppend(env, second, new_token, Payload(2)), 2u);
  });
}

// Truncate drops a prefix only; reading it is kNotFound; numbering goes on.
TYPED_TEST_P(JournalContractTest, TruncateDropsOnlyThePrefix) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& journal = world.client(0);
    const FencingToken token = MustLead(env, journal, "nn-a");
    for (uint64_t i = 1; i <= 10; ++i) MustAppend(env, journal, token, Payload(i));
    ASSERT_TRUE(journal.Truncate(token, 6, In(env, kPatience)).ok());
    EXPECT_EQ(journal.Read(1, 4, In(env, kPatience)).code(), StatusCode::kNotFound);
    EXPECT_EQ(journal.Read(5, 4, In(env, kPatience)).code(), StatusCode::kNotFound);
    std::vector<JournalEntry> kept = ReadAll(env, journal, 6, 5);
    ASSERT_EQ(kept.size(), 5u);
    EXPECT_EQ(kept[0], (JournalEntry{6, Payload(6)}));
    EXPECT_EQ(MustLastSeq(env, journal), 10u);
    EXPECT_EQ(journal.Truncate(token, 12, In(env, kPatience)).code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE(journal.Truncate(token, 6, In(env, kPatience)).ok());  // again: no change
    EXPECT_EQ(MustAppend(env, journal, token, Payload(11)), 11u);
    ASSERT_TRUE(journal.Truncate(token, 12, In(env, kPatience)).ok());  // everything
    EXPECT_EQ(journal.Read(11, 1, In(env, kPatience)).code(), StatusCode::kNotFound);
    EXPECT_EQ(MustAppend(env, journal, token, Payload(12)), 12u);
    EXPECT_EQ(ReadAll(env, world.client(1), 12, 1).size(), 1u);
  });
}

// Every acknowledged entry survives crashes and restarts of each member in turn, and a
// minority down does not stop appends.
TYPED_TEST_P(JournalContractTest, DurableAcrossMemberRestarts) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& journal = world.client(0);
    if (world.members() < 3) GTEST_SKIP() << "needs three members";
    const FencingToken token = MustLead(env, journal, "nn-a");
    uint64_t appended = 0;
    for (int i = 0; i < 3; ++i) MustAppend(env, journal, token, Payload(++appended));
    for (int member = 0; member < world.members(); ++member) {
      if (!world.Crash(member)) GTEST_SKIP() << "cannot crash a member";
      for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(MustAppend(env, journal, token, Payload(appended + 1)), appended + 1);
        ++appended;
      }
      ASSERT_TRUE(world.Restart(member));
    }
    std::vector<JournalEntry> all = ReadAll(env, world.client(1), 1, appended);
    ASSERT_EQ(all.size(), appended);
    for (uint64_t i = 1; i <= appended; ++i) EXPECT_EQ(all[i - 1], (JournalEntry{i, Payload(i)}));
  });
}

// With a majority down an append fails within its deadline; with one member back it succeeds,
// and nothing acknowledged is lost.
TYPED_TEST_P(JournalContractTest, MajorityDownFailsThenRecovers) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& journal = world.client(0);
    if (world.members() < 3) GTEST_SKIP() << "needs three members";
    const FencingToken token = MustLead(env, journal, "nn-a");
    EXPECT_EQ(MustAppend(env, journal, token, Payload(1)), 1u);
    if (!world.Crash(1) || !world.Crash(2)) GTEST_SKIP() << "cannot crash members";
    const Instant deadline = In(env, std::chrono::seconds(2));
    Result<uint64_t> refused = journal.Append(token, Payload(2), deadline);
    EXPECT_FALSE(refused.ok());
    EXPECT_TRUE(refused.code() == StatusCode::kTimeout ||
                refused.code() == StatusCode::kUnavailable)
        << refused.status().ToString();
    EXPECT_FALSE(refused.status().message().empty());
    ASSERT_TRUE(world.Restart(1));
    // The refused append may or may not have been stored (its outcome was unknown); the next
    // one lands right after whatever is there.
    Result<uint64_t> next = journal.Append(token, Payload(3), In(env, kPatience));
    ASSERT_TRUE(next.ok()) << next.status().ToString();
    EXPECT_TRUE(*next == 2 || *next == 3) << *next;
    std::vector<JournalEntry> all = ReadAll(env, journal, 1, *next);
    ASSERT_EQ(all.size(), *next);
    EXPECT_EQ(all.front(), (JournalEntry{1, Payload(1)}));
    EXPECT_EQ(all.back(), (JournalEntry{*next, Payload(3)}));
    ASSERT_TRUE(world.Restart(2));
  });
}

// A follower waiting in Read learns of an append while it waits: the read returns the entry
// before its own deadline. A harness builds its clients so that only a notification (a
// watch) can do that: a journal that found nothing new and then polled would not look again
// before the deadline (EtcdJournal's safety poll is set to an hour; the simulated journal
// polls not at all).
TYPED_TEST_P(JournalContractTest, WaitingFollowerLearnsOfAnAppend) {
  using namespace journal_contract;
  TypeParam::Run([](JournalWorld& world) {
    Env& env = world.env();
    Journal& leader = world.client(0);
    Journal& follower = world.client(1);
    const FencingToken token = MustLead(env, leader, "nn-a");
    EXPECT_EQ(MustAppend(env, leader, token, Payload(1)), 1u);
    auto got = std::make_shared<Result<std::vector<JournalEntry>>>(std::vector<JournalEntry>());
    auto returned = std::make_shared<bool>(false);
    auto read_deadline = std::make_shared<Instant>(In(env, kPatience));
    env.Spawn("follower", [&follower, got, returned, read_deadline] {
      *got = follower.Read(2, kJournalReadEntriesMax, *read_deadline);
      *returned = true;
    });
    // The follower is waiting (its read found nothing at 2) before the append.
    ASSERT_TRUE(env.SleepFor(std::chrono::milliseconds(300)).ok());
    EXPECT_FALSE(*returned) << "a read with nothing to return ended before its deadline";
    EXPECT_EQ(MustAppend(env, leader, token, Payload(2)), 2u);
    ASSERT_TRUE(WaitFor(
        env, [&] { return *returned; }, kPatience + std::chrono::seconds(1)));
    ASSERT_TRUE(got->ok()) << got->status().ToString();
    ASSERT_EQ((*got)->size(), 1u) << "the read waited out its deadline: nothing woke it";
    EXPECT_EQ((**got)[0], (JournalEntry{2, Payload(2)}));
  });
}

REGISTER_TYPED_TEST_SUITE_P(JournalContractTest, AppendsAreNumberedDenselyInOrder,
                            ConcurrentAppendsTakeDistinctNumbers, EntryLimits, FollowFromASequence,
                            FencedAfterResign, HandOverReservesTheElectionForTheSuccessor,
                            FencedAfterLeaseExpiry, TruncateDropsOnlyThePrefix,
                            DurableAcrossMemberRestarts, MajorityDownFailsThenRecovers,
                            WaitingFollowerLearnsOfAnAppend);

}  // namespace granary::seams_test
