#include "sim/runs/swarm/swarm_state.h"

#include <algorithm>
#include <cstring>

namespace granary::sim::swarm {

std::string Content(const std::string& path, uint64_t version, uint64_t length) {
  Random random(HashBytes(path) ^ Mix64(version));
  std::string out(length, '\0');
  for (uint64_t i = 0; i < length; i += 8) {
    const uint64_t word = random.Next();
    std::memcpy(out.data() + i, &word, std::min<uint64_t>(8, length - i));
  }
  return out;
}

bool Plausible(const LedgerEntry& entry, const std::string& data) {
  for (const auto& [origin, version, length] : entry.written) {
    if (data.size() > length) continue;
    if (Content(origin, version, length).compare(0, data.size(), data) == 0) return true;
  }
  return data.empty();
}

uint64_t SmallFileBytes(Random& random) {
  std::vector<double> weights;
  for (const auto& [bytes, percent] : kSmallFileSizes) weights.push_back(percent);
  const WeightedChoice choice(weights);
  const size_t i = choice.Sample(random);
  // Spread sizes within each bucket of the distribution.
  const uint64_t low = i == 0 ? 0 : kSmallFileSizes[i - 1].first;
  return low + random.Below(kSmallFileSizes[i].first - low + 1);
}

}  // namespace granary::sim::swarm
