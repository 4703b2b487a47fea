// RealEnv: the wall-clock Env of a real Granary process (DESIGN.md §3, §4).
//
// Threading contract:
//   - A RealEnv belongs to the OS thread that constructs it, and everything of it (and of the
//     ZmqTransport, PosixDisk and RocksDbStore built on it) is used from that thread only,
//     from fibers or from the thread's main context. The exceptions are RequestStop(), which
//     any thread and any signal handler may call, and the Boost.Fiber promises through which
//     helper threads (RunBlocking's pool, RocksDbStore's writer) wake fibers of this thread.
//   - The thread runs one Boost.Fiber scheduler whose algorithm (RealScheduling) waits in
//     zmq_poll when no fiber is ready, so a fiber blocked on an RPC never blocks the thread.
//     A fiber that blocks in a system call does block it: the Env seam's callers never do,
//     and PosixDisk moves its fsyncs to RunBlocking.
//   - Fibers are started only through Spawn (or RunMain) so that Stop can account for them.
//
// Memory: the first RealEnv of a process tunes glibc malloc to keep MiB-sized payloads on the
// heap (real_env.cc, TuneAllocatorOnce).
//
// Life cycle of a process (tools/):
//   RealEnv env(options);                      // on the thread that runs the process
//   auto transport = ZmqTransport::Create(env, ...); auto store = RocksDbStore::Open(env, ...);
//   StopOnSignals(env);                        // SIGTERM / SIGINT -> env.RequestStop()
//   Status status = env.RunMain([&] { ...start services...; return env.SleepUntil(kInstantMax); });
//   // every fiber has finished here; destroy transport, store, disk, then env.
//
// Stop: from the moment Stop runs (directly, or on the loop after RequestStop), every pending
// and later Env wait (SleepFor, SleepUntil, Transport::Call, Disk and MetaStore calls)
// returns kNodeDown and Spawn does nothing, as the Env seam's fault model requires.
#pragma once

#include <atomic>
#include <boost/fiber/context.hpp>
#include <boost/fiber/pooled_fixedsize_stack.hpp>
#include <boost/fiber/protected_fixedsize_stack.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/common/limits.h"
#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"
#include "net/real_scheduling.h"

namespace granary::net {

enum class FiberStacks : uint8_t {
  // Pooled fixed-size stacks without guard pages: cheap, for production.
  kPooled,
  // Stacks with a guard page (two mappings each, near 32,000 fibers at most): an overflow
  // faults at once instead of corrupting memory. For tests and debug runs.
  kGuarded,
};

struct RealEnvOptions {
  std::string node_name = "granary";
  // Seed of random(). Tools draw it from std::random_device and log it.
  uint64_t seed = 0;
  FiberStacks stacks = FiberStacks::kPooled;
  size_t stack_bytes = kFiberStackBytes;
  // OS threads of RunBlocking's pool (fsync and other calls that may block for long).
  uint32_t blocking_threads = 2;
};

// One pending wait of one fiber, for RealEnv::Wait. Lives on the waiting fiber's stack and
// is completed from the same thread (by another fiber or a poll callback).
class Waiter {
 public:
  Waiter() = default;
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  // Wakes the waiting fiber with `status`; later calls are ignored.
  void Complete(Status status);
  bool done() const { return done_; }

 private:
  friend class RealEnv;
  boost::fibers::context* context_ = nullptr;  // set while the owner is suspended
  bool done_ = false;
  Status status_;
  Waiter* prev_ = nullptr;
  Waiter* next_ = nullptr;
};

class RealEnv final : public Env {
 public:
  // Installs RealScheduling on the calling thread (once per thread; a later RealEnv on the
  // same thread reuses it). At most one RealEnv per thread at a time.
  explicit RealEnv(RealEnvOptions options);
  // Requires every fiber to have finished (RunMain returns only then) and every poll
  // registration to be gone (destroy transports first).
  ~RealEnv() override;

  RealEnv(const RealEnv&) = delete;
  RealEnv& operator=(const RealEnv&) = delete;

  Instant Now() override;
  int64_t CalendarNanos() override;
  Status SleepFor(Duration duration) override;
  Status SleepUntil(Instant deadline) override;
  void Spawn(std::string_view name, std::function<void()> fn) override;
  Random& random() override { return random_; }
  Status ChargeCpu(Duration cpu_time) override;
  std::string_view node_name() const override { return options_.node_name; }

  // Runs `main` on a fiber and drives this thread's scheduler until it returns; then stops
  // the env (Stop) and keeps driving until every fiber spawned through it has finished
  // (reporting on stderr, every few seconds, the names of those that do not). Returns what
  // `main` returned, or kNodeDown when the env was stopped before `main` could start.
  // Called once, from the thread's main context (not from a fiber).
  Status RunMain(std::function<Status()> main);

  // Fails every pending and later wait with kNodeDown (this thread only).
  void Stop();
  // Asks the loop to Stop at its next wake-up. Any thread; async-signal-safe.
  void RequestStop() noexcept;
  bool stopping() const { return stopping_; }

  // Suspends the calling fiber until `waiter` completes (ok or the status given to Complete),
  // `deadline` passes (kTimeout; kInstantMax waits without a deadline), or the env stops
  // (kNodeDown, also at once when already stopped).
  Status Wait(Waiter& waiter, Instant deadline);

  // Runs `fn` on a thread of the blocking pool and suspends the calling fiber until it has
  // returned. `fn` must not touch fibers or anything of this thread but what it captured.
  void RunBlocking(std::function<void()> fn);

  RealScheduling& scheduling() { return scheduling_; }
  uint64_t live_fibers() const { return live_fibers_; }

  static std::chrono::steady_clock::time_point ToSteady(Instant instant);

 private:
  void Unlink(Waiter& waiter);
  void BlockingWorker();

  const RealEnvOptions options_;
  RealScheduling& scheduling_;
  Random random_;
  std::optional<boost::fibers::pooled_fixedsize_stack> pooled_stacks_;
  std::optional<boost::fibers::protected_fixedsize_stack> guarded_stacks_;
  bool stopping_ = false;
  std::atomic<bool> stop_requested_{false};
  bool ran_main_ = false;
  Waiter waiters_;  // sentinel of the intrusive list of pending waits
  uint64_t live_fibers_ = 0;
  uint64_t next_fiber_serial_ = 0;
  std::map<uint64_t, std::string> live_fiber_names_;
  Waiter* drained_ = nullptr;  // completed when live_fibers_ drops to 0

  // The blocking pool.
  std::mutex blocking_mutex_;
  std::condition_variable blocking_ready_;
  std::deque<std::function<void()>> blocking_queue_;
  bool blocking_closing_ = false;
  std::vector<std::thread> blocking_threads_;
};

// Makes SIGTERM and SIGINT call env.RequestStop() (one env per process; the tools' main).
void StopOnSignals(RealEnv& env);

}  // namespace granary::net
