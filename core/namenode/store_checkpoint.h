// StoreCheckpoint: copies one namenode's store to another over the RPC transport, so that a
// namenode whose store is empty (a new machine, a wiped disk) or older than the journal's
// first entry (the journal was truncated past it) can rejoin (issue 13).
//
// The serving side answers nn.CheckpointPage from a MetaStore snapshot it keeps open while
// the copy runs: every page of one copy comes from the same point in time, so the copy is
// the store exactly as of one applied journal entry (the snapshot holds that entry's
// sequence, InodeStore::GetAppliedSeq), and the copier follows the journal from there. Any
// namenode serves it, active or standby, since both stores are the journal applied in order.
//
// Why a logical copy through the MetaStore and not RocksDB's own checkpoint files: it works
// the same over every store (RocksDB, the simulator's), needs no second transfer protocol
// for files, and its pages are bounded messages of the transport we already have. The cost
// is re-inserting every record on the receiving side instead of linking SST files; at the
// namespace sizes one namenode serves (its RAM-sized block map is the limit, not the store)
// that is minutes, once per new or wiped namenode.
//
// The copying side marks its store as incomplete (InodeStore::PutBootstrapMark) before it
// deletes what it held, and clears the mark in the batch of the last page: a copy cut short
// by a crash is found at the next start and started again, never mistaken for a store.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"
#include "proto/namenode.pb.h"

namespace granary {

class StoreCheckpoint {
 public:
  // Serves pages of `store` (which must outlive this object).
  StoreCheckpoint(Env& env, MetaStore& store) : env_(env), store_(store) {}

  // One page: the records after `start_after` in key order, up to kCheckpointPageBytes.
  // kNotFound for a checkpoint id that expired (kCheckpointIdle without a page) or never
  // was; kUnavailable when this store is itself incomplete, or too many copies are open.
  Status ServePage(const proto::CheckpointPageRequest& request, proto::CheckpointPageReply* reply);

  // Replaces everything in `local` with a checkpoint of the store served at `from`, page by
  // page, each call with `call_timeout`. On success `local` holds that store as of one
  // journal entry; on failure it is marked incomplete (a later CopyFrom starts again).
  static Status CopyFrom(Env& env, Transport& transport, const Address& from, MetaStore& local,
                         Duration call_timeout);

  // True when `local` holds a copy cut short.
  static Result<bool> Incomplete(MetaStore& local);

 private:
  struct Open {
    std::shared_ptr<const Snapshot> snapshot;
    Instant last_used;
  };
  void ExpireIdle();

  Env& env_;
  MetaStore& store_;
  std::map<uint64_t, Open> open_;
  uint64_t next_id_ = 1;
};

}  // namespace granary
