#include "tools/mount/open_batcher.h"

#include <algorithm>
#include <mutex>

#include "core/common/limits.h"

namespace granary::mount {

FileSystem::Opened OpenBatcher::Open(const std::string& path) {
  ++opens_;
  if (!in_flight_) {
    in_flight_ = true;
    ++calls_;
    FileSystem::Opened opened = fs_.Open(path);
    in_flight_ = false;
    idle_.notify_all();
    return opened;
  }
  FileSystem::Opened result = Status(StatusCode::kInternal, "open batch never answered");
  bool done = false;
  queue_.push_back(Waiting{path, &result, &done});
  std::unique_lock<boost::fibers::mutex> lock(mutex_);
  if (!leader_waiting_) {
    // This fiber sends the queue (its own open included) once the call in flight is over.
    leader_waiting_ = true;
    idle_.wait(lock, [this] { return !in_flight_; });
    leader_waiting_ = false;
    in_flight_ = true;
    lock.unlock();
    SendQueued();
    lock.lock();
    in_flight_ = false;
    idle_.notify_all();
    answered_.notify_all();
  }
  answered_.wait(lock, [&done] { return done; });
  return result;
}

void OpenBatcher::SendQueued() {
  std::vector<Waiting> batch;
  batch.swap(queue_);
  for (size_t start = 0; start < batch.size(); start += kOpenManyPathsMax) {
    const size_t end = std::min(batch.size(), start + kOpenManyPathsMax);
    std::vector<std::string> paths;
    for (size_t i = start; i < end; ++i) paths.push_back(batch[i].path);
    ++calls_;
    Result<std::vector<FileSystem::Opened>> all = fs_.OpenMany(paths);
    for (size_t i = start; i < end; ++i) {
      *batch[i].result = all.ok() ? std::move((*all)[i - start]) : FileSystem::Opened(all.status());
      *batch[i].done = true;
    }
  }
}

}  // namespace granary::mount
