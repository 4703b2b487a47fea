#include "sim/models/sim_journal_service.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/sim_network.h"

namespace granary::sim {

// One client call waiting for its answer. `waiter` is set only while the calling fiber waits.
struct SimJournalService::PendingCall {
  NodeId client;
  Waiter* waiter = nullptr;
  Result<JournalReply> reply = Status(StatusCode::kTimeout, "no answer from the journal");
  bool retry_safe = false;  // the command never entered the log, or was discarded from it
  bool held = false;        // a watch held at the log leader: its end without news is no error
};

void SimJournalService::Wake(PendingCall& call) {
  if (call.waiter != nullptr) call.waiter->Complete(Status::Ok());
}

SimJournalService::SimJournalService(Hardware& hardware, SimJournalOptions options)
    : sim_(hardware.sim()), network_(hardware.network()), options_(std::move(options)) {
  assert(options_.members == 3 || options_.members == 5);
  for (int m = 0; m < options_.members; ++m) {
    NodeOptions node;
    node.name = options_.member_prefix + std::to_string(m + 1);
    // The members run no fibers: the service models them from simulator events.
    Member member;
    member.node = hardware.AddNode(std::move(node), options_.member_profile, [](SimProcess&) {});
    members_.push_back(member);
  }
  for (Member& member : members_) {
    sim_.StartNode(member.node);
    member.incarnation = sim_.node(member.node).incarnation();
  }
}

Instant SimJournalService::Now() const { return sim_.Now(); }

bool SimJournalService::IsRead(JournalOp op) {
  return op == JournalOp::kLeader || op == JournalOp::kLastSeq || op == JournalOp::kRead ||
         op == JournalOp::kKeepAlive || op == JournalOp::kWatch;
}

bool SimJournalService::Up(int m) const { return sim_.node(members_[m].node).up(); }

bool SimJournalService::Linked(NodeId a, NodeId b) const {
  return !network_.Blocked(a, b) && !network_.Blocked(b, a);
}

void SimJournalService::Refresh(int m) {
  Member& member = members_[m];
  const SimNode& node = sim_.node(member.node);
  const bool crashed =
      !node.up() ? !member.seen_down : member.seen_down || node.incarnation() != member.incarnation;
  if (crashed && !member.seen_down) {
    // What was received but not synced is gone, and so is the sync in flight.
    member.received = member.durable;
    member.syncing = false;
    member.sync_again = false;
  }
  member.seen_down = !node.up();
  if (node.up()) member.incarnation = node.incarnation();
}

void SimJournalService::CrashMember(int member) {
  sim_.CrashNode(members_.at(member).node);
  Refresh(member);
}

void SimJournalService::RestartMember(int member) {
  Refresh(member);
  sim_.StartNode(members_.at(member).node);
  Refresh(member);
}

bool SimJournalService::MemberUp(int member) const { return Up(member); }

void SimJournalService::PartitionMember(int member, bool partitioned) {
  for (int other = 0; other < members(); ++other) {
    if (other == member) continue;
    if (partitioned) {
      network_.Partition(members_[member].node, members_[other].node);
    } else {
      network_.Heal(members_[member].node, members_[other].node);
    }
  }
}

void SimJournalService::PartitionMemberFrom(int member, NodeId client, bool partitioned) {
  if (partitioned) {
    network_.Partition(members_.at(member).node, client);
  } else {
    network_.Heal(members_.at(member).node, client);
  }
}

void SimJournalService::PauseRenewals(std::string_view node_name, bool paused) {
  for (auto& [id, client] : clients_) {
    if (client.node_name == node_name) client.renewal->paused = paused;
  }
}

uint64_t SimJournalService::Register(std::string_view node_name,
                                     std::shared_ptr<RenewalSwitch> renewal) {
  const uint64_t id = next_client_++;
  clients_[id] = Client{std::string(node_name), std::move(renewal)};
  return id;
}

void SimJournalService::Unregister(uint64_t client) { clients_.erase(client); }

int SimJournalService::LogLeader() {
  std::optional<int> leader = Elect();
  return leader ? *leader : -1;
}

// ---- Election ----

int SimJournalService::Reach(int m) const {
  int reach = 1;
  for (int other = 0; other < members(); ++other) {
    if (other != m && Up(other) && Linked(members_[m].node, members_[other].node)) ++reach;
  }
  return reach;
}

std::optional<int> SimJournalService::Elect() {
  for (int m = 0; m < members(); ++m) Refresh(m);
  auto electable = [&](int m) {
    return Up(m) && Reach(m) >= Majority() && members_[m].received >= commit_;
  };
  if (leader_ && electable(*leader_)) return leader_;
  std::optional<int> best;
  for (int m = 0; m < members(); ++m) {
    if (electable(m) && (!best || members_[m].received > members_[*best].received)) best = m;
  }
  if (best) {
    NewTerm(*best);
  } else {
    leader_.reset();  // the leader steps down once it no longer hears a majority
  }
  return best;
}

void SimJournalService::NewTerm(int leader) {
  ++term_;
  leader_ = leader;
  leader_ready_at_ = Now() + options_.election_delay;
  // The new leader's log wins: uncommitted commands it lacks are discarded everywhere, and
  // their callers may retry (they were never applied and never will be).
  const uint64_t keep = members_[leader].received;
  assert(keep >= commit_);
  while (commit_ + log_.size() > keep) {
    std::shared_ptr<PendingCall> call = std::move(log_.back().call);
    log_.pop_back();
    if (call == nullptr) continue;
    call->reply = Status(StatusCode::kUnavailable, "the journal's leader changed");
    call->retry_safe = true;
    sim_.Schedule(Now(), EventKind::kDeliverReply, call->client.value(), term_,
                  [call] { Wake(*call); });
  }
  for (Member& member : members_) {
    member.received = std::min(member.received, keep);
    member.durable = std::min(member.durable, keep);
    member.acked = std::min(member.durable, member.acked);
  }
  members_[leader].acked = members_[leader].durable;
  DropWatches();
  // As etcd's lessor on promotion: the lease gets a full TTL from when the new leader serves,
  // so that an outage without a leader does not expire it.
  if (lease_) lease_->expires = std::max(lease_->expires, leader_ready_at_ + options_.lease_ttl);
}

// ---- The client's side ----

Result<JournalReply> SimJournalService::Call(SimProcess& caller, const JournalRequest& request,
                                             Instant deadline) {
  Status last(StatusCode::kUnavailable,
              "no majority of the " + std::to_string(members()) + " journal members is reachable");
  while (Now() < deadline) {
    const Instant attempt_deadline = std::min(deadline, Now() + options_.attempt_timeout);
    bool retry_safe = IsRead(request.op);
    Result<JournalReply> reply = Attempt(caller, request, deadline, attempt_deadline, retry_safe);
    if (reply.ok() || reply.code() == StatusCode::kNodeDown || !retry_safe) return reply;
    last = reply.status();
    if (Now() < attempt_deadline) {
      // Nothing reachable now: wait a little for a member to come back or an election.
      const Instant until = std::min(deadline, Now() + options_.poll_interval);
      GRANARY_RETURN_IF_ERROR(
          caller.WaitUntil(until, EventKind::kTimer, static_cast<uint64_t>(request.op)));
    }
  }
  if (last.code() == StatusCode::kTimeout) return last;
  return Status(StatusCode::kUnavailable, "journal: " + std::string(last.message()));
}

Result<JournalReply> SimJournalService::Attempt(SimProcess& caller, const JournalRequest& request,
                                                Instant deadline, Instant attempt_deadline,
                                                bool& retry_safe) {
  if (!caller.alive()) return Status(StatusCode::kNodeDown, caller.node().name());
  const NodeId self = caller.node().id();
  std::optional<int> leader = Elect();
  if (!leader) {
    retry_safe = true;
    return Status(StatusCode::kUnavailable,
                  "no journal member reaches a majority of " + std::to_string(members()));
  }
  if (!Linked(self, members_[*leader].node)) {
    retry_safe = true;
    return Status(StatusCode::kUnavailable,
                  "cut off from " + sim_.node(members_[*leader].node).name());
  }
  auto call = std::make_shared<PendingCall>();
  call->client = self;
  const uint64_t bytes = options_.header_bytes + request.text.size();
  const std::optional<Instant> arrival = network_.Transmit(self, members_[*leader].node, bytes);
  if (arrival) {
    const Instant at = std::max(*arrival, leader_ready_at_);
    sim_.Schedule(
        at, EventKind::kDeliverRequest, members_[*leader].node.value(), bytes,
        [this, l = *leader, term = term_, request, call] { OnRequest(l, term, request, call); });
  } else {
    retry_safe = true;  // lost on the way: the log never saw it
  }
  // A write that reached the log leader is waited for to the end: retrying could apply it
  // twice. Everything else gives up on the attempt after attempt_timeout.
  const bool whole = arrival && !IsRead(request.op);
  Result<JournalReply> reply = WaitFor(caller, call, whole ? deadline : attempt_deadline);
  if (call->retry_safe) retry_safe = true;
  return reply;
}

Result<JournalReply> SimJournalService::WaitFor(SimProcess& caller,
                                                const std::shared_ptr<PendingCall>& call,
                                                Instant deadline) {
  Waiter waiter;
  call->waiter = &waiter;
  const TimerId timer =
      sim_.Schedule(deadline, EventKind::kTimer, caller.node().id().value(), 0, [call] {
        if (call->waiter != nullptr) {
          call->waiter->Complete(Status(StatusCode::kTimeout, "no answer from the journal"));
        }
      });
  const Status waited = caller.Wait(waiter);
  call->waiter = nullptr;
  sim_.Cancel(timer);
  // A held watch that saw no entry before the caller's deadline: an empty answer, as a Read.
  if (waited.code() == StatusCode::kTimeout && call->held) return JournalReply{};
  if (!waited.ok()) return waited;
  return call->reply;
}

// ---- The members' side ----

void SimJournalService::OnRequest(int leader, uint64_t term, const JournalRequest& request,
                                  const std::shared_ptr<PendingCall>& call) {
  Refresh(leader);
  if (term != term_ || !Up(leader)) {
    // Refused by a member that is no longer the leader (or down): nothing entered the log.
    call->reply = Status(StatusCode::kUnavailable, "the journal's leader changed");
    call->retry_safe = true;
    Wake(*call);
    return;
  }
  if (IsRead(request.op)) {
    StartReadIndex(leader, term, request, call);
    return;
  }
  log_.push_back(LogEntry{request, call});
  const uint64_t index = commit_ + log_.size();
  Receive(leader, index);
  Replicate(leader, index, options_.header_bytes + request.text.size());
}

void SimJournalService::Replicate(int leader, uint64_t index, uint64_t bytes) {
  for (int f = 0; f < members(); ++f) {
    if (f == leader) continue;
    const std::optional<Instant> arrival =
        network_.Transmit(members_[leader].node, members_[f].node, bytes);
    if (!arrival) continue;
    sim_.Schedule(*arrival, EventKind::kDeliverRequest, members_[f].node.value(), index,
                  [this, f, index, term = term_] {
                    if (term != term_) return;
                    Refresh(f);
                    if (Up(f)) Receive(f, index);
                  });
  }
}

void SimJournalService::Receive(int m, uint64_t index) {
  // Raft sends a follower what it lacks before `index` with it.
  members_[m].received = std::max(members_[m].received, std::min(index, commit_ + log_.size()));
  StartSync(m);
}

void SimJournalService::StartSync(int m) {
  Member& member = members_[m];
  if (member.syncing) {
    member.sync_again = true;
    return;
  }
  member.syncing = true;
  const uint64_t target = member.received;
  const uint64_t incarnation = member.incarnation;
  sim_.Schedule(Now() + options_.member_profile.disk.sync_latency, EventKind::kDiskDone,
                member.node.value(), target,
                [this, m, incarnation, target] { OnSynced(m, incarnation, target); });
}

void SimJournalService::OnSynced(int m, uint64_t incarnation, uint64_t target) {
  Refresh(m);
  Member& member = members_[m];
  if (!Up(m) || member.incarnation != incarnation || !member.syncing) return;
  member.syncing = false;
  member.durable = std::max(member.durable, std::min(target, member.received));
  if (leader_ && *leader_ == m) {
    OnAck(term_, m, member.durable);
  } else if (leader_) {
    const std::optional<Instant> arrival =
        network_.Transmit(member.node, members_[*leader_].node, options_.header_bytes);
    if (arrival) {
      sim_.Schedule(*arrival, EventKind::kDeliverReply, members_[*leader_].node.value(),
                    member.durable,
                    [this, m, term = term_, durable = member.durable] { OnAck(term, m, durable); });
    }
  }
  if (member.sync_again) {
    member.sync_again = false;
    StartSync(m);
  }
}

void SimJournalService::OnAck(uint64_t term, int m, uint64_t durable) {
  if (term != term_ || !leader_) return;
  Refresh(*leader_);
  if (!Up(*leader_)) return;
  members_[m].acked = std::max(members_[m].acked, std::min(durable, members_[m].durable));
  AdvanceCommit();
}

void SimJournalService::AdvanceCommit() {
  std::vector<uint64_t> acked;
  for (const Member& member : members_) acked.push_back(member.acked);
  std::sort(acked.begin(), acked.end(), std::greater<>());
  const uint64_t committed = std::min(acked[Majority() - 1], commit_ + log_.size());
  while (commit_ < committed) {
    LogEntry entry = std::move(log_.front());
    log_.pop_front();
    ++commit_;
    JournalReply reply = Apply(entry.request);
    if (entry.call != nullptr) Answer(*leader_, entry.call, std::move(reply));
  }
  AnswerWatches();
}

void SimJournalService::StartReadIndex(int leader, uint64_t term, const JournalRequest& request,
                                       const std::shared_ptr<PendingCall>& call) {
  // The leader confirms it still leads with a heartbeat round trip to a majority.
  std::vector<Instant> confirmed;
  const Instant now = Now();
  for (int f = 0; f < members(); ++f) {
    if (f == leader || !Up(f)) continue;
    const std::optional<Instant> there =
        network_.Transmit(members_[leader].node, members_[f].node, options_.header_bytes);
    if (there) confirmed.push_back(*there + (*there - now));
  }
  std::sort(confirmed.begin(), confirmed.end());
  const size_t needed = static_cast<size_t>(Majority() - 1);
  if (confirmed.size() < needed) return;  // the caller's attempt times out and retries
  const Instant at = needed == 0 ? now : confirmed[needed - 1];
  sim_.Schedule(
      at, EventKind::kTimer, members_[leader].node.value(), term,
      [this, leader, term, request, call] {
        Refresh(leader);
        if (term != term_ || !Up(leader)) return;
        JournalReply reply = Serve(request);
        if (request.op == JournalOp::kWatch && reply.status.ok() && reply.entries.empty()) {
          HoldWatch(term, request, call);
          return;
        }
        Answer(leader, call, std::move(reply));
      });
}

void SimJournalService::HoldWatch(uint64_t term, const JournalRequest& request,
                                  const std::shared_ptr<PendingCall>& call) {
  // Callers that stopped waiting leave: at most one watch per waiting fiber stays.
  std::erase_if(watches_, [](const Watch& watch) { return watch.call->waiter == nullptr; });
  if (call->waiter == nullptr) return;
  call->held = true;
  watches_.push_back(Watch{term, request, call});
}

void SimJournalService::AnswerWatches() {
  if (watches_.empty() || !leader_) return;
  std::vector<Watch> waiting;
  for (Watch& watch : watches_) {
    if (watch.call->waiter == nullptr) continue;
    if (watch.term != term_ || watch.request.number > last_seq_) {
      waiting.push_back(std::move(watch));
      continue;
    }
    Answer(*leader_, watch.call, Serve(watch.request));
  }
  watches_ = std::move(waiting);
}

void SimJournalService::DropWatches() {
  // The stream to the old leader breaks: each caller retries its watch at the new one.
  for (Watch& watch : watches_) {
    std::shared_ptr<PendingCall> call = std::move(watch.call);
    if (call->waiter == nullptr) continue;
    call->reply = Status(StatusCode::kUnavailable, "the journal's leader changed");
    call->retry_safe = true;
    call->held = false;
    sim_.Schedule(Now(), EventKind::kDeliverReply, call->client.value(), term_,
                  [call] { Wake(*call); });
  }
  watches_.clear();
}

void SimJournalService::Answer(int leader, const std::shared_ptr<PendingCall>& call,
                               JournalReply reply) {
  uint64_t bytes = options_.header_bytes + reply.text.size();
  for (const JournalEntry& entry : reply.entries) bytes += entry.payload.size() + 16;
  const std::optional<Instant> arrival =
      network_.Transmit(members_[leader].node, call->client, bytes);
  if (!arrival) return;  // lost: the caller times out
  sim_.Schedule(*arrival, EventKind::kDeliverReply, call->client.value(), bytes,
                [call, reply = std::move(reply)]() mutable {
                  if (call->waiter == nullptr) return;
                  call->reply = std::move(reply);
                  Wake(*call);
                });
}

// ---- The state machine ----

void SimJournalService::ExpireLease() {
  if (lease_ && Now() >= lease_->expires) lease_.reset();
}

Status SimJournalService::Fence(FencingToken token) const {
  if (lease_ && lease_->token == token) return Status::Ok();
  return Status(StatusCode::kFenced,
                "token " + std::to_string(token.value()) + " is not the leader's (leader: " +
                    (lease_ ? lease_->name + ", token " + std::to_string(lease_->token.value())
                            : std::string("none")) +
                    ")");
}

JournalReply SimJournalService::Apply(const JournalRequest& request) {
  ExpireLease();
  ++revision_;
  JournalReply reply;
  switch (request.op) {
    case JournalOp::kCampaign:
      if (reserved_ && Now() >= reserved_->until) reserved_.reset();
      if (Now() > request.deadline) {
        reply.status = Status(StatusCode::kTimeout, "campaign applied after its deadline");
      } else if (!lease_ && reserved_ && reserved_->name != request.text) {
        // Reserved for another candidate by a handover: no win, as while a lease is held.
      } else if (!lease_) {
        lease_ = Lease{request.client, request.text, FencingToken(revision_),
                       Now() + options_.lease_ttl};
        reply.token = lease_->token;
        reserved_.reset();  // taken by its successor (or lapsed)
      } else if (lease_->client == request.client) {
        reply.token = lease_->token;
      }
      break;
    case JournalOp::kResign:
      if (lease_ && lease_->client == request.client) lease_.reset();
      break;
    case JournalOp::kHandOver:
      if (lease_ && lease_->client == request.client) {
        lease_.reset();
        reserved_ = Reservation{request.text, Now() + request.reserve};
      }
      break;
    case JournalOp::kAppend:
      reply.status = Fence(request.token);
      if (!reply.status.ok()) break;
      reply.number = ++last_seq_;
      entries_[last_seq_] = request.text;
      break;
    case JournalOp::kTruncate:
      reply.status = Fence(request.token);
      if (!reply.status.ok()) break;
      if (request.number > last_seq_ + 1) {
        reply.status = Status(StatusCode::kInvalidArgument, "truncate past the last entry + 1");
        break;
      }
      entries_.erase(entries_.begin(), entries_.lower_bound(request.number));
      first_seq_ = std::max(first_seq_, request.number);
      break;
    default:
      assert(false && "reads are served, not applied");
  }
  return reply;
}

JournalReply SimJournalService::Serve(const JournalRequest& request) {
  ExpireLease();
  JournalReply reply;
  switch (request.op) {
    case JournalOp::kLeader:
      reply.text = lease_ ? lease_->name : "";
      break;
    case JournalOp::kLastSeq:
      reply.number = last_seq_;
      break;
    case JournalOp::kRead:
    case JournalOp::kWatch:
      if (request.number < first_seq_) {
        reply.status = Status(StatusCode::kNotFound,
                              "entries before " + std::to_string(first_seq_) + " were truncated");
        break;
      }
      for (auto it = entries_.lower_bound(request.number);
           it != entries_.end() && reply.entries.size() < request.max_entries; ++it) {
        reply.entries.push_back(JournalEntry{it->first, it->second});
      }
      break;
    case JournalOp::kKeepAlive:
      if (lease_ && lease_->client == request.client && lease_->token == request.token) {
        lease_->expires = Now() + options_.lease_ttl;
      } else {
        reply.status = Status(StatusCode::kFenced, "the lease is gone");
      }
      break;
    default:
      assert(false && "writes are applied, not served");
  }
  return reply;
}

}  // namespace granary::sim
