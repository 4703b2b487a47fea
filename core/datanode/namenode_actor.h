// NamenodeActor: a datanode's conversation with one namenode (issue 13; HDFS's
// BPServiceActor): registration, full and incremental block reports, heartbeats, and the
// replica events not yet acknowledged by that namenode (datanode.h describes the protocol).
//
// With one namenode, or a list the datanode treats as one service, the Datanode runs ONE
// actor over a NamenodeLocator of the whole list, which follows the active (kNotActive
// redirects, rotation): the behaviour before hot standbys existed. With several namenodes
// (HA, ha_namenode.h) it runs one actor per namenode, each over a locator of its namenode
// alone, each on its own fiber: a namenode unreachable delays only its own actor, and every
// standby learns every replica, so that it keeps a hot block map and a failover finds the
// replicas known.
//
// The actor does not decide which commands to obey: every heartbeat reply goes to the
// Datanode (`on_reply`), which obeys block commands only from the active under the newest
// fencing token; it answers whether the namenode asked the actor to register again.
//
// Events: the Datanode hands every replica event to every actor; each actor queues it and
// its reporter fiber sends it, in order, to its namenode, retried with backoff.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/datanode/datanode_options.h"
#include "core/datanode/replica_store.h"
#include "core/rpc/namenode_locator.h"
#include "core/seams/disk.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "proto/namenode.pb.h"

namespace granary {

struct NamenodeActorHooks {
  // Replicate and recover transfers running, and writes in progress: the heartbeat's load.
  std::function<uint32_t()> active_transfers;
  // Carries out what a heartbeat reply asks; true when it asks to register again.
  std::function<bool(const proto::HeartbeatReply&)> on_reply;
  // True while the datanode requires block tokens and has no keys to check them with: it
  // then heartbeats at once after registering, and every 100 ms until keys come.
  std::function<bool()> wants_keys;
};

class NamenodeActor {
 public:
  // `locator`, `store` and everything else passed must outlive the actor. `storage_id`
  // is read at each registration (the Datanode sets it before the actor runs).
  NamenodeActor(Env& env, Transport& transport, Disk& disk, const DatanodeOptions& options,
                NamenodeLocator& locator, const ReplicaStore& store, const std::string& storage_id,
                NamenodeActorHooks hooks);

  // Registers, reports in full, heartbeats; again after each re-registration. Returns only
  // the status of a failed wait (kNodeDown when the process stops).
  Status Run();
  // Sends queued replica events until Stop(); run it on a fiber of its own.
  void ReportLoop();
  // Wakes and ends the reporter.
  void Stop();

  // Replica events, queued for this namenode.
  // A replica finalized, or begun or reopened by a writer (report.finalized() false).
  void OnReplica(const proto::ReplicaReport& report);
  void OnDeleted(const proto::BlockRef& block);
  void OnCorrupt(const proto::BlockRef& block);

  bool registered() const { return registered_; }
  uint32_t datanode_id() const { return datanode_id_; }
  const NamenodeLocator& locator() const { return locator_; }
  // Heartbeats this namenode answered.
  uint64_t heartbeats() const { return heartbeats_; }

 private:
  Status Register();
  Status SendFullReport();
  // Returns ok when the datanode must register again, else the failed wait's status.
  Status HeartbeatLoop();
  Instant Deadline() { return env_.Now() + options_.rpc_timeout; }
  Duration Jittered(Duration base);
  void QueueEvent();
  bool HasReports() const;
  // Sends the oldest queued events; an error leaves them queued.
  Status SendReports();

  Env& env_;
  Transport& transport_;
  Disk& disk_;
  const DatanodeOptions& options_;
  NamenodeLocator& locator_;
  const ReplicaStore& store_;
  const std::string& storage_id_;
  const NamenodeActorHooks hooks_;

  bool stopping_ = false;
  bool registered_ = false;
  uint32_t datanode_id_ = 0;
  // The namenode that answered the last registration.
  Address registered_with_;
  Duration heartbeat_interval_;
  uint64_t heartbeats_ = 0;

  // Events not yet acknowledged by the namenode, oldest first.
  std::deque<proto::ReplicaReport> pending_finalized_;
  std::deque<proto::BlockRef> pending_deleted_;
  std::deque<proto::BlockRef> pending_bad_;
  // Bumped whenever the queues change other than at the back (a full report, a superseded
  // event): a report in flight then no longer covers their head.
  uint64_t report_epoch_ = 0;
  bool full_report_wanted_ = false;
  boost::fibers::mutex report_mutex_;
  boost::fibers::condition_variable report_wakeup_;
};

}  // namespace granary
