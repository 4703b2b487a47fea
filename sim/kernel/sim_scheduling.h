// The Boost.Fiber scheduling algorithm of the simulator: one FIFO ready queue, no clock.
//
// The simulator's event loop runs on the thread's main fiber. It yields while any worker
// fiber is ready (ReadyWorkers() > 0), so every ready fiber runs, in FIFO order, before the
// next event fires. suspend_until() is reached only when no fiber at all is ready, main
// included: since the event loop never blocks, that means a fiber waits on something no
// event will ever deliver, and the program stops with that diagnosis.
//
// Boost's own timed waits (this_fiber::sleep_*, wait_for, channel timeouts) read
// Boost's clock and must not be used in simulated code: sleeps and deadlines are events.
#pragma once

#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/scheduler.hpp>
#include <chrono>
#include <cstddef>

namespace granary::sim {

class SimScheduling final : public boost::fibers::algo::algorithm {
 public:
  SimScheduling();
  ~SimScheduling() override;

  void awakened(boost::fibers::context* ctx) noexcept override;
  boost::fibers::context* pick_next() noexcept override;
  bool has_ready_fibers() const noexcept override;
  // clang-format off
  void suspend_until(std::chrono::steady_clock::time_point const& until) noexcept override;  // tidy: allow (Boost's signature; never reads it)
  // clang-format on
  void notify() noexcept override;

  // Ready worker fibers, not counting the main and dispatcher contexts.
  size_t ReadyWorkers() const { return ready_workers_; }

  // The algorithm installed on this thread; installs it on first use. A thread that already
  // runs another algorithm cannot host a simulator (asserted).
  static SimScheduling& ForThisThread();

 private:
  boost::fibers::scheduler::ready_queue_type ready_queue_;
  size_t ready_workers_ = 0;
};

}  // namespace granary::sim
