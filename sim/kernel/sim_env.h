// SimEnv: the Env seam (core/seams/env.h) of one simulated process incarnation.
//
// Time is the simulator's virtual clock; a sleep is a timer event of the process; Spawn starts
// a fiber of the process; random() is the incarnation's own generator, derived from the root
// seed and the node's name and incarnation. ChargeCpu queues work on the node's modelled cores
// (NodeOptions::cores, and the shared host's cores when there is one) in FIFO order and waits
// until it is done. Once the incarnation crashes, every wait returns kNodeDown.
//
// A process's SimEnv lives as long as the process object; Simulator::EnvOf finds the Env of a
// node's running incarnation by the node's name.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"

namespace granary::sim {

class SimProcess;

class SimEnv final : public granary::Env {
 public:
  // `process` owns this Env and outlives it.
  explicit SimEnv(SimProcess& process) : process_(process) {}

  Instant Now() override;
  // Virtual time counts from 2026-01-01T00:00:00Z on the calendar.
  int64_t CalendarNanos() override;
  Status SleepFor(Duration duration) override;
  Status SleepUntil(Instant deadline) override;
  void Spawn(std::string_view name, std::function<void()> fn) override;
  Random& random() override;
  Status ChargeCpu(Duration cpu_time) override;
  std::string_view node_name() const override;

 private:
  // ChargeCpu on a node that is one process of a shared host (NodeOptions::shared_cores).
  Status ChargeSharedHost(Duration cpu_time);

  SimProcess& process_;
};

}  // namespace granary::sim
