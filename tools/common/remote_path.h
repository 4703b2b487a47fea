// Paths of the Granary namespace as the CLI handles them.
#pragma once

#include <string>

namespace granary::tools {

// An absolute, normalized path: a relative one is taken from the root; "//", "." and ".."
// are resolved lexically; no trailing slash except for "/" itself.
std::string NormalizeRemote(const std::string& path);
// `dir` + "/" + `name` without doubling the slash.
std::string JoinRemote(const std::string& dir, const std::string& name);
// The last component ("" for "/").
std::string BaseName(const std::string& path);

}  // namespace granary::tools
