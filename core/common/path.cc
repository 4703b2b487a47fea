#include "core/common/path.h"

#include <cassert>

#include "core/common/limits.h"

namespace granary {

Status ValidateName(std::string_view name) {
  if (name.empty()) return Status(StatusCode::kInvalidPath, "empty name");
  if (name.size() > kNameBytesMax) {
    return Status(StatusCode::kNameTooLong, "name of " + std::to_string(name.size()) +
                                                " bytes exceeds " + std::to_string(kNameBytesMax));
  }
  if (name == "." || name == "..") {
    return Status(StatusCode::kInvalidPath, "'" + std::string(name) + "' component");
  }
  for (char c : name) {
    if (c == '\0') return Status(StatusCode::kInvalidPath, "NUL byte in name");
    if (c == '/') return Status(StatusCode::kInvalidPath, "'/' in name");
  }
  return Status::Ok();
}

namespace {

// `path` without its trailing slashes, keeping a lone "/".
std::string_view TrimTrailingSlashes(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  return path;
}

}  // namespace

std::string ParentOf(std::string_view path) {
  path = TrimTrailingSlashes(path);
  const size_t slash = path.rfind('/');
  if (slash == std::string_view::npos) return ".";
  const std::string_view parent = TrimTrailingSlashes(path.substr(0, slash + 1));
  assert(!parent.empty());
  return std::string(parent);
}

std::string BaseName(std::string_view path) {
  path = TrimTrailingSlashes(path);
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

std::string JoinPath(std::string_view dir, std::string_view name) {
  std::string joined(dir);
  if (!joined.empty() && joined.back() != '/') joined += '/';
  joined += name;
  return joined;
}

Result<ParsedPath> ParsePath(std::string_view path) {
  if (path.size() > kPathBytesMax) {
    return Status(StatusCode::kPathTooLong, "path of " + std::to_string(path.size()) +
                                                " bytes exceeds " + std::to_string(kPathBytesMax));
  }
  if (path.empty() || path[0] != '/') {
    return Status(StatusCode::kInvalidPath, "path must be absolute: '" + std::string(path) + "'");
  }
  if (path.find('\0') != std::string_view::npos) {
    return Status(StatusCode::kInvalidPath, "NUL byte in path");
  }
  ParsedPath parsed;
  size_t i = 0;
  while (i < path.size()) {
    while (i < path.size() && path[i] == '/') ++i;
    if (i == path.size()) break;
    const size_t end = path.find('/', i);
    const std::string_view name =
        path.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    GRANARY_RETURN_IF_ERROR(ValidateName(name).WithContext(std::string(path)));
    parsed.components.emplace_back(name);
    if (parsed.components.size() > kPathDepthMax) {
      return Status(StatusCode::kPathTooLong, "path deeper than kPathDepthMax");
    }
    i = end == std::string_view::npos ? path.size() : end;
  }
  if (parsed.components.empty()) {
    parsed.normalized = "/";
  } else {
    for (const std::string& c : parsed.components) {
      parsed.normalized += '/';
      parsed.normalized += c;
    }
  }
  return parsed;
}

}  // namespace granary
