#include "core/namenode/ha_namenode.h"

#include <algorithm>
#include <cassert>
#include <utility>

#include "core/common/limits.h"
#include "core/rpc/methods.h"
#include "core/rpc/namenode_locator.h"
#include "core/security/identity.h"

namespace granary {
namespace {

// How often the campaigning standby looks whether its follower is ready or done writing.
constexpr Duration kFollowerPoll = std::chrono::milliseconds(5);
// The step of a standby's pause between campaigns: a handover that names it ends the pause.
constexpr Duration kCampaignPauseStep = std::chrono::milliseconds(50);

}  // namespace

// The Transport the running Namenode sees: calls go out through the real one; its Serve
// installs the handler HaNamenode dispatches to while active.
class HaNamenode::ServeSlot final : public Transport {
 public:
  explicit ServeSlot(HaNamenode& owner) : transport_(owner.transport_), owner_(owner) {}
  Result<RpcReply> Call(const Address& to, RpcRequest request, Instant deadline) override {
    return transport_.Call(to, std::move(request), deadline);
  }
  Status Serve(RpcHandler handler) override {
    // A Namenode that lost its leadership while it was loading takes no requests.
    if (!owner_.stepping_down_) owner_.active_handler_ = std::move(handler);
    return Status::Ok();
  }
  const Address& self() const override { return transport_.self(); }

 private:
  Transport& transport_;
  HaNamenode& owner_;
};

HaNamenode::HaNamenode(Env& env, Transport& transport, MetaStore& local, Journal& journal,
                       HaOptions ha_options, NamenodeOptions options)
    : env_(env),
      transport_(transport),
      local_(local),
      journal_(journal),
      ha_options_(std::move(ha_options)),
      options_(std::move(options)),
      store_(env, local, journal, ha_options_.journal_timeout,
             ha_options_.journal_appends_in_flight),
      reads_(std::make_unique<StandbyReads>(env, store_, options_.ns, options_.cpu_per_request)),
      checkpoint_(env, local),
      standby_blocks_(env, store_, options_),
      slot_(std::make_unique<ServeSlot>(*this)),
      fibers_(env) {
  reads_->set_cpu_per_method(options_.cpu_per_method);
  // The HDFS baseline (its global lock): edits are logged under the lock and synced to the
  // journal after it is released, as HDFS's FSEditLog does (journaled_store.h).
  if (options_.global_namespace_lock) store_.set_sync_mode(JournaledStore::SyncMode::kAfterRelease);
  // The methods answered here, and reads served as a standby, act as their key's user as
  // on the active's router (namenode.cc): nn.Failover and nn.CheckpointPage are the
  // superuser's.
  const IdentityPolicy identity(options_.ns.permissions.superuser, options_.proxy_users);
  router_.SetRequestCheck(MakeIdentityCheck(identity, options_.security_log));
  reads_->set_request_check(MakeIdentityCheck(identity, options_.security_log));
  if (!options_.block_tokens.enabled) {
    map_locations_ = std::make_unique<MapLocations>(standby_blocks_);
    reads_->set_block_locations(map_locations_.get());
  }
  router_.Add(rpc::nn::kHaStatus, [this](const auto& request, auto* reply, rpc::Exchange& e) {
    return HaStatus(request, reply, e);
  });
  router_.Add(rpc::nn::kCheckpointPage,
              [this](const proto::CheckpointPageRequest& request, proto::CheckpointPageReply* reply,
                     rpc::Exchange&) { return checkpoint_.ServePage(request, reply); });
  router_.Add(rpc::nn::kFailover, [this](const auto& request, auto* reply, rpc::Exchange& e) {
    return Failover(request, reply, e);
  });
  router_.Add(rpc::nn::kMsync,
              [this](const proto::MsyncRequest&, proto::MsyncReply* reply, rpc::Exchange&) {
                if (!active()) return Status(StatusCode::kNotActive, active_hint_);
                reply->set_seq(store_.applied_seq());
                return Status::Ok();
              });
}

HaNamenode::~HaNamenode() = default;

Status HaNamenode::Run() {
  if (ha_options_.candidate.empty() || ha_options_.candidate.size() > kJournalCandidateBytesMax) {
    return Status(StatusCode::kInvalidArgument,
                  "the namenode's candidate name (its address) is "
                  "empty or too long for the journal");
  }
  if (options_.ns.inline_threshold_bytes > kJournalEntryBytesMax / 2) {
    return Status(StatusCode::kInvalidArgument,
                  "inline threshold too large for a journal entry: at most " +
                      std::to_string(kJournalEntryBytesMax / 2) + " bytes with a journal");
  }
  GRANARY_RETURN_IF_ERROR(store_.Load());
  GRANARY_RETURN_IF_ERROR(
      transport_.Serve(fibers_.Wrap([this](const RpcContext& context, RpcRequest& request) {
        return Handle(context, request);
      })));
  Status status;
  for (;;) {
    Result<FencingToken> token = Standby();
    if (!token.ok()) {
      status = token.status();
      break;
    }
    status = Active(*token);
    if (!status.ok()) break;
  }
  fibers_.Close();
  fibers_.Drain();
  return status;
}

void HaNamenode::Event(const std::string& line) const {
  if (ha_options_.on_event) ha_options_.on_event(line);
}

Result<RpcReply> HaNamenode::Handle(const RpcContext& context, RpcRequest& request) {
  if (request.method == rpc::nn::kHaStatus.name || request.method == rpc::nn::kFailover.name ||
      request.method == rpc::nn::kCheckpointPage.name || request.method == rpc::nn::kMsync.name) {
    return router_.AsHandler()(context, request);
  }
  const bool read = NamenodeLocator::IsRead(request.method);
  if (active_handler_) {
    // Behind what the caller saw: a standby applied an entry before this active did (its own
    // apply follows the append), or this active was deposed and does not know yet.
    if (read && request.seq > store_.applied_seq()) {
      GRANARY_RETURN_IF_ERROR(reads_->WaitForApplied(
          request.seq, std::min(context.deadline, env_.Now() + kStandbyReadWaitMax)));
    }
    RpcHandler handler = active_handler_;  // the Namenode may step down while it runs
    // It may also have stepped down while the read waited above: an empty handler threw
    // bad_function_call out of the fiber and ended the process (the fault swarm, seed 321
    // with three namenodes). The caller is sent on, as by any standby.
    if (!handler) return Status(StatusCode::kNotActive, active_hint_);
    return Answered(handler(context, request), request.method);
  }
  if (read && token_.value() == 0) {
    return Answered(reads_->Serve(context, request, active_hint_), request.method);
  }
  // Datanodes talk to every namenode (namenode_actor.h) and are never redirected: while the
  // map is handed over (starting as active, stepping down) they are told to try again.
  if (StandbyBlockMap::Serves(request.method)) return standby_blocks_.Handle(context, request);
  if (token_.value() != 0 && !stepping_down_) {
    return Status(StatusCode::kUnavailable, "namenode starting as active");
  }
  // A standby that does not know the active yet asks the journal once, so that the caller
  // is sent on rather than left to try every namenode.
  if (active_hint_.empty() && token_.value() == 0 && env_.Now() >= next_hint_refresh_) {
    // On a fiber of its own: a request never waits for the journal (which may be out of
    // reach), and at most one look per follow interval.
    next_hint_refresh_ = env_.Now() + ha_options_.follow_wait;
    fibers_.Spawn("active-hint", [this] { RefreshActiveHint(); });
  }
  if (active_hint_.empty() && !journal_error_.ok()) {
    return Status(StatusCode::kUnavailable,
                  "no active namenode: the namenodes cannot reach their journal (" +
                      journal_error_.ToString() + ")");
  }
  return Status(StatusCode::kNotActive, active_hint_);
}

namespace {

// The namespace mutations a client asks for (what writes_served counts).
bool IsWrite(std::string_view method) {
  for (std::string_view write :
       {rpc::nn::kMkdirs.name, rpc::nn::kCreate.name, rpc::nn::kWriteInline.name,
        rpc::nn::kConvertToBlocks.name, rpc::nn::kAddBlock.name, rpc::nn::kComplete.name,
        rpc::nn::kBumpGeneration.name, rpc::nn::kUpdatePipeline.name, rpc::nn::kFsync.name,
        rpc::nn::kDelete.name,
        rpc::nn::kRename.name, rpc::nn::kSetPermission.name, rpc::nn::kSetOwner.name,
        rpc::nn::kSetReplication.name, rpc::nn::kAppend.name, rpc::nn::kRecoverLease.name,
        rpc::nn::kSetQuota.name}) {
    if (method == write) return true;
  }
  return false;
}

}  // namespace

Result<RpcReply> HaNamenode::Answered(Result<RpcReply> reply, std::string_view method) {
  // A refusal (a redirect, "not yet") is no answer; an error about the file is one.
  if (reply.code() == StatusCode::kNotActive || reply.code() == StatusCode::kUnavailable ||
      reply.code() == StatusCode::kNodeDown) {
    return reply;
  }
  if (NamenodeLocator::IsRead(method)) {
    ++reads_served_;
  } else if (IsWrite(method)) {
    ++writes_served_;
  }
  if (reply.ok()) reply->seq = store_.applied_seq();
  reads_->Applied();  // the active applies its own writes: wakes reads waiting for them
  return reply;
}

void HaNamenode::NoteApplied() {
  reads_->JournalAt(journal_last_seq_);
  reads_->Applied();
}

Status HaNamenode::FollowOnce(uint64_t generation) {
  Result<std::vector<JournalEntry>> entries = journal_.Read(
      store_.applied_seq() + 1, kJournalReadEntriesMax, env_.Now() + ha_options_.follow_wait);
  if (generation != follow_generation_) return Status::Ok();  // won meanwhile: CatchUp reads
  if (entries.code() == StatusCode::kNotFound || entries.code() == StatusCode::kNodeDown) {
    return entries.status();
  }
  if (!entries.ok()) {
    // The journal is out of reach: nothing to apply; the loop tries again after a pause.
    journal_error_ = entries.status();
    return env_.SleepFor(ha_options_.follow_wait);
  }
  journal_error_ = Status::Ok();
  follower_busy_ = true;
  for (const JournalEntry& entry : *entries) {
    // The election may be won while an entry is written: the winner waits for that one, and
    // its CatchUp applies the rest.
    if (generation != follow_generation_) break;
    Status applied = store_.Apply(entry);
    if (applied.ok()) applied = standby_blocks_.OnApplied(entry);
    if (!applied.ok()) {
      follower_busy_ = false;
      return applied;
    }
  }
  follower_busy_ = false;
  standby_blocks_.ExpireSilent();
  if (!entries->empty()) journal_last_seq_ = std::max(journal_last_seq_, entries->back().seq);
  if (entries->size() == kJournalReadEntriesMax && generation == follow_generation_) {
    // More may follow: how far behind this standby is decides whether it takes reads.
    Result<uint64_t> last = journal_.LastSeq(env_.Now() + ha_options_.journal_timeout);
    if (last.ok()) journal_last_seq_ = std::max(journal_last_seq_, *last);
  }
  NoteApplied();
  return Status::Ok();
}

void HaNamenode::FollowLoop(uint64_t generation) {
  while (generation == follow_generation_) {
    Status step = Status::Ok();
    // A store that is incomplete (a copy cut short) or behind the journal's oldest entry is
    // replaced by a checkpoint first; it must not campaign before, as it lacks entries.
    Result<bool> incomplete = StoreCheckpoint::Incomplete(local_);
    if (!incomplete.ok()) {
      step = incomplete.status();
    } else if (*incomplete) {
      step = BootstrapAsFollower(generation);
    } else {
      step = FollowOnce(generation);
      if (step.code() == StatusCode::kNotFound) {
        step = BootstrapAsFollower(generation);
      } else if (step.ok() && generation == follow_generation_) {
        follower_ready_ = true;
      }
    }
    if (!step.ok()) {
      if (generation == follow_generation_) follow_status_ = step;
      return;
    }
  }
}

Status HaNamenode::BootstrapAsFollower(uint64_t generation) {
  follower_ready_ = false;
  if (generation != follow_generation_) return Status::Ok();
  follower_busy_ = true;
  const Status copied = Bootstrap();
  follower_busy_ = false;
  return copied;
}

void HaNamenode::RefreshActiveHint() {
  Result<std::string> leader = journal_.Leader(env_.Now() + ha_options_.journal_timeout);
  if (token_.value() != 0) return;  // became the active meanwhile
  journal_error_ = leader.status();
  if (leader.ok()) active_hint_ = *leader == ha_options_.candidate ? std::string() : *leader;
  store_.EndActive(active_hint_);
}

Status HaNamenode::Bootstrap() {
  RefreshActiveHint();
  if (active_hint_.empty()) return env_.SleepFor(ha_options_.follow_wait);
  const Status copied = StoreCheckpoint::CopyFrom(env_, transport_, Address{active_hint_}, local_,
                                                  ha_options_.journal_timeout);
  if (copied.code() == StatusCode::kNodeDown) return copied;
  if (!copied.ok()) return env_.SleepFor(ha_options_.follow_wait);  // the next round again
  ++bootstraps_;
  GRANARY_RETURN_IF_ERROR(store_.Load());
  NoteApplied();
  Event("bootstrapped from a checkpoint of " + active_hint_ + " at applied seq " +
        std::to_string(store_.applied_seq()));
  return standby_blocks_.Load();
}

Result<FencingToken> HaNamenode::Standby() {
  if (standby_blocks_.map() == nullptr) GRANARY_RETURN_IF_ERROR(standby_blocks_.Load());
  RefreshActiveHint();
  // The journal is followed on a fiber of its own the whole time this namenode is a standby,
  // also while it campaigns, so that it trails the active by one journal read, not by a
  // campaign window (reads on standbys wait for the sequence their client needs).
  StartFollower();
  for (;;) {
    if (!follow_status_.ok()) {
      ++follow_generation_;
      return follow_status_;
    }
    const Instant now = env_.Now();
    if (!follower_ready_ || now < holdoff_until_) {
      GRANARY_RETURN_IF_ERROR(env_.SleepFor(kFollowerPoll));
      continue;
    }
    const Duration window = now < eager_until_ ? eager_until_ - now : ha_options_.campaign_window;
    Result<FencingToken> won = journal_.Campaign(ha_options_.candidate, now + window);
    if (won.code() == StatusCode::kNodeDown) return won.status();
    if (!won.ok()) {
      RefreshActiveHint();
      // Campaigning in windows with pauses between them, as when a standby campaigned only
      // between reads of the journal: a standby named by a handover campaigns without pause
      // (eager_until_) and so most likely wins against the others.
      const Instant pause_end = env_.Now() + ha_options_.follow_wait;
      while (env_.Now() < pause_end && env_.Now() >= eager_until_) {
        GRANARY_RETURN_IF_ERROR(
            env_.SleepFor(std::min(kCampaignPauseStep, pause_end - env_.Now())));
      }
      continue;
    }
    // Stops the follower; an entry it is writing (or a checkpoint it is copying) finishes
    // first, so that Active's CatchUp is the store's only writer.
    ++follow_generation_;
    while (follower_busy_) GRANARY_RETURN_IF_ERROR(env_.SleepFor(kFollowerPoll));
    GRANARY_ASSIGN_OR_RETURN(bool incomplete, StoreCheckpoint::Incomplete(local_));
    if (!incomplete && follow_status_.ok()) return won;
    // The follower found entries missing meanwhile: not fit to lead before a checkpoint.
    Event("elected with token " + std::to_string(won->value()) +
          ", but the store lacks journal entries: resigning until it has a checkpoint");
    (void)journal_.Resign(env_.Now() + ha_options_.journal_timeout);
    if (!follow_status_.ok()) return follow_status_;
    StartFollower();
  }
}

void HaNamenode::StartFollower() {
  const uint64_t generation = ++follow_generation_;
  follower_ready_ = false;
  follow_status_ = Status::Ok();
  fibers_.Spawn("journal-follow", [this, generation] { FollowLoop(generation); });
}

Status HaNamenode::Active(FencingToken token) {
  token_ = token;
  stepping_down_ = false;
  // Everything appended before this leadership, so that the store the Namenode loads is the
  // namespace as the last active left it.
  const Instant deadline = env_.Now() + ha_options_.journal_timeout;
  Result<uint64_t> last = journal_.LastSeq(deadline);
  Status caught_up = last.ok() ? store_.CatchUp(*last, deadline) : last.status();
  if (!caught_up.ok()) {
    Event("elected with token " + std::to_string(token.value()) +
          ", but cannot catch up with the journal: resigning (" + caught_up.ToString() + ")");
    token_ = FencingToken();
    (void)journal_.Resign(env_.Now() + ha_options_.journal_timeout);
    return caught_up.code() == StatusCode::kNodeDown ? caught_up : Status::Ok();
  }
  journal_last_seq_ = *last;
  NoteApplied();
  NamenodeOptions options = options_;
  options.fencing_token = token.value();
  if (store_.sync_mode() == JournaledStore::SyncMode::kAfterRelease) {
    // The journal append is the edit log's sync (HDFS's quorum write to its journal nodes):
    // the modelled edit_log_sync latency would count it twice.
    options.edit_log_sync = Duration(0);
    options.sync_logged_edits = [this] { return store_.SyncLogged(); };
  }
  namenode_ = std::make_unique<Namenode>(env_, *slot_, store_, options, standby_blocks_.Release());
  store_.BeginActive(token, [this](const Status& why) { StepDown(why); });
  active_hint_.clear();
  ++activations_;
  Event("active with token " + std::to_string(token.value()) + " at applied seq " +
        std::to_string(store_.applied_seq()));
  fibers_.Spawn("leadership-watch", [this, token] {
    while (token_ == token && !stepping_down_) {
      const Status held = journal_.WaitForLoss(token, env_.Now() + ha_options_.loss_check);
      if (held.code() == StatusCode::kTimeout) continue;
      if (token_ == token) StepDown(held);
      return;
    }
  });
  fibers_.Spawn("journal-truncate", [this, token] { TruncateLoop(token); });
  const Status ran = namenode_->Run();
  active_handler_ = nullptr;
  store_.EndActive();
  namenode_.reset();
  token_ = FencingToken();
  (void)journal_.Resign(env_.Now() + ha_options_.journal_timeout);
  Event("standby again after token " + std::to_string(token.value()) +
        (ran.ok() ? std::string() : " (" + ran.ToString() + ")"));
  return ran.code() == StatusCode::kNodeDown ? ran : Status::Ok();
}

void HaNamenode::TruncateLoop(FencingToken token) {
  while (env_.SleepFor(ha_options_.truncate_interval).ok() && token_ == token && !stepping_down_) {
    const uint64_t applied = store_.applied_seq();
    if (applied <= ha_options_.retain_entries) continue;
    // A failure changes nothing: kFenced ends this leadership through the watch anyway.
    (void)journal_.Truncate(token, applied - ha_options_.retain_entries + 1,
                            env_.Now() + ha_options_.journal_timeout);
  }
}

void HaNamenode::StepDown(const Status& why) {
  if (stepping_down_ || namenode_ == nullptr) return;
  stepping_down_ = true;
  Event("stepping down: " + why.ToString());
  active_handler_ = nullptr;
  store_.EndActive();
  namenode_->Stop();
}

Status HaNamenode::HaStatus(const proto::HaStatusRequest&, proto::HaStatusReply* reply,
                            rpc::Exchange&) {
  const bool is_active = active();
  reply->set_role(is_active ? "active" : "standby");
  reply->set_address(ha_options_.candidate);
  reply->set_active(is_active ? ha_options_.candidate : active_hint_);
  reply->set_fencing_token(is_active ? token_.value() : 0);
  reply->set_applied_seq(store_.applied_seq());
  const uint64_t last = std::max(journal_last_seq_, store_.applied_seq());
  reply->set_journal_last_seq(last);
  reply->set_reads_served(reads_served_);
  reply->set_writes_served(writes_served_);
  reply->set_lag_entries(last - store_.applied_seq());
  return Status::Ok();
}

Status HaNamenode::Failover(const proto::FailoverRequest& request, proto::FailoverReply* reply,
                            rpc::Exchange&) {
  if (!active()) {
    if (request.to() == ha_options_.candidate) {
      eager_until_ = env_.Now() + ha_options_.handover_holdoff;  // named: campaign at once
      holdoff_until_ = Instant();  // named back soon after handing over: it stands aside no more
      Event("named by a handover: campaigning without pause");
      return Status::Ok();
    }
    return Status(StatusCode::kNotActive, active_hint_);
  }
  if (request.to() == ha_options_.candidate) {
    reply->set_active(ha_options_.candidate);  // already there
    return Status::Ok();
  }
  if (!request.to().empty()) {
    proto::FailoverRequest named;
    named.set_to(request.to());
    proto::FailoverReply ignored;
    GRANARY_RETURN_IF_ERROR(rpc::Call(transport_, Address{request.to()}, rpc::nn::kFailover, named,
                                      {}, env_.Now() + ha_options_.journal_timeout, &ignored)
                                .WithContext("asking " + request.to() + " to take over"));
  }
  holdoff_until_ = env_.Now() + ha_options_.handover_holdoff;
  StepDown(Status(StatusCode::kCancelled,
                  "handover requested" + (request.to().empty() ? std::string()
                                                               : " to " + request.to())));
  // Leaves the election now, not when the Namenode has stopped (Active's Resign): its monitors
  // end only within their intervals (the lease monitor's is 2 s) and its requests in flight
  // finish first, which on a loaded machine outlasted the named standby's eager campaign
  // (handover_holdoff). And with `to` named, the journal reserves the election for it during
  // handover_holdoff, so that no other standby campaigning at that moment can take it: before,
  // the handover went to whichever standby campaigned first, and `granary failover --to`
  // could lose that race for 30 s (integration.ha_wipe_standby failed in CI so). Safe before
  // the Namenode has stopped: the store refuses appends from StepDown on, and the journal
  // fences an append in flight once this leadership is gone.
  const Instant deadline = env_.Now() + ha_options_.journal_timeout;
  if (request.to().empty()) {
    (void)journal_.Resign(deadline);
  } else {
    (void)journal_.HandOver(request.to(), ha_options_.handover_holdoff, deadline);
  }
  return Status::Ok();
}

}  // namespace granary
