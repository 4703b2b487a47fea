// TFRecord files over Granary files, byte-compatible with TensorFlow's format.
//
// A TFRecord file is a sequence of records, each framed as
//   uint64 length (little-endian) | uint32 masked CRC32C of those 8 bytes |
//   length bytes of data          | uint32 masked CRC32C of the data
// with MaskCrc32c (core/common/crc32c.h) and no file header or trailer.
//
// Both classes are plain sequential code over a Writer / Reader of the client: they run on
// a fiber of the client's Env (every call may suspend) and own the Writer / Reader given.
// Pure core: no threads, no I/O of their own.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/client/reader.h"
#include "core/client/writer.h"
#include "core/common/status.h"

namespace granary {

inline constexpr uint64_t kTFRecordHeaderBytes = 12;  // length and its masked CRC

// The framing's little-endian fixed-width fields, read from `in` (8 and 4 bytes); shared by
// TFRecordReader and the Python loader's in-place scanner.
inline uint64_t TFRecordFixed64(const char* in) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}
inline uint32_t TFRecordFixed32(const char* in) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(in[i]);
  return value;
}
inline constexpr uint64_t kTFRecordFooterBytes = 4;  // masked CRC of the data
// The largest record either class accepts: input past it is an error, not an allocation.
inline constexpr uint64_t kTFRecordBytesMax = uint64_t{1} << 30;
// Framed bytes a TFRecordWriter collects before it hands them to its Writer.
inline constexpr uint64_t kTFRecordWriteBufferBytes = 1 << 20;
// Bytes a TFRecordReader asks its Reader for at a time.
inline constexpr uint64_t kTFRecordReadBytes = 256 * 1024;

// Appends `data` framed as one record to `out`. Requires data.size() <= kTFRecordBytesMax.
void AppendTFRecord(std::string_view data, std::string& out);

class TFRecordWriter {
 public:
  explicit TFRecordWriter(std::unique_ptr<Writer> writer);
  TFRecordWriter(const TFRecordWriter&) = delete;
  TFRecordWriter& operator=(const TFRecordWriter&) = delete;

  Status Write(std::string_view record);
  // Hands the collected records to the Writer and flushes it (readers see them).
  Status Flush();
  // Writes what is collected and closes the file; the writer is unusable afterwards.
  Status Close();
  uint64_t records() const { return records_; }

 private:
  std::unique_ptr<Writer> writer_;
  std::string buffer_;
  uint64_t records_ = 0;
};

// What a reader does with a record whose checksums do not match.
enum class CorruptRecords : uint8_t {
  kFail,  // Next returns kCorruption naming the file and the record's offset
  kSkip,  // the record is counted and skipped; a bad length ends the file (framing is lost)
};

class TFRecordReader {
 public:
  // `path` names the file in errors.
  TFRecordReader(std::unique_ptr<Reader> reader, std::string path, CorruptRecords policy);
  TFRecordReader(const TFRecordReader&) = delete;
  TFRecordReader& operator=(const TFRecordReader&) = delete;

  // The next record; nullopt at the clean end of the file. A truncated or corrupt record is
  // kCorruption "<path>: ... at offset N" (under kFail), and so is every later call.
  // Following a file being written (set_follow(true) and the file under construction), a
  // record cut short by the end of what the writer flushed is not an error: Next stops
  // before it (nullopt) and, after Refresh, goes on from there (how TensorBoard reads event
  // files).
  Result<std::optional<std::string>> Next();
  void set_follow(bool follow) { follow_ = follow; }
  // Asks for the file's visible length again (Reader::Refresh) so that Next sees more.
  Status Refresh();
  // Whether the file was being written at the open or the last Refresh.
  bool growing() const { return reader_->status().under_construction(); }
  // File offset of the next record.
  uint64_t offset() const { return offset_; }
  uint64_t corrupt_skipped() const { return corrupt_skipped_; }

 private:
  // Makes at least `bytes` bytes available after buffer_position_, fewer only at the end.
  Status Fill(uint64_t bytes);
  uint64_t available() const { return buffer_.size() - buffer_position_; }
  Status Corrupt(std::string what);

  std::unique_ptr<Reader> reader_;
  const std::string path_;
  const CorruptRecords policy_;
  std::string buffer_;
  uint64_t buffer_position_ = 0;
  uint64_t offset_ = 0;
  bool at_end_ = false;  // the Reader has nothing more
  bool follow_ = false;
  Status failed_;
  uint64_t corrupt_skipped_ = 0;
};

}  // namespace granary
