// Speed and memory of the simulation kernel (STYLE.md 12: programs, not assertions).
//
//   BM_BareEvents        baseline: controller events through the event queue, no fibers
//   BM_TimerEvents       1,000 fibers each looping SleepFor(random 1..100 µs): events/s
//   BM_SimulatedRpcs     100 nodes, 4 client fibers each, calling random peers: RPCs/s
//   BM_BlockedFibers     10,000 fibers blocked in a sleep: resident memory, MiB
//
// Targets on a 2-core machine: >= 1M timer events/s, >= 200k RPCs/s, 10,000 fibers < 200 MiB.
// Compare items_per_second of BM_TimerEvents with BM_BareEvents of the same run: the ratio
// is the cost of a fiber switch plus a wait over a bare event.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"

namespace granary::sim {
namespace {

using namespace std::chrono_literals;

void ExpectOk(const Status& status) {
  if (!status.ok()) {
    std::fprintf(stderr, "sim_bench: %s\n", status.ToString().c_str());
    std::abort();
  }
}

// Resident set size of this process, in bytes.
double ResidentBytes() {
  long pages_total = 0;
  long pages_resident = 0;
  std::FILE* statm = std::fopen("/proc/self/statm", "r");
  if (statm == nullptr) return 0;
  if (std::fscanf(statm, "%ld %ld", &pages_total, &pages_resident) != 2) pages_resident = 0;
  std::fclose(statm);
  return static_cast<double>(pages_resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
}

void BM_BareEvents(benchmark::State& state) {
  Simulator sim(1);
  Random random(1);
  // A fixed population of self-rescheduling events, as many as BM_TimerEvents has fibers.
  std::function<void()> tick;
  tick = [&] { sim.At(sim.Now() + Duration(1000 + random.Below(99000)), tick); };
  for (int i = 0; i < 1000; ++i) sim.At(sim.Now() + Duration(random.Below(100000)), tick);
  const uint64_t before = sim.events_fired();
  for (auto _ : state) sim.RunFor(1ms);
  state.SetItemsProcessed(static_cast<int64_t>(sim.events_fired() - before));
  ExpectOk(sim.Shutdown());
}
BENCHMARK(BM_BareEvents)->Unit(benchmark::kMillisecond);

// A node with default cores, NIC, disk and store: only the name differs.
NodeOptions Named(const std::string& name) {
  NodeOptions options;
  options.name = name;
  return options;
}

void BM_TimerEvents(benchmark::State& state) {
  const int fibers = static_cast<int>(state.range(0));
  Simulator sim(1);
  const NodeId id = sim.AddNode(Named("n"), [fibers](SimProcess& process) {
    Env& env = process.env();
    for (int i = 0; i < fibers; ++i) {
      env.Spawn("sleeper", [&env] {
        for (;;) {
          const Duration pause(1000 + env.random().Below(99000));  // 1..100 µs
          if (!env.SleepFor(pause).ok()) return;
        }
      });
    }
  });
  sim.StartNode(id);
  sim.RunFor(1ms);  // every fiber started
  const uint64_t before = sim.events_fired();
  for (auto _ : state) sim.RunFor(1ms);
  state.SetItemsProcessed(static_cast<int64_t>(sim.events_fired() - before));
  ExpectOk(sim.Shutdown());
}
BENCHMARK(BM_TimerEvents)->Arg(1000)->Unit(benchmark::kMillisecond);

void BM_SimulatedRpcs(benchmark::State& state) {
  const uint32_t nodes = static_cast<uint32_t>(state.range(0));
  constexpr int kCallersPerNode = 4;
  Simulator sim(1);
  Hardware hardware(sim);
  uint64_t rpcs_ok = 0;
  uint64_t rpcs_failed = 0;
  std::vector<Address> addresses;
  for (uint32_t i = 0; i < nodes; ++i) {
    addresses.push_back(Address{"node-" + std::to_string(i)});
  }
  for (uint32_t i = 0; i < nodes; ++i) {
    hardware.AddNode(Named(addresses[i].value), [&, i](SimProcess& process) {
      Env& env = process.env();
      ExpectOk(
          process.transport().Serve([](const RpcContext&, RpcRequest& request) -> Result<RpcReply> {
            return RpcReply{std::move(request.body), ""};
          }));
      for (int c = 0; c < kCallersPerNode; ++c) {
        env.Spawn("caller", [&, i] {
          for (;;) {
            uint32_t peer = static_cast<uint32_t>(env.random().Below(nodes - 1));
            if (peer >= i) ++peer;
            Result<RpcReply> reply = process.transport().Call(
                addresses[peer], RpcRequest{"ping", std::string(32, 'p'), ""}, env.Now() + 1s);
            if (reply.code() == StatusCode::kNodeDown) return;
            ++(reply.ok() ? rpcs_ok : rpcs_failed);
          }
        });
      }
    });
    sim.StartNode(NodeId(i));
  }
  sim.RunFor(1ms);
  const uint64_t before = rpcs_ok;
  for (auto _ : state) sim.RunFor(1ms);
  state.SetItemsProcessed(static_cast<int64_t>(rpcs_ok - before));
  state.counters["failed"] = static_cast<double>(rpcs_failed);
  ExpectOk(sim.Shutdown());
}
BENCHMARK(BM_SimulatedRpcs)->Arg(100)->Unit(benchmark::kMillisecond);

void BM_BlockedFibers(benchmark::State& state) {
  const int fibers = static_cast<int>(state.range(0));
  double delta_bytes = 0;
  for (auto _ : state) {
    const double before = ResidentBytes();
    Simulator sim(1);
    const NodeId id = sim.AddNode(Named("n"), [fibers](SimProcess& process) {
      Env& env = process.env();
      for (int i = 0; i < fibers; ++i) {
        env.Spawn("blocked", [&env] { (void)env.SleepFor(1h); });
      }
    });
    sim.StartNode(id);
    sim.RunFor(1ms);
    if (sim.live_fibers() != static_cast<uint64_t>(fibers)) std::abort();
    delta_bytes = ResidentBytes() - before;
    ExpectOk(sim.Shutdown());
  }
  state.counters["rss_delta_MiB"] = delta_bytes / (1024.0 * 1024.0);
  state.counters["fibers"] = fibers;
}
// One iteration: the allocator keeps freed memory, so a second one would measure less.
BENCHMARK(BM_BlockedFibers)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace granary::sim

BENCHMARK_MAIN();
