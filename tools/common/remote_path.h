// Paths of the Granary namespace as the CLI handles them. The lexical helpers (ParentOf,
// BaseName, JoinPath) are core/common/path.h's, which the CLI's code reaches from here.
#pragma once

#include <string>

#include "core/common/path.h"

namespace granary::tools {

// An absolute, normalized path: a relative one is taken from the root; "//", "." and ".."
// are resolved lexically; no trailing slash except for "/" itself.
std::string NormalizeRemote(const std::string& path);

}  // namespace granary::tools
