// Invariant checks shared by the fuzz targets: a failed check prints what broke and aborts,
// which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "core/common/path.h"
#include "core/common/status.h"

namespace granary::fuzz {

[[noreturn]] inline void Fail(const char* what, std::string_view detail = {}) {
  std::fprintf(stderr, "fuzz invariant broken: %s %.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

#define GRANARY_FUZZ_CHECK(condition)                    \
  do {                                                   \
    if (!(condition)) ::granary::fuzz::Fail(#condition); \
  } while (false)

// ParsePath and ValidateName on `text`, with their invariants:
//   - a parsed path's normalized form is no longer than the input, is absolute, has no empty
//     component and no trailing slash (but "/"), and re-parses to itself;
//   - its components are exactly the valid names between the slashes;
//   - a failure carries one of the path codes;
//   - a valid name is a one-component path.
inline void CheckPath(std::string_view text) {
  Result<ParsedPath> parsed = ParsePath(text);
  if (parsed.ok()) {
    const std::string& normalized = parsed->normalized;
    GRANARY_FUZZ_CHECK(normalized.size() <= text.size());
    GRANARY_FUZZ_CHECK(!normalized.empty() && normalized[0] == '/');
    GRANARY_FUZZ_CHECK(normalized.find("//") == std::string::npos);
    GRANARY_FUZZ_CHECK(normalized == "/" || normalized.back() != '/');
    GRANARY_FUZZ_CHECK(parsed->is_root() == (normalized == "/"));
    std::string joined;
    for (const std::string& component : parsed->components) {
      GRANARY_FUZZ_CHECK(ValidateName(component).ok());
      joined += '/';
      joined += component;
    }
    GRANARY_FUZZ_CHECK((joined.empty() ? std::string("/") : joined) == normalized);
    Result<ParsedPath> again = ParsePath(normalized);
    GRANARY_FUZZ_CHECK(again.ok());
    GRANARY_FUZZ_CHECK(again->normalized == normalized);
    GRANARY_FUZZ_CHECK(again->components == parsed->components);
  } else {
    const StatusCode code = parsed.code();
    GRANARY_FUZZ_CHECK(code == StatusCode::kInvalidPath || code == StatusCode::kNameTooLong ||
                       code == StatusCode::kPathTooLong);
  }
  const Status name = ValidateName(text);
  if (name.ok()) {
    Result<ParsedPath> single = ParsePath("/" + std::string(text));
    GRANARY_FUZZ_CHECK(single.ok());
    GRANARY_FUZZ_CHECK(single->components.size() == 1);
    GRANARY_FUZZ_CHECK(single->components[0] == text);
  } else {
    GRANARY_FUZZ_CHECK(name.code() == StatusCode::kInvalidPath ||
                       name.code() == StatusCode::kNameTooLong);
  }
}

}  // namespace granary::fuzz
