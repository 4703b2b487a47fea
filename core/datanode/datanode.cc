#include "core/datanode/datanode.h"

#include <algorithm>
#include <cassert>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "core/common/limits.h"
#include "core/rpc/wire.h"

namespace granary {
namespace {

// The namenode may not have run the call, or was not the active one: call again.
bool MayNotHaveRun(const Status& status) { return NamenodeLocator::Rotated(status); }

// A replica a lease recovery asked about.
struct Participant {
  uint32_t datanode_id;
  std::optional<Address> address;  // nullopt: the datanode running the recovery
  uint64_t generation_stamp;
  uint64_t length_bytes;
  bool reloaded;
  bool finalized;
};

// The length a recovery finalizes at; leaves in `participants` the replicas to finalize at it.
uint64_t RecoveredLength(std::vector<Participant>& participants) {
  // A replica finalized at the newest stamp among them holds every byte acknowledged at that
  // stamp: its length is the recovered one, and shorter replicas are left out (they go as
  // stale), as HDFS's block recovery does. The fault swarm (seed 1182 over 120 s) found the
  // minimum rule cutting a log's acknowledged block in half: a re-replication's copy, half
  // written at the same stamp, was asked beside the one finalized replica after an append had
  // reopened the file and failed before its pipeline.
  uint64_t newest = 0;
  for (const Participant& p : participants) newest = std::max(newest, p.generation_stamp);
  std::optional<uint64_t> finalized_length;
  for (const Participant& p : participants) {
    if (p.finalized && p.generation_stamp == newest) {
      finalized_length = std::max(finalized_length.value_or(0), p.length_bytes);
    }
  }
  if (finalized_length) {
    std::erase_if(participants, [&](const Participant& p) {
      return p.generation_stamp != newest || p.length_bytes < *finalized_length ||
             (!p.finalized && p.reloaded);
    });
  }
  // A replica reloaded after a restart may have lost unsynced (even flushed-over) bytes: the
  // replicas that stayed up decide the length when there are any (HDFS's RBW before RWR).
  const bool any_stayed_up = std::any_of(participants.begin(), participants.end(),
                                         [](const Participant& p) { return !p.reloaded; });
  if (any_stayed_up) {
    std::erase_if(participants, [](const Participant& p) { return p.reloaded; });
  }
  uint64_t length = UINT64_MAX;
  for (const Participant& p : participants) length = std::min(length, p.length_bytes);
  return participants.empty() ? 0 : length;
}

}  // namespace

Datanode::Datanode(Env& env, Transport& transport, Disk& disk, DatanodeOptions options)
    : env_(env),
      transport_(transport),
      disk_(disk),
      options_(std::move(options)),
      namenode_(transport, options_.namenode),
      store_(disk),
      fibers_(env),
      service_(env, transport, store_, locks_, fibers_, options_,
               BlockEvents{[this](const Replica& r) { OnFinalized(r); },
                           [this](const Replica& r) { OnCorrupt(r); },
                           [this](const Replica& r) { OnReceiving(r); }}),
      scanner_(env, store_, options_.scanner_bytes_per_second,
               std::max(options_.scan_period, Duration(1)),
               [this](const Replica& r) { OnCorrupt(r); }) {
  const NamenodeActorHooks hooks{
      [this] { return transfers_running_ + service_.writes_in_progress(); },
      [this](const proto::HeartbeatReply& reply) { return OnHeartbeatReply(reply); },
      [this] { return options_.require_block_tokens && service_.token_verifier().keys() == 0; }};
  every_namenode_ = namenode_.status().ok() && namenode_.namenodes().size() > 1;
  if (!every_namenode_) {
    actors_.push_back(std::make_unique<NamenodeActor>(env, transport, disk, options_, namenode_,
                                                      store_, storage_id_, hooks));
    return;
  }
  for (const Address& one : namenode_.namenodes()) {
    own_locators_.push_back(std::make_unique<NamenodeLocator>(transport, one));
    actors_.push_back(std::make_unique<NamenodeActor>(
        env, transport, disk, options_, *own_locators_.back(), store_, storage_id_, hooks));
  }
}

Datanode::~Datanode() { assert(!ran_ || fibers_.members() == 0); }

bool Datanode::registered() const {
  return std::any_of(actors_.begin(), actors_.end(),
                     [](const auto& actor) { return actor->registered(); });
}

uint32_t Datanode::datanode_id() const {
  for (const auto& actor : actors_) {
    if (actor->registered()) return actor->datanode_id();
  }
  return actors_.front()->datanode_id();
}

// ---- lifecycle ----

Status Datanode::Run() {
  assert(!ran_);
  ran_ = true;
  Status status = Start();
  // The first actor runs on this fiber; with several namenodes the others on their own.
  if (status.ok()) status = actors_.front()->Run();
  // Wake the fibers that wait on conditions rather than seams, then wait for all of them.
  stopping_ = true;
  for (const auto& actor : actors_) actor->Stop();
  fibers_.Close();
  fibers_.Drain();
  return status;
}

Status Datanode::Start() {
  GRANARY_RETURN_IF_ERROR(ValidateDatanodeOptions(options_));
  GRANARY_RETURN_IF_ERROR(store_.Load());
  GRANARY_ASSIGN_OR_RETURN(storage_id_, store_.LoadOrCreateStorageId(env_.random()));
  service_.AddRoutes(router_);
  GRANARY_RETURN_IF_ERROR(transport_.Serve(fibers_.Wrap(router_.AsHandler())));
  fibers_.Spawn("dn-scanner", [this] { (void)scanner_.Run(); });
  for (const auto& actor : actors_) {
    fibers_.Spawn("dn-reporter", [actor = actor.get()] { actor->ReportLoop(); });
  }
  for (size_t i = 1; i < actors_.size(); ++i) {
    fibers_.Spawn("dn-namenode", [actor = actors_[i].get()] { (void)actor->Run(); });
  }
  return Status::Ok();
}

Duration Datanode::Jittered(Duration base) {
  const double factor = 0.5 + env_.random().UniformDouble();
  return Duration(static_cast<int64_t>(static_cast<double>(base.count()) * factor));
}

bool Datanode::OnHeartbeatReply(const proto::HeartbeatReply& reply) {
  // Commands only from the newest active seen: a deposed one (an older token) may order
  // what its successor no longer wants, such as deleting a replica it now counts on. With
  // several namenodes a reply under token 0 comes from a standby, which orders nothing.
  const bool stale = reply.fencing_token() < fencing_token_;
  if (!every_namenode_ && stale) {
    stale_commands_refused_ += static_cast<uint64_t>(reply.commands_size());
    return false;
  }
  // Block token keys come from the namenode that issues tokens: the active (a standby's
  // reply, under token 0, carries none).
  if (reply.block_keys_size() > 0 && !stale) SetBlockKeys(reply);
  const int commands =
      std::min(reply.commands_size(), static_cast<int>(kDatanodeCommandsPerHeartbeatMax));
  bool reregister = false;
  for (int i = 0; i < commands; ++i) {
    reregister |= reply.commands(i).kind() == proto::DatanodeCommand::KIND_REREGISTER;
  }
  if (every_namenode_ && (stale || reply.fencing_token() == 0)) {
    stale_commands_refused_ += static_cast<uint64_t>(reply.commands_size()) - (reregister ? 1 : 0);
    return reregister;
  }
  fencing_token_ = reply.fencing_token();
  for (int i = 0; i < commands; ++i) {
    if (reply.commands(i).kind() != proto::DatanodeCommand::KIND_REREGISTER) {
      Execute(reply.commands(i));
    }
  }
  return reregister;
}

// The namenode's block token keys replace ours (block_token.h); at most kBlockKeysMax.
void Datanode::SetBlockKeys(const proto::HeartbeatReply& reply) {
  std::map<uint32_t, BlockKey> keys;
  for (const proto::BlockTokenKey& key : reply.block_keys()) {
    if (keys.size() == kBlockKeysMax) break;
    keys[key.key_id()] = BlockKey{key.key_id(), key.key(), InstantFromNanos(key.expiry_ns())};
  }
  service_.token_verifier().SetKeys(keys);
}

// ---- replica events ----

void Datanode::OnFinalized(const Replica& replica) {
  proto::ReplicaReport report;
  *report.mutable_block() = ToBlockRef(replica);
  report.set_finalized(true);
  for (const auto& actor : actors_) actor->OnReplica(report);
}

void Datanode::OnReceiving(const Replica& replica) {
  proto::ReplicaReport report;
  *report.mutable_block() = ToBlockRef(replica);
  report.set_finalized(false);
  for (const auto& actor : actors_) actor->OnReplica(report);
}

void Datanode::OnDeleted(const proto::BlockRef& block) {
  for (const auto& actor : actors_) actor->OnDeleted(block);
}

void Datanode::OnCorrupt(const Replica& replica) {
  if (!reported_corrupt_.insert({replica.block_id, replica.generation_stamp}).second) return;
  const proto::BlockRef block = ToBlockRef(replica);
  for (const auto& actor : actors_) actor->OnCorrupt(block);
}

// ---- commands ----

Status Datanode::ValidateCommand(const proto::DatanodeCommand& command) const {
  const proto::BlockRef& block = command.block();
  if (block.block_id() == 0) return Status(StatusCode::kInvalidArgument, "block id 0");
  if (block.generation_stamp() == 0) {
    return Status(StatusCode::kInvalidArgument, "generation stamp 0");
  }
  if (static_cast<uint32_t>(command.targets_size()) > kReplicationMax) {
    return Status(StatusCode::kLimitExceeded, "more targets than kReplicationMax");
  }
  std::set<std::string> seen;
  for (const proto::DatanodeInfo& target : command.targets()) {
    if (target.address().empty() || target.address().size() > kDatanodeAddressBytesMax) {
      return Status(StatusCode::kInvalidArgument, "bad target address");
    }
    if (!seen.insert(target.address()).second) {
      return Status(StatusCode::kInvalidArgument, "target listed twice");
    }
  }
  switch (command.kind()) {
    case proto::DatanodeCommand::KIND_REPLICATE:
      if (command.targets_size() == 0) {
        return Status(StatusCode::kInvalidArgument, "replicate without targets");
      }
      if (seen.contains(transport_.self().value)) {
        return Status(StatusCode::kInvalidArgument, "replicate to itself");
      }
      return Status::Ok();
    case proto::DatanodeCommand::KIND_RECOVER:
      if (command.recovery_generation_stamp() <= block.generation_stamp()) {
        return Status(StatusCode::kInvalidArgument, "recovery stamp not newer than the block's");
      }
      return Status::Ok();
    case proto::DatanodeCommand::KIND_DELETE:
    case proto::DatanodeCommand::KIND_VERIFY:
      return Status::Ok();
    default:
      return Status(StatusCode::kUnimplemented, "unknown command kind");
  }
}

void Datanode::Execute(const proto::DatanodeCommand& command) {
  if (!ValidateCommand(command).ok()) return;  // a bad command is ignored
  const BlockId id(command.block().block_id());
  if (command.kind() == proto::DatanodeCommand::KIND_DELETE) {
    fibers_.Spawn("dn-delete", [this, command] { Delete(command); });
    return;
  }
  if (command.kind() == proto::DatanodeCommand::KIND_VERIFY) {
    // Bounded: a client's reports cost at most kDatanodeVerifiesMax reads at once, one per block.
    if (verifying_.size() >= kDatanodeVerifiesMax || !verifying_.insert(id).second) return;
    fibers_.Spawn("dn-verify", [this, command, id] {
      Verify(command);
      verifying_.erase(id);
    });
    return;
  }
  // Replicate and recover: queued (bounded), run a few at a time, one per block at a time.
  if (transfers_.contains(id) || transfer_queue_.size() >= kDatanodeQueuedTransfersMax) return;
  transfers_.insert(id);
  transfer_queue_.push_back(command);
  StartTransfers();
}

void Datanode::StartTransfers() {
  while (transfers_running_ < options_.transfers_max && !transfer_queue_.empty()) {
    proto::DatanodeCommand command = std::move(transfer_queue_.front());
    transfer_queue_.pop_front();
    ++transfers_running_;
    fibers_.Spawn("dn-transfer", [this, command] {
      if (command.kind() == proto::DatanodeCommand::KIND_REPLICATE) {
        Replicate(command);
      } else {
        Recover(command);
      }
      transfers_.erase(BlockId(command.block().block_id()));
      --transfers_running_;
      if (!stopping_) StartTransfers();
    });
  }
}

void Datanode::Delete(const proto::DatanodeCommand& command) {
  const BlockId id(command.block().block_id());
  BlockLockTable::Guard guard(locks_, id);
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica) {
    OnDeleted(command.block());  // the namenode's view was stale: set it right
    return;
  }
  // A replica newer than the command's stamp is not the one the namenode meant.
  if (replica->generation_stamp > GenerationStamp(command.block().generation_stamp())) return;
  if (!store_.Remove(id).ok()) return;
  std::erase_if(reported_corrupt_, [id](const auto& entry) { return entry.first == id; });
  OnDeleted(ToBlockRef(*replica));
}

Result<ReplicaRead> Datanode::ReadReporting(BlockId id, uint64_t offset, uint64_t length) {
  // ReplicaStore::Read checks every chunk's CRC32C and marks a bad replica corrupt.
  Result<ReplicaRead> read = store_.Read(id, offset, length);
  if (read.code() == StatusCode::kCorruption) {
    const std::optional<Replica> bad = store_.Get(id);
    if (bad && bad->corrupt) OnCorrupt(*bad);
  }
  return read;
}

void Datanode::Verify(const proto::DatanodeCommand& command) {
  const BlockId id(command.block().block_id());
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica || replica->state != ReplicaState::kFinalized || replica->corrupt ||
      replica->generation_stamp != GenerationStamp(command.block().generation_stamp())) {
    return;  // not the replica the report named, or known bad already
  }
  for (uint64_t offset = 0; offset < replica->length_bytes;) {
    const uint64_t length = std::min(options_.transfer_packet_bytes, replica->length_bytes - offset);
    if (!ReadReporting(id, offset, length).ok()) return;  // bad (reported), changed or gone
    offset += length;
  }
}

void Datanode::Replicate(const proto::DatanodeCommand& command) {
  const BlockId id(command.block().block_id());
  const std::optional<Replica> replica = store_.Get(id);
  if (!replica || replica->state != ReplicaState::kFinalized || replica->corrupt ||
      replica->generation_stamp != GenerationStamp(command.block().generation_stamp())) {
    return;
  }
  const std::string& first = command.targets(0).address();
  uint64_t offset = 0;
  do {
    const std::optional<Replica> now = store_.Get(id);
    if (!now || now->generation_stamp != replica->generation_stamp ||
        now->length_bytes != replica->length_bytes || now->corrupt) {
      return;
    }
    const uint64_t length =
        std::min(options_.transfer_packet_bytes, replica->length_bytes - offset);
    Result<ReplicaRead> read = ReadReporting(id, offset, length);
    if (!read.ok()) return;
    assert(read->offset_bytes == offset);
    assert(read->data.size() == length);
    proto::WriteBlockRequest request;
    proto::BlockRef* block = request.mutable_block();
    block->set_block_id(id.value());
    block->set_generation_stamp(replica->generation_stamp.value());
    block->set_length_bytes(offset + length);
    request.set_offset_bytes(offset);
    for (uint32_t crc : read->chunk_crc32c) request.add_chunk_crc32c(crc);
    for (int i = 1; i < command.targets_size(); ++i) *request.add_downstream() = command.targets(i);
    const bool last = offset + length == replica->length_bytes;
    request.set_last_packet(last);
    request.set_sync(last);
    request.set_client_name("datanode " + transport_.self().value);
    request.set_transfer(true);
    request.set_access_token(command.access_token());
    proto::WriteBlockReply reply;
    const Status status = rpc::Call(transport_, Address{first}, rpc::dn::kWriteBlock, request,
                                    std::move(read->data), Deadline(), &reply);
    if (!status.ok() || reply.failed_index() != -1) return;  // the namenode asks again
    offset += length;
  } while (offset < replica->length_bytes);
}

void Datanode::Recover(const proto::DatanodeCommand& command) {
  const BlockId id(command.block().block_id());
  const GenerationStamp known(command.block().generation_stamp());
  const uint64_t new_stamp = command.recovery_generation_stamp();
  std::vector<Participant> participants;
  proto::GetReplicaRequest ask;
  ask.mutable_block()->set_block_id(id.value());
  ask.set_access_token(command.access_token());
  ask.set_recovery_generation_stamp(new_stamp);
  {
    proto::GetReplicaReply own;
    if (service_.GetReplica(ask, &own).ok() &&
        GenerationStamp(own.block().generation_stamp()) >= known) {
      participants.push_back({datanode_id(), std::nullopt, own.block().generation_stamp(),
                              own.block().length_bytes(), own.reloaded(), own.finalized()});
    }
  }
  for (const proto::DatanodeInfo& target : command.targets()) {
    if (target.address() == transport_.self().value) continue;
    proto::GetReplicaReply reply;
    const Status status = rpc::Call(transport_, Address{target.address()}, rpc::dn::kGetReplica,
                                    ask, "", Deadline(), &reply);
    if (status.code() == StatusCode::kNodeDown) return;
    if (!status.ok() || reply.block().block_id() != id.value() ||
        GenerationStamp(reply.block().generation_stamp()) < known ||
        reply.block().generation_stamp() > new_stamp) {
      continue;
    }
    participants.push_back({target.datanode_id(), Address{target.address()},
                            reply.block().generation_stamp(), reply.block().length_bytes(),
                            reply.reloaded(), reply.finalized()});
  }
  const uint64_t length = RecoveredLength(participants);
  proto::RecoveryDoneRequest done;
  proto::BlockRef* block = done.mutable_block();
  block->set_block_id(id.value());
  block->set_generation_stamp(new_stamp);
  block->set_length_bytes(length);
  for (const Participant& p : participants) {
    proto::FinalizeReplicaRequest finalize;
    *finalize.mutable_block() = *block;
    finalize.set_old_generation_stamp(p.generation_stamp);
    Status status;
    if (!p.address) {
      status = service_.FinalizeReplica(finalize);
    } else {
      proto::FinalizeReplicaReply reply;
      status = rpc::Call(transport_, *p.address, rpc::dn::kFinalizeReplica, finalize, "",
                         Deadline(), &reply);
    }
    if (status.code() == StatusCode::kNodeDown) return;
    if (status.ok()) done.add_datanodes(p.datanode_id);
  }
  done.set_failed(done.datanodes_size() == 0);
  Duration backoff = options_.register_backoff_initial;
  for (uint32_t attempt = 0; attempt < kRetryAttemptsMax; ++attempt) {
    proto::RecoveryDoneReply reply;
    const Status status = namenode_.Call(rpc::nn::kRecoveryDone, done, Deadline(), &reply);
    if (status.ok() || !MayNotHaveRun(status)) return;
    if (!env_.SleepFor(Jittered(backoff)).ok()) return;
    backoff = std::min(backoff * 2, options_.register_backoff_max);
  }
}

}  // namespace granary
