#include "net/real_env.h"

#include <boost/fiber/fiber.hpp>
#include <boost/fiber/future.hpp>
#include <boost/fiber/operations.hpp>
#include <cassert>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <mutex>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace granary::net {
namespace {

constexpr Duration kDrainReportInterval = std::chrono::seconds(5);

// glibc serves allocations of 128 KiB and more with mmap, or gives the top of the heap back
// once 2x that is free; a process moving MiB-sized payloads (block reads and writes) then
// pays page faults and zeroed pages on every message: a fifth of a reader's CPU in a profile.
// Payloads up to kPayloadBytesMax come from the heap instead, and freed memory up to
// kKeptFreeBytes stays with the process.
constexpr int kMmapThresholdBytes = 32 * 1024 * 1024;
constexpr int kKeptFreeBytes = 64 * 1024 * 1024;
static_assert(kPayloadBytesMax <= kMmapThresholdBytes);

void TuneAllocatorOnce() {
#if defined(__GLIBC__)
  static std::once_flag once;
  std::call_once(once, [] {
    mallopt(M_MMAP_THRESHOLD, kMmapThresholdBytes);
    mallopt(M_TRIM_THRESHOLD, kKeptFreeBytes);
  });
#endif
}

Status Down(std::string_view node) {
  return Status(StatusCode::kNodeDown, std::string(node) + " is stopping");
}

}  // namespace

void Waiter::Complete(Status status) {
  if (done_) return;
  done_ = true;
  status_ = std::move(status);
  // A waiter whose deadline fired is on the ready queue already: scheduling it twice would
  // corrupt the queue, and it will find done_ set when it runs.
  if (context_ != nullptr && !context_->ready_is_linked()) {
    boost::fibers::context::active()->schedule(context_);
  }
}

RealEnv::RealEnv(RealEnvOptions options)
    : options_(std::move(options)),
      scheduling_(RealScheduling::ForThisThread()),
      random_(options_.seed) {
  TuneAllocatorOnce();
  assert(options_.stack_bytes >= 16 * 1024);
  if (options_.stacks == FiberStacks::kGuarded) {
    guarded_stacks_.emplace(options_.stack_bytes);
  } else {
    pooled_stacks_.emplace(options_.stack_bytes);
  }
  waiters_.prev_ = &waiters_;
  waiters_.next_ = &waiters_;
  scheduling_.set_on_notified([this] {
    if (stop_requested_.load() && !stopping_) Stop();
  });
}

RealEnv::~RealEnv() {
  assert(live_fibers_ == 0);
  assert(waiters_.next_ == &waiters_);
  scheduling_.set_on_notified(nullptr);
  {
    std::lock_guard<std::mutex> lock(blocking_mutex_);
    blocking_closing_ = true;
  }
  blocking_ready_.notify_all();
  for (std::thread& thread : blocking_threads_) thread.join();
}

std::chrono::steady_clock::time_point RealEnv::ToSteady(Instant instant) {
  if (instant == kInstantMax) return std::chrono::steady_clock::time_point::max();
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(instant.time_since_epoch()));
}

Instant RealEnv::Now() {
  return Instant(
      std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now().time_since_epoch()));
}

int64_t RealEnv::CalendarNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Status RealEnv::SleepFor(Duration duration) {
  if (duration <= Duration(0)) return SleepUntil(Now());
  return SleepUntil(Now() + duration);
}

Status RealEnv::SleepUntil(Instant deadline) {
  if (stopping_) return Down(options_.node_name);
  if (deadline <= Now()) {
    boost::this_fiber::yield();
    return stopping_ ? Down(options_.node_name) : Status::Ok();
  }
  Waiter waiter;  // nobody completes it: only the deadline or Stop ends the wait
  const Status waited = Wait(waiter, deadline);
  if (waited.code() == StatusCode::kTimeout) return Status::Ok();
  return waited;
}

Status RealEnv::Wait(Waiter& waiter, Instant deadline) {
  if (stopping_) return Down(options_.node_name);
  waiter.prev_ = waiters_.prev_;
  waiter.next_ = &waiters_;
  waiters_.prev_->next_ = &waiter;
  waiters_.prev_ = &waiter;
  boost::fibers::context* self = boost::fibers::context::active();
  const auto until = ToSteady(deadline);
  const bool timed = deadline != kInstantMax;
  while (!waiter.done_) {
    if (timed && std::chrono::steady_clock::now() >= until) break;
    waiter.context_ = self;
    if (timed) {
      self->wait_until(until);
    } else {
      self->suspend();
    }
    waiter.context_ = nullptr;
  }
  Unlink(waiter);
  if (!waiter.done_) return Status(StatusCode::kTimeout, "deadline passed");
  return waiter.status_;
}

void RealEnv::Unlink(Waiter& waiter) {
  waiter.prev_->next_ = waiter.next_;
  waiter.next_->prev_ = waiter.prev_;
  waiter.prev_ = waiter.next_ = nullptr;
}

void RealEnv::Spawn(std::string_view name, std::function<void()> fn) {
  if (stopping_) return;
  ++live_fibers_;
  const uint64_t serial = ++next_fiber_serial_;
  live_fiber_names_.emplace(serial, std::string(name));
  auto body = [this, serial, fn = std::move(fn)]() mutable {
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "granary %s: exception escaped fiber '%s': %s\n",
                   options_.node_name.c_str(), live_fiber_names_[serial].c_str(), e.what());
      std::abort();
    } catch (...) {
      std::fprintf(stderr, "granary %s: unknown exception escaped fiber '%s'\n",
                   options_.node_name.c_str(), live_fiber_names_[serial].c_str());
      std::abort();
    }
    // Release the captures now, not when Boost releases the finished fiber.
    fn = nullptr;
    live_fiber_names_.erase(serial);
    assert(live_fibers_ > 0);
    if (--live_fibers_ == 0 && drained_ != nullptr) drained_->Complete(Status::Ok());
  };
  if (guarded_stacks_) {
    boost::fibers::fiber(std::allocator_arg, *guarded_stacks_, std::move(body)).detach();
  } else {
    boost::fibers::fiber(std::allocator_arg, *pooled_stacks_, std::move(body)).detach();
  }
}

Status RealEnv::ChargeCpu(Duration) { return stopping_ ? Down(options_.node_name) : Status::Ok(); }

Status RealEnv::RunMain(std::function<Status()> main) {
  assert(!ran_main_);
  assert(boost::fibers::context::active()->is_context(boost::fibers::type::main_context));
  ran_main_ = true;
  Status result = Down(options_.node_name);
  // The main context's own waits are not linked into waiters_: Stop does not end them.
  boost::fibers::context* self = boost::fibers::context::active();
  Waiter finished;
  Spawn("main", [&result, &finished, &main] {
    result = main();
    finished.Complete(Status::Ok());
  });
  if (live_fibers_ > 0) {
    while (!finished.done_) {
      finished.context_ = self;
      self->suspend();
      finished.context_ = nullptr;
    }
  }
  Stop();
  while (live_fibers_ > 0) {
    Waiter drained;
    drained_ = &drained;
    const auto report_at = ToSteady(Now() + kDrainReportInterval);
    while (!drained.done_ && std::chrono::steady_clock::now() < report_at) {
      drained.context_ = self;
      self->wait_until(report_at);
      drained.context_ = nullptr;
    }
    drained_ = nullptr;
    if (live_fibers_ > 0) {
      std::fprintf(stderr,
                   "granary %s: stopping; waiting for %llu fibers:", options_.node_name.c_str(),
                   static_cast<unsigned long long>(live_fibers_));
      for (const auto& [serial, name] : live_fiber_names_)
        std::fprintf(stderr, " %s", name.c_str());
      std::fprintf(stderr, "\n");
    }
  }
  return result;
}

void RealEnv::Stop() {
  if (stopping_) return;
  stopping_ = true;
  const Status down = Down(options_.node_name);
  // Completing a waiter does not unlink it (its fiber does, when it runs), so the walk is safe.
  for (Waiter* w = waiters_.next_; w != &waiters_; w = w->next_) w->Complete(down);
}

void RealEnv::RequestStop() noexcept {
  stop_requested_.store(true);
  scheduling_.notify();
}

void RealEnv::RunBlocking(std::function<void()> fn) {
  boost::fibers::promise<void> done;
  boost::fibers::future<void> finished = done.get_future();
  {
    std::lock_guard<std::mutex> lock(blocking_mutex_);
    if (blocking_threads_.empty()) {
      for (uint32_t i = 0; i < std::max(options_.blocking_threads, 1u); ++i) {
        blocking_threads_.emplace_back([this] { BlockingWorker(); });
      }
    }
    blocking_queue_.push_back([&fn, &done] {
      fn();
      // The fiber may return and free `done` as soon as the value is set, while set_value is
      // still notifying: the promise (and its share of the state) must live on this thread.
      boost::fibers::promise<void> owned = std::move(done);
      owned.set_value();
    });
  }
  blocking_ready_.notify_one();
  finished.get();
}

void RealEnv::BlockingWorker() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock<std::mutex> lock(blocking_mutex_);
      blocking_ready_.wait(lock, [this] { return blocking_closing_ || !blocking_queue_.empty(); });
      if (blocking_queue_.empty()) return;
      job = std::move(blocking_queue_.front());
      blocking_queue_.pop_front();
    }
    job();
  }
}

namespace {

std::atomic<RealEnv*> signal_env{nullptr};

void OnStopSignal(int) {
  RealEnv* env = signal_env.load();
  if (env != nullptr) env->RequestStop();
}

}  // namespace

void StopOnSignals(RealEnv& env) {
  signal_env.store(&env);
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

}  // namespace granary::net
