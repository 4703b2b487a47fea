// Handoff<T>: one value passed from a spawned fiber to the fiber that spawned it, with an
// untimed wait that cannot hang.
//
//   Handoff<Status> done(Status(StatusCode::kNodeDown, "never ran"));
//   env.Spawn("work", [sender = done.TakeSender()] { sender->Set(Work()); });
//   Status status = done.Wait();
//
// If the spawned function is destroyed without setting a value (Env::Spawn on a crashed
// process drops it unrun, and so does a closed FiberGroup), the waiter gets the fallback.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cassert>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

namespace granary {

template <typename T>
class Handoff {
 private:
  struct State {
    boost::fibers::mutex mutex;
    boost::fibers::condition_variable ready;
    std::optional<T> value;
  };

 public:
  // The setting side. Shared by every copy of the spawned function; the last copy to go
  // delivers the fallback if nothing was set.
  class Sender {
   public:
    Sender(std::shared_ptr<State> state, T fallback)
        : state_(std::move(state)), fallback_(std::move(fallback)) {}
    ~Sender() {
      if (!state_->value) Set(std::move(fallback_));
    }
    Sender(const Sender&) = delete;
    Sender& operator=(const Sender&) = delete;

    // Delivers `value`; later calls are ignored.
    void Set(T value) {
      std::unique_lock lock(state_->mutex);
      if (state_->value) return;
      state_->value = std::move(value);
      state_->ready.notify_all();
    }

   private:
    std::shared_ptr<State> state_;
    T fallback_;
  };

  explicit Handoff(T fallback)
      : state_(std::make_shared<State>()),
        sender_(std::make_shared<Sender>(state_, std::move(fallback))) {}

  // The sender, for the spawned function to capture. Call once.
  std::shared_ptr<Sender> TakeSender() {
    assert(sender_ != nullptr);
    return std::move(sender_);
  }

  // Waits until a value was set (or the sender was dropped) and returns it. Call once.
  T Wait() {
    assert(sender_ == nullptr);
    std::unique_lock lock(state_->mutex);
    state_->ready.wait(lock, [this] { return state_->value.has_value(); });
    return std::move(*state_->value);
  }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<Sender> sender_;
};

}  // namespace granary
