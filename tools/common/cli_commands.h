// The `granary` CLI's commands (tools/granary_cli.cc parses the flags). Each runs on the
// client runtime's main fiber (client_session.h) and returns the process's exit code:
// 0 when everything succeeded, 1 when anything failed (each failure printed as one line
// "granary <command>: <path>: <reason>" on stderr).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "net/real_env.h"
#include "tools/common/ha_status.h"

namespace granary::tools {

struct CommandContext {
  net::RealEnv& env;
  FileSystem& fs;
  std::string command;  // for messages: "ls", "put", ...
  int failures = 0;

  // Prints "granary <command>: <path>: <reason>" and counts a failure.
  void Fail(const std::string& path, const std::string& reason);
  void Fail(const std::string& path, const Status& status) { Fail(path, status.ToString()); }
  int ExitCode() const { return failures == 0 ? 0 : 1; }
};

struct LsFlags {
  bool recursive = false;
  bool long_format = false;
};
int Ls(CommandContext& ctx, const std::vector<std::string>& paths, const LsFlags& flags);
int Mkdir(CommandContext& ctx, const std::vector<std::string>& paths, bool parents);
int Rm(CommandContext& ctx, const std::vector<std::string>& paths, bool recursive, bool force);
int Mv(CommandContext& ctx, std::vector<std::string> operands);
int Stat(CommandContext& ctx, const std::vector<std::string>& paths, bool json);
int Du(CommandContext& ctx, const std::vector<std::string>& paths, bool summary, bool human);
// `mode` is octal ("755", "0644").
int Chmod(CommandContext& ctx, uint32_t mode, const std::vector<std::string>& paths,
          bool recursive);
// `owner_group` is OWNER, OWNER:GROUP or :GROUP.
int Chown(CommandContext& ctx, const std::string& owner, const std::string& group,
          const std::vector<std::string>& paths, bool recursive);
int Setrep(CommandContext& ctx, uint32_t replication, const std::vector<std::string>& paths);
int Cat(CommandContext& ctx, const std::vector<std::string>& paths);
// append LOCAL|- DEST: appends a local file, or standard input ("-", flushed as each read
// returns, so that followers see lines as they come), to an existing file.
int Append(CommandContext& ctx, const std::string& local, const std::string& dest);
// cat --follow PATH: prints the file as it grows (asking again every `poll_ms`) until it is
// closed and read to its end.
int CatFollow(CommandContext& ctx, const std::string& path, uint32_t poll_ms);
// recover-lease PATH: closes a file whose writer died (lease recovery now); fails when it is
// not closed within `timeout_ms`.
int RecoverLease(CommandContext& ctx, const std::string& path, uint32_t timeout_ms);
// The namenodes' roles (nn.HaStatus of every namenode of the list) and the serving one's
// nn.ClusterReport.
int Report(CommandContext& ctx, bool json);
// Asks the active namenode to hand over (nn.Failover), to `to` when not empty (one of the
// list), then polls nn.HaStatus until another (or that) namenode is active, up to
// `wait_seconds`, and prints its address.
int Failover(CommandContext& ctx, const std::string& to, uint32_t wait_seconds);
// nn.HaStatus of every namenode of the client's list, each with the client's rpc timeout.
std::vector<NamenodeHa> AskNamenodes(CommandContext& ctx);
// The `namenodes` array of `report --json`, and its text lines.
nlohmann::json NamenodesJson(const std::vector<NamenodeHa>& namenodes);
void PrintNamenodes(const std::vector<NamenodeHa>& namenodes);
int Fsck(CommandContext& ctx, const std::string& path, bool read, bool json);
// quota set PATH [--names N] [--bytes B] | quota clear PATH | quota show [--json] PATH.
int QuotaSet(CommandContext& ctx, const std::string& path, std::optional<uint64_t> names_max,
             std::optional<uint64_t> bytes_max);
int QuotaClear(CommandContext& ctx, const std::string& path);
int QuotaShow(CommandContext& ctx, const std::string& path, bool json);

struct TransferFlags {
  bool recursive = false;
  bool force = false;      // overwrite existing destination files
  uint32_t parallel = 16;  // files in flight at once
  bool progress = true;    // a progress bar when stderr is a terminal
};
// put LOCAL... DEST ("-" reads standard input).
int Put(CommandContext& ctx, std::vector<std::string> operands, const TransferFlags& flags);
// get SRC... LOCALDEST.
int Get(CommandContext& ctx, std::vector<std::string> operands, const TransferFlags& flags);

// "1.5 MiB".
std::string HumanBytes(uint64_t bytes);
// "rwxr-xr-x" of mode bits, prefixed by 'd' or '-'.
std::string ModeString(const proto::FileStatus& status);

}  // namespace granary::tools
