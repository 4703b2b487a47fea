#include "python/src/record_scanner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>
#include <utility>

#include "core/common/crc32c.h"

namespace granary::python {
namespace {

constexpr uint64_t kFramingBytes = kTFRecordHeaderBytes + kTFRecordFooterBytes;

}  // namespace

bool DataCrcMatches(const RecordRef& record) {
  assert(record.data_crc_pending);
  assert(record.offset + record.length + kTFRecordFooterBytes <= record.piece->size());
  const char* data = record.piece->data() + record.offset;
  return MaskCrc32c(Crc32c(std::string_view(data, record.length))) ==
         TFRecordFixed32(data + record.length);
}

RecordScanner::RecordScanner(std::string path, uint64_t file_bytes, CorruptRecords policy,
                             VerifyCrc verify, uint32_t source)
    : path_(std::move(path)),
      file_bytes_(file_bytes),
      policy_(policy),
      verify_(verify),
      source_(source) {
  assert(verify_ != VerifyCrc::kLengthOnly || policy_ == CorruptRecords::kFail);
}

RecordRef RecordScanner::Ref(std::shared_ptr<const std::string> piece, uint64_t offset,
                             uint64_t length) const {
  return RecordRef{std::move(piece), offset,  length,
                   offset_,          source_, verify_ == VerifyCrc::kLengthOnly};
}

Status RecordScanner::Corrupt(const std::string& what) {
  return Status(StatusCode::kCorruption,
                path_ + ": " + what + " at offset " + std::to_string(offset_));
}

Status RecordScanner::CheckHeader(const char* header, uint64_t& length) {
  length = TFRecordFixed64(header);
  const bool length_ok =
      verify_ == VerifyCrc::kNo ||
      MaskCrc32c(Crc32c(std::string_view(header, 8))) == TFRecordFixed32(header + 8);
  const uint64_t remaining = file_bytes_ > offset_ ? file_bytes_ - offset_ : 0;
  if (length_ok && length <= kTFRecordBytesMax && length + kFramingBytes <= remaining) {
    return Status::Ok();
  }
  Status bad = Corrupt(!length_ok ? "length checksum mismatch" : "truncated record");
  ended_ = true;
  carry_.clear();
  if (policy_ == CorruptRecords::kSkip) {
    ++corrupt_skipped_;
    return Status::Ok();
  }
  failed_ = bad;
  return bad;
}

Result<bool> RecordScanner::CheckData(const char* framed, uint64_t length) {
  if (verify_ != VerifyCrc::kYes) return true;
  const char* data = framed + kTFRecordHeaderBytes;
  if (MaskCrc32c(Crc32c(std::string_view(data, length))) == TFRecordFixed32(data + length)) {
    return true;
  }
  Status bad = Corrupt("data checksum mismatch");
  if (policy_ == CorruptRecords::kSkip) {
    ++corrupt_skipped_;
    return false;
  }
  failed_ = bad;
  ended_ = true;
  return bad;
}

Result<uint64_t> RecordScanner::Collect(const std::shared_ptr<const std::string>& piece,
                                        uint64_t at, std::vector<RecordRef>& out) {
  const std::string& bytes = *piece;
  if (carry_.size() < kTFRecordHeaderBytes) {
    const uint64_t take =
        std::min<uint64_t>(kTFRecordHeaderBytes - carry_.size(), bytes.size() - at);
    carry_.append(bytes, at, take);
    at += take;
    if (carry_.size() < kTFRecordHeaderBytes) return at;
  }
  uint64_t length = 0;
  GRANARY_RETURN_IF_ERROR(CheckHeader(carry_.data(), length));
  if (ended_) return bytes.size();
  const uint64_t framed = length + kFramingBytes;
  carry_.reserve(framed);
  const uint64_t take = std::min<uint64_t>(framed - carry_.size(), bytes.size() - at);
  carry_.append(bytes, at, take);
  at += take;
  if (carry_.size() < framed) return at;
  GRANARY_ASSIGN_OR_RETURN(const bool good, CheckData(carry_.data(), length));
  auto own = std::make_shared<const std::string>(std::move(carry_));
  carry_ = std::string();
  if (good) out.push_back(Ref(std::move(own), kTFRecordHeaderBytes, length));
  offset_ += framed;
  return at;
}

Status RecordScanner::Scan(std::shared_ptr<const std::string> piece, std::vector<RecordRef>& out) {
  if (!failed_.ok()) return failed_;
  assert(piece != nullptr);
  uint64_t at = 0;
  if (!ended_ && !carry_.empty()) {
    GRANARY_ASSIGN_OR_RETURN(at, Collect(piece, 0, out));
  }
  const std::string& bytes = *piece;
  while (!ended_ && at < bytes.size()) {
    const uint64_t left = bytes.size() - at;
    if (left < kTFRecordHeaderBytes) {
      carry_.assign(bytes, at, left);
      break;
    }
    uint64_t length = 0;
    GRANARY_RETURN_IF_ERROR(CheckHeader(bytes.data() + at, length));
    if (ended_) break;
    const uint64_t framed = length + kFramingBytes;
    if (left < framed) {
      // Straddles into the next piece: the one record that is copied.
      carry_.reserve(framed);
      carry_.assign(bytes, at, left);
      break;
    }
    GRANARY_ASSIGN_OR_RETURN(const bool good, CheckData(bytes.data() + at, length));
    if (good) out.push_back(Ref(piece, at + kTFRecordHeaderBytes, length));
    at += framed;
    offset_ += framed;
  }
  return Status::Ok();
}

Status RecordScanner::Finish() {
  if (!failed_.ok()) return failed_;
  if (ended_ || carry_.empty()) {
    ended_ = true;
    return Status::Ok();
  }
  Status bad = Corrupt(carry_.size() < kTFRecordHeaderBytes ? "truncated record header"
                                                            : "truncated record");
  ended_ = true;
  carry_.clear();
  if (policy_ == CorruptRecords::kSkip) {
    ++corrupt_skipped_;
    return Status::Ok();
  }
  failed_ = bad;
  return bad;
}

LocalTFRecordFile::LocalTFRecordFile(std::string path, int fd, uint64_t file_bytes,
                                     VerifyCrc verify)
    : path_(path), fd_(fd), scanner_(std::move(path), file_bytes, CorruptRecords::kFail, verify) {}

LocalTFRecordFile::~LocalTFRecordFile() { ::close(fd_); }

Result<std::unique_ptr<LocalTFRecordFile>> LocalTFRecordFile::Open(const std::string& path,
                                                                   VerifyCrc verify) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status(errno == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                  path + ": open: " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    Status error(StatusCode::kIoError, path + ": fstat: " + std::strerror(errno));
    ::close(fd);
    return error;
  }
  return std::unique_ptr<LocalTFRecordFile>(
      new LocalTFRecordFile(path, fd, static_cast<uint64_t>(st.st_size), verify));
}

Result<bool> LocalTFRecordFile::Next(std::vector<RecordRef>& out) {
  if (done_) return false;
  auto piece = std::make_shared<std::string>(kLocalReadPieceBytes, '\0');
  size_t filled = 0;
  while (filled < piece->size()) {
    const ssize_t got = ::read(fd_, piece->data() + filled, piece->size() - filled);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return Status(StatusCode::kIoError, path_ + ": read: " + std::strerror(errno));
    if (got == 0) break;
    filled += static_cast<size_t>(got);
  }
  if (filled == 0) {
    done_ = true;
    GRANARY_RETURN_IF_ERROR(scanner_.Finish());
    return false;
  }
  piece->resize(filled);
  GRANARY_RETURN_IF_ERROR(scanner_.Scan(std::move(piece), out));
  return true;
}

}  // namespace granary::python
