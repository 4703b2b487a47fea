// MemoryJournal: a test double of the Journal seam (core/seams/journal.h) for the namenode's
// HA unit tests: one shared in-memory log and leader record, one client per simulated
// process, time from each client's Env. It keeps the contract's order, fencing, leases and
// truncation, but has no members to crash and costs no round trips: the journal's own
// faults are SimJournal's and EtcdJournal's to test (tests/seams/journal_contract.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/seams/env.h"
#include "core/seams/journal.h"

namespace granary::testing {

struct MemoryJournalState {
  std::vector<JournalEntry> entries;  // from first_seq on
  uint64_t first_seq = 1;
  uint64_t last_seq = 0;
  uint64_t revision = 0;  // tokens come from it and only grow
  std::string leader;     // "" when nobody leads
  FencingToken token{};
  Instant valid_until{};
  // A handover's reservation: until `reserved_until` only `reserved_for` wins a campaign.
  std::string reserved_for;
  Instant reserved_until{};
  uint64_t appends = 0;
  // Appends in flight at once, now and at most.
  uint32_t in_flight = 0;
  uint32_t in_flight_max = 0;
  // While non-empty, each append takes the front delay: it is numbered and stored at once and
  // answers after the delay, so appends in flight together may answer out of order.
  std::deque<Duration> reply_delays;
  // Entries stored whose appends answer kTimeout instead (the reply lost).
  std::set<uint64_t> lose_replies;
};

class MemoryJournal final : public Journal {
 public:
  MemoryJournal(Env& env, std::shared_ptr<MemoryJournalState> state, Duration lease_ttl)
      : env_(env), state_(std::move(state)), ttl_(lease_ttl) {}

  // Stops renewing, as a process paused past its lease would.
  void PauseRenewal() { *paused_ = true; }
  // This client's reads of entries: held (they wait, as a follower stuck on a slow disk or
  // cut off), and each delayed by `delay` (a slow follower).
  void HoldReads(bool held) { *held_ = held; }
  void SetReadDelay(Duration delay) { *read_delay_ = delay; }

  Result<FencingToken> Campaign(std::string_view candidate, Instant deadline) override {
    for (;;) {
      Expire();
      const bool reserved_for_another =
          env_.Now() < state_->reserved_until && state_->reserved_for != candidate;
      if (state_->leader.empty() && !reserved_for_another) {
        state_->leader = std::string(candidate);
        state_->reserved_until = Instant();  // taken by its successor (or lapsed)
        state_->token = FencingToken(++state_->revision);
        state_->valid_until = env_.Now() + ttl_;
        mine_ = state_->token;
        StartRenewing(mine_);
        return mine_;
      }
      if (Holds(mine_)) return mine_;
      if (env_.Now() >= deadline) {
        return Status(StatusCode::kTimeout, "held by " + state_->leader + " or reserved for " +
                                                state_->reserved_for);
      }
      GRANARY_RETURN_IF_ERROR(env_.SleepFor(kPoll));
    }
  }
  Status WaitForLoss(FencingToken token, Instant deadline) override {
    for (;;) {
      Expire();
      if (!Holds(token)) return Status(StatusCode::kFenced, "lost");
      if (env_.Now() >= deadline) return Status(StatusCode::kTimeout, "held");
      GRANARY_RETURN_IF_ERROR(env_.SleepFor(std::min<Duration>(kPoll, deadline - env_.Now())));
    }
  }
  Result<std::string> Leader(Instant) override {
    Expire();
    return state_->leader;
  }
  Status Resign(Instant) override {
    if (Holds(mine_)) {
      state_->leader.clear();
      state_->token = FencingToken();
    }
    mine_ = FencingToken();
    return Status::Ok();
  }
  Status HandOver(std::string_view successor, Duration reserve, Instant deadline) override {
    if (Holds(mine_)) {
      state_->reserved_for = std::string(successor);
      state_->reserved_until = env_.Now() + reserve;
    }
    return Resign(deadline);
  }
  Result<uint64_t> Append(FencingToken token, std::string_view payload, Instant) override {
    if (payload.empty() || payload.size() > kJournalEntryBytesMax) {
      return Status(StatusCode::kInvalidArgument, "entry size");
    }
    if (!state_->reply_delays.empty()) return AppendDelayed(token, payload);
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(kAppendCost));  // a round trip and a sync, roughly
    Expire();
    if (!Holds(token)) return Status(StatusCode::kFenced, "not the leader");
    const uint64_t seq = ++state_->last_seq;
    state_->entries.push_back({seq, std::string(payload)});
    ++state_->appends;
    return seq;
  }
  Result<std::vector<JournalEntry>> Read(uint64_t from_seq, uint32_t max_entries,
                                         Instant deadline) override {
    if (*read_delay_ > Duration(0)) GRANARY_RETURN_IF_ERROR(env_.SleepFor(*read_delay_));
    while (*held_) {
      if (env_.Now() >= deadline) return std::vector<JournalEntry>{};
      GRANARY_RETURN_IF_ERROR(env_.SleepFor(kPoll));
    }
    for (;;) {
      if (from_seq < state_->first_seq) return Status(StatusCode::kNotFound, "truncated");
      if (from_seq <= state_->last_seq) {
        std::vector<JournalEntry> out;
        for (uint64_t s = from_seq; s <= state_->last_seq && out.size() < max_entries; ++s) {
          out.push_back(state_->entries[s - state_->first_seq]);
        }
        return out;
      }
      if (env_.Now() >= deadline) return std::vector<JournalEntry>{};
      GRANARY_RETURN_IF_ERROR(env_.SleepFor(std::min<Duration>(kPoll, deadline - env_.Now())));
    }
  }
  Result<uint64_t> LastSeq(Instant) override { return state_->last_seq; }
  Status Truncate(FencingToken token, uint64_t before_seq, Instant) override {
    Expire();
    if (!Holds(token)) return Status(StatusCode::kFenced, "not the leader");
    if (before_seq > state_->last_seq + 1) return Status(StatusCode::kInvalidArgument, "past");
    while (state_->first_seq < before_seq) {
      state_->entries.erase(state_->entries.begin());
      ++state_->first_seq;
    }
    return Status::Ok();
  }

 private:
  static constexpr Duration kPoll = std::chrono::milliseconds(10);
  static constexpr Duration kAppendCost = std::chrono::milliseconds(2);

  Result<uint64_t> AppendDelayed(FencingToken token, std::string_view payload) {
    const Duration delay = state_->reply_delays.front();
    state_->reply_delays.pop_front();
    Expire();
    if (!Holds(token)) return Status(StatusCode::kFenced, "not the leader");
    const uint64_t seq = ++state_->last_seq;
    state_->entries.push_back({seq, std::string(payload)});
    ++state_->appends;
    state_->in_flight_max = std::max(state_->in_flight_max, ++state_->in_flight);
    const Status slept = env_.SleepFor(delay);
    --state_->in_flight;
    GRANARY_RETURN_IF_ERROR(slept);
    if (state_->lose_replies.count(seq) != 0) return Status(StatusCode::kTimeout, "reply lost");
    return seq;
  }
  bool Holds(FencingToken token) const {
    return token.value() != 0 && state_->token == token && !state_->leader.empty();
  }
  void Expire() {
    if (!state_->leader.empty() && env_.Now() >= state_->valid_until) {
      state_->leader.clear();
      state_->token = FencingToken();
    }
  }
  void StartRenewing(FencingToken token) {
    env_.Spawn("memory-journal-lease",
               [&env = env_, state = state_, token, ttl = ttl_, paused = paused_] {
                 while (env.SleepFor(ttl / 3).ok() && !*paused) {
                   if (state->token != token || state->leader.empty()) return;
                   state->valid_until = env.Now() + ttl;
                 }
               });
  }

  Env& env_;
  std::shared_ptr<MemoryJournalState> state_;
  const Duration ttl_;
  FencingToken mine_{};
  std::shared_ptr<bool> paused_ = std::make_shared<bool>(false);
  std::shared_ptr<bool> held_ = std::make_shared<bool>(false);
  std::shared_ptr<Duration> read_delay_ = std::make_shared<Duration>(0);
};

}  // namespace granary::testing
