// roi-fit: fits learning curves from a CSV and projects what more data buys and costs.
// Flags and wiring only; the analysis lives in analytics/ (see docs/roi-fit.md).
//
// Output: a short table per group for people, or with --json one JSON object per line per
// group. Exit codes: 0 ok; 2 bad input or flags (one line on stderr naming the row and the
// problem); 1 cannot write the plot.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "analytics/csv_table.h"
#include "analytics/curve_analysis.h"
#include "analytics/curve_loader.h"
#include "analytics/curve_plot.h"
#include "analytics/limits.h"
#include "analytics/svg_canvas.h"
#include "tools/roi_fit_plan.h"

namespace ga = granary::analytics;

namespace {

constexpr int kExitBadInput = 2;
constexpr int kExitOutputFailed = 1;

struct Flags {
  std::string csv_path;
  ga::CurveColumns columns;
  std::optional<double> fit_size_max;
  std::optional<double> holdout_fraction;
  std::string model = "auto";
  std::string selection = "backtest";
  double error_zero = ga::kNotGiven;
  bool keep_small_data = false;
  int64_t bootstrap_resamples = 1000;
  uint64_t seed = 1;
  double ci_level = 0.9;
  ga::RoiInputs roi;
  bool backtest = false;
  std::string intervals = "backtest";
  bool json = false;
  std::string plot_path;
  std::string group;  // analyse only this group
  granary::tools::PlanFlags plan;
};

int Fail(const std::string& message) {
  std::cerr << "roi-fit: " << message << "\n";
  return kExitBadInput;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A number for JSON: null for +-infinity; the caller omits NaN (not given) figures.
nlohmann::ordered_json Number(double value) {
  if (std::isinf(value)) return nullptr;
  return value;
}

nlohmann::ordered_json Pair(const ga::Interval& interval) {
  return nlohmann::ordered_json::array({Number(interval.low), Number(interval.high)});
}

// "holdout_coverage_90" for the 90 % level: the coverage of the intervals at that level.
std::string CoverageName(double level) {
  return "holdout_coverage_" + std::to_string(std::lround(100 * level));
}

nlohmann::ordered_json ToJson(const ga::CurveReport& report, const Flags& flags) {
  nlohmann::ordered_json line;
  const ga::CurveParams& params = report.fit.params;
  line["group"] = report.name;
  line["model"] = std::string(ga::ModelName(params.kind));
  line["selection"] =
      report.model_forced ? "forced" : std::string(ga::SelectionName(report.choice.method));
  nlohmann::ordered_json scores = nlohmann::ordered_json::object();
  for (const ga::ModelScore& score : report.choice.scores) {
    scores[std::string(ga::ModelName(score.kind))] = Number(score.score);
  }
  line["selection_scores"] = scores;
  line["a"] = params.a;
  line["b"] = params.b;
  line["c"] = params.c;
  if (params.kind == ga::ModelKind::kSaturating) {
    line["alpha"] = params.alpha;
    line["e0"] = params.error_zero;
  }
  if (report.bootstrap_resamples > 0) {
    line["a_ci"] = Pair(report.a_ci);
    line["b_ci"] = Pair(report.b_ci);
    line["c_ci"] = Pair(report.c_ci);
    if (params.kind == ga::ModelKind::kSaturating) line["alpha_ci"] = Pair(report.alpha_ci);
    line["ci_level"] = report.ci_level;
    line["bootstrap_resamples"] = report.bootstrap_resamples;
    line["bootstrap_method"] =
        report.resample_method == ga::ResampleMethod::kSeeds ? "seeds" : "residuals";
    line["seed"] = report.seed;
  }
  line["n_points"] = report.point_count;
  line["n_sizes"] = report.size_count;
  line["n_fit_sizes"] = report.fit_size_count;
  line["n_holdout_sizes"] = report.holdout_size_count;
  line["small_data_cutoff"] = report.small_data_cutoff;
  line["small_data_sizes_dropped"] = report.small_data_size_count;
  line["fit_size_max"] = report.fit_size_max;
  line["fit_rmse_log"] = report.fit.rmse_log;
  line["extrapolation_spread"] = report.extrapolation_spread;
  if (report.holdout_rmse_log) {
    line["holdout_rmse_log"] = *report.holdout_rmse_log;
    line[CoverageName(report.ci_level)] = *report.holdout_coverage;
    line["loglog_holdout_rmse_log"] = *report.loglog_holdout_rmse_log;
    nlohmann::ordered_json points = nlohmann::ordered_json::array();
    for (const ga::HoldoutPoint& point : report.holdout) {
      points.push_back({{"size", point.size},
                        {"observed", point.observed},
                        {"predicted", point.predicted},
                        {"ci", Pair(point.ci)}});
    }
    line["holdout"] = points;
  }
  if (!std::isnan(flags.roi.target_error)) {
    line["target_error"] = flags.roi.target_error;
    line["target_reachable"] = std::isfinite(report.roi.samples_for_target);
  }
  for (int f = 0; f < ga::RoiFigures::kFieldCount; ++f) {
    const double value = report.roi.*(ga::RoiFigures::kFields[f].member);
    if (std::isnan(value)) continue;
    const std::string name = ga::RoiFigures::kFields[f].name;
    line[name] = Number(value);
    const ga::Interval& interval = report.roi_ci[f];
    const bool fit_dependent = !(interval.low == value && interval.high == value);
    if (report.bootstrap_resamples > 0 && !std::isnan(interval.low) && fit_dependent) {
      line[name + "_ci"] = Pair(interval);
    }
  }
  return line;
}

std::string Figure(double value) {
  if (std::isnan(value)) return "-";
  if (std::isinf(value)) return value > 0 ? "infinite" : "-infinite";
  char text[64];
  if (std::abs(value) >= 1e5 || (std::abs(value) < 1e-3 && value != 0)) {
    std::snprintf(text, sizeof(text), "%.4g", value);
  } else {
    std::snprintf(text, sizeof(text), "%.5g", value);
  }
  return text;
}

std::string WithInterval(double value, const ga::Interval& interval) {
  std::string text = Figure(value);
  // An interval is shown unless it is missing or the figure does not depend on the fit.
  if (!std::isnan(interval.low) && !(interval.low == value && interval.high == value)) {
    text += "  [" + Figure(interval.low) + ", " + Figure(interval.high) + "]";
  }
  return text;
}

void PrintTable(const ga::CurveReport& report, const Flags& flags) {
  const ga::CurveParams& params = report.fit.params;
  std::printf("== %s: %s", report.name.c_str(), std::string(ga::ModelName(params.kind)).c_str());
  if (report.model_forced) {
    std::printf(" (forced)\n");
  } else {
    std::printf(" (chosen by %s:", std::string(ga::SelectionName(report.choice.method)).c_str());
    for (const ga::ModelScore& score : report.choice.scores) {
      std::printf(" %s %.4g", std::string(ga::ModelName(score.kind)).c_str(), score.score);
    }
    std::printf(")\n");
  }
  const char* formula = params.kind == ga::ModelKind::kPowerLaw ? "a*m^b"
                        : params.kind == ga::ModelKind::kPowerLawFloor
                            ? "a*m^b + c"
                            : "(err - c)/(e0 - err)^alpha = a*m^b";
  std::printf("  %-26s %s", "model", formula);
  if (report.bootstrap_resamples > 0) {
    std::printf("   (%.0f%% intervals, %lld bootstrap resamples of %s, seed %llu)",
                100 * report.ci_level, static_cast<long long>(report.bootstrap_resamples),
                report.resample_method == ga::ResampleMethod::kSeeds ? "seeds" : "residuals",
                static_cast<unsigned long long>(report.seed));
  }
  std::printf("\n");
  const auto row = [](const char* name, const std::string& value) {
    std::printf("  %-26s %s\n", name, value.c_str());
  };
  row("a", WithInterval(params.a, report.a_ci));
  row("b", WithInterval(params.b, report.b_ci));
  row("c (floor)", WithInterval(params.c, report.c_ci));
  if (params.kind == ga::ModelKind::kSaturating) {
    row("alpha", WithInterval(params.alpha, report.alpha_ci));
    row("e0 (given)", Figure(params.error_zero));
  }
  row("points / sizes",
      std::to_string(report.point_count) + " / " + std::to_string(report.size_count));
  row("fitted sizes", std::to_string(report.fit_size_count) + ", from " +
                          Figure(report.small_data_cutoff) + " to " + Figure(report.fit_size_max));
  row("small-data region", report.small_data_size_count == 0
                               ? std::string("none detected")
                               : "ends below " + Figure(report.small_data_cutoff) + " (" +
                                     std::to_string(report.small_data_size_count) +
                                     (report.small_data_size_count == 1 ? " size" : " sizes") +
                                     " left out)");
  row("fit RMSE of log error", Figure(report.fit.rmse_log));
  if (report.holdout_rmse_log) {
    row("held-out RMSE of log error",
        Figure(*report.holdout_rmse_log) + " on " + std::to_string(report.holdout_size_count) +
            " sizes (log-log line: " + Figure(*report.loglog_holdout_rmse_log) + ")");
    row("held-out coverage", Figure(*report.holdout_coverage) +
                                 " of the held-out mean errors inside their " +
                                 Figure(100 * report.ci_level) + "% intervals");
  }
  row("extrapolation spread", Figure(report.extrapolation_spread) +
                                  " (log-error sd per unit of log distance past the fit)");
  if (!std::isnan(flags.roi.target_error)) {
    row("target error",
        Figure(flags.roi.target_error) + (std::isfinite(report.roi.samples_for_target)
                                              ? ""
                                              : "  (at or below the floor c: never reached)"));
  }
  for (int f = 0; f < ga::RoiFigures::kFieldCount; ++f) {
    const double value = report.roi.*(ga::RoiFigures::kFields[f].member);
    if (std::isnan(value)) continue;
    row(ga::RoiFigures::kFields[f].name, WithInterval(value, report.roi_ci[f]));
  }
}

int WritePlot(const Flags& flags, const std::vector<ga::LearningCurve>& curves,
              const std::vector<ga::CurveReport>& reports) {
  std::vector<ga::PlottedCurve> plotted;
  for (size_t i = 0; i < curves.size(); ++i) plotted.push_back({&curves[i], &reports[i]});
  ga::SvgCanvas canvas(ga::CurvePlot::kWidthPx, ga::CurvePlot::kHeightPx);
  ga::CurvePlot::Draw(plotted, flags.roi.target_error, &canvas);
  const std::string bytes = canvas.Finish();
  const bool png = EndsWith(flags.plot_path, ".png");
  // A PNG is the same SVG rasterised by librsvg's rsvg-convert (Debian's librsvg2-bin).
  const std::string svg_path = png ? flags.plot_path + ".tmp.svg" : flags.plot_path;
  {
    std::ofstream out(svg_path, std::ios::binary);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.good()) {
      std::cerr << "roi-fit: cannot write plot " << svg_path << "\n";
      return kExitOutputFailed;
    }
  }
  if (!png) return 0;
  const pid_t child = fork();
  if (child == 0) {
    execlp("rsvg-convert", "rsvg-convert", "--background-color", "white", "-o",
           flags.plot_path.c_str(), svg_path.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = -1;
  if (child > 0) waitpid(child, &status, 0);
  std::remove(svg_path.c_str());
  if (child < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::cerr << "roi-fit: cannot write plot " << flags.plot_path
              << " (rsvg-convert from librsvg2-bin failed or is missing)\n";
    return kExitOutputFailed;
  }
  return 0;
}

// Prices and budgets: a number >= 0, said plainly (CLI11's range message prints DBL_MAX).
const CLI::Validator kNonNegative(
    [](std::string& text) -> std::string {
      char* end = nullptr;
      const double value = std::strtod(text.c_str(), &end);
      if (end == text.c_str() || *end != '\0' || !(value >= 0)) {
        return text + " is not a number >= 0 (prices and budgets cannot be negative)";
      }
      return "";
    },
    "NUMBER >= 0");

void DefineFlags(CLI::App* app, Flags* flags) {
  app->add_option("csv", flags->csv_path, "learning-curve CSV (one row per run)")->required();
  app->add_option("--size-col", flags->columns.size_column,
                  "training-set size column (default: train_size, size, n, ...)");
  app->add_option("--error-col", flags->columns.error_column,
                  "error column (default: test_error, error, loss, ...)");
  app->add_option("--group-by", flags->columns.group_columns, "columns naming a curve, C[,C]")
      ->delimiter(',');
  auto* fit_max = app->add_option("--fit-max-size", flags->fit_size_max,
                                  "fit sizes <= S; larger sizes are held out and scored");
  auto* holdout = app->add_option("--holdout-fraction", flags->holdout_fraction,
                                  "hold out this fraction of the largest sizes")
                      ->check(CLI::Range(0.0, 0.99));
  app->add_flag("--backtest", flags->backtest,
                "hold out the largest third of the sizes (unless --fit-max-size or "
                "--holdout-fraction says otherwise) and score them: holdout_rmse_log and "
                "holdout_coverage_90");
  fit_max->excludes(holdout);
  holdout->excludes(fit_max);
  app->add_option("--target-error", flags->roi.target_error, "target test error")
      ->check(CLI::PositiveNumber);
  app->add_option("--bytes-per-sample", flags->roi.bytes_per_sample, "bytes of one sample")
      ->check(CLI::PositiveNumber);
  app->add_option("--cost-per-gb-month", flags->roi.cost_per_gb_month,
                  "storage price per GB (1e9 bytes) per month")
      ->check(kNonNegative);
  app->add_option("--storage-months", flags->roi.storage_months, "months the data is held")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app->add_option("--replication", flags->roi.replication, "stored copies of each byte")
      ->check(CLI::Range(1.0, 100.0))
      ->capture_default_str();
  app->add_option("--cost-per-sample", flags->roi.cost_per_sample,
                  "cost of collecting one more sample")
      ->check(kNonNegative);
  app->add_option("--budget", flags->roi.budget, "money for collecting and storing")
      ->check(kNonNegative);
  app->add_option("--samples-per-second", flags->roi.samples_per_second,
                  "training read rate, samples per second")
      ->check(CLI::PositiveNumber);
  app->add_option("--model", flags->model, "auto, power_law, power_law_floor or m4")
      ->check(CLI::IsMember({"auto", "power_law", "power_law_floor", "m4"}))
      ->capture_default_str();
  app->add_option("--select", flags->selection, "model choice when --model auto")
      ->check(CLI::IsMember({"backtest", "aicc"}))
      ->capture_default_str();
  app->add_option("--e0", flags->error_zero, "m4: the error with no data (default 1 for rates)")
      ->check(CLI::PositiveNumber);
  app->add_option("--intervals", flags->intervals,
                  "backtest: bootstrap widened by the extrapolation spread of rolling-origin "
                  "backtests; bootstrap: the bootstrap percentile interval alone")
      ->check(CLI::IsMember({"backtest", "bootstrap"}))
      ->capture_default_str();
  app->add_flag("--keep-small-data", flags->keep_small_data,
                "fit every size (no small-data detection)");
  app->add_option("--bootstrap", flags->bootstrap_resamples, "bootstrap resamples (0: none)")
      ->check(CLI::Range(int64_t{0}, ga::kBootstrapResamplesMax))
      ->capture_default_str();
  app->add_option("--seed", flags->seed, "bootstrap seed")->capture_default_str();
  app->add_option("--ci", flags->ci_level, "interval level")
      ->check(CLI::Range(0.5, 0.999))
      ->capture_default_str();
  app->add_flag("--json", flags->json, "one JSON object per line per group");
  app->add_option("--plot", flags->plot_path, "write a log-log plot to FILE.svg or FILE.png");
  app->add_option("--group", flags->group, "analyse only this group (e.g. digits/logreg)");
  granary::tools::DefinePlanFlags(app, &flags->plan);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "roi-fit: learning curves -> data needed for a target error, its cost and read "
      "rate"};
  Flags flags;
  DefineFlags(&app, &flags);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == 0) return app.exit(error);  // --help
    return Fail(error.what());
  }
  if (!flags.plot_path.empty() && !EndsWith(flags.plot_path, ".svg") &&
      !EndsWith(flags.plot_path, ".png")) {
    return Fail("--plot " + flags.plot_path + ": the name must end in .svg or .png");
  }

  const std::string plan_problem = granary::tools::CheckPlanFlags(&flags.plan, flags.roi);
  if (!plan_problem.empty()) return Fail(plan_problem);

  std::ifstream in(flags.csv_path, std::ios::binary);
  if (!in) return Fail("cannot open " + flags.csv_path);
  std::stringstream text;
  text << in.rdbuf();
  const granary::Result<ga::CsvTable> table = ga::CsvTable::Parse(text.str());
  if (!table.ok()) return Fail(flags.csv_path + ": " + table.status().message());
  const granary::Result<std::vector<ga::LearningCurve>> curves =
      ga::CurveLoader::Load(table.value(), flags.columns);
  if (!curves.ok()) return Fail(flags.csv_path + ": " + curves.status().message());

  ga::AnalysisOptions options;
  options.fit_size_max = flags.fit_size_max;
  options.holdout_fraction = flags.holdout_fraction;
  if (flags.backtest && !flags.fit_size_max && !flags.holdout_fraction) {
    options.holdout_fraction = 1.0 / 3.0;
  }
  options.intervals = flags.intervals == "backtest" ? ga::IntervalMethod::kBacktestSpread
                                                    : ga::IntervalMethod::kBootstrapOnly;
  if (flags.model != "auto") options.model = ga::ModelFromName(flags.model);
  options.selection = *ga::SelectionFromName(flags.selection);
  options.error_zero = flags.error_zero;
  options.small_data =
      flags.keep_small_data ? ga::SmallDataHandling::kKeepAll : ga::SmallDataHandling::kDetect;
  options.bootstrap_resamples = flags.bootstrap_resamples;
  options.seed = flags.seed;
  options.ci_level = flags.ci_level;
  options.roi = flags.roi;

  std::vector<ga::LearningCurve> chosen;
  for (const ga::LearningCurve& curve : curves.value()) {
    if (flags.group.empty() || curve.name() == flags.group) chosen.push_back(curve);
  }
  if (chosen.empty()) return Fail(flags.csv_path + ": no group " + flags.group);
  if (flags.plan.plan && chosen.size() != 1) {
    return Fail("--plan plans one curve; " + flags.csv_path + " has " +
                std::to_string(chosen.size()) + " groups: name one with --group");
  }
  std::vector<ga::CurveReport> reports;
  for (const ga::LearningCurve& curve : chosen) {
    granary::Result<ga::CurveReport> report = ga::CurveAnalysis::Run(curve, options);
    if (!report.ok()) return Fail(flags.csv_path + ": " + report.status().message());
    reports.push_back(std::move(report).value());
  }
  nlohmann::ordered_json plan;
  std::string plan_table;
  if (flags.plan.plan) {
    std::string error;
    const int code =
        granary::tools::RunPlan(flags.plan, reports[0], options, &plan, &plan_table, &error);
    if (code != 0) {
      std::cerr << "roi-fit: " << error << "\n";
      return code;
    }
  }
  for (const ga::CurveReport& report : reports) {
    if (flags.json) {
      nlohmann::ordered_json line = ToJson(report, flags);
      if (flags.plan.plan) line["plan"] = plan;
      std::cout << line.dump() << "\n";
    } else {
      PrintTable(report, flags);
      std::cout << plan_table;
    }
  }
  std::cout.flush();
  if (!flags.plot_path.empty()) return WritePlot(flags, chosen, reports);
  return 0;
}
