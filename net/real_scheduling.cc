#include "net/real_scheduling.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <boost/fiber/operations.hpp>
#include <cassert>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace granary::net {
namespace {

thread_local RealScheduling* this_thread_algorithm = nullptr;

}  // namespace

RealScheduling::RealScheduling() {
  assert(this_thread_algorithm == nullptr);
  this_thread_algorithm = this;
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    std::fprintf(stderr, "granary: eventfd: %s\n", std::strerror(errno));
    std::abort();
  }
}

RealScheduling::~RealScheduling() {
  if (event_fd_ >= 0) close(event_fd_);
  this_thread_algorithm = nullptr;
}

void RealScheduling::awakened(boost::fibers::context* ctx) noexcept {
  assert(ctx != nullptr);
  assert(!ctx->ready_is_linked());
  ctx->ready_link(ready_queue_);
}

boost::fibers::context* RealScheduling::pick_next() noexcept {
  if (ready_queue_.empty()) return nullptr;
  // Only the dispatcher polls here: a worker calls pick_next while it is suspending, and a
  // callback that woke that very worker would have it picked to resume itself.
  if (++picks_since_poll_ >= kPollEveryPicks && !items_.empty() &&
      boost::fibers::context::active()->is_context(boost::fibers::type::dispatcher_context)) {
    PollOnce(0);
  }
  boost::fibers::context* ctx = &ready_queue_.front();
  ready_queue_.pop_front();
  return ctx;
}

bool RealScheduling::has_ready_fibers() const noexcept { return !ready_queue_.empty(); }

void RealScheduling::suspend_until(std::chrono::steady_clock::time_point const& until) noexcept {
  long timeout_ms = -1;
  if (until != std::chrono::steady_clock::time_point::max()) {
    const auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) {
      timeout_ms = 0;
    } else {
      // Rounded up: waking early would only spin back here.
      timeout_ms = static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    }
  }
  PollOnce(timeout_ms);
}

void RealScheduling::notify() noexcept {
  const uint64_t one = 1;
  // A full counter (never in practice) already means "wake up": the error is harmless.
  [[maybe_unused]] const ssize_t n = write(event_fd_, &one, sizeof(one));
}

namespace {

// ZMQ_POLL* and poll(2)'s POLL* bits differ: raw fds are registered with the former.
short ToPollEvents(short zmq_events) {
  short out = 0;
  if (zmq_events & ZMQ_POLLIN) out |= POLLIN;
  if (zmq_events & ZMQ_POLLOUT) out |= POLLOUT;
  return out;
}

short FromPollEvents(short revents) {
  short out = 0;
  if (revents & (POLLIN | POLLHUP)) out |= ZMQ_POLLIN;
  if (revents & POLLOUT) out |= ZMQ_POLLOUT;
  if (revents & (POLLERR | POLLNVAL)) out |= ZMQ_POLLERR;
  return out;
}

}  // namespace

RealScheduling::PollId RealScheduling::AddSocket(void* zmq_socket, short events,
                                                 PollCallback callback) {
  assert(zmq_socket != nullptr);
  int fd = -1;
  size_t fd_size = sizeof(fd);
  const int rc = zmq_getsockopt(zmq_socket, ZMQ_FD, &fd, &fd_size);
  assert(rc == 0);
  assert(fd >= 0);
  (void)rc;
  const PollId id = next_id_++;
  // Touched: messages may be queued already, and ZMQ_FD signals only new ones.
  items_.emplace(id, Item{zmq_socket, fd, events, std::move(callback), false, true});
  touched_.push_back(id);
  items_changed_ = true;
  return id;
}

RealScheduling::PollId RealScheduling::AddFd(int fd, short events, PollCallback callback) {
  assert(fd >= 0);
  const PollId id = next_id_++;
  items_.emplace(id, Item{nullptr, fd, events, std::move(callback), false, false});
  items_changed_ = true;
  return id;
}

RealScheduling::PollId RealScheduling::AddFlushHook(FlushHook hook) {
  const PollId id = next_id_++;
  flush_hooks_.emplace_back(id, std::move(hook));
  return id;
}

void RealScheduling::RemoveFlushHook(PollId id) {
  std::erase_if(flush_hooks_, [id](const auto& entry) { return entry.first == id; });
}

void RealScheduling::SetEvents(PollId id, short events) {
  auto it = items_.find(id);
  assert(it != items_.end());
  if (it->second.events != events) {
    it->second.events = events;
    items_changed_ = true;
    // A socket that is writable already will not signal it again: look now.
    Touch(id);
  }
}

void RealScheduling::Touch(PollId id) {
  auto it = items_.find(id);
  if (it == items_.end() || it->second.socket == nullptr || it->second.touched) return;
  it->second.touched = true;
  touched_.push_back(id);
}

void RealScheduling::Remove(PollId id) {
  auto it = items_.find(id);
  if (it == items_.end()) return;
  if (in_poll_) {
    // The callback may be the one running: destroy it after the round.
    it->second.removed = true;
    removed_.push_back(id);
  } else {
    items_.erase(it);
  }
  items_changed_ = true;
}

short RealScheduling::SocketEvents(const Item& item) {
  uint32_t events = 0;
  size_t size = sizeof(events);
  if (zmq_getsockopt(item.socket, ZMQ_EVENTS, &events, &size) != 0) {
    // Only a closed socket or a terminated context fails; owners remove items before that.
    std::fprintf(stderr, "granary: ZMQ_EVENTS: %s\n", zmq_strerror(errno));
    std::abort();
  }
  return static_cast<short>(static_cast<short>(events) & item.events);
}

long RealScheduling::RunFlushHooks(long timeout_ms) {
  for (size_t i = 0; i < flush_hooks_.size(); ++i) {
    const std::chrono::steady_clock::time_point again = flush_hooks_[i].second();
    if (again == std::chrono::steady_clock::time_point::max() || timeout_ms == 0) continue;
    const auto left = again - std::chrono::steady_clock::now();
    // Rounded up, as in suspend_until.
    const long left_ms =
        left <= std::chrono::steady_clock::duration::zero()
            ? 0
            : static_cast<long>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
    timeout_ms = timeout_ms < 0 ? left_ms : std::min(timeout_ms, left_ms);
  }
  return timeout_ms;
}

void RealScheduling::RebuildPollSet() {
  if (!items_changed_) return;
  poll_fds_.clear();
  poll_ids_.clear();
  poll_fds_.push_back(pollfd{event_fd_, POLLIN, 0});
  poll_ids_.push_back(0);
  for (const auto& [id, item] : items_) {
    if (item.removed || item.events == 0) continue;
    // A socket's ZMQ_FD only ever signals "look at ZMQ_EVENTS", as readable.
    poll_fds_.push_back(
        pollfd{item.fd, item.socket != nullptr ? short{POLLIN} : ToPollEvents(item.events), 0});
    poll_ids_.push_back(id);
  }
  items_changed_ = false;
}

void RealScheduling::CollectTouched() {
  for (const PollId id : touched_) {
    auto it = items_.find(id);
    if (it == items_.end() || it->second.removed) continue;
    it->second.touched = false;
    if (it->second.events == 0) continue;
    const short events = SocketEvents(it->second);
    if (events != 0) {
      ready_ids_.push_back(id);
      ready_events_.push_back(events);
    }
  }
  touched_.clear();
}

bool RealScheduling::CollectPolled(int ready) {
  bool notified = false;
  // Snapshot: callbacks may add or remove items, which rebuilds poll_fds_ next round.
  for (size_t i = 0; ready > 0 && i < poll_fds_.size(); ++i) {
    if (poll_fds_[i].revents == 0) continue;
    if (i == 0) {
      notified = true;
      continue;
    }
    const PollId id = poll_ids_[i];
    auto it = items_.find(id);
    if (it == items_.end() || it->second.removed) continue;
    short events = 0;
    if (it->second.socket != nullptr) {
      if (std::find(ready_ids_.begin(), ready_ids_.end(), id) != ready_ids_.end()) continue;
      events = SocketEvents(it->second);
    } else {
      events = FromPollEvents(poll_fds_[i].revents);
    }
    if (events != 0) {
      ready_ids_.push_back(id);
      ready_events_.push_back(events);
    }
  }
  return notified;
}

void RealScheduling::DispatchReady(bool notified) {
  if (notified) {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t n = read(event_fd_, &count, sizeof(count));
    if (on_notified_) on_notified_();
  }
  for (size_t i = 0; i < ready_ids_.size(); ++i) {
    auto it = items_.find(ready_ids_[i]);
    if (it == items_.end() || it->second.removed) continue;
    it->second.callback(ready_events_[i]);
  }
  in_poll_ = false;
  for (PollId id : removed_) items_.erase(id);
  removed_.clear();
}

void RealScheduling::PollOnce(long timeout_ms) {
  picks_since_poll_ = 0;
  // Queued sends first: what they wake, and the replies they draw, are seen by this poll.
  timeout_ms = RunFlushHooks(timeout_ms);
  // A hook that failed a send may have woken its callers: do not wait while they are ready.
  if (!ready_queue_.empty()) timeout_ms = 0;
  RebuildPollSet();
  ready_ids_.clear();
  ready_events_.clear();
  // Touched sockets first: an edge may have been consumed by a send since the last poll.
  CollectTouched();
  const int wait_ms = ready_ids_.empty() ? static_cast<int>(timeout_ms) : 0;
  int ready = poll(poll_fds_.data(), static_cast<nfds_t>(poll_fds_.size()), wait_ms);
  if (ready < 0) {
    if (errno != EINTR) {
      std::fprintf(stderr, "granary: poll: %s\n", std::strerror(errno));
      std::abort();
    }
    ready = 0;
  }
  if (ready == 0 && ready_ids_.empty()) return;
  in_poll_ = true;
  DispatchReady(CollectPolled(ready));
}

RealScheduling& RealScheduling::ForThisThread() {
  if (this_thread_algorithm == nullptr) {
    boost::fibers::use_scheduling_algorithm<RealScheduling>();
  }
  assert(this_thread_algorithm != nullptr);
  return *this_thread_algorithm;
}

}  // namespace granary::net
