// granary-mount: Granary as a directory, over FUSE (libfuse3's low-level API).
//
//   granary-mount MOUNTPOINT [--namenode HOST:PORT] [-f] [-o OPT[,OPT...]]...
//                 [--curve-keys DIR] [--timeout-ms MS] [--retries N]
//   options (-o): ro, dataset, allow_other, user=NAME, entry_timeout=S, attr_timeout=S,
//                 negative_timeout=S, write_window=BYTES, threads=N, cache_bytes=BYTES,
//                 ignore_utimes, stats, debug; others go to the kernel (fsname=...)
//
// `dataset` is a preset for a training set that does not change while it is mounted: ro, every
// cache timeout an hour, and a cache of small files' bytes of 4 GiB (at most a quarter of the
// machine's memory); options given beside it, before or after, override its values. Measured:
// a DataLoader epoch through it 0.70x the native loader, against 0.10-0.12x with the defaults
// (bench/python/MOUNT.md), which stay as they are because a shared, changing tree needs 1 s
// caches and a mount that writes.
//
// The namenode comes from --namenode or $GRANARY_NAMENODE. Without -f the process detaches
// once mounted. SIGTERM, SIGINT and SIGHUP unmount and exit 0; `fusermount3 -u MOUNTPOINT`
// does too. If the process dies, the kernel answers ENOTCONN on the mount until it is
// unmounted. Exit: 0 after a clean unmount, 1 when the mount or the cluster failed, 2 on a
// usage error. Semantics: README.md, "The mount".
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "tools/common/tool_util.h"
#include "tools/mount/client_loop.h"
#include "tools/mount/mount_server.h"

namespace {

namespace mount = granary::mount;

int Usage(const std::string& message) {
  std::cerr << "granary-mount: " << message << std::endl;
  return 2;
}

constexpr double kDatasetTimeoutSeconds = 3600;
constexpr uint64_t kDatasetCacheBytes = 4ull << 30;

// The `dataset` preset (see the top of this file), applied before the options given.
void ApplyDatasetPreset(mount::MountOptions& options, std::vector<std::string>& kernel) {
  options.read_only = true;
  kernel.push_back("ro");
  options.entry_timeout_s = kDatasetTimeoutSeconds;
  options.attr_timeout_s = kDatasetTimeoutSeconds;
  options.negative_timeout_s = kDatasetTimeoutSeconds;
  const long pages = sysconf(_SC_PHYS_PAGES);
  const long page_bytes = sysconf(_SC_PAGE_SIZE);
  uint64_t cache = kDatasetCacheBytes;
  if (pages > 0 && page_bytes > 0) {
    cache = std::min(cache, static_cast<uint64_t>(pages) * static_cast<uint64_t>(page_bytes) / 4);
  }
  options.cache_bytes = std::clamp(cache, mount::InlineCache::kInlineCacheBytesMin,
                                   mount::InlineCache::kInlineCacheBytesMax);
}

// Splits -o values into the mount's own options and those for libfuse and the kernel.
// Returns an error message, empty when every option was understood.
std::string ParseOptions(const std::vector<std::string>& values, mount::MountOptions& options,
                         std::vector<std::string>& kernel) {
  for (const std::string& value : values) {
    std::stringstream list(value);
    for (std::string item; std::getline(list, item, ',');) {
      if (item == "dataset") ApplyDatasetPreset(options, kernel);
    }
  }
  for (const std::string& value : values) {
    std::stringstream list(value);
    std::string item;
    while (std::getline(list, item, ',')) {
      if (item.empty()) continue;
      const size_t eq = item.find('=');
      const std::string key = item.substr(0, eq);
      const std::string arg = eq == std::string::npos ? "" : item.substr(eq + 1);
      try {
        if (key == "ro") {
          options.read_only = true;
          kernel.push_back("ro");
        } else if (key == "dataset") {
          if (!arg.empty()) return "dataset takes no value";  // applied above
        } else if (key == "user") {
          if (arg.empty()) return "user= needs a name";
          options.fixed_user = arg;
        } else if (key == "entry_timeout") {
          options.entry_timeout_s = std::stod(arg);
        } else if (key == "attr_timeout") {
          options.attr_timeout_s = std::stod(arg);
        } else if (key == "negative_timeout") {
          options.negative_timeout_s = std::stod(arg);
        } else if (key == "write_window") {
          options.write_window_bytes = std::stoull(arg);
          if (options.write_window_bytes < 4096 || options.write_window_bytes > (1ull << 30)) {
            return "write_window must be 4096..1073741824 bytes";
          }
        } else if (key == "cache_bytes") {
          options.cache_bytes = std::stoull(arg);
          if (options.cache_bytes < mount::InlineCache::kInlineCacheBytesMin ||
              options.cache_bytes > mount::InlineCache::kInlineCacheBytesMax) {
            return "cache_bytes must be 1048576..68719476736 bytes";
          }
        } else if (key == "threads") {
          options.fuse_threads = static_cast<uint32_t>(std::stoul(arg));
          if (options.fuse_threads < 1 || options.fuse_threads > 64) {
            return "threads must be 1..64";
          }
        } else if (key == "stats") {
          options.print_stats = true;
        } else if (key == "ignore_utimes") {
          options.ignore_utimes = true;
        } else if (key == "debug") {
          kernel.push_back("debug");  // libfuse prints every request
        } else if (key == "rw" || key == "default_permissions" || key == "allow_other" ||
                   key == "allow_root" || key == "fsname" || key == "subtype" ||
                   key == "auto_unmount" || key == "noatime" || key == "nodev" || key == "nosuid" ||
                   key == "noexec" || key == "max_read") {
          kernel.push_back(item);
        } else {
          return "unknown option -o " + item;
        }
      } catch (const std::exception&) {
        return "bad value in -o " + item;
      }
    }
  }
  if (options.entry_timeout_s < 0 || options.attr_timeout_s < 0 || options.negative_timeout_s < 0) {
    return "timeouts must not be negative";
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-mount: the Granary file system as a directory (FUSE)"};
  std::string mountpoint, namenode, curve_keys;
  bool foreground = false;
  std::vector<std::string> option_values;
  uint64_t timeout_ms = 10000;
  uint32_t attempts = 8;
  app.add_option("mountpoint", mountpoint, "an existing empty directory")->required();
  app.add_option("--namenode", namenode, "HOST:PORT of the namenode")->envname("GRANARY_NAMENODE");
  app.add_flag("-f,--foreground", foreground, "stay in the foreground");
  app.add_option("-o", option_values, "mount options, comma-separated (repeatable)");
  app.add_option("--curve-keys", curve_keys, "CURVE key directory")->envname("GRANARY_CURVE_KEYS");
  app.add_option("--timeout-ms", timeout_ms, "deadline of each call to the namenode (ms)")
      ->check(CLI::Range(uint64_t{10}, uint64_t{3600000}));
  app.add_option("--retries", attempts, "attempts per call to the namenode (1..16)")
      ->check(CLI::Range(1u, 16u));
  if (const int code = granary::tools::ParseFlags(app, argc, argv, "granary-mount"); code >= 0) {
    return code;
  }
  if (namenode.empty())
    return Usage("no namenode: pass --namenode HOST:PORT or set GRANARY_NAMENODE");
  mount::MountOptions options;
  std::vector<std::string> kernel{"fsname=granary:" + namenode, "subtype=granary"};
  if (std::string error = ParseOptions(option_values, options, kernel); !error.empty()) {
    return Usage(error);
  }
  if (access(mountpoint.c_str(), F_OK) != 0) return Usage("no such directory: " + mountpoint);

  mount::ClientLoopOptions loop_options;
  loop_options.namenode = namenode;
  loop_options.curve_keys = curve_keys;
  loop_options.rpc_timeout = std::chrono::milliseconds(timeout_ms);
  loop_options.attempts = attempts;
  return mount::RunMount(mountpoint, foreground, kernel, loop_options, options);
}
