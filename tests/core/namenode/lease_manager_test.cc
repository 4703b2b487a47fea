// Leases (core/namenode/lease_manager.h): one per client, covering its open files, with a
// soft and a hard limit.
#include "core/namenode/lease_manager.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>

namespace granary {
namespace {

using std::chrono::seconds;

TEST(LeaseManagerTest, SoftAndHardLimits) {
  LeaseManager leases;
  leases.Add("a", InodeId(10), Instant(seconds(0)));
  leases.Add("a", InodeId(11), Instant(seconds(0)));
  leases.Add("b", InodeId(12), Instant(seconds(0)));
  leases.Renew("b", Instant(seconds(50)));
  EXPECT_FALSE(leases.SoftExpired("a", Instant(seconds(20)), seconds(30)));
  EXPECT_TRUE(leases.SoftExpired("a", Instant(seconds(31)), seconds(30)));
  EXPECT_TRUE(leases.SoftExpired("nobody", Instant(seconds(0)), seconds(30)));
  const auto expired = leases.Expired(Instant(seconds(61)), seconds(60));
  ASSERT_EQ(expired.size(), 2u);
  EXPECT_EQ(expired[0], std::make_pair(std::string("a"), InodeId(10)));
  leases.Remove("a", InodeId(10));
  leases.Remove("a", InodeId(11));
  EXPECT_FALSE(leases.Holds("a"));
  EXPECT_EQ(leases.open_files(), 1u);
}

}  // namespace
}  // namespace granary
