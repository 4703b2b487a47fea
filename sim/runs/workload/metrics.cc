#include "sim/runs/workload/metrics.h"

#include <algorithm>
#include <cmath>

namespace granary::sim {

void Metrics::Record(std::string_view op, Instant start, Instant end, bool ok, uint64_t bytes,
                     Direction direction) {
  if (ok) {
    ++completed_ok_;
    if (direction == Direction::kWrite) all_bytes_written_ += bytes;
    if (direction == Direction::kRead) all_bytes_read_ += bytes;
  } else {
    ++completed_failed_;
  }
  if (start < measure_from_) return;
  auto it = ops_.find(op);
  if (it == ops_.end()) it = ops_.emplace(std::string(op), OpStats{}).first;
  OpStats& stats = it->second;
  if (!ok) {
    ++stats.failed;
    return;
  }
  ++stats.ok;
  stats.bytes += bytes;
  stats.latencies_ns.push_back((end - start).count());
  if (direction == Direction::kWrite) bytes_written_ += bytes;
  if (direction == Direction::kRead) bytes_read_ += bytes;
}

void Metrics::Trace(Instant at, uint32_t client, std::string_view op, std::string_view path,
                    uint64_t size, std::string_view destination) {
  if (!tracing_) return;
  trace_.push_back(TraceRow{ToSeconds(at - workload_start_),
                            client,
                            {},
                            std::string(op),
                            std::string(path),
                            size,
                            std::string(destination)});
}

int64_t Quantile(std::vector<int64_t>& values, double p) {
  if (values.empty()) return 0;
  const double rank = std::ceil(p * static_cast<double>(values.size()));
  const size_t index =
      static_cast<size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(index),
                   values.end());
  return values[index];
}

}  // namespace granary::sim
