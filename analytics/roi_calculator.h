// RoiCalculator: what more training data would buy, and what it would cost, from a fitted
// learning curve.
//
// Units: sizes and counts in samples; bytes in bytes; a GB is 10^9 bytes; money in whatever
// currency the caller's prices are in; time in seconds and months. Figures that need an input
// the caller did not give (no target, no budget, no price, no read rate) are NaN. A target at
// or below the model's floor c is never reached: samples_for_target is +infinity and
// target_reachable is false, and every figure derived from it is infinite too.
#pragma once

#include <cmath>
#include <limits>

#include "analytics/curve_model.h"

namespace granary::analytics {

inline constexpr double kNotGiven = std::numeric_limits<double>::quiet_NaN();

struct RoiInputs {
  double target_error = kNotGiven;
  double bytes_per_sample = kNotGiven;
  double cost_per_gb_month = kNotGiven;
  double storage_months = 12;
  double replication = 3;
  double cost_per_sample = kNotGiven;     // to collect (and label) one more sample
  double budget = kNotGiven;              // money for collecting plus storing
  double samples_per_second = kNotGiven;  // training read rate
};

struct RoiFigures {
  double current_size = 0;   // the largest measured size
  double current_error = 0;  // the model's error there
  double samples_for_target = kNotGiven;
  double additional_samples = kNotGiven;  // beyond current_size, >= 0
  double bytes_for_target = kNotGiven;    // one copy of samples_for_target
  double stored_bytes = kNotGiven;        // bytes_for_target * replication
  double storage_cost = kNotGiven;        // stored GB * cost_per_gb_month * storage_months
  double collection_cost = kNotGiven;     // additional_samples * cost_per_sample
  double total_cost = kNotGiven;          // storage_cost + collection_cost
  double samples_at_budget = kNotGiven;   // largest dataset whose total cost fits the budget
  double error_at_budget = kNotGiven;
  double error_gain_per_1k_samples = kNotGiven;  // err(current) - err(current + 1000)
  double error_gain_per_money = kNotGiven;       // the same gain per unit of money spent
  double read_bytes_per_second = kNotGiven;      // samples_per_second * bytes_per_sample
  double epoch_seconds = kNotGiven;              // one pass over samples_for_target

  // Every figure with its JSON name, for printing and for bootstrap intervals.
  struct Field {
    const char* name;
    double RoiFigures::*member;
  };
  static const Field kFields[];
  static const int kFieldCount;
};

class RoiCalculator {
 public:
  // Requires current_size > 0 and inputs whose given prices are >= 0 and replication >= 1.
  static RoiFigures Compute(const CurveParams& params, const RoiInputs& inputs,
                            double current_size);
  // Sets the figures that follow from a dataset of `samples` reaching the target
  // (samples_for_target through total_cost, and epoch_seconds); others are left alone.
  static void SetTargetFigures(double samples, const RoiInputs& inputs, double current_size,
                               RoiFigures* figures);
  // The total cost (collecting beyond current_size plus storing everything) of a dataset of
  // `samples`; NaN when prices are missing.
  static double TotalCost(const RoiInputs& inputs, double current_size, double samples);
};

}  // namespace granary::analytics
