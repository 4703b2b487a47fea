#include "analytics/csv_table.h"

#include <cassert>

#include "analytics/limits.h"

namespace granary::analytics {
namespace {

std::string Trim(std::string_view text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t')) --end;
  return std::string(text.substr(begin, end - begin));
}

// Splits one line into fields. Returns an error text, or empty on success.
std::string SplitLine(std::string_view line, std::vector<std::string>* fields) {
  fields->clear();
  std::string field;
  bool in_quotes = false;
  bool was_quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char ch = line[i];
    if (in_quotes) {
      if (ch != '"') {
        field.push_back(ch);
      } else if (i + 1 < line.size() && line[i + 1] == '"') {
        field.push_back('"');
        ++i;
      } else {
        in_quotes = false;
      }
    } else if (ch == '"') {
      if (!Trim(field).empty()) return "a quote in the middle of an unquoted field";
      field.clear();
      in_quotes = true;
      was_quoted = true;
    } else if (ch == ',') {
      fields->push_back(was_quoted ? field : Trim(field));
      field.clear();
      was_quoted = false;
    } else {
      if (was_quoted && ch != ' ' && ch != '\t') return "text after a closing quote";
      field.push_back(ch);
    }
    if (static_cast<int64_t>(fields->size()) > kCsvColumnsMax) {
      return "more than " + std::to_string(kCsvColumnsMax) + " fields";
    }
  }
  if (in_quotes) return "a quoted field is not closed";
  fields->push_back(was_quoted ? field : Trim(field));
  return "";
}

}  // namespace

Result<CsvTable> CsvTable::Parse(std::string_view text) {
  CsvTable table;
  std::vector<std::string> fields;
  int64_t line_number = 0;
  size_t position = 0;
  bool have_header = false;
  while (position < text.size()) {
    size_t end = text.find('\n', position);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(position, end - position);
    position = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string prefix = "line " + std::to_string(line_number) + ": ";
    if (static_cast<int64_t>(line.size()) > kCsvLineBytesMax) {
      return Status(StatusCode::kInvalidArgument,
                    prefix + "longer than " + std::to_string(kCsvLineBytesMax) + " bytes");
    }
    if (Trim(line).empty()) continue;
    const std::string problem = SplitLine(line, &fields);
    if (!problem.empty()) return Status(StatusCode::kInvalidArgument, prefix + problem);
    if (!have_header) {
      table.header_ = fields;
      have_header = true;
      continue;
    }
    if (fields.size() != table.header_.size()) {
      return Status(StatusCode::kInvalidArgument, prefix + "has " + std::to_string(fields.size()) +
                                                      " fields, the header has " +
                                                      std::to_string(table.header_.size()));
    }
    if (static_cast<int64_t>(table.rows_.size()) >= kCsvRowsMax) {
      return Status(StatusCode::kInvalidArgument,
                    prefix + "more than " + std::to_string(kCsvRowsMax) + " rows");
    }
    table.rows_.push_back(Row{line_number, fields});
  }
  if (!have_header)
    return Status(StatusCode::kInvalidArgument, "line 1: the file is empty (no header row)");
  return table;
}

std::optional<int> CsvTable::ColumnIndex(std::string_view name) const {
  for (size_t i = 0; i < header_.size(); ++i) {
    if (header_[i] == name) return static_cast<int>(i);
  }
  return std::nullopt;
}

}  // namespace granary::analytics
