#include "sim/runs/workload/workload.h"

#include <algorithm>

#include "core/common/limits.h"
#include "core/namenode/bulk_loader.h"
#include "core/namenode/permission.h"
#include "proto/fs.pb.h"

namespace granary::sim {

using std::chrono::milliseconds;
using std::chrono::seconds;

ClientOptions WorkloadContext::ClientOptionsFor(SimProcess& process) const {
  ClientOptions options = cluster->ClientOptionsFor(process);
  // A request queued behind thousands of others at a saturated namenode is slow, not lost:
  // retrying it would only add load. Faults are still detected by the datanode timeouts.
  options.rpc_timeout = seconds(60);
  options.datanode_timeout = seconds(10);
  options.attempts = 4;
  options.packet_bytes = 1 << 20;
  options.read_ahead_bytes = 4 << 20;
  options.lease_renew_interval = seconds(10);
  options.complete_attempts = 200;
  // Retries (and Close waiting for the last block's report) back off from 5 ms. HDFS's
  // client waits 400 ms before it asks again to complete a file; a short wait for both
  // systems favours the baseline, whose every file has a last block to wait for.
  options.backoff_initial = milliseconds(5);
  options.backoff_max = milliseconds(500);
  return options;
}

// experiments/workloads/small_file_sizes.csv (hammer-bench's configuration around the HopsFS
// small-files work, Middleware 2018; see the provenance comment there). Kept equal to the
// CSV by tests/sim/runs/workload/scenario_test.cc.
const std::vector<std::pair<uint64_t, double>>& SmallFileSizes() {
  static const std::vector<std::pair<uint64_t, double>> kRows = {
      {0, 0.3},     {1024, 6.3},  {2048, 7.2},  {3072, 8.5},   {4096, 9.6},  {5120, 10.2},
      {6144, 10.5}, {7168, 10.8}, {8192, 11.0}, {16384, 11.9}, {32768, 13.7}};
  return kRows;
}

uint64_t DrawSmallFileBytes(Random& random) {
  const auto& rows = SmallFileSizes();
  std::vector<double> weights;
  for (const auto& row : rows) weights.push_back(row.second);
  const WeightedChoice choice(weights);
  const size_t i = choice.Sample(random);
  const uint64_t low = i == 0 ? 0 : rows[i - 1].first + 1;
  const uint64_t high = rows[i].first;
  return low >= high ? high : low + random.Below(high - low + 1);
}

// experiments/workloads/spotify_op_mix.csv (Spotify's HDFS mix as used by HopsFS, FAST'17,
// from hammer-bench's interleaved.* keys). Kept equal to the CSV by tables_test.cc.
const std::vector<std::pair<std::string, double>>& SpotifyOpMix() {
  static const std::vector<std::pair<std::string, double>> kRows = {
      {"read_file_get_block_locations", 68.73},
      {"stat_file", 13.04},
      {"list_dir", 8.52},
      {"stat_dir", 3.96},
      {"create_file", 2.70},
      {"rename", 1.30},
      {"delete", 0.75},
      {"list_file", 0.49},
      {"chown_dir", 0.32},
      {"set_replication", 0.14},
      {"mkdir", 0.02},
      {"chmod_file", 0.02},
      {"chmod_dir", 0.01},
      {"append", 0.00}};
  return kRows;
}

namespace {
const std::string& ZeroMebibyte() {
  static const std::string kZeros(1 << 20, '\0');
  return kZeros;
}
}  // namespace

Status WriteZeros(FileSystem& fs, const std::string& path, uint64_t bytes,
                  const CreateOptions& options) {
  GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs.Create(path, options));
  const std::string& zeros = ZeroMebibyte();
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t n = std::min<uint64_t>(zeros.size(), bytes - done);
    const Status status = writer->Write(std::string_view(zeros).substr(0, n));
    if (!status.ok()) {
      (void)writer->Close();
      return status;
    }
    done += n;
  }
  return writer->Close();
}

Result<uint64_t> ReadAll(FileSystem& fs, const std::string& path) {
  GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, fs.Open(path));
  uint64_t total = 0;
  for (;;) {
    GRANARY_ASSIGN_OR_RETURN(std::string piece, reader->Read(4 << 20));
    if (piece.empty()) break;
    total += piece.size();
  }
  return total;
}

std::string PopulatedDir(uint64_t dir) { return "/pre/d" + std::to_string(dir); }

std::string PopulatedFile(uint64_t index, uint32_t files_per_dir) {
  return PopulatedDir(index / files_per_dir) + "/f" + std::to_string(index % files_per_dir);
}

Status PrePopulate(MetaStore& store, uint64_t files, uint32_t files_per_dir,
                   const std::string& owner, const std::string& group) {
  BulkLoadOptions options;
  options.owner = owner;
  options.group = group;
  options.time_ns = 0;
  options.file_replication = 3;
  options.file_block_bytes = kBlockBytesDefault;
  BulkLoader loader(store, options);
  GRANARY_ASSIGN_OR_RETURN(InodeId pre,
                           loader.AddDirectory(loader.root(), "pre", kDirectoryModeDefault));
  const uint64_t dirs = (files + files_per_dir - 1) / files_per_dir;
  for (uint64_t d = 0; d < dirs; ++d) {
    GRANARY_ASSIGN_OR_RETURN(
        InodeId dir, loader.AddDirectory(pre, "d" + std::to_string(d), kDirectoryModeDefault));
    const uint64_t first = d * files_per_dir;
    const uint64_t last = std::min<uint64_t>(files, first + files_per_dir);
    for (uint64_t f = first; f < last; ++f) {
      GRANARY_RETURN_IF_ERROR(
          loader.AddFile(dir, "f" + std::to_string(f - first), kFileModeDefault).status());
    }
  }
  return loader.Finish();
}

}  // namespace granary::sim
