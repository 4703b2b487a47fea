// Background processes tracked by PID files, for granary-cluster. A process is signalled
// only through the PID its file names, and only while /proc/<pid>/cmdline still contains the
// marker it was started with (so that a recycled PID is never signalled). Never by name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"

namespace granary::tools {

// Starts `argv` (argv[0] an absolute path) in a new session, stdin from /dev/null, stdout and
// stderr appended to `log_file`; returns its PID.
Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const std::string& log_file);

Status WritePidFile(const std::string& path, pid_t pid);
// The PID in the file; nullopt when the file is missing or unreadable.
std::optional<pid_t> ReadPidFile(const std::string& path);

// True while `pid` is running (not a zombie) and its command line contains `marker`.
bool IsOurProcess(pid_t pid, const std::string& marker);

// Sends `signal` when IsOurProcess; false otherwise.
bool SignalOurProcess(pid_t pid, const std::string& marker, int signal);

// Waits until our child `pid` runs the program with `marker` (it has exec'd), up to `limit`;
// false when it exited first or never did.
bool WaitStarted(pid_t pid, const std::string& marker, std::chrono::milliseconds limit);

// Waits until `pid` is no longer our process, up to `limit`; true when it is gone. Reaps it
// when it is a child of this process.
bool WaitGone(pid_t pid, const std::string& marker, std::chrono::milliseconds limit);

// The last `lines` lines of a text file (for error messages).
std::string TailOfFile(const std::string& path, size_t lines);

}  // namespace granary::tools
