#include "core/security/identity.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "core/common/limits.h"
#include "core/rpc/methods.h"

namespace granary {
namespace {

Status Malformed(std::string_view text, const char* why) {
  return Status(StatusCode::kInvalidArgument,
                "malformed key identity '" + std::string(text) + "': " + why);
}

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > kNameBytesMax) return false;
  for (const char c : name) {
    if (c == ':' || c == ',' || c == '@' || static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

Status Denied(std::string message) {
  return Status(StatusCode::kPermissionDenied, std::move(message));
}

}  // namespace

Result<Principal> ParsePrincipal(std::string_view text) {
  Principal principal;
  if (text.empty()) return principal;
  if (text.size() > kPrincipalBytesMax) return Malformed(text.substr(0, 32), "too long");
  if (text == kDatanodePrincipal) {
    principal.kind = Principal::Kind::kDatanode;
    return principal;
  }
  const size_t colon = text.find(':');
  const std::string_view user = text.substr(0, colon);
  if (!ValidName(user)) return Malformed(text, "bad user name");
  principal.kind = Principal::Kind::kUser;
  principal.user = std::string(user);
  if (colon == std::string_view::npos) return principal;
  std::string_view rest = text.substr(colon + 1);
  for (;;) {
    const size_t comma = rest.find(',');
    const std::string_view group = rest.substr(0, comma);
    if (!ValidName(group)) return Malformed(text, "bad group name");
    if (principal.groups.size() == kGroupsPerUserMax) return Malformed(text, "too many groups");
    principal.groups.emplace_back(group);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return principal;
}

std::string FormatPrincipal(const std::string& user, const std::vector<std::string>& groups) {
  std::string text = user;
  for (size_t i = 0; i < groups.size(); ++i) text += (i == 0 ? ":" : ",") + groups[i];
  return text;
}

IdentityPolicy::IdentityPolicy(std::string superuser,
                               std::map<std::string, std::set<std::string>> proxy_users)
    : superuser_(std::move(superuser)), proxy_users_(std::move(proxy_users)) {}

bool IdentityPolicy::MayProxy(const std::string& proxy, const std::string& user) const {
  auto it = proxy_users_.find(proxy);
  if (it == proxy_users_.end()) return false;
  if (it->second.count(user) != 0) return true;
  return it->second.count("*") != 0 && user != superuser_;
}

Status IdentityPolicy::Bind(std::string_view principal_text, std::string_view method,
                            proto::UserContext& claimed) const {
  GRANARY_ASSIGN_OR_RETURN(Principal principal, ParsePrincipal(principal_text));
  switch (principal.kind) {
    case Principal::Kind::kNone:
      return Status::Ok();  // no authentication: the claim is trusted (identity.h)
    case Principal::Kind::kDatanode:
      return Denied(std::string(method) + ": a datanode key makes no client request");
    case Principal::Kind::kUser:
      break;
  }
  const std::string& claim = claimed.user();
  if (claim.empty() || claim == principal.user) {
    claimed.set_user(principal.user);
    claimed.clear_groups();
    for (const std::string& group : principal.groups) claimed.add_groups(group);
    return Status::Ok();
  }
  if (principal.user == superuser_) return Status::Ok();
  if (MayProxy(principal.user, claim)) {
    claimed.clear_groups();
    return Status::Ok();
  }
  return Denied(std::string(method) + ": the key of user '" + principal.user +
                "' may not act as user '" + claim + "'");
}

Status IdentityPolicy::CheckDatanode(std::string_view principal_text,
                                     std::string_view method) const {
  GRANARY_ASSIGN_OR_RETURN(Principal principal, ParsePrincipal(principal_text));
  if (principal.kind != Principal::Kind::kUser) return Status::Ok();
  return Denied(std::string(method) + ": the key of user '" + principal.user +
                "' is not a datanode key (datanodes authenticate with keys listed in "
                "datanodes/)");
}

Status IdentityPolicy::CheckSuperuser(std::string_view principal_text,
                                      std::string_view method) const {
  GRANARY_ASSIGN_OR_RETURN(Principal principal, ParsePrincipal(principal_text));
  switch (principal.kind) {
    case Principal::Kind::kNone:
      return Status::Ok();  // no authentication: trusted (identity.h)
    case Principal::Kind::kDatanode:
      return Denied(std::string(method) + ": a datanode key makes no administrative request");
    case Principal::Kind::kUser:
      break;
  }
  if (principal.user == superuser_) return Status::Ok();
  return Denied(std::string(method) + ": only the superuser '" + superuser_ +
                "' may make this request, not user '" + principal.user + "'");
}

rpc::Router::RequestCheck MakeIdentityCheck(IdentityPolicy policy,
                                            std::function<void(const std::string&)> log) {
  return [policy = std::move(policy), log = std::move(log)](
             std::string_view method, const RpcContext& context,
             google::protobuf::Message& request) -> Status {
    if (context.principal.empty()) return Status::Ok();  // nothing authenticated: trusted
    Status status;
    if (method == rpc::nn::kRegister.name || method == rpc::nn::kHeartbeat.name ||
        method == rpc::nn::kBlockReport.name || method == rpc::nn::kRecoveryDone.name) {
      status = policy.CheckDatanode(context.principal, method);
    } else if (method == rpc::nn::kFailover.name || method == rpc::nn::kCheckpointPage.name) {
      status = policy.CheckSuperuser(context.principal, method);
    } else if (method == rpc::nn::kReportBadBlock.name) {
      // Any key may report a bad replica (a reader finds bad checksums), but only a datanode's
      // report is taken at its word: a user's makes the datanode verify the replica first.
      Result<Principal> principal = ParsePrincipal(context.principal);
      status = principal.status();
      if (principal.ok()) {
        static_cast<proto::ReportBadBlockRequest&>(request).set_from_client(
            principal->kind != Principal::Kind::kDatanode);
      }
    } else {
      const google::protobuf::FieldDescriptor* field =
          request.GetDescriptor()->FindFieldByName("user");
      if (field == nullptr || field->message_type() != proto::UserContext::descriptor()) {
        return Status::Ok();
      }
      auto* user = static_cast<proto::UserContext*>(
          request.GetReflection()->MutableMessage(&request, field));
      status = policy.Bind(context.principal, method, *user);
    }
    if (!status.ok() && log) log("refused from " + context.from.value + ": " + status.message());
    return status;
  };
}

}  // namespace granary
