// granary-block-probe: talks to a namenode or a datanode directly, one RPC at a time, as a
// hostile client would (tests/integration/security_users.sh; docs/deploy.md, "Security").
//
//   granary-block-probe [--curve-keys DIR] locate --namenode HOST:PORT --path P [--user U]
//       nn.Open: one line per block, "BLOCK_ID STAMP LENGTH DATANODE TOKEN_HEX" (token "-"
//       when the namenode issues none)
//   granary-block-probe [--curve-keys DIR] read --datanode HOST:PORT --block ID --stamp GS
//                                               --length N [--token HEX]
//       dn.ReadBlock of bytes [0, N) of the block; prints "read N bytes" (the bytes to
//       --out FILE when given)
//   granary-block-probe [--curve-keys DIR] register --namenode HOST:PORT
//       nn.Register as if this process were a datanode
// --curve-keys (or GRANARY_CURVE_KEYS) comes before the subcommand.
// Exit: 0 when the call succeeded, 1 with the refusal on stderr ("granary-block-probe: ..."),
// 2 for bad flags.
#include <CLI/CLI.hpp>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>

#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "net/real_env.h"
#include "net/zmq_transport.h"
#include "proto/datanode.pb.h"
#include "proto/namenode.pb.h"
#include "tools/common/curve_keys.h"
#include "tools/common/tool_util.h"

namespace {

using granary::Status;

std::string Hex(const std::string& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (const char c : bytes) {
    out += digits[(static_cast<uint8_t>(c) >> 4) & 0xf];
    out += digits[static_cast<uint8_t>(c) & 0xf];
  }
  return out;
}

bool Unhex(const std::string& hex, std::string* out) {
  if (hex.size() % 2 != 0) return false;
  out->clear();
  for (size_t i = 0; i < hex.size(); i += 2) {
    int value = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char c = hex[i + j];
      const int digit = c >= '0' && c <= '9'   ? c - '0'
                        : c >= 'a' && c <= 'f' ? c - 'a' + 10
                        : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                               : -1;
      if (digit < 0) return false;
      value = value * 16 + digit;
    }
    out->push_back(static_cast<char>(value));
  }
  return true;
}

struct Flags {
  std::string namenode, datanode, path, user = "probe", token, out, curve_keys;
  uint64_t block = 0, stamp = 0, length = 0;
};

Status Locate(granary::Transport& transport, const Flags& flags, granary::Instant deadline) {
  granary::proto::OpenRequest request;
  request.mutable_user()->set_user(flags.user);
  request.set_path(flags.path);
  granary::proto::OpenReply reply;
  GRANARY_RETURN_IF_ERROR(granary::rpc::Call(transport, granary::Address{flags.namenode},
                                             granary::rpc::nn::kOpen, request, {}, deadline,
                                             &reply));
  for (const granary::proto::LocatedBlock& block : reply.blocks()) {
    std::cout << block.block().block_id() << " " << block.block().generation_stamp() << " "
              << block.block().length_bytes() << " "
              << (block.replicas().empty() ? "-" : block.replicas(0).address()) << " "
              << (block.access_token().empty() ? "-" : Hex(block.access_token())) << "\n";
  }
  return Status::Ok();
}

Status Read(granary::Transport& transport, const Flags& flags, granary::Instant deadline) {
  granary::proto::ReadBlockRequest request;
  request.mutable_block()->set_block_id(flags.block);
  request.mutable_block()->set_generation_stamp(flags.stamp);
  request.set_length_bytes(flags.length);
  std::string token;
  if (flags.token != "-" && !Unhex(flags.token, &token)) {
    return Status(granary::StatusCode::kInvalidArgument, "--token is not hex");
  }
  request.set_access_token(token);
  granary::proto::ReadBlockReply reply;
  std::string payload;
  GRANARY_RETURN_IF_ERROR(granary::rpc::Call(transport, granary::Address{flags.datanode},
                                             granary::rpc::dn::kReadBlock, request, {}, deadline,
                                             &reply, &payload));
  if (!flags.out.empty()) std::ofstream(flags.out, std::ios::binary) << payload;
  std::cout << "read " << payload.size() << " bytes\n";
  return Status::Ok();
}

Status Register(granary::Transport& transport, const Flags& flags, granary::Instant deadline) {
  granary::proto::RegisterRequest request;
  request.set_address("127.0.0.1:1");
  request.set_storage_id("probe");
  granary::proto::RegisterReply reply;
  GRANARY_RETURN_IF_ERROR(granary::rpc::Call(transport, granary::Address{flags.namenode},
                                             granary::rpc::nn::kRegister, request, {}, deadline,
                                             &reply));
  std::cout << "registered as datanode " << reply.datanode_id() << "\n";
  return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary-block-probe: one direct RPC to a namenode or datanode (security tests)"};
  app.require_subcommand(1);
  Flags flags;
  CLI::App* locate = app.add_subcommand("locate", "nn.Open: the blocks of a file and tokens");
  locate->add_option("--namenode", flags.namenode)->required();
  locate->add_option("--path", flags.path)->required();
  locate->add_option("--user", flags.user, "the user the request claims (default probe)");
  CLI::App* read = app.add_subcommand("read", "dn.ReadBlock with the given token");
  read->add_option("--datanode", flags.datanode)->required();
  read->add_option("--block", flags.block)->required();
  read->add_option("--stamp", flags.stamp)->required();
  read->add_option("--length", flags.length)->required();
  read->add_option("--token", flags.token, "hex, or - for none")->default_val("-");
  read->add_option("--out", flags.out, "write the bytes read here");
  CLI::App* reg = app.add_subcommand("register", "nn.Register as a datanode");
  reg->add_option("--namenode", flags.namenode)->required();
  app.add_option("--curve-keys", flags.curve_keys, "CURVE key directory (client.*, server.pub)")
      ->envname("GRANARY_CURVE_KEYS");
  if (const int code = granary::tools::ParseFlags(app, argc, argv, "granary-block-probe");
      code >= 0) {
    return code;
  }

  granary::net::ZmqTransportOptions transport_options;
  if (!flags.curve_keys.empty()) {
    const Status keys = granary::tools::ConfigureClientCurve(flags.curve_keys, transport_options);
    if (!keys.ok()) {
      std::cerr << "granary-block-probe: " << keys.ToString() << std::endl;
      return 2;
    }
  }
  granary::net::RealEnvOptions env_options;
  env_options.node_name = "granary-block-probe";
  granary::net::RealEnv env(env_options);
  auto transport = granary::net::ZmqTransport::Create(env, transport_options);
  if (!transport.ok()) {
    std::cerr << "granary-block-probe: " << transport.status().ToString() << std::endl;
    return 2;
  }
  Status result;
  const Status ran = env.RunMain([&]() -> Status {
    const granary::Instant deadline = env.Now() + std::chrono::seconds(5);
    if (*locate) result = Locate(**transport, flags, deadline);
    if (*read) result = Read(**transport, flags, deadline);
    if (*reg) result = Register(**transport, flags, deadline);
    return Status::Ok();
  });
  transport->reset();
  if (!ran.ok()) result = ran;
  if (!result.ok()) {
    std::cerr << "granary-block-probe: " << result.ToString() << std::endl;
    return 1;
  }
  return 0;
}
