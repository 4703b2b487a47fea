#include "sim/kernel/sim_scheduling.h"

#include <boost/fiber/operations.hpp>
#include <cassert>
#include <cstdio>
#include <cstdlib>

namespace granary::sim {
namespace {

thread_local SimScheduling* this_thread_algorithm = nullptr;

bool IsWorker(boost::fibers::context* ctx) {
  return ctx->is_context(boost::fibers::type::worker_context);
}

}  // namespace

SimScheduling::SimScheduling() {
  assert(this_thread_algorithm == nullptr);
  this_thread_algorithm = this;
}

SimScheduling::~SimScheduling() { this_thread_algorithm = nullptr; }

void SimScheduling::awakened(boost::fibers::context* ctx) noexcept {
  assert(ctx != nullptr);
  assert(!ctx->ready_is_linked());
  ctx->ready_link(ready_queue_);
  if (IsWorker(ctx)) ++ready_workers_;
}

boost::fibers::context* SimScheduling::pick_next() noexcept {
  if (ready_queue_.empty()) return nullptr;
  boost::fibers::context* ctx = &ready_queue_.front();
  ready_queue_.pop_front();
  if (IsWorker(ctx)) {
    assert(ready_workers_ > 0);
    --ready_workers_;
  }
  return ctx;
}

bool SimScheduling::has_ready_fibers() const noexcept { return !ready_queue_.empty(); }

void SimScheduling::suspend_until(
    std::chrono::steady_clock::time_point const&) noexcept {  // tidy: allow (signature)
  std::fprintf(stderr,
               "granary-sim: every fiber is blocked, the event loop included; a simulated wait "
               "used a Boost timed wait or the loop itself blocked\n");
  std::abort();
}

void SimScheduling::notify() noexcept {
  // Single-threaded: no other thread ever wakes this scheduler.
}

SimScheduling& SimScheduling::ForThisThread() {
  if (this_thread_algorithm == nullptr) {
    boost::fibers::use_scheduling_algorithm<SimScheduling>();
  }
  assert(this_thread_algorithm != nullptr);
  return *this_thread_algorithm;
}

}  // namespace granary::sim
