// Namespace paths: validation and splitting (DESIGN.md §5).
//
// A path is absolute. Repeated slashes collapse and a trailing slash is dropped, so
// "/a//b/" is "/a/b". A "." or ".." component is rejected (kInvalidPath), as is a NUL byte
// (kInvalidPath), a component over kNameBytesMax bytes (kNameTooLong), a path over
// kPathBytesMax bytes (kPathTooLong) or deeper than kPathDepthMax. Each violation has its
// own code so that callers and users can tell them apart.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace granary {

struct ParsedPath {
  std::string normalized;                // "/a/b"; "/" for the root
  std::vector<std::string> components;  // {"a", "b"}; empty for the root
  bool is_root() const { return components.empty(); }
};

Result<ParsedPath> ParsePath(std::string_view path);
// Validates one name (a directory entry): non-empty, no '/', no NUL, not "." or "..".
Status ValidateName(std::string_view name);

}  // namespace granary
