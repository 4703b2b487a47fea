#include "bench/token_bench.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "bench/bench_client.h"
#include "core/client/file_system.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"

namespace granary::bench {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kReadChunkBytes = 4ull << 20;

void Print(const json& line) { std::cout << line.dump() << std::endl; }

double Round(double value, int digits) {
  double scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  return static_cast<double>(static_cast<int64_t>(value * scale + 0.5)) / scale;
}

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct TokenCluster {
  std::string kind;  // "tokens_on" or "tokens_off"
  std::string dir;
  std::string address;
  bool started = false;
};

Result<TokenCluster> Start(const TokenBenchFlags& flags, bool tokens, uint32_t port_base) {
  const std::string kind = tokens ? "tokens_on" : "tokens_off";
  const std::string mode = tokens ? "on" : "off";
  TokenCluster cluster{kind, flags.dir + "/cluster-" + kind, "", false};
  std::string command = flags.cluster_bin + " start " + cluster.dir + " --datanodes " +
                        std::to_string(flags.datanodes) + " --superuser " + flags.user +
                        " --inline-threshold 0 --namenode-arg=--block-tokens=" + mode +
                        " --datanode-arg=--block-tokens=" + mode;
  if (port_base != 0) command += " --port-base " + std::to_string(port_base);
  GRANARY_ASSIGN_OR_RETURN(const std::string out, Capture(command));
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (!line.empty()) cluster.address = line;
  }
  if (cluster.address.find(':') == std::string::npos) {
    return Status(StatusCode::kInternal, "granary-cluster start printed '" + out + "'");
  }
  cluster.started = true;
  Print(json{{"bench", "cluster"},
             {"kind", kind},
             {"address", cluster.address},
             {"datanodes", flags.datanodes}});
  return cluster;
}

void Stop(const TokenBenchFlags& flags, TokenCluster& cluster) {
  if (!cluster.started) return;
  (void)Capture(flags.cluster_bin + " stop " + cluster.dir + " >/dev/null");
  cluster.started = false;
}

ClientOptions Options(const TokenBenchFlags& flags, const std::string& namenode, uint32_t k) {
  ClientOptions options;
  options.namenode = Address{namenode};
  options.user.set_user(flags.user);
  options.client_name =
      "granary-bench-tokens/" + std::to_string(getpid()) + "/" + std::to_string(k);
  options.client_address = "127.0.0.1";
  return options;
}

std::string SmallPath(uint32_t i) { return "/tokens/small/f" + std::to_string(i); }
constexpr const char* kLargePath = "/tokens/large";

// Runs `body` with `clients` file systems on one client runtime.
Status WithClients(const TokenBenchFlags& flags, const std::string& namenode, uint32_t clients,
                   const std::function<Status(net::RealEnv&, std::vector<FileSystem*>&)>& body) {
  return RunClient("granary-bench-tokens", 17, [&](net::RealEnv& env, net::ZmqTransport& t) {
    std::vector<std::unique_ptr<FileSystem>> owned;
    std::vector<FileSystem*> fs;
    for (uint32_t k = 0; k < clients; ++k) {
      owned.push_back(std::make_unique<FileSystem>(env, t, Options(flags, namenode, k)));
      fs.push_back(owned.back().get());
    }
    return body(env, fs);
  });
}

Status WriteFiles(const TokenBenchFlags& flags, const TokenCluster& cluster) {
  return WithClients(flags, cluster.address, 1, [&](net::RealEnv&, std::vector<FileSystem*>& fs) {
    GRANARY_RETURN_IF_ERROR(fs[0]->Mkdirs("/tokens/small", 0755, true));
    const std::string small(flags.file_bytes, 's');
    for (uint32_t i = 0; i < flags.files; ++i) {
      GRANARY_RETURN_IF_ERROR(fs[0]->WriteFile(SmallPath(i), small, CreateOptions{}));
    }
    CreateOptions options;
    options.overwrite = true;
    GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs[0]->Create(kLargePath, options));
    const std::string chunk(kReadChunkBytes, 'L');
    for (uint64_t written = 0; written < flags.large_bytes;) {
      const uint64_t n = std::min<uint64_t>(chunk.size(), flags.large_bytes - written);
      GRANARY_RETURN_IF_ERROR(writer->Write(std::string_view(chunk).substr(0, n)));
      written += n;
    }
    return writer->Close();
  });
}

struct RoundFigures {
  double small_reads_per_s = 0;
  double large_read_mb_s = 0;
};

Result<RoundFigures> MeasureRound(const TokenBenchFlags& flags, const TokenCluster& cluster) {
  RoundFigures figures;
  const Status ran = WithClients(
      flags, cluster.address, flags.clients, [&](net::RealEnv& env, std::vector<FileSystem*>& fs) {
        Status failed;
        uint32_t running = flags.clients;
        net::Waiter done;
        // By time: readers loop over their files until the window ends; only reads that
        // finish inside it count. By count: one pass over the files.
        const bool by_time = flags.window_seconds > 0;
        const Clock::time_point start = Clock::now();
        const Clock::time_point window_start =
            start + std::chrono::duration_cast<Clock::duration>(
                        std::chrono::duration<double>(flags.warmup_seconds));
        const Clock::time_point window_end =
            window_start + std::chrono::duration_cast<Clock::duration>(
                               std::chrono::duration<double>(flags.window_seconds));
        uint64_t in_window = 0;
        for (uint32_t k = 0; k < flags.clients; ++k) {
          env.Spawn("reader", [&, k] {
            for (uint32_t i = k; failed.ok();) {
              Result<std::string> data = fs[k]->ReadFile(SmallPath(i));
              if (!data.ok()) failed = data.status();
              i += flags.clients;
              if (!by_time) {
                if (i >= flags.files) break;
                continue;
              }
              const Clock::time_point now = Clock::now();
              if (now >= window_end) break;
              if (now >= window_start) ++in_window;
              if (i >= flags.files) i = k;
            }
            if (--running == 0) done.Complete(Status::Ok());
          });
        }
        (void)env.Wait(done, kInstantMax);
        figures.small_reads_per_s = by_time ? static_cast<double>(in_window) / flags.window_seconds
                                            : flags.files / SecondsSince(start);
        GRANARY_RETURN_IF_ERROR(failed);
        const Clock::time_point large_start = Clock::now();
        GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, fs[0]->Open(kLargePath));
        uint64_t read = 0;
        for (;;) {
          GRANARY_ASSIGN_OR_RETURN(std::string bytes, reader->Read(kReadChunkBytes));
          if (bytes.empty()) break;
          read += bytes.size();
        }
        if (read != flags.large_bytes) return Status(StatusCode::kInternal, "short large read");
        figures.large_read_mb_s = static_cast<double>(read) / 1e6 / SecondsSince(large_start);
        return Status::Ok();
      });
  if (!ran.ok()) return ran;
  return figures;
}

int Measure(const TokenBenchFlags& flags, std::vector<TokenCluster>& clusters) {
  for (const TokenCluster& cluster : clusters) {
    if (Status written = WriteFiles(flags, cluster); !written.ok()) {
      Print(json{{"bench", "error"}, {"cluster", cluster.kind}, {"reason", written.ToString()}});
      return 1;
    }
  }
  std::vector<std::vector<RoundFigures>> rounds(clusters.size());
  std::vector<double> small_ratios, large_ratios;
  // Round 0 is a warm-up of both clusters (caches, connections): measured, not counted.
  for (uint32_t round = 0; round <= flags.rounds; ++round) {
    RoundFigures figures[2];
    for (size_t n = 0; n < clusters.size(); ++n) {
      const size_t c = (round % 2 == 0) ? n : clusters.size() - 1 - n;
      Result<RoundFigures> measured = MeasureRound(flags, clusters[c]);
      if (!measured.ok()) {
        Print(json{{"bench", "error"},
                   {"cluster", clusters[c].kind},
                   {"reason", measured.status().ToString()}});
        return 1;
      }
      figures[c] = *measured;
      Print(json{{"bench", "tokens_read"},
                 {"cluster", clusters[c].kind},
                 {"round", round},
                 {"warm_up", round == 0},
                 {"files", flags.files},
                 {"window_seconds", flags.window_seconds},
                 {"file_bytes", flags.file_bytes},
                 {"clients", flags.clients},
                 {"small_reads_per_s", Round(measured->small_reads_per_s, 1)},
                 {"large_bytes", flags.large_bytes},
                 {"large_read_mb_s", Round(measured->large_read_mb_s, 1)}});
    }
    if (round == 0) continue;
    for (size_t c = 0; c < clusters.size(); ++c) rounds[c].push_back(figures[c]);
    small_ratios.push_back(figures[0].small_reads_per_s / figures[1].small_reads_per_s);
    large_ratios.push_back(figures[0].large_read_mb_s / figures[1].large_read_mb_s);
  }
  for (size_t c = 0; c < clusters.size(); ++c) {
    std::vector<double> small, large;
    for (const RoundFigures& f : rounds[c]) {
      small.push_back(f.small_reads_per_s);
      large.push_back(f.large_read_mb_s);
    }
    Print(json{{"bench", "tokens_summary"},
               {"cluster", clusters[c].kind},
               {"rounds", flags.rounds},
               {"small_reads_per_s_median", Round(Median(small), 1)},
               {"large_read_mb_s_median", Round(Median(large), 1)}});
  }
  Print(json{{"bench", "ratio"},
             {"name", "tokens_on_vs_off_small_reads"},
             {"value", Round(Median(small_ratios), 3)},
             {"of", "median over interleaved rounds of small-file reads/s, tokens on / off"}});
  Print(json{{"bench", "ratio"},
             {"name", "tokens_on_vs_off_large_read"},
             {"value", Round(Median(large_ratios), 3)},
             {"of", "median over interleaved rounds of large-file read MB/s, tokens on / off"}});
  return 0;
}

}  // namespace

int RunTokenBench(const TokenBenchFlags& flags) {
  std::vector<TokenCluster> clusters;
  for (const bool tokens : {true, false}) {
    const uint32_t port_base = flags.port_base == 0 ? 0 : flags.port_base + (tokens ? 0 : 100);
    Result<TokenCluster> cluster = Start(flags, tokens, port_base);
    if (!cluster.ok()) {
      Print(json{{"bench", "error"}, {"reason", cluster.status().ToString()}});
      for (TokenCluster& started : clusters) Stop(flags, started);
      return 1;
    }
    clusters.push_back(*cluster);
  }
  const int result = Measure(flags, clusters);
  for (TokenCluster& cluster : clusters) Stop(flags, cluster);
  return result;
}

}  // namespace granary::bench
