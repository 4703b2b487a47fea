// Time as the Env tells it. Instant is deliberately not convertible to or from any std clock:
// core/ and sim/ read time only from Env (DESIGN.md §4).
#pragma once

#include <chrono>
#include <cstdint>

namespace granary {

using Duration = std::chrono::nanoseconds;

// A clock tag only: it has no now(). Env::Now() is the one source of Instants.
struct EnvClock {
  using duration = Duration;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<EnvClock, Duration>;
  static constexpr bool is_steady = true;
};
using Instant = EnvClock::time_point;

inline constexpr Instant kInstantMax = Instant(Duration::max());

constexpr int64_t ToNanos(Instant t) { return t.time_since_epoch().count(); }
constexpr Instant InstantFromNanos(int64_t ns) { return Instant(Duration(ns)); }
constexpr double ToSeconds(Duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace granary
