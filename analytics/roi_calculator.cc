#include "analytics/roi_calculator.h"

#include <algorithm>
#include <cassert>

namespace granary::analytics {
namespace {

constexpr double kBytesPerGb = 1e9;
constexpr double kMarginalSamples = 1000;

bool Given(double value) { return !std::isnan(value); }

// Storage price of one sample held for the period, all replicas; 0 when not priced.
double StorageCostPerSample(const RoiInputs& inputs) {
  if (!Given(inputs.bytes_per_sample) || !Given(inputs.cost_per_gb_month)) return 0;
  return inputs.bytes_per_sample * inputs.replication / kBytesPerGb * inputs.cost_per_gb_month *
         inputs.storage_months;
}

bool AnyPrice(const RoiInputs& inputs) {
  return Given(inputs.cost_per_sample) ||
         (Given(inputs.bytes_per_sample) && Given(inputs.cost_per_gb_month));
}

}  // namespace

const RoiFigures::Field RoiFigures::kFields[] = {
    {"current_size", &RoiFigures::current_size},
    {"current_error", &RoiFigures::current_error},
    {"samples_for_target", &RoiFigures::samples_for_target},
    {"additional_samples", &RoiFigures::additional_samples},
    {"bytes_for_target", &RoiFigures::bytes_for_target},
    {"stored_bytes", &RoiFigures::stored_bytes},
    {"storage_cost", &RoiFigures::storage_cost},
    {"collection_cost", &RoiFigures::collection_cost},
    {"total_cost", &RoiFigures::total_cost},
    {"samples_at_budget", &RoiFigures::samples_at_budget},
    {"error_at_budget", &RoiFigures::error_at_budget},
    {"error_gain_per_1k_samples", &RoiFigures::error_gain_per_1k_samples},
    {"error_gain_per_money", &RoiFigures::error_gain_per_money},
    {"read_bytes_per_second", &RoiFigures::read_bytes_per_second},
    {"epoch_seconds", &RoiFigures::epoch_seconds},
};
const int RoiFigures::kFieldCount = sizeof(RoiFigures::kFields) / sizeof(RoiFigures::kFields[0]);

double RoiCalculator::TotalCost(const RoiInputs& inputs, double current_size, double samples) {
  if (!AnyPrice(inputs)) return kNotGiven;
  const double per_sample = Given(inputs.cost_per_sample) ? inputs.cost_per_sample : 0;
  return std::max(samples - current_size, 0.0) * per_sample +
         samples * StorageCostPerSample(inputs);
}

void RoiCalculator::SetTargetFigures(double samples, const RoiInputs& inputs, double current_size,
                                     RoiFigures* figures) {
  figures->samples_for_target = samples;
  figures->additional_samples = std::max(samples - current_size, 0.0);
  if (Given(inputs.bytes_per_sample)) {
    figures->bytes_for_target = samples * inputs.bytes_per_sample;
    figures->stored_bytes = figures->bytes_for_target * inputs.replication;
    if (Given(inputs.cost_per_gb_month)) {
      figures->storage_cost =
          figures->stored_bytes / kBytesPerGb * inputs.cost_per_gb_month * inputs.storage_months;
    }
  }
  if (Given(inputs.cost_per_sample)) {
    figures->collection_cost = figures->additional_samples * inputs.cost_per_sample;
  }
  if (AnyPrice(inputs)) figures->total_cost = TotalCost(inputs, current_size, samples);
  if (Given(inputs.samples_per_second))
    figures->epoch_seconds = samples / inputs.samples_per_second;
}

RoiFigures RoiCalculator::Compute(const CurveParams& params, const RoiInputs& inputs,
                                  double current_size) {
  assert(current_size > 0);
  assert(inputs.replication >= 1);
  assert(!(inputs.cost_per_sample < 0));
  assert(!(inputs.cost_per_gb_month < 0));
  RoiFigures figures;
  figures.current_size = current_size;
  figures.current_error = PredictError(params, current_size);
  figures.error_gain_per_1k_samples =
      figures.current_error - PredictError(params, current_size + kMarginalSamples);
  const double marginal_cost = TotalCost(inputs, current_size, current_size + kMarginalSamples) -
                               TotalCost(inputs, current_size, current_size);
  if (marginal_cost > 0)
    figures.error_gain_per_money = figures.error_gain_per_1k_samples / marginal_cost;
  if (Given(inputs.samples_per_second) && Given(inputs.bytes_per_sample)) {
    figures.read_bytes_per_second = inputs.samples_per_second * inputs.bytes_per_sample;
  }

  if (Given(inputs.target_error)) {
    SetTargetFigures(std::max(SizeForError(params, inputs.target_error), 0.0), inputs, current_size,
                     &figures);
  }

  if (Given(inputs.budget) && AnyPrice(inputs)) {
    // Total cost is linear in the dataset size past current_size: solve for the size it buys.
    const double per_sample =
        (Given(inputs.cost_per_sample) ? inputs.cost_per_sample : 0) + StorageCostPerSample(inputs);
    const double fixed = TotalCost(inputs, current_size, current_size);
    figures.samples_at_budget =
        inputs.budget <= fixed ? current_size : current_size + (inputs.budget - fixed) / per_sample;
    figures.error_at_budget = PredictError(params, figures.samples_at_budget);
  }
  return figures;
}

}  // namespace granary::analytics
