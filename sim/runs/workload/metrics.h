// What a scenario run measures (sim/runs/scenario.h): per-operation counts, bytes and latencies,
// and, optionally, a trace of every operation issued (the trace workload's CSV format).
//
// Operations count in the measured window when they start at or after `measure_from`;
// the interval counters (for the time series) count every completion.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/time.h"

namespace granary::sim {

struct OpStats {
  uint64_t ok = 0;
  uint64_t failed = 0;
  uint64_t bytes = 0;
  std::vector<int64_t> latencies_ns;  // of measured, successful operations
};

// One row of a trace (experiments/README.md, "Trace format").
struct TraceRow {
  double time_s = 0;
  uint32_t client = 0;
  std::string client_name;  // as read from a trace; written as "client-<client>"
  std::string op;
  std::string path;
  uint64_t size = 0;
  std::string destination;
};

// Bytes each operation moves, by direction.
enum class Direction : uint8_t { kNone, kWrite, kRead };

class Metrics {
 public:
  explicit Metrics(Instant measure_from, Instant workload_start)
      : measure_from_(measure_from), workload_start_(workload_start) {}

  // A finished operation.
  void Record(std::string_view op, Instant start, Instant end, bool ok, uint64_t bytes = 0,
              Direction direction = Direction::kNone);
  // An issued operation, for the trace generator (a no-op unless tracing).
  void Trace(Instant at, uint32_t client, std::string_view op, std::string_view path,
             uint64_t size = 0, std::string_view destination = {});
  void EnableTrace() { tracing_ = true; }

  const std::map<std::string, OpStats, std::less<>>& ops() const { return ops_; }
  const std::vector<TraceRow>& trace() const { return trace_; }
  uint64_t bytes_written() const { return bytes_written_; }
  uint64_t bytes_read() const { return bytes_read_; }
  // Totals over every operation (not only measured ones), for the time series.
  uint64_t completed_ok() const { return completed_ok_; }
  uint64_t completed_failed() const { return completed_failed_; }
  uint64_t all_bytes_written() const { return all_bytes_written_; }
  uint64_t all_bytes_read() const { return all_bytes_read_; }
  Instant measure_from() const { return measure_from_; }
  Instant workload_start() const { return workload_start_; }

 private:
  Instant measure_from_;
  Instant workload_start_;
  std::map<std::string, OpStats, std::less<>> ops_;
  uint64_t bytes_written_ = 0;
  uint64_t bytes_read_ = 0;
  uint64_t completed_ok_ = 0;
  uint64_t completed_failed_ = 0;
  uint64_t all_bytes_written_ = 0;
  uint64_t all_bytes_read_ = 0;
  bool tracing_ = false;
  std::vector<TraceRow> trace_;
};

// The p-quantile (0..1) of `values` by nearest rank; 0 for none. Reorders `values`.
int64_t Quantile(std::vector<int64_t>& values, double p);

}  // namespace granary::sim
