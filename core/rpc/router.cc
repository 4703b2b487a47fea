#include "core/rpc/router.h"

namespace granary::rpc {

Status CallByName(Transport& transport, const Address& to, std::string_view method,
                  const google::protobuf::Message& request, std::string request_payload,
                  Instant deadline, google::protobuf::Message* reply, std::string* reply_payload,
                  CallSeq* seq, CallKey key) {
  RpcRequest wire{std::string(method), request.SerializeAsString(), std::move(request_payload)};
  if (seq != nullptr) wire.seq = seq->need;
  wire.client_id = key.client_id;
  wire.call_id = key.call_id;
  GRANARY_ASSIGN_OR_RETURN(RpcReply raw, transport.Call(to, std::move(wire), deadline));
  if (seq != nullptr) seq->seen = raw.seq;
  if (reply != nullptr && !reply->ParseFromString(raw.body)) {
    return Status(StatusCode::kBadMessage,
                  "reply body of " + std::string(method) + " does not parse");
  }
  if (reply_payload != nullptr) *reply_payload = std::move(raw.payload);
  return Status::Ok();
}

Result<RpcReply> Router::Dispatch(const RpcContext& context, RpcRequest& request) {
  auto it = routes_.find(request.method);
  if (it == routes_.end()) {
    return Status(StatusCode::kUnimplemented, "no method " + request.method);
  }
  return it->second(context, request);
}

RpcHandler Router::AsHandler() {
  return
      [this](const RpcContext& context, RpcRequest& request) { return Dispatch(context, request); };
}

}  // namespace granary::rpc
