// ServerMain: the bootstrap that granary-namenode and granary-datanode share, written once.
//
// It owns what every server process does the same way: the flags every server has
// (--listen, --advertise, --curve-keys, --insecure-bind-any, --name, --log-level, --log-file,
// --seed), the log, the seed, the real env, the listening transport (secured by CURVE keys
// or loopback only), signal handling and the run loop with its observer. A binary adds its
// own flags, checks them, opens its own storage and builds its own server; nothing else.
//
// Use, in this order: the constructor, AddListenFlags and AddCommonFlags (with the binary's
// own flags around them, in the order --help shows them), Parse, the binary's own checks,
// StartLog, the "starting" line, CreateDirectory, Run. Exit codes are the tools'
// convention: 0 after a clean stop, 1 when the server could not start or failed, 2 on a
// usage error.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "core/common/status.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"
#include "tools/common/log.h"
#include "tools/common/tool_util.h"

namespace granary::tools {

// The flags every server has, after parsing.
struct ServerFlags {
  ServerNetFlags net;
  std::string node_name;  // this node's name in the log; the binary supplies a default
  std::string log_level = "info";
  std::string log_file;
  uint64_t seed = 0;  // 0: drawn from the OS by StartLog
  // Threads that run blocking calls (the store's, the journal's gRPC calls) for the fibers.
  uint32_t blocking_threads = 2;
};

class ServerMain {
 public:
  // `app` must outlive this object; `program` prefixes usage errors ("granary-namenode").
  ServerMain(CLI::App& app, std::string program);

  ServerMain(const ServerMain&) = delete;
  ServerMain& operator=(const ServerMain&) = delete;

  // Adds "--listen HOST:PORT" (required; port 0 lets the OS choose) and "--advertise", whose
  // help text says who reaches the server at that address.
  void AddListenFlags(const std::string& advertise_help);
  // Adds --curve-keys, --insecure-bind-any, --name, --log-level, --log-file and --seed.
  // `name_help` and `seed_help` are those flags' help texts (they name the server's role).
  void AddCommonFlags(const std::string& name_help, const std::string& seed_help);

  // Parses argv: -1 to go on, otherwise the exit code (0 after --help, 2 on a usage error,
  // printed as one line "<program>: <what>").
  int Parse(int argc, char** argv);

  // The parsed flags. The binary may fill node_name's default before StartLog.
  ServerFlags& flags() { return flags_; }
  const std::string& program() const { return program_; }

  // Opens the log (stderr or --log-file) under flags().node_name and draws the seed from the
  // OS when --seed was 0. Returns -1 to go on, or 2 when the log file cannot be opened.
  int StartLog();

  // Creates `dir` and its parents; logs "cannot create <flag> <dir>: <why>" and returns false
  // when it cannot.
  bool CreateDirectory(const std::string& flag, const std::string& dir);

  // Builds the env (named and seeded from the flags) and the listening transport, opens the
  // storage with `open(env)` (a Result<std::unique_ptr<Storage>>; on failure logs
  // "cannot open <storage_what>: <status>"), stops on SIGTERM / SIGINT, and serves the server
  // `make(env, transport, storage)` (a std::unique_ptr<Server>, Server having Status Run())
  // with the observer `watch(env, server)` (it returns the check ServeUntilStopped runs every
  // 250 ms) until stopped. The transport is closed before the
  // storage. Returns the process's exit code: 0 after a clean stop, 1 otherwise.
  template <typename Open, typename Make, typename Watch>
  int Run(const std::string& storage_what, Open open, Make make, Watch watch);

 private:
  net::RealEnvOptions EnvOptions() const;
  // Logs the end of the run and returns the exit code.
  static int Finish(const Status& status);

  CLI::App& app_;
  std::string program_;
  ServerFlags flags_;
};

template <typename Open, typename Make, typename Watch>
int ServerMain::Run(const std::string& storage_what, Open open, Make make, Watch watch) {
  net::RealEnv env(EnvOptions());
  auto transport = CreateServerTransport(env, flags_.net);
  if (!transport.ok()) {
    LogError("cannot listen: " + transport.status().ToString());
    return 1;
  }
  auto storage = open(env);
  if (!storage.ok()) {
    LogError("cannot open " + storage_what + ": " + storage.status().ToString());
    transport->reset();
    return 1;
  }
  net::StopOnSignals(env);
  const Status status = ServeUntilStopped(
      env, [&] { return make(env, **transport, **storage); },
      [&env, &watch](auto& server) { return watch(env, server); });
  transport->reset();
  storage->reset();
  return Finish(status);
}

}  // namespace granary::tools
