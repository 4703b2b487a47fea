// PayloadPool: large receive buffers kept for reuse across threads.
//
// Why: a client streaming many files (the Python loader's shards) receives each read piece
// (up to 4 MiB) into a freshly allocated string that another thread frees later; glibc hands
// such memory back to the kernel (a thread arena's heap shrinks) and the next piece faults
// every page in again. A buffer given back here instead keeps its pages: the transport takes
// one for the next large payload (ZmqTransportOptions::payload_pool), and whoever drops the
// last reference to a received piece gives it back (python/src/loader.cc).
//
// Contract: Take(bytes) returns an empty string whose capacity is at least `bytes` and at most
// twice that (a buffer much larger than the payload would pin memory the payload does not
// use), or an empty string without reserved capacity when no kept buffer fits. Give keeps
// buffers of at least kPayloadPoolBufferBytesMin capacity while the pool holds at most
// kPayloadPoolBytesMax in all, and frees the rest. Both are safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace granary::net {

class PayloadPool {
 public:
  std::string Take(size_t bytes);
  void Give(std::string&& buffer);

  struct Stats {
    uint64_t reused = 0;   // Takes answered with a kept buffer
    uint64_t missed = 0;   // Takes of at least the minimum that found none
    uint64_t kept = 0;     // Gives kept
    uint64_t dropped = 0;  // Gives freed (too small, or the pool full)
  };
  Stats stats() const;
  size_t bytes() const;  // capacity kept now

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> buffers_;  // guarded by mutex_
  size_t bytes_ = 0;                  // guarded by mutex_: their capacity in all
  Stats stats_;                       // guarded by mutex_
};

}  // namespace granary::net
