// A client process's runtime: a RealEnv, a calling-only ZmqTransport (CURVE when a key
// directory is given) and a FileSystem, with a function run on the env's main fiber.
// Used by the `granary` CLI and by `granary-cluster` (which asks the namenode for reports).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/time.h"
#include "net/local_user.h"
#include "net/real_env.h"

namespace granary::tools {

struct ClientConfig {
  std::string namenode;             // HOST:PORT, or HOST:PORT,HOST:PORT,... (HA)
  std::string user;                 // empty: $USER, else the login name of the process
  std::vector<std::string> groups;  // empty: the local groups of `user`, when it exists here
  std::string curve_keys;           // key directory (client.key/.pub, server.pub); empty: none
  Duration rpc_timeout = std::chrono::seconds(10);
  Duration datanode_timeout = std::chrono::seconds(30);
  uint32_t attempts = 8;
  // --read-policy / $GRANARY_READ_POLICY.
  ReadPolicy read_policy = ClientOptions().read_policy;
  std::string program = "granary";  // names the client in lease holders
};

using net::DefaultUser;
using net::LocalGroups;

// Runs `body` on the main fiber of a fresh client runtime and returns its exit code. A
// runtime that cannot be built (bad keys) prints one line "<program>: <reason>" and gives 1.
// SIGINT / SIGTERM stop the env: every pending call then fails with kNodeDown.
int RunClient(const ClientConfig& config,
              const std::function<int(net::RealEnv& env, FileSystem& fs)>& body);

}  // namespace granary::tools
