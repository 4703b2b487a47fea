// Expected<T>: a value or an input error, for the analytics module's operating errors
// (STYLE.md 3). analytics depends on Eigen only, so it does not use core's Status.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace granary::analytics {

// What was wrong with the input, in one line for a person, naming the row when there is one.
struct InputError {
  std::string message;
};

template <typename T>
class [[nodiscard]] Expected {
 public:
  Expected(T value) : state_(std::move(value)) {}           // NOLINT: implicit by design
  Expected(InputError error) : state_(std::move(error)) {}  // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(state_); }
  const InputError& error() const {
    assert(!ok());
    return std::get<InputError>(state_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(state_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(state_));
  }

 private:
  std::variant<T, InputError> state_;
};

}  // namespace granary::analytics
