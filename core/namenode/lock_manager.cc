#include "core/namenode/lock_manager.h"

#include <algorithm>
#include <cassert>
#include <mutex>

namespace granary {

LockSet::LockSet(LockSet&& other) noexcept
    : manager_(other.manager_), held_(std::move(other.held_)) {
  other.manager_ = nullptr;
  other.held_.clear();
}

LockSet& LockSet::operator=(LockSet&& other) noexcept {
  if (this != &other) {
    Release();
    manager_ = other.manager_;
    held_ = std::move(other.held_);
    other.manager_ = nullptr;
    other.held_.clear();
  }
  return *this;
}

void LockSet::Release() {
  if (manager_ != nullptr && !held_.empty()) manager_->Release(held_);
  held_.clear();
  manager_ = nullptr;
}

LockSet LockManager::Acquire(std::vector<LockRequest> requests) {
  std::sort(requests.begin(), requests.end(), [](const LockRequest& a, const LockRequest& b) {
    if (a.key != b.key) return a.key < b.key;
    return a.mode == LockMode::kExclusive && b.mode != LockMode::kExclusive;
  });
  // After sorting, the first of equal keys is the strongest mode: keep it alone.
  requests.erase(
      std::unique(requests.begin(), requests.end(),
                  [](const LockRequest& a, const LockRequest& b) { return a.key == b.key; }),
      requests.end());
  LockSet set;
  set.manager_ = this;
  std::unique_lock<boost::fibers::mutex> guard(mutex_);
  for (const LockRequest& request : requests) {
    std::unique_ptr<State>& slot = states_[request.key];
    if (!slot) slot = std::make_unique<State>();
    State& s = *slot;
    ++s.waiting;
    if (request.mode == LockMode::kExclusive) {
      ++s.waiting_writers;
      s.changed.wait(guard, [&s] { return !s.writer && s.readers == 0; });
      --s.waiting_writers;
      s.writer = true;
    } else {
      s.changed.wait(guard, [&s] { return !s.writer && s.waiting_writers == 0; });
      ++s.readers;
    }
    --s.waiting;
    set.held_.push_back(request);
  }
  return set;
}

void LockManager::Release(const std::vector<LockRequest>& held) {
  std::unique_lock<boost::fibers::mutex> guard(mutex_);
  for (const LockRequest& request : held) {
    auto it = states_.find(request.key);
    assert(it != states_.end());
    State& s = *it->second;
    if (request.mode == LockMode::kExclusive) {
      assert(s.writer);
      s.writer = false;
    } else {
      assert(s.readers > 0);
      --s.readers;
    }
    if (s.waiting == 0 && !s.writer && s.readers == 0) {
      states_.erase(it);
    } else {
      s.changed.notify_all();
    }
  }
}

}  // namespace granary
