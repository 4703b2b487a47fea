#include "core/security/block_keys.h"

#include <gtest/gtest.h>

#include "core/common/random.h"

namespace granary {
namespace {

using std::chrono::minutes;

// A clock the test moves by hand; nothing here suspends.
class ManualEnv final : public Env {
 public:
  Instant Now() override { return now; }
  Status SleepFor(Duration d) override {
    now += d;
    return Status::Ok();
  }
  Status SleepUntil(Instant t) override {
    if (t > now) now = t;
    return Status::Ok();
  }
  void Spawn(std::string_view, std::function<void()>) override {}
  Random& random() override { return random_; }
  Status ChargeCpu(Duration) override { return Status::Ok(); }
  std::string_view node_name() const override { return "test"; }

  Instant now = InstantFromNanos(1'000'000'000);

 private:
  Random random_{7};
};

TEST(BlockKeyManager, OffIssuesNothingAndDrawsNoRandomness) {
  ManualEnv env;
  const uint64_t before = Random(7).Next();
  BlockKeyManager keys(env, BlockTokenOptions{});
  EXPECT_EQ(keys.Issue(1, 1, BlockAccess::kRead, "alice"), "");
  EXPECT_TRUE(keys.LiveKeys().empty());
  EXPECT_EQ(env.random().Next(), before);
}

TEST(BlockKeyManager, RollsKeysAndKeepsTheOldOnesForTheGracePeriod) {
  ManualEnv env;
  BlockTokenOptions options;
  options.enabled = true;
  options.token_lifetime = minutes(10);
  options.key_roll_interval = minutes(60);
  options.key_grace = minutes(5);
  BlockKeyManager keys(env, options);
  BlockTokenVerifier verifier;
  // The keys are listed (the signing one and the next) before any token is issued.
  verifier.SetKeys(keys.LiveKeys());
  EXPECT_EQ(verifier.keys(), 2u);
  const std::string first = keys.Issue(42, 7, BlockAccess::kRead, "alice");
  EXPECT_TRUE(verifier.Verify(first, 42, 7, BlockAccess::kRead, env.now).ok());
  EXPECT_EQ(ParseBlockToken(first)->key_id, 1u);

  env.now += minutes(61);  // rolled: the next key signs, the old one still verifies
  const std::string second = keys.Issue(42, 7, BlockAccess::kRead, "alice");
  EXPECT_EQ(ParseBlockToken(second)->key_id, 2u);
  // A datanode that has not heard from the namenode since the first hour knows key 2.
  EXPECT_TRUE(verifier.Verify(second, 42, 7, BlockAccess::kRead, env.now).ok());
  EXPECT_EQ(keys.LiveKeys().size(), 3u);  // 1 in its grace, 2 signing, 3 next
  verifier.SetKeys(keys.LiveKeys());
  EXPECT_TRUE(verifier.Verify(second, 42, 7, BlockAccess::kRead, env.now).ok());
  // The first token itself has expired (10 minutes), although its key is still known.
  EXPECT_EQ(verifier.Verify(first, 42, 7, BlockAccess::kRead, env.now).code(), StatusCode::kStale);

  env.now += minutes(20);  // past key 1's signing hour + lifetime + grace
  EXPECT_EQ(keys.LiveKeys().size(), 2u);
  EXPECT_EQ(keys.LiveKeys().begin()->first, 2u);
  // Key material differs between keys.
  ManualEnv env2;
  BlockKeyManager again(env2, options);
  EXPECT_NE(again.LiveKeys().at(1).bytes, std::string(kBlockKeyBytes, '\0'));
}

TEST(BlockKeyManager, UsesTheGivenRandomSource) {
  ManualEnv env;
  BlockTokenOptions options;
  options.enabled = true;
  options.random_bytes = [](uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; ++i) out[i] = 0xAB;
  };
  BlockKeyManager keys(env, options);
  EXPECT_EQ(keys.LiveKeys().at(1).bytes, std::string(kBlockKeyBytes, '\xAB'));
}

}  // namespace
}  // namespace granary
