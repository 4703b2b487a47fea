// POSIX permission bits as the namenode enforces them (core/namenode/permission.h): only the
// bits of the user's class count, and the superuser passes.
#include "core/namenode/permission.h"

#include <gtest/gtest.h>

namespace granary {
namespace {

proto::UserContext UserOf(const std::string& name, const std::string& group = "") {
  proto::UserContext user;
  user.set_user(name);
  if (!group.empty()) user.add_groups(group);
  return user;
}

proto::Inode Owned(uint32_t mode) {
  proto::Inode inode;
  inode.set_owner("alice");
  inode.set_group("staff");
  inode.set_mode(mode);
  return inode;
}

TEST(PermissionTest, OnlyTheBitsOfTheUsersClassCount) {
  const PermissionPolicy policy;
  // Owner may write, group may only read, others nothing.
  const proto::Inode inode = Owned(0640);
  EXPECT_TRUE(policy.Check(UserOf("alice"), inode, Access::kWrite, "/f").ok());
  EXPECT_TRUE(policy.Check(UserOf("bob", "staff"), inode, Access::kRead, "/f").ok());
  EXPECT_EQ(policy.Check(UserOf("bob", "staff"), inode, Access::kWrite, "/f").code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(policy.Check(UserOf("carol"), inode, Access::kRead, "/f").code(),
            StatusCode::kPermissionDenied);
  // The owner's class is the owner's even when the others' bits are wider.
  const proto::Inode odd = Owned(0007);
  EXPECT_EQ(policy.Check(UserOf("alice"), odd, Access::kRead, "/f").code(),
            StatusCode::kPermissionDenied);
  EXPECT_TRUE(policy.Check(UserOf("carol"), odd, Access::kExecute, "/f").ok());
}

TEST(PermissionTest, SuperuserSupergroupAndDisabledPolicyPassEverything) {
  PermissionPolicy policy;
  const proto::Inode closed = Owned(0);
  EXPECT_TRUE(policy.Check(UserOf("granary"), closed, Access::kWrite, "/f").ok());
  EXPECT_TRUE(policy.Check(UserOf("dave", "supergroup"), closed, Access::kWrite, "/f").ok());
  EXPECT_TRUE(policy.IsSuperuser(UserOf("dave", "supergroup")));
  EXPECT_FALSE(policy.IsSuperuser(UserOf("dave", "staff")));
  const Status denied = policy.Check(UserOf("dave"), closed, Access::kRead, "/secret");
  EXPECT_EQ(denied.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(denied.message().find("/secret"), std::string::npos);
  EXPECT_NE(denied.message().find("dave"), std::string::npos);
  policy.enabled = false;
  EXPECT_TRUE(policy.Check(UserOf("dave"), closed, Access::kRead, "/secret").ok());
}

}  // namespace
}  // namespace granary
