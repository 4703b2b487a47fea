#include "net/etcd_journal.h"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <string>
#include <utility>

#include "core/common/limits.h"

namespace granary::net {

// One term of leadership. The renewal fiber holds it by shared_ptr, so that neither Resign
// nor the journal's destruction has to wait for the fiber: they mark it closed and the fiber
// ends at its next wake-up.
struct EtcdJournal::Leadership {
  FencingToken token;
  int64_t lease_id = 0;
  bool held = true;      // false once lost or resigned; never true again
  bool closed = false;   // resigned or the journal destroyed: the fiber ends
  bool renewing = true;  // false after StopRenewing
  Instant valid_until;   // the lease surely lapsed after this unless renewed since
};

namespace {

using etcdserverpb::Compare;

constexpr size_t kSeqDigits = 20;  // every uint64_t fits

std::string SeqText(uint64_t seq) {
  std::string digits = std::to_string(seq);
  return std::string(kSeqDigits - digits.size(), '0') + digits;
}

// Parses a 20-digit sequence number; nullopt when `text` is not one.
std::optional<uint64_t> ParseSeq(std::string_view text) {
  if (text.size() != kSeqDigits) return std::nullopt;
  uint64_t seq = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    seq = seq * 10 + static_cast<uint64_t>(c - '0');
  }
  return seq;
}

// The last sequence from a Range of <prefix>last: 0 when the key does not exist yet.
Result<uint64_t> LastFrom(const etcdserverpb::RangeResponse& range) {
  if (range.kvs_size() == 0) return uint64_t{0};
  std::optional<uint64_t> seq = ParseSeq(range.kvs(0).value());
  if (!seq) return Status(StatusCode::kCorruption, "journal's last sequence is not 20 digits");
  return *seq;
}

void AddFence(etcdserverpb::TxnRequest& txn, const std::string& leader_key, FencingToken token) {
  Compare* fence = txn.add_compare();
  fence->set_key(leader_key);
  fence->set_target(Compare::CREATE);
  fence->set_result(Compare::EQUAL);
  fence->set_create_revision(static_cast<int64_t>(token.value()));
}

void AddRange(google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>* ops, std::string key,
              std::string range_end = {}, int64_t limit = 0) {
  etcdserverpb::RangeRequest* range = ops->Add()->mutable_request_range();
  range->set_key(std::move(key));
  range->set_range_end(std::move(range_end));
  range->set_limit(limit);
}

void AddPut(etcdserverpb::TxnRequest& txn, std::string key, std::string_view value,
            int64_t lease_id = 0) {
  etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
  put->set_key(std::move(key));
  put->set_value(std::string(value));
  put->set_lease(lease_id);
}

// Every stored entry starts with its writer's tag: the writer's id and the append's serial,
// 8 bytes each, little-endian. An append whose reply was lost finds its own tag at the number
// it tried and so returns that number instead of appending the entry twice.
constexpr size_t kEntryTagBytes = 16;

std::string EntryTag(uint64_t writer_id, uint64_t serial) {
  std::string tag(kEntryTagBytes, '\0');
  for (size_t i = 0; i < 8; ++i) {
    tag[i] = static_cast<char>(writer_id >> (8 * i));
    tag[8 + i] = static_cast<char>(serial >> (8 * i));
  }
  return tag;
}

int64_t TtlSeconds(Duration ttl) {
  return std::max<int64_t>(1, std::chrono::ceil<std::chrono::seconds>(ttl).count());
}

// Renews `leadership`'s lease every ttl/3 until it is closed or lost. A renewal that fails is
// retried at the next period; once `valid_until` passes without one, the lease may have
// expired on etcd's side, so leadership counts as lost here too.
void RenewLoop(RealEnv& env, std::shared_ptr<EtcdClient> client,
               std::shared_ptr<EtcdJournal::Leadership> leadership, Duration ttl) {
  const Duration period = ttl / 3;
  while (!leadership->closed && leadership->held) {
    if (!env.SleepFor(period).ok()) return;
    if (leadership->closed || !leadership->held) return;
    if (leadership->renewing) {
      const Instant sent = env.Now();
      Result<int64_t> left = client->LeaseKeepAlive(leadership->lease_id, sent + period);
      if (left.ok() && *left <= 0) leadership->held = false;
      if (left.ok() && *left > 0) leadership->valid_until = sent + ttl;
    }
    if (env.Now() >= leadership->valid_until) leadership->held = false;
  }
}

}  // namespace

Result<std::unique_ptr<EtcdJournal>> EtcdJournal::Open(RealEnv& env, EtcdJournalOptions options) {
  if (options.prefix.empty() || options.prefix.back() != '/') {
    return Status(StatusCode::kInvalidArgument, "journal prefix must end with '/'");
  }
  if (options.lease_ttl < std::chrono::seconds(1) || options.poll_interval <= Duration(0) ||
      options.follow_poll_interval <= Duration(0)) {
    return Status(StatusCode::kInvalidArgument,
                  "lease_ttl >= 1 s, poll_interval > 0 and follow_poll_interval > 0");
  }
  GRANARY_ASSIGN_OR_RETURN(std::shared_ptr<EtcdClient> client,
                           EtcdClient::Connect(env, options.endpoints));
  return std::unique_ptr<EtcdJournal>(new EtcdJournal(env, std::move(options), std::move(client)));
}

EtcdJournal::EtcdJournal(RealEnv& env, EtcdJournalOptions options,
                         std::shared_ptr<EtcdClient> client)
    : env_(env),
      options_(std::move(options)),
      client_(std::move(client)),
      writer_id_(env.random().Next()) {}

EtcdJournal::~EtcdJournal() {
  if (leadership_) leadership_->closed = true;
}

std::string EtcdJournal::EntryKey(uint64_t seq) const {
  return options_.prefix + "e/" + SeqText(seq);
}

Result<FencingToken> EtcdJournal::Campaign(std::string_view candidate, Instant deadline) {
  if (candidate.empty() || candidate.size() > kJournalCandidateBytesMax) {
    return Status(StatusCode::kInvalidArgument,
                  "candidate name outside 1..kJournalCandidateBytesMax");
  }
  if (leadership_ && leadership_->held) return leadership_->token;
  const int64_t ttl_seconds = TtlSeconds(options_.lease_ttl);
  Instant renewed_at = env_.Now();
  GRANARY_ASSIGN_OR_RETURN(int64_t lease_id, client_->LeaseGrant(ttl_seconds, deadline));
  const Duration retry_after =
      std::min<Duration>(options_.lease_ttl / 4, 5 * options_.poll_interval);
  Status last_refusal;
  for (;;) {
    Result<FencingToken> won = TryCreateLeaderKey(candidate, lease_id, deadline);
    if (won.ok()) {
      StartRenewing(*won, lease_id, renewed_at);
      return won;
    }
    last_refusal = won.status();
    if (won.code() == StatusCode::kNodeDown) return won.status();
    if (env_.Now() + retry_after >= deadline) break;
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(retry_after));
    // Our own lease must outlive the wait, or a win would come with an expired lease.
    if (env_.Now() - renewed_at >= options_.lease_ttl / 3) {
      const Instant sent = env_.Now();
      Result<int64_t> left = client_->LeaseKeepAlive(lease_id, deadline);
      if (left.ok() && *left > 0) renewed_at = sent;
      if (left.ok() && *left <= 0) {
        GRANARY_ASSIGN_OR_RETURN(lease_id, client_->LeaseGrant(ttl_seconds, deadline));
        renewed_at = sent;
      }
    }
  }
  // Leave nothing behind: the lease (and a leader key a lost reply may have created with it).
  (void)client_->LeaseRevoke(lease_id, env_.Now() + options_.lease_ttl);
  return Status(StatusCode::kTimeout, "campaign: " + last_refusal.ToString());
}

Result<FencingToken> EtcdJournal::TryCreateLeaderKey(std::string_view candidate, int64_t lease_id,
                                                     Instant deadline) {
  // The leader key is created only while absent, and only while no handover reserves the
  // election for another candidate: first as if unreserved, then (the reservation naming this
  // candidate) again with the reservation's value compared and the reservation deleted.
  etcdserverpb::TxnRequest txn;
  Compare* absent = txn.add_compare();
  absent->set_key(LeaderKey());
  absent->set_target(Compare::CREATE);
  absent->set_result(Compare::EQUAL);
  absent->set_create_revision(0);
  Compare* unreserved = txn.add_compare();
  unreserved->set_key(ReservedKey());
  unreserved->set_target(Compare::CREATE);
  unreserved->set_result(Compare::EQUAL);
  unreserved->set_create_revision(0);
  AddPut(txn, LeaderKey(), candidate, lease_id);
  AddRange(txn.mutable_failure(), LeaderKey());
  AddRange(txn.mutable_failure(), ReservedKey());
  GRANARY_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_->Txn(txn, deadline));
  // The key's creation revision is the revision of the transaction that created it.
  if (response.succeeded())
    return FencingToken(static_cast<uint64_t>(response.header().revision()));
  assert(response.responses_size() == 2);
  const etcdserverpb::RangeResponse& range = response.responses(0).response_range();
  const etcdserverpb::RangeResponse& reserved = response.responses(1).response_range();
  if (range.kvs_size() == 0 && reserved.kvs_size() == 1) {
    if (reserved.kvs(0).value() != candidate) {
      return Status(StatusCode::kLeaseConflict,
                    "the election is reserved for " + reserved.kvs(0).value() + " by a handover");
    }
    etcdserverpb::TxnRequest take;
    Compare* still_absent = take.add_compare();
    *still_absent = *absent;
    Compare* mine = take.add_compare();
    mine->set_key(ReservedKey());
    mine->set_target(Compare::VALUE);
    mine->set_result(Compare::EQUAL);
    mine->set_value(std::string(candidate));
    AddPut(take, LeaderKey(), candidate, lease_id);
    take.add_success()->mutable_request_delete_range()->set_key(ReservedKey());
    GRANARY_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse taken, client_->Txn(take, deadline));
    if (taken.succeeded()) return FencingToken(static_cast<uint64_t>(taken.header().revision()));
    return Status(StatusCode::kLeaseConflict, "the reservation or the leader key changed");
  }
  if (range.kvs_size() == 0) return Status(StatusCode::kLeaseConflict, "leader key just went");
  const mvccpb::KeyValue& leader = range.kvs(0);
  // A reply lost after our key was created: the key is ours.
  if (leader.lease() == lease_id) {
    return FencingToken(static_cast<uint64_t>(leader.create_revision()));
  }
  return Status(StatusCode::kLeaseConflict, "leadership held by " + leader.value());
}

void EtcdJournal::StartRenewing(FencingToken token, int64_t lease_id, Instant granted_at) {
  if (leadership_) leadership_->closed = true;
  leadership_ = std::make_shared<Leadership>();
  leadership_->token = token;
  leadership_->lease_id = lease_id;
  leadership_->valid_until = granted_at + options_.lease_ttl;
  env_.Spawn("journal-lease",
             [&env = env_, client = client_, leadership = leadership_, ttl = options_.lease_ttl] {
               RenewLoop(env, client, leadership, ttl);
             });
}

Status EtcdJournal::CheckLeaderKey(FencingToken token, Instant deadline) {
  etcdserverpb::RangeRequest request;
  request.set_key(LeaderKey());
  GRANARY_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse range, client_->Range(request, deadline));
  if (range.kvs_size() == 0 ||
      range.kvs(0).create_revision() != static_cast<int64_t>(token.value())) {
    return Status(StatusCode::kFenced,
                  "leader key of token " + std::to_string(token.value()) + " is gone");
  }
  return Status::Ok();
}

Status EtcdJournal::WaitForLoss(FencingToken token, Instant deadline) {
  Instant next_check = env_.Now();
  for (;;) {
    const std::shared_ptr<Leadership> leadership = leadership_;
    if (!leadership || !leadership->held || leadership->token != token) {
      return Status(StatusCode::kFenced,
                    "not the leader under token " + std::to_string(token.value()));
    }
    if (leadership->closed) return Status(StatusCode::kFenced, "journal closed");
    const Instant now = env_.Now();
    if (now >= next_check) {
      const Status checked =
          CheckLeaderKey(token, std::min(deadline, now + options_.lease_ttl / 3));
      if (checked.code() == StatusCode::kFenced) {
        leadership->held = false;
        return checked;
      }
      if (checked.code() == StatusCode::kNodeDown) return checked;
      next_check = env_.Now() + options_.lease_ttl / 4;
    }
    if (env_.Now() >= deadline) return Status(StatusCode::kTimeout, "still the leader");
    GRANARY_RETURN_IF_ERROR(
        env_.SleepFor(std::min<Duration>(options_.poll_interval, deadline - env_.Now())));
  }
}

Result<std::string> EtcdJournal::Leader(Instant deadline) {
  etcdserverpb::RangeRequest request;
  request.set_key(LeaderKey());
  GRANARY_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse range, client_->Range(request, deadline));
  if (range.kvs_size() == 0) return std::string();
  return range.kvs(0).value();
}

Status EtcdJournal::Resign(Instant deadline) {
  const std::shared_ptr<Leadership> leadership = leadership_;
  if (!leadership || leadership->closed) return Status::Ok();
  leadership->held = false;
  leadership->closed = true;
  // Revoking deletes the leader key at once, so a successor need not wait out the lease.
  return client_->LeaseRevoke(leadership->lease_id, deadline);
}

Status EtcdJournal::HandOver(std::string_view successor, Duration reserve, Instant deadline) {
  const std::shared_ptr<Leadership> leadership = leadership_;
  if (!leadership || leadership->closed || !leadership->held) return Resign(deadline);
  // The reservation lives on a lease of its own, so that etcd drops it after `reserve` even
  // when nobody (the successor died) ever takes it. Put only while this leadership lasts.
  Result<int64_t> reserve_lease = client_->LeaseGrant(TtlSeconds(reserve), deadline);
  if (reserve_lease.ok()) {
    etcdserverpb::TxnRequest txn;
    AddFence(txn, LeaderKey(), leadership->token);
    AddPut(txn, ReservedKey(), successor, *reserve_lease);
    (void)client_->Txn(txn, deadline);  // without it the handover is a plain resignation
  }
  return Resign(deadline);
}

Status EtcdJournal::FencedUnlessLeader(const etcdserverpb::TxnResponse& failed,
                                       FencingToken token) {
  assert(failed.responses_size() >= 1);
  const etcdserverpb::RangeResponse& leader = failed.responses(0).response_range();
  if (leader.kvs_size() == 1 &&
      leader.kvs(0).create_revision() == static_cast<int64_t>(token.value())) {
    return Status::Ok();
  }
  if (leadership_ && leadership_->token == token) leadership_->held = false;
  return Status(
      StatusCode::kFenced,
      "token " + std::to_string(token.value()) + " is not the leader's (" +
          (leader.kvs_size() == 0 ? std::string("no leader") : "leader " + leader.kvs(0).value()) +
          ")");
}

Result<uint64_t> EtcdJournal::Append(FencingToken token, std::string_view payload,
                                     Instant deadline) {
  if (payload.empty() || payload.size() > kJournalEntryBytesMax) {
    return Status(StatusCode::kInvalidArgument, "journal entry of " +
                                                    std::to_string(payload.size()) +
                                                    " bytes outside 1..kJournalEntryBytesMax");
  }
  const std::string tag = EntryTag(writer_id_, ++next_serial_);
  std::string value = tag;
  value += payload;
  // Appends in flight together (a JournaledStore keeps several) take consecutive numbers
  // from the start, so that they do not all compete for the same one; one that reaches etcd
  // before an earlier one fails its compare and retries from the number etcd reports.
  if (appends_in_flight_ == 0) reserved_last_seq_ = known_last_seq_;
  ++appends_in_flight_;
  struct Leave {
    uint32_t& count;
    ~Leave() { --count; }
  } leave{appends_in_flight_};
  uint64_t next_expected = std::max(known_last_seq_, reserved_last_seq_);
  reserved_last_seq_ = next_expected + 1;
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    const uint64_t expected = next_expected;
    etcdserverpb::TxnRequest txn;
    AddFence(txn, LeaderKey(), token);
    Compare* last = txn.add_compare();
    last->set_key(LastKey());
    last->set_result(Compare::EQUAL);
    if (expected == 0) {
      last->set_target(Compare::CREATE);  // no entry ever: the key does not exist
      last->set_create_revision(0);
    } else {
      last->set_target(Compare::VALUE);
      last->set_value(SeqText(expected));
    }
    AddPut(txn, EntryKey(expected + 1), value);
    AddPut(txn, LastKey(), SeqText(expected + 1));
    AddRange(txn.mutable_failure(), LeaderKey());
    AddRange(txn.mutable_failure(), LastKey());
    AddRange(txn.mutable_failure(), EntryKey(expected + 1));
    assert(static_cast<uint32_t>(txn.compare_size() + txn.success_size()) <= kJournalTxnOpsMax);
    GRANARY_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_->Txn(txn, deadline));
    if (!response.succeeded()) {
      GRANARY_RETURN_IF_ERROR(FencedUnlessLeader(response, token));
      assert(response.responses_size() == 3);
      GRANARY_ASSIGN_OR_RETURN(known_last_seq_, LastFrom(response.responses(1).response_range()));
      // Our own earlier try, whose reply was lost (EtcdClient retries), took the number.
      const etcdserverpb::RangeResponse& taken = response.responses(2).response_range();
      const bool ours = taken.kvs_size() == 1 && taken.kvs(0).value().starts_with(tag);
      if (!ours) {
        // Another append took the number, or an earlier one of ours has not landed yet:
        // try again after the last one etcd has.
        next_expected = known_last_seq_;
        continue;
      }
    }
    known_last_seq_ = std::max(known_last_seq_, expected + 1);
    return expected + 1;
  }
  return Status(StatusCode::kTimeout, "append lost the race for a sequence number too often");
}

Result<std::vector<JournalEntry>> EtcdJournal::Read(uint64_t from_seq, uint32_t max_entries,
                                                    Instant deadline) {
  if (from_seq == 0 || max_entries == 0 || max_entries > kJournalReadEntriesMax) {
    return Status(StatusCode::kInvalidArgument, "read from >= 1, 1..kJournalReadEntriesMax");
  }
  const std::string entries_prefix = options_.prefix + "e/";
  for (;;) {
    // Entries and the last sequence at one revision, so a gap is told from a truncation.
    etcdserverpb::TxnRequest txn;
    AddRange(txn.mutable_success(), EntryKey(from_seq), options_.prefix + "e0", max_entries);
    AddRange(txn.mutable_success(), LastKey());
    GRANARY_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_->Txn(txn, deadline));
    assert(response.succeeded() && response.responses_size() == 2);
    const etcdserverpb::RangeResponse& found = response.responses(0).response_range();
    std::vector<JournalEntry> entries;
    for (const mvccpb::KeyValue& kv : found.kvs()) {
      std::optional<uint64_t> seq =
          ParseSeq(std::string_view(kv.key()).substr(entries_prefix.size()));
      if (!seq || *seq != from_seq + entries.size()) {
        if (entries.empty() && seq && *seq > from_seq) break;  // truncated below `seq`
        return Status(StatusCode::kCorruption, "journal entry key out of sequence: " + kv.key());
      }
      if (kv.value().size() <= kEntryTagBytes) {
        return Status(StatusCode::kCorruption, "journal entry without its tag: " + kv.key());
      }
      entries.push_back(JournalEntry{*seq, kv.value().substr(kEntryTagBytes)});
    }
    if (!entries.empty()) return entries;
    GRANARY_ASSIGN_OR_RETURN(uint64_t last, LastFrom(response.responses(1).response_range()));
    if (last >= from_seq) {
      return Status(StatusCode::kNotFound,
                    "journal entry " + std::to_string(from_seq) + " was truncated");
    }
    if (env_.Now() >= deadline) return entries;
    // Nothing new at this revision: wait for the next put of an entry key, then read again.
    const Instant watch_until = std::min(deadline, env_.Now() + options_.follow_poll_interval);
    Result<EtcdClient::WatchOutcome> watched = client_->WatchNext(
        EntryKey(from_seq), options_.prefix + "e0", response.header().revision() + 1, watch_until);
    if (watched.code() == StatusCode::kNodeDown) return watched.status();
    if (!watched.ok() && watched.code() != StatusCode::kTimeout && env_.Now() < deadline) {
      // No member to watch on: read again after a pause rather than spin.
      GRANARY_RETURN_IF_ERROR(
          env_.SleepFor(std::min<Duration>(options_.poll_interval, deadline - env_.Now())));
    }
    if (env_.Now() >= deadline) return std::vector<JournalEntry>();
  }
}

Result<uint64_t> EtcdJournal::LastSeq(Instant deadline) {
  etcdserverpb::RangeRequest request;
  request.set_key(LastKey());
  GRANARY_ASSIGN_OR_RETURN(etcdserverpb::RangeResponse range, client_->Range(request, deadline));
  return LastFrom(range);
}

Status EtcdJournal::Truncate(FencingToken token, uint64_t before_seq, Instant deadline) {
  // LastSeq only grows, so a bound checked before the transaction still holds in it.
  GRANARY_ASSIGN_OR_RETURN(uint64_t last, LastSeq(deadline));
  if (before_seq == 0 || before_seq > last + 1) {
    return Status(StatusCode::kInvalidArgument, "truncate before " + std::to_string(before_seq) +
                                                    " past the last entry " + std::to_string(last));
  }
  etcdserverpb::TxnRequest txn;
  AddFence(txn, LeaderKey(), token);
  etcdserverpb::DeleteRangeRequest* drop = txn.add_success()->mutable_request_delete_range();
  drop->set_key(EntryKey(0));
  drop->set_range_end(EntryKey(before_seq));
  AddRange(txn.mutable_failure(), LeaderKey());
  GRANARY_ASSIGN_OR_RETURN(etcdserverpb::TxnResponse response, client_->Txn(txn, deadline));
  if (!response.succeeded()) {
    GRANARY_RETURN_IF_ERROR(FencedUnlessLeader(response, token));
    return Status(StatusCode::kInternal, "fenced truncate failed with the token current");
  }
  // The deleted values stay in etcd's history until compacted up to the delete's revision.
  // This compacts the history of the whole etcd keyspace: keys of other users of the same
  // etcd lose their history before this revision too (Granary keeps none it reads back).
  return client_->Compact(response.header().revision(), deadline);
}

Status EtcdJournal::DefragmentMembers(double free_fraction_min, Instant deadline) {
  std::vector<size_t> fragmented;
  for (size_t member = 0; member < client_->members(); ++member) {
    GRANARY_ASSIGN_OR_RETURN(etcdserverpb::StatusResponse status,
                             client_->MemberStatus(member, deadline));
    const double free_bytes = static_cast<double>(status.dbsize() - status.dbsizeinuse());
    if (status.dbsize() > 0 &&
        free_bytes > free_fraction_min * static_cast<double>(status.dbsize())) {
      fragmented.push_back(member);
    }
  }
  for (size_t member : fragmented) {
    GRANARY_RETURN_IF_ERROR(client_->Defragment(member, deadline));
  }
  return Status::Ok();
}

void EtcdJournal::StopRenewing() {
  if (leadership_) leadership_->renewing = false;
}

}  // namespace granary::net
