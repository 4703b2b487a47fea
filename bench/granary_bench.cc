// granary-bench: end-to-end figures of a real Granary cluster on this machine, each next to a
// baseline measured in the same run (STYLE.md 12). It prints one JSON object per line and
// asserts nothing about speed.
//
//   granary-bench [--namenode HOST:PORT] [--dir DIR] [--datanodes N] [--port-base P]
//                 [--files N] [--sizes 4096,65536] [--clients 1,32] [--large-bytes B]
//                 [--rpc-calls N] [--rpc-rounds R] [--tcp-bytes B] [--calibrate FILE]
//                 [--moosefs-script PATH]
//                 [--no-moosefs] [--user NAME] [--only rpc,tcp,small,large,append,moosefs]
//                 [--window-seconds S [--warmup-seconds W] [--rounds R] [--window-max-files N]]
//   granary-bench --tokens [--dir DIR] [--datanodes N] [--files N] [--sizes B] [--clients C]
//                 [--large-bytes B] [--token-rounds R]   (bench/token_bench.h: block access
//                 tokens on against off, reads)
//   granary-bench --ha [--dir DIR] [--datanodes N] [--port-base P] [--files N] [--clients 1,32]
//                 [--ha-rounds R] [--ha-failovers K] [--ha-in-flight 1,2,4]   (bench/ha_bench.h:
//                 one namenode against three on etcd, and the time to fail over)
//   granary-bench --spread-reads [--dir DIR] [--datanodes N] [--port-base P] [--files N]
//                 [--clients 32] [--spread-rounds R]   (bench/read_spread_bench.h: 4 KiB
//                 reads spread over three namenodes against reads from the active only)
//
// Without --namenode it starts two clusters of its own with `granary-cluster` (found beside
// this binary or given by --cluster-bin) under DIR: one with --inline-threshold 65536 and one
// with 0 (every file in blocks, the HDFS behaviour), and stops them at the end. With
// --namenode it measures that cluster only (its threshold, whatever it is, is reported as
// "inline": null) and prints no inline ratios.
//
// --only runs the parts named (default: all); the clusters start only when a part needs one.
//
// --window-seconds S measures the small and large files by time instead of by count: each
// phase (creates, stats, reads; the large file's writes and reads) runs W seconds of warm-up
// (--warmup-seconds, not counted), then S seconds or until --window-max-files creates; R
// rounds (--rounds), each over every configuration in turn (interleaved). Each configuration
// prints a "small_files_round" / "large_file_round" line per round, then its usual line with
// the median of the rounds and, per figure, `<figure>_min`, `<figure>_max` and
// `<figure>_rounds`. A configuration's directory is removed at the start of each of its
// rounds (one round's files at most stay on disk); reads and stats cycle over the files the
// round created. The calibration's CPU per operation is then every round's windows together.
//
// Lines ("bench" names the kind):
//   machine      cores, CPU model, kernel, memory, load average at the start
//   cluster      a cluster started (address, inline threshold, datanodes)
//   small_files  create / stat / read files per second for one (inline, file size, clients):
//                `clients` fibers of one client process share the files; a create is
//                FileSystem::WriteFile (create, write, close), a read ReadFile, a stat Stat
//   large_file   one client writing then reading `bytes` sequentially (replication 3), MB/s
//                (1 MB = 10^6 bytes); the file is read --large-reads times, each read just
//                after as many bytes went through loopback TCP (medians; the ratio line is
//                the median of the per-read ratios)
//   rpc          round trips per second of our RPC layer (ZmqTransport on RealEnv fibers,
//                server on its own thread) and of a plain cppzmq ROUTER/DEALER echo (server
//                on its own thread, its own ZeroMQ context), both with 64 requests in flight
//                from one client thread, 100-byte bodies, loopback TCP; R interleaved rounds
//                (ours, then the echo), medians of the rates and of the per-round ratios
//   tcp_loopback plain TCP throughput over loopback (one sender, one receiver thread), MB/s
//   moosefs      small-file create/read through a MooseFS mount started by
//                /work/shared/peers/moosefs.sh, or why it could not run
//   ratio        name, value, and what it divides
//   calibration  the file written by --calibrate
//
// Calibration file (--calibrate FILE), JSON, for the simulator's models:
//   {
//     "format": "granary-calibration/1",
//     "machine": {...the machine line...},
//     "rpc_round_trip_us": mean round trip of one empty-handler RPC, one in flight,
//     "namenode_latency_us": {"create": .., "stat": .., "open": .., "list": ..},
//         mean latency seen by one client: create = a 4 KiB inline create-write-close,
//         stat = nn.Stat, open = opening and reading a 4 KiB inline file, list = one page of
//         up to 100 entries;
//     "namenode_service_us": {"create": .., "stat": .., "open": .., "list": ..},
//         the same minus rpc_round_trip_us (at least 0): the namenode's service time;
//     "datanode_us_per_mib": {"write": .., "read": ..},
//         microseconds per MiB of a sequential single-client write (replication 3, the
//         whole pipeline) and read, i.e. 2^20 / throughput;
//     "inline_threshold_bytes": the threshold of the cluster measured,
//   and, when the bench started its own two clusters ("format": "granary-calibration/2"):
//     "rpc_cpu_us_per_call": CPU of one empty-handler RPC, one in flight, both ends (they are
//         threads of the bench); "rpc_cpu_us_per_call_loaded": the same with 64 in flight
//         (the rpc line's rounds), where ends that are busy save their wake-ups;
//     "cpu_us_per_op": {"create_inline"|"stat_inline"|"open_inline"|"create_blocks"|
//         "stat_blocks"|"open_blocks": {"client": .., "namenode": .., "datanodes": ..}}:
//         CPU per operation, one client, of the bench, the namenode and all datanodes
//         together (process CPU of all their threads, bench/process_cpu.h), on the inline
//         cluster and on the blocks one; "open" is an open and a whole read;
//     "latency_us": the same operations' mean latencies;
//     "cpu_us_per_op_loaded": the same CPU figures with the most clients measured (not
//         used by the simulator's fit: they show how CPU per operation falls under load);
//     "file_bytes": their file size;
//     "cpu_us_per_mib": {"write"|"read": {"client", "namenode", "datanodes"}}: CPU per MiB
//         of the large file (replication 3), "large_file_bytes" its size;
//     "sync_us": the latency of a 4 KiB append and fdatasync in the bench directory (the
//         mean of the medians of 50 before the calibrated phases and 50 after them);
//     "dir_sync_us": the same for fsync of the directory after creating a file in it;
//     "sync_cpu_us", "dir_sync_cpu_us": the CPU the probing thread spent per sync (the
//         system call's share, which overlaps the wait);
//     "sync_us_quantiles", "dir_sync_us_quantiles": the same syncs' distributions: the 400
//         probed (before and after), sorted, each sync drawn from them by the simulator;
//     "rpc_round_trip_us_one_core", "rpc_cpu_us_per_call_one_core": the one-in-flight RPC
//         again with both ends on one CPU (wake-ups on a core that runs anyway);
//     "sync_concurrency": [{"threads", "median_us", "p99_us", "per_s"}]: file syncs with 1, 2,
//         4 and 8 threads syncing at once (the host disk's concurrency);
//     "main_thread_share": {"client", "namenode", "datanodes"}: the share of each class's CPU
//         in those phases that its processes' main threads (where the fibers run) spent
//   }
// sim/runs/scenario.cc (ApplyCalibration) says how the simulator turns these into its costs.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <vector>
#include <zmq.hpp>

#include "bench/bench_client.h"
#include "bench/ha_bench.h"
#include "bench/plain_echo.h"
#include "bench/process_cpu.h"
#include "bench/read_spread_bench.h"
#include "bench/token_bench.h"
#include "core/client/file_system.h"
#include "core/common/limits.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"

namespace granary::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace stdfs = std::filesystem;

constexpr int kRpcInFlight = 64;
constexpr uint64_t kInlineThresholdOn = 64 * 1024;
constexpr size_t kLargeChunkBytes = 4 << 20;
constexpr int kListCalls = 200;
constexpr uint32_t kListPage = 100;
// Syncs of each calibration probe (before and after the calibrated phases): 400 samples in
// all give the distribution's 100 quantiles.
constexpr int kSyncProbes = 200;

struct Flags {
  std::string namenode;
  std::string dir;
  std::string cluster_bin;
  uint32_t datanodes = 3;
  uint32_t port_base = 0;
  uint32_t files = 1000;
  std::vector<uint64_t> sizes = {4096, 65536};
  std::vector<uint32_t> clients = {1, 32};
  uint64_t large_bytes = 1ull << 30;
  uint32_t rpc_calls = 100000;
  uint32_t rpc_rounds = 5;
  uint32_t large_reads = 3;
  uint64_t tcp_bytes = 1ull << 30;
  std::string calibrate;
  std::string moosefs_script = "/work/shared/peers/moosefs.sh";
  bool no_moosefs = false;
  std::string user;
  std::vector<std::string> only = {"rpc", "tcp", "small", "large", "append", "moosefs"};
  bool ha = false;
  uint32_t ha_rounds = 3;
  bool tokens = false;
  uint32_t token_rounds = 5;
  uint32_t ha_failovers = 5;
  bool spread_reads = false;
  uint32_t spread_rounds = 5;
  std::vector<uint32_t> ha_in_flight;
  // Measuring by time (--window-seconds > 0): each small-file phase and the large file run
  // for a warm-up, then a window (or until window_max_files), in `rounds` rounds that each
  // take every configuration in turn.
  double warmup_seconds = 0.5;
  double window_seconds = 0;
  uint32_t rounds = 1;
  uint32_t window_max_files = 20000;
  bool Runs(std::string_view part) const {
    return std::find(only.begin(), only.end(), part) != only.end();
  }
};

void Print(const json& line) { std::cout << line.dump() << std::endl; }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double Round(double value, int digits = 3) {
  double scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  return static_cast<double>(static_cast<long long>(value * scale + (value >= 0 ? 0.5 : -0.5))) /
         scale;
}

std::string ReadFirstLine(const std::string& path, const std::string& prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        std::string value = line.substr(colon + 1);
        value.erase(0, value.find_first_not_of(" \t"));
        return value;
      }
    }
  }
  return "";
}

json Machine() {
  utsname name{};
  uname(&name);
  struct sysinfo info {};
  sysinfo(&info);
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  return json{{"bench", "machine"},
              {"cores", std::thread::hardware_concurrency()},
              {"cpu", ReadFirstLine("/proc/cpuinfo", "model name")},
              {"kernel", std::string(name.release)},
              {"memory_bytes", static_cast<uint64_t>(info.totalram) * info.mem_unit},
              {"load_average_1m", Round(load[0], 2)}};
}

// ---- a client runtime ----

Status RunClient(const std::function<Status(net::RealEnv&, net::ZmqTransport&)>& body) {
  return bench::RunClient("granary-bench", 1, body);
}

// Runs fn(0..fibers-1) on that many fibers and returns the seconds until the last finished.
double RunConcurrently(net::RealEnv& env, uint32_t fibers,
                       const std::function<void(uint32_t)>& fn) {
  const Clock::time_point start = Clock::now();
  uint32_t running = fibers;
  net::Waiter done;
  for (uint32_t k = 0; k < fibers; ++k) {
    env.Spawn("bench", [&, k] {
      fn(k);
      if (--running == 0) done.Complete(Status::Ok());
    });
  }
  (void)env.Wait(done, kInstantMax);
  return SecondsSince(start);
}

ClientOptions MakeClientOptions(const Flags& flags, const std::string& namenode, uint32_t k) {
  ClientOptions options;
  options.namenode = Address{namenode};
  options.user.set_user(flags.user);
  options.client_name = "granary-bench/" + std::to_string(getpid()) + "/" + std::to_string(k);
  options.client_address = "127.0.0.1";
  return options;
}

// Counts failures and keeps the first one's text.
struct Errors {
  uint64_t count = 0;
  std::string first;
  void Add(const Status& status) {
    if (status.ok()) return;
    if (count++ == 0) first = status.ToString();
  }
};

// ---- clusters ----

struct Cluster {
  std::string dir;
  std::string address;
  uint64_t inline_threshold = 0;
  bool started = false;
};

Result<Cluster> StartCluster(const Flags& flags, const std::string& dir, uint64_t threshold,
                             uint32_t port_base) {
  std::string command = flags.cluster_bin + " start " + dir + " --datanodes " +
                        std::to_string(flags.datanodes) + " --inline-threshold " +
                        std::to_string(threshold) + " --superuser " + flags.user;
  if (port_base != 0) command += " --port-base " + std::to_string(port_base);
  GRANARY_ASSIGN_OR_RETURN(std::string out, Capture(command));
  // The address is the last line printed.
  std::istringstream lines(out);
  std::string line;
  std::string address;
  while (std::getline(lines, line)) {
    if (!line.empty()) address = line;
  }
  if (address.find(':') == std::string::npos) {
    return Status(StatusCode::kInternal, "granary-cluster start printed '" + out + "'");
  }
  Cluster cluster{dir, address, threshold, true};
  Print(json{{"bench", "cluster"},
             {"address", address},
             {"inline_threshold_bytes", threshold},
             {"datanodes", flags.datanodes},
             {"dir", dir}});
  return cluster;
}

void StopCluster(const Flags& flags, Cluster& cluster) {
  if (!cluster.started) return;
  (void)Capture(flags.cluster_bin + " stop " + cluster.dir + " >/dev/null");
  cluster.started = false;
}

// ---- small files ----

struct SmallFileTimes {
  double create_s = 0;
  double stat_s = 0;
  double read_s = 0;
  double list_s = 0;  // kListCalls pages (measured only when asked)
  // Operations each phase counted (the files, or what a --window-seconds window completed).
  uint64_t create_ops = 0, stat_ops = 0, read_ops = 0;
  // CPU each phase took in the client, the namenode and the datanodes (when measured).
  CpuSample create_cpu, stat_cpu, read_cpu;
  Errors errors;
};

// `cluster_dir`: the granary-cluster directory whose processes' CPU is measured, or empty.
Result<SmallFileTimes> MeasureSmallFiles(const Flags& flags, const std::string& namenode,
                                         const std::string& dir, uint64_t file_bytes,
                                         uint32_t clients, bool with_list,
                                         const std::string& cluster_dir) {
  SmallFileTimes times;
  const ClusterCpu cpu(cluster_dir);
  const std::string data(file_bytes, 'g');
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    std::vector<std::unique_ptr<FileSystem>> fs;
    for (uint32_t k = 0; k < clients; ++k) {
      fs.push_back(
          std::make_unique<FileSystem>(env, transport, MakeClientOptions(flags, namenode, k)));
    }
    GRANARY_RETURN_IF_ERROR(fs[0]->Mkdirs(dir, 0755, true));
    auto path = [&](uint32_t i) { return dir + "/f" + std::to_string(i); };
    auto each = [&](CpuSample* used, const std::function<Status(FileSystem&, uint32_t)>& op) {
      const CpuSample before = cpu.Now();
      const double seconds = RunConcurrently(env, clients, [&](uint32_t k) {
        for (uint32_t i = k; i < flags.files; i += clients) times.errors.Add(op(*fs[k], i));
      });
      *used = cpu.Now() - before;
      return seconds;
    };
    times.create_s = each(&times.create_cpu, [&](FileSystem& f, uint32_t i) {
      return f.WriteFile(path(i), data, CreateOptions{});
    });
    times.stat_s =
        each(&times.stat_cpu, [&](FileSystem& f, uint32_t i) { return f.Stat(path(i)).status(); });
    times.read_s = each(&times.read_cpu, [&](FileSystem& f, uint32_t i) -> Status {
      Result<std::string> read = f.ReadFile(path(i));
      if (!read.ok()) return read.status();
      if (read->size() != file_bytes) return Status(StatusCode::kInternal, "short read");
      return Status::Ok();
    });
    if (with_list) {
      const Clock::time_point start = Clock::now();
      for (int i = 0; i < kListCalls; ++i) {
        times.errors.Add(fs[0]->List(dir, {}, kListPage).status());
      }
      times.list_s = SecondsSince(start);
    }
    return Status::Ok();
  });
  if (!ran.ok()) return ran;
  times.create_ops = times.stat_ops = times.read_ops = flags.files;
  return times;
}

// ---- measuring by time (--window-seconds) ----

// One phase measured by time: `fibers` fibers call op(k, i) with i = next, next + 1, ...
// (shared), first for `warmup_s` (not counted), then for `window_s` or until `max_ops`
// operations were counted. A fixed count of operations makes a fast phase last a few
// milliseconds, which one scheduling hiccup distorts; a window of seconds does not.
struct WindowRun {
  uint64_t ops = 0;    // counted: completed in the window
  double seconds = 0;  // the window's start to the last fiber's end
  CpuSample cpu;       // used in the window
  uint64_t next = 0;   // the next index (warm-up and window together)
};

void RunTimed(net::RealEnv& env, uint32_t fibers, double warmup_s, double window_s,
              uint64_t max_ops, const ClusterCpu& cpu, WindowRun& run, Errors& errors,
              const std::function<Status(uint32_t, uint64_t)>& op) {
  auto phase = [&](double seconds, uint64_t limit, uint64_t* counted) {
    const Clock::time_point end = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                                     std::chrono::duration<double>(seconds));
    return RunConcurrently(env, fibers, [&](uint32_t k) {
      while (Clock::now() < end && (counted == nullptr || *counted < limit)) {
        const uint64_t i = run.next++;
        const Status status = op(k, i);
        errors.Add(status);
        if (counted != nullptr && status.ok()) ++*counted;
      }
    });
  };
  if (warmup_s > 0) phase(warmup_s, 0, nullptr);
  const CpuSample before = cpu.Now();
  run.seconds = phase(window_s, max_ops, &run.ops);
  run.cpu = cpu.Now() - before;
}

// The small-file phases of one configuration measured by time, in `dir` (removed first with
// what an earlier round left in it: one round's files at most stay on disk). Reads and stats
// cycle over the files created.
Result<SmallFileTimes> MeasureSmallFilesWindow(const Flags& flags, const std::string& namenode,
                                               const std::string& dir, uint64_t file_bytes,
                                               uint32_t clients, const std::string& cluster_dir) {
  SmallFileTimes times;
  const ClusterCpu cpu(cluster_dir);
  const std::string data(file_bytes, 'g');
  const double warm = flags.warmup_seconds, window = flags.window_seconds;
  const uint64_t cap = flags.window_max_files;
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    std::vector<std::unique_ptr<FileSystem>> fs;
    for (uint32_t k = 0; k < clients; ++k) {
      fs.push_back(
          std::make_unique<FileSystem>(env, transport, MakeClientOptions(flags, namenode, k)));
    }
    const Status removed = fs[0]->Delete(dir, true);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) return removed;
    GRANARY_RETURN_IF_ERROR(fs[0]->Mkdirs(dir, 0755, true));
    auto path = [&](uint64_t i) { return dir + "/f" + std::to_string(i); };
    WindowRun create, stat, read;
    RunTimed(env, clients, warm, window, cap, cpu, create, times.errors,
             [&](uint32_t k, uint64_t i) { return fs[k]->WriteFile(path(i), data, {}); });
    const uint64_t created = std::max<uint64_t>(1, create.next);
    RunTimed(env, clients, warm, window, UINT64_MAX, cpu, stat, times.errors,
             [&](uint32_t k, uint64_t i) { return fs[k]->Stat(path(i % created)).status(); });
    RunTimed(env, clients, warm, window, UINT64_MAX, cpu, read, times.errors,
             [&](uint32_t k, uint64_t i) -> Status {
               Result<std::string> bytes = fs[k]->ReadFile(path(i % created));
               if (!bytes.ok()) return bytes.status();
               if (bytes->size() != file_bytes) return Status(StatusCode::kInternal, "short read");
               return Status::Ok();
             });
    times.create_s = create.seconds;
    times.stat_s = stat.seconds;
    times.read_s = read.seconds;
    times.create_ops = create.ops;
    times.stat_ops = stat.ops;
    times.read_ops = read.ops;
    times.create_cpu = create.cpu;
    times.stat_cpu = stat.cpu;
    times.read_cpu = read.cpu;
    return Status::Ok();
  });
  if (!ran.ok()) return ran;
  return times;
}

// Sums of rounds (for the calibration: CPU per operation over every round's window).
SmallFileTimes& operator+=(SmallFileTimes& a, const SmallFileTimes& b) {
  a.create_s += b.create_s;
  a.stat_s += b.stat_s;
  a.read_s += b.read_s;
  a.create_ops += b.create_ops;
  a.stat_ops += b.stat_ops;
  a.read_ops += b.read_ops;
  a.create_cpu += b.create_cpu;
  a.stat_cpu += b.stat_cpu;
  a.read_cpu += b.read_cpu;
  a.errors.count += b.errors.count;
  if (a.errors.first.empty()) a.errors.first = b.errors.first;
  return a;
}

double PerSecond(uint64_t count, double seconds) {
  return seconds > 0 ? Round(static_cast<double>(count) / seconds, 1) : 0;
}

// ---- large files ----

Result<double> TcpLoopbackSeconds(uint64_t bytes);

struct LargeFileTimes {
  double write_s = 0;
  // One entry per round: the file read whole, and as many bytes through loopback TCP just
  // before it (the baseline, measured next to each read: the machine is shared).
  std::vector<double> read_s;
  std::vector<double> tcp_s;
  // CPU of the write, and of all the read rounds together (not of the TCP baseline's).
  CpuSample write_cpu, read_cpu;
};

Result<LargeFileTimes> MeasureLargeFile(const Flags& flags, const std::string& namenode,
                                        const std::string& path, const std::string& cluster_dir) {
  LargeFileTimes times;
  const ClusterCpu cpu(cluster_dir);
  std::string chunk(kLargeChunkBytes, '\0');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 131) >> 7);
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    FileSystem fs(env, transport, MakeClientOptions(flags, namenode, 0));
    CreateOptions options;
    options.replication = 3;
    options.overwrite = true;
    CpuSample before = cpu.Now();
    Clock::time_point start = Clock::now();
    GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs.Create(path, options));
    for (uint64_t written = 0; written < flags.large_bytes;) {
      const uint64_t n = std::min<uint64_t>(chunk.size(), flags.large_bytes - written);
      GRANARY_RETURN_IF_ERROR(writer->Write(std::string_view(chunk).substr(0, n)));
      written += n;
    }
    GRANARY_RETURN_IF_ERROR(writer->Close());
    times.write_s = SecondsSince(start);
    times.write_cpu = cpu.Now() - before;
    for (uint32_t round = 0; round < flags.large_reads; ++round) {
      GRANARY_ASSIGN_OR_RETURN(const double tcp_s, TcpLoopbackSeconds(flags.large_bytes));
      times.tcp_s.push_back(tcp_s);
      const CpuSample read_before = cpu.Now();
      start = Clock::now();
      GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, fs.Open(path));
      uint64_t read_bytes = 0;
      for (;;) {
        GRANARY_ASSIGN_OR_RETURN(std::string bytes, reader->Read(kLargeChunkBytes));
        if (bytes.empty()) break;
        read_bytes += bytes.size();
      }
      times.read_s.push_back(SecondsSince(start));
      times.read_cpu += cpu.Now() - read_before;
      if (read_bytes != flags.large_bytes) {
        return Status(StatusCode::kInternal, "read " + std::to_string(read_bytes) + " bytes of " +
                                                 std::to_string(flags.large_bytes));
      }
    }
    return Status::Ok();
  });
  if (!ran.ok()) return ran;
  return times;
}

double MegabytesPerSecond(uint64_t bytes, double seconds) {
  return seconds > 0 ? Round(static_cast<double>(bytes) / 1e6 / seconds, 1) : 0;
}

// The large file measured by time: written whole (replication 3, overwriting the last
// copy) again and again for the warm-up and then the window (at least once each), then read
// so; one loopback TCP transfer of as many bytes before the reads is the baseline.
struct LargeWindowTimes {
  double write_bytes = 0, write_s = 0, read_bytes = 0, read_s = 0, tcp_s = 0;
  CpuSample write_cpu, read_cpu;
};

Result<LargeWindowTimes> MeasureLargeFileWindow(const Flags& flags, const std::string& namenode,
                                                const std::string& path,
                                                const std::string& cluster_dir) {
  LargeWindowTimes times;
  const ClusterCpu cpu(cluster_dir);
  std::string chunk(kLargeChunkBytes, '\0');
  for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>((i * 131) >> 7);
  const double bytes = static_cast<double>(flags.large_bytes);
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    FileSystem fs(env, transport, MakeClientOptions(flags, namenode, 0));
    auto write_once = [&]() -> Status {
      CreateOptions options;
      options.replication = 3;
      options.overwrite = true;
      GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs.Create(path, options));
      for (uint64_t written = 0; written < flags.large_bytes;) {
        const uint64_t n = std::min<uint64_t>(chunk.size(), flags.large_bytes - written);
        GRANARY_RETURN_IF_ERROR(writer->Write(std::string_view(chunk).substr(0, n)));
        written += n;
      }
      return writer->Close();
    };
    auto read_once = [&]() -> Status {
      GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, fs.Open(path));
      uint64_t read_bytes = 0;
      for (;;) {
        GRANARY_ASSIGN_OR_RETURN(std::string got, reader->Read(kLargeChunkBytes));
        if (got.empty()) break;
        read_bytes += got.size();
      }
      if (read_bytes == flags.large_bytes) return Status::Ok();
      return Status(StatusCode::kInternal, "read " + std::to_string(read_bytes) + " bytes");
    };
    // Repeats `once` for `seconds` (at least once); the count and the seconds taken.
    auto repeat = [&](const std::function<Status()>& once, double seconds, double* taken,
                      double* count, CpuSample* used) -> Status {
      const CpuSample before = cpu.Now();
      const Clock::time_point start = Clock::now();
      do {
        GRANARY_RETURN_IF_ERROR(once());
        *count += 1;
      } while (SecondsSince(start) < seconds);
      *taken = SecondsSince(start);
      if (used != nullptr) *used = cpu.Now() - before;
      return Status::Ok();
    };
    double ignored_s = 0, ignored_n = 0, writes = 0, reads = 0;
    GRANARY_RETURN_IF_ERROR(
        repeat(write_once, flags.warmup_seconds, &ignored_s, &ignored_n, nullptr));
    GRANARY_RETURN_IF_ERROR(
        repeat(write_once, flags.window_seconds, &times.write_s, &writes, &times.write_cpu));
    GRANARY_ASSIGN_OR_RETURN(times.tcp_s, TcpLoopbackSeconds(flags.large_bytes));
    GRANARY_RETURN_IF_ERROR(
        repeat(read_once, flags.warmup_seconds, &ignored_s, &ignored_n, nullptr));
    GRANARY_RETURN_IF_ERROR(
        repeat(read_once, flags.window_seconds, &times.read_s, &reads, &times.read_cpu));
    times.write_bytes = writes * bytes;
    times.read_bytes = reads * bytes;
    return Status::Ok();
  });
  if (!ran.ok()) return ran;
  return times;
}

// ---- RPC: our layer against a plain ZeroMQ echo ----

// An echo server on a RealEnv of its own thread.
class EchoServerThread {
 public:
  EchoServerThread() {
    std::promise<std::string> bound;
    std::future<std::string> address = bound.get_future();
    thread_ = std::thread([this, &bound] {
      net::RealEnvOptions env_options;
      env_options.node_name = "rpc-echo";
      env_options.seed = 2;
      net::RealEnv env(env_options);
      env_ = &env;
      net::ZmqTransportOptions listen;
      listen.listen = "127.0.0.1:0";
      Result<std::unique_ptr<net::ZmqTransport>> server = net::ZmqTransport::Create(env, listen);
      if (!server.ok()) {
        env_ = nullptr;
        bound.set_value("");
        return;
      }
      (void)env.RunMain([&]() -> Status {
        GRANARY_RETURN_IF_ERROR(
            (*server)->Serve([](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
              return RpcReply{std::move(request.body), ""};
            }));
        bound.set_value((*server)->self().value);
        const Status stopped = env.SleepUntil(kInstantMax);
        return stopped.code() == StatusCode::kNodeDown ? Status::Ok() : stopped;
      });
      server->reset();
    });
    address_ = Address{address.get()};
  }
  ~EchoServerThread() {
    if (net::RealEnv* env = env_.load()) env->RequestStop();
    thread_.join();
  }
  const Address& address() const { return address_; }

 private:
  std::thread thread_;
  std::atomic<net::RealEnv*> env_{nullptr};
  Address address_;
};

const std::string kRpcBody(100, 'b');

// Round trips per second (and failures) with `in_flight` callers.
std::pair<double, uint64_t> OurRpcPerSecond(uint32_t in_flight, uint32_t calls) {
  EchoServerThread server;
  double seconds = 0;
  uint64_t failures = 0;
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& client) -> Status {
    // One call first: the connection is made outside the measurement.
    (void)client.Call(server.address(), RpcRequest{"echo", kRpcBody, ""},
                      env.Now() + std::chrono::seconds(10));
    uint32_t remaining = calls;
    seconds = RunConcurrently(env, in_flight, [&](uint32_t) {
      while (remaining > 0) {
        --remaining;
        if (!client
                 .Call(server.address(), RpcRequest{"echo", kRpcBody, ""},
                       env.Now() + std::chrono::seconds(10))
                 .ok()) {
          ++failures;
        }
      }
    });
    return Status::Ok();
  });
  if (!ran.ok()) ++failures;
  return {seconds > 0 ? calls / seconds : 0, failures};
}

double EchoPerSecond(uint32_t in_flight, uint32_t calls) {
  // The server has its own context and thread (plain_echo.h), as another process would.
  bench::PlainEchoServer echo;
  const std::string& endpoint = echo.endpoint();
  zmq::context_t client_context;
  zmq::socket_t dealer(client_context, zmq::socket_type::dealer);
  dealer.set(zmq::sockopt::linger, 0);
  dealer.connect(endpoint);
  PlainEchoCalls(dealer, kRpcBody, 1, 1);  // the connection is made outside the measurement
  const Clock::time_point start = Clock::now();
  PlainEchoCalls(dealer, kRpcBody, static_cast<int>(in_flight), static_cast<int>(calls));
  const double seconds = SecondsSince(start);
  return seconds > 0 ? calls / seconds : 0;
}

// ---- loopback TCP ----

Result<double> TcpLoopbackSeconds(uint64_t bytes) {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) return Status(StatusCode::kInternal, "socket");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  if (bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(listener, 1) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(listener);
    return Status(StatusCode::kInternal, "bind/listen");
  }
  std::atomic<uint64_t> received{0};
  std::thread receiver([&] {
    const int peer = accept(listener, nullptr, nullptr);
    if (peer < 0) return;
    std::vector<char> buffer(1 << 20);
    for (;;) {
      const ssize_t n = read(peer, buffer.data(), buffer.size());
      if (n <= 0) break;
      received += static_cast<uint64_t>(n);
    }
    close(peer);
  });
  const int sender = socket(AF_INET, SOCK_STREAM, 0);
  const Clock::time_point start = Clock::now();
  if (connect(sender, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(sender);
    shutdown(listener, SHUT_RDWR);
    close(listener);
    receiver.join();
    return Status(StatusCode::kInternal, "connect");
  }
  std::vector<char> buffer(1 << 20, 'x');
  for (uint64_t sent = 0; sent < bytes;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(buffer.size(), bytes - sent));
    const ssize_t w = write(sender, buffer.data(), n);
    if (w <= 0) break;
    sent += static_cast<uint64_t>(w);
  }
  close(sender);
  receiver.join();
  const double seconds = SecondsSince(start);
  close(listener);
  if (received.load() != bytes) return Status(StatusCode::kInternal, "short transfer");
  return seconds;
}

// ---- MooseFS ----

// Creates then reads `files` files of `file_bytes` under `dir` with `threads` threads (FUSE
// calls block: threads, not fibers). Returns {create_s, read_s}, or an error text.
Result<std::pair<double, double>> PosixSmallFiles(const std::string& dir, uint64_t file_bytes,
                                                  uint32_t threads, uint32_t files) {
  std::error_code ec;
  stdfs::create_directories(dir, ec);
  if (ec) return Status(StatusCode::kInternal, "mkdir " + dir + ": " + ec.message());
  const std::string data(file_bytes, 'm');
  std::atomic<uint64_t> failures{0};
  auto run = [&](const std::function<bool(const std::string&)>& op) {
    const Clock::time_point start = Clock::now();
    std::vector<std::thread> workers;
    for (uint32_t k = 0; k < threads; ++k) {
      workers.emplace_back([&, k] {
        for (uint32_t i = k; i < files; i += threads) {
          if (!op(dir + "/f" + std::to_string(i))) ++failures;
        }
      });
    }
    for (std::thread& worker : workers) worker.join();
    return SecondsSince(start);
  };
  const double create_s = run([&](const std::string& path) {
    std::ofstream out(path, std::ios::binary);
    out << data;
    out.close();
    return static_cast<bool>(out);
  });
  const double read_s = run([&](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::string read((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return read.size() == file_bytes;
  });
  if (failures.load() > 0) {
    return Status(StatusCode::kInternal, std::to_string(failures.load()) + " operations failed");
  }
  return std::make_pair(create_s, read_s);
}

bool OnPath(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1").c_str()) == 0;
}

// ---- main ----

// What the benchmark groups share, in the order Run passes it along: the flags, the
// calibration JSON being assembled, the clusters (inline on and off, or the one given), the
// small-file lines (the inline and MooseFS ratios read them) and whether anything failed.
struct BenchRun {
  Flags& flags;
  json calibration;
  std::vector<Cluster> clusters{};
  bool compare_inline = false;    // two clusters: inline on, then off
  json results = json::object();  // "<inline>/<size>/<clients>" -> small-file line
  CpuSample calibration_cpu{};    // every calibrated phase, for the main threads' shares
  std::string run_id = std::to_string(getpid());
  int failed = 0;
};

// One call in flight again with both ends and their ZeroMQ threads on one CPU (threads
// inherit the creating thread's affinity): a wake-up there is a switch on the core that is
// running anyway, not an interrupt to another, perhaps halted, virtual CPU. The simulator
// scales its wake-ups by the difference when a scenario gives the host one core.
void RecordOneCoreRpc(BenchRun& run, uint32_t calls) {
  cpu_set_t all;
  if (sched_getaffinity(0, sizeof(all), &all) != 0) return;
  int first = -1;
  for (int cpu = 0; cpu < CPU_SETSIZE && first < 0; ++cpu) {
    if (CPU_ISSET(cpu, &all)) first = cpu;
  }
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(first, &one);
  if (first < 0 || sched_setaffinity(0, sizeof(one), &one) != 0) return;
  const double cpu_before = SelfCpuSeconds();
  auto [rate, failures] = OurRpcPerSecond(1, calls);
  const double cpu_us = (SelfCpuSeconds() - cpu_before) * 1e6 / calls;
  (void)sched_setaffinity(0, sizeof(all), &all);
  if (failures > 0 || rate <= 0) return;
  run.calibration["rpc_round_trip_us_one_core"] = Round(1e6 / rate, 2);
  run.calibration["rpc_cpu_us_per_call_one_core"] = Round(cpu_us, 2);
}

// RPC: our transport against a bare ZeroMQ echo, interleaved rounds, medians (on a shared
// machine one round can meet a burst of load); then one call in flight for the round trip.
void RunRpcBench(BenchRun& run) {
  const Flags& flags = run.flags;
  std::vector<double> ours_rounds;
  std::vector<double> echo_rounds;
  std::vector<double> ratio_rounds;
  uint64_t failures = 0;
  double loaded_cpu_s = 0;  // of our RPC rounds only
  for (uint32_t round = 0; round < flags.rpc_rounds; ++round) {
    const double round_cpu_before = SelfCpuSeconds();
    auto [rate, failed_calls] = OurRpcPerSecond(kRpcInFlight, flags.rpc_calls);
    loaded_cpu_s += SelfCpuSeconds() - round_cpu_before;
    failures += failed_calls;
    const double echo_rate = EchoPerSecond(kRpcInFlight, flags.rpc_calls);
    ours_rounds.push_back(rate);
    echo_rounds.push_back(echo_rate);
    ratio_rounds.push_back(echo_rate > 0 ? rate / echo_rate : 0);
  }
  const double ours = Median(ours_rounds);
  const double echo = Median(echo_rounds);
  // One in flight: the round-trip latency the calibration subtracts.
  const uint32_t serial_calls = std::max<uint32_t>(100, flags.rpc_calls / 20);
  const double cpu_before = SelfCpuSeconds();
  auto [serial_rate, serial_failures] = OurRpcPerSecond(1, serial_calls);
  // Both ends (and both ZeroMQ contexts) are threads of this process.
  const double rpc_cpu_us = (SelfCpuSeconds() - cpu_before) * 1e6 / serial_calls;
  failures += serial_failures;
  const double round_trip_us = serial_rate > 0 ? 1e6 / serial_rate : 0;
  run.calibration["rpc_round_trip_us"] = Round(round_trip_us, 2);
  run.calibration["rpc_cpu_us_per_call"] = Round(rpc_cpu_us, 2);
  RecordOneCoreRpc(run, serial_calls);
  if (flags.rpc_rounds > 0 && flags.rpc_calls > 0) {
    run.calibration["rpc_cpu_us_per_call_loaded"] =
        Round(loaded_cpu_s * 1e6 / (static_cast<double>(flags.rpc_rounds) * flags.rpc_calls), 2);
  }
  Print(json{{"bench", "rpc"},
             {"in_flight", kRpcInFlight},
             {"calls", flags.rpc_calls},
             {"rounds", flags.rpc_rounds},
             {"body_bytes", kRpcBody.size()},
             {"granary_rpc_per_s", Round(ours, 0)},
             {"zmq_echo_per_s", Round(echo, 0)},
             {"granary_rpc_round_trip_us_one_in_flight", Round(round_trip_us, 2)},
             {"failures", failures}});
  Print(json{{"bench", "ratio"},
             {"name", "rpc_vs_zmq_echo"},
             {"value", Round(Median(ratio_rounds))},
             {"of", "median over interleaved rounds of granary rpc/s / zmq echo/s"}});
  if (failures > 0) run.failed = 1;
}

// Loopback TCP, the baseline of the large-file read.
void RunTcpBench(BenchRun& run) {
  const Flags& flags = run.flags;
  Result<double> seconds = TcpLoopbackSeconds(flags.tcp_bytes);
  if (seconds.ok()) {
    const double tcp_mb_s = MegabytesPerSecond(flags.tcp_bytes, *seconds);
    Print(json{{"bench", "tcp_loopback"}, {"bytes", flags.tcp_bytes}, {"mb_s", tcp_mb_s}});
  } else {
    Print(json{{"bench", "tcp_loopback"}, {"error", seconds.status().ToString()}});
    run.failed = 1;
  }
}

// Starts the clusters the small and large groups need (inline on and off, or the one given)
// into run.clusters. False after printing an error line (the clusters started are stopped).
bool StartClusters(BenchRun& run) {
  Flags& flags = run.flags;
  if (!flags.Runs("small") && !flags.Runs("large") && !flags.Runs("append")) {
    return true;  // no group needs one
  }
  if (!flags.namenode.empty()) {
    run.clusters.push_back(Cluster{"", flags.namenode, 0, false});
    return true;
  }
  if (flags.cluster_bin.empty()) {
    flags.cluster_bin =
        (stdfs::read_symlink("/proc/self/exe").parent_path() / "granary-cluster").string();
  }
  if (!stdfs::exists(flags.cluster_bin)) {
    Print(json{{"bench", "error"},
               {"reason", flags.cluster_bin + " not found: build granary-cluster or pass "
                                              "--namenode HOST:PORT"}});
    return false;
  }
  for (const uint64_t threshold : {kInlineThresholdOn, uint64_t{0}}) {
    const std::string dir = flags.dir + "/cluster-inline-" + std::to_string(threshold);
    const uint32_t port_base =
        flags.port_base == 0 ? 0 : flags.port_base + (threshold == 0 ? 100 : 0);
    Result<Cluster> cluster = StartCluster(flags, dir, threshold, port_base);
    if (!cluster.ok()) {
      Print(json{{"bench", "error"}, {"reason", cluster.status().ToString()}});
      for (Cluster& started : run.clusters) StopCluster(flags, started);
      return false;
    }
    run.clusters.push_back(*cluster);
  }
  return true;
}

// The namenode's latency per operation, and its service time (the RPC round trip taken off),
// from the first cluster's one-client run of the smallest size.
void RecordNamenodeLatency(BenchRun& run, const Cluster& cluster, const SmallFileTimes& times) {
  const double rtt = run.calibration.value("rpc_round_trip_us", 0.0);
  auto per_op = [](double seconds, uint64_t ops) {
    return Round(ops > 0 ? seconds * 1e6 / static_cast<double>(ops) : 0, 2);
  };
  const json latency{{"create", per_op(times.create_s, times.create_ops)},
                     {"stat", per_op(times.stat_s, times.stat_ops)},
                     {"open", per_op(times.read_s, times.read_ops)},
                     {"list", Round(times.list_s * 1e6 / kListCalls, 2)}};
  json service = json::object();
  for (const auto& [op, us] : latency.items()) {
    service[op] = Round(std::max(0.0, us.get<double>() - rtt), 2);
  }
  run.calibration["namenode_latency_us"] = latency;
  run.calibration["namenode_service_us"] = service;
  run.calibration["inline_threshold_bytes"] = cluster.inline_threshold;
}

// CPU per operation with the most clients: not used by the fit, but it shows how the CPU per
// operation falls when processes are busy (the wake-ups they save).
void RecordLoadedCpu(BenchRun& run, size_t c, uint32_t clients, const SmallFileTimes& times) {
  const std::string suffix = c == 0 ? "_inline" : "_blocks";
  const std::tuple<const char*, const CpuSample*, uint64_t> phases[] = {
      {"create", &times.create_cpu, times.create_ops},
      {"stat", &times.stat_cpu, times.stat_ops},
      {"open", &times.read_cpu, times.read_ops}};
  for (const auto& [op, used, ops] : phases) {
    const double files = std::max<double>(1, static_cast<double>(ops));
    run.calibration["cpu_us_per_op_loaded"][op + suffix] = {
        {"clients", clients},
        {"client", Round(used->client * 1e6 / files, 2)},
        {"namenode", Round(used->namenode * 1e6 / files, 2)},
        {"datanodes", Round(used->datanodes * 1e6 / files, 2)}};
  }
}

// CPU and latency per operation with one client at the smallest size, on both clusters: what
// the calibration fits.
void RecordCalibratedCpu(BenchRun& run, size_t c, uint64_t size, const SmallFileTimes& times) {
  const std::string suffix = c == 0 ? "_inline" : "_blocks";
  const std::tuple<const char*, double, const CpuSample*, uint64_t> phases[] = {
      {"create", times.create_s, &times.create_cpu, times.create_ops},
      {"stat", times.stat_s, &times.stat_cpu, times.stat_ops},
      {"open", times.read_s, &times.read_cpu, times.read_ops}};
  for (const auto& [op, seconds, cpu_used, ops] : phases) {
    const CpuSample& used = *cpu_used;
    const double files = std::max<double>(1, static_cast<double>(ops));
    run.calibration_cpu += used;
    run.calibration["cpu_us_per_op"][op + suffix] = {
        {"client", Round(used.client * 1e6 / files, 2)},
        {"namenode", Round(used.namenode * 1e6 / files, 2)},
        {"datanodes", Round(used.datanodes * 1e6 / files, 2)}};
    run.calibration["latency_us"][op + suffix] = Round(seconds * 1e6 / files, 2);
  }
  run.calibration["file_bytes"] = size;
}

// One small-file measurement (cluster c, one size, one client count): prints its line, keeps
// it in run.results and records what of it the calibration uses.
void RunSmallFilesCase(BenchRun& run, size_t c, uint64_t size, uint32_t clients) {
  const Flags& flags = run.flags;
  const Cluster& cluster = run.clusters[c];
  const bool compare_inline = run.compare_inline;
  const std::string inline_name = !compare_inline ? "given" : c == 0 ? "on" : "off";
  const bool calibrating = c == 0 && clients == 1 && size == flags.sizes.front();
  const bool cpu_calibrating = compare_inline && clients == 1 && size == flags.sizes.front();
  const bool cpu_loaded = compare_inline && clients > 1 && clients == flags.clients.back() &&
                          size == flags.sizes.front();
  const std::string dir =
      "/granary-bench-" + run.run_id + "/" + std::to_string(size) + "-" + std::to_string(clients);
  Result<SmallFileTimes> times =
      MeasureSmallFiles(flags, cluster.address, dir, size, clients, calibrating,
                        compare_inline ? cluster.dir : std::string());
  json line{
      {"bench", "small_files"},
      {"inline", compare_inline ? json(c == 0) : json(nullptr)},
      {"inline_threshold_bytes", compare_inline ? json(cluster.inline_threshold) : json(nullptr)},
      {"file_bytes", size},
      {"clients", clients},
      {"files", flags.files}};
  if (!times.ok()) {
    line["error"] = times.status().ToString();
    run.failed = 1;
  } else {
    line["create_per_s"] = PerSecond(flags.files, times->create_s);
    line["stat_per_s"] = PerSecond(flags.files, times->stat_s);
    line["read_per_s"] = PerSecond(flags.files, times->read_s);
    line["errors"] = times->errors.count;
    if (times->errors.count > 0) {
      line["first_error"] = times->errors.first;
      run.failed = 1;
    }
    if (calibrating) RecordNamenodeLatency(run, cluster, *times);
    if (cpu_loaded) RecordLoadedCpu(run, c, clients, *times);
    if (cpu_calibrating) RecordCalibratedCpu(run, c, size, *times);
  }
  Print(line);
  run.results[inline_name + "/" + std::to_string(size) + "/" + std::to_string(clients)] = line;
}

// Inline on against inline off, for each size and client count both measured.
void PrintInlineRatios(BenchRun& run) {
  for (const uint64_t size : run.flags.sizes) {
    for (const uint32_t clients : run.flags.clients) {
      const std::string key = "/" + std::to_string(size) + "/" + std::to_string(clients);
      const json& on = run.results["on" + key];
      const json& off = run.results["off" + key];
      for (const char* op : {"create_per_s", "read_per_s", "stat_per_s"}) {
        if (!on.contains(op) || !off.contains(op) || off[op].get<double>() <= 0) continue;
        Print(json{{"bench", "ratio"},
                   {"name", std::string("inline_vs_blocks_") + op},
                   {"file_bytes", size},
                   {"clients", clients},
                   {"value", Round(on[op].get<double>() / off[op].get<double>())},
                   {"of", "inline on / inline off (threshold 65536 / 0)"}});
      }
    }
  }
}

// Small files: (size, clients) for each cluster, then the inline ratios.
void RunSmallFilesBench(BenchRun& run) {
  for (size_t c = 0; c < run.clusters.size(); ++c) {
    for (const uint64_t size : run.flags.sizes) {
      for (const uint32_t clients : run.flags.clients) RunSmallFilesCase(run, c, size, clients);
    }
  }
  if (run.compare_inline) PrintInlineRatios(run);
}

// The datanodes' time and CPU per MiB written and read, for the calibration.
// The large file's calibration, from either measurement (by count or by time windows): the
// seconds per MiB each way and, when the bench compares clusters, the CPU per MiB of each
// process class.
void RecordLargeFileCosts(BenchRun& run, double write_s_per_mib, double read_s_per_mib,
                          const CpuSample& write_cpu, double write_mib, const CpuSample& read_cpu,
                          double read_mib) {
  run.calibration["datanode_us_per_mib"] = {{"write", Round(write_s_per_mib * 1e6, 1)},
                                            {"read", Round(read_s_per_mib * 1e6, 1)}};
  if (!run.compare_inline) return;
  for (const auto& [op, used, of_mib] :
       {std::tuple<const char*, const CpuSample*, double>{"write", &write_cpu, write_mib},
        {"read", &read_cpu, read_mib}}) {
    run.calibration_cpu += *used;
    run.calibration["cpu_us_per_mib"][op] = {
        {"client", Round(used->client * 1e6 / of_mib, 2)},
        {"namenode", Round(used->namenode * 1e6 / of_mib, 2)},
        {"datanodes", Round(used->datanodes * 1e6 / of_mib, 2)}};
  }
  run.calibration["large_file_bytes"] = run.flags.large_bytes;
}

void RecordLargeFileCalibration(BenchRun& run, const LargeFileTimes& times) {
  const double mib = static_cast<double>(run.flags.large_bytes) / (1 << 20);
  RecordLargeFileCosts(run, times.write_s / mib, Median(times.read_s) / mib, times.write_cpu, mib,
                       times.read_cpu, mib * static_cast<double>(times.read_s.size()));
}

// One large file, replication 3, on the first cluster; each read after a loopback TCP
// transfer of as many bytes, the baseline it is reported against.
void RunLargeFileBench(BenchRun& run) {
  const Flags& flags = run.flags;
  Result<LargeFileTimes> times =
      MeasureLargeFile(flags, run.clusters[0].address, "/granary-bench-" + run.run_id + "/large",
                       run.compare_inline ? run.clusters[0].dir : std::string());
  json line{{"bench", "large_file"}, {"bytes", flags.large_bytes}, {"replication", 3}};
  if (!times.ok()) {
    line["error"] = times.status().ToString();
    run.failed = 1;
    Print(line);
    return;
  }
  const double write_mb_s = MegabytesPerSecond(flags.large_bytes, times->write_s);
  std::vector<double> read_rates;
  std::vector<double> tcp_rates;
  std::vector<double> ratios;
  for (size_t i = 0; i < times->read_s.size(); ++i) {
    read_rates.push_back(MegabytesPerSecond(flags.large_bytes, times->read_s[i]));
    tcp_rates.push_back(MegabytesPerSecond(flags.large_bytes, times->tcp_s[i]));
    ratios.push_back(tcp_rates.back() > 0 ? read_rates.back() / tcp_rates.back() : 0);
  }
  line["write_mb_s"] = write_mb_s;
  line["read_mb_s"] = Median(read_rates);
  line["reads"] = read_rates.size();
  line["tcp_loopback_mb_s"] = Median(tcp_rates);
  Print(line);
  Print(json{{"bench", "ratio"},
             {"name", "large_read_vs_tcp_loopback"},
             {"value", Round(Median(ratios))},
             {"of",
              "median over rounds of large_file read MB/s / loopback TCP MB/s, the TCP "
              "transfer (as many bytes) measured just before each read"}});
  RecordLargeFileCalibration(run, *times);
}

// ---- rounds of windows (--window-seconds) ----

// The median and spread of one figure over rounds into `line`: key = median, key_min,
// key_max, key_rounds (every round's value, in order).
void AddSpread(json& line, const std::string& key, const std::vector<double>& values) {
  line[key] = Round(Median(values), 1);
  line[key + "_min"] =
      values.empty() ? 0 : Round(*std::min_element(values.begin(), values.end()), 1);
  line[key + "_max"] =
      values.empty() ? 0 : Round(*std::max_element(values.begin(), values.end()), 1);
  line[key + "_rounds"] = values;
}

// One configuration of the small-file group over the rounds.
struct SmallCase {
  size_t cluster = 0;
  uint64_t size = 0;
  uint32_t clients = 0;
  std::vector<double> create, stat, read;  // per round, per second
  SmallFileTimes sum;                      // every round's windows together
};

// One round of one small-file configuration: measured, its round line printed.
void RunSmallWindowRound(BenchRun& run, SmallCase& k, uint32_t round) {
  const Cluster& cluster = run.clusters[k.cluster];
  const std::string dir = "/granary-bench-" + run.run_id + "/" + std::to_string(k.size) + "-" +
                          std::to_string(k.clients);
  Result<SmallFileTimes> times =
      MeasureSmallFilesWindow(run.flags, cluster.address, dir, k.size, k.clients,
                              run.compare_inline ? cluster.dir : std::string());
  json line{{"bench", "small_files_round"},
            {"inline_threshold_bytes",
             run.compare_inline ? json(cluster.inline_threshold) : json(nullptr)},
            {"file_bytes", k.size},
            {"clients", k.clients},
            {"round", round}};
  if (!times.ok()) {
    line["error"] = times.status().ToString();
    run.failed = 1;
    Print(line);
    return;
  }
  k.create.push_back(PerSecond(times->create_ops, times->create_s));
  k.stat.push_back(PerSecond(times->stat_ops, times->stat_s));
  k.read.push_back(PerSecond(times->read_ops, times->read_s));
  line["create_per_s"] = k.create.back();
  line["stat_per_s"] = k.stat.back();
  line["read_per_s"] = k.read.back();
  line["ops"] = {times->create_ops, times->stat_ops, times->read_ops};
  line["errors"] = times->errors.count;
  if (times->errors.count > 0) {
    line["first_error"] = times->errors.first;
    run.failed = 1;
  }
  Print(line);
  k.sum += *times;
}

// A configuration's summary line (medians and spreads over rounds) and its calibration part.
void FinishSmallCase(BenchRun& run, const SmallCase& k) {
  const Flags& flags = run.flags;
  const Cluster& cluster = run.clusters[k.cluster];
  const bool compare_inline = run.compare_inline;
  const std::string inline_name = !compare_inline ? "given" : k.cluster == 0 ? "on" : "off";
  json line{
      {"bench", "small_files"},
      {"inline", compare_inline ? json(k.cluster == 0) : json(nullptr)},
      {"inline_threshold_bytes", compare_inline ? json(cluster.inline_threshold) : json(nullptr)},
      {"file_bytes", k.size},
      {"clients", k.clients},
      {"rounds", k.create.size()},
      {"warmup_s", flags.warmup_seconds},
      {"window_s", flags.window_seconds},
      {"errors", k.sum.errors.count}};
  AddSpread(line, "create_per_s", k.create);
  AddSpread(line, "stat_per_s", k.stat);
  AddSpread(line, "read_per_s", k.read);
  Print(line);
  run.results[inline_name + "/" + std::to_string(k.size) + "/" + std::to_string(k.clients)] = line;
  if (k.create.empty()) return;
  const bool first_size = k.size == flags.sizes.front();
  if (k.cluster == 0 && k.clients == 1 && first_size) RecordNamenodeLatency(run, cluster, k.sum);
  if (compare_inline && first_size && k.clients > 1 && k.clients == flags.clients.back()) {
    RecordLoadedCpu(run, k.cluster, k.clients, k.sum);
  }
  if (compare_inline && first_size && k.clients == 1) {
    RecordCalibratedCpu(run, k.cluster, k.size, k.sum);
  }
}

// The large file's summary and calibration from its rounds.
void FinishLargeWindows(BenchRun& run, const std::vector<LargeWindowTimes>& rounds) {
  const Flags& flags = run.flags;
  std::vector<double> write, read, tcp, ratio;
  LargeWindowTimes sum;
  for (const LargeWindowTimes& t : rounds) {
    write.push_back(Round1(t.write_bytes / 1e6 / t.write_s));
    read.push_back(Round1(t.read_bytes / 1e6 / t.read_s));
    tcp.push_back(MegabytesPerSecond(flags.large_bytes, t.tcp_s));
    ratio.push_back(tcp.back() > 0 ? read.back() / tcp.back() : 0);
    sum.write_bytes += t.write_bytes;
    sum.write_s += t.write_s;
    sum.read_bytes += t.read_bytes;
    sum.read_s += t.read_s;
    sum.write_cpu += t.write_cpu;
    sum.read_cpu += t.read_cpu;
  }
  json line{{"bench", "large_file"},
            {"bytes", flags.large_bytes},
            {"replication", 3},
            {"rounds", rounds.size()},
            {"warmup_s", flags.warmup_seconds},
            {"window_s", flags.window_seconds}};
  AddSpread(line, "write_mb_s", write);
  AddSpread(line, "read_mb_s", read);
  line["tcp_loopback_mb_s"] = Median(tcp);
  Print(line);
  Print(json{{"bench", "ratio"},
             {"name", "large_read_vs_tcp_loopback"},
             {"value", Round(Median(ratio))},
             {"of", "median over rounds of large_file read MB/s / loopback TCP MB/s"}});
  if (rounds.empty()) return;
  const double write_mib = sum.write_bytes / (1 << 20), read_mib = sum.read_bytes / (1 << 20);
  RecordLargeFileCosts(run, sum.write_s / write_mib, sum.read_s / read_mib, sum.write_cpu,
                       write_mib, sum.read_cpu, read_mib);
}

// --window-seconds: every round takes every small-file configuration in turn, then the large
// file, so that a slow spell of the machine touches all of them alike; summaries at the end.
void RunWindowedBench(BenchRun& run) {
  const Flags& flags = run.flags;
  std::vector<SmallCase> cases;
  if (flags.Runs("small")) {
    for (size_t c = 0; c < run.clusters.size(); ++c) {
      for (const uint64_t size : flags.sizes) {
        for (const uint32_t clients : flags.clients) {
          SmallCase k;
          k.cluster = c;
          k.size = size;
          k.clients = clients;
          cases.push_back(std::move(k));
        }
      }
    }
  }
  std::vector<LargeWindowTimes> large;
  const std::string large_path = "/granary-bench-" + run.run_id + "/large";
  for (uint32_t round = 0; round < flags.rounds; ++round) {
    for (SmallCase& k : cases) RunSmallWindowRound(run, k, round);
    if (!flags.Runs("large")) continue;
    Result<LargeWindowTimes> times =
        MeasureLargeFileWindow(flags, run.clusters[0].address, large_path,
                               run.compare_inline ? run.clusters[0].dir : std::string());
    if (!times.ok()) {
      Print(json{
          {"bench", "large_file_round"}, {"round", round}, {"error", times.status().ToString()}});
      run.failed = 1;
      continue;
    }
    large.push_back(*times);
    Print(json{{"bench", "large_file_round"},
               {"round", round},
               {"write_mb_s", Round1(times->write_bytes / 1e6 / times->write_s)},
               {"read_mb_s", Round1(times->read_bytes / 1e6 / times->read_s)}});
  }
  for (const SmallCase& k : cases) FinishSmallCase(run, k);
  if (run.compare_inline && !cases.empty()) PrintInlineRatios(run);
  if (flags.Runs("large")) FinishLargeWindows(run, large);
}

// Files that grow: one writer appending 1 KiB records to a file in blocks with a Flush after
// each, and with a Sync after each, against creating 1 KiB files (one round trip each) on
// the same cluster; interleaved rounds, medians; and the latency of one Flush.
struct AppendTimes {
  std::vector<double> create_rate, flush_rate, sync_rate;
  std::vector<double> flush_us;  // every Flush of every round
};

Status MeasureAppendRound(FileSystem& fs, const std::string& dir, uint32_t round, uint32_t records,
                          AppendTimes& out) {
  const std::string record(1024, 'r');
  Clock::time_point start = Clock::now();
  for (uint32_t i = 0; i < records; ++i) {
    GRANARY_RETURN_IF_ERROR(
        fs.WriteFile(dir + "/c" + std::to_string(round) + "-" + std::to_string(i), record, {}));
  }
  out.create_rate.push_back(records / SecondsSince(start));
  for (Durability durability : {Durability::kVisible, Durability::kDurable}) {
    const std::string path = dir + "/log" + std::to_string(round) +
                             (durability == Durability::kVisible ? "-flush" : "-sync");
    // Past the inline threshold first: the appends continue a block.
    GRANARY_RETURN_IF_ERROR(fs.WriteFile(path, std::string(128 * 1024, 'h'), {}));
    GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs.Append(path));
    start = Clock::now();
    for (uint32_t i = 0; i < records; ++i) {
      GRANARY_RETURN_IF_ERROR(writer->Write(record));
      const Clock::time_point flush_start = Clock::now();
      GRANARY_RETURN_IF_ERROR(writer->Flush(durability));
      if (durability == Durability::kVisible)
        out.flush_us.push_back(SecondsSince(flush_start) * 1e6);
    }
    const double rate = records / SecondsSince(start);
    (durability == Durability::kVisible ? out.flush_rate : out.sync_rate).push_back(rate);
    GRANARY_RETURN_IF_ERROR(writer->Close());
  }
  return Status::Ok();
}

void RunAppendBench(BenchRun& run) {
  const Flags& flags = run.flags;
  constexpr uint32_t kRounds = 3;
  const uint32_t records = std::clamp<uint32_t>(flags.files / 4, 50, 2000);
  AppendTimes times;
  const Status status = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) {
    FileSystem fs(env, transport, MakeClientOptions(flags, run.clusters[0].address, 0));
    const std::string dir = "/granary-bench-" + run.run_id + "/append";
    GRANARY_RETURN_IF_ERROR(fs.Mkdirs(dir));
    // A warm-up round, not counted.
    AppendTimes warm;
    GRANARY_RETURN_IF_ERROR(MeasureAppendRound(fs, dir, 99, records / 5 + 1, warm));
    for (uint32_t round = 0; round < kRounds; ++round) {
      GRANARY_RETURN_IF_ERROR(MeasureAppendRound(fs, dir, round, records, times));
    }
    return Status::Ok();
  });
  json line{{"bench", "append"}, {"record_bytes", 1024}, {"records", records}, {"rounds", kRounds}};
  if (!status.ok()) {
    line["error"] = status.ToString();
    run.failed = 1;
    Print(line);
    return;
  }
  std::vector<double> latencies = times.flush_us;
  std::sort(latencies.begin(), latencies.end());
  line["create_1kib_files_per_s"] = Round(Median(times.create_rate), 1);
  line["append_flush_records_per_s"] = Round(Median(times.flush_rate), 1);
  line["append_sync_records_per_s"] = Round(Median(times.sync_rate), 1);
  line["flush_latency_us_median"] = Round(Median(latencies), 1);
  line["flush_latency_us_p99"] = Round(latencies[latencies.size() * 99 / 100], 1);
  Print(line);
  const double create = Median(times.create_rate);
  Print(json{{"bench", "ratio"},
             {"name", "append_flush_vs_create_1kib"},
             {"value", Round(create > 0 ? Median(times.flush_rate) / create : 0)},
             {"of", "records/s appending 1 KiB with a flush each / 1 KiB files created per s"}});
  Print(json{{"bench", "ratio"},
             {"name", "append_sync_vs_create_1kib"},
             {"value", Round(create > 0 ? Median(times.sync_rate) / create : 0)},
             {"of", "records/s appending 1 KiB with a sync each / 1 KiB files created per s"}});
}

// The sync latency of the file system the clusters live on (a RocksDB commit and a block
// file's sync each wait for one), probed before the calibrated phases and after them and the
// two medians averaged (it moves with the machine's other work); and the main threads' shares
// of the calibrated phases' CPU.
void RecordSyncCalibration(BenchRun& run, const SyncProbe& sync_before,
                           const SyncProbe& dir_sync_before) {
  const SyncProbe sync_after = FileSyncProbe(run.flags.dir, kSyncProbes);
  const SyncProbe dir_sync_after = DirectorySyncProbe(run.flags.dir, kSyncProbes);
  json& calibration = run.calibration;
  if (sync_before.latency_us < 0 || sync_after.latency_us < 0 || dir_sync_before.latency_us < 0 ||
      dir_sync_after.latency_us < 0 || !calibration.contains("cpu_us_per_op") ||
      !calibration.contains("cpu_us_per_mib")) {
    return;
  }
  calibration["sync_us"] = Round((sync_before.latency_us + sync_after.latency_us) / 2, 1);
  calibration["sync_us_before_after"] = {Round(sync_before.latency_us, 1),
                                         Round(sync_after.latency_us, 1)};
  calibration["sync_cpu_us"] = Round((sync_before.cpu_us + sync_after.cpu_us) / 2, 1);
  calibration["dir_sync_us"] =
      Round((dir_sync_before.latency_us + dir_sync_after.latency_us) / 2, 1);
  calibration["dir_sync_cpu_us"] = Round((dir_sync_before.cpu_us + dir_sync_after.cpu_us) / 2, 1);
  // The distributions (the simulator draws each sync from them): the before and after
  // probes together; and the host disk's concurrent syncs.
  auto pooled = [](const SyncProbe& a, const SyncProbe& b) {
    std::vector<double> all = a.samples_us;
    all.insert(all.end(), b.samples_us.begin(), b.samples_us.end());
    return Quantiles(all, all.size());
  };
  // Every probed sync, sorted (Quantiles with as many bins as samples): the empirical
  // distribution, whose tail a mean or a few quantiles would flatten.
  calibration["sync_us_quantiles"] = pooled(sync_before, sync_after);
  calibration["dir_sync_us_quantiles"] = pooled(dir_sync_before, dir_sync_after);
  calibration["sync_concurrency"] = json::array();
  for (const int threads : {1, 2, 4, 8}) {
    const SyncProbe p = ConcurrentFileSyncProbe(run.flags.dir, threads, 400 / threads);
    const std::vector<double>& q = p.samples_us;  // sorted
    calibration["sync_concurrency"].push_back(
        {{"threads", threads},
         {"median_us", Round(p.latency_us, 1)},
         {"p99_us", q.empty() ? 0.0 : Round(q[q.size() * 99 / 100], 1)},
         {"per_s", Round(p.per_s, 0)}});
  }
  const CpuSample& c = run.calibration_cpu;
  auto share = [](double main, double all) { return all > 0 ? Round(main / all, 3) : 1.0; };
  calibration["main_thread_share"] = {{"client", share(c.client_main, c.client)},
                                      {"namenode", share(c.namenode_main, c.namenode)},
                                      {"datanodes", share(c.datanodes_main, c.datanodes)}};
  calibration["format"] = "granary-calibration/2";
}

// Why MooseFS cannot be measured here; empty when it can.
std::string MooseFsSkipReason(const Flags& flags) {
  if (flags.no_moosefs) return "skipped (--no-moosefs)";
  if (!flags.Runs("moosefs")) return "not asked for (--only)";
  if (!stdfs::exists(flags.moosefs_script)) return flags.moosefs_script + " not found";
  if (!OnPath("mfsmaster") || !OnPath("mfsmount") || !OnPath("mfschunkserver")) {
    return "MooseFS is not installed (Debian packages moosefs-master moosefs-chunkserver "
           "moosefs-client moosefs-cli fuse3); the bench does not install packages";
  }
  if (!stdfs::exists("/dev/fuse")) return "no /dev/fuse: MooseFS mounts through FUSE";
  return {};
}

// One MooseFS measurement through its mount: prints its line and its ratios against ours.
void RunMooseFsCase(BenchRun& run, const std::string& mount, uint64_t size, uint32_t clients) {
  const Flags& flags = run.flags;
  json m{{"bench", "moosefs"}, {"file_bytes", size}, {"clients", clients}, {"files", flags.files}};
  Result<std::pair<double, double>> times =
      PosixSmallFiles(mount + "/" + std::to_string(size) + "-" + std::to_string(clients), size,
                      clients, flags.files);
  if (!times.ok()) {
    m["error"] = times.status().ToString();
    Print(m);
    return;
  }
  m["create_per_s"] = PerSecond(flags.files, times->first);
  m["read_per_s"] = PerSecond(flags.files, times->second);
  Print(m);
  const std::string key = std::string(run.compare_inline ? "on" : "given") + "/" +
                          std::to_string(size) + "/" + std::to_string(clients);
  const json& ours = run.results[key];
  for (const char* op : {"create_per_s", "read_per_s"}) {
    if (!ours.contains(op) || m[op].get<double>() <= 0) continue;
    Print(json{{"bench", "ratio"},
               {"name", std::string("granary_vs_moosefs_") + op},
               {"file_bytes", size},
               {"clients", clients},
               {"value", Round(ours[op].get<double>() / m[op].get<double>())},
               {"of", "granary (inline on) / MooseFS through its FUSE mount"}});
  }
}

// MooseFS, on the same machine, same sizes and clients (or a line saying why not).
void RunMooseFsBench(BenchRun& run) {
  const Flags& flags = run.flags;
  json line{{"bench", "moosefs"}};
  const std::string why_not = MooseFsSkipReason(flags);
  if (!why_not.empty()) {
    line["skipped"] = true;
    line["reason"] = why_not;
    Print(line);
    return;
  }
  const std::string dir = flags.dir + "/moosefs";
  const std::string mount = flags.dir + "/moosefs-mount";
  const std::string base =
      flags.port_base == 0 ? "" : " --port-base " + std::to_string(flags.port_base + 200);
  Result<std::string> up =
      Capture("bash " + flags.moosefs_script + " up " + dir + " " + mount + " --chunkservers " +
              std::to_string(flags.datanodes) + base + " 2>&1");
  if (!up.ok()) {
    line["skipped"] = true;
    line["reason"] = "moosefs.sh up failed: " + up.status().ToString();
    Print(line);
    return;
  }
  for (const uint64_t size : flags.sizes) {
    for (const uint32_t clients : flags.clients) RunMooseFsCase(run, mount, size, clients);
  }
  (void)Capture("bash " + flags.moosefs_script + " down " + dir + " " + mount + " >/dev/null 2>&1");
}

void WriteCalibration(const BenchRun& run) {
  std::ofstream out(run.flags.calibrate);
  out << run.calibration.dump(2) << "\n";
  Print(json{
      {"bench", "calibration"}, {"file", run.flags.calibrate}, {"ok", static_cast<bool>(out)}});
}

// The groups in order: RPC first (the clusters are not running yet, so they take no CPU from
// it), loopback TCP, the clusters' small and large files, then MooseFS once they are stopped.
int Run(Flags& flags) {
  const json machine = Machine();
  Print(machine);
  if (flags.dir.empty()) flags.dir = "/tmp/granary-bench-" + std::to_string(getpid());
  stdfs::create_directories(flags.dir);
  if (flags.ha || flags.spread_reads) {
    if (flags.cluster_bin.empty()) {
      flags.cluster_bin =
          (stdfs::read_symlink("/proc/self/exe").parent_path() / "granary-cluster").string();
    }
    if (flags.spread_reads) {
      return RunSpreadReadsBench(SpreadReadsFlags{.dir = flags.dir,
                                                  .cluster_bin = flags.cluster_bin,
                                                  .user = flags.user,
                                                  .datanodes = flags.datanodes,
                                                  .port_base = flags.port_base,
                                                  .files = flags.files,
                                                  .clients = flags.clients.back(),
                                                  .rounds = flags.spread_rounds});
    }
    return RunHaBench(HaBenchFlags{.dir = flags.dir,
                                   .cluster_bin = flags.cluster_bin,
                                   .user = flags.user,
                                   .datanodes = flags.datanodes,
                                   .port_base = flags.port_base,
                                   .files = flags.files,
                                   .clients = flags.clients,
                                   .rounds = flags.ha_rounds,
                                   .failovers = flags.ha_failovers,
                                   .in_flight = flags.ha_in_flight});
  }
  if (flags.tokens) {
    if (flags.cluster_bin.empty()) {
      flags.cluster_bin =
          (stdfs::read_symlink("/proc/self/exe").parent_path() / "granary-cluster").string();
    }
    return RunTokenBench(
        TokenBenchFlags{.dir = flags.dir,
                        .cluster_bin = flags.cluster_bin,
                        .user = flags.user,
                        .datanodes = flags.datanodes,
                        .port_base = flags.port_base,
                        .files = flags.files,
                        .file_bytes = flags.sizes.empty() ? 4096 : flags.sizes[0],
                        .clients = flags.clients.empty() ? 32 : flags.clients.back(),
                        .large_bytes = flags.large_bytes,
                        .rounds = flags.token_rounds,
                        .window_seconds = flags.window_seconds,
                        .warmup_seconds = flags.warmup_seconds});
  }
  BenchRun run{.flags = flags,
               .calibration = json{{"format", "granary-calibration/1"}, {"machine", machine}}};
  if (flags.Runs("rpc")) RunRpcBench(run);
  if (flags.Runs("tcp") || flags.Runs("large")) RunTcpBench(run);
  if (!StartClusters(run)) return 1;
  run.compare_inline = run.clusters.size() == 2;

  const SyncProbe sync_before =
      run.compare_inline ? FileSyncProbe(flags.dir, kSyncProbes) : SyncProbe{};
  const SyncProbe dir_sync_before =
      run.compare_inline ? DirectorySyncProbe(flags.dir, kSyncProbes) : SyncProbe{};
  if (flags.window_seconds > 0) {
    RunWindowedBench(run);
  } else {
    if (flags.Runs("small")) RunSmallFilesBench(run);
    if (flags.Runs("large")) RunLargeFileBench(run);
  }
  if (flags.Runs("append")) RunAppendBench(run);
  if (run.compare_inline) RecordSyncCalibration(run, sync_before, dir_sync_before);

  // The files the bench wrote are left to the clusters it stops (or to the given cluster's
  // owner: they are under /granary-bench-<pid>).
  for (Cluster& cluster : run.clusters) StopCluster(flags, cluster);
  RunMooseFsBench(run);
  if (!flags.calibrate.empty()) WriteCalibration(run);
  return run.failed;
}

}  // namespace
}  // namespace granary::bench

int main(int argc, char** argv) {
  granary::bench::Flags flags;
  CLI::App app{"granary-bench: end-to-end figures of a Granary cluster, one JSON line each"};
  app.add_option("--namenode", flags.namenode, "measure this cluster (HOST:PORT) only");
  app.add_option("--dir", flags.dir, "work directory (default /tmp/granary-bench-<pid>)");
  app.add_option("--cluster-bin", flags.cluster_bin, "granary-cluster (default: beside this)");
  app.add_option("--datanodes", flags.datanodes, "datanodes per cluster")->check(CLI::Range(3, 64));
  app.add_option("--port-base", flags.port_base, "first port (0: let granary-cluster choose)");
  app.add_option("--files", flags.files, "small files per measurement")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--sizes", flags.sizes, "small-file sizes in bytes")->delimiter(',');
  app.add_option("--clients", flags.clients, "concurrent clients (fibers)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1024));
  app.add_option("--large-bytes", flags.large_bytes, "bytes of the large file")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--rpc-calls", flags.rpc_calls, "round trips per RPC measurement")
      ->check(CLI::Range(100, 100000000));
  app.add_option("--rpc-rounds", flags.rpc_rounds, "interleaved RPC rounds (medians reported)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--large-reads", flags.large_reads,
                 "times the large file is read, each after a loopback TCP baseline (medians)")
      ->check(CLI::Range(1, 100));
  app.add_option("--tcp-bytes", flags.tcp_bytes, "bytes of the loopback TCP transfer")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--window-seconds", flags.window_seconds,
                 "measure the small and large files by time: each phase runs this long after "
                 "a warm-up, in --rounds interleaved rounds (0: by count, --files)")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--warmup-seconds", flags.warmup_seconds, "warm-up before each window")
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--rounds", flags.rounds,
                 "rounds of windows, each over every configuration (medians and min-max)")
      ->check(CLI::Range(1, 1000));
  app.add_option("--window-max-files", flags.window_max_files,
                 "most files one create window makes (bounds disk use and time)")
      ->check(CLI::Range(1, 10000000));
  app.add_option("--calibrate", flags.calibrate, "write the simulator's calibration JSON here");
  app.add_option("--moosefs-script", flags.moosefs_script, "MooseFS start/stop script");
  app.add_flag("--no-moosefs", flags.no_moosefs, "do not try MooseFS");
  app.add_option("--only", flags.only, "parts to run: rpc, tcp, small, large, append, moosefs")
      ->delimiter(',')
      ->check(CLI::IsMember({"rpc", "tcp", "small", "large", "append", "moosefs"}));
  app.add_option("--user", flags.user, "user the bench acts as (default $USER)");
  app.add_flag("--ha", flags.ha,
               "only the HA group: one namenode against three on etcd, and failover time");
  app.add_flag("--tokens", flags.tokens,
               "block access tokens on against off: small-file reads/s and large-file read MB/s "
               "(bench/token_bench.h)");
  app.add_option("--token-rounds", flags.token_rounds, "interleaved rounds of --tokens")
      ->check(CLI::Range(1u, 100u));
  app.add_option("--ha-rounds", flags.ha_rounds, "interleaved rounds of the HA creates")
      ->check(CLI::Range(1, 100));
  app.add_option("--ha-failovers", flags.ha_failovers,
                 "SIGKILL trials of the HA failover (0: none)")
      ->check(CLI::Range(0, 100));
  app.add_option("--ha-in-flight", flags.ha_in_flight,
                 "one HA cluster per value, its namenodes with --journal-appends-in-flight "
                 "K (e.g. 1,2,4), measured interleaved")
      ->delimiter(',')
      ->check(CLI::Range(1u, granary::kJournalAppendsInFlightMax));
  app.add_flag("--spread-reads", flags.spread_reads,
               "only the read-spreading group: 4 KiB reads over three namenodes against the "
               "active only (the last --clients value; 32 by default)");
  app.add_option("--spread-rounds", flags.spread_rounds, "interleaved rounds of --spread-reads")
      ->check(CLI::Range(1, 100));
  CLI11_PARSE(app, argc, argv);
  if (flags.user.empty()) {
    const char* user = std::getenv("USER");
    flags.user = user != nullptr && *user != '\0' ? user : "granary-bench";
  }
  std::sort(flags.sizes.begin(), flags.sizes.end());
  return granary::bench::Run(flags);
}
