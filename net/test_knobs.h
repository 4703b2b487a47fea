// Test knobs of the real binaries: environment variables read once, at first use. They exist
// for experiments and tests that need a slower machine than the one at hand; production
// leaves them unset.
//
//   GRANARY_TEST_SYNC_DELAY_US  microseconds every sync waits after it completes: a
//       PosixDisk file or directory sync and a synced RocksDB commit (experiment 4's
//       condition (d), a slower-syncing disk). Unset, empty or 0: no delay; anything but a
//       number from 0 to 10^7 makes the process exit with an error at its first sync.
#pragma once

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

namespace granary::net {

inline std::chrono::microseconds TestSyncDelay() {
  static const std::chrono::microseconds delay = [] {
    const char* text = std::getenv("GRANARY_TEST_SYNC_DELAY_US");
    if (text == nullptr || *text == '\0') return std::chrono::microseconds(0);
    char* end = nullptr;
    const long long us = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0' || us < 0 || us > 10000000) {
      std::fprintf(stderr, "GRANARY_TEST_SYNC_DELAY_US='%s': not a number of microseconds 0..1e7\n",
                   text);
      std::exit(2);
    }
    return std::chrono::microseconds(us);
  }();
  return delay;
}

// Sleeps the calling thread for the sync delay (a pool or writer thread, never a fiber's).
inline void SleepTestSyncDelay() {
  const std::chrono::microseconds delay = TestSyncDelay();
  if (delay.count() > 0) std::this_thread::sleep_for(delay);
}

}  // namespace granary::net
