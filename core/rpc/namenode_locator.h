// NamenodeLocator: which namenode of a list to call, and where to go after its answer (issue
// 13, namenode HA). The client's NamenodeClient and the Datanode both call the namenode
// through one, so the list and redirect rules are written once.
//
// A namenode address may name a list, "a,b,c": one Address, so flags (--namenode a,b,c),
// environment variables, Python and fsspec URLs carry it unchanged. It is split once, at
// construction; an empty item, a list of more than kNamenodeListMax, or an address longer
// than kNamenodeAddressBytesMax makes status() kInvalidArgument, naming the fault, and every
// Call answers that status.
//
// The locator keeps a current namenode, sticky across calls: the list's first at the start.
// After the current namenode answered a call:
//   - kNotActive whose message is an address (a standby naming the active): that address
//     becomes current and the call is sent there at once, no backoff (a redirect; the address
//     need not be in the list). At most kNamenodeRedirectsMax redirects per Call, so two
//     standbys naming each other during an election cannot loop; past them, as below.
//   - kNotActive with an empty message (the standby does not know the active) or a message
//     that is not an address, kTimeout, kUnavailable: the list's next namenode becomes
//     current (rotation) and Call returns the status: the caller backs off before calling
//     again (Rotated() tells it apart from an answer).
//   - any other status is the answer; the current namenode stays.
// With one namenode rotation stays on it. Fibers may share a locator: a failure moves the
// current namenode only if it is still the one that failed, so two calls failing on the same
// namenode at once move one step, not two.
//
// Consistent reads (issue 14). Every call carries the highest journal sequence the locator
// has seen in a reply (seen_seq(), the state id; RaiseSeq adds one learnt elsewhere, from
// nn.Msync), and every reply raises it. A namenode answers a read only once it has applied
// that sequence, so the caller reads its own writes and never goes back in time, whichever
// namenode answers. With SpreadReads, reads (IsRead: stat, list, open, open-many) go to a
// namenode the policy picks; writes and everything else to the current one (the active). A
// read that the picked namenode does not answer (a redirect, a timeout within
// kSpreadReadTimeout, unreachable) is sent to the current namenode at once, and the picked
// one is left out of reads for kSpreadReadAvoid (also after a refusal for being behind: each
// costs the client up to kStandbyReadWaitMax; limits.h has the measurement).
#pragma once

#include <google/protobuf/message.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/common/limits.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"

namespace granary {

// Where a client sends its reads (writes always go to the active).
enum class ReadPolicy {
  kActive,       // the active only (a single namenode's behaviour)
  kRandom,       // any namenode, uniformly
  kLeastLoaded,  // the less loaded of two picked at random: fewer calls in flight, then
                 // the lower recent reply latency this client saw
  kNearest,      // a namenode on the client's host, else any
  kObserver,     // as least-loaded, over the namenodes other than the active only (the active
                 // when none answers): HDFS's ObserverReadProxyProvider, which sends reads to
                 // observers and keeps the active for writes; experiment 6's HDFS baseline
};
// "active", "random", "least-loaded", "nearest", "observer"; nullopt for anything else.
std::optional<ReadPolicy> ParseReadPolicy(std::string_view name);
std::string_view ReadPolicyName(ReadPolicy policy);

class NamenodeLocator {
 public:
  // Splits "a,b,c" at the commas: the addresses in order, or kInvalidArgument naming the
  // fault (an empty item, too many, one too long).
  static Result<std::vector<Address>> Parse(const Address& list);
  // True for the statuses after which the caller should call again (backing off): the
  // current namenode may not have run the request, or is not the active one.
  static bool Rotated(const Status& status);

  NamenodeLocator(Transport& transport, const Address& list);

  // kInvalidArgument when the list does not parse; then Call answers it.
  const Status& status() const { return status_; }
  const std::vector<Address>& namenodes() const { return namenodes_; }
  // The namenode the next call goes to (empty when status() is not ok).
  const Address& current() const { return current_; }

  // Sends reads to the namenode `policy` picks (see above); `client_host` is the caller's
  // host for kNearest. Without it, or with one namenode, every call goes to current().
  void SpreadReads(Env& env, ReadPolicy policy, std::string client_host);
  // The methods that may go to any namenode.
  static bool IsRead(std::string_view method);
  // Reads sent without the sequence (0): a namenode answers them from whatever it applied,
  // so a client may miss its own writes or go back in time. For measuring what the wait
  // costs (experiments/consistency), as HDFS observer reads without the state id; never on
  // by default.
  void set_stale_reads(bool stale) { stale_reads_ = stale; }
  // The highest journal sequence seen (sent with every call); RaiseSeq raises it.
  uint64_t seen_seq() const { return seen_seq_; }
  void RaiseSeq(uint64_t seq) { seen_seq_ = std::max(seen_seq_, seq); }
  // Reads answered by each namenode (in list order; a namenode outside the list is not
  // counted), for tests and reports.
  std::vector<uint64_t> reads_answered() const;

  // Learns from `status`, the answer of `called` (see the header comment). Returns true when
  // it was a redirect the caller may follow at once.
  bool Observe(const Address& called, const Status& status);

  // Calls `method` on the current namenode, following redirects. Returns the answer, or the
  // status that rotated (Rotated(status): back off and call again). `sent`, when given, is
  // increased by each request sent; `called` receives every namenode called, in order.
  // `key` goes with every request sent (the same on each redirect: it is one call).
  Status CallByName(std::string_view method, const google::protobuf::Message& request,
                    const std::string& request_payload, Instant deadline,
                    google::protobuf::Message* reply, std::string* reply_payload = nullptr,
                    std::vector<Address>* called = nullptr, rpc::CallKey key = {});

  template <typename Request, typename Reply>
  Status Call(const rpc::Method<Request, Reply>& method,
              const std::type_identity_t<Request>& request, Instant deadline,
              std::type_identity_t<Reply>* reply) {
    return CallByName(method.name, request, std::string(), deadline, reply);
  }

 private:
  // What this client saw of one namenode of the list.
  struct Seen {
    uint32_t in_flight = 0;
    Duration latency{};  // moving average of reads' reply latency, from its first sample
    Instant sampled_at{};  // when `latency` last took a reply in; none yet: no estimate
    bool sampled = false;
    // An estimate to judge by at `now`: sampled within kReadLatencyMemory.
    bool Fresh(Instant now) const { return sampled && now - sampled_at < kReadLatencyMemory; }
    Instant avoid_until{};
    uint64_t reads = 0;
  };
  void Rotate();
  // The namenode of the list a read goes to under the policy (index), or nullopt: current().
  std::optional<size_t> PickReader();
  // One call to `to`, raising seen_seq_ from its reply and counting it for `to`.
  Status CallOne(const Address& to, std::string_view method,
                 const google::protobuf::Message& request, const std::string& request_payload,
                 Instant deadline, google::protobuf::Message* reply, std::string* reply_payload,
                 rpc::CallKey key = {});
  // Makes `active` (named by a redirect) the current namenode.
  void Follow(const Address& active);
  // A read at the picked namenode `index`; nullopt when it did not answer (then current()).
  std::optional<Status> TryRead(size_t index, std::string_view method,
                                const google::protobuf::Message& request,
                                const std::string& request_payload, Instant deadline,
                                google::protobuf::Message* reply, std::string* reply_payload,
                                std::vector<Address>* called);

  Transport& transport_;
  Status status_;
  std::vector<Address> namenodes_;
  Address current_;
  // Position in namenodes_ of the current namenode, or of the last one before a redirect
  // left the list: rotation continues from there.
  size_t index_ = 0;
  uint64_t seen_seq_ = 0;
  bool stale_reads_ = false;
  Env* env_ = nullptr;  // set by SpreadReads
  ReadPolicy policy_ = ReadPolicy::kActive;
  std::string client_host_;
  std::vector<Seen> seen_;
};

}  // namespace granary
