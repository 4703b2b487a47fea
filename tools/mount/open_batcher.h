// OpenBatcher: the opens a mount's lookups make, gathered into nn.OpenMany while one is in
// flight.
//
// Each lookup of a file opens it (one round trip brings a small file's bytes). Programs that
// read many small files in parallel (a DataLoader's workers, fsbench's threads) keep several
// lookups waiting for the namenode at once; each of them alone would be one call. The first
// open goes at once, alone; the opens that arrive while it is in flight wait for it and then
// go together in one nn.OpenMany (each answered as a lone open would be: its reader or its
// own error), and so on. Nobody waits longer than the call in flight before it. One batcher
// per FileSystem (per user). Loop fibers only (not thread-safe).
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <string>
#include <utility>
#include <vector>

#include "core/client/file_system.h"

namespace granary::mount {

class OpenBatcher {
 public:
  explicit OpenBatcher(FileSystem& fs) : fs_(fs) {}
  OpenBatcher(const OpenBatcher&) = delete;
  OpenBatcher& operator=(const OpenBatcher&) = delete;

  // As FileSystem::Open(path).
  FileSystem::Opened Open(const std::string& path);

  // Calls made so far (Open and OpenMany), for tests and the bench's profile.
  uint64_t calls() const { return calls_; }
  uint64_t opens() const { return opens_; }

 private:
  struct Waiting {
    std::string path;
    FileSystem::Opened* result;
    bool* done;
  };
  void SendQueued();

  FileSystem& fs_;
  bool in_flight_ = false;
  bool leader_waiting_ = false;  // a queued fiber will send the queue when the call ends
  std::vector<Waiting> queue_;
  boost::fibers::mutex mutex_;  // for the condition variables (the fibers share one thread)
  boost::fibers::condition_variable_any idle_;
  boost::fibers::condition_variable_any answered_;
  uint64_t calls_ = 0;
  uint64_t opens_ = 0;
};

}  // namespace granary::mount
