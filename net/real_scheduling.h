// The Boost.Fiber scheduling algorithm of the real runtime (DESIGN.md §4): one FIFO ready
// queue on one OS thread, and an I/O wait that never blocks a fiber.
//
// When no fiber is ready, Boost's dispatcher calls suspend_until(tp), tp being the earliest
// deadline of a sleeping fiber. There the thread waits in poll(2) on every registered
// ZeroMQ socket and plain file descriptor, and on an eventfd that notify() (any thread)
// writes, until something is readable or tp passes; then it runs the callbacks of the ready
// sockets, which complete waits and spawn fibers. While fibers stay ready, the registered
// sockets are still polled without waiting once per round of the ready queue (at most every
// kPollEveryPicks picks), so a fiber that keeps yielding cannot starve the network.
//
// Callbacks run on the dispatcher context: they may wake fibers (context::schedule) and spawn
// fibers, but must not suspend. ZeroMQ signals readiness on edges only, so a callback drains
// its socket until it would block.
//
// How sockets are polled (cheaper than zmq_poll, which asks every socket for ZMQ_EVENTS, two
// system calls each, on every call): one poll() on the eventfd, the raw fds and every
// socket's ZMQ_FD. ZMQ_FD becomes readable when the socket has commands to process; only
// then, or when the socket is "touched", is ZMQ_EVENTS read. A socket is touched when it is
// registered, when its events change, and when Touch() is called: whoever sends on a socket
// outside its callback (a fiber) calls Touch, because a send may process the socket's
// commands and so consume the edge that announced a message. A callback that drained its
// socket until it would block leaves it clean (the failed receive processed every command).
//
// Flush hooks run at the start of every poll, before the wait: a transport queues the small
// messages its fibers send during a round of the ready queue and hands them to ZeroMQ there,
// several in one frame, so that ZeroMQ's per-message work and the wake-ups of its I/O thread
// are paid once per round instead of once per message.
//
// Threading: one instance per thread, installed by ForThisThread() on that thread and used only
// there, except notify(), which any thread may call (Boost calls it when another thread
// schedules one of this thread's fibers, and RealEnv::RequestStop uses it).
#pragma once

#include <poll.h>
#include <zmq.h>

#include <boost/fiber/algo/algorithm.hpp>
#include <boost/fiber/context.hpp>
#include <boost/fiber/scheduler.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

namespace granary::net {

class RealScheduling final : public boost::fibers::algo::algorithm {
 public:
  // Polls the registered sockets without waiting after this many picks of a busy queue.
  static constexpr uint32_t kPollEveryPicks = 16;

  using PollId = uint64_t;
  // Called with the events that were ready (ZMQ_POLLIN, ZMQ_POLLOUT, ZMQ_POLLERR).
  using PollCallback = std::function<void(short revents)>;

  RealScheduling();
  ~RealScheduling() override;

  void awakened(boost::fibers::context* ctx) noexcept override;
  boost::fibers::context* pick_next() noexcept override;
  bool has_ready_fibers() const noexcept override;
  void suspend_until(std::chrono::steady_clock::time_point const& until) noexcept override;
  void notify() noexcept override;

  // Registers a ZeroMQ socket (`zmq_socket` non-null) or a file descriptor (`fd`, with a null
  // socket) to be polled for `events`. The callback runs on this thread, on the dispatcher.
  PollId AddSocket(void* zmq_socket, short events, PollCallback callback);
  PollId AddFd(int fd, short events, PollCallback callback);
  void SetEvents(PollId id, short events);
  // Makes the next poll read the socket's ZMQ_EVENTS: call after sending on it from a fiber.
  void Touch(PollId id);
  // After Remove returns the callback is never called again (also when removed by a callback
  // of the same poll round).
  void Remove(PollId id);
  size_t registered() const { return items_.size(); }

  // Registers `hook`, run on the dispatcher at the start of every PollOnce; it may send on
  // sockets (and must Touch them) and wake fibers, but not suspend. It returns when it wants
  // to run again at the latest (time_point::max(): not before something else happens), e.g.
  // kFlushRetryMs from now when it holds something it could not send yet, or the next
  // deadline of the waits it ends itself; the poll waits no longer.
  using FlushHook = std::function<std::chrono::steady_clock::time_point()>;
  static constexpr int kFlushRetryMs = 1;
  PollId AddFlushHook(FlushHook hook);
  void RemoveFlushHook(PollId id);

  // Called after every wake-up through notify(), on this thread's dispatcher.
  void set_on_notified(std::function<void()> hook) { on_notified_ = std::move(hook); }

  // Polls once, waiting at most `timeout_ms` (-1: forever, 0: not at all), and runs the
  // callbacks of what is ready.
  void PollOnce(long timeout_ms);

  // The algorithm installed on this thread; installs it on first use. A thread already
  // running another algorithm cannot host a RealEnv (asserted).
  static RealScheduling& ForThisThread();

 private:
  struct Item {
    void* socket;
    int fd;  // the socket's ZMQ_FD for a socket
    short events;
    PollCallback callback;
    bool removed;
    bool touched;  // a socket whose ZMQ_EVENTS must be read at the next poll
  };

  // The events of a socket item that are ready now (ZMQ_EVENTS masked by item.events).
  static short SocketEvents(const Item& item);

  // The steps of PollOnce, in order.
  // Runs the flush hooks; returns `timeout_ms` shortened to the earliest retry one asks for.
  long RunFlushHooks(long timeout_ms);
  // Rebuilds poll_fds_ / poll_ids_ from items_ when they changed.
  void RebuildPollSet();
  // Queues in ready_ids_ the touched sockets that are ready now.
  void CollectTouched();
  // Queues in ready_ids_ what poll() reported in poll_fds_ (`ready` of them); true when the
  // eventfd was among them.
  bool CollectPolled(int ready);
  // Drains the eventfd when `notified`, runs the callbacks of ready_ids_, then drops the
  // items removed meanwhile.
  void DispatchReady(bool notified);

  boost::fibers::scheduler::ready_queue_type ready_queue_;
  int event_fd_ = -1;
  uint32_t picks_since_poll_ = 0;
  PollId next_id_ = 1;
  std::map<PollId, Item> items_;
  bool items_changed_ = true;
  bool in_poll_ = false;
  std::vector<PollId> removed_;
  // The poll set, rebuilt when items change; index 0 is the eventfd.
  std::vector<pollfd> poll_fds_;
  std::vector<PollId> poll_ids_;
  // Touched socket items, checked (ZMQ_EVENTS) at the next poll; may hold removed ids.
  std::vector<PollId> touched_;
  std::vector<PollId> ready_ids_;
  std::vector<short> ready_events_;
  std::function<void()> on_notified_;
  std::vector<std::pair<PollId, FlushHook>> flush_hooks_;
};

}  // namespace granary::net
