// RetryCache: the first answer of each mutation, kept by (client id, call id), so that a
// mutation retried after its reply was lost (a timeout, a failover) gets that answer again
// instead of running a second time (issue 13; HDFS's RetryCache). Without it a create that
// succeeded is retried into "exists", and a rename that succeeded into "not found".
//
// The records live in the namenode's MetaStore, written by Record into the mutation's OWN
// batch: the answer is durable exactly when the mutation is, and since that batch goes
// through the journal (journaled_store.h), every standby has it when it becomes the active.
// A record holds the status code, its message and the reply body (mutations' replies carry
// no payload). Nothing is kept in memory but a count.
//
// Layout (tags beside InodeStore's, which uses neither):
//   'r' client(8, big-endian) call(8)          -> recorded_at(8) code(4) message_bytes(4)
//                                                 message body
//   'R' recorded_at(8) client(8) call(8)       -> ""   (the expiry index, oldest first)
// recorded_at is Env::CalendarNanos of the namenode that ran the mutation, so that a record
// expires at the same time whichever namenode is active then (clocks agree roughly; an
// entry living a little longer or shorter after a failover changes nothing but its reach).
//
// Expiry: Sweep deletes records older than `expiry` (HDFS: 10 minutes, kRetryCacheExpiry)
// and, past `entries_max`, the oldest ones, so the records are bounded in number whatever
// the rate of mutations. A retry that arrives after its record went runs again, as without
// the cache. Sweep writes through the store like any mutation (journaled on an active).
//
// Key 0: a request without a client id (an older client, a tool) is neither recorded nor
// looked up.
//
// Wiring (Run, CarryRecord). The namenode runs each recorded mutation through Run: a key
// with a record gets the recorded answer and the handler does not run; a key whose first
// attempt is still running on this namenode waits for it and then looks again; otherwise the
// handler runs with the key open on its fiber, and NamespaceReader::Commit, the one door of
// namespace batches, calls CarryRecord, which adds the record to the FIRST batch the
// handler commits: code kOk and the reply as it stands then. Hence the contract of a
// recorded handler: it commits its effect in one batch and has filled its reply before that
// commit (Create fills it from CreateArgs::before_commit); an error after the commit is not
// what a retry sees. A handler that fails before committing leaves no record (its refusal
// changed nothing, and a retry runs again and may succeed, e.g. once quota is freed).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>

#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"

namespace granary {

struct RetryKey {
  uint64_t client_id = 0;
  uint64_t call_id = 0;
  bool valid() const { return client_id != 0; }
  auto operator<=>(const RetryKey&) const = default;
};

struct CachedAnswer {
  StatusCode code = StatusCode::kOk;
  std::string message;
  std::string body;
  bool operator==(const CachedAnswer&) const = default;
};

class RetryCache {
 public:
  // `store` must outlive this object.
  RetryCache(Env& env, MetaStore& store, Duration expiry = kRetryCacheExpiry,
             uint64_t entries_max = kRetryCacheEntriesMax);

  // Counts the records in the store; call once before Record and Sweep.
  Status Load();
  // Adds the record of `key`'s answer to `batch`, the mutation's own. `key` must be valid;
  // the body is at most kRetryCacheBodyBytesMax (a larger answer is not recorded).
  void Record(WriteBatch& batch, RetryKey key, const CachedAnswer& answer);
  // The recorded answer of `key`, nullopt when none (never recorded, or swept, or expired
  // and not swept yet). kCorruption when a record does not decode.
  Result<std::optional<CachedAnswer>> Find(RetryKey key);
  // Deletes records older than the expiry, then the oldest while more than entries_max
  // remain, at most kRetryCacheSweepRecordsMax per call; returns how many it deleted.
  Result<uint64_t> Sweep();
  // Records in the store as far as this object knows (Load, Record, Sweep).
  uint64_t records() const { return records_; }

  // Runs `handler` for the mutation `key` names, at most once while its record lasts (see
  // "Wiring" above). `reply` is the handler's reply: filled from the record on a hit, and
  // recorded as it stands when the handler commits. An invalid key just runs the handler.
  Status Run(RetryKey key, google::protobuf::Message* reply,
             const std::function<Status()>& handler);
  // Adds to `batch` the record of the mutation Run is running on the calling fiber, when there
  // is one and none of its batches carried it yet; otherwise does nothing.
  static void CarryRecord(WriteBatch& batch);
  // Whether the calling fiber runs a mutation whose record no batch carried yet.
  static bool Carrying();
  // Answers given from a record, since construction.
  uint64_t hits() const { return hits_; }

 private:
  Env& env_;
  MetaStore& store_;
  const Duration expiry_;
  const uint64_t entries_max_;
  uint64_t records_ = 0;
  uint64_t hits_ = 0;
  // Keys whose handler runs now on this namenode (a retry of one waits for it).
  std::set<RetryKey> in_flight_;
};

}  // namespace granary
