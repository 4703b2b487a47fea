// SimJournalService: the members of a simulated journal (the etcd cluster of the real world,
// net/etcd_journal.h), shared by every SimJournal client (sim_journal.h) of one simulated
// cluster. It owns the members' state and the journal's state machine; clients run their
// calls through Call, which costs simulated round trips on the SimNetwork and disk syncs on
// the members.
//
// Shape (etcd's): the members replicate one command log, raft style. One member leads the
// log; a write command (Campaign, Resign, Append, Truncate) travels client -> log leader ->
// every follower; each member that holds it syncs it (group commit: a sync covers every
// command received before it began) and tells the log leader; once a majority of members
// have synced a prefix of the log, that prefix is committed and applied to the state
// machine in log order, and each command's answer goes back to its client. A read (Leader,
// LastSeq, Read, the lease renewal) is a ReadIndex: client -> log leader, one heartbeat round
// trip to a majority, then the answer from the applied state; no sync.
//
// The state machine is the journal of core/seams/journal.h: the entries, the last sequence,
// the first kept one, and the leader lease (candidate name, client, fencing token, expiry).
// Every applied command takes a new revision; a leader's token is the revision that created
// its lease (etcd's create revision), so tokens only grow. A lease expires in virtual time
// `lease_ttl` after its last renewal was served; expiry is checked whenever a command is
// applied or a read is served.
//
// Cost model (what one call costs, with the members' MachineProfile and the network's links):
//   write  1 client->leader message (header + payload bytes through both NICs), N-1
//          leader->follower messages (the same bytes), one disk sync on each member that
//          receives it (DiskProfile::sync_latency; concurrent commands share a sync), one
//          follower->leader ack each, 1 leader->client reply. Latency ~ 2 round trips + 1
//          sync (the slowest of the fastest majority).
//   read   1 client->leader message, N-1 heartbeat round trips (the majority's), 1 reply
//          carrying the answer (a Read's entries). Latency ~ 2 round trips.
//   watch  a read that finds nothing new is held at the log leader; the commit of the next
//          entry answers it at once with a message leader -> client (etcd's watch event).
//          So a follower learns of an entry a one-way delay after its commit, not on a poll.
//   The calibration these use is the simulator's own: LinkProfile latency and jitter and
//   NicProfile bandwidth (profiles.h) and the member's DiskProfile::sync_latency, which
//   calibration.h maps from the bench's measured fsync latency. etcd's CPU (raft, bbolt,
//   gRPC) is not charged; a member's sync stands for its WAL fsync.
//
// Fault model (the swarm's hooks below):
//   - A member crash (CrashMember, or Simulator::CrashNode on its node) loses what it had
//     received but not synced; a sync in flight never completes. RestartMember brings it
//     back with its synced log; the log leader sends it what it misses with the next
//     command.
//   - Partitions are the SimNetwork's: a member cut off from the others cannot lead and does
//     not receive commands. A client cut off from the log leader cannot reach the journal
//     (etcd's proxying through a follower is not modelled).
//   - The log leader is the member elected among those up, reaching a majority of members
//     and holding every committed command (raft's rule), the current one kept while it
//     stays so; one that no longer reaches a majority steps down. A new one serves after
//     `election_delay`, the uncommitted commands it lacks are discarded (their callers learn
//     it and may safely retry), and the leadership lease gets a full lease_ttl from then on
//     (etcd's lessor does so on promotion: an outage without a leader expires no lease).
//     Elections are decided from the simulator's view at the moment of a call, without
//     modelling votes.
//   - A write whose request reached the log leader but got no answer by the deadline
//     returns kTimeout and may still be applied later (the outcome is unknown, as the
//     contract says). With no electable leader a call retries until its deadline and then
//     returns kUnavailable.
//   - PauseRenewals stops the renewals of every client on a node, as SIGSTOP would.
//
// Deterministic: time only from the simulator, randomness only from the network's seeded
// generator (jitter, loss); members are visited in index order.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/journal.h"
#include "sim/models/hardware.h"
#include "sim/models/sim_machine.h"

namespace granary::sim {

class SimProcess;

struct SimJournalOptions {
  // 3 or 5 members, named member_prefix + "1", "2", ... on the network.
  int members = 3;
  std::string member_prefix = "journal-";
  // The members' machines: disk.sync_latency is a member's WAL sync, nic its NIC.
  MachineProfile member_profile;
  // How long a newly elected log leader takes before it serves (etcd's election timeout).
  Duration election_delay = std::chrono::seconds(1);
  // A client gives up on an attempt whose request or reply got lost after this long, and
  // retries when that is safe (a read, or a write that never entered the log).
  Duration attempt_timeout = std::chrono::seconds(1);
  // The leadership lease; clients renew it every lease_ttl / 3.
  Duration lease_ttl = std::chrono::seconds(2);
  // How often a client polls: Campaign while held, WaitForLoss, a retry with no member in
  // reach. (Read waits for entries with a watch, not by polling.)
  Duration poll_interval = std::chrono::milliseconds(20);
  // Framing of every message besides its payload.
  uint32_t header_bytes = 64;
};

// What clients ask of the journal.
enum class JournalOp : uint8_t {
  kCampaign,
  kResign,
  kAppend,
  kTruncate,
  kLeader,
  kLastSeq,
  kRead,
  kKeepAlive,
  // A Read that, finding no entry at from_seq yet, is held at the log leader until one
  // commits and then answered with it (etcd's Watch from a revision). Held no longer than the
  // caller's attempt: then the caller gets an empty answer and asks again.
  kWatch,
  // A Resign that reserves the election for `text` during `reserve` (Journal::HandOver).
  kHandOver,
};

struct JournalRequest {
  JournalOp op = JournalOp::kLastSeq;
  uint64_t client = 0;
  FencingToken token;
  std::string text;     // the candidate's name (Campaign) or the payload (Append)
  uint64_t number = 0;  // before_seq (Truncate), from_seq (Read)
  uint32_t max_entries = 0;
  Instant deadline{};  // a Campaign applied after it does nothing
  Duration reserve{};  // HandOver: how long only `text` may win a Campaign
};

struct JournalReply {
  Status status;        // the command's own outcome: kFenced, kInvalidArgument, kNotFound ...
  uint64_t number = 0;  // seq (Append), last seq (LastSeq)
  FencingToken token;   // Campaign: the holder's token when this client won, else 0
  std::string text;     // Leader: the holder's name or ""
  std::vector<JournalEntry> entries;
};

class SimJournalService {
 public:
  // Adds the members to `hardware` (nodes with machines of options.member_profile) and
  // starts them. The service must outlive every SimJournal of it and every fiber they run
  // (declare it after the Hardware, shut the simulator down before destroying it).
  SimJournalService(Hardware& hardware, SimJournalOptions options);
  SimJournalService(const SimJournalService&) = delete;
  SimJournalService& operator=(const SimJournalService&) = delete;

  const SimJournalOptions& options() const { return options_; }
  int members() const { return static_cast<int>(members_.size()); }
  NodeId member_node(int member) const { return members_.at(member).node; }

  // ---- Fault hooks (the swarm's) ----
  // SIGKILL of member `member`: it loses what it had not synced. No-op when down.
  void CrashMember(int member);
  // Starts a crashed member again with what it had synced. No-op when up.
  void RestartMember(int member);
  bool MemberUp(int member) const;
  // Cuts member `member` off from every other member (both ways), or heals those links.
  void PartitionMember(int member, bool partitioned);
  // Cuts member `member` off from node `client` (both ways), or heals that link.
  void PartitionMemberFrom(int member, NodeId client, bool partitioned);
  // Stops (or resumes) the lease renewals of every client on the node called `node_name`,
  // as if that process were paused; its lease then expires after lease_ttl.
  void PauseRenewals(std::string_view node_name, bool paused);
  // The member leading the log now (after an election the call would hold); -1 when none
  // could. For tests and reports.
  int LogLeader();
  // Committed commands and the journal's last sequence, for tests and reports.
  uint64_t commit_index() const { return commit_; }
  uint64_t last_seq() const { return last_seq_; }
  // The log index member `member` has synced (what survives its crash).
  uint64_t MemberDurable(int member) const { return members_.at(member).durable; }

  // ---- For SimJournal ----
  // A new client's id and its renewal switch, registered under its node's name.
  struct RenewalSwitch {
    bool paused = false;
  };
  uint64_t Register(std::string_view node_name, std::shared_ptr<RenewalSwitch> renewal);
  void Unregister(uint64_t client);
  // Runs `request` from a fiber of `caller` until answered or `deadline`. Ok: the command
  // was applied (writes) or served (reads) and the reply's own status says how it went.
  // kTimeout: no answer by the deadline (a write's outcome is unknown); kUnavailable: no log
  // leader could be reached; kNodeDown: the caller crashed.
  Result<JournalReply> Call(SimProcess& caller, const JournalRequest& request, Instant deadline);

 private:
  struct Member {
    NodeId node;
    uint64_t incarnation = 0;  // of its node when last seen up
    bool seen_down = false;
    uint64_t received = 0;  // log index it holds, synced or not
    uint64_t durable = 0;   // log index it has synced
    uint64_t acked = 0;     // its durable index as the log leader knows it
    bool syncing = false;
    bool sync_again = false;
  };
  struct PendingCall;
  struct LogEntry {
    JournalRequest request;
    std::shared_ptr<PendingCall> call;  // null when its caller is gone
  };
  struct Lease {
    uint64_t client = 0;
    std::string name;
    FencingToken token;
    Instant expires{};
  };
  // A handover's reservation: until `until`, only `name` wins a campaign.
  struct Reservation {
    std::string name;
    Instant until{};
  };
  struct Client {
    std::string node_name;
    std::shared_ptr<RenewalSwitch> renewal;
  };

  static bool IsRead(JournalOp op);
  // Wakes the fiber waiting for `call`, if it still waits.
  static void Wake(PendingCall& call);
  Instant Now() const;
  bool Up(int m) const;
  bool Linked(NodeId a, NodeId b) const;
  // Applies a crash the simulator did behind the service's back (CrashNode, Shutdown).
  void Refresh(int m);
  int Majority() const { return members() / 2 + 1; }
  int Reach(int m) const;
  std::optional<int> Elect();
  void NewTerm(int leader);
  Result<JournalReply> Attempt(SimProcess& caller, const JournalRequest& request, Instant deadline,
                               Instant attempt_deadline, bool& retry_safe);
  Result<JournalReply> WaitFor(SimProcess& caller, const std::shared_ptr<PendingCall>& call,
                               Instant deadline);

  // The log leader's side, each run from a simulator event.
  void OnRequest(int leader, uint64_t term, const JournalRequest& request,
                 const std::shared_ptr<PendingCall>& call);
  void Replicate(int leader, uint64_t index, uint64_t bytes);
  void Receive(int m, uint64_t index);
  void StartSync(int m);
  void OnSynced(int m, uint64_t incarnation, uint64_t target);
  void OnAck(uint64_t term, int m, uint64_t durable);
  void AdvanceCommit();
  void StartReadIndex(int leader, uint64_t term, const JournalRequest& request,
                      const std::shared_ptr<PendingCall>& call);
  void Answer(int leader, const std::shared_ptr<PendingCall>& call, JournalReply reply);
  // Holds the watch `request` until an entry it asks for commits (AnswerWatches), its caller
  // stops waiting, or the log leader changes (then its caller retries at the new one).
  void HoldWatch(uint64_t term, const JournalRequest& request,
                 const std::shared_ptr<PendingCall>& call);
  void AnswerWatches();
  void DropWatches();

  // The state machine.
  JournalReply Apply(const JournalRequest& request);
  JournalReply Serve(const JournalRequest& request);
  void ExpireLease();
  Status Fence(FencingToken token) const;

  Simulator& sim_;
  SimNetwork& network_;
  const SimJournalOptions options_;
  std::vector<Member> members_;

  // The replicated log: commands commit_+1 .. commit_+log_.size() (committed ones leave).
  std::deque<LogEntry> log_;
  uint64_t commit_ = 0;
  uint64_t term_ = 0;
  std::optional<int> leader_;
  Instant leader_ready_at_{};

  // The applied state.
  uint64_t revision_ = 0;
  std::optional<Lease> lease_;
  std::optional<Reservation> reserved_;
  uint64_t last_seq_ = 0;
  uint64_t first_seq_ = 1;
  std::map<uint64_t, std::string> entries_;

  // Watches held at the log leader, in arrival order (answered in that order).
  struct Watch {
    uint64_t term = 0;
    JournalRequest request;
    std::shared_ptr<PendingCall> call;
  };
  std::vector<Watch> watches_;

  uint64_t next_client_ = 1;
  std::map<uint64_t, Client> clients_;
};

}  // namespace granary::sim
