// ClientOptions: how one client talks to the cluster (timeouts, retries, packet and read
// sizes). Plain values, copied into the client's ClientContext when a FileSystem is built.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/common/time.h"
#include "core/rpc/namenode_locator.h"
#include "core/seams/transport.h"
#include "proto/fs.pb.h"

namespace granary {

struct ClientOptions {
  // The namenode, or a comma-separated list of them for a highly available cluster
  // ("127.0.0.1:7000,127.0.0.1:7010,127.0.0.1:7020"): the client finds the active one
  // (core/rpc/namenode_locator.h).
  Address namenode;
  // With a list of namenodes, where reads (stat, list, open, open-many) go; writes go to the
  // active (core/rpc/namenode_locator.h). Every namenode answers a read only once it has
  // applied what this client saw, so the client reads its own writes and never goes back in
  // time wherever a read lands. least-loaded by default: it spreads reads over every
  // namenode like random does when they answer alike, and moves them off a namenode that is
  // slow, overloaded or paused (its calls pile up) before they time out; "nearest" is for
  // namenodes on the clients' machines, "observer" keeps reads off the active (HDFS's observer
  // reads), "active" for today's single-namenode behaviour.
  ReadPolicy read_policy = ReadPolicy::kLeastLoaded;
  // Reads carry no journal sequence, so a standby answers at once from what it applied:
  // neither read-your-writes nor never-backwards holds (NamenodeLocator::set_stale_reads).
  // Only for measuring what consistency costs; false by default.
  bool stale_reads = false;
  proto::UserContext user;
  // Names this client's leases; unique per client process.
  std::string client_name;
  // Where this client runs ("host:port" or a simulated node name), for replica ordering.
  std::string client_address;
  Duration rpc_timeout = std::chrono::seconds(10);
  Duration datanode_timeout = std::chrono::seconds(30);
  // Tries of one call to a single namenode that times out or is unreachable.
  uint32_t attempts = 8;
  // With a list of namenodes, a call keeps trying (every namenode at least once, backing off
  // between tries) until this long has passed since it began, instead of `attempts` times:
  // long enough for a standby to take over (its journal lease expiring, catching up).
  Duration failover_timeout = std::chrono::seconds(30);
  Duration backoff_initial = std::chrono::milliseconds(50);
  Duration backoff_max = std::chrono::seconds(2);
  // Data per dn.WriteBlock packet: a multiple of the 64 KiB checksum chunk.
  uint64_t packet_bytes = 1 << 20;
  // Packets of a block sent before the oldest is acknowledged (at least 1). 1 by default:
  // more needs a block's packets to reach each datanode in the order they were sent, which
  // neither the simulated network (its links' jitter) nor the ZeroMQ transport (while it
  // connects) promises, and a datanode refuses a packet that overtook another. On the
  // calibrated host of experiment 4, 4 made every 64 MiB write fail on the whole pipeline
  // (tests/sim/calibration_test.cc). Datanodes that hold an early packet until its
  // predecessor lands would make more safe.
  uint32_t packets_in_flight = 1;
  // Sync every packet on every datanode, not only the last of each block.
  bool sync_every_packet = false;
  // Bytes fetched ahead by a Read that does not continue the previous one (the first, too);
  // each sequential Read doubles it, up to read_parallelism pieces.
  uint64_t read_ahead_bytes = 1 << 20;
  // A read of a range splits into pieces of at most this many bytes (and at block
  // boundaries; one dn.ReadBlock each, at most 4 MiB), up to `read_parallelism` of them in
  // flight at once. Sequential Reads keep that many pieces in flight ahead of the position.
  uint64_t read_piece_bytes = 4 << 20;
  uint32_t read_parallelism = 8;
  // Renew the lease when this long has passed without talking to the namenode.
  Duration lease_renew_interval = std::chrono::seconds(10);
  // How long Close waits for the last block to be reported before giving up.
  uint32_t complete_attempts = 40;
};

}  // namespace granary
