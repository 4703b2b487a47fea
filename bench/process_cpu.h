// CPU time of this process and of a local cluster's processes, for granary-bench's
// calibration: the simulator is given CPU per operation measured here, not latencies less a
// round trip (which on a loaded machine mixes waiting into the figure).
//
// A cluster process's CPU is the sum over its threads of the scheduler's run time
// (/proc/PID/task/TID/schedstat, nanoseconds; threads that have exited are not counted, and
// a server's threads live as long as it does). This process's is CLOCK_PROCESS_CPUTIME_ID.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace granary::bench {

inline double SelfCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Seconds of CPU the threads of `pid` have run so far, all of them and the main thread
// alone (the one whose id is the process's: where Granary's fibers, and so its handlers,
// run); 0 when it cannot be read.
struct ThreadCpu {
  double all = 0;
  double main = 0;
};
inline ThreadCpu ProcessCpuSeconds(pid_t pid) {
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  ThreadCpu cpu;
  for (const auto& task : std::filesystem::directory_iterator(tasks, ec)) {
    std::ifstream in(task.path() / "schedstat");
    uint64_t run_ns = 0;
    if (!(in >> run_ns)) continue;
    cpu.all += static_cast<double>(run_ns) * 1e-9;
    if (task.path().filename() == std::to_string(pid))
      cpu.main = static_cast<double>(run_ns) * 1e-9;
  }
  return cpu;
}

// The PIDs of a granary-cluster directory's nodes whose names start with `prefix`
// ("namenode", "datanode-"), from DIR/run/<node>.pid.
inline std::vector<pid_t> ClusterPids(const std::string& dir, const std::string& prefix) {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/run", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".pid") continue;
    std::ifstream in(entry.path());
    long pid = 0;
    if (in >> pid && pid > 0) pids.push_back(static_cast<pid_t>(pid));
  }
  std::sort(pids.begin(), pids.end());
  return pids;
}

// CPU seconds of the client (this process), the namenode and all datanodes together; each
// also of the main threads alone.
struct CpuSample {
  double client = 0;
  double namenode = 0;
  double datanodes = 0;
  double client_main = 0;
  double namenode_main = 0;
  double datanodes_main = 0;
};

class ClusterCpu {
 public:
  // `dir` empty: only this process is measured.
  explicit ClusterCpu(const std::string& dir) {
    if (dir.empty()) return;
    namenode_ = ClusterPids(dir, "namenode");
    datanodes_ = ClusterPids(dir, "datanode-");
  }
  bool has_cluster() const { return !namenode_.empty(); }
  CpuSample Now() const {
    CpuSample s;
    const ThreadCpu self = ProcessCpuSeconds(getpid());
    s.client = SelfCpuSeconds();
    s.client_main = self.main;
    for (pid_t pid : namenode_) {
      const ThreadCpu t = ProcessCpuSeconds(pid);
      s.namenode += t.all;
      s.namenode_main += t.main;
    }
    for (pid_t pid : datanodes_) {
      const ThreadCpu t = ProcessCpuSeconds(pid);
      s.datanodes += t.all;
      s.datanodes_main += t.main;
    }
    return s;
  }

 private:
  std::vector<pid_t> namenode_;
  std::vector<pid_t> datanodes_;
};

inline CpuSample operator-(const CpuSample& a, const CpuSample& b) {
  return CpuSample{a.client - b.client,
                   a.namenode - b.namenode,
                   a.datanodes - b.datanodes,
                   a.client_main - b.client_main,
                   a.namenode_main - b.namenode_main,
                   a.datanodes_main - b.datanodes_main};
}

inline CpuSample& operator+=(CpuSample& a, const CpuSample& b) {
  a.client += b.client;
  a.namenode += b.namenode;
  a.datanodes += b.datanodes;
  a.client_main += b.client_main;
  a.namenode_main += b.namenode_main;
  a.datanodes_main += b.datanodes_main;
  return a;
}

// A sync's latency (median) and the CPU the calling thread spent on it (mean), in
// microseconds; negative latency when it could not be measured.
struct SyncProbe {
  double latency_us = -1;
  double cpu_us = 0;
  std::vector<double> samples_us;  // every sync's latency, sorted
  double per_s = 0;                // syncs completed per second (all threads together)
};

// `values` summarised as `n` equal-count bins of the sorted values, each by its mean (empty
// for no values; fewer values than n: each its own bin): drawing one uniformly reproduces the
// distribution's mean exactly and its tail to 1/n (the last bin is the top 1/n's mean, so a
// heavy tail is not cut off at its last quantile).
inline std::vector<double> Quantiles(std::vector<double> values, size_t n) {
  std::vector<double> out;
  if (values.empty() || n == 0) return out;
  std::sort(values.begin(), values.end());
  n = std::min(n, values.size());
  for (size_t i = 0; i < n; ++i) {
    const size_t begin = i * values.size() / n, end = (i + 1) * values.size() / n;
    double sum = 0;
    for (size_t j = begin; j < end; ++j) sum += values[j];
    const double mean = sum / static_cast<double>(end - begin);
    out.push_back(static_cast<double>(static_cast<int64_t>(mean * 10)) / 10);
  }
  return out;
}

inline double ThreadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) * 1e-3;
}

inline double MicrosBetween(const timespec& a, const timespec& b) {
  return static_cast<double>(b.tv_sec - a.tv_sec) * 1e6 +
         static_cast<double>(b.tv_nsec - a.tv_nsec) * 1e-3;
}

// Times `rounds` calls of sync(i), each after an untimed prepare(i) (either false when it
// failed; the rounds stop there): the median latency, and the calling thread's mean CPU per
// call.
template <typename Prepare, typename Sync>
SyncProbe ProbeSyncs(int rounds, Prepare prepare, Sync sync) {
  SyncProbe probe;
  std::vector<double> micros;
  double cpu = 0;
  for (int i = 0; i < rounds; ++i) {
    if (!prepare(i)) break;
    timespec a{}, b{};
    const double cpu_before = ThreadCpuMicros();
    clock_gettime(CLOCK_MONOTONIC, &a);
    const bool ok = sync(i);
    clock_gettime(CLOCK_MONOTONIC, &b);
    cpu += ThreadCpuMicros() - cpu_before;
    if (!ok) break;
    micros.push_back(MicrosBetween(a, b));
  }
  if (micros.empty()) return probe;
  std::sort(micros.begin(), micros.end());
  probe.latency_us = micros[micros.size() / 2];
  probe.cpu_us = cpu / static_cast<double>(micros.size());
  probe.samples_us = micros;
  return probe;
}

// Appending 4 KiB to a file in `dir` and fdatasync-ing it: the sync of that file system (a
// RocksDB WAL commit or a block file's sync is this).
inline SyncProbe FileSyncProbe(const std::string& dir, int rounds = 50,
                               const std::string& name = "sync-probe") {
  const std::string path = dir + "/" + name;
  const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return SyncProbe{};
  const std::string block(4096, 's');
  const SyncProbe probe = ProbeSyncs(
      rounds, [](int) { return true; },
      [&](int) {
        return write(fd, block.data(), block.size()) == static_cast<ssize_t>(block.size()) &&
               fdatasync(fd) == 0;
      });
  close(fd);
  unlink(path.c_str());
  return probe;
}

// fsync of `dir` after creating a file in it (what a datanode waits for after creating,
// renaming or removing a block file). The create itself is not timed.
inline SyncProbe DirectorySyncProbe(const std::string& dir, int rounds = 50) {
  const int dir_fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) return SyncProbe{};
  // Each round removes the previous round's file and creates its own, untimed.
  const std::string path = dir + "/dir-sync-probe";
  const SyncProbe probe = ProbeSyncs(
      rounds,
      [&](int) {
        unlink(path.c_str());
        const int fd = open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0) return false;
        close(fd);
        return true;
      },
      [&](int) { return fsync(dir_fd) == 0; });
  unlink(path.c_str());
  close(dir_fd);
  return probe;
}

// `threads` threads each appending 4 KiB to a file of its own in `dir` and fdatasync-ing it,
// `rounds` times: how the host's disk serves concurrent syncs (the datanodes and the
// namenode of a cluster on one machine sync on the same device). Latency: the median of all
// syncs; per_s: all syncs over the elapsed time.
inline SyncProbe ConcurrentFileSyncProbe(const std::string& dir, int threads, int rounds) {
  std::vector<SyncProbe> each(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  timespec a{}, b{};
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      each[static_cast<size_t>(t)] = FileSyncProbe(dir, rounds, "sync-probe-" + std::to_string(t));
    });
  }
  for (std::thread& w : workers) w.join();
  clock_gettime(CLOCK_MONOTONIC, &b);
  SyncProbe all;
  for (const SyncProbe& p : each) {
    all.samples_us.insert(all.samples_us.end(), p.samples_us.begin(), p.samples_us.end());
  }
  if (all.samples_us.empty()) return all;
  std::sort(all.samples_us.begin(), all.samples_us.end());
  all.latency_us = all.samples_us[all.samples_us.size() / 2];
  all.per_s = static_cast<double>(all.samples_us.size()) / (MicrosBetween(a, b) * 1e-6);
  return all;
}

}  // namespace granary::bench
