#include "core/common/fiber_group.h"

#include <cassert>
#include <mutex>
#include <utility>

namespace granary {

FiberGroup::FiberGroup(Env& env) : env_(env) {}

FiberGroup::~FiberGroup() { assert(members_ == 0); }

bool FiberGroup::Enter() {
  if (closed_) return false;
  ++members_;
  return true;
}

void FiberGroup::Leave() {
  assert(members_ > 0);
  --members_;
  if (members_ == 0) {
    std::unique_lock lock(mutex_);
    drained_.notify_all();
  }
}

void FiberGroup::Spawn(std::string_view name, std::function<void()> fn) {
  env_.Spawn(name, [weak = std::weak_ptr<int>(token_), this, fn = std::move(fn)] {
    if (weak.expired() || !Enter()) return;
    fn();
    Leave();
  });
}

RpcHandler FiberGroup::Wrap(RpcHandler handler) {
  return [weak = std::weak_ptr<int>(token_), this, handler = std::move(handler)](
             const RpcContext& context, RpcRequest& request) -> Result<RpcReply> {
    if (weak.expired() || !Enter()) {
      return Status(StatusCode::kUnavailable, "not serving (stopping)");
    }
    Result<RpcReply> reply = handler(context, request);
    Leave();
    return reply;
  };
}

void FiberGroup::Drain() {
  assert(closed_);
  std::unique_lock lock(mutex_);
  drained_.wait(lock, [this] { return members_ == 0; });
}

}  // namespace granary
