// Small pieces shared by the tools' mains: flag parsing with the tools' error convention,
// transports built from the common flags, addresses.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <memory>
#include <string>

#include "core/common/status.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"
#include "tools/common/log.h"

namespace granary::tools {

// Parses argv. Returns -1 when the program should go on; otherwise the exit code: 0 after
// --help, 2 after a usage error, which is printed as one line "<program>: <what>" on stderr.
int ParseFlags(CLI::App& app, int argc, char** argv, const std::string& program);

// Adds "--log-level LEVEL" (validated) to `app`, storing the text in `level`.
CLI::Option* AddLogLevelFlag(CLI::App& app, std::string& level);

// A seed for RealEnv from the OS (logged by the caller).
uint64_t SeedFromDevice();

// The flags every server shares.
struct ServerNetFlags {
  std::string listen;
  std::string advertise;
  std::string curve_keys;
  bool insecure_bind_any = false;
  // A datanode calls out with the key directory's datanode pair (curve_keys.h), not its
  // client pair: only datanode keys may register and report blocks.
  bool datanode_key = false;
};

// Creates the listening transport of a server from its flags and logs how it is secured.
Result<std::unique_ptr<net::ZmqTransport>> CreateServerTransport(net::RealEnv& env,
                                                                 const ServerNetFlags& flags);

// "host:port" -> "host" (brackets of an IPv6 host kept off); the text itself when it has no
// port.
std::string HostOf(const std::string& address);

// True for localhost, ::1 and 127.x.y.z.
bool IsLoopbackHost(const std::string& host);

// The local IP address this machine would use to reach `address` ("host:port"), for replica
// ordering; empty when it cannot be told.
std::string LocalAddressToward(const std::string& address);

// True when `text` is "host:port" with a port in 1..65535.
bool IsHostPort(const std::string& text);
// The first item of a comma-separated list (the whole text when it has no comma).
std::string FirstOfList(const std::string& text);

// Runs the server that `make()` builds (a unique_ptr to something with Status Run()) on the
// env's main fiber until SIGTERM or SIGINT, and beside it, every 250 ms, the check that
// `watch(server)` returns (it logs changes of state). A stop by signal (kNodeDown) is a clean
// stop: ok. Call StopOnSignals(env) first.
template <typename Make, typename Watch>
Status ServeUntilStopped(net::RealEnv& env, Make make, Watch watch) {
  return env.RunMain([&]() -> Status {
    auto server = make();
    auto alive = std::make_shared<bool>(true);
    env.Spawn("observer", [&env, check = watch(*server), alive]() mutable {
      for (;;) {
        if (!env.SleepFor(std::chrono::milliseconds(250)).ok() || !*alive) return;
        check();
      }
    });
    Status run = server->Run();
    *alive = false;
    if (run.code() == StatusCode::kNodeDown) {
      LogInfo("stopping");
      return Status::Ok();
    }
    return run;
  });
}

}  // namespace granary::tools
