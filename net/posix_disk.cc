#include "net/posix_disk.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cassert>
#include <cerrno>
#include <cstring>

#include "core/common/limits.h"
#include "net/test_knobs.h"

namespace granary::net {
namespace {

Status Errno(int error, std::string_view what) {
  const std::string message = std::string(what) + ": " + std::strerror(error);
  switch (error) {
    case ENOENT:
      return Status(StatusCode::kNotFound, message);
    case EEXIST:
      return Status(StatusCode::kAlreadyExists, message);
    case ENOSPC:
    case EDQUOT:
      return Status(StatusCode::kNoSpace, message);
    default:
      return Status(StatusCode::kIoError, message);
  }
}

Status BadName(std::string_view name) {
  return Status(StatusCode::kInvalidArgument, "invalid disk file name '" + std::string(name) + "'");
}

}  // namespace

Result<std::unique_ptr<PosixDisk>> PosixDisk::Open(RealEnv& env, std::string directory,
                                                   PosixDiskOptions options) {
  if (directory.empty() || options.open_files_max == 0) {
    return Status(StatusCode::kInvalidArgument, "PosixDisk needs a directory and open files");
  }
  if (mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST) {
    return Errno(errno, "mkdir " + directory);
  }
  const int fd = open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno(errno, "open " + directory);
  std::unique_ptr<PosixDisk> disk(new PosixDisk(env, std::move(directory), options, fd));
  GRANARY_ASSIGN_OR_RETURN(std::vector<std::string> names, disk->Scan(""));
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(fd, name.c_str(), &st, 0) == 0) disk->used_bytes_ += st.st_size;
  }
  return disk;
}

PosixDisk::PosixDisk(RealEnv& env, std::string directory, PosixDiskOptions options,
                     int directory_fd)
    : env_(env), directory_(std::move(directory)), options_(options), directory_fd_(directory_fd) {}

PosixDisk::~PosixDisk() {
  for (auto& [name, file] : open_) close(file.fd);
  close(directory_fd_);
}

Status PosixDisk::Check(std::string_view name) const {
  if (!IsValidDiskFileName(name)) return BadName(name);
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  return Status::Ok();
}

Result<int> PosixDisk::FileFd(std::string_view name) {
  auto it = open_.find(name);
  if (it != open_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.fd;
  }
  const std::string key(name);
  const int fd = openat(directory_fd_, key.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Errno(errno, key);
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return Status(StatusCode::kNotFound, key + " is not a regular file");
  }
  if (open_.size() >= options_.open_files_max) Forget(lru_.back());
  lru_.push_front(key);
  open_.emplace(key, OpenFile{fd, lru_.begin()});
  return fd;
}

void PosixDisk::Forget(std::string_view name) {
  auto it = open_.find(name);
  if (it == open_.end()) return;
  close(it->second.fd);
  lru_.erase(it->second.lru);
  open_.erase(it);
}

Status PosixDisk::SyncFd(int fd, bool data_only, std::string_view what) {
  // A duplicate stays valid even if the cache closes `fd` while the pool thread syncs.
  const int copy = dup(fd);
  if (copy < 0) return Errno(errno, "dup");
  int error = 0;
  env_.RunBlocking([copy, data_only, &error] {
    if ((data_only ? fdatasync(copy) : fsync(copy)) != 0) error = errno;
    close(copy);
    SleepTestSyncDelay();  // a test knob (test_knobs.h), 0 unless set
  });
  if (error != 0) return Errno(error, "sync " + std::string(what));
  return Status::Ok();
}

Status PosixDisk::Create(std::string_view name) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  const std::string key(name);
  const int fd =
      openat(directory_fd_, key.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) {
    if (errno == EEXIST) return Status(StatusCode::kAlreadyExists, "file " + key + " exists");
    return Errno(errno, "create " + key);
  }
  close(fd);
  return SyncFd(directory_fd_, false, directory_);
}

Status PosixDisk::Append(std::string_view name, std::string_view data) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  GRANARY_ASSIGN_OR_RETURN(int fd, FileFd(name));
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno(errno, std::string(name));
  const off_t start = st.st_size;
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = pwrite(fd, data.data() + written, data.size() - written,
                             start + static_cast<off_t>(written));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      // The failed Append writes nothing.
      [[maybe_unused]] const int rc = ftruncate(fd, start);
      return Errno(error, "append to " + std::string(name));
    }
    written += static_cast<size_t>(n);
  }
  used_bytes_ += data.size();
  return Status::Ok();
}

Result<std::string> PosixDisk::Read(std::string_view name, uint64_t offset, uint64_t length) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  if (length > kDiskReadBytesMax) {
    return Status(StatusCode::kInvalidArgument, "read exceeds kDiskReadBytesMax");
  }
  GRANARY_ASSIGN_OR_RETURN(int fd, FileFd(name));
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno(errno, std::string(name));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (offset >= size) return std::string();
  const size_t want = std::min(length, size - offset);
  std::string out;
  int error = 0;
  // Reads into `buffer` (`want` bytes); how many it holds afterwards.
  auto fill = [&](char* buffer, size_t) {
    size_t done = 0;
    while (done < want) {
      const ssize_t n = pread(fd, buffer + done, want - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = errno;
        break;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  };
#if defined(__cpp_lib_string_resize_and_overwrite)
  // The buffer is not zero-filled first: pread writes it (this file is built as C++23).
  out.resize_and_overwrite(want, fill);
#else
  out.resize(want);
  out.resize(fill(out.data(), want));
#endif
  if (error != 0) return Errno(error, "read " + std::string(name));
  return out;
}

Status PosixDisk::Sync(std::string_view name) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  GRANARY_ASSIGN_OR_RETURN(int fd, FileFd(name));
  return SyncFd(fd, true, name);
}

Status PosixDisk::Truncate(std::string_view name, uint64_t length) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  GRANARY_ASSIGN_OR_RETURN(int fd, FileFd(name));
  struct stat st;
  if (fstat(fd, &st) != 0) return Errno(errno, std::string(name));
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (length > size) {
    return Status(StatusCode::kInvalidArgument, "truncate beyond the end of " + std::string(name));
  }
  if (ftruncate(fd, static_cast<off_t>(length)) != 0) {
    return Errno(errno, "truncate " + std::string(name));
  }
  used_bytes_ -= size - length;
  // The new length is inode metadata: a full fsync makes it durable.
  return SyncFd(fd, false, name);
}

Status PosixDisk::Rename(std::string_view from, std::string_view to) {
  if (!IsValidDiskFileName(from)) return BadName(from);
  GRANARY_RETURN_IF_ERROR(Check(to));
  const std::string source(from);
  const std::string target(to);
  struct stat from_stat;
  if (fstatat(directory_fd_, source.c_str(), &from_stat, AT_SYMLINK_NOFOLLOW) != 0) {
    return Errno(errno, source);
  }
  if (!S_ISREG(from_stat.st_mode)) return Status(StatusCode::kNotFound, source + " is no file");
  if (from == to) return Status::Ok();
  struct stat to_stat;
  const bool replaces = fstatat(directory_fd_, target.c_str(), &to_stat, AT_SYMLINK_NOFOLLOW) == 0;
  if (replaces && !S_ISREG(to_stat.st_mode)) {
    return Status(StatusCode::kIoError, target + " exists and is no file");
  }
  if (renameat(directory_fd_, source.c_str(), directory_fd_, target.c_str()) != 0) {
    return Errno(errno, "rename " + source + " to " + target);
  }
  if (replaces) used_bytes_ -= static_cast<uint64_t>(to_stat.st_size);
  Forget(target);
  // The open descriptor follows the file to its new name.
  auto it = open_.find(from);
  if (it != open_.end()) {
    const int fd = it->second.fd;
    lru_.erase(it->second.lru);
    open_.erase(it);
    lru_.push_front(target);
    open_.emplace(target, OpenFile{fd, lru_.begin()});
  }
  return SyncFd(directory_fd_, false, directory_);
}

Status PosixDisk::Remove(std::string_view name) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  const std::string key(name);
  struct stat st;
  if (fstatat(directory_fd_, key.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Errno(errno, key);
  if (!S_ISREG(st.st_mode)) return Status(StatusCode::kNotFound, key + " is no file");
  if (unlinkat(directory_fd_, key.c_str(), 0) != 0) return Errno(errno, "remove " + key);
  used_bytes_ -= static_cast<uint64_t>(st.st_size);
  Forget(name);
  return SyncFd(directory_fd_, false, directory_);
}

Result<uint64_t> PosixDisk::Size(std::string_view name) {
  GRANARY_RETURN_IF_ERROR(Check(name));
  const std::string key(name);
  struct stat st;
  if (fstatat(directory_fd_, key.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return Errno(errno, key);
  if (!S_ISREG(st.st_mode)) return Status(StatusCode::kNotFound, key + " is no file");
  return static_cast<uint64_t>(st.st_size);
}

Result<std::vector<std::string>> PosixDisk::List(std::string_view prefix) {
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  return Scan(prefix);
}

Result<std::vector<std::string>> PosixDisk::Scan(std::string_view prefix) {
  const int fd = dup(directory_fd_);
  if (fd < 0) return Errno(errno, "dup");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return Errno(errno, "list " + directory_);
  }
  rewinddir(dir);
  std::vector<std::string> names;
  Status status;
  while (struct dirent* entry = readdir(dir)) {
    const std::string_view name(entry->d_name);
    if (!IsValidDiskFileName(name) || name.substr(0, prefix.size()) != prefix) continue;
    bool regular = entry->d_type == DT_REG;
    if (entry->d_type == DT_UNKNOWN) {
      struct stat st;
      regular = fstatat(directory_fd_, entry->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISREG(st.st_mode);
    }
    if (!regular) continue;
    if (names.size() >= kDiskListEntriesMax) {
      status = Status(StatusCode::kLimitExceeded, "more than kDiskListEntriesMax files");
      break;
    }
    names.emplace_back(name);
  }
  closedir(dir);
  if (!status.ok()) return status;
  std::sort(names.begin(), names.end());
  return names;
}

Result<DiskUsage> PosixDisk::Usage() {
  if (env_.stopping()) return Status(StatusCode::kNodeDown, "stopping");
  struct statvfs vfs;
  if (fstatvfs(directory_fd_, &vfs) != 0) return Errno(errno, "statvfs " + directory_);
  DiskUsage usage;
  usage.capacity_bytes = static_cast<uint64_t>(vfs.f_blocks) * vfs.f_frsize;
  usage.used_bytes = used_bytes_;
  return usage;
}

}  // namespace granary::net
