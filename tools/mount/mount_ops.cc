// MountServer's namespace operations: lookup, attributes, mkdir, remove, rename, statfs.
#include <grp.h>
#include <linux/fs.h>
#include <pwd.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstring>

#include "core/common/limits.h"
#include "core/common/path.h"
#include "net/local_user.h"
#include "net/real_env.h"
#include "tools/mount/mount_server.h"

namespace granary::mount {
namespace {

constexpr uint32_t kNobody = 65534;

timespec TimeOf(int64_t ns) {
  timespec t{};
  t.tv_sec = ns / 1000000000;
  t.tv_nsec = ns % 1000000000;
  return t;
}

}  // namespace

std::string UserNameOf(uint32_t uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buffer[4096];
  if (getpwuid_r(uid, &pw, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return found->pw_name;
  }
  return "uid" + std::to_string(uid);
}

std::string GroupNameOf(uint32_t gid) {
  group gr{};
  group* found = nullptr;
  char buffer[4096];
  if (getgrgid_r(gid, &gr, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    return found->gr_name;
  }
  return "gid" + std::to_string(gid);
}

namespace {

InlineCache::Clock::duration Seconds(double s) {
  return std::chrono::duration_cast<InlineCache::Clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

MountServer::MountServer(MountOptions options)
    : options_(std::move(options)),
      inline_cache_(Seconds(options_.attr_timeout_s), options_.cache_bytes),
      dir_cache_(Seconds(options_.negative_timeout_s)) {}

Result<FileSystem*> MountServer::FileSystemOf(const Caller& caller) {
  if (!options_.fixed_user.empty()) {
    // Read once: parsing the group file for every request was a visible share of the CPU.
    if (!fixed_groups_) fixed_groups_ = net::LocalGroups(options_.fixed_user);
    return loop_->FileSystemFor(options_.fixed_user, *fixed_groups_);
  }
  const auto key = std::make_pair(caller.uid, caller.gid);
  if (auto it = callers_.find(key); it != callers_.end()) return it->second;
  const std::string user = UserNameOf(caller.uid);
  std::vector<std::string> groups = net::LocalGroups(user);
  const std::string primary = GroupNameOf(caller.gid);
  if (std::find(groups.begin(), groups.end(), primary) == groups.end()) {
    groups.insert(groups.begin(), primary);
  }
  if (groups.size() > kGroupsPerUserMax) groups.resize(kGroupsPerUserMax);
  Result<FileSystem*> fs = loop_->FileSystemFor(user, groups);
  if (fs.ok()) callers_[key] = *fs;
  return fs;
}

uint64_t MountServer::CacheKey(fuse_req_t req) const {
  if (!options_.fixed_user.empty()) return 0;
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return (static_cast<uint64_t>(static_cast<uint32_t>(ctx->uid)) << 32) |
         static_cast<uint32_t>(ctx->gid);
}

uint32_t MountServer::UidOf(const std::string& owner) {
  if (auto it = uids_.find(owner); it != uids_.end()) return it->second;
  passwd pw{};
  passwd* found = nullptr;
  char buffer[4096];
  uint32_t uid = kNobody;
  if (getpwnam_r(owner.c_str(), &pw, buffer, sizeof(buffer), &found) == 0 && found != nullptr) {
    uid = found->pw_uid;
  }
  if (uids_.size() < 65536) uids_[owner] = uid;
  return uid;
}

uint32_t MountServer::GidOf(const std::string& group_name) {
  if (auto it = gids_.find(group_name); it != gids_.end()) return it->second;
  group gr{};
  group* found = nullptr;
  char buffer[4096];
  uint32_t gid = kNobody;
  if (getgrnam_r(group_name.c_str(), &gr, buffer, sizeof(buffer), &found) == 0 &&
      found != nullptr) {
    gid = found->gr_gid;
  }
  if (gids_.size() < 65536) gids_[group_name] = gid;
  return gid;
}

struct stat MountServer::ToStat(const proto::FileStatus& status, uint64_t ino) {
  struct stat st {};
  const bool dir = status.type() == proto::INODE_TYPE_DIRECTORY;
  st.st_ino = ino;
  st.st_mode = (dir ? S_IFDIR : S_IFREG) | (status.mode() & 07777);
  st.st_nlink = dir ? 2 : 1;
  st.st_uid = UidOf(status.owner());
  st.st_gid = GidOf(status.group());
  st.st_size = dir ? 4096 : static_cast<off_t>(status.length_bytes());
  st.st_blksize = 1 << 20;
  st.st_blocks = (st.st_size + 511) / 512;
  st.st_mtim = TimeOf(status.mtime_ns());
  st.st_ctim = st.st_mtim;
  st.st_atim = TimeOf(status.atime_ns() != 0 ? status.atime_ns() : status.mtime_ns());
  return st;
}

struct stat MountServer::PendingStat(const Handle& handle) {
  struct stat st {};
  st.st_ino = handle.ino;
  st.st_mode = S_IFREG | (handle.pending_mode.value_or(handle.mode) & 07777);
  st.st_nlink = 1;
  const auto& user = handle.fs->options().user;
  st.st_uid = handle.pending_owner ? UidOf(handle.pending_owner->first) : UidOf(user.user());
  st.st_gid = handle.pending_owner ? GidOf(handle.pending_owner->second)
                                   : GidOf(user.groups_size() > 0 ? user.groups(0) : "");
  st.st_size = static_cast<off_t>(handle.window ? handle.window->size() : 0);
  st.st_blksize = 1 << 20;
  st.st_blocks = (st.st_size + 511) / 512;
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  st.st_mtim = st.st_ctim = st.st_atim = now;
  // Times set while written: what the finish will store.
  auto from_ns = [](int64_t ns) { return timespec{ns / 1000000000, ns % 1000000000}; };
  if (handle.pending_times && handle.pending_times->first >= 0) {
    st.st_mtim = from_ns(handle.pending_times->first);
  }
  if (handle.pending_times && handle.pending_times->second >= 0) {
    st.st_atim = from_ns(handle.pending_times->second);
  }
  return st;
}

Result<struct stat> MountServer::StatPath(FileSystem& fs, const std::string& path, uint64_t ino) {
  if (auto it = writing_.find(path); it != writing_.end()) return PendingStat(*it->second);
  Result<proto::FileStatus> status = fs.Stat(path);
  if (!status.ok()) return status.status();
  return ToStat(*status, ino);
}

std::optional<std::string> MountServer::PathOr(fuse_req_t req, uint64_t ino) {
  std::optional<std::string> path = inodes_.PathOf(ino);
  if (!path) fuse_reply_err(req, ENOENT);
  return path;
}

uint64_t MountServer::ReplyEntry(fuse_req_t req, const std::string& path, const struct stat& st) {
  fuse_entry_param entry{};
  entry.ino = inodes_.Ref(path);
  entry.attr = st;
  entry.attr.st_ino = entry.ino;
  entry.attr_timeout = options_.attr_timeout_s;
  entry.entry_timeout = options_.entry_timeout_s;
  if (fuse_reply_entry(req, &entry) != 0) {
    inodes_.Forget(entry.ino, 1);
    return 0;
  }
  return entry.ino;
}

void MountServer::Stash(uint64_t ino, std::unique_ptr<Reader> reader) {
  if (ino == 0 || options_.attr_timeout_s <= 0) return;
  while (stash_.size() >= kStashedReadersMax) stash_.erase(stash_.begin());
  const auto ttl =
      std::chrono::duration_cast<Duration>(std::chrono::duration<double>(options_.attr_timeout_s));
  stash_[ino] = Stashed{std::move(reader), loop_->env().Now() + ttl};
}

std::unique_ptr<Reader> MountServer::TakeStashed(uint64_t ino) {
  auto it = stash_.find(ino);
  if (it == stash_.end()) return nullptr;
  Stashed stashed = std::move(it->second);
  stash_.erase(it);
  if (loop_->env().Now() > stashed.expires) return nullptr;
  return std::move(stashed.reader);
}

void MountServer::DropStashed(const std::string& path) {
  if (std::optional<uint64_t> ino = inodes_.Find(path)) {
    stash_.erase(*ino);
    inline_cache_.Drop(*ino);
  }
}

void MountServer::Lookup(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name) {
  std::optional<std::string> dir = PathOr(req, parent);
  if (!dir) return;
  const std::string path = JoinPath(*dir, name);
  if (!writing_.contains(path)) {
    // Opened rather than stat'ed: the same one round trip brings a small file's bytes, kept
    // for the open that usually follows. Directories (and files this user may not read)
    // answer with an error and are stat'ed instead.
    std::unique_ptr<OpenBatcher>& batcher = batchers_[&fs];
    if (batcher == nullptr) batcher = std::make_unique<OpenBatcher>(fs);
    Result<std::unique_ptr<Reader>> opened = batcher->Open(path);
    if (opened.ok()) {
      Reader& reader = **opened;
      const proto::FileStatus status = reader.status();
      const uint64_t key = CacheKey(req);  // before the reply, which ends the request
      const uint64_t ino = ReplyEntry(req, path, ToStat(status, 0));
      if (ino == 0) return;
      if (status.inline_data() || status.length_bytes() == 0) {
        const struct stat st = ToStat(status, ino);
        inline_cache_.Put(ino, status.mtime_ns(), reader.TakeInlineData(), &st,
                          /*pages_current=*/false, key);
      } else {
        Stash(ino, std::move(*opened));
      }
      return;
    }
    const StatusCode code = opened.status().code();
    if (code != StatusCode::kIsADirectory && code != StatusCode::kPermissionDenied) {
      const uint64_t key = CacheKey(req);
      ReplyLookupError(req, opened.status());
      if (code == StatusCode::kNotFound) MaybeListAgain(fs, parent, *dir, key);
      return;
    }
  }
  Result<struct stat> st = StatPath(fs, path, 0);
  if (!st.ok()) {
    const uint64_t key = CacheKey(req);
    ReplyLookupError(req, st.status());
    if (st.status().code() == StatusCode::kNotFound) MaybeListAgain(fs, parent, *dir, key);
    return;
  }
  ReplyEntry(req, path, *st);
}

void MountServer::ReplyNotFound(fuse_req_t req) {
  if (options_.negative_timeout_s > 0) {
    fuse_entry_param entry{};
    entry.entry_timeout = options_.negative_timeout_s;  // a cached "no such entry"
    fuse_reply_entry(req, &entry);
    return;
  }
  fuse_reply_err(req, ENOENT);
}

void MountServer::ReplyLookupError(fuse_req_t req, const Status& status) {
  if (status.code() == StatusCode::kNotFound) return ReplyNotFound(req);
  fuse_reply_err(req, ErrnoOf(status));
}

std::vector<std::string> MountServer::NamesIn(const std::string& dir,
                                              const std::vector<proto::FileStatus>& listed) {
  std::vector<std::string> names;
  names.reserve(listed.size());
  for (const proto::FileStatus& status : listed) names.push_back(status.name());
  const std::string prefix = dir == "/" ? dir : dir + "/";
  for (auto it = writing_.lower_bound(prefix); it != writing_.end(); ++it) {
    if (it->first.compare(0, prefix.size(), prefix) != 0) break;
    const std::string name = it->first.substr(prefix.size());
    if (name.find('/') == std::string::npos) names.push_back(name);
  }
  return names;
}

void MountServer::MaybeListAgain(FileSystem& fs, uint64_t ino, const std::string& dir,
                                 uint64_t caller) {
  if (!dir_cache_.ListAgain(ino, kListAgainNamesMax)) return;
  Result<std::vector<proto::FileStatus>> listed = fs.ListAll(dir);
  if (!listed.ok() || listed->size() > kListAgainNamesMax) return dir_cache_.Failed(ino);
  dir_cache_.Known(ino, NamesIn(dir, *listed), caller);
}

void MountServer::GetAttr(fuse_req_t req, FileSystem& fs, uint64_t ino) {
  std::optional<std::string> path = PathOr(req, ino);
  if (!path) return;
  Result<struct stat> st = StatPath(fs, *path, ino);
  if (!st.ok()) {
    fuse_reply_err(req, ErrnoOf(st.status()));
    return;
  }
  fuse_reply_attr(req, &*st, options_.attr_timeout_s);
}

void MountServer::Mkdir(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name,
                        uint32_t mode) {
  if (options_.read_only) return (void)fuse_reply_err(req, EROFS);
  std::optional<std::string> dir = PathOr(req, parent);
  if (!dir) return;
  const std::string path = JoinPath(*dir, name);
  const Status made = fs.Mkdirs(path, mode & 07777, /*create_parents=*/false);
  if (!made.ok()) return (void)fuse_reply_err(req, ErrnoOf(made));
  dir_cache_.Added(parent, name);
  Result<struct stat> st = StatPath(fs, path, 0);
  if (!st.ok()) return (void)fuse_reply_err(req, ErrnoOf(st.status()));
  const uint64_t ino = inodes_.Ref(path, 0);
  dir_cache_.Made(ino, CacheKey(req));  // before the reply, after which names are looked up
  if (ReplyEntry(req, path, *st) == 0) inodes_.DropIfUnreferenced(ino);
}

// unlink and rmdir: the kernel has checked the entry's type (EISDIR, ENOTDIR) from its
// lookup; a non-recursive delete refuses a directory that is not empty.
void MountServer::Remove(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name) {
  if (options_.read_only) return (void)fuse_reply_err(req, EROFS);
  std::optional<std::string> dir = PathOr(req, parent);
  if (!dir) return;
  const std::string path = JoinPath(*dir, name);
  if (const Status idle = AwaitWriter(path, Await::kClosedOnly); !idle.ok()) {
    return (void)fuse_reply_err(req, ErrnoOf(idle));
  }
  if (writing_.contains(path)) return (void)fuse_reply_err(req, EBUSY);
  DropStashed(path);
  const Status deleted = fs.Delete(path, /*recursive=*/false);
  if (deleted.ok()) {
    if (std::optional<uint64_t> ino = inodes_.Find(path)) dir_cache_.Drop(*ino);
    dir_cache_.Removed(parent, name);
    inodes_.Removed(path);
  }
  fuse_reply_err(req, ErrnoOf(deleted));
}

void MountServer::Rename(fuse_req_t req, FileSystem& fs, uint64_t parent, const std::string& name,
                         uint64_t new_parent, const std::string& new_name, unsigned int flags) {
  if (options_.read_only) return (void)fuse_reply_err(req, EROFS);
  if ((flags & ~static_cast<unsigned int>(RENAME_NOREPLACE)) != 0) {
    return (void)fuse_reply_err(req, EINVAL);  // RENAME_EXCHANGE, RENAME_WHITEOUT
  }
  std::optional<std::string> from_dir = PathOr(req, parent);
  if (!from_dir) return;
  std::optional<std::string> to_dir = PathOr(req, new_parent);
  if (!to_dir) return;
  const std::string from = JoinPath(*from_dir, name);
  const std::string to = JoinPath(*to_dir, new_name);
  for (const std::string* p : {&from, &to}) {
    if (const Status idle = AwaitWriter(*p, Await::kClosedOnly); !idle.ok()) {
      return (void)fuse_reply_err(req, ErrnoOf(idle));
    }
  }
  if (writing_.contains(from) || writing_.contains(to)) return (void)fuse_reply_err(req, EBUSY);
  if (flags & RENAME_NOREPLACE) {
    // Checked, then renamed: another client creating `to` in between is replaced.
    Result<proto::FileStatus> existing = fs.Stat(to);
    if (existing.ok()) return (void)fuse_reply_err(req, EEXIST);
    if (existing.status().code() != StatusCode::kNotFound) {
      return (void)fuse_reply_err(req, ErrnoOf(existing.status()));
    }
  }
  DropStashed(from);
  DropStashed(to);
  // Added before the rename is answered (a name too many is harmless), removed after.
  dir_cache_.Added(new_parent, new_name);
  const Status renamed = fs.Rename(from, to);
  if (renamed.ok()) {
    if (std::optional<uint64_t> replaced = inodes_.Find(to)) dir_cache_.Drop(*replaced);
    dir_cache_.Removed(parent, name);
    inodes_.Renamed(from, to);
  }
  fuse_reply_err(req, ErrnoOf(renamed));
}

void MountServer::StatFs(fuse_req_t req, FileSystem& fs) {
  Result<proto::ClusterReportReply> report = fs.Report();
  if (!report.ok()) return (void)fuse_reply_err(req, ErrnoOf(report.status()));
  uint64_t capacity = 0, used = 0;
  for (const auto& dn : report->datanodes()) {
    if (!dn.live()) continue;
    capacity += dn.capacity_bytes();
    used += std::min(dn.used_bytes(), dn.capacity_bytes());
  }
  constexpr uint64_t kBlock = 4096;
  struct statvfs st {};
  st.f_bsize = 1 << 20;
  st.f_frsize = kBlock;
  st.f_blocks = capacity / kBlock;
  st.f_bfree = st.f_bavail = (capacity - used) / kBlock;
  const uint64_t inodes = report->files() + report->directories();
  st.f_files = inodes + (uint64_t{1} << 32);
  st.f_ffree = st.f_favail = uint64_t{1} << 32;
  st.f_namemax = kNameBytesMax;
  fuse_reply_statfs(req, &st);
}

}  // namespace granary::mount
