// The FUSE operation table: each callback copies its arguments off the kernel's request and
// hands the work to the loop (MountServer::Dispatch); nothing here waits for the cluster.
#include <fcntl.h>

#include <cstring>

#include "tools/mount/mount_server.h"

namespace granary::mount {
namespace ops {

using Server = MountServer;

void Init(void* userdata, fuse_conn_info* conn) {
  (void)userdata;
  if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;  // always plus: entries carry attributes
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  // The kernel's page cache is ours to keep per open (keep_cache); no writeback cache: every
  // write reaches the window in order.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // Pages are dropped when a file's size changes, and by every open of a version other than
  // the one they hold (keep_cache is set only for the same version), not when a refreshed
  // modification time differs: a file this mount wrote shows the kernel its own clock's
  // times until the namenode's come back, and its pages are right all the same.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_write = 1 << 20;
}

// A name missing from a directory whose every name the mount knows is answered here, as a
// plain ENOENT: the kernel does not cache it, since the knowledge may already be as old as
// negative_timeout allows.
void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  auto* self = static_cast<Server*>(fuse_req_userdata(req));
  if (self->dir_cache().KnownAbsent(parent, name, self->CacheKey(req))) {
    return (void)fuse_reply_err(req, ENOENT);
  }
  Server::Dispatch(req, [req, parent, name = std::string(name)](Server& s, FileSystem& fs) {
    s.Lookup(req, fs, parent, name);
  });
}

void Forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  auto* self = static_cast<Server*>(fuse_req_userdata(req));
  self->loop().Post([self, ino, nlookup] { self->Forget(ino, nlookup); });
  fuse_reply_none(req);
}

void ForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  auto* self = static_cast<Server*>(fuse_req_userdata(req));
  std::vector<fuse_forget_data> copy(forgets, forgets + count);
  self->loop().Post([self, copy = std::move(copy)] {
    for (const fuse_forget_data& f : copy) self->Forget(f.ino, f.nlookup);
  });
  fuse_reply_none(req);
}

// Attributes of small files cached by their lookup or this mount's write of them are
// answered here, with what is left of their attr_timeout.
void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  auto* self = static_cast<Server*>(fuse_req_userdata(req));
  struct stat st {};
  double fresh_s = 0;
  if (self->inline_cache().Attr(ino, &st, &fresh_s, self->CacheKey(req))) {
    return (void)fuse_reply_attr(req, &st, fresh_s);
  }
  Server::Dispatch(req, [req, ino](Server& s, FileSystem& fs) { s.GetAttr(req, fs, ino); });
}

void SetAttr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
  std::optional<uint64_t> fh;
  if (fi != nullptr) fh = fi->fh;
  Server::Dispatch(req, [req, ino, attr = *attr, to_set, fh](Server& s, FileSystem& fs) {
    s.SetAttr(req, fs, ino, attr, to_set, fh);
  });
}

void Mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  Server::Dispatch(req, [req, parent, name = std::string(name), mode](Server& s, FileSystem& fs) {
    s.Mkdir(req, fs, parent, name, mode);
  });
}

void Remove(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Server::Dispatch(req, [req, parent, name = std::string(name)](Server& s, FileSystem& fs) {
    s.Remove(req, fs, parent, name);
  });
}

void Rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent,
            const char* new_name, unsigned int flags) {
  Server::Dispatch(req, [req, parent, name = std::string(name), new_parent,
                         new_name = std::string(new_name), flags](Server& s, FileSystem& fs) {
    s.Rename(req, fs, parent, name, new_parent, new_name, flags);
  });
}

void Create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  Server::Dispatch(
      req, [req, parent, name = std::string(name), mode, fi = *fi](Server& s, FileSystem& fs) {
        s.Create(req, fs, parent, name, mode, fi);
      });
}

// Reading opens of small files cached by their lookup are answered here, on the FUSE thread.
void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto* self = static_cast<Server*>(fuse_req_userdata(req));
  if ((fi->flags & O_ACCMODE) == O_RDONLY && !(fi->flags & O_TRUNC)) {
    const InlineCache::Opened cached = self->inline_cache().Open(ino, self->CacheKey(req));
    if (cached.fh != 0) {
      fi->fh = cached.fh;
      fi->keep_cache = cached.keep_cache ? 1 : 0;
      fi->noflush = 1;  // a read-only descriptor's close has nothing to report
      if (fuse_reply_open(req, fi) != 0) self->inline_cache().Release(cached.fh);
      return;
    }
  }
  Server::Dispatch(req,
                   [req, ino, fi = *fi](Server& s, FileSystem& fs) { s.Open(req, fs, ino, fi); });
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  auto* self = static_cast<Server*>(fuse_req_userdata(req));
  if (InlineCache::Owns(fi->fh)) {
    std::string bytes;
    if (!self->inline_cache().Read(fi->fh, static_cast<uint64_t>(offset), size, &bytes)) {
      return (void)fuse_reply_err(req, EBADF);
    }
    return (void)fuse_reply_buf(req, bytes.data(), bytes.size());
  }
  Server::Dispatch(req, [req, fh = fi->fh, size, offset](Server& s, FileSystem&) {
    s.Read(req, fh, size, offset);
  });
}

void Write(fuse_req_t req, fuse_ino_t, const char* buf, size_t size, off_t offset,
           fuse_file_info* fi) {
  Server::Dispatch(
      req, [req, fh = fi->fh, data = std::string(buf, size), offset](
               Server& s, FileSystem&) mutable { s.Write(req, fh, std::move(data), offset); });
}

void Flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  if (InlineCache::Owns(fi->fh)) return (void)fuse_reply_err(req, 0);
  Server::Dispatch(req, [req, fh = fi->fh](Server& s, FileSystem&) { s.Flush(req, fh); });
}

void Release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  if (InlineCache::Owns(fi->fh)) {
    static_cast<Server*>(fuse_req_userdata(req))->inline_cache().Release(fi->fh);
    return (void)fuse_reply_err(req, 0);
  }
  Server::Dispatch(req, [req, fh = fi->fh](Server& s, FileSystem&) { s.Release(req, fh); });
}

void Fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
  if (InlineCache::Owns(fi->fh)) return (void)fuse_reply_err(req, 0);
  Server::Dispatch(req, [req, fh = fi->fh](Server& s, FileSystem&) { s.Fsync(req, fh); });
}

void OpenDir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  Server::Dispatch(req, [req, ino, fi = *fi](Server& s, FileSystem&) { s.OpenDir(req, ino, fi); });
}

void ReadDir(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  Server::Dispatch(req, [req, fh = fi->fh, size, offset](Server& s, FileSystem& fs) {
    s.ReadDir(req, fs, fh, size, offset, /*plus=*/false);
  });
}

void ReadDirPlus(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
  Server::Dispatch(req, [req, fh = fi->fh, size, offset](Server& s, FileSystem& fs) {
    s.ReadDir(req, fs, fh, size, offset, /*plus=*/true);
  });
}

void ReleaseDir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  Server::Dispatch(req, [req, fh = fi->fh](Server& s, FileSystem&) { s.ReleaseDir(req, fh); });
}

void FsyncDir(fuse_req_t req, fuse_ino_t, int, fuse_file_info*) {
  fuse_reply_err(req, 0);  // namespace changes are durable when they are answered
}

void StatFs(fuse_req_t req, fuse_ino_t) {
  Server::Dispatch(req, [req](Server& s, FileSystem& fs) { s.StatFs(req, fs); });
}

// What Granary has no notion of.
void Link(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void Symlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EPERM); }
void Mknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EPERM); }
void Readlink(fuse_req_t req, fuse_ino_t) { fuse_reply_err(req, EINVAL); }
void Fallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) {
  fuse_reply_err(req, EOPNOTSUPP);
}

}  // namespace ops

fuse_lowlevel_ops MountServer::Operations() {
  fuse_lowlevel_ops table{};
  table.init = ops::Init;
  table.lookup = ops::Lookup;
  table.forget = ops::Forget;
  table.forget_multi = ops::ForgetMulti;
  table.getattr = ops::GetAttr;
  table.setattr = ops::SetAttr;
  table.mkdir = ops::Mkdir;
  table.unlink = ops::Remove;
  table.rmdir = ops::Remove;
  table.rename = ops::Rename;
  table.create = ops::Create;
  table.open = ops::Open;
  table.read = ops::Read;
  table.write = ops::Write;
  table.flush = ops::Flush;
  table.release = ops::Release;
  table.fsync = ops::Fsync;
  table.opendir = ops::OpenDir;
  table.readdir = ops::ReadDir;
  table.readdirplus = ops::ReadDirPlus;
  table.releasedir = ops::ReleaseDir;
  table.fsyncdir = ops::FsyncDir;
  table.statfs = ops::StatFs;
  table.link = ops::Link;
  table.symlink = ops::Symlink;
  table.mknod = ops::Mknod;
  table.readlink = ops::Readlink;
  table.fallocate = ops::Fallocate;
  return table;
}

}  // namespace granary::mount
