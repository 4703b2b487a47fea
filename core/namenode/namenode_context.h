// What the namenode's services share (namenode.h): the state the Namenode owns, reached by
// reference, and the checks every client request passes.
//
// The Namenode builds one NamenodeContext over its members and hands it to each service; the
// context owns nothing and must not outlive the Namenode. All of it runs on the namenode's
// fibers: between suspension points a service sees the state as no other fiber leaves it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/namenode/block_manager.h"
#include "core/namenode/datanode_manager.h"
#include "core/namenode/lease_manager.h"
#include "core/namenode/namenode_options.h"
#include "core/namenode/namespace.h"
#include "core/seams/env.h"
#include "core/security/block_keys.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

struct NamenodeContext {
  Env& env;
  const NamenodeOptions& options;
  Namespace& ns;
  DatanodeManager& datanodes;
  BlockManager& blocks;
  LeaseManager& leases;
  // When the namenode started serving (set by Namenode::Start before any request).
  const Instant& started;
  // Set by Namenode::Stop: the monitors end after their current sleep.
  const bool& stop_requested;
  // Block access tokens (issued with every located block when on).
  BlockKeyManager& block_keys;

  // Puts a token for `user` to access `located`'s block in `mode` into it (nothing when
  // tokens are off).
  void SignLocated(proto::LocatedBlock& located, const proto::UserContext& user, BlockAccess mode) {
    if (!block_keys.enabled()) return;
    located.set_access_token(block_keys.Issue(
        located.block().block_id(), located.block().generation_stamp(), mode, user.user()));
  }

  // Just after a start the datanodes are still registering and reporting: replication work
  // waits, and a new block refuses a short pipeline.
  bool Starting() const { return env.Now() - started < options.datanode_dead_after; }

  // A monitor's wait between rounds: `d`, in steps of at most kNamenodeStopCheck, so that a
  // stopped Namenode's Run ends within one step; kCancelled once Stop was called. (Asleep for
  // whole intervals, the monitors and the retry cache's 10 s sweeper kept a namenode that had
  // handed over out of the next election for up to 10 s: a handover back to it then waited.)
  Status SleepUnlessStopped(Duration d) const {
    const Instant end = env.Now() + d;
    for (;;) {
      if (stop_requested) return Status(StatusCode::kCancelled, "namenode stopped");
      const Instant now = env.Now();
      if (now >= end) return Status::Ok();
      GRANARY_RETURN_IF_ERROR(env.SleepFor(std::min<Duration>(end - now, kNamenodeStopCheck)));
    }
  }

  // Checks the user a client request names, then charges the per-request CPU.
  Status Admit(const proto::UserContext& user) const {
    GRANARY_RETURN_IF_ERROR(CheckUser(user));
    return env.ChargeCpu(options.cpu_per_request);
  }

  // The namespace cut these blocks loose: the block map forgets them.
  void Release(const ReleasedBlocks& released) { blocks.Release(released.blocks); }

  static Status Invalid(std::string message) {
    return Status(StatusCode::kInvalidArgument, std::move(message));
  }

  // A request's user: named, and within the name and group limits.
  static Status CheckUser(const proto::UserContext& user) {
    if (user.user().empty()) return Status(StatusCode::kPermissionDenied, "request names no user");
    if (user.user().size() > kNameBytesMax) return Invalid("user name too long");
    if (static_cast<size_t>(user.groups_size()) > kGroupsPerUserMax) {
      return Invalid("too many groups");
    }
    for (const std::string& group : user.groups()) {
      if (group.empty() || group.size() > kNameBytesMax) return Invalid("bad group name");
    }
    return Status::Ok();
  }

  // `file` is open for writing under the lease of `client_name`.
  static Status CheckWriter(const proto::Inode& file, const std::string& client_name) {
    if (!file.under_construction()) {
      return Status(StatusCode::kStale, file.name() + " is not open for writing");
    }
    if (file.lease_holder() != client_name) {
      return Status(StatusCode::kLeaseConflict,
                    file.name() + " is held by " + file.lease_holder() + ", not " + client_name);
    }
    return Status::Ok();
  }

  // The length of a file in blocks: the sum of its blocks' lengths.
  static uint64_t SumOfBlocks(const proto::Inode& file) {
    uint64_t total = 0;
    for (const proto::BlockRef& block : file.blocks()) total += block.length_bytes();
    return total;
  }

  // The stored record of one block of file `inode_id`.
  static proto::StoredBlock Stored(uint64_t inode_id, const proto::BlockRef& block,
                                   uint32_t replication) {
    proto::StoredBlock stored;
    stored.set_inode_id(inode_id);
    *stored.mutable_block() = block;
    stored.set_replication(replication);
    return stored;
  }
};

}  // namespace granary
