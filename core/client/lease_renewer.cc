#include "core/client/lease_renewer.h"

#include <utility>

#include "core/rpc/methods.h"
#include "proto/namenode.pb.h"

namespace granary {

struct LeaseRenewer::Shared {
  Shared(Transport& transport, const ClientOptions& options)
      : locator(transport, options.namenode),
        interval(options.lease_renew_interval),
        rpc_timeout(options.rpc_timeout) {
    *request.mutable_user() = options.user;
    request.set_client_name(options.client_name);
  }
  NamenodeLocator locator;
  const Duration interval;
  const Duration rpc_timeout;
  proto::RenewLeaseRequest request;
  uint32_t holders = 0;
  bool running = false;  // a fiber is renewing (or sleeping before it looks again)
  bool gone = false;     // the client is gone: the fiber ends when it wakes
  uint64_t renewals = 0;
};

LeaseRenewer::Hold::Hold(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {
  ++shared_->holders;
}

LeaseRenewer::Hold::~Hold() {
  if (shared_) --shared_->holders;  // moved-from holds have none
}

LeaseRenewer::LeaseRenewer(Env& env, Transport& transport, const ClientOptions& options)
    : env_(env), shared_(std::make_shared<Shared>(transport, options)) {}

LeaseRenewer::~LeaseRenewer() { shared_->gone = true; }

LeaseRenewer::Hold LeaseRenewer::Take() {
  Hold hold(shared_);
  if (!shared_->running && shared_->interval > Duration::zero()) {
    shared_->running = true;
    env_.Spawn("lease-renewer", [&env = env_, shared = shared_] { Run(env, shared); });
  }
  return hold;
}

uint64_t LeaseRenewer::renewals() const { return shared_->renewals; }
uint32_t LeaseRenewer::holders() const { return shared_->holders; }

void LeaseRenewer::Run(Env& env, std::shared_ptr<Shared> shared) {
  // Ends when the process stops (the sleep fails), the client is gone, or no writer holds a
  // lease; the next Take starts another.
  while (env.SleepFor(shared->interval).ok() && !shared->gone && shared->holders > 0) {
    proto::RenewLeaseReply reply;
    const Status status = shared->locator.Call(rpc::nn::kRenewLease, shared->request,
                                               env.Now() + shared->rpc_timeout, &reply);
    if (status.ok()) ++shared->renewals;
  }
  shared->running = false;
}

}  // namespace granary
