#include "bench/read_spread_bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_client.h"
#include "core/client/file_system.h"
#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"

namespace granary::bench {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kFileBytes = 4096;
constexpr milliseconds kProbeTimeout(500);
constexpr double kSettleSeconds = 60;

void Print(const json& line) { std::cout << line.dump() << std::endl; }

// The last non-empty line of granary-cluster start's output: the namenodes' list.
std::string LastLine(const std::string& out) {
  std::istringstream lines(out);
  std::string last;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  return last;
}

class SpreadReadsBench {
 public:
  explicit SpreadReadsBench(const SpreadReadsFlags& flags)
      : flags_(flags),
        dir_(flags.dir + "/cluster-reads"),
        files_dir_("/granary-bench-reads-" + std::to_string(getpid())) {}

  int Run() {
    if (!Start()) return 1;
    const bool ok = Load() && Settle() && Measure();
    (void)Capture(flags_.cluster_bin + " stop " + dir_ + " >/dev/null");
    return ok ? 0 : 1;
  }

 private:
  bool Fail(const std::string& reason) {
    Print(json{{"bench", "error"}, {"reason", reason}});
    return false;
  }

  bool Start() {
    std::string command = flags_.cluster_bin + " start " + dir_ + " --datanodes " +
                          std::to_string(flags_.datanodes) + " --superuser " + flags_.user +
                          " --wait-seconds 90 --namenodes 3";
    if (flags_.port_base != 0) command += " --port-base " + std::to_string(flags_.port_base);
    Result<std::string> out = Capture(command);
    if (!out.ok()) {
      // A failed start may have left members running: stop what the directory records.
      (void)Capture(flags_.cluster_bin + " stop " + dir_ + " >/dev/null 2>&1");
      return Fail(out.status().ToString());
    }
    namenodes_ = LastLine(*out);
    if (namenodes_.find(',') == std::string::npos) {
      return Fail("granary-cluster start printed '" + *out + "', not three namenodes");
    }
    Print(json{{"bench", "cluster"},
               {"kind", "ha"},
               {"namenodes", namenodes_},
               {"datanodes", flags_.datanodes},
               {"dir", dir_}});
    return true;
  }

  ClientOptions Options(ReadPolicy policy, uint32_t k) const {
    ClientOptions options;
    options.namenode = Address{namenodes_};
    options.read_policy = policy;
    options.user.set_user(flags_.user);
    options.client_name =
        "granary-bench-reads/" + std::to_string(getpid()) + "/" + std::to_string(k);
    options.client_address = "127.0.0.1";
    return options;
  }

  // Runs `body(k, fs)` on `flags_.clients` fibers, each with its own FileSystem of `policy`;
  // the wall seconds it took, and the reads each namenode answered into `reads`.
  Result<double> OnClients(ReadPolicy policy,
                           const std::function<void(uint32_t, FileSystem&)>& body,
                           std::vector<uint64_t>* reads) {
    double seconds = 0;
    const Status ran = RunClient(
        "granary-bench-reads", 5, [&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
          std::vector<std::unique_ptr<FileSystem>> fs;
          for (uint32_t k = 0; k < flags_.clients; ++k) {
            fs.push_back(std::make_unique<FileSystem>(env, transport, Options(policy, k)));
          }
          const Clock::time_point start = Clock::now();
          uint32_t running = flags_.clients;
          net::Waiter done;
          for (uint32_t k = 0; k < flags_.clients; ++k) {
            env.Spawn("reads", [&, k] {
              body(k, *fs[k]);
              if (--running == 0) done.Complete(Status::Ok());
            });
          }
          (void)env.Wait(done, kInstantMax);
          seconds = std::chrono::duration<double>(Clock::now() - start).count();
          for (const auto& one : fs) {
            const std::vector<uint64_t> answered = one->namenode().locator().reads_answered();
            if (reads->size() < answered.size()) reads->resize(answered.size(), 0);
            for (size_t i = 0; i < answered.size(); ++i) (*reads)[i] += answered[i];
          }
          return Status::Ok();
        });
    if (!ran.ok()) return ran;
    return seconds;
  }

  std::string PathOf(uint32_t i) const { return files_dir_ + "/f" + std::to_string(i); }

  bool Load() {
    const Status made = RunClient("granary-bench-reads", 4,
                                  [&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
                                    FileSystem fs(env, transport, Options(ReadPolicy::kActive, 0));
                                    return fs.Mkdirs(files_dir_, 0755, true);
                                  });
    if (!made.ok()) return Fail(made.ToString());
    const std::string data(kFileBytes, 'r');
    uint64_t errors = 0;
    std::vector<uint64_t> reads;
    Result<double> took = OnClients(
        ReadPolicy::kActive,
        [&](uint32_t k, FileSystem& fs) {
          for (uint32_t i = k; i < flags_.files; i += flags_.clients) {
            if (!fs.WriteFile(PathOf(i), data, CreateOptions{}).ok()) ++errors;
          }
        },
        &reads);
    if (!took.ok()) return Fail(took.status().ToString());
    if (errors > 0) return Fail(std::to_string(errors) + " of the files could not be written");
    return true;
  }

  // Waits until one namenode is active and every one has applied as much as it.
  bool Settle() {
    const Status ran = RunClient(
        "granary-bench-reads", 6, [&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
          const Clock::time_point start = Clock::now();
          while (std::chrono::duration<double>(Clock::now() - start).count() < kSettleSeconds) {
            std::map<std::string, uint64_t> applied;
            std::string active;
            std::istringstream list(namenodes_);
            for (std::string address; std::getline(list, address, ',');) {
              proto::HaStatusReply reply;
              if (!rpc::Call(transport, Address{address}, rpc::nn::kHaStatus,
                             proto::HaStatusRequest(), {}, env.Now() + kProbeTimeout, &reply)
                       .ok()) {
                continue;
              }
              applied[address] = reply.applied_seq();
              if (reply.role() == "active") active = address;
            }
            bool even = applied.size() == 3 && !active.empty();
            for (const auto& [address, seq] : applied) even = even && seq == applied[active];
            if (even) return Status::Ok();
            GRANARY_RETURN_IF_ERROR(env.SleepFor(milliseconds(100)));
          }
          return Status(StatusCode::kTimeout, "the namenodes did not settle");
        });
    return ran.ok() || Fail(ran.ToString());
  }

  // One measurement: every file read once under `policy`; files/s, or nothing after an error
  // line.
  std::optional<double> ReadAll(ReadPolicy policy, uint32_t round) {
    uint64_t errors = 0;
    std::vector<uint64_t> reads;
    Result<double> took = OnClients(
        policy,
        [&](uint32_t k, FileSystem& fs) {
          for (uint32_t i = k; i < flags_.files; i += flags_.clients) {
            Result<std::string> data = fs.ReadFile(PathOf(i));
            if (!data.ok() || data->size() != kFileBytes) ++errors;
          }
        },
        &reads);
    if (!took.ok()) {
      Fail(took.status().ToString());
      return std::nullopt;
    }
    const double rate = *took > 0 ? flags_.files / *took : 0;
    Print(json{{"bench", "spread_reads"},
               {"policy", ReadPolicyName(policy)},
               {"clients", flags_.clients},
               {"round", round},
               {"files", flags_.files},
               {"file_bytes", kFileBytes},
               {"files_per_s", Round1(rate)},
               {"errors", errors},
               {"reads_by_namenode", reads}});
    if (errors > 0) return std::nullopt;
    return rate;
  }

  bool Measure() {
    std::map<ReadPolicy, std::vector<double>> rates;
    std::vector<double> ratios;
    for (uint32_t round = 0; round < flags_.rounds; ++round) {
      std::map<ReadPolicy, double> this_round;
      const std::vector<ReadPolicy> order =
          round % 2 == 0 ? std::vector<ReadPolicy>{ReadPolicy::kLeastLoaded, ReadPolicy::kActive}
                         : std::vector<ReadPolicy>{ReadPolicy::kActive, ReadPolicy::kLeastLoaded};
      for (ReadPolicy policy : order) {
        std::optional<double> rate = ReadAll(policy, round);
        if (!rate) return false;
        this_round[policy] = *rate;
        rates[policy].push_back(*rate);
      }
      if (this_round[ReadPolicy::kActive] > 0) {
        ratios.push_back(this_round[ReadPolicy::kLeastLoaded] / this_round[ReadPolicy::kActive]);
      }
    }
    for (ReadPolicy policy : {ReadPolicy::kLeastLoaded, ReadPolicy::kActive}) {
      Print(json{{"bench", "spread_reads_summary"},
                 {"policy", ReadPolicyName(policy)},
                 {"clients", flags_.clients},
                 {"rounds", flags_.rounds},
                 {"median_files_per_s", Round1(Median(rates[policy]))}});
    }
    Print(json{{"bench", "ratio"},
               {"name", "spread_vs_active_reads"},
               {"clients", flags_.clients},
               {"file_bytes", kFileBytes},
               {"value", static_cast<double>(static_cast<int64_t>(Median(ratios) * 1000)) / 1000},
               {"of",
                "median over interleaved rounds of (reads spread over 3 namenodes, "
                "least-loaded) / (reads from the active only) files/s"}});
    return true;
  }

  const SpreadReadsFlags flags_;
  const std::string dir_;
  const std::string files_dir_;
  std::string namenodes_;
};

}  // namespace

int RunSpreadReadsBench(const SpreadReadsFlags& flags) { return SpreadReadsBench(flags).Run(); }

}  // namespace granary::bench
