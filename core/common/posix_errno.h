// The POSIX errno that tells a program what a Status means: what the Python module raises
// OSError with (Python picks FileNotFoundError, PermissionError, ... from it) and what the
// mount answers the kernel. One table for both, so a file refused through Python and through
// the mount fails the same way.
#pragma once

#include <cerrno>

#include "core/common/status.h"

namespace granary {

inline int ErrnoOf(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 0;
    case StatusCode::kNotFound:
      return ENOENT;
    case StatusCode::kAlreadyExists:
      return EEXIST;
    case StatusCode::kPermissionDenied:
      return EACCES;
    case StatusCode::kNotADirectory:
      return ENOTDIR;
    case StatusCode::kIsADirectory:
      return EISDIR;
    case StatusCode::kDirectoryNotEmpty:
      return ENOTEMPTY;
    case StatusCode::kNoSpace:
      return ENOSPC;
    case StatusCode::kTimeout:
      return ETIMEDOUT;
    case StatusCode::kUnavailable:
      return ECONNREFUSED;
    case StatusCode::kNodeDown:
      return ESHUTDOWN;
    case StatusCode::kNameTooLong:
    case StatusCode::kPathTooLong:
      return ENAMETOOLONG;
    case StatusCode::kInvalidArgument:
    case StatusCode::kInvalidPath:
      return EINVAL;
    case StatusCode::kLeaseConflict:
      return EBUSY;
    case StatusCode::kUnimplemented:
      return EOPNOTSUPP;
    case StatusCode::kCancelled:
      return ECANCELED;
    case StatusCode::kLimitExceeded:
      return EFBIG;
    case StatusCode::kQuotaExceeded:
      // A directory's name or byte quota (issue 17): what a local file system's quota says, so
      // `cp` and Python name it ("Disk quota exceeded"), not EIO.
      return EDQUOT;
    case StatusCode::kStale:
      // A file replaced while it was read (core/client/reader.cc): NFS's stale handle, so a
      // program can tell "open it again" from a failed disk.
      return ESTALE;
    default:
      return EIO;
  }
}

inline int ErrnoOf(const Status& status) { return ErrnoOf(status.code()); }

}  // namespace granary
