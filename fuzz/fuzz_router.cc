// libFuzzer target: the typed rpc::Router (core/rpc/router.h) dispatching arbitrary bodies to
// every namenode method, i.e. protobuf parsing of hostile namenode requests, and the path
// handling those requests reach. Nothing may crash; a body either parses (and then
// re-serializes to an equal message) or gets kBadMessage; an unknown method gets
// kUnimplemented; every string field of a parsed request goes through ParsePath and
// ValidateName with their invariants (fuzz_check.h).
//
// Input: [method byte] body. The byte picks a method of rpc::ForEachNamenodeMethod (core/rpc/
// methods.h; modulo the number of methods plus one; the extra value means an unknown method). The
// bulk payload is empty.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "core/rpc/router.h"
#include "fuzz/fuzz_check.h"
#include "proto/namenode.pb.h"

namespace granary::fuzz {
namespace {

namespace pb = google::protobuf;

constexpr int kDepthMax = 8;

// Every string of a parsed message, nested ones included, is tried as a path and a name.
void CheckStrings(const pb::Message& message, int depth) {
  if (depth > kDepthMax) return;
  const pb::Reflection* reflection = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const pb::FieldDescriptor* field : fields) {
    if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          CheckPath(reflection->GetRepeatedString(message, field, i));
        }
      } else {
        CheckPath(reflection->GetString(message, field));
      }
    } else if (field->cpp_type() == pb::FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          CheckStrings(reflection->GetRepeatedMessage(message, field, i), depth + 1);
        }
      } else {
        CheckStrings(reflection->GetMessage(message, field), depth + 1);
      }
    }
  }
}

template <typename Request>
Status CheckRequest(const Request& request) {
  const std::string bytes = request.SerializeAsString();
  Request again;
  GRANARY_FUZZ_CHECK(again.ParseFromString(bytes));
  GRANARY_FUZZ_CHECK(pb::util::MessageDifferencer::Equals(request, again));
  CheckStrings(request, 0);
  return Status::Ok();
}

struct Routes {
  rpc::Router router;
  std::vector<std::string> methods;
};

Routes& TheRoutes() {
  static Routes* routes = [] {
    auto* r = new Routes;
    // Every method of the table, and so every *Request of namenode.proto it names.
    std::set<std::string> routed;
    rpc::ForEachNamenodeMethod([&](const auto& method) {
      using Request = typename std::decay_t<decltype(method)>::Request;
      r->methods.emplace_back(method.name);
      r->router.Add(method, [](const Request& request, auto*, rpc::Exchange& exchange) {
        GRANARY_FUZZ_CHECK(exchange.request_payload.empty());
        return CheckRequest(request);
      });
      routed.insert(Request::descriptor()->full_name());
    });
    const pb::FileDescriptor* file = proto::MkdirsRequest::descriptor()->file();
    for (int i = 0; i < file->message_type_count(); ++i) {
      const std::string& name = file->message_type(i)->full_name();
      if (name.size() > 7 && name.compare(name.size() - 7, 7, "Request") == 0 &&
          routed.count(name) == 0) {
        Fail("core/rpc/methods.h misses", name);
      }
    }
    return r;
  }();
  return *routes;
}

}  // namespace
}  // namespace granary::fuzz

// Protobuf logs every string field that is not UTF-8; hostile input is expected here.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace granary;
  fuzz::Routes& routes = fuzz::TheRoutes();
  if (size == 0) return 0;
  const size_t pick = data[0] % (routes.methods.size() + 1);
  const bool known = pick < routes.methods.size();
  const std::string unknown = "nn.NoSuchMethod";  // structure: allow (unknown on purpose)
  RpcRequest request{known ? routes.methods[pick] : unknown,
                     std::string(reinterpret_cast<const char*>(data + 1), size - 1), ""};
  const RpcContext context{Address{"fuzz"}, Instant(std::chrono::seconds(1)), {}};
  Result<RpcReply> reply = routes.router.Dispatch(context, request);
  if (!known) {
    GRANARY_FUZZ_CHECK(reply.code() == StatusCode::kUnimplemented);
  } else if (!reply.ok()) {
    GRANARY_FUZZ_CHECK(reply.code() == StatusCode::kBadMessage);
  }
  return 0;
}
