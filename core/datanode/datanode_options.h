// The settings of one datanode process.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/transport.h"

namespace granary {

struct DatanodeOptions {
  // Where the namenode listens, or a comma-separated list of namenodes ("a,b,c", each at most
  // kNamenodeAddressBytesMax): the datanode follows the active (datanode.h).
  Address namenode;
  // This datanode's rack, for the namenode's placement ("/rack-1"); may be empty.
  std::string rack;
  // Between heartbeats, unless the namenode's register reply names another interval.
  Duration heartbeat_interval = std::chrono::seconds(1);
  // Deadline of each call to the namenode and to other datanodes (transfers, recovery); a
  // forwarded pipeline packet gets at most this, and less when its caller's deadline is near.
  Duration rpc_timeout = std::chrono::seconds(10);
  // Sync every packet of a write, not only those asking for it and the last.
  bool sync_every_packet = false;
  // The block scanner's read rate; 0 turns the scanner off.
  uint64_t scanner_bytes_per_second = 1024 * 1024;
  // The scanner starts a pass over every finalized replica at most this often.
  Duration scan_period = std::chrono::hours(24);
  // Registration retries back off from the first to the last (doubling, with jitter); so do
  // retried reports.
  Duration register_backoff_initial = std::chrono::milliseconds(100);
  Duration register_backoff_max = std::chrono::seconds(5);
  // Packet size when this datanode copies a replica to others (replicate command); a
  // multiple of kChecksumChunkBytes, at most kDatanodePacketBytesMax.
  uint64_t transfer_packet_bytes = 1024 * 1024;
  // Replicate and recover commands run at once (at most kDatanodeTransfersMax); more queue.
  uint32_t transfers_max = 4;
  // Modelled CPU cost of checksumming (and copying) what is written, charged through
  // Env::ChargeCpu; and of what is read, 0 meaning the same rate.
  double checksum_bytes_per_second = 2e9;
  double read_checksum_bytes_per_second = 0;
  // Modelled CPU of a replica's fixed work (its files, their syncs' system calls, the rename
  // that finalizes it), charged with the last packet written. Default none.
  Duration cpu_per_replica{0};
  // Block access tokens (core/security/block_token.h): a client's dn.ReadBlock and
  // dn.WriteBlock must carry a valid one, with the keys the namenode hands out in heartbeat
  // replies. Off by default (the tools turn it on with CURVE keys).
  bool require_block_tokens = false;
};

// kInvalidArgument naming the first option out of range.
Status ValidateDatanodeOptions(const DatanodeOptions& options);

}  // namespace granary
