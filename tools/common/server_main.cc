#include "tools/common/server_main.h"

#include <cassert>
#include <filesystem>
#include <iostream>
#include <optional>
#include <system_error>

namespace granary::tools {

ServerMain::ServerMain(CLI::App& app, std::string program)
    : app_(app), program_(std::move(program)) {}

void ServerMain::AddListenFlags(const std::string& advertise_help) {
  app_.add_option("--listen", flags_.net.listen, "HOST:PORT to serve on")
      ->required()
      ->check([](const std::string& v) {
        return IsHostPort(v) || v.ends_with(":0") ? "" : "expected HOST:PORT";
      });
  app_.add_option("--advertise", flags_.net.advertise, advertise_help);
}

void ServerMain::AddCommonFlags(const std::string& name_help, const std::string& seed_help) {
  app_.add_option("--curve-keys", flags_.net.curve_keys,
                  "CURVE key directory (server.key/.pub, client.key/.pub, clients/*.pub)")
      ->check(CLI::ExistingDirectory);
  app_.add_flag("--insecure-bind-any", flags_.net.insecure_bind_any,
                "allow a non-loopback --listen without CURVE keys (plaintext, unauthenticated)");
  app_.add_option("--name", flags_.node_name, name_help);
  AddLogLevelFlag(app_, flags_.log_level);
  app_.add_option("--log-file", flags_.log_file, "append the log here instead of stderr");
  app_.add_option("--seed", flags_.seed, seed_help);
}

int ServerMain::Parse(int argc, char** argv) { return ParseFlags(app_, argc, argv, program_); }

int ServerMain::StartLog() {
  // AddLogLevelFlag admits only the names ParseLogLevel knows.
  const std::optional<LogLevel> level = ParseLogLevel(flags_.log_level);
  assert(level.has_value());
  if (!InitLog(flags_.node_name, *level, flags_.log_file)) {
    std::cerr << program_ << ": --log-file " << flags_.log_file << ": cannot open" << std::endl;
    return 2;
  }
  if (flags_.seed == 0) flags_.seed = SeedFromDevice();
  return -1;
}

bool ServerMain::CreateDirectory(const std::string& flag, const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) {
    LogError("cannot create " + flag + " " + dir + ": " + error.message());
    return false;
  }
  return true;
}

net::RealEnvOptions ServerMain::EnvOptions() const {
  net::RealEnvOptions options;
  options.node_name = flags_.node_name;
  options.seed = flags_.seed;
  options.blocking_threads = flags_.blocking_threads;
  return options;
}

int ServerMain::Finish(const Status& status) {
  if (!status.ok()) {
    LogError("failed: " + status.ToString());
    return 1;
  }
  LogInfo("stopped");
  return 0;
}

}  // namespace granary::tools
