// POSIX permission bits as the namenode enforces them (DESIGN.md §9).
//
// The class of a user for an inode is owner (user == owner), else group (one of the user's
// groups == the inode's group), else other; only that class's bits count, as in POSIX.
// The superuser passes every check.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"
#include "proto/fs.pb.h"

namespace granary {

enum class Access : uint32_t { kRead = 4, kWrite = 2, kExecute = 1 };

inline constexpr uint32_t kModeBitsMax = 07777;
inline constexpr uint32_t kDirectoryModeDefault = 0755;
inline constexpr uint32_t kFileModeDefault = 0644;

struct PermissionPolicy {
  std::string superuser = "granary";
  std::string supergroup = "supergroup";
  bool enabled = true;

  bool IsSuperuser(const proto::UserContext& user) const;
  // kPermissionDenied naming the path and the access wanted, or ok.
  Status Check(const proto::UserContext& user, const proto::Inode& inode, Access access,
               const std::string& path) const;
};

}  // namespace granary
