// Fiber locks on namespace objects (HopsFS-style hierarchical locking, DESIGN.md §5).
//
// A lock key names an inode ("i" + id) or a directory entry ("e" + parent id + name). An
// operation asks for all of its locks at once; they are taken in key order, so two
// operations can never wait for each other in a cycle. Shared locks coexist; an exclusive
// lock excludes all others; a waiting exclusive request holds back new shared ones, so
// writers are not starved.
//
// Waits are untimed Boost.Fiber waits: every holder releases (its LockSet is destroyed) when
// it finishes or unwinds, including when its process crashes.
#pragma once

#include <boost/fiber/condition_variable.hpp>
#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace granary {

enum class LockMode : uint8_t { kShared, kExclusive };

struct LockRequest {
  std::string key;
  LockMode mode;
};

class LockManager;

// Holds a set of locks until destroyed or Release()d.
class LockSet {
 public:
  LockSet() = default;
  LockSet(LockSet&& other) noexcept;
  LockSet& operator=(LockSet&& other) noexcept;
  LockSet(const LockSet&) = delete;
  LockSet& operator=(const LockSet&) = delete;
  ~LockSet() { Release(); }
  void Release();

 private:
  friend class LockManager;
  LockManager* manager_ = nullptr;
  std::vector<LockRequest> held_;
};

class LockManager {
 public:
  // Blocks the calling fiber until every lock is held. Duplicate keys merge (exclusive wins).
  LockSet Acquire(std::vector<LockRequest> requests);
  // Locks currently held or awaited (for tests).
  size_t active_keys() const { return states_.size(); }

 private:
  friend class LockSet;
  struct State {
    uint32_t readers = 0;
    bool writer = false;
    uint32_t waiting_writers = 0;
    uint32_t waiting = 0;
    boost::fibers::condition_variable changed;
  };
  void Release(const std::vector<LockRequest>& held);

  boost::fibers::mutex mutex_;
  std::map<std::string, std::unique_ptr<State>> states_;
};

}  // namespace granary
