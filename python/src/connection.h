// Connection: one Granary client running on its own OS thread, for callers on other threads
// (the Python interpreter's).
//
// Threading contract (net/README.md): a RealEnv, its ZmqTransport and the FileSystem built
// on them belong to one thread. The connection starts that thread, builds the three there
// and runs the env's fiber scheduler until Close. Other threads hand it work through Post:
// the function goes into a mutex-guarded queue and an eventfd is written; the loop polls
// that eventfd beside its ZeroMQ sockets (RealScheduling::AddFd), and its callback spawns
// one fiber per queued function. Call wraps Post with a std::promise, so the calling thread
// blocks on a std::future (the Python bindings release the GIL around it) while the work
// runs as an ordinary fiber; concurrent callers get concurrent fibers.
//
// The loop thread never touches Python objects, so it never needs the GIL.
// A function that cannot run any more (the connection closed before its fiber started) is
// destroyed unrun: its promise breaks and Call returns kNodeDown.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/status.h"
#include "net/payload_pool.h"

namespace granary::net {
class RealEnv;
}

namespace granary::python {

struct ConnectOptions {
  std::string namenode;             // HOST:PORT
  std::string user;                 // empty: $USER, else the login name
  std::vector<std::string> groups;  // empty: the local groups of `user`
  uint32_t rpc_timeout_ms = 10000;
  uint32_t attempts = 8;
  // Where reads go with a list of namenodes: "active", "random", "least-loaded", "nearest",
  // "observer";
  // empty: $GRANARY_READ_POLICY, else the client's default (ClientOptions::read_policy).
  std::string read_policy;
};

class Connection {
 public:
  // Starts the loop thread and waits until its client is built.
  static Result<std::shared_ptr<Connection>> Open(const ConnectOptions& options);
  // Closes (see Close). Must not run on the loop thread.
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Stops the loop (every pending wait of its fibers returns kNodeDown), waits for its
  // fibers to unwind and joins the thread. Idempotent; any thread but the loop's.
  void Close();
  bool closed() const;

  // Runs `fn` on a new fiber of the loop. False (and `fn` destroyed unrun) once closed.
  bool Post(std::function<void()> fn);

  // Runs `fn` on a fiber of the loop and blocks the calling thread until it returns.
  template <typename T>
  Result<T> Call(std::function<Result<T>()> fn) {
    auto promise = std::make_shared<std::promise<Result<T>>>();
    std::future<Result<T>> future = promise->get_future();
    if (!Post([promise, fn = std::move(fn)] { promise->set_value(fn()); })) return Closed();
    try {
      return future.get();
    } catch (const std::future_error&) {
      return Closed();
    }
  }
  Status CallStatus(std::function<Status()> fn);

  // The buffers replies' large payloads are received into: a reader of pieces (the loader)
  // gives each piece's buffer back when the piece is dropped, so that steady streaming
  // reuses memory already faulted in (net/payload_pool.h). Any thread.
  const std::shared_ptr<net::PayloadPool>& payload_pool() const { return payload_pool_; }

  // For functions running on the loop only.
  FileSystem& fs() { return *fs_; }
  net::RealEnv& env() { return *env_; }
  const ConnectOptions& options() const { return options_; }

 private:
  explicit Connection(ConnectOptions options);
  static Status Closed() { return Status(StatusCode::kNodeDown, "the connection is closed"); }
  void Run(std::promise<Status>* started);
  // On the loop: spawns a fiber for every queued function.
  void Drain();

  const ConnectOptions options_;
  const std::shared_ptr<net::PayloadPool> payload_pool_ = std::make_shared<net::PayloadPool>();
  int event_fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> queue_;  // guarded by mutex_
  bool closed_ = false;                      // guarded by mutex_
  bool joined_ = false;                      // guarded by close_mutex_
  std::mutex close_mutex_;
  // Set on the loop thread before Open returns; valid until the thread ends.
  net::RealEnv* env_ = nullptr;
  FileSystem* fs_ = nullptr;
};

}  // namespace granary::python
