#include "sim/kernel/sim_env.h"

#include <algorithm>
#include <cassert>
#include <memory>
#include <vector>

#include "sim/kernel/sim_node.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"

namespace granary::sim {

Instant SimEnv::Now() { return process_.simulator().Now(); }

int64_t SimEnv::CalendarNanos() {
  constexpr int64_t kSimulatedEpochNanos = 1767225600LL * 1000000000LL;
  return kSimulatedEpochNanos + ToNanos(Now());
}

Status SimEnv::SleepFor(Duration duration) {
  return SleepUntil(Now() + std::max(duration, Duration(0)));
}

Status SimEnv::SleepUntil(Instant deadline) {
  return process_.WaitUntil(std::max(deadline, Now()), EventKind::kTimer, 0);
}

void SimEnv::Spawn(std::string_view name, std::function<void()> fn) {
  process_.Spawn(name, std::move(fn));
}

Random& SimEnv::random() { return process_.random(); }

std::string_view SimEnv::node_name() const { return process_.node().name(); }

Status SimEnv::ChargeCpu(Duration cpu_time) {
  SimNode& node = process_.node();
  std::vector<Instant>& cores = node.core_free_at();
  if (cores.empty() || cpu_time <= Duration(0)) {
    return process_.alive() ? Status::Ok() : Status(StatusCode::kNodeDown, "crashed");
  }
  if (node.options().shared_cores) return ChargeSharedHost(cpu_time);
  // The earliest free core takes the work (the lowest index on ties): FIFO service.
  auto core = std::min_element(cores.begin(), cores.end());
  const Instant start = std::max(*core, Now());
  *core = start + cpu_time;
  node.AddCpuCharged(cpu_time);
  return process_.WaitUntil(*core, EventKind::kCpuDone, cpu_time.count());
}

Status SimEnv::ChargeSharedHost(Duration cpu_time) {
  SimNode& node = process_.node();
  std::vector<Instant>& cores = node.core_free_at();
  auto core = std::min_element(cores.begin(), cores.end());
  const std::shared_ptr<std::vector<Instant>>& host = node.options().shared_cores;
  assert(host != nullptr);
  // The main-thread part needs one of the process's threads and a host core at once; the rest
  // its helper thread and a host core, after it.
  const auto main_part = Duration(static_cast<int64_t>(static_cast<double>(cpu_time.count()) *
                                                       node.options().main_thread_share));
  const double stretch = node.options().shared_core_stretch;
  auto on_host = [stretch](Duration d) {
    return stretch == 1 ? d
                        : Duration(static_cast<int64_t>(static_cast<double>(d.count()) * stretch));
  };
  Instant end = Now();
  if (main_part > Duration(0)) {
    auto host_core = std::min_element(host->begin(), host->end());
    const Instant start = std::max({*core, *host_core, Now()});
    end = start + on_host(main_part);
    *core = end;
    *host_core = end;
  }
  if (cpu_time > main_part) {
    auto host_core = std::min_element(host->begin(), host->end());
    Instant& helper = node.helper_free_at().front();
    const Instant start = std::max({*host_core, helper, end});
    end = start + on_host(cpu_time - main_part);
    *host_core = end;
    helper = end;
  }
  node.AddCpuCharged(cpu_time);
  return process_.WaitUntil(end, EventKind::kCpuDone, cpu_time.count());
}

}  // namespace granary::sim
