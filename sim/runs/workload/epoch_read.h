// `epoch_read`: feeding accelerators. One accelerator per client.
//
// Load: the clients write the dataset (`files` samples, one file each, /dataset/s<k/1000>/f<k>)
// and wait for each other. Train: every epoch has a fresh permutation of the samples, drawn
// from a generator derived from the root seed; accelerator i takes positions i, i+C, ... of
// it. `prefetch` loader fibers per accelerator read samples ("read_sample"); the accelerator
// computes on samples in the order they arrive, `compute_ms` each, and a loader waits for the
// accelerator to take its sample before fetching the next (a prefetch buffer of `prefetch`
// samples). Busy fraction of an accelerator = compute time / (end of its last step - start of
// training): 1 means the storage never kept it waiting.
#pragma once

#include <map>
#include <vector>

#include "sim/runs/workload/workload.h"

namespace granary::sim {

class EpochReadLoad final : public Workload {
 public:
  explicit EpochReadLoad(const WorkloadContext& context);
  void RunClient(SimProcess& process, uint32_t index) override;
  void Summarize(nlohmann::json& out) const override;

  static std::string SamplePath(uint64_t sample);

 private:
  struct Accelerator {
    uint64_t next_position = 0;
    uint64_t positions = 0;
    Instant free_at{};
    Instant train_start{};
    Duration computed{0};
    uint64_t samples = 0;
    uint32_t loaders_running = 0;
  };
  const std::vector<uint64_t>& Permutation(uint32_t epoch);
  void Load(SimProcess& process, FileSystem& fs, uint32_t index);
  void Loader(Env& env, FileSystem& fs, uint32_t index);

  const WorkloadContext& context_;
  proto::EpochReadWorkload spec_;
  Random seed_random_;
  std::map<uint32_t, std::vector<uint64_t>> permutations_;
  std::vector<Accelerator> accelerators_;
  uint32_t loaded_clients_ = 0;
  uint64_t load_failures_ = 0;
  uint64_t read_failures_ = 0;
  Instant training_start_{};
};

}  // namespace granary::sim
