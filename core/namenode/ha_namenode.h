// HaNamenode: one namenode of several that share a journal (issue 13; DESIGN.md §5a).
//
// Roles. Exactly one namenode is active: it won the journal's election, holds a fencing
// token, and runs a Namenode whose MetaStore is a JournaledStore under that token, so every
// mutation is in the journal before it is acknowledged. The others are standbys: they follow
// the journal into their own stores (JournaledStore::Apply) and answer every request but
// nn.HaStatus, nn.Failover and the datanodes' (the hot block map, below) with kNotActive,
// whose message names the active's address when they know it, so that clients go there.
//
// Failover. A standby campaigns while a fiber of its own follows the journal. When it wins it reads
// the journal to its end, then starts a fresh Namenode over its store: the path a single namenode
// takes after a restart, which already rebuilds the soft state (leases of files under construction
// from the store; the block map from the store and from the datanodes, which a namenode that does
// not know them tells to register again and report). Block commands carry the new token
// (NamenodeOptions::fencing_token) and datanodes obey only the newest token they have seen.
//
// Stepping down. The active stops serving at once when the journal says its leadership is
// gone (WaitForLoss: resigned, lease expired while paused or cut off, a newer leader) or
// when an append fails (JournaledStore: fenced, or an outcome it cannot know). It stops the
// Namenode (its monitors end within their intervals; requests in flight finish with an
// error, since their writes fail with kNotActive), then becomes a standby again and follows
// the journal, which also applies any entry whose append it could not confirm.
//
// Handover. nn.Failover at the active (`granary failover [--to ADDRESS]`) makes it resign at
// once and stand aside for `handover_holdoff`; with `to` named, it first tells that standby to
// campaign eagerly, and resigns with Journal::HandOver, which reserves the election for the
// named one during handover_holdoff: no other standby can win it meanwhile. A named standby
// that is dead or cannot lead leaves the election open again after the reservation.
//
// The standby's hot block map (standby_block_map.h): datanodes register with, heartbeat to
// and report to every namenode, so a standby answers them (nn.Register, nn.Heartbeat,
// nn.BlockReport, nn.ReportBadBlock) over a block map of its own, which learns the blocks of
// every journal entry it applies, and orders nothing. A standby that wins the election hands
// that map to its Namenode: files in blocks are readable at once after a failover, with no
// "retry" window, and replication needs no start-up grace for datanodes already known.
// Reads on a standby (issue 14) reach it through standby_blocks(): LocateBlocks gives a
// file's block locations as the active would.
//
// Reads on every namenode (issue 14). Every reply carries the applied journal sequence
// (RpcReply::seq). A standby answers reads (stat, list, open, open-many) from its own store
// once it has applied the sequence the request needs (StandbyReads, standby_reads.h); the
// active refuses a read that needs more than it applied (it was deposed and does not know
// yet). Each namenode counts the reads and writes it answered (nn.HaStatus).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/common/fiber_group.h"
#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/namenode/journaled_store.h"
#include "core/namenode/namenode.h"
#include "core/namenode/namenode_options.h"
#include "core/namenode/standby_block_map.h"
#include "core/namenode/standby_reads.h"
#include "core/namenode/store_checkpoint.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/journal.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"

namespace granary {

struct HaOptions {
  // This namenode's name in the election: its own address as clients reach it (what
  // kNotActive and nn.HaStatus carry to them).
  std::string candidate;
  // Deadline of each journal append and read.
  Duration journal_timeout = std::chrono::seconds(5);
  // Journal appends the active keeps in flight (JournaledStore), 1..kJournalAppendsInFlightMax.
  uint32_t journal_appends_in_flight = kJournalAppendsInFlightDefault;
  // A standby's cycle: it campaigns for up to `campaign_window`, then pauses `follow_wait`
  // (while a fiber of its own follows the journal throughout, each read waiting up to
  // `follow_wait` for new entries).
  Duration follow_wait = std::chrono::milliseconds(500);
  Duration campaign_window = std::chrono::milliseconds(200);
  // How long the active checks at most between two looks at its leadership.
  Duration loss_check = std::chrono::milliseconds(500);
  // After handing over, how long this namenode leaves the election to the others; and how
  // long a standby named by a handover campaigns without pause.
  Duration handover_holdoff = std::chrono::seconds(3);
  // The active truncates the journal every `truncate_interval` to the last `retain_entries`
  // entries; a namenode further behind (or new, or wiped) copies a checkpoint of the
  // active's store (store_checkpoint.h) and follows the journal from there.
  uint64_t retain_entries = kJournalRetainEntriesDefault;
  Duration truncate_interval = std::chrono::seconds(10);
  // Told of every change of role and of what caused it (elected, stepping down and why,
  // named by a handover, bootstrapped from a checkpoint), one line each, for the process's
  // log; unset in the simulator, whose traces stay as they were.
  std::function<void(const std::string&)> on_event;
};

class HaNamenode {
 public:
  // `local` and `journal` must outlive this object.
  HaNamenode(Env& env, Transport& transport, MetaStore& local, Journal& journal,
             HaOptions ha_options, NamenodeOptions options);
  ~HaNamenode();

  // Serves until the process stops (kNodeDown) or the journal cannot be followed
  // (kNotFound: entries this store needs were truncated).
  Status Run();

  // Serving as the active: elected, caught up, loaded, and not stepping down.
  bool active() const { return namenode_ != nullptr && namenode_->ready() && !stepping_down_; }
  // The running Namenode while active, else null.
  Namenode* namenode() { return namenode_.get(); }
  uint64_t applied_seq() const { return store_.applied_seq(); }
  // The fencing token it serves writes under while active (0 otherwise).
  FencingToken token() const { return token_; }
  // Times this namenode became active, and copied a checkpoint.
  uint64_t activations() const { return activations_; }
  uint64_t bootstraps() const { return bootstraps_; }
  const JournaledStore& store() const { return store_; }
  // The standby's block map (standby_block_map.h); holds no map while active.
  StandbyBlockMap& standby_blocks() { return standby_blocks_; }
  // Where this namenode, as a standby, learns the replicas of blocks for reads of files in
  // blocks; null (the default): those reads go to the active. Not owned.
  void set_block_locations(BlockLocations* locations) { reads_->set_block_locations(locations); }
  // Reads (stat, list, open, open-many) and writes (namespace mutations) answered.
  uint64_t reads_served() const { return reads_served_; }
  uint64_t writes_served() const { return writes_served_; }

 private:
  class ServeSlot;

  Result<RpcReply> Handle(const RpcContext& context, RpcRequest& request);
  // Tells HaOptions::on_event, when set.
  void Event(const std::string& line) const;
  // Counts an answer and stamps it with the applied sequence.
  Result<RpcReply> Answered(Result<RpcReply> reply, std::string_view method);
  // Tells the standby reads where the store and the journal stand.
  void NoteApplied();
  // Follows the journal and campaigns until it wins; returns the token.
  Result<FencingToken> Standby();
  // Catches up, serves as the active until leadership is lost; Ok then, or kNodeDown.
  Status Active(FencingToken token);
  void StepDown(const Status& why);
  // One read of the journal and the entries it returned applied, unless the follower of
  // `generation` was stopped meanwhile.
  Status FollowOnce(uint64_t generation);
  // The standby's follower: reads and applies the journal (copying a checkpoint when it must)
  // until the standby that spawned it wins the election (follow_generation_ moves on) or a
  // failure it cannot cure, left in follow_status_.
  void FollowLoop(uint64_t generation);
  Status BootstrapAsFollower(uint64_t generation);
  // Stops any follower and starts a new one.
  void StartFollower();
  // Replaces the local store with a checkpoint of the active's; Ok when the active is not
  // known yet (the caller tries again).
  Status Bootstrap();
  void TruncateLoop(FencingToken token);
  void RefreshActiveHint();

  Status HaStatus(const proto::HaStatusRequest&, proto::HaStatusReply* reply, rpc::Exchange&);
  Status Failover(const proto::FailoverRequest& request, proto::FailoverReply* reply,
                  rpc::Exchange&);

  Env& env_;
  Transport& transport_;
  MetaStore& local_;
  Journal& journal_;
  const HaOptions ha_options_;
  const NamenodeOptions options_;
  JournaledStore store_;
  std::unique_ptr<StandbyReads> reads_;
  // Lets StandbyReads locate blocks through the hot block map (when block tokens are off:
  // a standby cannot sign the active's tokens, so with them on such reads go to the active).
  class MapLocations final : public BlockLocations {
   public:
    explicit MapLocations(StandbyBlockMap& map) : map_(map) {}
    bool Locate(const proto::BlockRef& block, uint64_t offset, const std::string& client_address,
                proto::LocatedBlock* out) override {
      return map_.LocateBlock(block, offset, client_address, out);
    }

   private:
    StandbyBlockMap& map_;
  };
  std::unique_ptr<MapLocations> map_locations_;
  StoreCheckpoint checkpoint_;
  StandbyBlockMap standby_blocks_;
  std::unique_ptr<ServeSlot> slot_;
  std::unique_ptr<Namenode> namenode_;
  // The running Namenode's handler while it may take requests; empty otherwise.
  RpcHandler active_handler_;
  rpc::Router router_;
  FiberGroup fibers_;
  FencingToken token_{};
  std::string active_hint_;
  uint64_t journal_last_seq_ = 0;
  uint64_t activations_ = 0;
  uint64_t bootstraps_ = 0;
  uint64_t reads_served_ = 0;
  uint64_t writes_served_ = 0;
  bool stepping_down_ = false;
  // The follower (FollowLoop): which one may apply (others end after their read), whether it
  // is writing to the store now, whether the store may campaign (complete, not behind the
  // journal's oldest entry), and the failure that ended it.
  uint64_t follow_generation_ = 0;
  bool follower_busy_ = false;
  bool follower_ready_ = false;
  Status follow_status_;
  Instant eager_until_{};
  Instant next_hint_refresh_{};
  // The last failure of the standby's reads of the journal (ok once one succeeds): what a
  // client is told when no namenode can be active for want of a journal.
  Status journal_error_;
  Instant holdoff_until_{};
};

}  // namespace granary
