// Strong id types (STYLE.md 9): an InodeId is never silently a BlockId.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <ostream>

namespace granary {

template <typename Tag, typename Rep = uint64_t>
class StrongId {
 public:
  using rep_type = Rep;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep value) : value_(value) {}
  constexpr Rep value() const { return value_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep value_ = 0;
};

template <typename Tag, typename Rep>
std::ostream& operator<<(std::ostream& out, StrongId<Tag, Rep> id) {
  return out << id.value();
}

// A node of the cluster: a machine that keeps its disk across process restarts.
using NodeId = StrongId<struct NodeIdTag, uint32_t>;
using InodeId = StrongId<struct InodeIdTag>;
using BlockId = StrongId<struct BlockIdTag>;
using GenerationStamp = StrongId<struct GenerationStampTag>;
using RequestId = StrongId<struct RequestIdTag>;

}  // namespace granary

template <typename Tag, typename Rep>
struct std::hash<granary::StrongId<Tag, Rep>> {
  size_t operator()(granary::StrongId<Tag, Rep> id) const noexcept {
    return std::hash<Rep>()(id.value());
  }
};
