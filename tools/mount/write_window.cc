#include "tools/mount/write_window.h"

#include <algorithm>
#include <cassert>

namespace granary::mount {
namespace {

Status BeforeWindow(uint64_t offset, uint64_t start) {
  return Status(StatusCode::kUnimplemented,
                "write at " + std::to_string(offset) + " before the rewritable window (from " +
                    std::to_string(start) + "): Granary files are written front to back");
}

}  // namespace

WriteWindow::WriteWindow(uint64_t window_bytes) : window_bytes_(window_bytes) {
  assert(window_bytes_ > 0);
}

Status WriteWindow::Write(uint64_t offset, std::string_view data, std::string* released) {
  if (offset < released_bytes_) return BeforeWindow(offset, released_bytes_);
  if (offset > size() && offset - size() > window_bytes_) {
    return Status(StatusCode::kUnimplemented, "a hole of " + std::to_string(offset - size()) +
                                                  " bytes at " + std::to_string(size()) +
                                                  " (at most the window, " +
                                                  std::to_string(window_bytes_) + ")");
  }
  const uint64_t at = offset - released_bytes_;
  if (at + data.size() > held_.size()) held_.resize(at + data.size(), '\0');
  std::copy(data.begin(), data.end(), held_.begin() + static_cast<std::ptrdiff_t>(at));
  ReleaseExcess(released);
  return Status::Ok();
}

Status WriteWindow::Truncate(uint64_t size_bytes, std::string* released) {
  if (size_bytes < released_bytes_) {
    return Status(StatusCode::kUnimplemented, "truncate to " + std::to_string(size_bytes) +
                                                  " before the rewritable window (from " +
                                                  std::to_string(released_bytes_) + ")");
  }
  if (size_bytes > size() && size_bytes - size() > window_bytes_) {
    return Status(StatusCode::kUnimplemented,
                  "extending by " + std::to_string(size_bytes - size()) +
                      " bytes (at most the window, " + std::to_string(window_bytes_) + ")");
  }
  held_.resize(size_bytes - released_bytes_, '\0');
  ReleaseExcess(released);
  return Status::Ok();
}

Result<std::string> WriteWindow::Read(uint64_t offset, uint64_t length) const {
  if (offset < released_bytes_) {
    return Status(StatusCode::kUnimplemented,
                  "read at " + std::to_string(offset) + " of a file being written, before " +
                      "the window (from " + std::to_string(released_bytes_) + ")");
  }
  if (offset >= size()) return std::string();
  const uint64_t at = offset - released_bytes_;
  return held_.substr(at, std::min<uint64_t>(length, held_.size() - at));
}

std::string WriteWindow::ReleaseAll() {
  std::string out;
  out.swap(held_);
  released_bytes_ += out.size();
  return out;
}

void WriteWindow::ReleaseExcess(std::string* released) {
  if (held_.size() <= 2 * window_bytes_) return;
  const uint64_t leaving = held_.size() - window_bytes_;
  released->append(held_, 0, leaving);
  held_.erase(0, leaving);
  released_bytes_ += leaving;
}

}  // namespace granary::mount
