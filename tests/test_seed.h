// The seed of a randomised test: GRANARY_SEED from the environment when set, else one fixed
// per test (a hash of its name). Printed, so that any failure can be replayed.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/common/random.h"

namespace granary::test {

inline uint64_t SeedForTest() {
  uint64_t seed = 0;
  if (const char* from_env = std::getenv("GRANARY_SEED")) {
    seed = std::strtoull(from_env, nullptr, 10);
  } else {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    seed = HashBytes(std::string(info->test_suite_name()) + "." + info->name()) % 1000000007;
  }
  std::printf("[   SEED   ] %llu (replay: GRANARY_SEED=%llu)\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace granary::test
