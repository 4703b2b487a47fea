// Machine: what a simulated node's hardware gives each process incarnation besides its Env.
//
// The kernel runs processes; it models no network, disk or metadata store. Whoever builds a
// simulated cluster creates those models (sim/models/) and hands each node its Machine when
// adding it (Simulator::AddNode); the kernel keeps only the pointer. Bind builds the seams of a
// new incarnation, which that incarnation then owns; Crash tells the machine that its node's
// incarnation ended (after every wait of it was failed), so it can lose what a crash loses.
#pragma once

#include <memory>

#include "core/seams/disk.h"
#include "core/seams/meta_store.h"
#include "core/seams/transport.h"

namespace granary::sim {

class SimProcess;

// The seams of one process incarnation other than its Env; any of them may be null when the
// machine has no such part (asked for anyway, it is a bug: SimProcess asserts).
struct ProcessSeams {
  std::unique_ptr<Transport> transport;
  std::unique_ptr<Disk> disk;
  std::unique_ptr<MetaStore> meta_store;
};

class Machine {
 public:
  virtual ~Machine() = default;
  // Builds the seams of `process`, a new incarnation of this machine's node, before its start
  // fiber runs. The seams may refer to `process` and to the machine; the machine outlives them.
  virtual ProcessSeams Bind(SimProcess& process) = 0;
  // The node's incarnation crashed; its waits have already failed.
  virtual void Crash() = 0;
};

}  // namespace granary::sim
