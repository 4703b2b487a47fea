// FiberGroup: the fibers of one component, so that it can stop and wait for all of them
// before it is destroyed.
//
// A component (the Datanode) spawns its background fibers through the group and wraps its
// RPC handler with it. Close() stops admitting new members; Drain() waits (untimed) until
// every member has left. After a crash every seam wait returns kNodeDown, so members unwind
// by themselves; a member blocked on a fiber condition variable must be woken by its owner
// before Drain.
//
// Fibers started by Spawn, or handler calls, that begin after Close or after the group is
// destroyed do nothing (a weak token guards against the destroyed case); their function is
// destroyed unrun.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "core/seams/env.h"
#include "core/seams/transport.h"

namespace granary {

class FiberGroup {
 public:
  explicit FiberGroup(Env& env);
  // Requires no member (Drain has returned, or nothing was ever admitted).
  ~FiberGroup();
  FiberGroup(const FiberGroup&) = delete;
  FiberGroup& operator=(const FiberGroup&) = delete;

  // Runs `fn` on a new fiber of the Env as a member of the group, unless the group is closed
  // (or gone) by the time the fiber starts.
  void Spawn(std::string_view name, std::function<void()> fn);
  // A handler that runs `handler` as a member, or answers kUnavailable once closed.
  RpcHandler Wrap(RpcHandler handler);

  void Close() { closed_ = true; }
  bool closed() const { return closed_; }
  // Waits until no member is left. Requires Close() first.
  void Drain();
  uint64_t members() const { return members_; }

 private:
  // Admits the calling fiber; false when closed.
  bool Enter();
  void Leave();

  Env& env_;
  std::shared_ptr<int> token_ = std::make_shared<int>(0);
  bool closed_ = false;
  uint64_t members_ = 0;
  boost::fibers::mutex mutex_;
  boost::fibers::condition_variable drained_;
};

}  // namespace granary
