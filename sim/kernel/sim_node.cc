#include "sim/kernel/sim_node.h"

#include <algorithm>
#include <cassert>

#include "sim/kernel/machine.h"
#include "sim/kernel/sim_process.h"

namespace granary::sim {

SimNode::SimNode(Simulator& simulator, NodeId id, NodeOptions options, StartFunction start,
                 Machine* machine)
    : simulator_(simulator),
      id_(id),
      options_(std::move(options)),
      start_(std::move(start)),
      machine_(machine),
      core_free_at_(options_.cores, Instant{}),
      helper_free_at_(1, Instant{}) {}

SimNode::~SimNode() = default;

bool SimNode::up() const { return process_ != nullptr; }

void SimNode::Start() {
  assert(!up());
  ++incarnation_;
  process_ = std::make_shared<SimProcess>(simulator_, *this, incarnation_);
  SimProcess* process = process_.get();
  process_->Spawn("start", [this, process] {
    if (start_) start_(*process);
  });
}

void SimNode::Crash() {
  assert(up());
  process_->Crash();
  if (machine_ != nullptr) machine_->Crash();
  // Work queued on the node's own cores dies with the process (on a shared host's cores the
  // crashed process's queued work still occupies them: a simplification, see simulator.h).
  std::fill(core_free_at_.begin(), core_free_at_.end(), simulator_.Now());
  std::fill(helper_free_at_.begin(), helper_free_at_.end(), simulator_.Now());
  process_.reset();
}

}  // namespace granary::sim
