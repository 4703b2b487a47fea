#include "sim/runs/workload/trace_replay.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "core/common/limits.h"

namespace granary::sim {
namespace {

const std::set<std::string>& KnownOps() {
  static const std::set<std::string> kOps = {"create", "read",  "open",  "stat",  "list",  "delete",
                                             "rename", "mkdir", "chmod", "chown", "setrep"};
  return kOps;
}

std::vector<std::string> SplitCsv(const std::string& line) {
  std::vector<std::string> fields;
  std::string field;
  for (char c : line) {
    if (c == ',') {
      fields.push_back(field);
      field.clear();
    } else if (c != '\r') {
      field.push_back(c);
    }
  }
  fields.push_back(field);
  return fields;
}

}  // namespace

Result<std::vector<TraceRow>> ParseTrace(const std::string& text) {
  std::vector<TraceRow> rows;
  std::istringstream in(text);
  std::string line;
  uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#' || line.rfind("time_s,", 0) == 0) continue;
    const std::vector<std::string> f = SplitCsv(line);
    auto bad = [&](const std::string& why) {
      return Status(StatusCode::kInvalidArgument,
                    "trace line " + std::to_string(number) + ": " + why);
    };
    if (f.size() < 5 || f.size() > 6) return bad("expected 5 or 6 fields");
    TraceRow row;
    try {
      size_t used = 0;
      row.time_s = std::stod(f[0], &used);
      if (used != f[0].size() || !(row.time_s >= 0)) return bad("bad time_s '" + f[0] + "'");
      row.size = std::stoull(f[4], &used);
      if (used != f[4].size()) return bad("bad size '" + f[4] + "'");
    } catch (const std::exception&) {
      return bad("bad number");
    }
    row.op = f[2];
    row.path = f[3];
    if (f.size() == 6) row.destination = f[5];
    if (!KnownOps().count(row.op)) return bad("unknown op '" + row.op + "'");
    if (row.path.empty() || row.path[0] != '/' || row.path.size() > kPathBytesMax) {
      return bad("bad path '" + row.path + "'");
    }
    if (row.op == "rename" && (row.destination.empty() || row.destination[0] != '/')) {
      return bad("rename needs an absolute destination");
    }
    if (row.op == "create" && row.size > (1ull << 40)) return bad("size beyond 1 TiB");
    row.client_name = f[1];
    rows.push_back(std::move(row));
  }
  return rows;
}

std::string FormatTrace(const std::vector<TraceRow>& rows) {
  std::string out = "time_s,client,op,path,size,destination\n";
  char time[32];
  for (const TraceRow& row : rows) {
    std::snprintf(time, sizeof(time), "%.9f", row.time_s);
    out += std::string(time) + ",client-" + std::to_string(row.client) + "," + row.op + "," +
           row.path + "," + std::to_string(row.size) + "," + row.destination + "\n";
  }
  return out;
}

TraceLoad::TraceLoad(const WorkloadContext& context) : context_(context) {}

Status TraceLoad::Prepare(WorkloadContext& context) {
  std::string path = context.scenario->workload().trace().file();
  if (!path.empty() && path[0] != '/') path = context.scenario_dir + "/" + path;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status(StatusCode::kInvalidArgument, "workload.trace.file: cannot read " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  Result<std::vector<TraceRow>> rows = ParseTrace(text.str());
  if (!rows.ok()) {
    return Status(StatusCode::kInvalidArgument, "workload.trace.file: " + rows.status().message());
  }
  // Client names map to machines in order of first appearance.
  std::map<std::string, uint32_t> clients;
  per_client_.assign(context.clients, {});
  for (TraceRow& row : *rows) {
    auto it = clients.find(row.client_name);
    if (it == clients.end()) {
      it = clients.emplace(row.client_name, static_cast<uint32_t>(clients.size())).first;
    }
    row.client = it->second % context.clients;
    per_client_[row.client].push_back(std::move(row));
  }
  for (auto& list : per_client_) {
    std::stable_sort(list.begin(), list.end(),
                     [](const TraceRow& a, const TraceRow& b) { return a.time_s < b.time_s; });
  }
  rows_ = rows->size();
  return Status::Ok();
}

void TraceLoad::RunClient(SimProcess& process, uint32_t index) {
  Env& env = process.env();
  FileSystem fs(env, process.transport(), context_.ClientOptionsFor(process));
  Metrics& metrics = *context_.metrics;
  CreateOptions create;
  create.overwrite = true;
  for (const TraceRow& row : per_client_[index]) {
    const Instant due = context_.start + Duration(static_cast<int64_t>(row.time_s * 1e9));
    if (due >= context_.end) return;
    if (!env.SleepUntil(due).ok()) return;
    const Instant start = env.Now();
    max_lag_s_ = std::max(max_lag_s_, ToSeconds(start - due));
    metrics.Trace(start, index, row.op, row.path, row.size, row.destination);
    Status status = Status::Ok();
    uint64_t bytes = 0;
    Direction direction = Direction::kNone;
    if (row.op == "create") {
      status = WriteZeros(fs, row.path, row.size, create);
      bytes = row.size;
      direction = Direction::kWrite;
    } else if (row.op == "read") {
      Result<uint64_t> read = ReadAll(fs, row.path);
      status = read.status();
      bytes = read.ok() ? *read : 0;
      direction = Direction::kRead;
    } else if (row.op == "open") {
      status = fs.Open(row.path).status();
    } else if (row.op == "stat") {
      status = fs.Stat(row.path).status();
    } else if (row.op == "list") {
      status = fs.List(row.path).status();
    } else if (row.op == "delete") {
      status = fs.Delete(row.path, true);
    } else if (row.op == "rename") {
      status = fs.Rename(row.path, row.destination);
    } else if (row.op == "mkdir") {
      status = fs.Mkdirs(row.path);
    } else if (row.op == "chmod") {
      status = fs.SetPermission(row.path, static_cast<uint32_t>(row.size));
    } else if (row.op == "chown") {
      status = fs.SetOwner(row.path, "granary", "supergroup");
    } else if (row.op == "setrep") {
      status = fs.SetReplication(row.path, static_cast<uint32_t>(row.size));
    }
    if (status.code() == StatusCode::kNodeDown) return;
    metrics.Record(row.op, start, env.Now(), status.ok(), bytes, direction);
    ++replayed_;
    if (!status.ok()) ++failed_;
  }
}

void TraceLoad::Summarize(nlohmann::json& out) const {
  out["trace_rows"] = rows_;
  out["replayed"] = replayed_;
  out["failed"] = failed_;
  out["max_lag_s"] = max_lag_s_;
}

}  // namespace granary::sim
