// RecordScanner: TFRecord framing parsed in place over the pieces a reader receives, and the
// record references the loader moves instead of record copies.
//
// A file arrives as consecutive pieces (Reader::ReadPiece: what one dn.ReadBlock brought,
// moved, never copied). Scan finds the records that lie wholly inside a piece and hands out
// references into it (RecordRef: the piece, shared, plus an offset and a length); the piece
// lives as long as a reference to it. A record that straddles pieces is the only one copied:
// its bytes are collected into a buffer of its own. Each record's checksums (the masked
// CRC32C of its length and of its data) are computed once, here, in C++.
//
// Errors match TFRecordReader's (core/data/tfrecord.h) word for word, so that the loader's
// messages do not depend on how it reads: "<path>: <what> at offset N", N the file offset of
// the record. Under CorruptRecords::kFail the first corrupt record is the scan's error (the
// records before it were handed out); under kSkip a record whose data checksum fails is
// counted and skipped, and a bad length (or a truncated tail) counts once and ends the file,
// since the framing after it cannot be trusted.
//
// Pure and single-threaded; the loader runs it on its loop, the local reader of the
// benchmarks (ReadLocalTFRecords) on the caller's thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/data/tfrecord.h"

namespace granary::python {

// Bytes the scanner takes at once from a local file.
inline constexpr uint64_t kLocalReadPieceBytes = 1 << 20;

// One record: bytes [offset, offset + length) of *piece. Copying one copies a shared_ptr.
// With data_crc_pending, the record's data checksum is still to be checked (DataCrcMatches):
// its framing's footer (the masked CRC32C) follows it in the piece, and `source` (the
// index of its file in the caller's list) and `file_offset` (where its framing starts) name
// it in the error.
struct RecordRef {
  std::shared_ptr<const std::string> piece;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t file_offset = 0;
  uint32_t source = 0;
  bool data_crc_pending = false;
  std::string_view view() const { return std::string_view(*piece).substr(offset, length); }
};

// Whether the record's data matches the masked CRC32C that follows it in its piece.
// Requires data_crc_pending (the footer is there).
bool DataCrcMatches(const RecordRef& record);

// Which CRCs Scan checks: both; the length's only, leaving the data's to whoever takes the
// record (RecordRef::data_crc_pending: the loader checks it on the consumer's thread, which
// copies the bytes anyway, instead of on the network loop); none (the benchmark's
// unverified baseline only).
enum class VerifyCrc : uint8_t { kYes, kLengthOnly, kNo };

class RecordScanner {
 public:
  // `path` names the file in errors; `file_bytes` is its length (a record claiming more is
  // "truncated record").
  // kLengthOnly requires kFail (a skipped record must not reach a batch). `source` goes
  // into every RecordRef.
  RecordScanner(std::string path, uint64_t file_bytes, CorruptRecords policy,
                VerifyCrc verify = VerifyCrc::kYes, uint32_t source = 0);

  // Scans the next piece of the file (it starts where the previous one ended) and appends
  // its whole records to `out`. After an error (kFail) or the end of the framing (kSkip),
  // every later call returns the same status / appends nothing.
  Status Scan(std::shared_ptr<const std::string> piece, std::vector<RecordRef>& out);
  // The end of the file was reached: a partial record left over is corrupt (or counted).
  Status Finish();
  // True when nothing more of the file is wanted (error, or framing lost under kSkip).
  bool ended() const { return ended_; }
  uint64_t corrupt_skipped() const { return corrupt_skipped_; }
  // File offset of the next record (the one being collected, if any).
  uint64_t offset() const { return offset_; }

 private:
  // Checks a header at file offset offset_; sets `length`. Non-ok: corrupt (kFail), or
  // ended_ set (kSkip).
  Status CheckHeader(const char* header, uint64_t& length);
  // Checks the data CRC of a whole framed record; false: skipped (kSkip). Non-ok: kFail.
  Result<bool> CheckData(const char* framed, uint64_t length);
  RecordRef Ref(std::shared_ptr<const std::string> piece, uint64_t offset, uint64_t length) const;
  Status Corrupt(const std::string& what);
  // Feeds the straddling record from `piece` starting at `at`; returns the new position.
  Result<uint64_t> Collect(const std::shared_ptr<const std::string>& piece, uint64_t at,
                           std::vector<RecordRef>& out);

  const std::string path_;
  const uint64_t file_bytes_;
  const CorruptRecords policy_;
  const VerifyCrc verify_;
  const uint32_t source_;
  uint64_t offset_ = 0;
  std::string carry_;  // the start of a record that continues in the next piece
  Status failed_;
  bool ended_ = false;
  uint64_t corrupt_skipped_ = 0;
};

// A local TFRecord file read with read(2) in kLocalReadPieceBytes pieces and scanned as above
// (kFail): the benchmarks' local baseline, Granary's own CRC32C at C speed.
class LocalTFRecordFile {
 public:
  static Result<std::unique_ptr<LocalTFRecordFile>> Open(const std::string& path, VerifyCrc verify);
  ~LocalTFRecordFile();
  LocalTFRecordFile(const LocalTFRecordFile&) = delete;
  LocalTFRecordFile& operator=(const LocalTFRecordFile&) = delete;

  // Appends the records of the next piece to `out`; false at the end of the file.
  Result<bool> Next(std::vector<RecordRef>& out);

 private:
  LocalTFRecordFile(std::string path, int fd, uint64_t file_bytes, VerifyCrc verify);

  const std::string path_;
  int fd_ = -1;
  RecordScanner scanner_;
  bool done_ = false;
};

}  // namespace granary::python
