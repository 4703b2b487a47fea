#include "net/local_user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

namespace granary::net {

std::string DefaultUser() {
  if (const char* user = std::getenv("USER"); user != nullptr && *user != '\0') return user;
  if (const passwd* entry = getpwuid(getuid()); entry != nullptr) return entry->pw_name;
  return "nobody";
}

std::vector<std::string> LocalGroups(const std::string& user) {
  const passwd* entry = getpwnam(user.c_str());
  if (entry == nullptr) return {};
  int count = 64;
  std::vector<gid_t> ids(count);
  if (getgrouplist(user.c_str(), entry->pw_gid, ids.data(), &count) < 0) {
    ids.resize(count);
    if (getgrouplist(user.c_str(), entry->pw_gid, ids.data(), &count) < 0) return {};
  }
  ids.resize(count);
  std::vector<std::string> names;
  for (gid_t id : ids) {
    if (const group* g = getgrgid(id); g != nullptr) names.emplace_back(g->gr_name);
    if (names.size() >= 64) break;
  }
  return names;
}

}  // namespace granary::net
