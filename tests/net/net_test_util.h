// Helpers of the net/ tests: a fresh OS thread per world (a fresh fiber scheduler, so that
// nothing of one test's RealEnv reaches the next) and a temporary directory removed after.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <string>
#include <thread>

#include "core/common/random.h"
#include "net/real_env.h"

namespace granary::net::testing {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/granary-net-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      ADD_FAILURE() << "mkdtemp " << pattern;
    }
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    std::filesystem::remove_all(path_, error);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A seed per test, printed so that a failure can be replayed.
inline uint64_t SeedForTest() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  return HashBytes(std::string(info->test_suite_name()) + "." + info->name());
}

// Test options of an env: guarded stacks, so that a stack overflow faults at once.
inline RealEnvOptions TestEnvOptions(std::string name = "net-test") {
  RealEnvOptions options;
  options.node_name = std::move(name);
  options.seed = SeedForTest();
  options.stacks = FiberStacks::kGuarded;
  return options;
}

// Runs `fn` on a new thread and waits for it.
inline void OnFreshThread(const std::function<void()>& fn) {
  std::thread thread(fn);
  thread.join();
}

}  // namespace granary::net::testing
