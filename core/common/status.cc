#include "core/common/status.h"

namespace granary {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
#define GRANARY_STATUS_NAME(name, value, text) \
  case StatusCode::name:                      \
    return text;
    GRANARY_STATUS_CODES(GRANARY_STATUS_NAME)
#undef GRANARY_STATUS_NAME
  }
  return "unknown";
}

std::optional<StatusCode> StatusCodeFromWire(int32_t value) {
  switch (value) {
#define GRANARY_STATUS_WIRE(name, v, text) \
  case v:                                  \
    return StatusCode::name;
    GRANARY_STATUS_CODES(GRANARY_STATUS_WIRE)
#undef GRANARY_STATUS_WIRE
  }
  return std::nullopt;
}

std::string Status::ToString() const {
  std::string out(StatusCodeName(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  std::string message(context);
  if (!message_.empty()) {
    message += ": ";
    message += message_;
  }
  return Status(code_, std::move(message));
}

}  // namespace granary
