// The `granary` commands for files that grow (issue 16): append, cat --follow, recover-lease.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>

#include "tools/common/cli_commands.h"
#include "tools/common/remote_path.h"

namespace granary::tools {
namespace {

constexpr size_t kAppendReadBytes = 1 << 20;
// How long a read of standard input waits before the writer renews its lease.
constexpr int kStdinWaitMs = 1000;

// One read(2) of up to kAppendReadBytes, off the fiber thread; an empty string at the end of
// the input, nullopt-like kTimeout when standard input had nothing for kStdinWaitMs.
Result<std::string> ReadSome(CommandContext& ctx, int fd, bool wait_bounded) {
  std::string buffer(kAppendReadBytes, '\0');
  ssize_t got = 0;
  int error = 0;
  bool timed_out = false;
  ctx.env.RunBlocking([&] {
    if (wait_bounded) {
      pollfd ready{fd, POLLIN, 0};
      const int n = ::poll(&ready, 1, kStdinWaitMs);
      if (n == 0) {
        timed_out = true;
        return;
      }
    }
    do {
      got = ::read(fd, buffer.data(), buffer.size());
    } while (got < 0 && errno == EINTR);
    if (got < 0) error = errno;
  });
  if (timed_out) return Status(StatusCode::kTimeout, "no input yet");
  if (error != 0) return Status(StatusCode::kIoError, std::string("read: ") + std::strerror(error));
  buffer.resize(static_cast<size_t>(got));
  return buffer;
}

}  // namespace

int Append(CommandContext& ctx, const std::string& local, const std::string& dest) {
  const std::string path = NormalizeRemote(dest);
  const bool from_stdin = local == "-";
  const int fd = from_stdin ? STDIN_FILENO : ::open(local.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    ctx.Fail(local, std::string("open: ") + std::strerror(errno));
    return ctx.ExitCode();
  }
  auto writer = ctx.fs.Append(path);
  if (!writer.ok()) {
    if (!from_stdin) ::close(fd);
    ctx.Fail(path, writer.status());
    return ctx.ExitCode();
  }
  Status status;
  for (;;) {
    Result<std::string> piece = ReadSome(ctx, fd, from_stdin);
    if (piece.code() == StatusCode::kTimeout) {
      status = (*writer)->KeepAlive();
      if (!status.ok()) break;
      continue;
    }
    if (!piece.ok()) {
      ctx.Fail(local, piece.status());
      status = (*writer)->Close();  // what was read so far stays appended
      if (!from_stdin) ::close(fd);
      if (!status.ok()) ctx.Fail(path, status);
      return ctx.ExitCode();
    }
    if (piece->empty()) break;
    status = (*writer)->Write(*piece);
    // A pipe's bytes are visible to readers as they arrive (`tail -f log | granary append -`).
    if (status.ok() && from_stdin) status = (*writer)->Flush();
    if (!status.ok()) break;
  }
  if (!from_stdin) ::close(fd);
  if (status.ok()) status = (*writer)->Close();
  if (!status.ok()) ctx.Fail(path, status);
  return ctx.ExitCode();
}

int CatFollow(CommandContext& ctx, const std::string& raw, uint32_t poll_ms) {
  const std::string path = NormalizeRemote(raw);
  auto reader = ctx.fs.Open(path);
  if (!reader.ok()) {
    ctx.Fail(path, reader.status());
    return ctx.ExitCode();
  }
  for (;;) {
    auto piece = (*reader)->Read(1 << 20);
    if (!piece.ok()) {
      ctx.Fail(path, piece.status());
      return ctx.ExitCode();
    }
    if (!piece->empty()) {
      if (std::fwrite(piece->data(), 1, piece->size(), stdout) != piece->size()) {
        ctx.Fail("(standard output)", "write failed");
        return ctx.ExitCode();
      }
      continue;
    }
    // At the end of what is visible: done once the file is closed and read to its end.
    std::fflush(stdout);
    if (!(*reader)->status().under_construction()) break;
    if (!ctx.env.SleepFor(std::chrono::milliseconds(poll_ms)).ok()) break;
    const Status refreshed = (*reader)->Refresh();
    if (!refreshed.ok()) {
      ctx.Fail(path, refreshed);
      return ctx.ExitCode();
    }
  }
  std::fflush(stdout);
  return ctx.ExitCode();
}

int RecoverLease(CommandContext& ctx, const std::string& raw, uint32_t timeout_ms) {
  const std::string path = NormalizeRemote(raw);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    Result<bool> closed = ctx.fs.RecoverLease(path);
    if (!closed.ok()) {
      ctx.Fail(path, closed.status());
      return ctx.ExitCode();
    }
    if (*closed) {
      auto stat = ctx.fs.Stat(path);
      std::printf("%s: closed at %llu bytes\n", path.c_str(),
                  stat.ok() ? static_cast<unsigned long long>(stat->length_bytes()) : 0ull);
      return ctx.ExitCode();
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      ctx.Fail(path, "lease recovery did not finish within " + std::to_string(timeout_ms) + " ms");
      return ctx.ExitCode();
    }
    if (!ctx.env.SleepFor(std::chrono::milliseconds(200)).ok()) return 1;
  }
}

}  // namespace granary::tools
