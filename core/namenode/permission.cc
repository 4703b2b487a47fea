#include "core/namenode/permission.h"

#include <algorithm>

namespace granary {

bool PermissionPolicy::IsSuperuser(const proto::UserContext& user) const {
  if (user.user() == superuser) return true;
  return std::find(user.groups().begin(), user.groups().end(), supergroup) != user.groups().end();
}

Status PermissionPolicy::Check(const proto::UserContext& user, const proto::Inode& inode,
                               Access access, const std::string& path) const {
  if (!enabled || IsSuperuser(user)) return Status::Ok();
  uint32_t bits;
  if (user.user() == inode.owner()) {
    bits = (inode.mode() >> 6) & 7;
  } else if (std::find(user.groups().begin(), user.groups().end(), inode.group()) !=
             user.groups().end()) {
    bits = (inode.mode() >> 3) & 7;
  } else {
    bits = inode.mode() & 7;
  }
  if (bits & static_cast<uint32_t>(access)) return Status::Ok();
  const char* what = access == Access::kRead    ? "read"
                     : access == Access::kWrite ? "write"
                                                : "execute";
  return Status(StatusCode::kPermissionDenied,
                std::string(what) + " access to " + path + " denied for user " + user.user());
}

}  // namespace granary
