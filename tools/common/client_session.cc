#include "tools/common/client_session.h"

#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>

#include "net/local_user.h"
#include "net/zmq_transport.h"
#include "tools/common/curve_keys.h"
#include "tools/common/tool_util.h"

namespace granary::tools {

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
  // Every namenode of a list is reached the same way: the first tells the route.
  options.client_address = LocalAddressToward(FirstOfList(config.namenode));
  options.rpc_timeout = config.rpc_timeout;
  options.datanode_timeout = config.datanode_timeout;
  options.attempts = config.attempts;
  options.read_policy = config.read_policy;

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
