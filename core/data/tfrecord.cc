#include "core/data/tfrecord.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <utility>

#include "core/common/crc32c.h"

namespace granary {
namespace {

void PutFixed64(uint64_t value, char* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}
void PutFixed32(uint32_t value, char* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
}

}  // namespace

void AppendTFRecord(std::string_view data, std::string& out) {
  assert(data.size() <= kTFRecordBytesMax);
  char header[kTFRecordHeaderBytes];
  PutFixed64(data.size(), header);
  PutFixed32(MaskCrc32c(Crc32c(std::string_view(header, 8))), header + 8);
  out.append(header, sizeof(header));
  out.append(data);
  char footer[kTFRecordFooterBytes];
  PutFixed32(MaskCrc32c(Crc32c(data)), footer);
  out.append(footer, sizeof(footer));
}

TFRecordWriter::TFRecordWriter(std::unique_ptr<Writer> writer) : writer_(std::move(writer)) {
  assert(writer_ != nullptr);
}

Status TFRecordWriter::Write(std::string_view record) {
  if (record.size() > kTFRecordBytesMax) {
    return Status(StatusCode::kLimitExceeded,
                  writer_->path() + ": record of " + std::to_string(record.size()) + " bytes");
  }
  AppendTFRecord(record, buffer_);
  ++records_;
  if (buffer_.size() < kTFRecordWriteBufferBytes) return Status::Ok();
  Status status = writer_->Write(buffer_);
  buffer_.clear();
  return status;
}

Status TFRecordWriter::Flush() {
  if (!buffer_.empty()) {
    GRANARY_RETURN_IF_ERROR(writer_->Write(buffer_));
    buffer_.clear();
  }
  return writer_->Flush();
}

Status TFRecordWriter::Close() {
  if (!buffer_.empty()) {
    Status status = writer_->Write(buffer_);
    buffer_.clear();
    if (!status.ok()) {
      (void)writer_->Close();  // the write's error is the one to report
      return status;
    }
  }
  return writer_->Close();
}

TFRecordReader::TFRecordReader(std::unique_ptr<Reader> reader, std::string path,
                               CorruptRecords policy)
    : reader_(std::move(reader)), path_(std::move(path)), policy_(policy) {
  assert(reader_ != nullptr);
}

Status TFRecordReader::Fill(uint64_t bytes) {
  if (buffer_position_ > 0 && buffer_position_ >= buffer_.size() / 2) {
    buffer_.erase(0, buffer_position_);
    buffer_position_ = 0;
  }
  while (available() < bytes && !at_end_) {
    const uint64_t want = std::max<uint64_t>(kTFRecordReadBytes, bytes - available());
    Result<std::string> piece = reader_->Read(want);
    if (!piece.ok()) return piece.status().WithContext(path_);
    if (piece->empty()) {
      at_end_ = true;
    } else {
      buffer_.append(*piece);
    }
  }
  return Status::Ok();
}

Status TFRecordReader::Refresh() {
  GRANARY_RETURN_IF_ERROR(reader_->Refresh().WithContext(path_));
  at_end_ = false;
  return Status::Ok();
}

Status TFRecordReader::Corrupt(std::string what) {
  return Status(StatusCode::kCorruption,
                path_ + ": " + what + " at offset " + std::to_string(offset_));
}

Result<std::optional<std::string>> TFRecordReader::Next() {
  for (;;) {
    if (!failed_.ok()) return failed_;
    GRANARY_RETURN_IF_ERROR(Fill(kTFRecordHeaderBytes));
    if (available() == 0) return std::optional<std::string>();
    // A record the writer has not flushed whole yet: wait for it (Refresh), keep its bytes.
    const bool may_grow = follow_ && growing();
    if (available() < kTFRecordHeaderBytes && may_grow) return std::optional<std::string>();
    if (available() < kTFRecordHeaderBytes) {
      if (policy_ == CorruptRecords::kSkip) {
        ++corrupt_skipped_;
        buffer_position_ = buffer_.size();
        return std::optional<std::string>();
      }
      failed_ = Corrupt("truncated record header");
      return failed_;
    }
    const char* header = buffer_.data() + buffer_position_;
    const uint64_t length = TFRecordFixed64(header);
    const bool length_ok =
        MaskCrc32c(Crc32c(std::string_view(header, 8))) == TFRecordFixed32(header + 8);
    const uint64_t remaining_in_file = reader_->Size() - offset_;
    if (length_ok && length <= kTFRecordBytesMax && may_grow &&
        length + kTFRecordHeaderBytes + kTFRecordFooterBytes > remaining_in_file) {
      return std::optional<std::string>();
    }
    if (!length_ok || length > kTFRecordBytesMax ||
        length + kTFRecordHeaderBytes + kTFRecordFooterBytes > remaining_in_file) {
      Status bad = Corrupt(!length_ok ? "length checksum mismatch" : "truncated record");
      if (policy_ == CorruptRecords::kSkip) {
        // The framing cannot be trusted past here: the rest of the file is one loss.
        ++corrupt_skipped_;
        buffer_position_ = buffer_.size();
        at_end_ = true;
        return std::optional<std::string>();
      }
      failed_ = bad;
      return failed_;
    }
    const uint64_t framed = kTFRecordHeaderBytes + length + kTFRecordFooterBytes;
    GRANARY_RETURN_IF_ERROR(Fill(framed));
    if (available() < framed) {  // the file shrank under the reader
      failed_ = Corrupt("truncated record");
      return failed_;
    }
    const char* data = buffer_.data() + buffer_position_ + kTFRecordHeaderBytes;
    const bool data_ok =
        MaskCrc32c(Crc32c(std::string_view(data, length))) == TFRecordFixed32(data + length);
    if (!data_ok) {
      Status bad = Corrupt("data checksum mismatch");
      buffer_position_ += framed;
      offset_ += framed;
      if (policy_ == CorruptRecords::kSkip) {
        ++corrupt_skipped_;
        continue;
      }
      failed_ = bad;
      return failed_;
    }
    std::string record(data, length);
    buffer_position_ += framed;
    offset_ += framed;
    return std::optional<std::string>(std::move(record));
  }
}

}  // namespace granary
