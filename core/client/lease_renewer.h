// LeaseRenewer: keeps a client's leases alive while it holds files open for writing, as
// HDFS's LeaseRenewer does. A writer renews its lease as it writes; one idle between writes
// for longer than the namenode's hard limit (a log written once per epoch of a long training
// run, a Python file object left open) would otherwise have its file closed by lease recovery
// and its next write refused. One fiber per client, started when the first writer takes a
// lease (Take) and ending once none holds one, sends nn.RenewLease (one call renews all the
// client's files) every `lease_renew_interval`. A client that dies stops renewing, so lease
// recovery still closes a dead writer's files after the hard limit.
//
// Lifetime: the fiber holds only the shared state (with a namenode locator of its own), the
// Env and the Transport, which outlive the client; the renewer never waits for it. A renewal
// is one try (the next comes an interval later): the hard limit leaves several.
#pragma once

#include <cstdint>
#include <memory>

#include "core/client/client_options.h"
#include "core/rpc/namenode_locator.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"

namespace granary {

class LeaseRenewer {
 private:
  struct Shared;

 public:
  // Held by a writer from the moment it holds a lease until it closes, fails or goes away.
  class Hold {
   public:
    explicit Hold(std::shared_ptr<Shared> shared);
    ~Hold();
    Hold(Hold&& other) noexcept = default;
    Hold& operator=(Hold&& other) noexcept = default;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;

   private:
    std::shared_ptr<Shared> shared_;
  };

  LeaseRenewer(Env& env, Transport& transport, const ClientOptions& options);
  ~LeaseRenewer();
  LeaseRenewer(const LeaseRenewer&) = delete;
  LeaseRenewer& operator=(const LeaseRenewer&) = delete;

  // A writer took a lease: renewals run while any Hold lives.
  Hold Take();
  // nn.RenewLease calls answered so far (tests).
  uint64_t renewals() const;
  uint32_t holders() const;

 private:
  static void Run(Env& env, std::shared_ptr<Shared> shared);

  Env& env_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace granary
