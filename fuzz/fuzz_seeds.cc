// Writes the seed corpus of the fuzz targets: fuzz_seeds OUT_DIR writes
// OUT_DIR/fuzz_wire/, OUT_DIR/fuzz_router/ and OUT_DIR/fuzz_path/, one input per file, in each
// target's input format. The committed corpus (fuzz/corpus/) was made with it.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <type_traits>
#include <vector>

#include "core/common/limits.h"
#include "core/rpc/methods.h"
#include "core/rpc/wire.h"
#include "proto/namenode.pb.h"

namespace granary::fuzz {
namespace {

namespace pb = google::protobuf;

void Write(const std::filesystem::path& dir, const std::string& name, const std::string& bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

// A plausible request: every field set, strings to paths and names a client would send.
void Fill(pb::Message& message, int depth) {
  const pb::Descriptor* descriptor = message.GetDescriptor();
  const pb::Reflection* reflection = message.GetReflection();
  for (int i = 0; i < descriptor->field_count(); ++i) {
    const pb::FieldDescriptor* field = descriptor->field(i);
    const std::string& name = field->name();
    const std::string text =
        name.find("path") != std::string::npos || name == "source" || name == "destination"
            ? "/data/train/shard-00001.tfrecord"
        : name.find("address") != std::string::npos ? "127.0.0.1:7001"
                                                    : "alice";
    switch (field->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_STRING:
        field->is_repeated() ? reflection->AddString(&message, field, text)
                             : reflection->SetString(&message, field, text);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        field->is_repeated() ? reflection->AddUInt32(&message, field, 3)
                             : reflection->SetUInt32(&message, field, 3);
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        field->is_repeated() ? reflection->AddUInt64(&message, field, 4096)
                             : reflection->SetUInt64(&message, field, 4096);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT32:
        field->is_repeated() ? reflection->AddInt32(&message, field, 1)
                             : reflection->SetInt32(&message, field, 1);
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        field->is_repeated() ? reflection->AddInt64(&message, field, 1)
                             : reflection->SetInt64(&message, field, 1);
        break;
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        field->is_repeated() ? reflection->AddBool(&message, field, true)
                             : reflection->SetBool(&message, field, true);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM:
        if (field->enum_type()->value_count() > 1) {
          field->is_repeated() ? reflection->AddEnum(&message, field, field->enum_type()->value(1))
                               : reflection->SetEnum(&message, field, field->enum_type()->value(1));
        }
        break;
      case pb::FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth < 3) {
          Fill(field->is_repeated() ? *reflection->AddMessage(&message, field)
                                    : *reflection->MutableMessage(&message, field),
               depth + 1);
        }
        break;
      default:
        break;
    }
  }
}

std::string WireInput(const rpc::WireMessage& message) {
  std::string out;
  out.push_back(static_cast<char>(message.envelope.size() & 0xff));
  out.push_back(static_cast<char>(message.envelope.size() >> 8));
  out.push_back(static_cast<char>(message.body.size() & 0xff));
  out.push_back(static_cast<char>(message.body.size() >> 8));
  return out + message.envelope + message.body + message.payload;
}

}  // namespace
}  // namespace granary::fuzz

int main(int argc, char** argv) {
  using namespace granary;
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds OUT_DIR\n");
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::vector<std::string> methods;
  std::vector<std::string> bodies;
  rpc::ForEachNamenodeMethod([&](const auto& method) {
    typename std::decay_t<decltype(method)>::Request request;
    fuzz::Fill(request, 0);
    methods.emplace_back(method.name);
    bodies.push_back(request.SerializeAsString());
  });
  for (size_t i = 0; i < methods.size(); ++i) {
    const std::string name = methods[i].substr(3);
    fuzz::Write(out / "fuzz_router", name, std::string(1, static_cast<char>(i)) + bodies[i]);
    // Requests and replies on the wire, the namenode's and a datanode-sized payload.
    fuzz::Write(
        out / "fuzz_wire", "request-" + name,
        fuzz::WireInput(rpc::EncodeRequest(
            RequestId(1000 + i), RpcRequest{methods[i], bodies[i], ""}, std::chrono::seconds(30))));
  }
  fuzz::Write(out / "fuzz_wire", "request-payload",
              fuzz::WireInput(rpc::EncodeRequest(
                  RequestId(7),
                  RpcRequest{std::string(rpc::dn::kWriteBlock.name), "b", std::string(300, 'p')},
                  std::chrono::milliseconds(1500))));
  fuzz::Write(out / "fuzz_wire", "reply-ok",
              fuzz::WireInput(rpc::EncodeReply(RequestId(7), RpcReply{bodies[1], "inline"})));
  RpcRequest read_at{std::string(rpc::nn::kStat.name), bodies[0], ""};
  read_at.seq = 123456;  // a read that needs journal entry 123456 applied
  fuzz::Write(out / "fuzz_wire", "request-seq",
              fuzz::WireInput(rpc::EncodeRequest(RequestId(10), read_at, std::chrono::seconds(5))));
  RpcReply applied{bodies[0], ""};
  applied.seq = 123457;
  fuzz::Write(out / "fuzz_wire", "reply-seq",
              fuzz::WireInput(rpc::EncodeReply(RequestId(10), applied)));
  fuzz::Write(out / "fuzz_wire", "reply-error",
              fuzz::WireInput(rpc::EncodeReply(
                  RequestId(8), Status(StatusCode::kNotFound, "/data/x.csv does not exist"))));
  fuzz::Write(out / "fuzz_wire", "reply-lease",
              fuzz::WireInput(rpc::EncodeReply(
                  RequestId(9), Status(StatusCode::kLeaseConflict, "held by client-2"))));
  const std::vector<std::string> paths = {"/",
                                          "/a",
                                          "/a//b/",
                                          "/data/train/00001.jpg",
                                          "relative/path",
                                          "/a/./b",
                                          "/a/../b",
                                          "//",
                                          "/" + std::string(kNameBytesMax, 'n'),
                                          "/" + std::string(kNameBytesMax + 1, 'n'),
                                          std::string("/nul\0byte", 9),
                                          "/deep/deep/deep/deep/deep/deep/deep/deep",
                                          "name",
                                          ".."};
  for (size_t i = 0; i < paths.size(); ++i) {
    fuzz::Write(out / "fuzz_path", "path-" + std::to_string(i), paths[i]);
  }
  return 0;
}
