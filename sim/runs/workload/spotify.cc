// `spotify`: the HDFS operation mix of Spotify's cluster, as used by the HopsFS evaluation,
// closed loop over a pre-populated namespace (workload.h, scenario.proto SpotifyWorkload).
//
// Reads, stats and listings pick pre-populated files and directories (uniformly, or by a Zipf
// popularity scattered over the namespace). Mutations stay in the client's own directory
// /spotify/c<i>, so that they never race with each other: create_file adds a file, rename
// and delete take the client's oldest created file, mkdir adds a directory. Operations on a
// pre-populated entry that change it (chown, chmod, set_replication) set what it already has.
#include "sim/runs/workload/spotify.h"

#include <deque>

namespace granary::sim {

SpotifyLoad::SpotifyLoad(const WorkloadContext& context) : context_(context) {
  const proto::Scenario& s = *context.scenario;
  spec_ = s.workload().spotify();
  files_ = s.workload().populate().files();
  files_per_dir_ = s.workload().populate().files_per_dir();
  std::vector<double> weights;
  for (const auto& [name, percent] : SpotifyOpMix()) weights.push_back(percent);
  mix_ = std::make_unique<WeightedChoice>(weights);
  if (spec_.zipf_exponent() > 0) {
    zipf_ = std::make_unique<ZipfDistribution>(files_, spec_.zipf_exponent());
  }
}

uint64_t SpotifyLoad::PickFile(Random& random) const {
  if (!zipf_) return random.Below(files_);
  // Scatter the popular ranks over the namespace: multiplying by a prime that does not
  // divide the file count is a bijection modulo it.
  constexpr uint64_t kScatter = 1000003;
  const uint64_t rank = zipf_->Sample(random) - 1;
  return files_ % kScatter == 0 ? rank : (rank * kScatter) % files_;
}

void SpotifyLoad::RunClient(SimProcess& process, uint32_t index) {
  Env& env = process.env();
  Random& random = env.random();
  FileSystem fs(env, process.transport(), context_.ClientOptionsFor(process));
  Metrics& metrics = *context_.metrics;
  const std::string own = "/spotify/c" + std::to_string(index);
  if (!fs.Mkdirs(own).ok()) return;
  std::deque<std::string> created;
  uint64_t serial = 0;
  const uint64_t dirs = (files_ + files_per_dir_ - 1) / files_per_dir_;
  CreateOptions create;
  create.overwrite = true;
  while (env.Now() < context_.end) {
    const std::string& op = SpotifyOpMix()[mix_->Sample(random)].first;
    const std::string file = PopulatedFile(PickFile(random), files_per_dir_);
    const std::string dir = PopulatedDir(random.Below(dirs));
    const Instant start = env.Now();
    Status status = Status::Ok();
    uint64_t bytes = 0;
    if (op == "read_file_get_block_locations") {
      metrics.Trace(start, index, "open", file);
      status = fs.Open(file).status();
    } else if (op == "stat_file" || op == "stat_dir") {
      const std::string& path = op == "stat_file" ? file : dir;
      metrics.Trace(start, index, "stat", path);
      status = fs.Stat(path).status();
    } else if (op == "list_dir" || op == "list_file") {
      const std::string& path = op == "list_dir" ? dir : file;
      metrics.Trace(start, index, "list", path);
      status = fs.List(path).status();
    } else if (op == "create_file" || op == "append" ||
               ((op == "rename" || op == "delete") && created.empty())) {
      // With nothing of its own yet to rename or delete, a client creates instead.
      const std::string path = own + "/n" + std::to_string(serial++);
      metrics.Trace(start, index, "create", path, spec_.create_bytes());
      status = WriteZeros(fs, path, spec_.create_bytes(), create);
      if (status.ok()) created.push_back(path);
      bytes = spec_.create_bytes();
      Finish("create_file", start, env.Now(), status, bytes);
      continue;
    } else if (op == "rename") {
      const std::string from = created.front();
      const std::string to = own + "/n" + std::to_string(serial++);
      metrics.Trace(start, index, "rename", from, 0, to);
      status = fs.Rename(from, to);
      created.pop_front();
      if (status.ok()) created.push_back(to);
    } else if (op == "delete") {
      const std::string path = created.front();
      created.pop_front();
      metrics.Trace(start, index, "delete", path);
      status = fs.Delete(path, false);
    } else if (op == "chown_dir") {
      metrics.Trace(start, index, "chown", dir);
      status = fs.SetOwner(dir, "granary", "supergroup");
    } else if (op == "set_replication") {
      metrics.Trace(start, index, "setrep", file, 3);
      status = fs.SetReplication(file, 3);
    } else if (op == "mkdir") {
      const std::string path = own + "/m" + std::to_string(serial++);
      metrics.Trace(start, index, "mkdir", path);
      status = fs.Mkdirs(path);
    } else if (op == "chmod_file" || op == "chmod_dir") {
      const std::string& path = op == "chmod_file" ? file : dir;
      metrics.Trace(start, index, "chmod", path, op == "chmod_file" ? 0644 : 0755);
      status = fs.SetPermission(path, op == "chmod_file" ? 0644 : 0755);
    }
    if (status.code() == StatusCode::kNodeDown) return;
    Finish(op, start, env.Now(), status, bytes);
    if (spec_.think_ms() > 0) {
      const double ns = random.Exponential(spec_.think_ms() * 1e6);
      if (!env.SleepFor(Duration(static_cast<int64_t>(ns))).ok()) return;
    }
  }
}

void SpotifyLoad::Finish(const std::string& op, Instant start, Instant end, const Status& status,
                         uint64_t bytes) {
  context_.metrics->Record(op, start, end, status.ok(), bytes,
                           bytes > 0 ? Direction::kWrite : Direction::kNone);
  if (!status.ok() && failures_shown_ < 3) {
    ++failures_shown_;
    first_failures_ += op + ": " + status.ToString() + "; ";
  }
}

void SpotifyLoad::Summarize(nlohmann::json& out) const {
  out["populated_files"] = files_;
  if (!first_failures_.empty()) out["first_failures"] = first_failures_;
}

}  // namespace granary::sim
