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
                           [this](const Replica& r) { OnCorrupt(r); }}),
      scanner_(env, store_, options_.scanner_bytes_per_second,
               std::max(options_.scan_period, Duration(1)),
               [this](const Replica& r) { OnCorrupt(r); }),
      heartbeat_interval_(options_.heartbeat_interval) {}

Datanode::~Datanode() { assert(!ran_ || fibers_.members() == 0); }

// ---- lifecycle ----

Status Datanode::Run() {
  assert(!ran_);
  ran_ = true;
  Status status = Start();
  if (status.ok()) status = NamenodeLoop();
  // Wake the fibers that wait on conditions rather than seams, then wait for all of them.
  stopping_ = true;
  registered_ = false;
  {
    std::unique_lock lock(report_mutex_);
    report_wakeup_.notify_all();
  }
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
  fibers_.Spawn("dn-reporter", [this] { ReportLoop(); });
  return Status::Ok();
}

Duration Datanode::Jittered(Duration base) {
  const double factor = 0.5 + env_.random().UniformDouble();
  return Duration(static_cast<int64_t>(static_cast<double>(base.count()) * factor));
}

// ---- namenode protocol ----

Status Datanode::NamenodeLoop() {
  Duration backoff = options_.register_backoff_initial;
  for (;;) {
    registered_ = false;
    GRANARY_RETURN_IF_ERROR(Register());
    const Status reported = SendFullReport();
    if (reported.code() == StatusCode::kNodeDown) return reported;
    if (reported.ok()) {
      registered_ = true;
      backoff = options_.register_backoff_initial;
      QueueEvent();  // wake the reporter for what queued up meanwhile
      GRANARY_RETURN_IF_ERROR(HeartbeatLoop());
      continue;
    }
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(Jittered(backoff)));
    backoff = std::min(backoff * 2, options_.register_backoff_max);
  }
}

Status Datanode::Register() {
  Duration backoff = options_.register_backoff_initial;
  for (;;) {
    proto::RegisterRequest request;
    request.set_address(transport_.self().value);
    request.set_rack(options_.rack);
    request.set_storage_id(storage_id_);
    Result<DiskUsage> usage = disk_.Usage();
    if (usage.code() == StatusCode::kNodeDown) return usage.status();
    if (usage.ok()) {
      request.set_capacity_bytes(usage->capacity_bytes);
      request.set_used_bytes(usage->used_bytes);
    }
    proto::RegisterReply reply;
    const Status status = namenode_.Call(rpc::nn::kRegister, request, Deadline(), &reply);
    if (status.code() == StatusCode::kNodeDown) return status;
    if (status.ok()) {
      // The call answered: the locator did not move, so current() is who registered us.
      registered_with_ = namenode_.current();
      datanode_id_ = reply.datanode_id();
      const Duration interval(reply.heartbeat_interval_ns());
      heartbeat_interval_ = interval > Duration(0) && interval <= rpc::kRpcTimeoutMax
                                ? interval
                                : options_.heartbeat_interval;
      return Status::Ok();
    }
    // Unreachable, or refused: either way, try again later.
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(Jittered(backoff)));
    backoff = std::min(backoff * 2, options_.register_backoff_max);
  }
}

Status Datanode::SendFullReport() {
  const std::vector<Replica> replicas = store_.List();
  // Everything queued so far is in this report.
  {
    std::unique_lock lock(report_mutex_);
    pending_finalized_.clear();
    pending_deleted_.clear();
    ++report_epoch_;
    full_report_wanted_ = false;
  }
  size_t next = 0;
  bool first = true;
  do {
    proto::BlockReportRequest request;
    request.set_datanode_id(datanode_id_);
    // A report too long for one message continues in incremental ones.
    request.set_full(first);
    for (; next < replicas.size() &&
           request.replicas_size() < static_cast<int>(kDatanodeReportReplicasMax);
         ++next) {
      const Replica& replica = replicas[next];
      if (replica.corrupt) continue;
      proto::ReplicaReport* report = request.add_replicas();
      *report->mutable_block() = ToBlockRef(replica);
      report->set_finalized(replica.state == ReplicaState::kFinalized);
    }
    proto::BlockReportReply reply;
    const Status status = namenode_.Call(rpc::nn::kBlockReport, request, Deadline(), &reply);
    if (!status.ok()) {
      full_report_wanted_ = true;
      return status;
    }
    first = false;
  } while (next < replicas.size());
  return Status::Ok();
}

Status Datanode::HeartbeatLoop() {
  for (;;) {
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(heartbeat_interval_));
    // Calls moved to another namenode (a failover): registration is per namenode, so
    // register with this one and report in full, whether or not it would have asked.
    if (namenode_.current() != registered_with_) return Status::Ok();
    if (full_report_wanted_) {
      const Status reported = SendFullReport();
      if (reported.code() == StatusCode::kNodeDown) return reported;
      if (!reported.ok()) continue;
    }
    proto::HeartbeatRequest request;
    request.set_datanode_id(datanode_id_);
    Result<DiskUsage> usage = disk_.Usage();
    if (usage.code() == StatusCode::kNodeDown) return usage.status();
    if (usage.ok()) {
      request.set_capacity_bytes(usage->capacity_bytes);
      request.set_used_bytes(usage->used_bytes);
    }
    request.set_active_transfers(transfers_running_ + service_.writes_in_progress());
    proto::HeartbeatReply reply;
    const Status status = namenode_.Call(rpc::nn::kHeartbeat, request, Deadline(), &reply);
    if (status.code() == StatusCode::kNodeDown) return status;
    if (MayNotHaveRun(status)) continue;
    if (!status.ok()) return Status::Ok();  // the namenode does not know us: register again
    // Commands only from the newest active seen: a deposed one (an older token) may order
    // what its successor no longer wants, such as deleting a replica it now counts on.
    if (reply.fencing_token() < fencing_token_) {
      stale_commands_refused_ += static_cast<uint64_t>(reply.commands_size());
      continue;
    }
    fencing_token_ = reply.fencing_token();
    bool reregister = false;
    const int commands =
        std::min(reply.commands_size(), static_cast<int>(kDatanodeCommandsPerHeartbeatMax));
    for (int i = 0; i < commands; ++i) {
      if (reply.commands(i).kind() == proto::DatanodeCommand::KIND_REREGISTER) {
        reregister = true;
      } else {
        Execute(reply.commands(i));
      }
    }
    if (reregister) return Status::Ok();
  }
}

// ---- replica events ----

void Datanode::OnFinalized(const Replica& replica) {
  std::unique_lock lock(report_mutex_);
  proto::ReplicaReport report;
  *report.mutable_block() = ToBlockRef(replica);
  report.set_finalized(true);
  // One event per block in a message, so that the namenode need not order them.
  if (std::erase_if(pending_deleted_, [&](const proto::BlockRef& b) {
        return b.block_id() == replica.block_id.value();
      }) > 0) {
    ++report_epoch_;  // what a report in flight sent is no longer the queue's head
  }
  pending_finalized_.push_back(std::move(report));
  lock.unlock();
  QueueEvent();
}

void Datanode::OnDeleted(const proto::BlockRef& block) {
  std::unique_lock lock(report_mutex_);
  if (std::erase_if(pending_finalized_, [&](const proto::ReplicaReport& r) {
        return r.block().block_id() == block.block_id();
      }) > 0) {
    ++report_epoch_;
  }
  pending_deleted_.push_back(block);
  lock.unlock();
  QueueEvent();
}

void Datanode::OnCorrupt(const Replica& replica) {
  if (!reported_corrupt_.insert({replica.block_id, replica.generation_stamp}).second) return;
  std::unique_lock lock(report_mutex_);
  pending_bad_.push_back(ToBlockRef(replica));
  lock.unlock();
  QueueEvent();
}

void Datanode::QueueEvent() {
  std::unique_lock lock(report_mutex_);
  if (pending_finalized_.size() + pending_deleted_.size() > kDatanodePendingEventsMax) {
    pending_finalized_.clear();
    pending_deleted_.clear();
    full_report_wanted_ = true;
  }
  while (pending_bad_.size() > kDatanodePendingEventsMax) pending_bad_.pop_front();
  report_wakeup_.notify_all();
}

bool Datanode::HasReports() const {
  return !pending_bad_.empty() || !pending_finalized_.empty() || !pending_deleted_.empty();
}

void Datanode::ReportLoop() {
  Duration backoff = options_.register_backoff_initial;
  for (;;) {
    {
      std::unique_lock lock(report_mutex_);
      report_wakeup_.wait(lock, [this] { return stopping_ || (registered_ && HasReports()); });
    }
    if (stopping_) return;
    const Status sent = SendReports();
    if (sent.code() == StatusCode::kNodeDown) return;
    if (sent.ok()) {
      backoff = options_.register_backoff_initial;
      continue;
    }
    if (!env_.SleepFor(Jittered(backoff)).ok()) return;
    backoff = std::min(backoff * 2, options_.register_backoff_max);
  }
}

Status Datanode::SendReports() {
  if (!pending_bad_.empty()) {
    proto::ReportBadBlockRequest request;
    *request.mutable_block() = pending_bad_.front();
    request.set_datanode_id(datanode_id_);
    proto::ReportBadBlockReply reply;
    GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kReportBadBlock, request, Deadline(), &reply));
    // Only this fiber removes from the queue, and others append only: the front is the same.
    if (!pending_bad_.empty()) pending_bad_.pop_front();
    return Status::Ok();
  }
  proto::BlockReportRequest request;
  request.set_datanode_id(datanode_id_);
  request.set_full(false);
  const size_t finalized = std::min<size_t>(pending_finalized_.size(), kDatanodeReportReplicasMax);
  const size_t deleted =
      std::min<size_t>(pending_deleted_.size(), kDatanodeReportReplicasMax - finalized);
  for (size_t i = 0; i < finalized; ++i) *request.add_replicas() = pending_finalized_[i];
  for (size_t i = 0; i < deleted; ++i) *request.add_deleted() = pending_deleted_[i];
  const uint64_t epoch = report_epoch_;
  proto::BlockReportReply reply;
  GRANARY_RETURN_IF_ERROR(namenode_.Call(rpc::nn::kBlockReport, request, Deadline(), &reply));
  // A full report meanwhile emptied the queues; what they hold now was not sent.
  if (epoch == report_epoch_) {
    assert(pending_finalized_.size() >= finalized);
    assert(pending_deleted_.size() >= deleted);
    pending_finalized_.erase(pending_finalized_.begin(), pending_finalized_.begin() + finalized);
    pending_deleted_.erase(pending_deleted_.begin(), pending_deleted_.begin() + deleted);
  }
  return Status::Ok();
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
    Result<ReplicaRead> read = store_.Read(id, offset, length);
    if (read.code() == StatusCode::kCorruption) {
      const std::optional<Replica> bad = store_.Get(id);
      if (bad && bad->corrupt) OnCorrupt(*bad);
    }
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
  struct Participant {
    uint32_t datanode_id;
    std::optional<Address> address;  // nullopt: this datanode
    uint64_t generation_stamp;
    uint64_t length_bytes;
    bool reloaded;
  };
  std::vector<Participant> participants;
  proto::GetReplicaRequest ask;
  ask.mutable_block()->set_block_id(id.value());
  {
    proto::GetReplicaReply own;
    if (service_.GetReplica(ask, &own).ok() &&
        GenerationStamp(own.block().generation_stamp()) >= known) {
      participants.push_back({datanode_id_, std::nullopt, own.block().generation_stamp(),
                              own.block().length_bytes(), own.reloaded()});
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
                            reply.reloaded()});
  }
  // A replica reloaded after a restart may have lost unsynced (even flushed-over) bytes: the
  // replicas that stayed up decide the length when there are any (HDFS's RBW before RWR).
  const bool any_stayed_up = std::any_of(participants.begin(), participants.end(),
                                         [](const Participant& p) { return !p.reloaded; });
  if (any_stayed_up) {
    std::erase_if(participants, [](const Participant& p) { return p.reloaded; });
  }
  proto::RecoveryDoneRequest done;
  proto::BlockRef* block = done.mutable_block();
  block->set_block_id(id.value());
  block->set_generation_stamp(new_stamp);
  uint64_t length = UINT64_MAX;
  for (const Participant& p : participants) length = std::min(length, p.length_bytes);
  block->set_length_bytes(participants.empty() ? 0 : length);
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
