// MountServer: the FUSE low-level operations of granary-mount over Granary's client.
//
// Every request the kernel sends is read on the FUSE thread, handed to the ClientLoop and
// answered from a fiber there (fuse_reply_* may be called from any thread), so a request
// waiting for the cluster holds up no other. The inode table, the open handles and the files
// being written are touched only from the loop's fibers; a handle's own operations are
// serialized by its fiber mutex (the kernel may read a file with several requests at once).
//
// Semantics (README, "The mount"): files are written once, front to back, with a rewritable
// window at the tail (write_window.h). A file being written is finished (Writer::Close) when
// its last descriptor closes (FUSE release, which the kernel sends after close() returned).
// Close-to-open consistency still holds on this mount: until the finish is done, the path
// answers stat from the writer, and an open, rename, unlink or attribute change of it waits
// for the finish (at most kAwaitWriterMax) when every descriptor has been closed (a flush
// came after the last write). Whatever Granary cannot do fails with EOPNOTSUPP or EPERM.
#pragma once

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <boost/fiber/mutex.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/posix_errno.h"
#include "tools/mount/client_loop.h"
#include "tools/mount/dir_cache.h"
#include "tools/mount/inline_cache.h"
#include "tools/mount/inode_table.h"
#include "tools/mount/open_batcher.h"
#include "tools/mount/write_window.h"

namespace granary::mount {

struct MountOptions {
  bool read_only = false;
  std::string fixed_user;  // -o user=NAME: every request acts as NAME (and its local groups)
  double entry_timeout_s = 1.0;
  double attr_timeout_s = 1.0;
  // Names found missing stay missing this long for this mount: in the kernel's negative
  // entries and, for directories this mount made or listed, in its DirCache (dir_cache.h).
  double negative_timeout_s = 0.0;
  uint64_t write_window_bytes = 8 << 20;
  // -o threads=N: FUSE threads reading the kernel's requests (libfuse's multithreaded loop
  // keeps up to N idle). Requests answered from the InlineCache run on them in parallel;
  // 1: one thread, as libfuse's single-threaded loop.
  uint32_t fuse_threads = 4;
  // -o stats: print the namenode calls made, by method, when unmounted (for profiles).
  bool print_stats = false;
  // -o ignore_utimes: setting a file's times succeeds and changes nothing. Off (the
  // default): utimensat sets them (nn.SetTimes), so tar, rsync -a, cp -p and shutil.copytree
  // keep them.
  bool ignore_utimes = false;
  // -o cache_bytes=N: the budget of small files' bytes the mount keeps from lookups and its
  // own writes (InlineCache), for attr_timeout each. A read-only training set opened epoch
  // after epoch with long attr_timeout is served by the FUSE threads alone when it fits.
  uint64_t cache_bytes = InlineCache::kInlineCacheBytesDefault;
};

// The local names of a uid and a gid ("uid1234" when the system has none).
std::string UserNameOf(uint32_t uid);
std::string GroupNameOf(uint32_t gid);

class MountServer {
 public:
  explicit MountServer(MountOptions options);
  // The loop that runs the requests; set before the session's loop starts.
  void set_loop(ClientLoop* loop) { loop_ = loop; }
  // The operation table; fuse_session_new's userdata must be this server.
  static fuse_lowlevel_ops Operations();
  // On the loop: drops every open handle (their readers and writers) before it stops.
  void DropHandles();

  // One open file. Its operations hold `mutex` while they use it.
  struct Handle {
    std::string path;
    uint64_t ino = 0;
    FileSystem* fs = nullptr;
    std::unique_ptr<Reader> reader;
    std::unique_ptr<Writer> writer;
    std::optional<WriteWindow> window;
    bool may_write = false;  // opened for writing (the writer may be made at the 1st write)
    bool flushed = false;    // a close() came after the last write: release is near
    bool finishing = false;  // Finish has started
    bool finished = false;   // Finish is done
    Status failed;           // the first error of the writer, answered again at every flush
    uint32_t mode = 0644;    // of the file being written
    uint64_t cache_key = 0;  // CacheKey of the request that opened it
    std::optional<uint32_t> pending_mode;  // chmod while written: applied after the close
    std::optional<std::pair<std::string, std::string>> pending_owner;
    std::optional<std::pair<int64_t, int64_t>> pending_times;  // utimensat while written
    boost::fibers::mutex mutex;
  };
  struct DirHandle {
    std::string path;
    uint64_t ino = 0;
    std::vector<proto::FileStatus> entries;
    bool loaded = false;
  };
  struct Caller {
    uint32_t uid = 0;
    uint32_t gid = 0;
  };

  // Runs `fn(server, fs)` on a fiber of the loop with the FileSystem of the request's caller.
  template <typename Fn>
  static void Dispatch(fuse_req_t req, Fn fn);

  // The operations, on the loop (mount_ops.cc, mount_io.cc).
  void Lookup(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name);
  void GetAttr(fuse_req_t req, FileSystem& fs, uint64_t ino);
  void SetAttr(fuse_req_t req, FileSystem& fs, uint64_t ino, struct stat attr, int to_set,
               std::optional<uint64_t> fh);
  void Mkdir(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name,
             uint32_t mode);
  void Remove(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name);
  void Rename(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name,
              uint64_t new_parent, const std::string& new_name, unsigned int flags);
  void Create(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name,
              uint32_t mode, fuse_file_info fi);
  void Open(fuse_req_t req, FileSystem& fs, uint64_t ino, fuse_file_info fi);
  void Read(fuse_req_t req, uint64_t fh, size_t size, off_t offset);
  void Write(fuse_req_t req, uint64_t fh, std::string data, off_t offset);
  void Flush(fuse_req_t req, uint64_t fh);
  void Release(fuse_req_t req, uint64_t fh);
  void Fsync(fuse_req_t req, uint64_t fh);
  void OpenDir(fuse_req_t req, uint64_t ino, fuse_file_info fi);
  void ReadDir(fuse_req_t req, FileSystem& fs, uint64_t fh, size_t size, off_t offset, bool plus);
  void ReleaseDir(fuse_req_t req, uint64_t fh);
  void StatFs(fuse_req_t req, FileSystem& fs);
  void Forget(uint64_t ino, uint64_t references) { inodes_.Forget(ino, references); }

  ClientLoop& loop() { return *loop_; }
  // Thread-safe: the FUSE thread answers cached small files from it (mount_dispatch.cc).
  InlineCache& inline_cache() { return inline_cache_; }
  DirCache& dir_cache() { return dir_cache_; }
  // Answers a lookup of a name that does not exist (a negative entry with negative_timeout).
  void ReplyNotFound(fuse_req_t req);
  const MountOptions& options() const { return options_; }
  // Which user the InlineCache's entries brought by `req` are for (any thread, before the
  // reply): 0 with a fixed user, else the caller's uid and gid.
  uint64_t CacheKey(fuse_req_t req) const;

 private:
  Result<FileSystem*> FileSystemOf(const Caller& caller);
  // The attributes of `status` as the kernel sees them, under inode number `ino`.
  struct stat ToStat(const proto::FileStatus& status, uint64_t ino);
  // The attributes of the file being written by `handle`.
  struct stat PendingStat(const Handle& handle);
  // Stats `path` (the file being written there answers for itself).
  Result<struct stat> StatPath(FileSystem& fs, const std::string& path, uint64_t ino);
  // Replies with an entry for `path` and returns its inode number (0 when the reply failed).
  uint64_t ReplyEntry(fuse_req_t req, const std::string& path, const struct stat& st);
  // A reader opened by a lookup, kept for the open that usually follows it (at most
  // attr_timeout later): a small file is then looked up, opened and read in one round trip.
  void Stash(uint64_t ino, std::unique_ptr<Reader> reader);
  std::unique_ptr<Reader> TakeStashed(uint64_t ino);
  void DropStashed(const std::string& path);
  void ReplyLookupError(fuse_req_t req, const Status& status);
  // The names `listed` in `dir` and those this mount is writing there (not yet in a listing).
  std::vector<std::string> NamesIn(const std::string& dir,
                                   const std::vector<proto::FileStatus>& listed);
  // Lists `dir` (inode `ino`) again for the DirCache when it is small and its knowledge
  // expired (after a lookup in it missed).
  void MaybeListAgain(FileSystem& fs, uint64_t ino, const std::string& dir, uint64_t caller);
  static constexpr size_t kListAgainNamesMax = 8192;
  std::optional<std::string> PathOr(fuse_req_t req, uint64_t ino);
  std::shared_ptr<Handle> HandleOf(uint64_t fh);
  uint64_t AddHandle(std::shared_ptr<Handle> handle);
  // Hands bytes that left the window to the writer; finishes the file when `finish`.
  Status Drain(Handle& handle, std::string released);
  Status Finish(Handle& handle);
  Status StartWriter(Handle& handle, bool overwrite);
  // Waits until no unfinished writer holds `path`, or (with kClosedOnly) until none that
  // looks closed does (flushed after its last write, or finishing). kLeaseConflict (EBUSY)
  // after kAwaitWriterMax.
  enum class Await { kAny, kClosedOnly };
  Status AwaitWriter(const std::string& path, Await which);
  uint32_t UidOf(const std::string& owner);
  uint32_t GidOf(const std::string& group);

  static constexpr Duration kAwaitWriterMax = std::chrono::seconds(30);
  // Readers kept from lookups: at most this many (inline files are at most the cluster's
  // inline threshold each), the oldest inode numbers dropped first.
  static constexpr size_t kStashedReadersMax = 1024;
  struct Stashed {
    std::unique_ptr<Reader> reader;
    Instant expires{};
  };
  std::map<uint64_t, Stashed> stash_;

  ClientLoop* loop_ = nullptr;
  const MountOptions options_;
  InlineCache inline_cache_;  // after options_, which sizes it
  DirCache dir_cache_;        // likewise
  InodeTable inodes_;
  std::map<uint64_t, std::shared_ptr<Handle>> handles_;
  std::map<uint64_t, std::unique_ptr<DirHandle>> dirs_;
  uint64_t next_fh_ = 1;
  // Paths with a writer that has not finished, to the handle writing it.
  std::map<std::string, std::shared_ptr<Handle>> writing_;
  std::map<std::pair<uint32_t, uint32_t>, FileSystem*> callers_;
  std::map<FileSystem*, std::unique_ptr<OpenBatcher>> batchers_;  // the lookups' opens
  std::optional<std::vector<std::string>> fixed_groups_;          // of options_.fixed_user
  std::map<std::string, uint32_t> uids_;
  std::map<std::string, uint32_t> gids_;
};

template <typename Fn>
void MountServer::Dispatch(fuse_req_t req, Fn fn) {
  auto* self = static_cast<MountServer*>(fuse_req_userdata(req));
  const fuse_ctx* ctx = fuse_req_ctx(req);
  const Caller caller{static_cast<uint32_t>(ctx->uid), static_cast<uint32_t>(ctx->gid)};
  const bool posted = self->loop_->Post([self, req, caller, fn = std::move(fn)]() mutable {
    Result<FileSystem*> fs = self->FileSystemOf(caller);
    if (!fs.ok()) {
      fuse_reply_err(req, ErrnoOf(fs.status()));
      return;
    }
    fn(*self, **fs);
  });
  if (!posted) fuse_reply_err(req, EIO);
}

// Mounts Granary at `mountpoint` and serves it until unmounted or signalled (SIGTERM,
// SIGINT, SIGHUP). `kernel_options` go to libfuse and the kernel (-o). Without `foreground`
// the process detaches once mounted. Returns the exit code (0 clean, 1 failure).
int RunMount(const std::string& mountpoint, bool foreground,
             const std::vector<std::string>& kernel_options, const ClientLoopOptions& loop_options,
             const MountOptions& options);

}  // namespace granary::mount
