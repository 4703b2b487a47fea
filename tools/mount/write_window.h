// WriteWindow: the tail of a file being written through the mount that may still change.
//
// Granary files are written once, front to back (the Writer streams them to the pipeline).
// Programs that fill in a header after the data (zip, tar's end, numpy and HDF5 writers of
// small files) seek back within what they are writing. The window holds back the last
// `window_bytes` to 2 * `window_bytes` written: a write anywhere inside it rewrites bytes that
// have not left yet, and bytes leave (Write's `released`, to be handed to the Writer in order)
// only once the window has grown past twice its size. So a file no longer than `window_bytes`
// can be rewritten anywhere until it is closed.
//
// Writes before the window (bytes already handed on) fail with kUnimplemented (EOPNOTSUPP at
// the mount), as do holes longer than the window: never silent corruption. A write past the
// end leaves a hole of zeros, as POSIX reads holes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/common/status.h"

namespace granary::mount {

class WriteWindow {
 public:
  explicit WriteWindow(uint64_t window_bytes);

  // Writes `data` at `offset`. Bytes that leave the window are appended to `released`.
  Status Write(uint64_t offset, std::string_view data, std::string* released);
  // Cuts or extends (zeros) the file to `size`, which must not fall before the window.
  Status Truncate(uint64_t size, std::string* released);
  // Up to `length` bytes at `offset` (in the window); kUnimplemented before it.
  Result<std::string> Read(uint64_t offset, uint64_t length) const;
  // Releases every byte held (fsync and close); the window restarts empty at the end.
  std::string ReleaseAll();

  // The file's size so far.
  uint64_t size() const { return released_bytes_ + held_.size(); }
  // Bytes handed on so far: the window starts there.
  uint64_t released_bytes() const { return released_bytes_; }

 private:
  void ReleaseExcess(std::string* released);

  const uint64_t window_bytes_;
  uint64_t released_bytes_ = 0;
  std::string held_;  // the bytes [released_bytes_, size())
};

}  // namespace granary::mount
