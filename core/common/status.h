// Status and Result<T>: operating errors as values (STYLE.md 3).
//
// Every condition a healthy cluster can meet (a missing file, a full disk, a timeout, a dead
// peer) is a StatusCode from the one table below. No exception crosses a core API. A caller
// branches on code(); message() is for people and logs only.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace granary {

// The one table of status codes. Add a code only when some caller branches on it.
// The numeric values travel on the wire: never renumber, only append.
#define GRANARY_STATUS_CODES(X)                         \
  X(kOk, 0, "ok")                                       \
  X(kInvalidArgument, 1, "invalid argument")            \
  X(kNotFound, 2, "not found")                          \
  X(kAlreadyExists, 3, "already exists")                \
  X(kPermissionDenied, 4, "permission denied")          \
  X(kNotADirectory, 5, "not a directory")               \
  X(kIsADirectory, 6, "is a directory")                 \
  X(kDirectoryNotEmpty, 7, "directory not empty")       \
  X(kNoSpace, 8, "no space left")                       \
  X(kTimeout, 9, "deadline exceeded")                   \
  X(kUnavailable, 10, "peer unavailable")               \
  X(kNodeDown, 11, "node is down")                      \
  X(kCorruption, 12, "data corruption")                 \
  X(kIoError, 13, "i/o error")                          \
  X(kLeaseConflict, 14, "lease held by another writer") \
  X(kStale, 15, "stale generation or lease")            \
  X(kNameTooLong, 16, "name too long")                  \
  X(kPathTooLong, 17, "path too long")                  \
  X(kInvalidPath, 18, "invalid path")                   \
  X(kLimitExceeded, 19, "limit exceeded")               \
  X(kBadMessage, 20, "malformed message")               \
  X(kCancelled, 21, "cancelled")                        \
  X(kUnimplemented, 22, "unimplemented")                \
  X(kInternal, 23, "internal error")                    \
  X(kFenced, 24, "fenced by a newer leader")            \
  X(kNotActive, 25, "not the active namenode")          \
  X(kQuotaExceeded, 26, "quota exceeded")

enum class StatusCode : int32_t {
#define GRANARY_STATUS_ENUM(name, value, text) name = value,
  GRANARY_STATUS_CODES(GRANARY_STATUS_ENUM)
#undef GRANARY_STATUS_ENUM
};

// The short text of a code ("not found"); "unknown" for a value not in the table.
std::string_view StatusCodeName(StatusCode code);
// Maps a wire value back to a code; nullopt when the value is not in the table.
std::optional<StatusCode> StatusCodeFromWire(int32_t value);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "not found: /a/b" — the code's text, then the message when there is one.
  std::string ToString() const;

  // Prefixes the message with context, keeping the code.
  Status WithContext(std::string_view context) const;

  bool operator==(const Status& other) const = default;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-ok Status. Constructing a Result from an ok Status is a bug.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : state_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(state_).ok());
  }

  bool ok() const { return std::holds_alternative<T>(state_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(state_);
  }
  StatusCode code() const { return status().code(); }

  T& value() & {
    assert(ok());
    return std::get<T>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> state_;
};

}  // namespace granary

// Returns early with the status when an expression yields a non-ok Status.
#define GRANARY_RETURN_IF_ERROR(expr)                  \
  do {                                                 \
    ::granary::Status granary_status_ = (expr);        \
    if (!granary_status_.ok()) return granary_status_; \
  } while (0)

#define GRANARY_CONCAT_INNER(a, b) a##b
#define GRANARY_CONCAT(a, b) GRANARY_CONCAT_INNER(a, b)
// `GRANARY_ASSIGN_OR_RETURN(auto x, Foo());` binds the value or returns the error.
#define GRANARY_ASSIGN_OR_RETURN(lhs, expr)                    \
  auto GRANARY_CONCAT(granary_result_, __LINE__) = (expr);     \
  if (!GRANARY_CONCAT(granary_result_, __LINE__).ok())         \
    return GRANARY_CONCAT(granary_result_, __LINE__).status(); \
  lhs = std::move(GRANARY_CONCAT(granary_result_, __LINE__)).value()
