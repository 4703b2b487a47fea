#include "bench/ha_bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
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
constexpr milliseconds kFailoverLimit(60000);

void Print(const json& line) { std::cout << line.dump() << std::endl; }

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

Status RunClient(const std::function<Status(net::RealEnv&, net::ZmqTransport&)>& body) {
  return bench::RunClient("granary-bench-ha", 3, body);
}

std::vector<std::string> Split(const std::string& list) {
  std::vector<std::string> out;
  std::istringstream in(list);
  for (std::string item; std::getline(in, item, ',');) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

struct BenchCluster {
  std::string kind;  // "single" or "ha"
  std::string dir;
  std::vector<std::string> namenodes;
  bool started = false;
};

// `in_flight` (HA only): the namenodes' --journal-appends-in-flight, 0 for their default.
Result<BenchCluster> Start(const HaBenchFlags& flags, const std::string& kind, uint32_t port_base,
                           uint32_t in_flight = 0) {
  BenchCluster cluster{kind, flags.dir + "/cluster-" + kind, {}, false};
  std::string command = flags.cluster_bin + " start " + cluster.dir + " --datanodes " +
                        std::to_string(flags.datanodes) + " --superuser " + flags.user +
                        " --wait-seconds 90";
  if (kind != "single") command += " --namenodes 3";
  if (in_flight != 0) {
    command += " --namenode-arg=--journal-appends-in-flight=" + std::to_string(in_flight);
  }
  if (port_base != 0) command += " --port-base " + std::to_string(port_base);
  Result<std::string> out = Capture(command);
  if (!out.ok()) return out.status();
  std::istringstream lines(*out);
  std::string last;
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) last = line;
  }
  cluster.namenodes = Split(last);
  if (cluster.namenodes.empty()) {
    return Status(StatusCode::kInternal, "granary-cluster start printed '" + *out + "'");
  }
  cluster.started = true;
  Print(json{{"bench", "cluster"},
             {"kind", kind},
             {"namenodes", last},
             {"datanodes", flags.datanodes},
             {"dir", cluster.dir}});
  return cluster;
}

void Stop(const HaBenchFlags& flags, BenchCluster& cluster) {
  if (!cluster.started) return;
  (void)Capture(flags.cluster_bin + " stop " + cluster.dir + " >/dev/null");
  cluster.started = false;
}

ClientOptions Options(const HaBenchFlags& flags, const std::string& namenode, uint32_t k) {
  ClientOptions options;
  options.namenode = Address{namenode};
  options.user.set_user(flags.user);
  options.client_name = "granary-bench-ha/" + std::to_string(getpid()) + "/" + std::to_string(k);
  options.client_address = "127.0.0.1";
  return options;
}

// nn.HaStatus of every namenode; the active's (or single's) address, "" when none. Fills
// `applied` (address -> applied_seq) for the namenodes that answered.
std::string Serving(net::RealEnv& env, Transport& transport,
                    const std::vector<std::string>& namenodes,
                    std::map<std::string, uint64_t>* applied = nullptr) {
  std::string serving;
  for (const std::string& address : namenodes) {
    proto::HaStatusReply reply;
    const Status s = rpc::Call(transport, Address{address}, rpc::nn::kHaStatus,
                               proto::HaStatusRequest(), {}, env.Now() + kProbeTimeout, &reply);
    if (!s.ok()) continue;
    if (applied != nullptr) (*applied)[address] = reply.applied_seq();
    if (reply.role() == "active" || reply.role() == "single") serving = address;
  }
  return serving;
}

// `files` 4 KiB creates into `dir` by `clients` fibers; creates per second, errors counted.
// `entries`: the journal entries the serving namenode applied meanwhile (its applied_seq
// before and after; 0 for the single namenode), so that creates per entry shows how many
// batches one group commit carried.
Result<double> MeasureCreates(const HaBenchFlags& flags, const BenchCluster& cluster,
                              const std::string& dir, uint32_t clients, uint64_t* errors,
                              uint64_t* entries) {
  double seconds = 0;
  const std::string data(kFileBytes, 'h');
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    // On a loaded machine a probe can time out, or the lease can lapse between rounds and a
    // standby take over: look for the serving namenode for up to 30 s before giving up.
    std::map<std::string, uint64_t> applied_before;
    std::string serving;
    for (int attempt = 0; attempt < 300 && serving.empty(); ++attempt) {
      if (attempt > 0) GRANARY_RETURN_IF_ERROR(env.SleepFor(milliseconds(100)));
      serving = Serving(env, transport, cluster.namenodes, &applied_before);
    }
    if (serving.empty()) return Status(StatusCode::kUnavailable, "no active namenode for 30 s");
    std::vector<std::unique_ptr<FileSystem>> fs;
    for (uint32_t k = 0; k < clients; ++k) {
      fs.push_back(std::make_unique<FileSystem>(env, transport, Options(flags, serving, k)));
    }
    GRANARY_RETURN_IF_ERROR(fs[0]->Mkdirs(dir, 0755, true));
    const Clock::time_point start = Clock::now();
    uint32_t running = clients;
    net::Waiter done;
    for (uint32_t k = 0; k < clients; ++k) {
      env.Spawn("create", [&, k] {
        for (uint32_t i = k; i < flags.files; i += clients) {
          const Status s = fs[k]->WriteFile(dir + "/f" + std::to_string(i), data, CreateOptions{});
          if (!s.ok()) ++*errors;
        }
        if (--running == 0) done.Complete(Status::Ok());
      });
    }
    (void)env.Wait(done, kInstantMax);
    seconds = SecondsSince(start);
    std::map<std::string, uint64_t> applied_after;
    if (Serving(env, transport, cluster.namenodes, &applied_after) == serving) {
      *entries = applied_after[serving] - applied_before[serving];
    }
    return Status::Ok();
  });
  if (!ran.ok()) return ran;
  return seconds > 0 ? flags.files / seconds : 0;
}

// Creates per second, interleaved rounds, medians and ratios. False after an error line.
// Within a round the clusters take turns in an order rotated by one each round.
bool RunCreates(const HaBenchFlags& flags, const BenchCluster& single,
                const std::vector<BenchCluster>& has) {
  std::vector<const BenchCluster*> all{&single};
  for (const BenchCluster& ha : has) all.push_back(&ha);
  std::map<std::string, std::vector<double>> rates;   // "<kind>/<clients>"
  std::map<std::string, std::vector<double>> ratios;  // the same, HA kinds only
  for (uint32_t round = 0; round < flags.rounds; ++round) {
    for (const uint32_t clients : flags.clients) {
      std::map<std::string, double> this_round;
      std::vector<const BenchCluster*> order = all;
      std::rotate(order.begin(), order.begin() + round % order.size(), order.end());
      for (const BenchCluster* cluster : order) {
        uint64_t errors = 0;
        uint64_t entries = 0;
        const std::string dir = "/granary-bench-ha-" + std::to_string(getpid()) + "/r" +
                                std::to_string(round) + "-c" + std::to_string(clients);
        Result<double> rate = MeasureCreates(flags, *cluster, dir, clients, &errors, &entries);
        if (!rate.ok()) {
          Print(json{{"bench", "error"},
                     {"cluster", cluster->kind},
                     {"reason", rate.status().ToString()}});
          return false;
        }
        Print(json{{"bench", "ha_creates"},
                   {"cluster", cluster->kind},
                   {"clients", clients},
                   {"round", round},
                   {"files", flags.files},
                   {"file_bytes", kFileBytes},
                   {"creates_per_s", Round1(*rate)},
                   {"journal_entries", entries},
                   {"creates_per_entry",
                    entries == 0 ? 0.0 : Round1(static_cast<double>(flags.files) / entries)},
                   {"errors", errors}});
        if (errors > 0) return false;
        this_round[cluster->kind] = *rate;
        rates[cluster->kind + "/" + std::to_string(clients)].push_back(*rate);
      }
      if (this_round["single"] <= 0) continue;
      for (const BenchCluster& ha : has) {
        ratios[ha.kind + "/" + std::to_string(clients)].push_back(this_round[ha.kind] /
                                                                  this_round["single"]);
      }
    }
  }
  for (const uint32_t clients : flags.clients) {
    for (const BenchCluster* cluster : all) {
      const std::string key = cluster->kind + "/" + std::to_string(clients);
      Print(json{{"bench", "ha_creates_summary"},
                 {"cluster", cluster->kind},
                 {"clients", clients},
                 {"rounds", flags.rounds},
                 {"median_creates_per_s", Round1(Median(rates[key]))}});
      if (cluster == &single) continue;
      const std::string name =
          cluster->kind == "ha" ? "ha_vs_single_creates" : cluster->kind + "_vs_single_creates";
      Print(json{
          {"bench", "ratio"},
          {"name", name},
          {"clients", clients},
          {"file_bytes", kFileBytes},
          {"value", static_cast<double>(static_cast<int64_t>(Median(ratios[key]) * 1000)) / 1000},
          {"of",
           "median over interleaved rounds of (3 namenodes on etcd) / (1 namenode) "
           "creates/s"}});
    }
  }
  return true;
}

// "namenode-K" of an address of the HA cluster (the order granary-cluster printed).
std::string NodeOf(const BenchCluster& cluster, const std::string& address) {
  for (size_t k = 0; k < cluster.namenodes.size(); ++k) {
    if (cluster.namenodes[k] == address) return "namenode-" + std::to_string(k + 1);
  }
  return "";
}

// Waits until every namenode answers, one is active and the others have applied as much.
Result<std::string> SettledActive(const BenchCluster& cluster) {
  std::string active;
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    const Clock::time_point start = Clock::now();
    while (SecondsSince(start) < 60) {
      std::map<std::string, uint64_t> applied;
      active = Serving(env, transport, cluster.namenodes, &applied);
      bool even = applied.size() == cluster.namenodes.size();
      for (const auto& [address, seq] : applied) even = even && seq == applied[active];
      if (!active.empty() && even) return Status::Ok();
      GRANARY_RETURN_IF_ERROR(env.SleepFor(milliseconds(100)));
    }
    return Status(StatusCode::kTimeout, "the namenodes did not settle (one active, caught up)");
  });
  if (!ran.ok()) return ran;
  return active;
}

// One trial: SIGKILL the active, then the first acknowledged create; milliseconds.
Result<double> FailoverTrial(const HaBenchFlags& flags, const BenchCluster& cluster, uint32_t trial,
                             std::string* killed) {
  Result<std::string> active = SettledActive(cluster);
  if (!active.ok()) return active.status();
  *killed = NodeOf(cluster, *active);
  const Clock::time_point start = Clock::now();
  Result<std::string> out = Capture(flags.cluster_bin + " kill " + cluster.dir + " " + *killed);
  if (!out.ok()) return out.status();
  double ms = -1;
  const std::string data(kFileBytes, 'f');
  const Status ran = RunClient([&](net::RealEnv& env, net::ZmqTransport& transport) -> Status {
    uint32_t attempt = 0;
    while (Clock::now() - start < kFailoverLimit) {
      const std::string now = Serving(env, transport, cluster.namenodes);
      if (!now.empty() && now != *active) {
        ClientOptions options = Options(flags, now, 0);
        options.attempts = 1;
        options.rpc_timeout = milliseconds(1000);
        FileSystem fs(env, transport, options);
        const std::string path = "/granary-bench-ha-" + std::to_string(getpid()) + "-failover-" +
                                 std::to_string(trial) + "-" + std::to_string(attempt++);
        if (fs.WriteFile(path, data, CreateOptions{}).ok()) {
          ms = SecondsSince(start) * 1000;
          return Status::Ok();
        }
      }
      GRANARY_RETURN_IF_ERROR(env.SleepFor(milliseconds(20)));
    }
    return Status(StatusCode::kTimeout, "no create acknowledged within 60 s of the SIGKILL");
  });
  if (!ran.ok()) return ran;
  return ms;
}

bool RunFailovers(const HaBenchFlags& flags, const BenchCluster& ha) {
  std::vector<double> times;
  for (uint32_t trial = 0; trial < flags.failovers; ++trial) {
    std::string killed;
    Result<double> ms = FailoverTrial(flags, ha, trial, &killed);
    if (!ms.ok()) {
      Print(json{{"bench", "error"}, {"trial", trial}, {"reason", ms.status().ToString()}});
      return false;
    }
    times.push_back(*ms);
    Print(json{{"bench", "ha_failover"},
               {"trial", trial},
               {"killed", killed},
               {"ms_to_first_acked_create", Round1(*ms)}});
    // Back as a standby for the next trial.
    Result<std::string> out =
        Capture(flags.cluster_bin + " restart " + ha.dir + " " + killed + " --wait-seconds 60");
    if (!out.ok()) {
      Print(json{{"bench", "error"}, {"reason", out.status().ToString()}});
      return false;
    }
  }
  Print(json{{"bench", "ha_failover_summary"},
             {"trials", flags.failovers},
             {"median_ms_to_first_acked_create", Round1(Median(times))},
             {"of", "SIGKILL of the active namenode to the first create acknowledged after it"}});
  return true;
}

}  // namespace

int RunHaBench(const HaBenchFlags& flags) {
  Result<BenchCluster> single = Start(flags, "single", flags.port_base);
  if (!single.ok()) {
    Print(json{{"bench", "error"}, {"reason", single.status().ToString()}});
    return 1;
  }
  // One HA cluster with the namenodes' default, or one per --ha-in-flight value.
  const std::vector<uint32_t> in_flight =
      flags.in_flight.empty() ? std::vector<uint32_t>{0} : flags.in_flight;
  std::vector<BenchCluster> has;
  bool ok = true;
  for (size_t i = 0; i < in_flight.size() && ok; ++i) {
    const std::string kind =
        in_flight[i] == 0 ? "ha" : "ha-in-flight-" + std::to_string(in_flight[i]);
    const uint32_t port_base =
        flags.port_base == 0 ? 0 : flags.port_base + 100 * static_cast<uint32_t>(i + 1);
    Result<BenchCluster> ha = Start(flags, kind, port_base, in_flight[i]);
    if (!ha.ok()) {
      Print(json{{"bench", "error"}, {"reason", ha.status().ToString()}});
      // A failed start may have left members running: stop what the directory records.
      has.push_back(BenchCluster{kind, flags.dir + "/cluster-" + kind, {}, true});
      ok = false;
      break;
    }
    has.push_back(*ha);
  }
  ok = ok && RunCreates(flags, *single, has) &&
       (flags.failovers == 0 || RunFailovers(flags, has[0]));
  for (BenchCluster& ha : has) Stop(flags, ha);
  Stop(flags, *single);
  return ok ? 0 : 1;
}

}  // namespace granary::bench
