// Journal: the namenodes' shared, fenced log of namespace mutations (issue 13).
//
// One active namenode appends; standbys read and follow. Leadership and the log live in the
// same replicated service, so that "am I still the leader?" and "write this entry" are decided
// together: every append carries the fencing token its writer got from Campaign, and the
// journal refuses it atomically once a newer leader exists or the writer's lease has lapsed.
// This is how HDFS's quorum journal fences with epochs, and the reason a deposed namenode
// (paused past its lease, partitioned, or simply slow) can never add an entry after its
// successor began.
//
// Contract:
//   - Order. Entries have dense sequence numbers 1, 2, 3, ... in append order, with no gaps:
//     Append assigns last_seq + 1 and fails rather than skip a number. Followers therefore
//     know they have everything up to N when they have read N. (Truncate drops a prefix; it
//     never opens a gap inside what is kept.)
//   - Durability. When Append returns a sequence number, the entry is stored on a majority of
//     the journal's members and survives the crash of any minority of them; every later
//     Read from any client sees it. An Append that fails with kTimeout or kUnavailable may or
//     may not have been stored (the reply was lost): the writer learns which by reading
//     LastSeq/Read before it acknowledges anything that depended on the entry.
//   - Fencing. Campaign returns a FencingToken that is greater than every token returned
//     before by this journal. An Append or Truncate under a token that is no longer the
//     current leader's (another candidate won, the holder resigned, or its lease expired
//     while it was paused or cut off) returns kFenced and changes nothing. kFenced is
//     final for that token: the caller steps down (stops serving writes) and may campaign
//     again.
//   - Leadership is held through a lease the implementation renews while the process lives.
//     WaitForLoss tells the holder when it lapsed; the holder must also stop acting as leader
//     on its own once `lease_ttl` has passed without a renewal it knows of, since it may not
//     hear the journal at all when partitioned.
//   - Limits. An entry is 1..kJournalEntryBytesMax bytes (larger or empty: kInvalidArgument,
//     nothing written); a candidate name is 1..kJournalCandidateBytesMax bytes; Read returns
//     at most kJournalReadEntriesMax entries.
//   - Errors. kTimeout: the deadline passed (no majority of the members answered in time, or
//     none could be reached); kUnavailable: the journal gave up before the deadline for want
//     of reachable members. Callers treat both alike: the outcome of an Append is unknown.
//     kNotFound from Read: the entries asked for were truncated. kNodeDown: this process is
//     stopping.
//   - Threads and fibers. All calls are made from fibers of the owning process's Env and
//     suspend only the calling fiber. Concurrent calls are allowed; concurrent Appends under
//     one token get distinct consecutive numbers in an unspecified order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/ids.h"
#include "core/common/status.h"
#include "core/common/time.h"

namespace granary {

// Proof of leadership from Campaign. Tokens only grow; 0 is never a valid token.
using FencingToken = StrongId<struct FencingTokenTag>;

struct JournalEntry {
  uint64_t seq = 0;
  std::string payload;
  bool operator==(const JournalEntry&) const = default;
};

class Journal {
 public:
  virtual ~Journal() = default;

  // Waits until this client holds leadership under the name `candidate` and returns its
  // token, or kTimeout when `deadline` passes while another holder keeps it (nothing of this
  // attempt is left behind then). Campaigning again while leader returns the current token.
  virtual Result<FencingToken> Campaign(std::string_view candidate, Instant deadline) = 0;

  // Returns kFenced once the leadership of `token` is lost (resigned, lease expired, another
  // leader), also when this client never held it; kTimeout when `deadline` passes while it
  // is still held; kNodeDown when the process stops.
  virtual Status WaitForLoss(FencingToken token, Instant deadline) = 0;

  // The candidate name of the current leader, "" when nobody holds leadership. What a standby
  // tells a client that asked it for a write (the active's address is its candidate name).
  // Only a hint: leadership may change the moment after.
  virtual Result<std::string> Leader(Instant deadline) = 0;

  // Gives leadership up at once (a successor need not wait for the lease to expire). Ok
  // when this client holds nothing. After it, Appends under the old token return kFenced.
  virtual Status Resign(Instant deadline) = 0;

  // Resigns as Resign does and reserves the election for `successor` for `reserve` after it:
  // meanwhile a Campaign under any other name does not win (a handover that the named
  // standby, not whichever standby campaigns first, takes over). Does nothing when this
  // client holds nothing.
  virtual Status HandOver(std::string_view successor, Duration reserve, Instant deadline) = 0;

  // Appends one entry (opaque bytes: a batch of namespace mutations) under `token` and
  // returns its sequence number once durable. kFenced: `token` is not the leader's; nothing
  // was written.
  virtual Result<uint64_t> Append(FencingToken token, std::string_view payload,
                                  Instant deadline) = 0;

  // Entries with sequence >= `from_seq` (>= 1) in order, at most `max_entries`
  // (1..kJournalReadEntriesMax). When none exists yet, waits for the first until `deadline`
  // and then returns an empty vector (a bounded wait: followers call it in a loop).
  // kNotFound when `from_seq` was truncated away (the follower needs a checkpoint).
  virtual Result<std::vector<JournalEntry>> Read(uint64_t from_seq, uint32_t max_entries,
                                                 Instant deadline) = 0;

  // The sequence number of the last entry appended (0 when none ever was). Not lowered by
  // Truncate.
  virtual Result<uint64_t> LastSeq(Instant deadline) = 0;

  // Drops every entry with sequence < `before_seq` (a checkpoint holds their effect) and lets
  // the service reclaim their space. Leader only: kFenced as for Append. Entries >=
  // `before_seq` are untouched; `before_seq` past LastSeq() + 1 is kInvalidArgument.
  virtual Status Truncate(FencingToken token, uint64_t before_seq, Instant deadline) = 0;
};

}  // namespace granary
