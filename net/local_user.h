// Who runs this process, for the UserContext that clients send (the CLI and Python).
#pragma once

#include <string>
#include <vector>

namespace granary::net {

// The user running this process: $USER, else the password database's name, else "nobody".
std::string DefaultUser();
// The names of the local groups of `user` (empty when the user is unknown here), at most 64
// (the namenode admits at most kGroupsPerUserMax).
std::vector<std::string> LocalGroups(const std::string& user);

}  // namespace granary::net
