#include "core/datanode/namenode_actor.h"

#include <algorithm>
#include <cassert>
#include <mutex>
#include <utility>
#include <vector>

#include "core/common/limits.h"
#include "core/datanode/block_service.h"
#include "core/rpc/wire.h"

namespace granary {

NamenodeActor::NamenodeActor(Env& env, Transport& transport, Disk& disk,
                             const DatanodeOptions& options, NamenodeLocator& locator,
                             const ReplicaStore& store, const std::string& storage_id,
                             NamenodeActorHooks hooks)
    : env_(env),
      transport_(transport),
      disk_(disk),
      options_(options),
      locator_(locator),
      store_(store),
      storage_id_(storage_id),
      hooks_(std::move(hooks)),
      heartbeat_interval_(options.heartbeat_interval) {}

Duration NamenodeActor::Jittered(Duration base) {
  const double factor = 0.5 + env_.random().UniformDouble();
  return Duration(static_cast<int64_t>(static_cast<double>(base.count()) * factor));
}

void NamenodeActor::Stop() {
  std::unique_lock lock(report_mutex_);
  stopping_ = true;
  registered_ = false;
  report_wakeup_.notify_all();
}

// ---- registration, reports, heartbeats ----

Status NamenodeActor::Run() {
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

Status NamenodeActor::Register() {
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
    const Status status = locator_.Call(rpc::nn::kRegister, request, Deadline(), &reply);
    if (status.code() == StatusCode::kNodeDown) return status;
    if (status.ok()) {
      // The call answered: the locator did not move, so current() is who registered us.
      registered_with_ = locator_.current();
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

Status NamenodeActor::SendFullReport() {
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
    const Status status = locator_.Call(rpc::nn::kBlockReport, request, Deadline(), &reply);
    if (!status.ok()) {
      full_report_wanted_ = true;
      return status;
    }
    first = false;
  } while (next < replicas.size());
  return Status::Ok();
}

Status NamenodeActor::HeartbeatLoop() {
  uint32_t without_keys = 0;
  for (;;) {
    const bool keyless = hooks_.wants_keys && hooks_.wants_keys();
    GRANARY_RETURN_IF_ERROR(env_.SleepFor(
        !keyless ? heartbeat_interval_
                 : (without_keys++ == 0 ? Duration(0)
                                        : std::min<Duration>(heartbeat_interval_,
                                                             std::chrono::milliseconds(100)))));
    // Calls moved to another namenode (a failover): registration is per namenode, so
    // register with this one and report in full, whether or not it would have asked.
    if (locator_.current() != registered_with_) return Status::Ok();
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
    request.set_active_transfers(hooks_.active_transfers());
    proto::HeartbeatReply reply;
    const Status status = locator_.Call(rpc::nn::kHeartbeat, request, Deadline(), &reply);
    if (status.code() == StatusCode::kNodeDown) return status;
    // The namenode may not have run the call, or was not the active one: call again.
    if (NamenodeLocator::Rotated(status)) continue;
    if (!status.ok()) return Status::Ok();  // the namenode does not know us: register again
    ++heartbeats_;
    if (hooks_.on_reply(reply)) return Status::Ok();
  }
}

// ---- replica events ----

void NamenodeActor::OnReplica(const proto::ReplicaReport& report) {
  std::unique_lock lock(report_mutex_);
  const uint64_t id = report.block().block_id();
  // One event per block in a message, so that the namenode need not order them: the newer
  // state of a replica (finalized after receiving) replaces the one queued before.
  const size_t superseded =
      std::erase_if(pending_deleted_,
                    [&](const proto::BlockRef& b) { return b.block_id() == id; }) +
      std::erase_if(pending_finalized_,
                    [&](const proto::ReplicaReport& r) { return r.block().block_id() == id; });
  if (superseded > 0) {
    ++report_epoch_;  // what a report in flight sent is no longer the queue's head
  }
  pending_finalized_.push_back(report);
  lock.unlock();
  QueueEvent();
}

void NamenodeActor::OnDeleted(const proto::BlockRef& block) {
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

void NamenodeActor::OnCorrupt(const proto::BlockRef& block) {
  std::unique_lock lock(report_mutex_);
  pending_bad_.push_back(block);
  lock.unlock();
  QueueEvent();
}

void NamenodeActor::QueueEvent() {
  std::unique_lock lock(report_mutex_);
  if (pending_finalized_.size() + pending_deleted_.size() > kDatanodePendingEventsMax) {
    pending_finalized_.clear();
    pending_deleted_.clear();
    full_report_wanted_ = true;
  }
  while (pending_bad_.size() > kDatanodePendingEventsMax) pending_bad_.pop_front();
  report_wakeup_.notify_all();
}

bool NamenodeActor::HasReports() const {
  return !pending_bad_.empty() || !pending_finalized_.empty() || !pending_deleted_.empty();
}

void NamenodeActor::ReportLoop() {
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

Status NamenodeActor::SendReports() {
  if (!pending_bad_.empty()) {
    proto::ReportBadBlockRequest request;
    *request.mutable_block() = pending_bad_.front();
    request.set_datanode_id(datanode_id_);
    proto::ReportBadBlockReply reply;
    GRANARY_RETURN_IF_ERROR(locator_.Call(rpc::nn::kReportBadBlock, request, Deadline(), &reply));
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
  GRANARY_RETURN_IF_ERROR(locator_.Call(rpc::nn::kBlockReport, request, Deadline(), &reply));
  // A full report meanwhile emptied the queues; what they hold now was not sent.
  if (epoch == report_epoch_) {
    assert(pending_finalized_.size() >= finalized);
    assert(pending_deleted_.size() >= deleted);
    pending_finalized_.erase(pending_finalized_.begin(), pending_finalized_.begin() + finalized);
    pending_deleted_.erase(pending_deleted_.begin(), pending_deleted_.begin() + deleted);
  }
  return Status::Ok();
}

}  // namespace granary
