#include "tools/common/process_control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

namespace granary::tools {

Result<pid_t> SpawnDetached(const std::vector<std::string>& argv, const std::string& log_file) {
  const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    return Status(StatusCode::kIoError, "open " + log_file + ": " + std::strerror(errno));
  }
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    return Status(StatusCode::kIoError, std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: its own session (a terminal's ^C does not reach it), no inherited stdin.
    ::setsid();
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, STDIN_FILENO);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execv(args[0], args.data());
    const std::string message = std::string("exec ") + args[0] + ": " + std::strerror(errno) + "\n";
    (void)!::write(STDERR_FILENO, message.data(), message.size());
    ::_exit(127);
  }
  ::close(log_fd);
  return pid;
}

Status WritePidFile(const std::string& path, pid_t pid) {
  const std::string temp = path + ".tmp";
  {
    std::ofstream out(temp, std::ios::trunc);
    out << pid << "\n";
    if (!out) return Status(StatusCode::kIoError, "write " + temp);
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    return Status(StatusCode::kIoError, "rename " + temp + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

std::optional<pid_t> ReadPidFile(const std::string& path) {
  std::ifstream in(path);
  long pid = 0;
  if (!(in >> pid) || pid <= 1) return std::nullopt;
  return static_cast<pid_t>(pid);
}

bool IsOurProcess(pid_t pid, const std::string& marker) {
  if (pid <= 1) return false;
  // A zombie (state Z) has exited: it only waits for its parent to reap it.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(stat, line)) return false;
  const size_t paren = line.rfind(')');
  if (paren == std::string::npos || paren + 2 >= line.size() || line[paren + 2] == 'Z') {
    return false;
  }
  std::ifstream cmdline("/proc/" + std::to_string(pid) + "/cmdline", std::ios::binary);
  std::stringstream text;
  text << cmdline.rdbuf();
  std::string args = text.str();
  for (char& c : args) {
    if (c == '\0') c = ' ';
  }
  return args.find(marker) != std::string::npos;
}

bool SignalOurProcess(pid_t pid, const std::string& marker, int signal) {
  if (!IsOurProcess(pid, marker)) return false;
  return ::kill(pid, signal) == 0;
}

bool WaitStarted(pid_t pid, const std::string& marker, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (IsOurProcess(pid, marker)) return true;
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return false;  // exited (exec failed?)
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool WaitGone(pid_t pid, const std::string& marker, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    ::waitpid(pid, &status, WNOHANG);  // reaps our own children; harmless for others
    if (!IsOurProcess(pid, marker)) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string TailOfFile(const std::string& path, size_t lines) {
  std::ifstream in(path);
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const std::string& l : last) out += "  " + l + "\n";
  return out;
}

}  // namespace granary::tools
