#include "python/src/connection.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <cassert>
#include <cerrno>
#include <cstdlib>
#include <optional>
#include <random>
#include <utility>

#include "net/local_user.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"

namespace granary::python {
namespace {

using net::DefaultUser;
using net::LocalGroups;

}  // namespace

Connection::Connection(ConnectOptions options) : options_(std::move(options)) {}

Result<std::shared_ptr<Connection>> Connection::Open(const ConnectOptions& options) {
  std::shared_ptr<Connection> connection(new Connection(options));
  connection->event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (connection->event_fd_ < 0) {
    return Status(StatusCode::kIoError, "eventfd: " + std::to_string(errno));
  }
  std::promise<Status> started;
  std::future<Status> started_future = started.get_future();
  connection->thread_ = std::thread([raw = connection.get(), &started] { raw->Run(&started); });
  Status status = started_future.get();
  if (!status.ok()) {
    connection->Close();
    return status;
  }
  return connection;
}

Connection::~Connection() {
  Close();
  if (event_fd_ >= 0) close(event_fd_);
}

bool Connection::closed() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return closed_;
}

void Connection::Close() {
  std::lock_guard<std::mutex> close_lock(close_mutex_);
  if (joined_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  if (thread_.joinable()) {
    assert(thread_.get_id() != std::this_thread::get_id());
    if (env_ != nullptr) env_->RequestStop();
    thread_.join();
  }
  joined_ = true;
  std::deque<std::function<void()>> unrun;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    unrun.swap(queue_);
  }
  // Destroyed here, unrun: their promises break.
}

bool Connection::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return false;
    queue_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  ssize_t written = write(event_fd_, &one, sizeof(one));
  (void)written;  // EAGAIN means the counter is already non-zero: the loop will wake anyway
  return true;
}

Status Connection::CallStatus(std::function<Status()> fn) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  if (!Post([promise, fn = std::move(fn)] { promise->set_value(fn()); })) return Closed();
  try {
    return future.get();
  } catch (const std::future_error&) {
    return Closed();
  }
}

void Connection::Drain() {
  uint64_t counter = 0;
  ssize_t got = read(event_fd_, &counter, sizeof(counter));
  (void)got;
  std::deque<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ready.swap(queue_);
  }
  for (auto& fn : ready) env_->Spawn("python-call", std::move(fn));
}

void Connection::Run(std::promise<Status>* started) {
  net::RealEnvOptions env_options;
  env_options.node_name = "granary-python";
  env_options.seed = std::random_device{}();
  env_options.blocking_threads = 1;
  net::RealEnv env(env_options);
  net::ZmqTransportOptions transport_options;
  transport_options.payload_pool = payload_pool_;
  auto transport = net::ZmqTransport::Create(env, transport_options);
  if (!transport.ok()) {
    started->set_value(transport.status());
    return;
  }
  ClientOptions options;
  options.namenode = Address{options_.namenode};
  std::string policy = options_.read_policy;
  if (const char* from_env = std::getenv("GRANARY_READ_POLICY"); policy.empty() && from_env) {
    policy = from_env;
  }
  if (!policy.empty()) {
    const std::optional<ReadPolicy> parsed = ParseReadPolicy(policy);
    if (!parsed) {
      started->set_value(Status(StatusCode::kInvalidArgument,
                                "read policy \"" + policy +
                                    "\" (read_policy or GRANARY_READ_POLICY): expected active, "
                                    "random, least-loaded, nearest or observer"));
      return;
    }
    options.read_policy = *parsed;
  }
  options.user.set_user(options_.user.empty() ? DefaultUser() : options_.user);
  const std::vector<std::string> groups =
      options_.groups.empty() ? LocalGroups(options.user.user()) : options_.groups;
  for (const std::string& g : groups) options.user.add_groups(g);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  options.client_name = std::string("python/") + host + "/" + std::to_string(getpid()) + "/" +
                        std::to_string(env_options.seed % 1000000000);
  // Replica ordering: a client beside a loopback namenode is on the cluster's host.
  const std::string& nn = options_.namenode;
  if (nn.starts_with("127.") || nn.starts_with("localhost:")) options.client_address = "127.0.0.1";
  options.rpc_timeout = std::chrono::milliseconds(options_.rpc_timeout_ms);
  options.attempts = options_.attempts;
  {
    // Built before RunMain and destroyed after it: every fiber has finished by then.
    FileSystem fs(env, **transport, options);
    env_ = &env;
    fs_ = &fs;
    const auto poll_id = env.scheduling().AddFd(event_fd_, ZMQ_POLLIN, [this](short) { Drain(); });
    Status status = env.RunMain([&]() -> Status {
      started->set_value(Status::Ok());
      Status stopped = env.SleepUntil(kInstantMax);
      return stopped.code() == StatusCode::kNodeDown ? Status::Ok() : stopped;
    });
    (void)status;
    env.scheduling().Remove(poll_id);
    {
      // Whatever arrived after the stop is destroyed unrun on this thread.
      std::lock_guard<std::mutex> lock(mutex_);
      closed_ = true;
      queue_.clear();
    }
  }
  transport->reset();
}

}  // namespace granary::python
