// The baseline of RPC benchmarks: a ROUTER socket on a thread of its own, in a ZeroMQ context
// of its own (as a separate process would have), echoing every message as it came. No codec,
// no fibers, no request matching. Listens on 127.0.0.1 (an OS-chosen port) until destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace granary::bench {

class PlainEchoServer {
 public:
  PlainEchoServer() : router_(context_, zmq::socket_type::router) {
    router_.set(zmq::sockopt::linger, 0);
    router_.bind("tcp://127.0.0.1:*");
    endpoint_ = router_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Serve(); });
  }
  ~PlainEchoServer() {
    stop_.store(true);
    thread_.join();
  }
  PlainEchoServer(const PlainEchoServer&) = delete;
  PlainEchoServer& operator=(const PlainEchoServer&) = delete;

  // "tcp://127.0.0.1:PORT", for a DEALER to connect to.
  const std::string& endpoint() const { return endpoint_; }

 private:
  void Serve() {
    zmq::pollitem_t item{router_.handle(), 0, ZMQ_POLLIN, 0};
    while (!stop_.load()) {
      zmq::poll(&item, 1, std::chrono::milliseconds(50));
      // Drain: ZeroMQ signals readiness on edges only.
      for (;;) {
        std::vector<zmq::message_t> frames;
        zmq::message_t frame;
        if (!router_.recv(frame, zmq::recv_flags::dontwait)) break;
        frames.push_back(std::move(frame));
        while (frames.back().more()) {
          zmq::message_t more;
          (void)router_.recv(more);
          frames.push_back(std::move(more));
        }
        for (size_t i = 0; i < frames.size(); ++i) {
          router_.send(frames[i],
                       i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
        }
      }
    }
  }

  zmq::context_t context_;
  zmq::socket_t router_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The client side of the baseline: `calls` round trips of `body` through `dealer` (connected
// to a PlainEchoServer), keeping `in_flight` outstanding.
inline void PlainEchoCalls(zmq::socket_t& dealer, const std::string& body, int in_flight,
                           int calls) {
  int sent = 0;
  int received = 0;
  for (; sent < in_flight && sent < calls; ++sent) dealer.send(zmq::buffer(body));
  while (received < calls) {
    zmq::message_t reply;
    (void)dealer.recv(reply);
    ++received;
    if (sent < calls) {
      dealer.send(zmq::buffer(body));
      ++sent;
    }
  }
}

}  // namespace granary::bench
