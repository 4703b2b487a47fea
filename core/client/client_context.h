// ClientContext: what the parts of one client share. The FileSystem owns it; every Reader
// and Writer it makes holds a reference to it and reaches the namenode (namenode()) and the
// datanodes (transport()) through it, with the clock, fibers and randomness of env().
//
// Lifetime: built with the FileSystem and destroyed with it, so a FileSystem must outlive
// the readers and writers it made (as it always had to: they used its NamenodeClient).
#pragma once

#include <utility>

#include "core/client/client_options.h"
#include "core/client/lease_renewer.h"
#include "core/client/namenode_client.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"

namespace granary {

class ClientContext {
 public:
  ClientContext(Env& env, Transport& transport, ClientOptions options)
      : env_(env),
        transport_(transport),
        options_(std::move(options)),
        namenode_(env_, transport_, options_),
        leases_(env_, transport_, options_) {}
  ClientContext(const ClientContext&) = delete;
  ClientContext& operator=(const ClientContext&) = delete;

  Env& env() { return env_; }
  // For calls to datanodes; the namenode's go through namenode() (retries, counting).
  Transport& transport() { return transport_; }
  const ClientOptions& options() const { return options_; }
  NamenodeClient& namenode() { return namenode_; }
  // Renews the leases of the files this client's writers hold (lease_renewer.h).
  LeaseRenewer& leases() { return leases_; }

 private:
  Env& env_;
  Transport& transport_;
  const ClientOptions options_;
  // Holds a reference to options_, declared before it.
  NamenodeClient namenode_;
  LeaseRenewer leases_;
};

}  // namespace granary
