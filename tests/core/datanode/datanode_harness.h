// Test harness for the datanode: datanodes in the simulator beside a fake namenode that
// records what it receives and hands out queued commands, and a client node on whose fibers
// a test calls dn.* methods directly.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/datanode/datanode.h"
#include "core/datanode/replica_store.h"
#include "core/rpc/router.h"
#include "proto/datanode.pb.h"
#include "proto/namenode.pb.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "sim/models/sim_disk.h"

namespace granary::testing {

using namespace std::chrono_literals;

inline std::string RandomBytes(Random& random, uint64_t size) {
  std::string out(size, '\0');
  for (uint64_t i = 0; i < size; i += 8) {
    const uint64_t word = random.Next();
    std::memcpy(out.data() + i, &word, std::min<uint64_t>(8, size - i));
  }
  return out;
}

inline proto::BlockRef Ref(uint64_t id, uint64_t stamp, uint64_t length) {
  proto::BlockRef ref;
  ref.set_block_id(id);
  ref.set_generation_stamp(stamp);
  ref.set_length_bytes(length);
  return ref;
}

inline sim::NodeOptions NodeNamed(std::string name) {
  sim::NodeOptions options;
  options.name = std::move(name);
  return options;
}

// The namenode's side of the datanode protocol, recording everything.
class FakeNamenode {
 public:
  FakeNamenode() {
    router_.Add(rpc::nn::kRegister, [this](const proto::RegisterRequest& request,
                                           proto::RegisterReply* reply, rpc::Exchange&) {
      if (standby) return Status(StatusCode::kNotActive, active_hint);
      registrations.push_back(request);
      auto [it, added] = ids.emplace(request.address(), static_cast<uint32_t>(ids.size() + 1));
      reply->set_datanode_id(it->second);
      return Status::Ok();
    });
    router_.Add(rpc::nn::kHeartbeat, [this](const proto::HeartbeatRequest& request,
                                            proto::HeartbeatReply* reply, rpc::Exchange&) {
      if (standby) return Status(StatusCode::kNotActive, active_hint);
      heartbeats.push_back(request);
      reply->set_fencing_token(fencing_token);
      std::deque<proto::DatanodeCommand>& queue = commands[request.datanode_id()];
      while (!queue.empty()) {
        *reply->add_commands() = queue.front();
        queue.pop_front();
      }
      return Status::Ok();
    });
    router_.Add(rpc::nn::kBlockReport, [this](const proto::BlockReportRequest& request,
                                              proto::BlockReportReply*, rpc::Exchange&) {
      if (standby) return Status(StatusCode::kNotActive, active_hint);
      reports.push_back(request);
      return Status::Ok();
    });
    router_.Add(rpc::nn::kReportBadBlock, [this](const proto::ReportBadBlockRequest& request,
                                                 proto::ReportBadBlockReply*, rpc::Exchange&) {
      if (standby) return Status(StatusCode::kNotActive, active_hint);
      bad_blocks.push_back(request);
      return Status::Ok();
    });
    router_.Add(rpc::nn::kRecoveryDone, [this](const proto::RecoveryDoneRequest& request,
                                               proto::RecoveryDoneReply*, rpc::Exchange&) {
      if (standby) return Status(StatusCode::kNotActive, active_hint);
      recoveries.push_back(request);
      return Status::Ok();
    });
  }

  RpcHandler handler() { return router_.AsHandler(); }

  // Incremental reports of `datanode_id` that name `block_id` finalized.
  int FinalizedReports(uint32_t datanode_id, uint64_t block_id) const {
    int count = 0;
    for (const proto::BlockReportRequest& report : reports) {
      if (report.full() || report.datanode_id() != datanode_id) continue;
      for (const proto::ReplicaReport& replica : report.replicas()) {
        if (replica.block().block_id() == block_id && replica.finalized()) ++count;
      }
    }
    return count;
  }
  int DeletedReports(uint32_t datanode_id, uint64_t block_id) const {
    int count = 0;
    for (const proto::BlockReportRequest& report : reports) {
      if (report.full() || report.datanode_id() != datanode_id) continue;
      for (const proto::BlockRef& block : report.deleted()) {
        if (block.block_id() == block_id) ++count;
      }
    }
    return count;
  }
  // The latest full report of `datanode_id`; null when none came.
  const proto::BlockReportRequest* LastFullReport(uint32_t datanode_id) const {
    const proto::BlockReportRequest* last = nullptr;
    for (const proto::BlockReportRequest& report : reports) {
      if (report.full() && report.datanode_id() == datanode_id) last = &report;
    }
    return last;
  }
  int FullReports(uint32_t datanode_id) const {
    int count = 0;
    for (const proto::BlockReportRequest& report : reports) {
      count += report.full() && report.datanode_id() == datanode_id;
    }
    return count;
  }

  std::vector<proto::RegisterRequest> registrations;
  std::vector<proto::HeartbeatRequest> heartbeats;
  std::vector<proto::BlockReportRequest> reports;
  std::vector<proto::ReportBadBlockRequest> bad_blocks;
  std::vector<proto::RecoveryDoneRequest> recoveries;
  std::map<std::string, uint32_t> ids;  // address -> datanode id
  std::map<uint32_t, std::deque<proto::DatanodeCommand>> commands;
  // HA (issue 13): the token heartbeat replies carry; a standby answers every call with
  // kNotActive naming `active_hint` (empty: it knows no active) and records nothing.
  uint64_t fencing_token = 0;
  bool standby = false;
  std::string active_hint;

 private:
  rpc::Router router_;
};

// A namenode, `datanodes` datanodes "dn-0"..., and a client, in one simulator. With
// Namenodes::kTwo a second namenode "nn-2" (nn2) joins, and the datanodes are given the list
// "nn,nn-2".
enum class Namenodes { kOne, kTwo };
class DatanodeCluster {
 public:
  DatanodeCluster(uint64_t seed, int datanodes, DatanodeOptions options = TestOptions(),
                  Namenodes namenodes = Namenodes::kOne)
      : sim(seed), options_(std::move(options)) {
    options_.namenode = Address{namenodes == Namenodes::kOne ? "nn" : "nn,nn-2"};
    nn_node = hardware.AddNode(NodeNamed("nn"), [this](sim::SimProcess& process) {
      (void)process.transport().Serve(nn.handler());
    });
    if (namenodes == Namenodes::kTwo) {
      nn2_node = hardware.AddNode(NodeNamed("nn-2"), [this](sim::SimProcess& process) {
        (void)process.transport().Serve(nn2.handler());
      });
      sim.StartNode(nn2_node);
    }
    client_node = hardware.AddNode(NodeNamed("client"), [](sim::SimProcess&) {});
    running.resize(datanodes, nullptr);
    for (int i = 0; i < datanodes; ++i) {
      const NodeId id = hardware.AddNode(
          NodeNamed("dn-" + std::to_string(i)), [this, i](sim::SimProcess& process) {
            Datanode datanode(process.env(), process.transport(), process.disk(), options_);
            running[i] = &datanode;
            (void)datanode.Run();
            if (running[i] == &datanode) running[i] = nullptr;
          });
      dn_nodes.push_back(id);
    }
    sim.StartNode(nn_node);
    sim.StartNode(client_node);
    for (NodeId id : dn_nodes) sim.StartNode(id);
  }

  ~DatanodeCluster() {
    const Status shutdown = sim.Shutdown();
    EXPECT_TRUE(shutdown.ok()) << shutdown.ToString();
  }

  static DatanodeOptions TestOptions() {
    DatanodeOptions options;
    options.heartbeat_interval = 100ms;
    options.rpc_timeout = 2s;
    options.scanner_bytes_per_second = 0;
    return options;
  }

  Address dn(int i) const { return Address{"dn-" + std::to_string(i)}; }
  uint32_t dn_id(int i) const {
    auto it = nn.ids.find(dn(i).value);
    return it == nn.ids.end() ? 0 : it->second;
  }
  sim::SimDiskStorage& disk(int i) { return hardware.machine(dn_nodes[i]).disk_storage(); }
  proto::DatanodeInfo info(int i) const {
    proto::DatanodeInfo out;
    out.set_datanode_id(dn_id(i));
    out.set_address(dn(i).value);
    return out;
  }

  // Runs the simulator until `done` holds, checking every 10 ms of virtual time; false when
  // `limit` passed first.
  bool RunUntil(const std::function<bool()>& done, Duration limit = 30s) {
    const Instant end = sim.Now() + limit;
    while (!done()) {
      if (sim.Now() >= end) return false;
      sim.RunFor(10ms);
    }
    return true;
  }

  // Runs `body` on a fiber of the client node until it returns.
  void RunClient(std::function<void(Env&, Transport&)> body, Duration limit = 60s) {
    bool done = false;
    sim::SimProcess& client = *sim.node(client_node).process();
    client.Spawn("test-client", [&client, &body, &done] {
      body(client.env(), client.transport());
      done = true;
    });
    ASSERT_TRUE(RunUntil([&done] { return done; }, limit)) << "client did not finish";
  }

  // Restarts datanode `i` and runs until its new incarnation registered and reported.
  bool RestartDatanode(int i) {
    const size_t registrations = nn.registrations.size();
    sim.RestartNode(dn_nodes[i]);
    return RunUntil([&] {
      return nn.registrations.size() > registrations && running[i] != nullptr &&
             running[i]->registered();
    });
  }

  // Every datanode registered and sent its first full report.
  bool AllRegistered() const {
    for (size_t i = 0; i < running.size(); ++i) {
      if (running[i] == nullptr || !running[i]->registered()) return false;
    }
    return true;
  }

  FakeNamenode nn;  // outlives the simulator, whose fibers use its router
  FakeNamenode nn2;
  sim::Simulator sim;
  sim::Hardware hardware{sim};
  NodeId nn_node;
  NodeId nn2_node;
  NodeId client_node;
  std::vector<NodeId> dn_nodes;
  std::vector<Datanode*> running;  // the live Datanode of each node, while its Run lasts

 private:
  DatanodeOptions options_;
};

// ---- client calls ----

struct Packet {
  uint64_t block_id = 0;
  uint64_t generation_stamp = 1;
  uint64_t offset_bytes = 0;
  std::string data = {};
  bool last = false;
  bool sync = false;
  bool recovery = false;
  bool transfer = false;  // a replication's copy
  bool flush = false;     // may end in a partial chunk (Writer::Flush)
};

inline Result<proto::WriteBlockReply> WritePacket(
    Env& env, Transport& transport, const Address& to, const Packet& packet,
    const std::vector<proto::DatanodeInfo>& downstream, Duration timeout = 5s) {
  proto::WriteBlockRequest request;
  *request.mutable_block() =
      Ref(packet.block_id, packet.generation_stamp, packet.offset_bytes + packet.data.size());
  request.set_offset_bytes(packet.offset_bytes);
  for (uint32_t crc : ChunkCrcs(packet.data)) request.add_chunk_crc32c(crc);
  for (const proto::DatanodeInfo& next : downstream) *request.add_downstream() = next;
  request.set_last_packet(packet.last);
  request.set_sync(packet.sync);
  request.set_recovery(packet.recovery);
  request.set_transfer(packet.transfer);
  request.set_flush(packet.flush);
  request.set_client_name("test-client");
  proto::WriteBlockReply reply;
  GRANARY_RETURN_IF_ERROR(rpc::Call(transport, to, rpc::dn::kWriteBlock, request, packet.data,
                                    env.Now() + timeout, &reply));
  return reply;
}

// Writes `data` as a whole block through the pipeline `to` + `downstream`, in packets of
// `packet_bytes`; the reply of the first packet that failed, or of the last.
inline Result<proto::WriteBlockReply> WriteWholeBlock(
    Env& env, Transport& transport, const Address& to,
    const std::vector<proto::DatanodeInfo>& downstream, uint64_t block_id, uint64_t stamp,
    const std::string& data, uint64_t packet_bytes) {
  uint64_t offset = 0;
  do {
    Packet packet;
    packet.block_id = block_id;
    packet.generation_stamp = stamp;
    packet.offset_bytes = offset;
    packet.data = data.substr(offset, packet_bytes);
    packet.last = offset + packet.data.size() == data.size();
    Result<proto::WriteBlockReply> reply = WritePacket(env, transport, to, packet, downstream);
    if (!reply.ok() || reply->failed_index() != -1 || packet.last) return reply;
    offset += packet.data.size();
  } while (true);
}

inline Result<proto::ReadBlockReply> ReadRange(Env& env, Transport& transport, const Address& from,
                                               uint64_t block_id, uint64_t stamp, uint64_t offset,
                                               uint64_t length, std::string* payload) {
  proto::ReadBlockRequest request;
  *request.mutable_block() = Ref(block_id, stamp, 0);
  request.set_offset_bytes(offset);
  request.set_length_bytes(length);
  proto::ReadBlockReply reply;
  GRANARY_RETURN_IF_ERROR(rpc::Call(transport, from, rpc::dn::kReadBlock, request, "",
                                    env.Now() + 5s, &reply, payload));
  return reply;
}

// Reads a whole replica in pieces, checking every chunk's CRC as a client would.
inline Result<std::string> ReadWholeReplica(Env& env, Transport& transport, const Address& from,
                                            uint64_t block_id, uint64_t stamp) {
  std::string out;
  for (;;) {
    std::string payload;
    GRANARY_ASSIGN_OR_RETURN(
        proto::ReadBlockReply reply,
        ReadRange(env, transport, from, block_id, stamp, out.size(), 1 << 20, &payload));
    if (reply.offset_bytes() != out.size()) return Status(StatusCode::kInternal, "misaligned");
    const std::vector<uint32_t> crcs = ChunkCrcs(payload);
    if (static_cast<int>(crcs.size()) != reply.chunk_crc32c_size()) {
      return Status(StatusCode::kInternal, "crc count");
    }
    for (size_t i = 0; i < crcs.size(); ++i) {
      if (crcs[i] != reply.chunk_crc32c(static_cast<int>(i))) {
        return Status(StatusCode::kInternal, "crc mismatch at the client");
      }
    }
    out += payload;
    if (out.size() >= reply.replica_length_bytes()) return out;
    if (payload.empty()) return Status(StatusCode::kInternal, "no progress");
  }
}

inline Result<proto::GetReplicaReply> GetReplica(Env& env, Transport& transport,
                                                 const Address& from, uint64_t block_id) {
  proto::GetReplicaRequest request;
  request.mutable_block()->set_block_id(block_id);
  proto::GetReplicaReply reply;
  GRANARY_RETURN_IF_ERROR(
      rpc::Call(transport, from, rpc::dn::kGetReplica, request, "", env.Now() + 5s, &reply));
  return reply;
}

}  // namespace granary::testing
