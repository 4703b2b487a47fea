// MountServer's file and directory handles: create, open, read, write, flush, release,
// fsync, setattr (mode, owner, size, times), readdir(plus).
#include <fcntl.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <mutex>
#include <set>

#include "core/common/path.h"
#include "net/real_env.h"
#include "tools/mount/mount_server.h"

namespace granary::mount {
namespace {

// The (modification, access) times a setattr asks for, in nanoseconds since the epoch; -1
// for one it leaves alone. "Now" is this machine's clock, as for a local file system.
std::pair<int64_t, int64_t> TimesToSet(const struct stat& attr, int to_set) {
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  auto ns = [](const struct timespec& t) {
    return static_cast<int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec;
  };
  int64_t mtime = -1, atime = -1;
  if (to_set & FUSE_SET_ATTR_MTIME) {
    mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now : ns(attr.st_mtim);
  }
  if (to_set & FUSE_SET_ATTR_ATIME) {
    atime = (to_set & FUSE_SET_ATTR_ATIME_NOW) ? now : ns(attr.st_atim);
  }
  return {std::max<int64_t>(mtime, -1), std::max<int64_t>(atime, -1)};
}

}  // namespace

uint64_t MountServer::AddHandle(std::shared_ptr<Handle> handle) {
  const uint64_t fh = next_fh_++;
  handles_[fh] = std::move(handle);
  return fh;
}

std::shared_ptr<MountServer::Handle> MountServer::HandleOf(uint64_t fh) {
  auto it = handles_.find(fh);
  return it == handles_.end() ? nullptr : it->second;
}

void MountServer::DropHandles() {
  stash_.clear();
  inline_cache_.Clear();
  handles_.clear();
  writing_.clear();
  dirs_.clear();
}

Status MountServer::StartWriter(Handle& handle, bool overwrite) {
  CreateOptions create;
  create.overwrite = overwrite;
  create.create_parents = false;
  create.mode = handle.mode & 07777;
  Result<std::unique_ptr<Writer>> writer = handle.fs->Create(handle.path, create);
  if (!writer.ok()) return writer.status();
  handle.writer = std::move(*writer);
  handle.window.emplace(options_.write_window_bytes);
  handle.reader.reset();
  return Status::Ok();
}

Status MountServer::Drain(Handle& handle, std::string released) {
  if (released.empty()) return Status::Ok();
  return handle.writer->Write(released);
}

// Sends what the window holds, closes the file and applies the attribute changes made while
// it was written (the file did not exist for the namenode before).
Status MountServer::Finish(Handle& handle) {
  if (handle.writer == nullptr || handle.finishing) return handle.failed;
  handle.finishing = true;
  Status status = handle.failed;
  // A file the window held whole is kept for the reads that usually follow its write.
  const bool whole = handle.window->released_bytes() == 0;
  std::string bytes = handle.window->ReleaseAll();
  if (status.ok() && !bytes.empty()) status = handle.writer->Write(bytes);
  const Status closed = handle.writer->Close();
  if (status.ok()) status = closed;
  if (status.ok() && handle.pending_mode) {
    status = handle.fs->SetPermission(handle.path, *handle.pending_mode & 07777);
  }
  if (status.ok() && handle.pending_times) {
    status =
        handle.fs->SetTimes(handle.path, handle.pending_times->first, handle.pending_times->second);
  }
  if (status.ok() && handle.pending_owner) {
    status =
        handle.fs->SetOwner(handle.path, handle.pending_owner->first, handle.pending_owner->second);
  }
  DropStashed(handle.path);  // a lookup's reader of the file this one replaced
  const bool unchanged = !handle.pending_mode && !handle.pending_times && !handle.pending_owner;
  if (status.ok() && whole && unchanged && handle.writer->closed_status()) {
    // What the namenode stored, answered from here for attr_timeout: the kernel's pages
    // already hold these bytes (they went through it), so the next open keeps them.
    const proto::FileStatus& stored = *handle.writer->closed_status();
    if (stored.length_bytes() == bytes.size()) {
      const struct stat st = ToStat(stored, handle.ino);
      inline_cache_.Put(handle.ino, stored.mtime_ns(), std::move(bytes), &st,
                        /*pages_current=*/true, handle.cache_key);
    }
  }
  // Only now may others find the path in the cluster instead of in writing_.
  if (auto it = writing_.find(handle.path); it != writing_.end() && it->second.get() == &handle) {
    writing_.erase(it);
  }
  handle.finished = true;
  if (handle.failed.ok()) handle.failed = status;
  return status;
}

Status MountServer::AwaitWriter(const std::string& path, Await which) {
  const Instant deadline = loop_->env().Now() + kAwaitWriterMax;
  for (;;) {
    auto it = writing_.find(path);
    if (it == writing_.end()) return Status::Ok();
    const Handle& writer = *it->second;
    if (which == Await::kClosedOnly && !writer.flushed && !writer.finishing) {
      return Status::Ok();
    }
    if (loop_->env().Now() >= deadline) {
      return Status(StatusCode::kLeaseConflict, path + " is being written");
    }
    GRANARY_RETURN_IF_ERROR(loop_->env().SleepFor(std::chrono::milliseconds(1)));
  }
}

void MountServer::Create(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name,
                         uint32_t mode, fuse_file_info fi) {
  if (options_.read_only) return (void)fuse_reply_err(req, EROFS);
  std::optional<std::string> dir = PathOr(req, parent);
  if (!dir) return;
  auto handle = std::make_shared<Handle>();
  handle->path = JoinPath(*dir, name);
  handle->fs = &fs;
  handle->mode = mode & 07777;
  handle->may_write = true;
  handle->cache_key = CacheKey(req);
  if (const Status idle = AwaitWriter(handle->path, Await::kAny); !idle.ok()) {
    return (void)fuse_reply_err(req, ErrnoOf(idle));
  }
  // The kernel sends create only after a lookup found nothing: no overwrite, so that a file
  // another client made meanwhile fails the close with EEXIST instead of being replaced.
  const Status started = StartWriter(*handle, /*overwrite=*/false);
  if (!started.ok()) return (void)fuse_reply_err(req, ErrnoOf(started));
  dir_cache_.Added(parent, name);  // before the reply: later lookups must not miss it
  fuse_entry_param entry{};
  entry.ino = inodes_.Ref(handle->path);
  inline_cache_.Drop(entry.ino);
  handle->ino = entry.ino;
  entry.attr = PendingStat(*handle);
  entry.attr_timeout = options_.attr_timeout_s;
  entry.entry_timeout = options_.entry_timeout_s;
  writing_[handle->path] = handle;
  fi.fh = AddHandle(handle);
  fi.keep_cache = 0;
  if (fuse_reply_create(req, &entry, &fi) != 0) {
    inodes_.Forget(entry.ino, 1);
    writing_.erase(handle->path);
    handles_.erase(fi.fh);
  }
}

void MountServer::Open(fuse_req_t req, FileSystem& fs, uint64_t ino, fuse_file_info fi) {
  std::optional<std::string> path = PathOr(req, ino);
  if (!path) return;
  const int access = fi.flags & O_ACCMODE;
  auto handle = std::make_shared<Handle>();
  handle->path = *path;
  handle->ino = ino;
  handle->fs = &fs;
  handle->may_write = access != O_RDONLY;
  handle->cache_key = CacheKey(req);
  if (handle->may_write && options_.read_only) return (void)fuse_reply_err(req, EROFS);
  // A file closed by its writer is opened once finished; one still open for writing is
  // read as the cluster has it, and cannot be written by a second writer.
  const Status idle = AwaitWriter(*path, handle->may_write ? Await::kAny : Await::kClosedOnly);
  if (!idle.ok()) return (void)fuse_reply_err(req, ErrnoOf(idle));
  std::unique_ptr<Reader> stashed = TakeStashed(ino);
  if (handle->may_write) inline_cache_.Drop(ino);
  Result<std::unique_ptr<Reader>> reader =
      stashed != nullptr && !handle->may_write ? std::move(stashed) : fs.Open(*path);
  if (!reader.ok()) return (void)fuse_reply_err(req, ErrnoOf(reader.status()));
  const proto::FileStatus status = (*reader)->status();
  handle->mode = status.mode() & 07777;
  if (handle->may_write && (fi.flags & O_TRUNC)) {
    // Another open for writing may have started while this one waited for the namenode.
    if (writing_.contains(*path)) return (void)fuse_reply_err(req, EBUSY);
    const Status started = StartWriter(*handle, /*overwrite=*/true);
    if (!started.ok()) return (void)fuse_reply_err(req, ErrnoOf(started));
    writing_[*path] = handle;
  } else {
    // A writable open without O_TRUNC keeps its reader; its first write makes a writer only
    // for an empty file written from 0 (Granary cannot change a closed file's bytes).
    if (handle->may_write && (fi.flags & O_APPEND) && status.length_bytes() > 0) {
      return (void)fuse_reply_err(req, EOPNOTSUPP);
    }
    handle->reader = std::move(*reader);
    fi.keep_cache = inodes_.UnchangedSinceLastOpen(ino, status.mtime_ns(), status.length_bytes());
    if (!handle->may_write) fi.noflush = 1;  // a read-only close has nothing to report
  }
  fi.fh = AddHandle(handle);
  if (fuse_reply_open(req, &fi) != 0) {
    if (handle->writer) writing_.erase(*path);
    handles_.erase(fi.fh);
  }
}

void MountServer::Read(fuse_req_t req, uint64_t fh, size_t size, off_t offset) {
  std::shared_ptr<Handle> handle = HandleOf(fh);
  if (!handle) return (void)fuse_reply_err(req, EBADF);
  std::lock_guard<boost::fibers::mutex> lock(handle->mutex);
  if (handle->writer) {
    if (handle->finished) return (void)fuse_reply_err(req, EOPNOTSUPP);
    Result<std::string> bytes = handle->window->Read(offset, size);
    if (!bytes.ok()) return (void)fuse_reply_err(req, ErrnoOf(bytes.status()));
    return (void)fuse_reply_buf(req, bytes->data(), bytes->size());
  }
  Reader& reader = *handle->reader;
  if (reader.Tell() != static_cast<uint64_t>(offset)) {
    const Status sought = reader.Seek(offset);
    if (!sought.ok()) return (void)fuse_reply_err(req, ErrnoOf(sought));
  }
  std::string out;
  while (out.size() < size) {
    Result<std::string> piece = reader.Read(size - out.size());
    if (!piece.ok()) return (void)fuse_reply_err(req, ErrnoOf(piece.status()));
    if (piece->empty()) break;
    if (out.empty()) {
      out = std::move(*piece);
    } else {
      out += *piece;
    }
  }
  fuse_reply_buf(req, out.data(), out.size());
}

void MountServer::Write(fuse_req_t req, uint64_t fh, std::string data, off_t offset) {
  std::shared_ptr<Handle> handle = HandleOf(fh);
  if (!handle) return (void)fuse_reply_err(req, EBADF);
  std::lock_guard<boost::fibers::mutex> lock(handle->mutex);
  if (!handle->may_write || handle->finishing) return (void)fuse_reply_err(req, EOPNOTSUPP);
  if (!handle->writer) {
    // Only an empty file can start over from 0.
    if (offset != 0 || handle->reader->Size() != 0 || writing_.contains(handle->path)) {
      return (void)fuse_reply_err(req, EOPNOTSUPP);
    }
    const Status started = StartWriter(*handle, /*overwrite=*/true);
    if (!started.ok()) return (void)fuse_reply_err(req, ErrnoOf(started));
    writing_[handle->path] = handle;
  }
  if (!handle->failed.ok()) return (void)fuse_reply_err(req, ErrnoOf(handle->failed));
  handle->flushed = false;
  std::string released;
  Status status = handle->window->Write(offset, data, &released);
  if (status.ok()) {
    status = Drain(*handle, std::move(released));
    if (!status.ok()) handle->failed = status;  // bytes were lost: the file is not finished
  }
  if (!status.ok()) return (void)fuse_reply_err(req, ErrnoOf(status));
  fuse_reply_write(req, data.size());
}

void MountServer::Flush(fuse_req_t req, uint64_t fh) {
  std::shared_ptr<Handle> handle = HandleOf(fh);
  if (!handle) return (void)fuse_reply_err(req, EBADF);
  std::lock_guard<boost::fibers::mutex> lock(handle->mutex);
  // Not the finish: a descriptor dup'ed before the write (a shell's redirection) or inherited
  // by another process may still write. The file is finished at release.
  if (handle->writer) handle->flushed = true;
  fuse_reply_err(req, ErrnoOf(handle->failed));
}

void MountServer::Release(fuse_req_t req, uint64_t fh) {
  std::shared_ptr<Handle> handle = HandleOf(fh);
  if (!handle) return (void)fuse_reply_err(req, EBADF);
  {
    std::lock_guard<boost::fibers::mutex> lock(handle->mutex);
    const Status finished = Finish(*handle);
    if (!finished.ok()) {
      std::cerr << "granary-mount: " << handle->path << ": " << finished.ToString() << std::endl;
    }
  }
  handles_.erase(fh);
  fuse_reply_err(req, 0);
}

void MountServer::Fsync(fuse_req_t req, uint64_t fh) {
  std::shared_ptr<Handle> handle = HandleOf(fh);
  if (!handle) return (void)fuse_reply_err(req, EBADF);
  std::lock_guard<boost::fibers::mutex> lock(handle->mutex);
  if (!handle->writer || handle->finishing) return (void)fuse_reply_err(req, 0);
  // Durable means handed on: the window starts over after the synced bytes.
  Status status = Drain(*handle, handle->window->ReleaseAll());
  if (status.ok()) status = handle->writer->Flush();
  fuse_reply_err(req, ErrnoOf(status));
}

void MountServer::SetAttr(fuse_req_t req, FileSystem& fs, uint64_t ino, struct stat attr,
                          int to_set, std::optional<uint64_t> fh) {
  if (options_.read_only) return (void)fuse_reply_err(req, EROFS);
  std::optional<std::string> path = PathOr(req, ino);
  if (!path) return;
  std::shared_ptr<Handle> writing;
  if (auto it = writing_.find(*path); it != writing_.end() && it->second->finishing) {
    // Too late to record the change for the finish: make it after.
    if (const Status idle = AwaitWriter(*path, Await::kAny); !idle.ok()) {
      return (void)fuse_reply_err(req, ErrnoOf(idle));
    }
  }
  if (auto it = writing_.find(*path); it != writing_.end()) writing = it->second;
  (void)fh;
  inline_cache_.Drop(ino);  // its attributes change (and with a size, its bytes)
  Status status;
  if (to_set & FUSE_SET_ATTR_SIZE) {
    const uint64_t size = static_cast<uint64_t>(attr.st_size);
    stash_.erase(ino);
    if (writing) {
      std::lock_guard<boost::fibers::mutex> lock(writing->mutex);
      std::string released;
      status = writing->window->Truncate(size, &released);
      if (status.ok()) status = Drain(*writing, std::move(released));
    } else {
      Result<proto::FileStatus> current = fs.Stat(*path);
      if (!current.ok()) {
        status = current.status();
      } else if (current->length_bytes() != size) {
        if (size != 0) return (void)fuse_reply_err(req, EOPNOTSUPP);
        CreateOptions create;
        create.overwrite = true;
        create.create_parents = false;
        create.mode = current->mode() & 07777;
        status = fs.WriteFile(*path, "", create);
      }
    }
    if (!status.ok()) return (void)fuse_reply_err(req, ErrnoOf(status));
  }
  if (to_set & FUSE_SET_ATTR_MODE) {
    if (writing) {
      writing->pending_mode = attr.st_mode & 07777;
    } else {
      status = fs.SetPermission(*path, attr.st_mode & 07777);
      if (!status.ok()) return (void)fuse_reply_err(req, ErrnoOf(status));
    }
  }
  if (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) {
    Result<struct stat> current = StatPath(fs, *path, ino);
    if (!current.ok()) return (void)fuse_reply_err(req, ErrnoOf(current.status()));
    const uint32_t uid = (to_set & FUSE_SET_ATTR_UID) ? attr.st_uid : current->st_uid;
    const uint32_t gid = (to_set & FUSE_SET_ATTR_GID) ? attr.st_gid : current->st_gid;
    std::string owner, group;
    if (to_set & FUSE_SET_ATTR_UID) owner = UserNameOf(uid);
    if (to_set & FUSE_SET_ATTR_GID) group = GroupNameOf(gid);
    if (writing) {
      writing->pending_owner = std::make_pair(owner.empty() ? UserNameOf(uid) : owner,
                                              group.empty() ? GroupNameOf(gid) : group);
    } else {
      status = fs.SetOwner(*path, owner, group);
      if (!status.ok()) return (void)fuse_reply_err(req, ErrnoOf(status));
    }
  }
  // Times last: a truncation above sets the modification time to now.
  if ((to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)) && !options_.ignore_utimes) {
    const std::pair<int64_t, int64_t> times = TimesToSet(attr, to_set);
    if (writing) {
      writing->pending_times = times;  // the close would set the modification time to now
    } else {
      status = fs.SetTimes(*path, times.first, times.second);
      if (!status.ok()) return (void)fuse_reply_err(req, ErrnoOf(status));
    }
  }
  Result<struct stat> st = StatPath(fs, *path, ino);
  if (!st.ok()) return (void)fuse_reply_err(req, ErrnoOf(st.status()));
  fuse_reply_attr(req, &*st, options_.attr_timeout_s);
}

void MountServer::OpenDir(fuse_req_t req, uint64_t ino, fuse_file_info fi) {
  std::optional<std::string> path = PathOr(req, ino);
  if (!path) return;
  auto dir = std::make_unique<DirHandle>();
  dir->path = *path;
  dir->ino = ino;
  fi.fh = next_fh_++;
  dirs_[fi.fh] = std::move(dir);
  if (fuse_reply_open(req, &fi) != 0) dirs_.erase(fi.fh);
}

// Entries 0 and 1 are "." and ".."; entry i + 2 is the listing's i-th. A listing is taken
// when the directory is read from its start, and pages are served from it.
void MountServer::ReadDir(fuse_req_t req, FileSystem& fs, uint64_t fh, size_t size, off_t offset,
                          bool plus) {
  auto it = dirs_.find(fh);
  if (it == dirs_.end()) return (void)fuse_reply_err(req, EBADF);
  DirHandle& dir = *it->second;
  if (offset == 0 || !dir.loaded) {
    const uint64_t ino = dir.ino;
    const uint64_t key = CacheKey(req);
    dir_cache_.Listing(ino);
    Result<std::vector<proto::FileStatus>> entries = fs.ListAll(dir.path);
    if (!entries.ok()) {
      dir_cache_.Failed(ino);
      return (void)fuse_reply_err(req, ErrnoOf(entries.status()));
    }
    if (dirs_.find(fh) == dirs_.end()) {
      dir_cache_.Failed(ino);
      return (void)fuse_reply_err(req, EBADF);
    }
    dir_cache_.Known(ino, NamesIn(dir.path, *entries), key);
    // Files this mount is writing there are listed too (the namenode has them once they are
    // finished, which may come just after their close() returned).
    std::set<std::string> listed;
    for (const proto::FileStatus& e : *entries) listed.insert(e.name());
    for (const std::string& name : NamesIn(dir.path, {})) {
      if (listed.contains(name)) continue;
      proto::FileStatus pending;
      pending.set_name(name);
      pending.set_type(proto::INODE_TYPE_FILE);
      entries->push_back(std::move(pending));
    }
    dir.entries = std::move(*entries);
    dir.loaded = true;
  }
  std::string buffer(size, '\0');
  size_t used = 0;
  const size_t total = dir.entries.size() + 2;
  for (size_t i = static_cast<size_t>(std::max<off_t>(offset, 0)); i < total; ++i) {
    const off_t next = static_cast<off_t>(i + 1);
    char* at = buffer.data() + used;
    const size_t room = size - used;
    size_t added = 0;
    if (i < 2) {
      const char* name = i == 0 ? "." : "..";
      fuse_entry_param entry{};
      entry.attr.st_mode = S_IFDIR;
      entry.attr.st_ino = InodeTable::kRoot;
      added = plus ? fuse_add_direntry_plus(req, at, room, name, &entry, next)
                   : fuse_add_direntry(req, at, room, name, &entry.attr, next);
    } else {
      const proto::FileStatus& status = dir.entries[i - 2];
      const std::string path = JoinPath(dir.path, status.name());
      fuse_entry_param entry{};
      entry.ino = inodes_.Ref(path, 0);
      entry.attr = ToStat(status, entry.ino);
      if (auto w = writing_.find(path); w != writing_.end()) entry.attr = PendingStat(*w->second);
      entry.attr_timeout = options_.attr_timeout_s;
      entry.entry_timeout = options_.entry_timeout_s;
      added = plus ? fuse_add_direntry_plus(req, at, room, status.name().c_str(), &entry, next)
                   : fuse_add_direntry(req, at, room, status.name().c_str(), &entry.attr, next);
      if (added <= room && plus) {
        inodes_.Ref(path, 1);  // the kernel counts an entry of readdirplus as a lookup
      } else {
        inodes_.DropIfUnreferenced(entry.ino);
      }
    }
    if (added > room) break;
    used += added;
  }
  fuse_reply_buf(req, buffer.data(), used);
}

void MountServer::ReleaseDir(fuse_req_t req, uint64_t fh) {
  dirs_.erase(fh);
  fuse_reply_err(req, 0);
}

}  // namespace granary::mount
