// ReplicaStore on a simulated disk: the write path, reads, and startup reconciliation.
#include "core/datanode/replica_store.h"

#include <gtest/gtest.h>

#include <functional>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "tests/core/datanode/datanode_harness.h"

namespace granary::testing {
namespace {

constexpr uint64_t kChunk = kChecksumChunkBytes;
constexpr uint64_t kSeed = 5150;

std::string Crcs(std::string_view data) {
  std::string out;
  for (uint32_t crc : ChunkCrcs(data)) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>(crc >> (8 * i)));
  }
  return out;
}

// Forwards to a process's disk until `steps` changes (create, append, sync, truncate, rename,
// remove) have run; from then on every call fails with kNodeDown, as in a crashed process.
class CrashingDisk final : public Disk {
 public:
  explicit CrashingDisk(Disk& disk) : disk_(disk) {}
  // Crashes once `steps` more changes have run.
  void CrashAfter(int steps) { steps_left_ = steps; }
  bool crashed() const { return crashed_; }

  Status Create(std::string_view name) override { return Change() ? disk_.Create(name) : Down(); }
  Status Append(std::string_view name, std::string_view data) override {
    return Change() ? disk_.Append(name, data) : Down();
  }
  Result<std::string> Read(std::string_view name, uint64_t offset, uint64_t length) override {
    if (crashed_) return Down();
    return disk_.Read(name, offset, length);
  }
  Status Sync(std::string_view name) override { return Change() ? disk_.Sync(name) : Down(); }
  Status Truncate(std::string_view name, uint64_t length) override {
    return Change() ? disk_.Truncate(name, length) : Down();
  }
  Status Rename(std::string_view from, std::string_view to) override {
    return Change() ? disk_.Rename(from, to) : Down();
  }
  Status Remove(std::string_view name) override { return Change() ? disk_.Remove(name) : Down(); }
  Result<uint64_t> Size(std::string_view name) override {
    if (crashed_) return Down();
    return disk_.Size(name);
  }
  Result<std::vector<std::string>> List(std::string_view prefix) override {
    if (crashed_) return Down();
    return disk_.List(prefix);
  }
  Result<DiskUsage> Usage() override {
    if (crashed_) return Down();
    return disk_.Usage();
  }

 private:
  static Status Down() { return Status(StatusCode::kNodeDown, "crashed"); }
  bool Change() {
    if (steps_left_ == 0) crashed_ = true;
    if (crashed_) return false;
    if (steps_left_ > 0) --steps_left_;
    return true;
  }

  Disk& disk_;
  int steps_left_ = -1;  // never
  bool crashed_ = false;
};

// One node; each call runs `body` on a new process incarnation of it, on its disk.
class StoreFixture : public ::testing::Test {
 protected:
  StoreFixture() : sim_(kSeed) {
    node_ = hardware_.AddNode(NodeNamed("dn"), [this](sim::SimProcess& process) {
      if (body_) body_(process.env(), process.disk());
      done_ = true;
    });
  }
  ~StoreFixture() override { EXPECT_TRUE(sim_.Shutdown().ok()); }

  void Run(std::function<void(Env&, Disk&)> body) {
    body_ = std::move(body);
    done_ = false;
    if (sim_.node(node_).up()) {
      sim_.RestartNode(node_);
    } else {
      sim_.StartNode(node_);
    }
    for (int i = 0; i < 10000 && !done_; ++i) sim_.RunFor(std::chrono::milliseconds(10));
    ASSERT_TRUE(done_);
  }

  sim::SimDiskStorage& storage() { return hardware_.machine(node_).disk_storage(); }

  void Put(const std::string& name, std::string_view bytes) {
    ASSERT_TRUE(storage().Create(name).ok());
    ASSERT_TRUE(storage().Append(name, bytes).ok());
    ASSERT_TRUE(storage().MarkSynced(name, bytes.size()).ok());
  }

  sim::Simulator sim_;
  sim::Hardware hardware_{sim_};
  NodeId node_;
  std::function<void(Env&, Disk&)> body_;
  bool done_ = false;
};

TEST_F(StoreFixture, WritesFinalizesAndReadsBack) {
  Random random(kSeed);
  const std::string data = RandomBytes(random, 3 * kChunk + 10);
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    ASSERT_TRUE(store.Create(BlockId(4), GenerationStamp(1)).ok());
    EXPECT_EQ(store.Create(BlockId(4), GenerationStamp(1)).code(), StatusCode::kAlreadyExists);
    const std::string first = data.substr(0, 2 * kChunk);
    const std::string rest = data.substr(2 * kChunk);
    ASSERT_TRUE(store.Append(BlockId(4), first, ChunkCrcs(first)).ok());
    ASSERT_TRUE(store.Append(BlockId(4), rest, ChunkCrcs(rest)).ok());
    // A partial last chunk: no more appends.
    EXPECT_EQ(store.Append(BlockId(4), "x", ChunkCrcs("x")).code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE(store.Finalize(BlockId(4)).ok());
    const std::optional<Replica> replica = store.Get(BlockId(4));
    ASSERT_TRUE(replica.has_value());
    EXPECT_EQ(replica->state, ReplicaState::kFinalized);
    EXPECT_EQ(replica->length_bytes, data.size());
    Result<ReplicaRead> read = store.Read(BlockId(4), kChunk + 5, 2 * kChunk);
    ASSERT_TRUE(read.ok());
    EXPECT_EQ(read->offset_bytes, kChunk);
    EXPECT_TRUE(read->data == data.substr(kChunk));
    EXPECT_EQ(read->chunk_crc32c, ChunkCrcs(data.substr(kChunk)));
    Result<ReplicaRead> end = store.Read(BlockId(4), data.size(), 100);
    ASSERT_TRUE(end.ok());
    EXPECT_TRUE(end->data.empty());
  });
  // After a restart the replica loads as it was.
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    ASSERT_EQ(store.size(), 1u);
    EXPECT_EQ(store.Get(BlockId(4))->length_bytes, data.size());
    Result<ReplicaRead> read = store.Read(BlockId(4), 0, kDatanodeReadBytesMax);
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(read->data == data);
  });
}

TEST_F(StoreFixture, LoadFinishesInterruptedRenamesAndRemovesLeftovers) {
  Random random(kSeed + 1);
  const std::string a = RandomBytes(random, 2 * kChunk + 1);
  const std::string b = RandomBytes(random, 3 * kChunk);
  const std::string c = RandomBytes(random, kChunk);
  // Block 1: crash between the two renames of Finalize.
  Put("blk_1_3.data", a);
  Put("rbw_1_3.meta", Crcs(a));
  // Block 2: crash between the two renames of a restamp (3 -> 4), plus an older leftover.
  Put("rbw_2_4.data", b);
  Put("rbw_2_3.meta", Crcs(b));
  Put("rbw_2_1.data", "old");
  // Block 3: a reopen of a finalized replica (5 -> 6) interrupted after the data rename.
  Put("rbw_3_6.data", c);
  Put("blk_3_5.meta", Crcs(c));
  // Block 4: only a data file (crash between the creates). Other files are left alone.
  Put("rbw_4_1.data", "");
  Put("notes.txt", "keep");
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    ASSERT_EQ(store.size(), 3u);
    const Replica one = *store.Get(BlockId(1));
    EXPECT_EQ(one.state, ReplicaState::kFinalized);
    EXPECT_EQ(one.generation_stamp, GenerationStamp(3));
    EXPECT_EQ(one.length_bytes, a.size());
    const Replica two = *store.Get(BlockId(2));
    EXPECT_EQ(two.state, ReplicaState::kWriting);
    EXPECT_EQ(two.generation_stamp, GenerationStamp(4));
    EXPECT_EQ(two.length_bytes, b.size());
    const Replica three = *store.Get(BlockId(3));
    EXPECT_EQ(three.state, ReplicaState::kWriting);
    EXPECT_EQ(three.generation_stamp, GenerationStamp(6));
    EXPECT_FALSE(store.Get(BlockId(4)).has_value());
    EXPECT_TRUE(store.Read(BlockId(1), 0, a.size()).ok());
    EXPECT_TRUE(store.Read(BlockId(2), 0, b.size()).ok());
  });
  EXPECT_EQ(storage().List(""),
            (std::vector<std::string>{"blk_1_3.data", "blk_1_3.meta", "notes.txt", "rbw_2_4.data",
                                      "rbw_2_4.meta", "rbw_3_6.data", "rbw_3_6.meta"}));
}

TEST_F(StoreFixture, LoadCutsATornTailToTheLastMatchingChunk) {
  Random random(kSeed + 2);
  const std::string data = RandomBytes(random, 5 * kChunk);
  // Data torn in the fifth chunk, meta torn inside the fifth CRC; and a fourth chunk whose
  // bytes are not what its CRC says (only part of the appended data reached the disk).
  std::string torn = data.substr(0, 4 * kChunk + 100);
  torn[3 * kChunk + 7] ^= 0x40;
  Put("rbw_9_2.data", torn);
  Put("rbw_9_2.meta", Crcs(data).substr(0, 4 * 4 + 2));
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    const Replica replica = *store.Get(BlockId(9));
    EXPECT_EQ(replica.length_bytes, 3 * kChunk);
    Result<ReplicaRead> read = store.Read(BlockId(9), 0, kDatanodeReadBytesMax);
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(read->data == data.substr(0, 3 * kChunk));
    // Appends go on from there.
    const std::string more = data.substr(3 * kChunk);
    ASSERT_TRUE(store.Append(BlockId(9), more, ChunkCrcs(more)).ok());
    EXPECT_EQ(store.Get(BlockId(9))->length_bytes, data.size());
  });
  EXPECT_EQ(*storage().Size("rbw_9_2.data"), data.size());
  EXPECT_EQ(*storage().Size("rbw_9_2.meta"), 5u * 4);
}

TEST_F(StoreFixture, AppendFromRewritesTheTrailingPartialChunkAfterAFlush) {
  Random random(kSeed + 10);
  const std::string data = RandomBytes(random, 2 * kChunk + 300);
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    ASSERT_TRUE(store.Create(BlockId(3), GenerationStamp(1)).ok());
    // A flush of 100 bytes, then of 1,000 more (same chunk), then across the chunk's end.
    const std::string first = data.substr(0, 100);
    ASSERT_TRUE(store.AppendFrom(BlockId(3), 0, first, ChunkCrcs(first)).ok());
    const std::string again = data.substr(0, 1100);
    ASSERT_TRUE(store.AppendFrom(BlockId(3), 0, again, ChunkCrcs(again)).ok());
    EXPECT_EQ(store.Get(BlockId(3))->length_bytes, 1100u);
    // Other bytes where the replica holds some, or an offset that is not the partial
    // chunk's start, are refused and change nothing.
    std::string wrong = data.substr(0, 1200);
    wrong[5] ^= 1;
    EXPECT_EQ(store.AppendFrom(BlockId(3), 0, wrong, ChunkCrcs(wrong)).code(),
              StatusCode::kInvalidArgument);
    const std::string shorter = data.substr(0, 50);
    EXPECT_EQ(store.AppendFrom(BlockId(3), 0, shorter, ChunkCrcs(shorter)).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(store.Get(BlockId(3))->length_bytes, 1100u);
    const std::string rest = data;
    ASSERT_TRUE(store.AppendFrom(BlockId(3), 0, rest, ChunkCrcs(rest)).ok());
    Result<ReplicaRead> read = store.Read(BlockId(3), 0, kDatanodeReadBytesMax);
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(read->data == data);
    EXPECT_EQ(read->chunk_crc32c, ChunkCrcs(data));
    ASSERT_TRUE(store.Sync(BlockId(3)).ok());
  });
  EXPECT_EQ(*storage().Size("rbw_3_1.meta"), 3u * 4);
}

TEST_F(StoreFixture, LoadKeepsAFlushedPartialChunkWhoseRewriteWasCutShort) {
  // A crash after AppendFrom appended data (in part) but before it replaced the last CRC:
  // the old CRC covers a prefix of the last chunk, which is kept.
  Random random(kSeed + 11);
  const std::string data = RandomBytes(random, kChunk + 5000);
  Put("rbw_8_2.data", data.substr(0, kChunk + 3000));
  Put("rbw_8_2.meta", Crcs(data.substr(0, kChunk + 1234)));
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    const Replica replica = *store.Get(BlockId(8));
    EXPECT_EQ(replica.length_bytes, kChunk + 1234);
    EXPECT_TRUE(replica.reloaded);
    Result<ReplicaRead> read = store.Read(BlockId(8), 0, kDatanodeReadBytesMax);
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(read->data == data.substr(0, kChunk + 1234));
  });
}

// A crash at every step of rewriting a synced partial chunk's CRC (AppendFrom after a sync,
// the sync after it, a pipeline recovery's cut mid-chunk), with each file keeping none, half
// or all of its unsynced bytes: Load keeps every synced byte (swarm seed 24 lost them when
// the crash fell between AppendFrom's cut of the meta file and its append).
TEST_F(StoreFixture, ACrashAtAnyStepOfAPartialChunkRewriteKeepsEverySyncedByte) {
  Random random(kSeed + 12);
  const std::string data = RandomBytes(random, 3 * kChunk + 700);
  const BlockId id(6);
  const std::vector<uint64_t> keep_parts = {0, 1, 2};  // halves of the unsynced bytes
  bool finished = false;
  for (int steps = 0; !finished; ++steps) {
    ASSERT_LT(steps, 100);
    for (uint64_t data_keep : keep_parts) {
      for (uint64_t meta_keep : keep_parts) {
        SCOPED_TRACE("crash after step " + std::to_string(steps) + ", data keeps " +
                     std::to_string(data_keep) + "/2, meta keeps " + std::to_string(meta_keep) +
                     "/2 of their unsynced bytes");
        for (const std::string& name : storage().List("")) {
          ASSERT_TRUE(storage().Remove(name).ok());
        }
        uint64_t must_keep = 0;
        Run([&](Env&, Disk& disk) {
          CrashingDisk crashing(disk);
          ReplicaStore store(crashing);
          ASSERT_TRUE(store.Load().ok());
          ASSERT_TRUE(store.Create(id, GenerationStamp(1)).ok());
          const std::string synced = data.substr(0, kChunk + 1000);
          ASSERT_TRUE(store.AppendFrom(id, 0, synced, ChunkCrcs(synced)).ok());
          ASSERT_TRUE(store.Sync(id).ok());
          must_keep = synced.size();
          // A flush after the sync: the partial chunk holds synced and unsynced bytes.
          const std::string flushed = data.substr(kChunk, 1500);
          ASSERT_TRUE(store.AppendFrom(id, kChunk, flushed, ChunkCrcs(flushed)).ok());

          crashing.CrashAfter(steps);
          const std::string rest = data.substr(kChunk);
          if (!store.AppendFrom(id, kChunk, rest, ChunkCrcs(rest)).ok()) return;
          if (!store.Sync(id).ok()) return;
          // Pipeline recovery cuts the replica inside its last chunk.
          must_keep = 3 * kChunk + 100;
          if (!store.Reopen(id, GenerationStamp(2), must_keep).ok()) return;
          if (!store.Sync(id).ok()) return;
          finished = !crashing.crashed();
        });
        // The crash: each file keeps a part of its unsynced bytes.
        for (const std::string& name : storage().List("")) {
          const uint64_t size = *storage().Size(name);
          const uint64_t unsynced = storage().UnsyncedBytes(name);
          const uint64_t keep = (name.ends_with(".data") ? data_keep : meta_keep) * unsynced / 2;
          ASSERT_TRUE(storage().Truncate(name, size - unsynced + keep).ok());
          ASSERT_TRUE(storage().MarkSynced(name, size).ok());
        }
        Run([&](Env&, Disk& disk) {
          ReplicaStore store(disk);
          ASSERT_TRUE(store.Load().ok());
          const std::optional<Replica> replica = store.Get(id);
          ASSERT_TRUE(replica.has_value());
          EXPECT_GE(replica->length_bytes, must_keep);
          Result<ReplicaRead> read = store.Read(id, 0, kDatanodeReadBytesMax);
          ASSERT_TRUE(read.ok());
          EXPECT_TRUE(read->data == data.substr(0, replica->length_bytes));
        });
        // Load leaves no anchor behind.
        EXPECT_TRUE(storage().List("tail_").empty());
        if (HasFatalFailure()) return;
      }
    }
  }
}

TEST_F(StoreFixture, FinalizeAtCutsMidChunkAndRestamps) {
  Random random(kSeed + 3);
  const std::string data = RandomBytes(random, 4 * kChunk);
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    ASSERT_TRUE(store.Create(BlockId(2), GenerationStamp(1)).ok());
    ASSERT_TRUE(store.Append(BlockId(2), data, ChunkCrcs(data)).ok());
    ASSERT_TRUE(store.FinalizeAt(BlockId(2), GenerationStamp(3), 2 * kChunk + 500).ok());
    const Replica replica = *store.Get(BlockId(2));
    EXPECT_EQ(replica.state, ReplicaState::kFinalized);
    EXPECT_EQ(replica.generation_stamp, GenerationStamp(3));
    Result<ReplicaRead> read = store.Read(BlockId(2), 0, kDatanodeReadBytesMax);
    ASSERT_TRUE(read.ok());
    EXPECT_TRUE(read->data == data.substr(0, 2 * kChunk + 500));
  });
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    EXPECT_EQ(store.Get(BlockId(2))->length_bytes, 2 * kChunk + 500);
    EXPECT_TRUE(store.Read(BlockId(2), 0, kDatanodeReadBytesMax).ok());
  });
  EXPECT_EQ(storage().List(""), (std::vector<std::string>{"blk_2_3.data", "blk_2_3.meta"}));
}

TEST_F(StoreFixture, CorruptionIsFoundByReadsAndSticks) {
  Random random(kSeed + 4);
  const std::string data = RandomBytes(random, 3 * kChunk);
  Put("blk_6_1.data", data);
  Put("blk_6_1.meta", Crcs(data));
  ASSERT_TRUE(storage().Corrupt("blk_6_1.meta", 4 * 2 + 1).ok());
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    EXPECT_TRUE(store.Read(BlockId(6), 0, kChunk).ok());
    EXPECT_EQ(store.Read(BlockId(6), 0, 3 * kChunk).code(), StatusCode::kCorruption);
    EXPECT_TRUE(store.Get(BlockId(6))->corrupt);
    EXPECT_EQ(store.Read(BlockId(6), 0, kChunk).code(), StatusCode::kCorruption);
  });
}

TEST_F(StoreFixture, ReadForAVerifyingReaderReturnsStoredCrcsUnchecked) {
  Random random(kSeed + 14);
  const std::string data = RandomBytes(random, 3 * kChunk + 10);
  Put("blk_7_1.data", data);
  Put("blk_7_1.meta", Crcs(data));
  ASSERT_TRUE(storage().Corrupt("blk_7_1.data", kChunk + 5).ok());
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    // The rotted bytes come back with the CRCs stored at write time: the reader's check
    // of chunk 1 fails, the others pass.
    Result<ReplicaRead> read = store.Read(BlockId(7), 100, 4 * kChunk, CrcCheck::kByReader);
    ASSERT_TRUE(read.ok()) << read.status().ToString();
    EXPECT_EQ(read->offset_bytes, 0u);
    ASSERT_EQ(read->data.size(), data.size());
    ASSERT_EQ(read->chunk_crc32c, ChunkCrcs(data));
    EXPECT_NE(read->data, data);
    for (size_t i = 0; i < 4; ++i) {
      const std::string_view chunk = std::string_view(read->data).substr(i * kChunk, kChunk);
      EXPECT_EQ(Crc32c(chunk) == read->chunk_crc32c[i], i != 1) << i;
    }
    EXPECT_FALSE(store.Get(BlockId(7))->corrupt);
    // A read that verifies here still refuses it, and from then on the replica is refused.
    EXPECT_EQ(store.Read(BlockId(7), 0, 2 * kChunk).code(), StatusCode::kCorruption);
    EXPECT_EQ(store.Read(BlockId(7), 0, kChunk, CrcCheck::kByReader).code(),
              StatusCode::kCorruption);
  });
}

TEST_F(StoreFixture, FullDiskFailsAnAppendWithoutGrowingTheReplica) {
  Random random(kSeed + 5);
  const std::string data = RandomBytes(random, 2 * kChunk);
  Run([&](Env&, Disk& disk) {
    ReplicaStore store(disk);
    ASSERT_TRUE(store.Load().ok());
    ASSERT_TRUE(store.Create(BlockId(1), GenerationStamp(1)).ok());
    storage().SetFull(true);
    EXPECT_EQ(store.Append(BlockId(1), data, ChunkCrcs(data)).code(), StatusCode::kNoSpace);
    EXPECT_EQ(store.Get(BlockId(1))->length_bytes, 0u);
    storage().SetFull(false);
    ASSERT_TRUE(store.Append(BlockId(1), data, ChunkCrcs(data)).ok());
    EXPECT_TRUE(store.Read(BlockId(1), 0, data.size()).ok());
    ASSERT_TRUE(store.Remove(BlockId(1)).ok());
    EXPECT_EQ(store.Remove(BlockId(1)).code(), StatusCode::kNotFound);
  });
  EXPECT_TRUE(storage().List("").empty());
}

TEST_F(StoreFixture, StorageIdIsCreatedOnceAndKept) {
  std::string first;
  Run([&](Env& env, Disk& disk) {
    ReplicaStore store(disk);
    Result<std::string> id = store.LoadOrCreateStorageId(env.random());
    ASSERT_TRUE(id.ok());
    first = *id;
  });
  EXPECT_EQ(first.substr(0, 3), "DS-");
  Run([&](Env& env, Disk& disk) {
    ReplicaStore store(disk);
    Result<std::string> id = store.LoadOrCreateStorageId(env.random());
    ASSERT_TRUE(id.ok());
    EXPECT_EQ(*id, first);
  });
}

}  // namespace
}  // namespace granary::testing
