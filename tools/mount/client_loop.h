// ClientLoop: the Granary client runtime of granary-mount, on an OS thread of its own.
//
// Threading contract (net/README.md): a RealEnv and its ZmqTransport belong to one thread.
// The loop starts that thread, builds both there and runs the env's fiber scheduler until
// Stop. The FUSE thread hands it work through Post: the function goes into a mutex-guarded
// queue and an eventfd is written; the loop polls the eventfd beside its ZeroMQ sockets and
// runs every queued function on a fiber of its own. So a kernel request that waits for the
// cluster blocks its fiber only, never the FUSE thread nor another request.
//
// FileSystems (one per user a request acts as) are made on the loop and live as long as it:
// the readers and writers they made hold references to them.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/status.h"

namespace granary::net {
class RealEnv;
class ZmqTransport;
}  // namespace granary::net

namespace granary::mount {

struct ClientLoopOptions {
  std::string namenode;  // HOST:PORT, passed through as the CLI does
  std::string curve_keys;
  Duration rpc_timeout = std::chrono::seconds(10);
  uint32_t attempts = 8;
};

class ClientLoop {
 public:
  // Starts the loop thread and waits until its runtime is built.
  static Result<std::unique_ptr<ClientLoop>> Start(const ClientLoopOptions& options);
  ~ClientLoop();  // Stop()
  ClientLoop(const ClientLoop&) = delete;
  ClientLoop& operator=(const ClientLoop&) = delete;

  // Stops the env (every pending wait returns kNodeDown), waits for the fibers to unwind and
  // joins the thread. Idempotent; not on the loop thread.
  void Stop();

  // Runs `fn` on a new fiber of the loop. False (and `fn` destroyed unrun) once stopped.
  bool Post(std::function<void()> fn);

  // Runs `fn` on the loop and waits for it (for main(): the start-up check).
  Status Call(std::function<Status()> fn);

  // On the loop only: the FileSystem acting as `user` with `groups` (made on first use; at
  // most kUsersMax of them, after which the call fails with kLimitExceeded).
  Result<FileSystem*> FileSystemFor(const std::string& user,
                                    const std::vector<std::string>& groups);
  net::RealEnv& env() { return *env_; }
  // On the loop only: the namenode calls made so far by every FileSystem, by method.
  std::map<std::string, uint64_t> NamenodeCalls() const;

  static constexpr size_t kUsersMax = 256;

 private:
  explicit ClientLoop(ClientLoopOptions options);
  void Run(std::promise<Status>* started);
  void Drain();

  const ClientLoopOptions options_;
  int event_fd_ = -1;
  std::thread thread_;
  std::mutex mutex_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool stopped_ = false;                     // guarded by mutex_
  bool joined_ = false;
  // Valid on the loop thread while it runs.
  net::RealEnv* env_ = nullptr;
  net::ZmqTransport* transport_ = nullptr;
  uint64_t seed_ = 0;
  std::map<std::string, std::unique_ptr<FileSystem>> file_systems_;  // by "user:groups"
};

}  // namespace granary::mount
