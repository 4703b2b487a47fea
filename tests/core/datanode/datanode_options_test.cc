// ValidateDatanodeOptions: the defaults with a namenode pass; each option out of its range is
// refused with kInvalidArgument naming it.
#include "core/datanode/datanode_options.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/common/limits.h"

namespace granary {
namespace {

DatanodeOptions Valid() {
  DatanodeOptions options;
  options.namenode = Address{"127.0.0.1:7000"};
  return options;
}

TEST(DatanodeOptionsTest, DefaultsWithANamenodeAreValid) {
  EXPECT_TRUE(ValidateDatanodeOptions(Valid()).ok());
  DatanodeOptions edges = Valid();
  edges.namenode.value = std::string(kNamenodeAddressBytesMax, 'n');
  EXPECT_TRUE(ValidateDatanodeOptions(edges).ok());
  // A list of namenodes, each item within the limit (the whole may be longer).
  edges.namenode.value += "," + std::string(kNamenodeAddressBytesMax, 'm');
  edges.rack = std::string(kDatanodeAddressBytesMax, 'r');
  edges.scanner_bytes_per_second = 0;  // the scanner off
  edges.register_backoff_max = edges.register_backoff_initial;
  edges.transfer_packet_bytes = kDatanodePacketBytesMax;
  edges.transfers_max = kDatanodeTransfersMax;
  edges.read_checksum_bytes_per_second = 0;
  EXPECT_TRUE(ValidateDatanodeOptions(edges).ok());
}

TEST(DatanodeOptionsTest, EachOptionOutOfRangeIsRefusedByName) {
  struct Case {
    std::string names;  // what the message must mention
    std::function<void(DatanodeOptions&)> spoil;
  };
  const std::vector<Case> cases = {
      {"namenode", [](DatanodeOptions& o) { o.namenode.value.clear(); }},
      {"namenode",
       [](DatanodeOptions& o) {
         o.namenode.value = std::string(kNamenodeAddressBytesMax + 1, 'n');
       }},
      {"namenode list", [](DatanodeOptions& o) { o.namenode.value = "nn-a,,nn-b"; }},
      {"namenode list", [](DatanodeOptions& o) { o.namenode.value = "nn-a,"; }},
      {"rack", [](DatanodeOptions& o) { o.rack = std::string(kDatanodeAddressBytesMax + 1, 'r'); }},
      {"heartbeat_interval", [](DatanodeOptions& o) { o.heartbeat_interval = Duration(0); }},
      {"rpc_timeout", [](DatanodeOptions& o) { o.rpc_timeout = -std::chrono::seconds(1); }},
      {"scan_period", [](DatanodeOptions& o) { o.scan_period = Duration(0); }},
      {"backoff", [](DatanodeOptions& o) { o.register_backoff_initial = Duration(0); }},
      {"backoff",
       [](DatanodeOptions& o) {
         o.register_backoff_max = o.register_backoff_initial - std::chrono::milliseconds(1);
       }},
      {"transfer_packet_bytes", [](DatanodeOptions& o) { o.transfer_packet_bytes = 0; }},
      {"transfer_packet_bytes",
       [](DatanodeOptions& o) { o.transfer_packet_bytes = kChecksumChunkBytes + 1; }},
      {"transfer_packet_bytes",
       [](DatanodeOptions& o) {
         o.transfer_packet_bytes = kDatanodePacketBytesMax + kChecksumChunkBytes;
       }},
      {"transfers_max", [](DatanodeOptions& o) { o.transfers_max = 0; }},
      {"transfers_max", [](DatanodeOptions& o) { o.transfers_max = kDatanodeTransfersMax + 1; }},
      {"checksum_bytes_per_second", [](DatanodeOptions& o) { o.checksum_bytes_per_second = 0; }},
      {"checksum_bytes_per_second",
       [](DatanodeOptions& o) { o.checksum_bytes_per_second = std::nan(""); }},
      {"read_checksum_bytes_per_second",
       [](DatanodeOptions& o) { o.read_checksum_bytes_per_second = -1; }},
  };
  for (const Case& c : cases) {
    DatanodeOptions options = Valid();
    c.spoil(options);
    const Status status = ValidateDatanodeOptions(options);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << c.names;
    EXPECT_NE(status.message().find(c.names), std::string::npos) << status.message();
  }
}

}  // namespace
}  // namespace granary
