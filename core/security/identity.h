// Who a request acts as (DESIGN.md §9, issue #17): the identity a transport authenticated,
// and the rule that binds a request's claimed user to it.
//
// With CURVE on, the ZAP handler (net/zap_handler.h) admits a client key and returns the
// identity listed for it as the ZAP "User-Id"; libzmq hands that text to the server with
// every message of the connection (RpcContext::principal). Its forms:
//   "alice"              the user alice, no groups
//   "alice:ml,research"  the user alice, in groups ml and research
//   "@datanode"          a datanode's key: it may register, heartbeat and report blocks,
//                        and make no client request
// An empty principal means the transport authenticates no one (plaintext, loopback-only
// development, the simulator): the request's claimed user is trusted, as before #17.
//
// The rule (IdentityPolicy::Bind), for a client request claiming user C over a key of user K:
//   C empty or C == K      -> acts as K with K's listed groups (claimed groups are dropped:
//                             a client cannot claim membership of the supergroup);
//   K is the superuser     -> acts as C with the claimed groups;
//   K may proxy for C      -> acts as C, without groups (the key vouches for the name only);
//   otherwise              -> kPermissionDenied naming both users.
// Deterministic and free of I/O: the namenode calls it from its router (namenode.cc).
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/rpc/router.h"
#include "proto/fs.pb.h"

namespace granary {

inline constexpr std::string_view kDatanodePrincipal = "@datanode";

struct Principal {
  enum class Kind : uint8_t { kNone, kUser, kDatanode };
  Kind kind = Kind::kNone;
  std::string user;
  std::vector<std::string> groups;
};

// Parses a principal text (above); kInvalidArgument for a malformed one (empty user or
// group, a name past kNameBytesMax, more than kGroupsPerUserMax groups, past
// kPrincipalBytesMax).
Result<Principal> ParsePrincipal(std::string_view text);
// The text ParsePrincipal reads back: "user" or "user:g1,g2".
std::string FormatPrincipal(const std::string& user, const std::vector<std::string>& groups);

class IdentityPolicy {
 public:
  // `proxy_users`: a proxy user -> the users it may act for ("*": any user but the
  // superuser).
  IdentityPolicy(std::string superuser, std::map<std::string, std::set<std::string>> proxy_users);

  // Rewrites `claimed` to the user the request acts as (rule above). `principal` is the
  // transport's text; `method` names the request in errors.
  Status Bind(std::string_view principal, std::string_view method,
              proto::UserContext& claimed) const;
  // A datanode protocol request (register, heartbeat, block report, recovery done): refused
  // unless the principal is empty or a datanode key.
  Status CheckDatanode(std::string_view principal, std::string_view method) const;

  // An administrative request (a graceful failover, a checkpoint page of the whole
  // namespace): refused unless the principal is empty or the superuser's key. The namenodes
  // call one another with the cluster's client key, the superuser's (tools/common/curve_keys.h).
  Status CheckSuperuser(std::string_view principal, std::string_view method) const;

  bool MayProxy(const std::string& proxy, const std::string& user) const;

 private:
  const std::string superuser_;
  const std::map<std::string, std::set<std::string>> proxy_users_;
};

// The namenode's router check (rpc::Router::SetRequestCheck): binds the `user` field
// (a proto::UserContext) of every request that has one, keeps the datanode protocol to
// datanode keys and the administrative methods (nn.Failover, nn.CheckpointPage; nn.SetQuota
// is checked by the namespace, as the bound user) to the superuser's key. Each refusal is also
// passed to `log` (may be empty), naming both users.
rpc::Router::RequestCheck MakeIdentityCheck(IdentityPolicy policy,
                                            std::function<void(const std::string&)> log);

}  // namespace granary
