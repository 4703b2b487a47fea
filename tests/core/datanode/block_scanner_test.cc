// BlockScanner on a simulated disk: it reads every finalized replica at its rate, one pass per
// scan period, skips replicas under construction, and reports rot once.
#include "core/datanode/block_scanner.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/datanode/replica_store.h"
#include "tests/core/datanode/datanode_harness.h"

namespace granary::testing {
namespace {

constexpr uint64_t kSeed = 6160;
constexpr uint64_t kMiB = 1024 * 1024;
constexpr uint64_t kRate = kMiB;  // bytes per second
constexpr Duration kScanPeriod = std::chrono::hours(1);

std::string Crcs(std::string_view data) {
  std::string out;
  for (uint32_t crc : ChunkCrcs(data)) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(crc >> (8 * i)));
  }
  return out;
}

// One datanode process whose start fiber loads a ReplicaStore from the disk the test filled
// and starts a BlockScanner on a fiber of its own; the test then advances virtual time and
// reads the scanner's counters between steps. Store and scanner outlive the process's fibers
// (Shutdown unwinds them first).
class ScannerFixture : public ::testing::Test {
 protected:
  ScannerFixture() : sim_(kSeed) {
    node_ = hardware_.AddNode(NodeNamed("dn"), [this](sim::SimProcess& process) {
      store_ = std::make_unique<ReplicaStore>(process.disk());
      ASSERT_TRUE(store_->Load().ok());
      if (writing_block_) {
        ASSERT_TRUE(store_->Create(BlockId(99), GenerationStamp(1)).ok());
        const std::string bytes(kChecksumChunkBytes, 'w');
        ASSERT_TRUE(store_->Append(BlockId(99), bytes, ChunkCrcs(bytes)).ok());
      }
      scanner_ = std::make_unique<BlockScanner>(
          process.env(), *store_, rate_, kScanPeriod,
          [this](const Replica& replica) { reported_.push_back(replica.block_id); });
      process.env().Spawn("scanner", [this] {
        run_status_ = scanner_->Run();
        run_returned_ = true;
      });
    });
  }
  ~ScannerFixture() override { EXPECT_TRUE(sim_.Shutdown().ok()); }

  sim::SimDiskStorage& storage() { return hardware_.machine(node_).disk_storage(); }

  // A finalized replica of `bytes` bytes, written straight to the disk.
  void PutFinalized(uint64_t id, uint64_t bytes) {
    Random random(kSeed + id);
    const std::string data = RandomBytes(random, bytes);
    for (const auto& [name, content] :
         {std::pair{"blk_" + std::to_string(id) + "_1.data", data},
          std::pair{"blk_" + std::to_string(id) + "_1.meta", Crcs(data)}}) {
      ASSERT_TRUE(storage().Create(name).ok());
      ASSERT_TRUE(storage().Append(name, content).ok());
      ASSERT_TRUE(storage().MarkSynced(name, content.size()).ok());
    }
  }

  void Start() { sim_.StartNode(node_); }

  sim::Simulator sim_;
  sim::Hardware hardware_{sim_};
  NodeId node_;
  uint64_t rate_ = kRate;
  bool writing_block_ = false;
  std::unique_ptr<ReplicaStore> store_;
  std::unique_ptr<BlockScanner> scanner_;
  std::vector<BlockId> reported_;
  Status run_status_;
  bool run_returned_ = false;
};

TEST_F(ScannerFixture, ReadsAtItsRateAndPassesOncePerPeriod) {
  PutFinalized(1, 2 * kMiB);
  PutFinalized(2, 2 * kMiB);
  Start();
  // One 1 MiB piece, then a second's pause: the rate holds from the first piece on.
  sim_.RunFor(std::chrono::milliseconds(500));
  ASSERT_NE(scanner_, nullptr);
  EXPECT_EQ(scanner_->bytes_scanned(), kMiB);
  EXPECT_EQ(scanner_->passes(), 0u);
  // 4 MiB at 1 MiB/s: the pass ends after about four seconds, and the next waits an hour.
  sim_.RunFor(std::chrono::seconds(10));
  EXPECT_EQ(scanner_->bytes_scanned(), 4 * kMiB);
  EXPECT_EQ(scanner_->passes(), 1u);
  sim_.RunFor(std::chrono::minutes(30));
  EXPECT_EQ(scanner_->passes(), 1u);
  sim_.RunFor(std::chrono::minutes(31));
  EXPECT_EQ(scanner_->bytes_scanned(), 8 * kMiB);
  EXPECT_EQ(scanner_->passes(), 2u);
  EXPECT_EQ(scanner_->corrupt_found(), 0u);
  EXPECT_TRUE(reported_.empty());
  EXPECT_FALSE(run_returned_);
}

TEST_F(ScannerFixture, SkipsReplicasUnderConstruction) {
  PutFinalized(1, kMiB);
  writing_block_ = true;
  Start();
  sim_.RunFor(std::chrono::seconds(10));
  ASSERT_NE(scanner_, nullptr);
  EXPECT_EQ(scanner_->passes(), 1u);
  EXPECT_EQ(scanner_->bytes_scanned(), kMiB);
}

TEST_F(ScannerFixture, ReportsARottedReplicaOnceAndSkipsItAfter) {
  PutFinalized(1, kMiB);
  PutFinalized(2, kMiB);
  ASSERT_TRUE(storage().Corrupt("blk_2_1.data", kChecksumChunkBytes + 7).ok());
  Start();
  sim_.RunFor(std::chrono::seconds(10));
  ASSERT_NE(scanner_, nullptr);
  EXPECT_EQ(scanner_->corrupt_found(), 1u);
  ASSERT_EQ(reported_.size(), 1u);
  EXPECT_EQ(reported_[0], BlockId(2));
  EXPECT_TRUE(store_->Get(BlockId(2))->corrupt);
  // Only the sound replica's bytes count as scanned.
  EXPECT_EQ(scanner_->bytes_scanned(), kMiB);
  // The next pass leaves the corrupt replica alone: no second report.
  sim_.RunFor(std::chrono::hours(1));
  EXPECT_EQ(scanner_->passes(), 2u);
  EXPECT_EQ(scanner_->corrupt_found(), 1u);
  EXPECT_EQ(reported_.size(), 1u);
  EXPECT_EQ(scanner_->bytes_scanned(), 2 * kMiB);
}

TEST_F(ScannerFixture, RateZeroTurnsScanningOff) {
  PutFinalized(1, kMiB);
  rate_ = 0;
  Start();
  sim_.RunFor(std::chrono::seconds(10));
  EXPECT_TRUE(run_returned_);
  EXPECT_TRUE(run_status_.ok()) << run_status_.ToString();
  ASSERT_NE(scanner_, nullptr);
  EXPECT_EQ(scanner_->bytes_scanned(), 0u);
  EXPECT_EQ(scanner_->passes(), 0u);
}

TEST_F(ScannerFixture, ACrashEndsTheRunWithNodeDown) {
  PutFinalized(1, 4 * kMiB);
  Start();
  sim_.RunFor(std::chrono::seconds(1));
  sim_.CrashNode(node_);
  sim_.RunFor(std::chrono::seconds(1));
  EXPECT_TRUE(run_returned_);
  EXPECT_EQ(run_status_.code(), StatusCode::kNodeDown);
}

}  // namespace
}  // namespace granary::testing
