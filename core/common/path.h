// Paths: the namespace's validation and splitting (DESIGN.md §5), and the lexical helpers
// (parent, last name, join) that the client, the Python module, the CLI and the simulator
// share, so that none of them writes its own.
//
// A namespace path is absolute. Repeated slashes collapse and a trailing slash is dropped,
// so "/a//b/" is "/a/b". A "." or ".." component is rejected (kInvalidPath), as is a NUL
// byte (kInvalidPath), a component over kNameBytesMax bytes (kNameTooLong), a path over
// kPathBytesMax bytes (kPathTooLong) or deeper than kPathDepthMax. Each violation has its
// own code so that callers and users can tell them apart.
//
// The lexical helpers validate nothing and never fail: they look at slashes only, treat a
// run of slashes as one and ignore trailing ones, and accept relative paths (a host path
// such as a scenario file's) as well as namespace paths.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"

namespace granary {

struct ParsedPath {
  std::string normalized;               // "/a/b"; "/" for the root
  std::vector<std::string> components;  // {"a", "b"}; empty for the root
  bool is_root() const { return components.empty(); }
};

Result<ParsedPath> ParsePath(std::string_view path);
// Validates one name (a directory entry): non-empty, no '/', no NUL, not "." or "..".
Status ValidateName(std::string_view name);

// The directory holding `path`, as POSIX dirname: "/a/b" -> "/a", "/a" -> "/", "/" -> "/",
// "a/b" -> "a", "a" -> ".", "" -> ".".
std::string ParentOf(std::string_view path);
// The last name of `path`: "/a/b/" -> "b", "a" -> "a"; "" for "/" (and for "").
std::string BaseName(std::string_view path);
// `dir` + "/" + `name` without doubling the slash; `name` alone when `dir` is empty.
std::string JoinPath(std::string_view dir, std::string_view name);

}  // namespace granary
