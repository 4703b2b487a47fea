#include "tools/mount/client_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <cassert>
#include <cerrno>
#include <utility>

#include "net/real_env.h"
#include "net/zmq_transport.h"
#include "tools/common/curve_keys.h"
#include "tools/common/tool_util.h"

namespace granary::mount {

ClientLoop::ClientLoop(ClientLoopOptions options) : options_(std::move(options)) {}

Result<std::unique_ptr<ClientLoop>> ClientLoop::Start(const ClientLoopOptions& options) {
  std::unique_ptr<ClientLoop> loop(new ClientLoop(options));
  loop->event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (loop->event_fd_ < 0) return Status(StatusCode::kIoError, "eventfd: " + std::to_string(errno));
  std::promise<Status> started;
  std::future<Status> started_future = started.get_future();
  loop->thread_ = std::thread([raw = loop.get(), &started] { raw->Run(&started); });
  const Status status = started_future.get();
  if (!status.ok()) {
    loop->Stop();
    return status;
  }
  return loop;
}

ClientLoop::~ClientLoop() {
  Stop();
  if (event_fd_ >= 0) close(event_fd_);
}

void ClientLoop::Stop() {
  if (joined_) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
  }
  if (thread_.joinable()) {
    assert(thread_.get_id() != std::this_thread::get_id());
    if (env_ != nullptr) env_->RequestStop();
    thread_.join();
  }
  joined_ = true;
  std::lock_guard<std::mutex> lock(mutex_);
  queue_.clear();  // destroyed unrun
}

bool ClientLoop::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return false;
    queue_.push_back(std::move(fn));
  }
  const uint64_t one = 1;
  const ssize_t written = write(event_fd_, &one, sizeof(one));
  (void)written;  // EAGAIN: the counter is already non-zero, the loop wakes anyway
  return true;
}

Status ClientLoop::Call(std::function<Status()> fn) {
  auto promise = std::make_shared<std::promise<Status>>();
  std::future<Status> future = promise->get_future();
  const Status stopped(StatusCode::kNodeDown, "the client loop stopped");
  if (!Post([promise, fn = std::move(fn)] { promise->set_value(fn()); })) return stopped;
  try {
    return future.get();
  } catch (const std::future_error&) {
    return stopped;
  }
}

void ClientLoop::Drain() {
  uint64_t counter = 0;
  const ssize_t got = read(event_fd_, &counter, sizeof(counter));
  (void)got;
  std::deque<std::function<void()>> ready;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ready.swap(queue_);
  }
  for (auto& fn : ready) env_->Spawn("mount-request", std::move(fn));
}

Result<FileSystem*> ClientLoop::FileSystemFor(const std::string& user,
                                              const std::vector<std::string>& groups) {
  std::string key = user;
  for (const std::string& g : groups) key += ":" + g;
  if (auto it = file_systems_.find(key); it != file_systems_.end()) return it->second.get();
  if (file_systems_.size() >= kUsersMax) {
    return Status(StatusCode::kLimitExceeded, "more than " + std::to_string(kUsersMax) + " users");
  }
  ClientOptions options;
  options.namenode = Address{options_.namenode};
  options.user.set_user(user);
  for (const std::string& g : groups) options.user.add_groups(g);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  options.client_name = std::string("granary-mount/") + host + "/" + std::to_string(getpid()) +
                        "/" + std::to_string(seed_ % 1000000) + "/" +
                        std::to_string(file_systems_.size());
  options.client_address = tools::LocalAddressToward(options_.namenode);
  options.rpc_timeout = options_.rpc_timeout;
  options.attempts = options_.attempts;
  auto fs = std::make_unique<FileSystem>(*env_, *transport_, options);
  FileSystem* raw = fs.get();
  file_systems_.emplace(key, std::move(fs));
  return raw;
}

std::map<std::string, uint64_t> ClientLoop::NamenodeCalls() const {
  std::map<std::string, uint64_t> calls;
  for (const auto& [key, fs] : file_systems_) {
    for (const auto& [method, count] : fs->namenode().call_counts()) calls[method] += count;
  }
  return calls;
}

void ClientLoop::Run(std::promise<Status>* started) {
  net::ZmqTransportOptions transport_options;
  if (!options_.curve_keys.empty()) {
    const Status keys = tools::ConfigureClientCurve(options_.curve_keys, transport_options);
    if (!keys.ok()) {
      started->set_value(keys.WithContext("CURVE keys " + options_.curve_keys));
      return;
    }
  }
  seed_ = tools::SeedFromDevice();
  net::RealEnvOptions env_options;
  env_options.node_name = "granary-mount";
  env_options.seed = seed_;
  env_options.blocking_threads = 1;
  net::RealEnv env(env_options);
  auto transport = net::ZmqTransport::Create(env, transport_options);
  if (!transport.ok()) {
    started->set_value(transport.status());
    return;
  }
  env_ = &env;
  transport_ = transport->get();
  const auto poll_id = env.scheduling().AddFd(event_fd_, ZMQ_POLLIN, [this](short) { Drain(); });
  const Status status = env.RunMain([&]() -> Status {
    started->set_value(Status::Ok());
    const Status stopped = env.SleepUntil(kInstantMax);
    return stopped.code() == StatusCode::kNodeDown ? Status::Ok() : stopped;
  });
  (void)status;
  env.scheduling().Remove(poll_id);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    queue_.clear();
  }
  // Every fiber has finished: the readers and writers are gone with the requests' handles
  // (the mount frees them before stopping the loop).
  file_systems_.clear();
  transport->reset();
  env_ = nullptr;
}

}  // namespace granary::mount
