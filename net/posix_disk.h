// PosixDisk: the Disk seam over one POSIX directory (DESIGN.md §3).
//
// Each seam file is a regular file of the directory, under its own (validated) name; other
// entries (subdirectories, names the seam would reject) are ignored. Durability as
// core/seams/disk.h promises: Append writes through the page cache; Sync is fdatasync;
// Create, Rename and Remove fsync the directory and Truncate fsyncs the file before they
// return. The fsyncs run on the RealEnv's blocking pool (RunBlocking), so a slow disk stalls
// only the fibers that wait for it; the other calls are short system calls on the loop's
// thread.
//
// A failed Append (ENOSPC: kNoSpace; other errors: kIoError) cuts the file back to its old
// length, so it wrote nothing. Usage counts the bytes of this disk's files (kept up to date
// from a scan at Open) against the file system's capacity (statvfs).
//
// Up to open_files_max descriptors stay open (least recently used closed first).
// Threading: the RealEnv's thread only; one PosixDisk per directory at a time.
#pragma once

#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/status.h"
#include "core/seams/disk.h"
#include "net/real_env.h"

namespace granary::net {

struct PosixDiskOptions {
  uint32_t open_files_max = 256;
};

class PosixDisk final : public Disk {
 public:
  // Opens `directory`, creating it (one level) when missing.
  static Result<std::unique_ptr<PosixDisk>> Open(RealEnv& env, std::string directory,
                                                 PosixDiskOptions options = {});
  ~PosixDisk() override;
  PosixDisk(const PosixDisk&) = delete;
  PosixDisk& operator=(const PosixDisk&) = delete;

  Status Create(std::string_view name) override;
  Status Append(std::string_view name, std::string_view data) override;
  Result<std::string> Read(std::string_view name, uint64_t offset, uint64_t length) override;
  Status Sync(std::string_view name) override;
  Status Truncate(std::string_view name, uint64_t length) override;
  Status Rename(std::string_view from, std::string_view to) override;
  Status Remove(std::string_view name) override;
  Result<uint64_t> Size(std::string_view name) override;
  Result<std::vector<std::string>> List(std::string_view prefix) override;
  Result<DiskUsage> Usage() override;

  const std::string& directory() const { return directory_; }

 private:
  struct OpenFile {
    int fd;
    std::list<std::string>::iterator lru;
  };

  PosixDisk(RealEnv& env, std::string directory, PosixDiskOptions options, int directory_fd);
  Status Check(std::string_view name) const;
  // The cached descriptor of an existing file (kNotFound when missing).
  Result<int> FileFd(std::string_view name);
  void Forget(std::string_view name);
  // fsync (or fdatasync) of `fd` on the blocking pool.
  Status SyncFd(int fd, bool data_only, std::string_view what);
  Result<std::vector<std::string>> Scan(std::string_view prefix);

  RealEnv& env_;
  const std::string directory_;
  const PosixDiskOptions options_;
  const int directory_fd_;
  std::map<std::string, OpenFile, std::less<>> open_;
  std::list<std::string> lru_;  // front: most recently used
  uint64_t used_bytes_ = 0;
};

}  // namespace granary::net
