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
#pragma once

#include <google/protobuf/message.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/rpc/methods.h"
#include "core/seams/transport.h"

namespace granary {

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

  // Learns from `status`, the answer of `called` (see the header comment). Returns true when
  // it was a redirect the caller may follow at once.
  bool Observe(const Address& called, const Status& status);

  // Calls `method` on the current namenode, following redirects. Returns the answer, or the
  // status that rotated (Rotated(status): back off and call again). `sent`, when given, is
  // increased by each request sent; `called` receives every namenode called, in order.
  Status CallByName(std::string_view method, const google::protobuf::Message& request,
                    const std::string& request_payload, Instant deadline,
                    google::protobuf::Message* reply, std::string* reply_payload = nullptr,
                    std::vector<Address>* called = nullptr);

  template <typename Request, typename Reply>
  Status Call(const rpc::Method<Request, Reply>& method,
              const std::type_identity_t<Request>& request, Instant deadline,
              std::type_identity_t<Reply>* reply) {
    return CallByName(method.name, request, std::string(), deadline, reply);
  }

 private:
  void Rotate();

  Transport& transport_;
  Status status_;
  std::vector<Address> namenodes_;
  Address current_;
  // Position in namenodes_ of the current namenode, or of the last one before a redirect
  // left the list: rotation continues from there.
  size_t index_ = 0;
};

}  // namespace granary
