// RunMount: the session's life — check the cluster, mount, detach, serve, unmount.
#include <signal.h>

#include <iostream>

#include "net/local_user.h"
#include "tools/mount/mount_server.h"

namespace granary::mount {
namespace {

// Starts the client loop with the termination signals blocked in its threads, so that they
// reach the FUSE thread, whose blocking read they must interrupt to end the session.
Result<std::unique_ptr<ClientLoop>> StartLoop(const ClientLoopOptions& options) {
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGTERM);
  sigaddset(&blocked, SIGINT);
  sigaddset(&blocked, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &blocked, &previous);
  Result<std::unique_ptr<ClientLoop>> loop = ClientLoop::Start(options);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return loop;
}

// One call to the cluster before mounting, so that a wrong address fails here, loudly.
Status CheckCluster(const ClientLoopOptions& loop_options, const MountOptions& options) {
  Result<std::unique_ptr<ClientLoop>> loop = StartLoop(loop_options);
  if (!loop.ok()) return loop.status();
  ClientLoop& raw = **loop;
  const std::string user = options.fixed_user.empty() ? net::DefaultUser() : options.fixed_user;
  return raw.Call([&]() -> Status {
    Result<FileSystem*> fs = raw.FileSystemFor(user, net::LocalGroups(user));
    if (!fs.ok()) return fs.status();
    Result<proto::FileStatus> root = (*fs)->Stat("/");
    return root.ok() ? Status::Ok() : root.status();
  });
}

}  // namespace

int RunMount(const std::string& mountpoint, bool foreground,
             const std::vector<std::string>& kernel_options, const ClientLoopOptions& loop_options,
             const MountOptions& options) {
  if (const Status ok = CheckCluster(loop_options, options); !ok.ok()) {
    std::cerr << "granary-mount: cluster at " << loop_options.namenode << ": " << ok.ToString()
              << std::endl;
    return 1;
  }
  std::string joined;
  bool debug = false;
  for (const std::string& o : kernel_options) {
    if (o == "debug") {
      debug = true;
      continue;
    }
    joined += (joined.empty() ? "" : ",") + o;
  }
  std::vector<std::string> arguments{"granary-mount", "-o", joined};
  if (debug) arguments.push_back("-d");
  std::vector<char*> argv;
  for (std::string& a : arguments) argv.push_back(a.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());

  MountServer server(options);
  const fuse_lowlevel_ops ops = MountServer::Operations();
  fuse_session* session = fuse_session_new(&args, &ops, sizeof(ops), &server);
  if (session == nullptr) {
    std::cerr << "granary-mount: fuse_session_new failed (options: " << joined << ")" << std::endl;
    return 1;
  }
  int code = 1;
  if (fuse_set_signal_handlers(session) != 0) {
    std::cerr << "granary-mount: cannot install signal handlers" << std::endl;
  } else if (fuse_session_mount(session, mountpoint.c_str()) != 0) {
    std::cerr << "granary-mount: cannot mount on " << mountpoint << std::endl;
    fuse_remove_signal_handlers(session);
  } else {
    fuse_daemonize(foreground ? 1 : 0);
    Result<std::unique_ptr<ClientLoop>> loop = StartLoop(loop_options);
    if (!loop.ok()) {
      std::cerr << "granary-mount: " << loop.status().ToString() << std::endl;
    } else {
      server.set_loop(loop->get());
      int served = 0;
      if (options.fuse_threads <= 1) {
        served = fuse_session_loop(session);
      } else {
        fuse_loop_config config{};
        config.clone_fd = 0;
        config.max_idle_threads = options.fuse_threads;
        served = fuse_session_loop_mt(session, &config);
      }
      // Readers and writers die on the loop, before it stops.
      (void)(*loop)->Call([&server, &options, raw = loop->get()] {
        server.DropHandles();
        if (options.print_stats) {
          std::cerr << "granary-mount: namenode calls:";
          for (const auto& [method, count] : raw->NamenodeCalls()) {
            std::cerr << " " << method << "=" << count;
          }
          std::cerr << std::endl;
        }
        return Status::Ok();
      });
      (*loop)->Stop();
      // A termination signal ends the loop with its number: a clean stop.
      const bool signalled = served == SIGTERM || served == SIGINT || served == SIGHUP;
      code = served == 0 || signalled ? 0 : 1;
    }
    fuse_session_unmount(session);
    fuse_remove_signal_handlers(session);
  }
  fuse_session_destroy(session);
  fuse_opt_free_args(&args);
  return code;
}

}  // namespace granary::mount
