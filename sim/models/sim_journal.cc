#include "sim/models/sim_journal.h"

#include <algorithm>
#include <utility>

#include "core/common/limits.h"
#include "sim/kernel/sim_process.h"

namespace granary::sim {

SimJournal::SimJournal(SimProcess& process, SimJournalService& service)
    : process_(process),
      service_(service),
      renewal_(std::make_shared<SimJournalService::RenewalSwitch>()),
      id_(service.Register(process.node().name(), renewal_)) {}

SimJournal::~SimJournal() {
  if (leadership_ != nullptr) leadership_->closed = true;
  service_.Unregister(id_);
}

void SimJournal::PauseRenewal(bool paused) { renewal_->paused = paused; }

JournalRequest SimJournal::Request(JournalOp op) const {
  JournalRequest request;
  request.op = op;
  request.client = id_;
  return request;
}

Result<JournalReply> SimJournal::Run(const JournalRequest& request, Instant deadline) {
  GRANARY_ASSIGN_OR_RETURN(JournalReply reply, service_.Call(process_, request, deadline));
  if (!reply.status.ok()) return reply.status;
  return reply;
}

bool SimJournal::Holds(FencingToken token) const {
  return leadership_ != nullptr && !leadership_->lost && leadership_->token == token &&
         process_.env().Now() < leadership_->renewed_at + service_.options().lease_ttl;
}

FencingToken SimJournal::Won(FencingToken token, Instant sent) {
  if (leadership_ != nullptr && leadership_->token == token && !leadership_->lost) {
    return token;  // campaigning again while leader
  }
  if (leadership_ != nullptr) leadership_->closed = true;
  leadership_ = std::make_shared<Leadership>();
  leadership_->token = token;
  leadership_->renewed_at = sent;
  StartRenewing(leadership_);
  return token;
}

Result<FencingToken> SimJournal::Campaign(std::string_view candidate, Instant deadline) {
  if (candidate.empty() || candidate.size() > kJournalCandidateBytesMax) {
    return Status(
        StatusCode::kInvalidArgument,
        "a candidate's name has 1.." + std::to_string(kJournalCandidateBytesMax) + " bytes");
  }
  Env& env = process_.env();
  for (;;) {
    // While another candidate holds the lease, poll with reads: they cost the members no sync.
    const bool leading = leadership_ != nullptr && !leadership_->lost;
    GRANARY_ASSIGN_OR_RETURN(JournalReply holder, Run(Request(JournalOp::kLeader), deadline));
    if (leading || holder.text.empty()) {
      JournalRequest request = Request(JournalOp::kCampaign);
      request.text = std::string(candidate);
      request.deadline = deadline;
      const Instant sent = env.Now();
      GRANARY_ASSIGN_OR_RETURN(JournalReply reply, Run(request, deadline));
      if (reply.token.value() != 0) return Won(reply.token, sent);
    }
    const Instant next = env.Now() + service_.options().poll_interval;
    if (next >= deadline) {
      GRANARY_RETURN_IF_ERROR(env.SleepUntil(deadline));
      return Status(StatusCode::kTimeout, "another candidate holds the leadership");
    }
    GRANARY_RETURN_IF_ERROR(env.SleepUntil(next));
  }
}

void SimJournal::StartRenewing(const std::shared_ptr<Leadership>& leadership) {
  const Duration ttl = service_.options().lease_ttl;
  process_.env().Spawn("journal-renew", [this_process = &process_, service = &service_, leadership,
                                         renewal = renewal_, client = id_, ttl] {
    Env& env = this_process->env();
    while (env.SleepFor(ttl / 3).ok()) {
      if (leadership->closed || leadership->lost) return;
      if (!renewal->paused) {
        JournalRequest request;
        request.op = JournalOp::kKeepAlive;
        request.client = client;
        request.token = leadership->token;
        const Instant sent = env.Now();
        Result<JournalReply> reply = service->Call(*this_process, request, sent + ttl / 3);
        if (reply.code() == StatusCode::kNodeDown) return;
        if (reply.ok() && reply->status.ok()) leadership->renewed_at = sent;
        if (reply.ok() && !reply->status.ok()) leadership->lost = true;
      }
      if (env.Now() >= leadership->renewed_at + ttl) leadership->lost = true;
      if (leadership->lost) return;
    }
  });
}

Status SimJournal::WaitForLoss(FencingToken token, Instant deadline) {
  Env& env = process_.env();
  while (Holds(token)) {
    // The local rule ends leadership at renewed_at + lease_ttl at the latest.
    const Instant next = std::min(deadline, env.Now() + service_.options().poll_interval);
    if (env.Now() >= deadline) return Status(StatusCode::kTimeout, "still the leader");
    GRANARY_RETURN_IF_ERROR(env.SleepUntil(next));
  }
  if (leadership_ != nullptr && leadership_->token == token) leadership_->lost = true;
  return Status(StatusCode::kFenced,
                "leadership under token " + std::to_string(token.value()) + " is lost");
}

Result<std::string> SimJournal::Leader(Instant deadline) {
  GRANARY_ASSIGN_OR_RETURN(JournalReply reply, Run(Request(JournalOp::kLeader), deadline));
  return std::move(reply.text);
}

Status SimJournal::Resign(Instant deadline) {
  GRANARY_RETURN_IF_ERROR(Run(Request(JournalOp::kResign), deadline).status());
  if (leadership_ != nullptr) leadership_->lost = true;
  return Status::Ok();
}

Status SimJournal::HandOver(std::string_view successor, Duration reserve, Instant deadline) {
  JournalRequest request = Request(JournalOp::kHandOver);
  request.text = std::string(successor);
  request.reserve = reserve;
  GRANARY_RETURN_IF_ERROR(Run(request, deadline).status());
  if (leadership_ != nullptr) leadership_->lost = true;
  return Status::Ok();
}

Result<uint64_t> SimJournal::Append(FencingToken token, std::string_view payload,
                                    Instant deadline) {
  if (payload.empty() || payload.size() > kJournalEntryBytesMax) {
    return Status(StatusCode::kInvalidArgument,
                  "an entry has 1.." + std::to_string(kJournalEntryBytesMax) + " bytes, not " +
                      std::to_string(payload.size()));
  }
  JournalRequest request = Request(JournalOp::kAppend);
  request.token = token;
  request.text = std::string(payload);
  GRANARY_ASSIGN_OR_RETURN(JournalReply reply, Run(request, deadline));
  return reply.number;
}

Result<std::vector<JournalEntry>> SimJournal::Read(uint64_t from_seq, uint32_t max_entries,
                                                   Instant deadline) {
  if (from_seq == 0 || max_entries == 0 || max_entries > kJournalReadEntriesMax) {
    return Status(
        StatusCode::kInvalidArgument,
        "Read needs from_seq >= 1 and 1.." + std::to_string(kJournalReadEntriesMax) + " entries");
  }
  // A watch: the log leader holds it until an entry at from_seq commits, so the follower
  // learns of it one message after the commit (etcd's Watch), not at a poll's next tick. A
  // held watch ends empty at the attempt's end (the safety net: asked again, at whichever
  // member leads then).
  Env& env = process_.env();
  JournalRequest request = Request(JournalOp::kWatch);
  request.number = from_seq;
  request.max_entries = max_entries;
  bool served = false;
  for (;;) {
    Result<JournalReply> reply = Run(request, deadline);
    if (reply.ok() && !reply->entries.empty()) return std::move(reply->entries);
    if (!reply.ok() && (reply.code() == StatusCode::kNotFound ||
                        reply.code() == StatusCode::kNodeDown || !served)) {
      return reply.status();
    }
    served = served || reply.ok();
    if (!reply.ok() || env.Now() >= deadline) return std::vector<JournalEntry>();
  }
}

Result<uint64_t> SimJournal::LastSeq(Instant deadline) {
  GRANARY_ASSIGN_OR_RETURN(JournalReply reply, Run(Request(JournalOp::kLastSeq), deadline));
  return reply.number;
}

Status SimJournal::Truncate(FencingToken token, uint64_t before_seq, Instant deadline) {
  JournalRequest request = Request(JournalOp::kTruncate);
  request.token = token;
  request.number = before_seq;
  return Run(request, deadline).status();
}

}  // namespace granary::sim
