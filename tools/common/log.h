// The tools' log: one line per event, "<UTC time> <LEVEL> <node>: <message>", on stderr or
// appended to a file. One logger per process (the tools' main() owns the configuration);
// core/ does not log, so the tools log what they start, stop and observe of their node.
#pragma once

#include <cstdio>
#include <optional>
#include <string>
#include <string_view>

namespace granary::tools {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn"/"warning", "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// Configures the process's log. `file` empty: stderr. False (with errno set) when the file
// cannot be opened for appending.
bool InitLog(std::string node, LogLevel level, const std::string& file = {});

void Log(LogLevel level, std::string_view message);
inline void LogDebug(std::string_view message) { Log(LogLevel::kDebug, message); }
inline void LogInfo(std::string_view message) { Log(LogLevel::kInfo, message); }
inline void LogWarn(std::string_view message) { Log(LogLevel::kWarn, message); }
inline void LogError(std::string_view message) { Log(LogLevel::kError, message); }

}  // namespace granary::tools
