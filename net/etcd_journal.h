// EtcdJournal: the Journal seam (core/seams/journal.h) over an etcd 3.4 cluster.
//
// Layout under `prefix` (one journal per prefix; several Granary clusters may share an etcd):
//   <prefix>leader      the leader key: value = the candidate's name, attached to its lease.
//                       Its create_revision is the FencingToken.
//   <prefix>last        the last sequence number appended, 20 decimal digits.
//   <prefix>e/<seq>     entry <seq> (20 decimal digits, so key order is sequence order): a
//                       16-byte tag of its writer and append, then the payload.
//
// Leadership: Campaign grants a lease of `lease_ttl` and creates the leader key only if absent
// (a Txn comparing its create_revision to 0). The winner's creation revision is its token:
// etcd revisions only grow, so a later leader's token is always greater. A fiber renews the
// lease every lease_ttl/3 while the leader lives; when the lease expires (the process paused,
// cut off, or dead) etcd deletes the leader key and another candidate's Txn succeeds.
//
// Appends: ONE transaction compares the leader key's create_revision to the token and <prefix>
// last to the sequence the writer expects, and only then puts the entry and the new last. A
// deposed leader's append therefore fails atomically and changes nothing (kFenced); two
// appends can never take the same number (the loser re-reads last and tries again). Each
// entry costs one etcd revision and one raft round trip; callers batch (group commit).
//
// Truncate(seq) deletes the entries before seq in one fenced transaction and then compacts
// etcd's history up to that transaction's revision, so the deleted values leave the MVCC store.
// Compaction frees pages inside each member's bbolt file but does not shrink it; Defragment
// gives them back to the file system. Defragmentation blocks the member it runs on, so it is
// meant to run from the active namenode after a checkpoint's Truncate, one member at a time,
// only on members whose file is mostly free (DefragmentMembers), and never when a member is
// down (then the two members left would be a majority that stalls while one defragments).
//
// Read waits for entries not yet there with etcd's Watch: it reads the entries and the last
// sequence at one revision r, and when nothing new is there it watches the entry keys from
// revision r + 1, so the first append after its read wakes it at once (one event from a
// member, no poll). The watch is only a wake-up: the entries themselves always come from a
// range read, so order, no gaps and no duplicates hold exactly as for a plain read, and
// truncation is told apart as before (kNotFound: the follower needs a checkpoint). A watch
// whose start revision was compacted away ends at once and the range read decides; one whose
// member dies is reopened on another member from the same revision (EtcdClient::WatchNext).
// A watch lasts at most `follow_poll_interval` (then the read is repeated: the safety net,
// should a watch miss an event) and holds one thread of the blocking pool while it waits.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/journal.h"
#include "net/etcd_client.h"
#include "net/real_env.h"

namespace granary::net {

struct EtcdJournalOptions {
  // Every member's client endpoint, "IPv4:port".
  std::vector<std::string> endpoints;
  // Keys of this journal start with it; ends with '/'.
  std::string prefix = "/granary/journal/";
  // The leader's lease; etcd counts it in whole seconds (at least 1, and at least 1.5 times
  // etcd's election timeout, which etcd enforces by extending shorter ones).
  Duration lease_ttl = std::chrono::seconds(5);
  // How often WaitForLoss checks locally, and the pause after a failed watch.
  Duration poll_interval = std::chrono::milliseconds(20);
  // The safety net of Read's watch: after this long without an event the read is repeated.
  // Entries arrive through the watch; this only bounds how long a lost event could delay
  // one.
  Duration follow_poll_interval = std::chrono::seconds(1);
};

class EtcdJournal final : public Journal {
 public:
  // Connects lazily: the members need not be up yet (calls fail with kUnavailable or
  // kTimeout until they are). kInvalidArgument for bad options.
  static Result<std::unique_ptr<EtcdJournal>> Open(RealEnv& env, EtcdJournalOptions options);
  // Stops renewing (the lease then expires unless resigned before).
  ~EtcdJournal() override;

  Result<FencingToken> Campaign(std::string_view candidate, Instant deadline) override;
  Status WaitForLoss(FencingToken token, Instant deadline) override;
  Status Resign(Instant deadline) override;
  Status HandOver(std::string_view successor, Duration reserve, Instant deadline) override;
  Result<std::string> Leader(Instant deadline) override;
  Result<uint64_t> Append(FencingToken token, std::string_view payload, Instant deadline) override;
  Result<std::vector<JournalEntry>> Read(uint64_t from_seq, uint32_t max_entries,
                                         Instant deadline) override;
  Result<uint64_t> LastSeq(Instant deadline) override;
  Status Truncate(FencingToken token, uint64_t before_seq, Instant deadline) override;

  // Defragments, one after the other, every member whose file has more than
  // `free_fraction_min` of its size free after compaction. Requires every member up: a
  // member that does not answer its status makes this return its error before any
  // defragmentation starts.
  Status DefragmentMembers(double free_fraction_min, Instant deadline);

  // Stops renewing the lease while keeping everything else working, as if this process were
  // paused (SIGSTOP): the lease then expires after lease_ttl. A fault for tests.
  void StopRenewing();

  // Shared with the renewal fiber, which may outlive a call but not the process.
  struct Leadership;

 private:
  EtcdJournal(RealEnv& env, EtcdJournalOptions options, std::shared_ptr<EtcdClient> client);

  Result<FencingToken> TryCreateLeaderKey(std::string_view candidate, int64_t lease_id,
                                          Instant deadline);
  Status CheckLeaderKey(FencingToken token, Instant deadline);
  void StartRenewing(FencingToken token, int64_t lease_id, Instant granted_at);
  // kFenced when the failure branch of a fenced Txn shows `token` is no longer the leader's.
  Status FencedUnlessLeader(const etcdserverpb::TxnResponse& failed, FencingToken token);

  std::string LeaderKey() const { return options_.prefix + "leader"; }
  // A handover's reservation: the successor's name, under a lease of the reservation's length.
  std::string ReservedKey() const { return options_.prefix + "reserved"; }
  std::string LastKey() const { return options_.prefix + "last"; }
  std::string EntryKey(uint64_t seq) const;

  RealEnv& env_;
  const EtcdJournalOptions options_;
  std::shared_ptr<EtcdClient> client_;
  std::shared_ptr<Leadership> leadership_;
  // The last sequence this client saw; appends start from it and correct it on a mismatch.
  uint64_t known_last_seq_ = 0;
  // Appends in flight, and the last number one of them was sent to take.
  uint32_t appends_in_flight_ = 0;
  uint64_t reserved_last_seq_ = 0;
  // Tags of this client's entries (etcd_journal.cc, EntryTag): a random id and a serial.
  const uint64_t writer_id_;
  uint64_t next_serial_ = 0;
};

}  // namespace granary::net
