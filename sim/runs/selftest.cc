#include "sim/runs/selftest.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "sim/models/sim_network.h"

namespace granary::sim {
namespace {

constexpr Duration kRpcTimeout = std::chrono::milliseconds(200);

// What a node's incarnations have synced: kept outside the node, so that it survives crashes.
struct DurableRecord {
  std::string file;
  uint64_t synced_bytes = 0;
  uint64_t synced_hash = 0;
};

struct SelftestState {
  SelftestOptions options;
  SelftestResult result;
  std::vector<DurableRecord> durable;
  std::vector<Address> addresses;
  Random chaos{0};
  Instant end{};
};

std::string EncodeSize(uint64_t size) {
  std::string out(sizeof(size), '\0');
  std::memcpy(out.data(), &size, sizeof(size));
  return out;
}

char PatternByte(uint64_t size, uint64_t index) {
  return static_cast<char>((index * 131 + size) & 0xff);
}

std::string Pattern(uint64_t size) {
  std::string out(size, '\0');
  for (uint64_t i = 0; i < size; ++i) out[i] = PatternByte(size, i);
  return out;
}

std::string RandomBytes(Random& random, uint64_t size) {
  std::string out(size, '\0');
  for (uint64_t i = 0; i < size; i += 8) {
    const uint64_t word = random.Next();
    std::memcpy(out.data() + i, &word, std::min<uint64_t>(8, size - i));
  }
  return out;
}

Result<RpcReply> Echo(Env& env, RpcRequest& request) {
  uint64_t size = 0;
  if (request.method != "echo" || request.body.size() != sizeof(size)) {
    return Status(StatusCode::kInvalidArgument, "echo wants an 8-byte size");
  }
  std::memcpy(&size, request.body.data(), sizeof(size));
  if (size > kSimSelftestReplyBytesMax)
    return Status(StatusCode::kInvalidArgument, "size too large");
  GRANARY_RETURN_IF_ERROR(
      env.ChargeCpu(std::chrono::microseconds(20) + std::chrono::nanoseconds(size)));
  return RpcReply{"", Pattern(size)};
}

// Reads back what earlier incarnations synced; false when some of it is gone or changed.
// kNodeDown (this incarnation crashed meanwhile) counts as nothing checked.
Result<bool> VerifyDurable(Disk& disk, const DurableRecord& record) {
  uint64_t hash = HashBytes("");
  for (uint64_t offset = 0; offset < record.synced_bytes;) {
    const uint64_t want = std::min<uint64_t>(record.synced_bytes - offset, 1 << 20);
    Result<std::string> piece = disk.Read(record.file, offset, want);
    if (piece.code() == StatusCode::kNodeDown) return piece.status();
    if (!piece.ok() || piece->size() != want) return false;
    hash = HashBytes(*piece, hash);
    offset += want;
  }
  return hash == record.synced_hash;
}

void DiskLoop(SimProcess& process, SelftestState& state, uint32_t index) {
  Env& env = process.env();
  Disk& disk = process.disk();
  DurableRecord& record = state.durable[index];
  if (!record.file.empty()) {
    Result<bool> intact = VerifyDurable(disk, record);
    if (!intact.ok()) return;
    if (!*intact) ++state.result.durability_violations;
    if (!disk.Remove(record.file).ok()) return;
    record = DurableRecord{};
  }
  const std::string name = "log-" + std::to_string(process.incarnation());
  if (!disk.Create(name).ok()) return;
  record = DurableRecord{name, 0, HashBytes("")};
  uint64_t length = 0;
  uint64_t hash = HashBytes("");
  for (uint32_t appends = 1;; ++appends) {
    if (!env.SleepFor(Duration(static_cast<int64_t>(env.random().Exponential(10e6)))).ok()) return;
    if (length >= kSimSelftestLogBytesMax) continue;
    const std::string data =
        RandomBytes(env.random(), 1 + env.random().Below(kSimSelftestAppendBytesMax));
    const Status appended = disk.Append(name, data);
    if (appended.code() == StatusCode::kNodeDown) return;
    if (!appended.ok()) continue;
    length += data.size();
    hash = HashBytes(data, hash);
    if (appends % 3 != 0) continue;
    const uint64_t sync_length = length;
    const uint64_t sync_hash = hash;
    if (!disk.Sync(name).ok()) return;
    state.result.disk_bytes_synced += sync_length - record.synced_bytes;
    record.synced_bytes = sync_length;
    record.synced_hash = sync_hash;
  }
}

void RpcLoop(SimProcess& process, SelftestState& state, uint32_t index) {
  Env& env = process.env();
  Random& random = env.random();
  const uint32_t n = state.options.nodes;
  for (;;) {
    if (!env.SleepFor(Duration(static_cast<int64_t>(random.Exponential(5e6)))).ok()) return;
    uint32_t peer = static_cast<uint32_t>(random.Below(n - 1));
    if (peer >= index) ++peer;
    const uint64_t size = std::min<uint64_t>(
        kSimSelftestReplyBytesMax, static_cast<uint64_t>(random.LogNormal(std::log(4096.0), 2.0)));
    RpcRequest request{"echo", EncodeSize(size), RandomBytes(random, random.Below(4096))};
    Result<RpcReply> reply = process.transport().Call(state.addresses[peer], std::move(request),
                                                      env.Now() + kRpcTimeout);
    if (reply.code() == StatusCode::kNodeDown) return;
    if (!reply.ok()) {
      ++state.result.rpcs_failed;
    } else if (reply->payload != Pattern(size)) {
      ++state.result.reply_mismatches;
    } else {
      ++state.result.rpcs_ok;
    }
  }
}

void StartSelftestNode(SimProcess& process, SelftestState& state, uint32_t index) {
  Env& env = process.env();
  const Status served = process.transport().Serve(
      [&env](const RpcContext&, RpcRequest& request) { return Echo(env, request); });
  if (!served.ok()) return;
  env.Spawn("rpc-loop", [&process, &state, index] { RpcLoop(process, state, index); });
  DiskLoop(process, state, index);
}

// One random fault now, and the next one scheduled; every fault heals by itself.
void ScheduleChaos(Simulator& sim, SimNetwork& network, SelftestState& state) {
  const Instant next = sim.Now() + Duration(static_cast<int64_t>(state.chaos.Exponential(300e6)));
  if (next >= state.end) return;
  sim.At(next, [&sim, &network, &state] {
    Random& r = state.chaos;
    const uint32_t n = state.options.nodes;
    const NodeId victim(static_cast<uint32_t>(r.Below(n)));
    const Duration heal_after(static_cast<int64_t>(r.Exponential(500e6)));
    switch (r.Below(4)) {
      case 0:
        if (sim.node(victim).up()) {
          ++state.result.crashes;
          sim.CrashNode(victim);
          sim.At(sim.Now() + heal_after, [&sim, victim] { sim.StartNode(victim); });
        }
        break;
      case 1: {
        NodeId other(static_cast<uint32_t>(r.Below(n)));
        if (other != victim) {
          ++state.result.partitions;
          if (r.Bernoulli(0.5)) {
            network.Partition(victim, other);
          } else {
            network.PartitionOneWay(victim, other);
          }
          sim.At(sim.Now() + heal_after,
                 [&network, victim, other] { network.Heal(victim, other); });
        }
        break;
      }
      case 2:
        network.SetExtraLossProbability(0.01 + 0.04 * r.UniformDouble());
        sim.At(sim.Now() + heal_after, [&network] { network.SetExtraLossProbability(0); });
        break;
      default:
        network.SetDelaySpikes(0.05, std::chrono::milliseconds(20));
        sim.At(sim.Now() + heal_after, [&network] { network.SetDelaySpikes(0, Duration(0)); });
        break;
    }
    ScheduleChaos(sim, network, state);
  });
}

}  // namespace

SelftestResult RunSelftest(const SelftestOptions& options) {
  SelftestState state;
  state.options = options;
  state.result.seed = options.seed;
  state.durable.resize(options.nodes);
  Simulator sim(options.seed);
  Hardware hardware(sim);
  SimNetwork& network = hardware.network();
  state.chaos = sim.DeriveRandom("chaos");
  const char* kDisks[] = {"nvme", "ssd", "hdd"};
  for (uint32_t i = 0; i < options.nodes; ++i) {
    NodeOptions node;
    node.name = "node-" + std::to_string(i);
    node.cores = 2;
    MachineProfile machine;
    DiskProfileByName(kDisks[i % 3], &machine.disk);
    const NodeId id = hardware.AddNode(
        node, machine, [&state, i](SimProcess& process) { StartSelftestNode(process, state, i); });
    state.addresses.push_back(sim.node(id).address());
    sim.StartNode(id);
  }
  const Duration run(static_cast<int64_t>(options.virtual_seconds * 1e9));
  state.end = sim.Now() + run;
  if (options.faults) ScheduleChaos(sim, network, state);
  sim.RunUntil(state.end);
  // Faults stop: heal the network and bring every node back, which re-verifies its disk.
  network.HealAll();
  network.SetExtraLossProbability(0);
  network.SetDelaySpikes(0, Duration(0));
  for (uint32_t i = 0; i < options.nodes; ++i) sim.StartNode(NodeId(i));
  sim.RunFor(std::chrono::seconds(1));

  state.result.trace_hash = sim.trace_hash();
  state.result.events = sim.events_fired();
  state.result.virtual_seconds = ToSeconds(sim.Now().time_since_epoch());
  state.result.messages_dropped = network.stats().messages_dropped;
  state.result.fibers_started = sim.fibers_started();
  const Status shutdown = sim.Shutdown();
  state.result.leaked_fibers = shutdown.ok() ? 0 : sim.live_fibers();
  if (!shutdown.ok()) {
    // Fibers that cannot unwind would outlive the simulator: a bug worth stopping for.
    std::fprintf(stderr, "granary-sim: seed %llu: %s\n",
                 static_cast<unsigned long long>(options.seed), shutdown.ToString().c_str());
    std::abort();
  }
  return state.result;
}

}  // namespace granary::sim
