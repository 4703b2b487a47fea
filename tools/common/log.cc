#include "tools/common/log.h"

#include <sys/time.h>

#include <cerrno>
#include <ctime>
#include <mutex>

namespace granary::tools {
namespace {

struct LogState {
  std::mutex mutex;  // RocksDB and pool threads never log, but a line must never interleave
  std::string node = "granary";
  LogLevel level = LogLevel::kInfo;
  FILE* out = stderr;
};

LogState& State() {
  static LogState* state = new LogState();  // never destroyed: logging works until exit
  return *state;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn" || text == "warning") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarn:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

bool InitLog(std::string node, LogLevel level, const std::string& file) {
  LogState& state = State();
  std::lock_guard<std::mutex> lock(state.mutex);
  state.node = std::move(node);
  state.level = level;
  if (!file.empty()) {
    FILE* out = std::fopen(file.c_str(), "a");
    if (out == nullptr) return false;
    setvbuf(out, nullptr, _IOLBF, 0);
    state.out = out;
  }
  return true;
}

void Log(LogLevel level, std::string_view message) {
  LogState& state = State();
  if (level < state.level) return;
  timeval now{};
  gettimeofday(&now, nullptr);
  tm utc{};
  gmtime_r(&now.tv_sec, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &utc);
  // One line per event: newlines inside a message would split it.
  std::string text(message);
  for (char& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::lock_guard<std::mutex> lock(state.mutex);
  std::fprintf(state.out, "%s.%03ldZ %s %s: %s\n", stamp, static_cast<long>(now.tv_usec / 1000),
               LogLevelName(level).data(), state.node.c_str(), text.c_str());
  std::fflush(state.out);
}

}  // namespace granary::tools
