// What one block access token costs the CPU (issue 17): the namenode signs one per block it
// locates, a datanode verifies one per read request. Google Benchmark; compare with the
// ~100 us of CPU a 4 KiB read through a datanode takes on this machine (granary-bench
// --tokens measures the whole path with tokens on against off).
#include <benchmark/benchmark.h>

#include <string>

#include "core/security/block_token.h"

namespace granary {
namespace {

BlockKey Key() {
  return BlockKey{7, std::string(kBlockKeyBytes, 'k'), InstantFromNanos(int64_t{4} << 60)};
}

BlockTokenFields Fields() {
  return BlockTokenFields{.key_id = 7,
                          .block_id = 123456789,
                          .generation_stamp = 42,
                          .mode = BlockAccess::kRead,
                          .expiry = InstantFromNanos(int64_t{3} << 60),
                          .user = "alice"};
}

void BM_SignBlockToken(benchmark::State& state) {
  const BlockKey key = Key();
  const BlockTokenFields fields = Fields();
  for (auto _ : state) benchmark::DoNotOptimize(SignBlockToken(fields, key));
}
BENCHMARK(BM_SignBlockToken);

void BM_VerifyBlockToken(benchmark::State& state) {
  const BlockKey key = Key();
  BlockTokenVerifier verifier;
  verifier.SetKeys({{key.key_id, key}});
  const std::string token = SignBlockToken(Fields(), key);
  const Instant now = InstantFromNanos(int64_t{1} << 60);
  for (auto _ : state) {
    const Status verified = verifier.Verify(token, 123456789, 0, BlockAccess::kRead, now);
    if (!verified.ok()) state.SkipWithError(verified.ToString().c_str());
    benchmark::DoNotOptimize(verified);
  }
}
BENCHMARK(BM_VerifyBlockToken);

}  // namespace
}  // namespace granary

BENCHMARK_MAIN();
