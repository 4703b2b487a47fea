#include "analytics/curve_loader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>
#include <optional>
#include <span>
#include <string_view>

#include "analytics/limits.h"

namespace granary::analytics {
namespace {

constexpr std::string_view kSizeNames[] = {"train_size", "training_size", "size",    "n", "m",
                                           "samples",    "seen examples", "examples"};
constexpr std::string_view kErrorNames[] = {"test_error", "error", "loss", "test_loss", "err"};

std::string Lower(std::string_view text) {
  std::string lower(text);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return lower;
}

// Finds a column: exactly `wanted` when given, else the first header matching a common name.
Result<int> FindColumn(const CsvTable& table, const std::string& wanted,
                       std::span<const std::string_view> common_names, std::string_view role) {
  std::string header_list;
  for (const std::string& name : table.header()) {
    header_list += (header_list.empty() ? "" : ", ") + name;
  }
  if (!wanted.empty()) {
    const std::optional<int> index = table.ColumnIndex(wanted);
    if (!index) {
      return Status(StatusCode::kInvalidArgument,
                    "line 1: no column '" + wanted + "' (columns: " + header_list + ")");
    }
    return *index;
  }
  for (std::string_view common : common_names) {
    for (size_t i = 0; i < table.header().size(); ++i) {
      if (Lower(table.header()[i]) == common) return static_cast<int>(i);
    }
  }
  return Status(StatusCode::kInvalidArgument,
                "line 1: no " + std::string(role) + " column found among (" + header_list +
                    "); name it with --" + std::string(role) + "-col");
}

std::optional<double> ParseNumber(const std::string& cell) {
  double value = 0;
  const char* end = cell.data() + cell.size();
  const auto [stop, code] = std::from_chars(cell.data(), end, value);
  if (code != std::errc() || stop != end || cell.empty()) return std::nullopt;
  return value;
}

}  // namespace

Result<std::vector<LearningCurve>> CurveLoader::Load(const CsvTable& table,
                                                     const CurveColumns& columns) {
  const Result<int> size_index = FindColumn(table, columns.size_column, kSizeNames, "size");
  if (!size_index.ok()) return size_index.status();
  const Result<int> error_index = FindColumn(table, columns.error_column, kErrorNames, "error");
  if (!error_index.ok()) return error_index.status();
  std::vector<int> group_indices;
  for (const std::string& name : columns.group_columns) {
    const Result<int> index = FindColumn(table, name, {}, "group-by");
    if (!index.ok()) return index.status();
    group_indices.push_back(index.value());
  }

  std::vector<std::string> group_order;
  std::map<std::string, std::vector<Observation>> by_group;
  for (const CsvTable::Row& row : table.rows()) {
    const std::string prefix = "line " + std::to_string(row.line_number) + ": ";
    const std::string& size_cell = row.cells[size_index.value()];
    const std::string& error_cell = row.cells[error_index.value()];
    const std::string& size_name = table.header()[size_index.value()];
    const std::string& error_name = table.header()[error_index.value()];
    const std::optional<double> size = ParseNumber(size_cell);
    if (!size || !std::isfinite(*size)) {
      return Status(StatusCode::kInvalidArgument,
                    prefix + size_name + " '" + size_cell + "' is not a number");
    }
    if (*size <= 0)
      return Status(StatusCode::kInvalidArgument,
                    prefix + size_name + " " + size_cell + " is not positive");
    const std::optional<double> error = ParseNumber(error_cell);
    if (!error || !std::isfinite(*error)) {
      return Status(StatusCode::kInvalidArgument,
                    prefix + error_name + " '" + error_cell + "' is not a number");
    }
    if (*error <= 0) {
      return Status(StatusCode::kInvalidArgument,
                    prefix + error_name + " " + error_cell + " is not positive");
    }
    std::string group;
    for (int index : group_indices) group += (group.empty() ? "" : "/") + row.cells[index];
    if (group_indices.empty()) group = "all";
    auto [it, inserted] = by_group.try_emplace(group);
    if (inserted) {
      if (static_cast<int64_t>(group_order.size()) >= kGroupsMax) {
        return Status(StatusCode::kInvalidArgument,
                      prefix + "more than " + std::to_string(kGroupsMax) + " groups");
      }
      group_order.push_back(group);
    }
    it->second.push_back(Observation{*size, *error});
  }
  if (group_order.empty())
    return Status(StatusCode::kInvalidArgument, "line 2: the file has no data rows");

  std::vector<LearningCurve> curves;
  for (const std::string& group : group_order) {
    const std::vector<Observation>& observations = by_group[group];
    std::vector<double> sizes;
    for (const Observation& observation : observations) sizes.push_back(observation.size);
    std::sort(sizes.begin(), sizes.end());
    const int64_t distinct = std::unique(sizes.begin(), sizes.end()) - sizes.begin();
    if (distinct > kCurveSizesMax) {
      return Status(
          StatusCode::kInvalidArgument,
          "group " + group + ": more than " + std::to_string(kCurveSizesMax) + " distinct sizes");
    }
    curves.emplace_back(group, observations);
  }
  return curves;
}

}  // namespace granary::analytics
