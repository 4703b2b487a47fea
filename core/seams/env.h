// Env: the clock, the fibers and the randomness of one process (DESIGN.md §3, §4).
//
// Core code reads time only through Now(), waits only through SleepFor/SleepUntil (or through
// the other seams), starts concurrent work only through Spawn, and draws randomness only from
// random(). Two implementations: a wall-clock Env over a Boost.Fiber scheduler (net/), and a
// simulated Env over a virtual clock (sim/).
//
// Fault model: a process can crash (simulated) or be stopped (real). From that moment every
// pending and later wait of that process — SleepFor, Transport::Call, Disk and MetaStore
// calls, ChargeCpu — returns kNodeDown, so that its fibers unwind by returning errors. Code
// that loops must leave its loop on any non-ok status from a wait. Fibers blocked on
// Boost.Fiber mutexes or condition variables are not woken by a crash: whoever holds the
// lock or owes the notification must itself unwind and release it.
#pragma once

#include <functional>
#include <string_view>

#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"

namespace granary {

class Env {
 public:
  virtual ~Env() = default;

  // The current time of this process's world. Monotonic within a process incarnation.
  virtual Instant Now() = 0;

  // Calendar time in nanoseconds since the Unix epoch, for timestamps people read (a file's
  // mtime); never for durations or deadlines, which use Now(). The default is Now() itself,
  // for worlds without a calendar; the real Env reads the system clock and the simulated
  // one starts its virtual calendar at a fixed date.
  virtual int64_t CalendarNanos() { return ToNanos(Now()); }

  // Suspends the calling fiber for at least `duration` (a non-positive duration yields).
  // Returns ok, or kNodeDown when the process crashed or is stopping.
  virtual Status SleepFor(Duration duration) = 0;
  virtual Status SleepUntil(Instant deadline) = 0;

  // Runs `fn` on a new fiber of this process, after the caller next suspends. `fn` must not
  // throw: an escaping exception is a programmer error and ends the program with its name.
  // On a crashed or stopping process, Spawn does nothing.
  virtual void Spawn(std::string_view name, std::function<void()> fn) = 0;

  // This process's seeded generator. Not shared with other processes.
  virtual Random& random() = 0;

  // Charges `cpu_time` of work to this node's cores and returns when a core has done it.
  // The real Env does nothing (the real CPU was spent already); the simulated one queues the
  // work on the node's modelled cores, so that a busy server saturates as a real one does.
  virtual Status ChargeCpu(Duration cpu_time) = 0;

  // The name of this process's node, for logs ("namenode", "datanode-3").
  virtual std::string_view node_name() const = 0;
};

}  // namespace granary
