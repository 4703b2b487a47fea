#include "core/security/identity.h"

#include <gtest/gtest.h>

#include "core/common/limits.h"
#include "core/rpc/methods.h"
#include "proto/namenode.pb.h"

namespace granary {
namespace {

proto::UserContext Claim(const std::string& user, std::vector<std::string> groups = {}) {
  proto::UserContext claim;
  claim.set_user(user);
  for (const std::string& g : groups) claim.add_groups(g);
  return claim;
}

IdentityPolicy Policy() {
  return IdentityPolicy("granary", {{"loader", {"alice"}}, {"service", {"*"}}});
}

TEST(ParsePrincipal, Forms) {
  EXPECT_EQ(ParsePrincipal("")->kind, Principal::Kind::kNone);
  EXPECT_EQ(ParsePrincipal("@datanode")->kind, Principal::Kind::kDatanode);
  Result<Principal> alice = ParsePrincipal("alice:ml,research");
  ASSERT_TRUE(alice.ok());
  EXPECT_EQ(alice->kind, Principal::Kind::kUser);
  EXPECT_EQ(alice->user, "alice");
  EXPECT_EQ(alice->groups, (std::vector<std::string>{"ml", "research"}));
  EXPECT_EQ(FormatPrincipal("alice", {"ml", "research"}), "alice:ml,research");
  EXPECT_EQ(FormatPrincipal("bob", {}), "bob");
}

TEST(ParsePrincipal, RefusesMalformed) {
  for (const char* bad :
       {":ml", "alice:", "alice:ml,", "alice:,ml", "al ice", "@other", "alice:m@l", "a:b:c"}) {
    EXPECT_EQ(ParsePrincipal(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(ParsePrincipal(std::string(kPrincipalBytesMax + 1, 'a')).ok());
  std::string many = "alice:";
  for (size_t i = 0; i <= kGroupsPerUserMax; ++i) many += (i ? ",g" : "g") + std::to_string(i);
  EXPECT_FALSE(ParsePrincipal(many).ok());
}

TEST(IdentityPolicy, WithoutPrincipalTheClaimIsTrusted) {
  proto::UserContext claim = Claim("granary", {"supergroup"});
  ASSERT_TRUE(Policy().Bind("", "create", claim).ok());
  EXPECT_EQ(claim.user(), "granary");
  EXPECT_EQ(claim.groups_size(), 1);
}

TEST(IdentityPolicy, ActsAsTheKeysUserWithTheKeysGroups) {
  proto::UserContext claim = Claim("alice", {"supergroup"});
  ASSERT_TRUE(Policy().Bind("alice:ml", "create", claim).ok());
  EXPECT_EQ(claim.user(), "alice");
  ASSERT_EQ(claim.groups_size(), 1);
  EXPECT_EQ(claim.groups(0), "ml");  // the claimed supergroup is dropped
  proto::UserContext unnamed;
  ASSERT_TRUE(Policy().Bind("bob", "stat", unnamed).ok());
  EXPECT_EQ(unnamed.user(), "bob");
}

TEST(IdentityPolicy, RefusesAnotherUserNamingBoth) {
  for (const char* other : {"alice", "granary"}) {
    proto::UserContext claim = Claim(other);
    const Status status = Policy().Bind("bob", "open", claim);
    EXPECT_EQ(status.code(), StatusCode::kPermissionDenied) << other;
    EXPECT_NE(status.message().find("'bob'"), std::string::npos) << status.message();
    EXPECT_NE(status.message().find(std::string("'") + other + "'"), std::string::npos);
  }
}

TEST(IdentityPolicy, SuperuserAndProxies) {
  proto::UserContext claim = Claim("alice", {"ml"});
  ASSERT_TRUE(Policy().Bind("granary", "open", claim).ok());
  EXPECT_EQ(claim.user(), "alice");
  EXPECT_EQ(claim.groups_size(), 1);
  claim = Claim("alice", {"supergroup"});
  ASSERT_TRUE(Policy().Bind("loader", "open", claim).ok());
  EXPECT_EQ(claim.user(), "alice");
  EXPECT_EQ(claim.groups_size(), 0);  // a proxy vouches for the name only
  claim = Claim("bob");
  EXPECT_EQ(Policy().Bind("loader", "open", claim).code(), StatusCode::kPermissionDenied);
  claim = Claim("bob");
  EXPECT_TRUE(Policy().Bind("service", "open", claim).ok());
  claim = Claim("granary");  // "*" never covers the superuser
  EXPECT_EQ(Policy().Bind("service", "open", claim).code(), StatusCode::kPermissionDenied);
}

TEST(IdentityPolicy, DatanodeKeysAndClientKeysStayApart) {
  proto::UserContext claim = Claim("alice");
  EXPECT_EQ(Policy().Bind("@datanode", "open", claim).code(), StatusCode::kPermissionDenied);
  EXPECT_TRUE(Policy().CheckDatanode("@datanode", "register").ok());
  EXPECT_TRUE(Policy().CheckDatanode("", "register").ok());
  EXPECT_EQ(Policy().CheckDatanode("alice", "register").code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Policy().CheckDatanode("granary", "block_report").code(),
            StatusCode::kPermissionDenied);
}

TEST(MakeIdentityCheck, BindsTheUserFieldAndLogsRefusals) {
  std::vector<std::string> logged;
  rpc::Router::RequestCheck check =
      MakeIdentityCheck(Policy(), [&](const std::string& line) { logged.push_back(line); });
  RpcContext context{Address{"10.0.0.9/ab"}, Instant{}, "bob"};
  proto::CreateRequest create;
  create.mutable_user()->set_user("alice");
  EXPECT_EQ(check(rpc::nn::kCreate.name, context, create).code(), StatusCode::kPermissionDenied);
  ASSERT_EQ(logged.size(), 1u);
  EXPECT_NE(logged[0].find("10.0.0.9/ab"), std::string::npos);
  EXPECT_NE(logged[0].find("'alice'"), std::string::npos);
  create.mutable_user()->set_user("bob");
  create.mutable_user()->add_groups("supergroup");
  EXPECT_TRUE(check(rpc::nn::kCreate.name, context, create).ok());
  EXPECT_EQ(create.user().groups_size(), 0);
  proto::RegisterRequest reg;
  EXPECT_EQ(check(rpc::nn::kRegister.name, context, reg).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(logged.size(), 2u);
  context.principal = "@datanode";
  EXPECT_TRUE(check(rpc::nn::kRegister.name, context, reg).ok());
}

// Anyone may report a bad replica, but the report says whether a datanode's key sent it, and
// the check decides that, not the sender (NamespaceService::ReportBadBlock verifies a client's).
TEST(MakeIdentityCheck, ABadBlockReportSaysWhetherAClientSentIt) {
  rpc::Router::RequestCheck check = MakeIdentityCheck(Policy(), nullptr);
  RpcContext context{Address{"10.0.0.9/ab"}, Instant{}, "bob"};
  proto::ReportBadBlockRequest report;
  report.set_from_client(false);  // a client claiming to be a datanode
  EXPECT_TRUE(check(rpc::nn::kReportBadBlock.name, context, report).ok());
  EXPECT_TRUE(report.from_client());
  context.principal = "@datanode";
  report.set_from_client(true);
  EXPECT_TRUE(check(rpc::nn::kReportBadBlock.name, context, report).ok());
  EXPECT_FALSE(report.from_client());
  context.principal = "";  // no CURVE: trusted as sent
  report.set_from_client(false);
  EXPECT_TRUE(check(rpc::nn::kReportBadBlock.name, context, report).ok());
  EXPECT_FALSE(report.from_client());
}

// Handing over the active namenode and reading the namespace's checkpoint pages are the
// superuser's (and the namenodes', which call with the superuser's key): any other key is
// refused with both names, and the refusal is logged.
TEST(MakeIdentityCheck, AdministrativeMethodsAreTheSuperusers) {
  std::vector<std::string> logged;
  rpc::Router::RequestCheck check =
      MakeIdentityCheck(Policy(), [&](const std::string& line) { logged.push_back(line); });
  RpcContext context{Address{"10.0.0.9/ab"}, Instant{}, "bob"};
  proto::FailoverRequest failover;
  proto::CheckpointPageRequest page;
  const Status refused = check(rpc::nn::kFailover.name, context, failover);
  EXPECT_EQ(refused.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(refused.message(),
            "nn.Failover: only the superuser 'granary' may make this request, not user 'bob'");
  EXPECT_EQ(check(rpc::nn::kCheckpointPage.name, context, page).code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(logged.size(), 2u);
  context.principal = "bob:granary";  // the superuser's group is not the superuser
  EXPECT_EQ(check(rpc::nn::kFailover.name, context, failover).code(),
            StatusCode::kPermissionDenied);
  context.principal = "@datanode";
  EXPECT_EQ(check(rpc::nn::kCheckpointPage.name, context, page).code(),
            StatusCode::kPermissionDenied);
  context.principal = "granary";
  EXPECT_TRUE(check(rpc::nn::kFailover.name, context, failover).ok());
  EXPECT_TRUE(check(rpc::nn::kCheckpointPage.name, context, page).ok());
  context.principal = "";  // no CURVE: trusted, as every request
  EXPECT_TRUE(check(rpc::nn::kFailover.name, context, failover).ok());
  // The read-only status methods stay open to every key.
  context.principal = "bob";
  proto::HaStatusRequest status;
  EXPECT_TRUE(check(rpc::nn::kHaStatus.name, context, status).ok());
}

}  // namespace
}  // namespace granary
