// The namenode's view of its datanodes: registration, heartbeats, liveness, the commands
// waiting for each, and the choice of targets for new replicas.
//
// A datanode is known by the storage id of its disk, so a restarted datanode keeps its id.
// It is live while its heartbeats arrive; `dead_after` without one declares it dead (the
// block manager then re-replicates what it held). Choosing targets prefers the least loaded
// live datanodes (blocks being written to them, then the fraction of their disk used); ties
// break by the seeded generator.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/common/random.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "proto/namenode.pb.h"

namespace granary {

struct DatanodeRecord {
  uint32_t id = 0;
  std::string address;
  std::string rack;
  std::string storage_id;
  uint64_t capacity_bytes = 0;
  uint64_t used_bytes = 0;
  Instant last_heartbeat{};
  bool live = false;
  // New replicas scheduled to it lately (decays each heartbeat); part of its load.
  uint32_t recent_writes = 0;
  std::deque<proto::DatanodeCommand> commands;

  proto::DatanodeInfo Info() const;
};

class DatanodeManager {
 public:
  explicit DatanodeManager(Random random) : random_(random) {}

  // Registers (or re-registers) the datanode with id `id`, which the caller keeps stable for
  // its storage id across namenode restarts (a datanode's reports name it by that id).
  Status Register(uint32_t id, const proto::RegisterRequest& request, Instant now);
  // Validates a registration's fields.
  static Status ValidateRegistration(const proto::RegisterRequest& request);
  // kNotFound for an id this namenode does not know (it must register again).
  Status Heartbeat(const proto::HeartbeatRequest& request, Instant now);
  // Declares dead the live datanodes silent for `dead_after`; returns their ids.
  std::vector<uint32_t> ExpireSilent(Instant now, Duration dead_after);

  // Up to `count` live datanodes not in `excluded`, least loaded first.
  std::vector<uint32_t> ChooseTargets(uint32_t count, const std::vector<uint32_t>& excluded);
  // `ids` ordered by distance from `client_address` (same host, same rack, other), ties
  // shuffled so that readers spread over replicas.
  void SortByDistance(std::vector<uint32_t>& ids, const std::string& client_address);

  void QueueCommand(uint32_t id, proto::DatanodeCommand command);
  // Removes and returns up to kCommandsPerHeartbeatMax commands for a datanode.
  std::vector<proto::DatanodeCommand> TakeCommands(uint32_t id);

  const DatanodeRecord* Find(uint32_t id) const;
  bool IsLive(uint32_t id) const;
  const std::map<uint32_t, DatanodeRecord>& all() const { return datanodes_; }
  size_t live_count() const;

 private:
  Random random_;
  std::map<uint32_t, DatanodeRecord> datanodes_;
};

}  // namespace granary
