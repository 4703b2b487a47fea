#include "tools/common/client_session.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "net/zmq_transport.h"
#include "tools/common/curve_keys.h"
#include "tools/common/tool_util.h"

namespace granary::tools {

std::string DefaultUser() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr) return entry->pw_name;
  return "nobody";
}

std::vector<std::string> LocalGroups(const std::string& user) {
  const passwd* entry = getpwnam(user.c_str());
  if (entry == nullptr) return {};
  int count = 64;
  std::vector<gid_t> ids(count);
  if (getgrouplist(user.c_str(), entry->pw_gid, ids.data(), &count) < 0) {
    ids.resize(count);
    if (getgrouplist(user.c_str(), entry->pw_gid, ids.data(), &count) < 0) return {};
  }
  ids.resize(count);
  std::vector<std::string> names;
  for (gid_t id : ids) {
    if (const group* g = getgrgid(id); g != nullptr) names.emplace_back(g->gr_name);
    if (names.size() >= 64) break;  // the namenode admits at most kGroupsPerUserMax
  }
  return names;
}

int RunClient(const ClientConfig& config,
              const std::function<int(net::RealEnv& env, FileSystem& fs)>& body) {
  net::ZmqTransportOptions transport_options;
  if (!config.curve_keys.empty()) {
    const Status keys = ConfigureClientCurve(config.curve_keys, transport_options);
    if (!keys.ok()) {
      std::cerr << config.program << ": CURVE keys " << config.curve_keys << ": " << keys.ToString()
                << std::endl;
      return 1;
    }
  }
  const uint64_t seed = SeedFromDevice();
  net::RealEnvOptions env_options;
  env_options.node_name = config.program;
  env_options.seed = seed;
  env_options.blocking_threads = 4;  // local file reads and writes of put and get
  net::RealEnv env(env_options);
  auto transport = net::ZmqTransport::Create(env, transport_options);
  if (!transport.ok()) {
    std::cerr << config.program << ": " << transport.status().ToString() << std::endl;
    return 1;
  }

  ClientOptions options;
  options.namenode = Address{config.namenode};
  options.user.set_user(config.user.empty() ? DefaultUser() : config.user);
  const std::vector<std::string> groups =
      config.groups.empty() ? LocalGroups(options.user.user()) : config.groups;
  for (const std::string& g : groups) options.user.add_groups(g);
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  options.client_name = config.program + "/" + host + "/" + std::to_string(getpid()) + "/" +
                        std::to_string(seed % 1000000);
  options.client_address = LocalAddressToward(config.namenode);
  options.rpc_timeout = config.rpc_timeout;
  options.datanode_timeout = config.datanode_timeout;
  options.attempts = config.attempts;

  int code = 1;
  net::StopOnSignals(env);
  const Status status = env.RunMain([&]() -> Status {
    FileSystem fs(env, **transport, options);
    code = body(env, fs);
    return Status::Ok();
  });
  transport->reset();
  if (!status.ok()) {
    std::cerr << config.program << ": interrupted: " << status.ToString() << std::endl;
    return code == 0 ? 1 : code;
  }
  return code;
}

}  // namespace granary::tools
