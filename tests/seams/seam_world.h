// The world a seam contract test runs in, and the Harness concept that builds it.
//
// The typed suites in transport_contract.h, disk_contract.h and meta_store_contract.h are
// written once against this interface and instantiated for every implementation of the seams
// (README.md beside this file). A Harness is any type with
//
//   static void Run(const std::function<void(SeamWorld&)>& body);
//
// Run builds a fresh world, runs `body` on a fiber of it to completion, tears the world down,
// and reports through GoogleTest anything that went wrong outside the body (a body that never
// finished, fibers left behind). The body's own EXPECT/ASSERT macros report as usual.
#pragma once

#include <functional>
#include <string>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/disk.h"
#include "core/seams/env.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"

namespace granary::seams_test {

class SeamWorld {
 public:
  virtual ~SeamWorld() = default;

  // The process the body runs in: its clock and fibers, its disk, its store, and a transport
  // that calls out.
  virtual Env& env() = 0;
  virtual Disk& disk() = 0;
  virtual MetaStore& store() = 0;
  virtual Transport& client() = 0;

  // A second endpoint, reachable from client() at server().self(), serving nothing until the
  // body calls Serve. Its handlers run on fibers of server_env(), which may be env() itself.
  virtual Transport& server() = 0;
  virtual Env& server_env() = 0;

  // An address at which no process can ever be reached: Call must fail with kUnavailable.
  virtual Address UnknownAddress() = 0;

  // Loses power under the disk and the store and brings them back: afterwards disk() and
  // store() may return new objects (references taken before are invalid), which must show
  // everything the durability contracts promise and nothing that was never written.
  // False when the implementation cannot do this; the durability tests then skip.
  virtual bool Reopen() = 0;
};

// Polls until `done()` or `limit` passes on `env`'s clock; false on timeout or a crash.
// Contract bodies wait for fibers they spawned with this: Env has no join.
inline bool WaitFor(Env& env, const std::function<bool()>& done,
                    Duration limit = std::chrono::seconds(60)) {
  const Instant give_up = env.Now() + limit;
  while (!done()) {
    if (env.Now() >= give_up) return false;
    if (!env.SleepFor(std::chrono::milliseconds(1)).ok()) return false;
  }
  return true;
}

// A deterministic pattern of `size` bytes, different for each `salt`.
inline std::string PatternBytes(size_t size, uint32_t salt) {
  std::string out(size, '\0');
  uint32_t x = salt * 2654435761u + 1;
  for (size_t i = 0; i < size; ++i) {
    x = x * 1103515245u + 12345u;
    out[i] = static_cast<char>(x >> 24);
  }
  return out;
}

}  // namespace granary::seams_test
