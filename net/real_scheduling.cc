#include "net/real_scheduling.h"

#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

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

RealScheduling::PollId RealScheduling::AddSocket(void* zmq_socket, short events,
                                                 PollCallback callback) {
  assert(zmq_socket != nullptr);
  const PollId id = next_id_++;
  items_.emplace(id, Item{zmq_socket, -1, events, std::move(callback), false});
  items_changed_ = true;
  return id;
}

RealScheduling::PollId RealScheduling::AddFd(int fd, short events, PollCallback callback) {
  assert(fd >= 0);
  const PollId id = next_id_++;
  items_.emplace(id, Item{nullptr, fd, events, std::move(callback), false});
  items_changed_ = true;
  return id;
}

void RealScheduling::SetEvents(PollId id, short events) {
  auto it = items_.find(id);
  assert(it != items_.end());
  if (it->second.events != events) {
    it->second.events = events;
    items_changed_ = true;
  }
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

void RealScheduling::PollOnce(long timeout_ms) {
  picks_since_poll_ = 0;
  if (items_changed_) {
    poll_items_.clear();
    poll_ids_.clear();
    poll_items_.push_back(zmq_pollitem_t{nullptr, event_fd_, ZMQ_POLLIN, 0});
    poll_ids_.push_back(0);
    for (const auto& [id, item] : items_) {
      if (item.removed || item.events == 0) continue;
      poll_items_.push_back(zmq_pollitem_t{item.socket, item.fd, item.events, 0});
      poll_ids_.push_back(id);
    }
    items_changed_ = false;
  }
  const int ready = zmq_poll(poll_items_.data(), static_cast<int>(poll_items_.size()), timeout_ms);
  if (ready < 0) {
    if (errno == EINTR) return;
    std::fprintf(stderr, "granary: zmq_poll: %s\n", zmq_strerror(errno));
    std::abort();
  }
  if (ready == 0) return;
  in_poll_ = true;
  bool notified = false;
  // Snapshot: callbacks may add or remove items, which rebuilds poll_items_ next round.
  ready_ids_.clear();
  ready_events_.clear();
  for (size_t i = 0; i < poll_items_.size(); ++i) {
    if (poll_items_[i].revents == 0) continue;
    if (i == 0) {
      notified = true;
      continue;
    }
    ready_ids_.push_back(poll_ids_[i]);
    ready_events_.push_back(poll_items_[i].revents);
  }
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

RealScheduling& RealScheduling::ForThisThread() {
  if (this_thread_algorithm == nullptr) {
    boost::fibers::use_scheduling_algorithm<RealScheduling>();
  }
  assert(this_thread_algorithm != nullptr);
  return *this_thread_algorithm;
}

}  // namespace granary::net
