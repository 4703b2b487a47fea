#include "sim/runs/workload/epoch_read.h"

#include <algorithm>
#include <memory>

namespace granary::sim {

using std::chrono::milliseconds;

EpochReadLoad::EpochReadLoad(const WorkloadContext& context)
    : context_(context),
      spec_(context.scenario->workload().epoch_read()),
      seed_random_(context.cluster->sim().DeriveRandom("epoch_read")),
      accelerators_(context.clients) {
  for (uint32_t i = 0; i < context.clients; ++i) {
    const uint64_t per_epoch =
        i < spec_.files() ? (spec_.files() - i + context.clients - 1) / context.clients : 0;
    accelerators_[i].positions = per_epoch * spec_.epochs();
  }
}

std::string EpochReadLoad::SamplePath(uint64_t sample) {
  return "/dataset/s" + std::to_string(sample / 1000) + "/f" + std::to_string(sample);
}

const std::vector<uint64_t>& EpochReadLoad::Permutation(uint32_t epoch) {
  auto it = permutations_.find(epoch);
  if (it != permutations_.end()) return it->second;
  std::vector<uint64_t> order(spec_.files());
  for (uint64_t i = 0; i < order.size(); ++i) order[i] = i;
  Random random = seed_random_.Derive(epoch);
  for (uint64_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[random.Below(i)]);
  return permutations_.emplace(epoch, std::move(order)).first->second;
}

void EpochReadLoad::Load(SimProcess& process, FileSystem& fs, uint32_t index) {
  Env& env = process.env();
  CreateOptions create;
  create.overwrite = true;
  for (uint64_t k = index; k < spec_.files() && env.Now() < context_.end; k += context_.clients) {
    // Sizes from a generator per sample: the same dataset whoever writes it.
    Random size_random = seed_random_.Derive("size").Derive(k);
    const uint64_t bytes =
        spec_.file_bytes() > 0 ? spec_.file_bytes() : DrawSmallFileBytes(size_random);
    const Instant start = env.Now();
    const Status status = WriteZeros(fs, SamplePath(k), bytes, create);
    if (status.code() == StatusCode::kNodeDown) return;
    context_.metrics->Record("load_write", start, env.Now(), status.ok(), bytes, Direction::kWrite);
    if (!status.ok()) ++load_failures_;
  }
}

void EpochReadLoad::Loader(Env& env, FileSystem& fs, uint32_t index) {
  Accelerator& acc = accelerators_[index];
  const uint64_t per_epoch = spec_.epochs() > 0 ? acc.positions / spec_.epochs() : 0;
  const Duration compute(static_cast<int64_t>(spec_.compute_ms() * 1e6));
  while (acc.next_position < acc.positions && env.Now() < context_.end) {
    const uint64_t position = acc.next_position++;
    const uint32_t epoch = static_cast<uint32_t>(position / per_epoch);
    const uint64_t sample = Permutation(epoch)[index + (position % per_epoch) * context_.clients];
    const std::string path = SamplePath(sample);
    const Instant start = env.Now();
    context_.metrics->Trace(start, index, "read", path);
    Result<uint64_t> read = ReadAll(fs, path);
    if (read.code() == StatusCode::kNodeDown) return;
    context_.metrics->Record("read_sample", start, env.Now(), read.ok(), read.ok() ? *read : 0,
                             Direction::kRead);
    if (!read.ok()) {
      ++read_failures_;
      continue;
    }
    // The accelerator takes the sample when it is free; the loader's buffer slot frees then.
    const Instant step = std::max(env.Now(), acc.free_at);
    acc.free_at = step + compute;
    acc.computed += compute;
    ++acc.samples;
    if (!env.SleepUntil(step).ok()) return;
  }
}

void EpochReadLoad::RunClient(SimProcess& process, uint32_t index) {
  Env& env = process.env();
  auto fs =
      std::make_shared<FileSystem>(env, process.transport(), context_.ClientOptionsFor(process));
  Load(process, *fs, index);
  ++loaded_clients_;
  while (loaded_clients_ < context_.clients) {
    if (!env.SleepFor(milliseconds(5)).ok()) return;
    if (env.Now() >= context_.end) return;
  }
  // The barrier is outside the file system: with several namenodes, a client sees the
  // other loaders' files on a standby only once its sequence covers them (nn.Msync, as a
  // real job would call after its barrier); without it a few reads found no file.
  if (context_.cluster->namenode_ids().size() > 1 && !fs->Msync().ok()) ++read_failures_;
  Accelerator& acc = accelerators_[index];
  acc.train_start = env.Now();
  acc.free_at = env.Now();
  if (training_start_ == Instant{}) training_start_ = env.Now();
  const uint32_t loaders = std::max(1u, spec_.prefetch());
  acc.loaders_running = loaders;
  for (uint32_t l = 1; l < loaders; ++l) {
    env.Spawn("loader", [this, &env, fs, index] {
      Loader(env, *fs, index);
      --accelerators_[index].loaders_running;
    });
  }
  Loader(env, *fs, index);
  --acc.loaders_running;
  // The client ends with its last loader (the spawned ones share the FileSystem).
  while (acc.loaders_running > 0) {
    if (!env.SleepFor(milliseconds(1)).ok()) return;
  }
}

void EpochReadLoad::Summarize(nlohmann::json& out) const {
  double busy_sum = 0, busy_min = 1;
  uint64_t samples = 0;
  Instant last{};
  uint32_t counted = 0;
  for (const Accelerator& acc : accelerators_) {
    samples += acc.samples;
    if (acc.samples == 0) continue;
    const double span = ToSeconds(acc.free_at - acc.train_start);
    const double busy = span > 0 ? ToSeconds(acc.computed) / span : 0;
    busy_sum += busy;
    busy_min = std::min(busy_min, busy);
    last = std::max(last, acc.free_at);
    ++counted;
  }
  out["accelerators"] = context_.clients;
  out["samples_trained"] = samples;
  out["samples_planned"] = spec_.files() * spec_.epochs();
  out["accelerator_busy_mean"] = counted > 0 ? busy_sum / counted : 0.0;
  out["accelerator_busy_min"] = counted > 0 ? busy_min : 0.0;
  const double train_seconds = ToSeconds(last - training_start_);
  out["training_seconds"] = train_seconds;
  out["samples_per_s"] = train_seconds > 0 ? samples / train_seconds : 0.0;
  out["load_failures"] = load_failures_;
  out["read_failures"] = read_failures_;
}

}  // namespace granary::sim
