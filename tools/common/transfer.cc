// put and get of the `granary` CLI: many files in flight at once (fibers on the one RealEnv,
// each with its own Writer or Reader), local file I/O on the env's blocking pool, and a
// progress bar on stderr when it is a terminal.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <boost/fiber/operations.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>

#include "tools/common/cli_commands.h"
#include "tools/common/remote_path.h"

namespace granary::tools {
namespace {

namespace stdfs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

constexpr uint64_t kChunkBytes = 1 << 20;
// A progress bar appears only for transfers still running after this long.
constexpr auto kProgressDelay = std::chrono::seconds(1);

struct Job {
  std::string source;
  std::string target;
  uint64_t bytes = 0;
};

class Progress {
 public:
  Progress(bool wanted, uint64_t files, uint64_t bytes)
      : enabled_(wanted && isatty(STDERR_FILENO) == 1),
        files_(files),
        bytes_(bytes),
        start_(SteadyClock::now()) {}

  void Add(uint64_t bytes) { done_bytes_ += bytes; }
  void FileDone() { ++done_files_; }

  void Draw() {
    if (!enabled_ || SteadyClock::now() - start_ < kProgressDelay) return;
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - start_).count();
    const double fraction =
        bytes_ > 0
            ? std::min(1.0, static_cast<double>(done_bytes_) / static_cast<double>(bytes_))
            : (files_ > 0 ? static_cast<double>(done_files_) / static_cast<double>(files_) : 1.0);
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(fraction * kWidth);
    std::string bar(static_cast<size_t>(filled), '=');
    if (filled < kWidth) bar += '>';
    bar.resize(kWidth, ' ');
    const uint64_t rate = seconds > 0 ? static_cast<uint64_t>(done_bytes_ / seconds) : 0;
    std::fprintf(stderr, "\r[%s] %3d%% %s / %s  %s/s  %llu/%llu files ", bar.c_str(),
                 static_cast<int>(fraction * 100), HumanBytes(done_bytes_).c_str(),
                 HumanBytes(bytes_).c_str(), HumanBytes(rate).c_str(),
                 static_cast<unsigned long long>(done_files_),
                 static_cast<unsigned long long>(files_));
    drawn_ = true;
  }

  void Finish() {
    if (!drawn_) return;
    Draw();
    std::fprintf(stderr, "\n");
  }

 private:
  const bool enabled_;
  const uint64_t files_;
  const uint64_t bytes_;
  const SteadyClock::time_point start_;
  uint64_t done_bytes_ = 0;
  uint64_t done_files_ = 0;
  bool drawn_ = false;
};

// Runs `transfer` over every job with at most `parallel` in flight, each on its own fiber,
// and draws the progress until all have finished. Failures are the transfer's to report.
void RunJobs(CommandContext& ctx, const std::vector<Job>& jobs, uint32_t parallel,
             Progress& progress, const std::function<void(const Job&)>& transfer) {
  size_t next = 0;
  size_t running = 0;
  const size_t workers = std::min<size_t>(std::max<uint32_t>(parallel, 1), jobs.size());
  for (size_t i = 0; i < workers && !ctx.env.stopping(); ++i) {
    ++running;
    ctx.env.Spawn("transfer", [&] {
      while (next < jobs.size() && !ctx.env.stopping()) transfer(jobs[next++]);
      --running;
    });
  }
  // The workers point into this frame: wait for every one, even when interrupted.
  while (running > 0) {
    if (!ctx.env.SleepFor(std::chrono::milliseconds(100)).ok()) boost::this_fiber::yield();
    progress.Draw();
  }
  progress.Finish();
  if (next < jobs.size()) ctx.Fail(jobs[next].source, "interrupted");
}

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// pread of up to `length` bytes on the blocking pool; nullopt-like empty error on failure.
Result<std::string> ReadLocal(CommandContext& ctx, int fd, uint64_t length, bool positional,
                              uint64_t offset) {
  std::string buffer(length, '\0');
  ssize_t got = 0;
  int error = 0;
  ctx.env.RunBlocking([&] {
    size_t filled = 0;
    while (filled < length) {
      const ssize_t n = positional ? ::pread(fd, buffer.data() + filled, length - filled,
                                             static_cast<off_t>(offset + filled))
                                   : ::read(fd, buffer.data() + filled, length - filled);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = errno;
        break;
      }
      if (n == 0) break;
      filled += static_cast<size_t>(n);
    }
    got = static_cast<ssize_t>(filled);
  });
  if (error != 0) return Status(StatusCode::kIoError, std::string("read: ") + std::strerror(error));
  buffer.resize(static_cast<size_t>(got));
  return buffer;
}

Status WriteLocal(CommandContext& ctx, int fd, const std::string& data) {
  int error = 0;
  ctx.env.RunBlocking([&] {
    size_t done = 0;
    while (done < data.size()) {
      const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        error = errno;
        return;
      }
      done += static_cast<size_t>(n);
    }
  });
  if (error != 0)
    return Status(StatusCode::kIoError, std::string("write: ") + std::strerror(error));
  return Status::Ok();
}

void PutOne(CommandContext& ctx, const TransferFlags& flags, Progress& progress, const Job& job) {
  const bool from_stdin = job.source == "-";
  const int fd = from_stdin ? STDIN_FILENO : ::open(job.source.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ctx.Fail(job.source, Errno("open"));
    return;
  }
  CreateOptions options;
  options.overwrite = flags.force;
  options.create_parents = true;
  Status status;
  auto writer = ctx.fs.Create(job.target, options);
  if (!writer.ok()) {
    status = writer.status();
  } else {
    uint64_t offset = 0;
    for (;;) {
      auto chunk = ReadLocal(ctx, fd, kChunkBytes, !from_stdin, offset);
      if (!chunk.ok()) {
        ctx.Fail(job.source, chunk.status());
        if (!from_stdin) ::close(fd);
        return;  // the unclosed file's lease is recovered by the namenode
      }
      if (chunk->empty()) break;
      offset += chunk->size();
      status = (*writer)->Write(*chunk);
      if (!status.ok()) break;
      progress.Add(chunk->size());
    }
    if (status.ok()) status = (*writer)->Close();
  }
  if (!from_stdin) ::close(fd);
  if (!status.ok()) {
    ctx.Fail(job.target, status);
    return;
  }
  progress.FileDone();
}

void GetOne(CommandContext& ctx, const TransferFlags& flags, Progress& progress, const Job& job) {
  if (!flags.force && ::access(job.target.c_str(), F_OK) == 0) {
    ctx.Fail(job.target, "file exists (use -f to overwrite)");
    return;
  }
  auto reader = ctx.fs.Open(job.source);
  if (!reader.ok()) {
    ctx.Fail(job.source, reader.status());
    return;
  }
  // Bytes land in a side file renamed over the target once complete: a failed get leaves
  // no truncated file behind.
  const std::string part = job.target + ".granary-part";
  const int fd = ::open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ctx.Fail(part, Errno("create"));
    return;
  }
  Status status;
  for (;;) {
    auto piece = (*reader)->Read(kChunkBytes);
    if (!piece.ok()) {
      status = piece.status().WithContext(job.source);
      break;
    }
    if (piece->empty()) break;
    status = WriteLocal(ctx, fd, *piece);
    if (!status.ok()) {
      status = status.WithContext(part);
      break;
    }
    progress.Add(piece->size());
  }
  if (::close(fd) != 0 && status.ok())
    status = Status(StatusCode::kIoError, Errno("close " + part));
  if (status.ok() && ::rename(part.c_str(), job.target.c_str()) != 0) {
    status = Status(StatusCode::kIoError, Errno("rename to " + job.target));
  }
  if (!status.ok()) {
    ::unlink(part.c_str());
    ctx.Fail(job.source, status);
    return;
  }
  progress.FileDone();
}

bool IsDir(const proto::FileStatus& s) { return s.type() == proto::INODE_TYPE_DIRECTORY; }

// The name a local file or directory gets at its destination ("a/b/" and "a/b" give "b",
// "." the current directory's name).
std::string LocalBaseName(const std::string& source) {
  std::error_code error;
  std::string text = stdfs::absolute(source, error).lexically_normal().string();
  while (text.size() > 1 && text.back() == '/') text.pop_back();
  const std::string name = stdfs::path(text).filename().string();
  return name.empty() ? "root" : name;
}

}  // namespace

int Put(CommandContext& ctx, std::vector<std::string> operands, const TransferFlags& flags) {
  const std::string dest = NormalizeRemote(operands.back());
  operands.pop_back();
  auto dest_status = ctx.fs.Stat(dest);
  const bool into_dir = dest_status.ok() && IsDir(*dest_status);
  if (operands.size() > 1 && !into_dir) {
    ctx.Fail(dest, dest_status.ok() ? "not a directory" : dest_status.status().ToString());
    return ctx.ExitCode();
  }
  std::vector<Job> jobs;
  std::vector<std::string> directories;
  uint64_t total = 0;
  for (const std::string& source : operands) {
    if (source == "-") {
      jobs.push_back({source, into_dir ? JoinPath(dest, "stdin") : dest, 0});
      continue;
    }
    std::error_code error;
    const stdfs::file_status status = stdfs::status(source, error);
    if (error) {
      ctx.Fail(source, error.message());
      continue;
    }
    const std::string top = into_dir ? JoinPath(dest, LocalBaseName(source)) : dest;
    if (stdfs::is_regular_file(status)) {
      const uint64_t bytes = stdfs::file_size(source, error);
      jobs.push_back({source, top, error ? 0 : bytes});
      total += jobs.back().bytes;
      continue;
    }
    if (!stdfs::is_directory(status)) {
      ctx.Fail(source, "not a regular file or directory");
      continue;
    }
    if (!flags.recursive) {
      ctx.Fail(source, "is a directory (use put -r)");
      continue;
    }
    directories.push_back(top);
    const stdfs::path base(source);
    for (auto it = stdfs::recursive_directory_iterator(
             base, stdfs::directory_options::follow_directory_symlink, error);
         !error && it != stdfs::recursive_directory_iterator(); it.increment(error)) {
      const std::string relative = stdfs::relative(it->path(), base).generic_string();
      const std::string target = JoinPath(top, relative);
      if (it->is_directory()) {
        directories.push_back(target);
      } else if (it->is_regular_file()) {
        std::error_code size_error;
        const uint64_t bytes = it->file_size(size_error);
        jobs.push_back({it->path().string(), target, size_error ? 0 : bytes});
        total += jobs.back().bytes;
      } else {
        ctx.Fail(it->path().string(), "not a regular file or directory; skipped");
      }
    }
    if (error) ctx.Fail(source, error.message());
  }
  // Directories first (parents before children), so that empty ones are copied too.
  std::sort(directories.begin(), directories.end());
  for (const std::string& dir : directories) {
    if (Status s = ctx.fs.Mkdirs(dir, 0, true); !s.ok()) ctx.Fail(dir, s);
  }
  Progress progress(flags.progress, jobs.size(), total);
  RunJobs(ctx, jobs, flags.parallel, progress,
          [&](const Job& job) { PutOne(ctx, flags, progress, job); });
  return ctx.ExitCode();
}

int Get(CommandContext& ctx, std::vector<std::string> operands, const TransferFlags& flags) {
  const std::string dest = operands.back();
  operands.pop_back();
  std::error_code error;
  const bool into_dir = stdfs::is_directory(dest, error);
  if (operands.size() > 1 && !into_dir) {
    ctx.Fail(dest, "not a directory");
    return ctx.ExitCode();
  }
  std::vector<Job> jobs;
  uint64_t total = 0;
  for (const std::string& raw : operands) {
    const std::string source = NormalizeRemote(raw);
    auto status = ctx.fs.Stat(source);
    if (!status.ok()) {
      ctx.Fail(source, status.status());
      continue;
    }
    const std::string top =
        into_dir ? (stdfs::path(dest) / (source == "/" ? "root" : BaseName(source))).string()
                 : dest;
    if (!IsDir(*status)) {
      jobs.push_back({source, top, status->length_bytes()});
      total += status->length_bytes();
      continue;
    }
    if (!flags.recursive) {
      ctx.Fail(source, "is a directory (use get -r)");
      continue;
    }
    // Walk the remote tree: create local directories now, queue the files.
    std::vector<std::pair<std::string, std::string>> stack{{source, top}};
    while (!stack.empty()) {
      auto [remote, local] = stack.back();
      stack.pop_back();
      stdfs::create_directories(local, error);
      if (error) {
        ctx.Fail(local, error.message());
        continue;
      }
      auto entries = ctx.fs.ListAll(remote);
      if (!entries.ok()) {
        ctx.Fail(remote, entries.status());
        continue;
      }
      for (const proto::FileStatus& entry : *entries) {
        const std::string child_remote = JoinPath(remote, entry.name());
        const std::string child_local = (stdfs::path(local) / entry.name()).string();
        if (IsDir(entry)) {
          stack.emplace_back(child_remote, child_local);
        } else {
          jobs.push_back({child_remote, child_local, entry.length_bytes()});
          total += entry.length_bytes();
        }
      }
    }
  }
  Progress progress(flags.progress, jobs.size(), total);
  RunJobs(ctx, jobs, flags.parallel, progress,
          [&](const Job& job) { GetOne(ctx, flags, progress, job); });
  return ctx.ExitCode();
}

}  // namespace granary::tools
