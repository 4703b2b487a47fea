// libFuzzer target: the typed rpc::Router (core/rpc/router.h) dispatching arbitrary bodies to
// every namenode method, i.e. protobuf parsing of hostile namenode requests, and the path
// handling those requests reach. Nothing may crash; a body either parses (and then
// re-serializes to an equal message) or gets kBadMessage; an unknown method gets
// kUnimplemented; every string field of a parsed request goes through ParsePath and
// ValidateName with their invariants (fuzz_check.h).
//
// Input: [method byte] body. The byte picks a route of namenode_routes.h (modulo the number
// of routes plus one; the extra value means an unknown method). The bulk payload is empty.
#include <google/protobuf/descriptor.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/util/message_differencer.h>

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "core/rpc/router.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/namenode_routes.h"
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
#define GRANARY_FUZZ_ROUTE(method, Request, Reply)                                        \
  r->methods.push_back(method);                                                           \
  r->router.Add<proto::Request, proto::Reply>(                                            \
      method, [](const proto::Request& request, proto::Reply*, rpc::Exchange& exchange) { \
        GRANARY_FUZZ_CHECK(exchange.request_payload.empty());                             \
        return CheckRequest(request);                                                     \
      });
    GRANARY_NAMENODE_ROUTES(GRANARY_FUZZ_ROUTE)
#undef GRANARY_FUZZ_ROUTE
    // Every *Request of namenode.proto has a route here (the list follows the schema).
    std::set<std::string> routed;
#define GRANARY_FUZZ_NAME(method, Request, Reply) \
  routed.insert(proto::Request::descriptor()->full_name());
    GRANARY_NAMENODE_ROUTES(GRANARY_FUZZ_NAME)
#undef GRANARY_FUZZ_NAME
    const pb::FileDescriptor* file = proto::MkdirsRequest::descriptor()->file();
    for (int i = 0; i < file->message_type_count(); ++i) {
      const std::string& name = file->message_type(i)->full_name();
      if (name.size() > 7 && name.compare(name.size() - 7, 7, "Request") == 0 &&
          routed.count(name) == 0) {
        Fail("namenode_routes.h misses", name);
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
  RpcRequest request{known ? routes.methods[pick] : std::string("nn.NoSuchMethod"),
                     std::string(reinterpret_cast<const char*>(data + 1), size - 1), ""};
  const RpcContext context{Address{"fuzz"}, Instant(std::chrono::seconds(1))};
  Result<RpcReply> reply = routes.router.Dispatch(context, request);
  if (!known) {
    GRANARY_FUZZ_CHECK(reply.code() == StatusCode::kUnimplemented);
  } else if (!reply.ok()) {
    GRANARY_FUZZ_CHECK(reply.code() == StatusCode::kBadMessage);
  }
  return 0;
}
