// TFRecordWriter and TFRecordReader over Granary files: the round trip, TensorFlow's framing
// byte for byte, and what a reader reports of damaged files (the file and the record's
// offset), failing or skipping.
#include "core/data/tfrecord.h"

#include <gtest/gtest.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tests/core/client/cluster_test_util.h"

namespace granary {
namespace {

using cluster_testing::ClusterHarness;
using cluster_testing::Pattern;

// Records of uneven sizes, one empty and one larger than the inline threshold, so that the
// file lives in blocks and records straddle the reader's 256 KiB reads.
std::vector<std::string> SampleRecords() {
  std::vector<std::string> records;
  for (uint64_t i = 0; i < 40; ++i) records.push_back(Pattern(i, (i * 7919) % 20000));
  records[3].clear();
  records[17] = Pattern(17, 150000);
  return records;
}

// Offset of record `index` in a file of `records`.
uint64_t OffsetOf(const std::vector<std::string>& records, size_t index) {
  uint64_t offset = 0;
  for (size_t i = 0; i < index; ++i) {
    offset += kTFRecordHeaderBytes + records[i].size() + kTFRecordFooterBytes;
  }
  return offset;
}

struct ReadBack {
  std::vector<std::string> records;
  Status status;  // the first error, if reading stopped on one
  Status after;   // what the call after the error answered
  uint64_t skipped = 0;
};

ReadBack ReadAll(FileSystem& fs, const std::string& path, CorruptRecords policy) {
  ReadBack out;
  Result<std::unique_ptr<Reader>> opened = fs.Open(path);
  EXPECT_TRUE(opened.ok()) << opened.status().ToString();
  if (!opened.ok()) return out;
  TFRecordReader reader(std::move(*opened), path, policy);
  for (;;) {
    Result<std::optional<std::string>> next = reader.Next();
    if (!next.ok()) {
      out.status = next.status();
      Result<std::optional<std::string>> again = reader.Next();
      out.after = again.ok() ? Status::Ok() : again.status();
      break;
    }
    if (!next->has_value()) break;
    out.records.push_back(std::move(**next));
  }
  out.skipped = reader.corrupt_skipped();
  return out;
}

void WriteRecords(FileSystem& fs, const std::string& path,
                  const std::vector<std::string>& records) {
  Result<std::unique_ptr<Writer>> writer = fs.Create(path, {});
  ASSERT_TRUE(writer.ok());
  TFRecordWriter tfrecords(std::move(*writer));
  for (const std::string& record : records) ASSERT_TRUE(tfrecords.Write(record).ok());
  EXPECT_EQ(tfrecords.records(), records.size());
  ASSERT_TRUE(tfrecords.Close().ok());
}

// Replaces the file with `edit` applied to its bytes.
void Damage(FileSystem& fs, const std::string& path,
            const std::function<void(std::string&)>& edit) {
  Result<std::string> bytes = fs.ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  edit(*bytes);
  CreateOptions overwrite;
  overwrite.overwrite = true;
  ASSERT_TRUE(fs.WriteFile(path, *bytes, overwrite).ok());
}

std::vector<std::string> Without(std::vector<std::string> records, size_t index) {
  records.erase(records.begin() + static_cast<std::ptrdiff_t>(index));
  return records;
}

std::vector<std::string> Before(const std::vector<std::string>& records, size_t index) {
  return std::vector<std::string>(records.begin(),
                                  records.begin() + static_cast<std::ptrdiff_t>(index));
}

TEST(TFRecordTest, WriterThenReaderRoundTripsInTensorFlowsFraming) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::vector<std::string> records = SampleRecords();
    WriteRecords(fs, "/r.tfrecord", records);
    std::string framed;
    for (const std::string& record : records) AppendTFRecord(record, framed);
    Result<std::string> bytes = fs.ReadFile("/r.tfrecord");
    ASSERT_TRUE(bytes.ok());
    EXPECT_EQ(*bytes, framed);
    // The framing of one known record, by hand: length, then masked CRCs.
    std::string one;
    AppendTFRecord("abc", one);
    ASSERT_EQ(one.size(), kTFRecordHeaderBytes + 3 + kTFRecordFooterBytes);
    EXPECT_EQ(one.substr(0, 8), std::string("\x03\0\0\0\0\0\0\0", 8));
    EXPECT_EQ(one.substr(12, 3), "abc");

    for (CorruptRecords policy : {CorruptRecords::kFail, CorruptRecords::kSkip}) {
      ReadBack back = ReadAll(fs, "/r.tfrecord", policy);
      EXPECT_TRUE(back.status.ok()) << back.status.ToString();
      EXPECT_EQ(back.records, records);
      EXPECT_EQ(back.skipped, 0u);
    }
    WriteRecords(fs, "/empty.tfrecord", {});
    ReadBack empty = ReadAll(fs, "/empty.tfrecord", CorruptRecords::kFail);
    EXPECT_TRUE(empty.status.ok());
    EXPECT_TRUE(empty.records.empty());
  });
}

TEST(TFRecordTest, AFlippedLengthByteIsReportedWithFileAndOffset) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::vector<std::string> records = SampleRecords();
    const size_t bad = 20;
    const uint64_t offset = OffsetOf(records, bad);
    WriteRecords(fs, "/len.tfrecord", records);
    Damage(fs, "/len.tfrecord", [&](std::string& bytes) { bytes[offset + 1] ^= 0x40; });

    ReadBack failed = ReadAll(fs, "/len.tfrecord", CorruptRecords::kFail);
    EXPECT_EQ(failed.records, Before(records, bad));
    EXPECT_EQ(failed.status.code(), StatusCode::kCorruption);
    EXPECT_EQ(failed.status.message(),
              "/len.tfrecord: length checksum mismatch at offset " + std::to_string(offset));
    EXPECT_EQ(failed.after, failed.status);  // and so on every later call

    // Skipping: the framing is lost, so the rest of the file is one loss.
    ReadBack skipped = ReadAll(fs, "/len.tfrecord", CorruptRecords::kSkip);
    EXPECT_TRUE(skipped.status.ok());
    EXPECT_EQ(skipped.records, Before(records, bad));
    EXPECT_EQ(skipped.skipped, 1u);
  });
}

TEST(TFRecordTest, AFlippedDataByteIsReportedOrSkippedAlone) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::vector<std::string> records = SampleRecords();
    const std::vector<size_t> bad = {5, 17};  // 17 is the large one
    WriteRecords(fs, "/data.tfrecord", records);
    Damage(fs, "/data.tfrecord", [&](std::string& bytes) {
      for (size_t index : bad) {
        bytes[OffsetOf(records, index) + kTFRecordHeaderBytes + records[index].size() / 2] ^= 1;
      }
    });
    ReadBack failed = ReadAll(fs, "/data.tfrecord", CorruptRecords::kFail);
    EXPECT_EQ(failed.records, Before(records, bad[0]));
    EXPECT_EQ(failed.status.code(), StatusCode::kCorruption);
    EXPECT_EQ(failed.status.message(), "/data.tfrecord: data checksum mismatch at offset " +
                                           std::to_string(OffsetOf(records, bad[0])));
    EXPECT_EQ(failed.after, failed.status);

    ReadBack skipped = ReadAll(fs, "/data.tfrecord", CorruptRecords::kSkip);
    EXPECT_TRUE(skipped.status.ok()) << skipped.status.ToString();
    EXPECT_EQ(skipped.records, Without(Without(records, bad[1]), bad[0]));
    EXPECT_EQ(skipped.skipped, 2u);
  });
}

TEST(TFRecordTest, ATruncatedTailIsReportedOrCounted) {
  ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::vector<std::string> records = SampleRecords();
    const size_t last = records.size() - 1;
    const uint64_t last_offset = OffsetOf(records, last);
    ASSERT_GT(records[last].size(), 10u);
    // Cut inside the last record's data, and inside its header.
    struct Cut {
      uint64_t keep;
      std::string what;
    };
    const std::vector<Cut> cuts = {
        {last_offset + kTFRecordHeaderBytes + 5, "truncated record"},
        {last_offset + 7, "truncated record header"},
    };
    for (size_t c = 0; c < cuts.size(); ++c) {
      const Cut& cut = cuts[c];
      const std::string path = "/cut" + std::to_string(c) + ".tfrecord";
      WriteRecords(fs, path, records);
      Damage(fs, path, [&](std::string& bytes) { bytes.resize(cut.keep); });
      ReadBack failed = ReadAll(fs, path, CorruptRecords::kFail);
      EXPECT_EQ(failed.records, Before(records, last)) << cut.what;
      EXPECT_EQ(failed.status.code(), StatusCode::kCorruption) << cut.what;
      EXPECT_EQ(failed.status.message(),
                path + ": " + cut.what + " at offset " + std::to_string(last_offset));
      ReadBack skipped = ReadAll(fs, path, CorruptRecords::kSkip);
      EXPECT_TRUE(skipped.status.ok()) << cut.what;
      EXPECT_EQ(skipped.records, Before(records, last)) << cut.what;
      EXPECT_EQ(skipped.skipped, 1u) << cut.what;
    }
  });
}

}  // namespace
}  // namespace granary

namespace granary {
namespace {

// A TensorBoard-style reader of a growing file: records flushed one at a time, some cut in
// two by a flush, are each read once, in order; a cut record is waited for, not an error.
TEST(TFRecordTest, FollowingAGrowingFileStopsBeforeACutRecordAndResumes) {
  cluster_testing::ClusterHarness h;
  h.RunClient([&](sim::SimProcess&, FileSystem& fs) {
    const std::vector<std::string> records = SampleRecords();
    Result<std::unique_ptr<Writer>> writer = fs.Create("/events.tfrecord", {});
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE((*writer)->Flush().ok());  // the file exists, empty, being written
    Result<std::unique_ptr<Reader>> opened = fs.Open("/events.tfrecord");
    ASSERT_TRUE(opened.ok());
    TFRecordReader reader(std::move(*opened), "/events.tfrecord", CorruptRecords::kFail);
    reader.set_follow(true);
    std::vector<std::string> seen;
    auto drain = [&] {
      for (;;) {
        Result<std::optional<std::string>> next = reader.Next();
        ASSERT_TRUE(next.ok()) << next.status().ToString();
        if (!next->has_value()) return;
        seen.push_back(std::move(**next));
      }
    };
    for (size_t i = 0; i < records.size(); ++i) {
      std::string framed;
      AppendTFRecord(records[i], framed);
      // Every third record reaches the reader in two flushes, cut inside its header or data.
      const size_t cut = i % 3 == 0 ? std::min<size_t>(framed.size() - 1, 5 + i * 13) : 0;
      if (cut > 0) {
        ASSERT_TRUE((*writer)->Write(framed.substr(0, cut)).ok());
        ASSERT_TRUE((*writer)->Flush().ok());
        ASSERT_TRUE(reader.Refresh().ok());
        drain();
        ASSERT_EQ(seen.size(), i) << "a cut record was returned";
      }
      ASSERT_TRUE((*writer)->Write(framed.substr(cut)).ok());
      ASSERT_TRUE((*writer)->Flush().ok());
      ASSERT_TRUE(reader.Refresh().ok());
      EXPECT_TRUE(reader.growing());
      drain();
      ASSERT_EQ(seen.size(), i + 1);
    }
    ASSERT_TRUE((*writer)->Close().ok());
    ASSERT_TRUE(reader.Refresh().ok());
    EXPECT_FALSE(reader.growing());
    drain();
    EXPECT_EQ(seen, records);
  });
}

}  // namespace
}  // namespace granary
