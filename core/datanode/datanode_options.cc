#include "core/datanode/datanode_options.h"

#include "core/common/limits.h"
#include "core/rpc/namenode_locator.h"

namespace granary {
namespace {

Status Bad(std::string what) { return Status(StatusCode::kInvalidArgument, std::move(what)); }

}  // namespace

Status ValidateDatanodeOptions(const DatanodeOptions& options) {
  if (options.namenode.value.empty()) return Bad("namenode address is empty");
  const Result<std::vector<Address>> namenodes = NamenodeLocator::Parse(options.namenode);
  if (!namenodes.ok()) return namenodes.status();
  if (options.rack.size() > kDatanodeAddressBytesMax) return Bad("rack too long");
  if (options.heartbeat_interval <= Duration(0)) return Bad("heartbeat_interval must be positive");
  if (options.rpc_timeout <= Duration(0)) return Bad("rpc_timeout must be positive");
  if (options.scan_period <= Duration(0)) return Bad("scan_period must be positive");
  if (options.register_backoff_initial <= Duration(0) ||
      options.register_backoff_max < options.register_backoff_initial) {
    return Bad("register backoff must be positive and initial <= max");
  }
  if (options.transfer_packet_bytes == 0 ||
      options.transfer_packet_bytes % kChecksumChunkBytes != 0 ||
      options.transfer_packet_bytes > kDatanodePacketBytesMax) {
    return Bad(
        "transfer_packet_bytes must be a positive multiple of kChecksumChunkBytes, "
        "at most kDatanodePacketBytesMax");
  }
  if (options.transfers_max == 0 || options.transfers_max > kDatanodeTransfersMax) {
    return Bad("transfers_max must be in 1..kDatanodeTransfersMax");
  }
  if (!(options.checksum_bytes_per_second > 0)) {
    return Bad("checksum_bytes_per_second must be positive");
  }
  if (!(options.read_checksum_bytes_per_second >= 0)) {
    return Bad("read_checksum_bytes_per_second must be 0 or positive");
  }
  return Status::Ok();
}

}  // namespace granary
