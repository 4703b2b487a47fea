// granary: the file system's command line, in the spirit of `hdfs dfs`. Flags and wiring
// only; the commands are in tools/common/fs_commands.cc and transfer.cc.
//
//   granary [--namenode HOST:PORT[,HOST:PORT...]] [--user NAME] [--group G]... [--curve-keys DIR]
//           [--timeout-ms MS] [--datanode-timeout-ms MS] [--retries N] COMMAND ...
//   commands: ls [-R] [-l] [PATH...] | mkdir [-p] PATH... | put [-r] [-f] [-j N] LOCAL... DEST
//             get [-r] [-f] [-j N] SRC... LOCALDEST | cat PATH... | rm [-r] [-f] PATH...
//             append LOCAL|- DEST | cat --follow PATH | recover-lease PATH
//             mv SRC... DEST | stat [--json] PATH... | du [-s] [-h] [PATH...]
//             chmod [-R] MODE PATH... | chown [-R] OWNER[:GROUP] PATH... | setrep N PATH...
//             report [--json] | fsck [PATH] [--read] [--json] | keygen DIR [--server-pub FILE]
//             failover [--to HOST:PORT] [--wait-seconds S]
//             quota set PATH [--names N] [--bytes B] | quota clear PATH | quota show [--json] PATH
//
// The namenode comes from --namenode or $GRANARY_NAMENODE: one address, or the list of an HA
// cluster's namenodes, passed to the client as it is (it finds the active one). The user from
// --user or $USER, the key directory from --curve-keys or $GRANARY_CURVE_KEYS. Exit: 0 on success,
// 1 when an operation failed (one line per failure on stderr naming the path and the reason), 2 on
// a usage error.
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "tools/common/cli_commands.h"
#include "tools/common/client_session.h"
#include "tools/common/curve_keys.h"
#include "tools/common/tool_util.h"

namespace {

namespace tools = granary::tools;

int Usage(const std::string& message) {
  std::cerr << "granary: " << message << std::endl;
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"granary: the Granary file system's command line"};
  app.require_subcommand(1);
  app.fallthrough();
  tools::ClientConfig config;
  uint64_t timeout_ms = 10000;
  uint64_t datanode_timeout_ms = 30000;
  app.add_option("--namenode", config.namenode,
                 "HOST:PORT of the namenode, or HOST:PORT,HOST:PORT,... of an HA cluster's "
                 "namenodes (calls follow the active one and wait through a failover)")
      ->envname("GRANARY_NAMENODE");
  app.add_option("--user", config.user, "act as this user (default $USER)");
  app.add_option("--group", config.groups,
                 "a group of the user (repeatable; default: local groups)");
  app.add_option("--curve-keys", config.curve_keys,
                 "CURVE key directory (client.key, client.pub, server.pub)")
      ->envname("GRANARY_CURVE_KEYS");
  app.add_option("--timeout-ms", timeout_ms, "deadline of each call to the namenode (ms)")
      ->check(CLI::Range(uint64_t{10}, uint64_t{3600000}));
  app.add_option("--datanode-timeout-ms", datanode_timeout_ms,
                 "deadline of each call to a datanode (ms); a silent pipeline is rebuilt after it")
      ->check(CLI::Range(uint64_t{10}, uint64_t{3600000}));
  app.add_option("--retries", config.attempts,
                 "attempts per call to a single namenode (1..16); with a list of namenodes a "
                 "call keeps trying through a failover for up to 30 s")
      ->check(CLI::Range(1u, 16u));
  std::string read_policy;
  app.add_option("--read-policy", read_policy,
                 "with a list of namenodes, where reads go: least-loaded (default), random, "
                 "nearest, observer (not the active) or active (writes always go to the "
                 "active)")
      ->envname("GRANARY_READ_POLICY");

  tools::LsFlags ls_flags;
  std::vector<std::string> ls_paths{"/"};
  CLI::App* ls = app.add_subcommand("ls", "list directories (or name files)");
  ls->add_flag("-R,--recursive", ls_flags.recursive, "list subdirectories too");
  ls->add_flag("-l,--long", ls_flags.long_format, "mode, replication, owner, group, size, time");
  ls->add_option("paths", ls_paths, "paths (default /)");

  bool mkdir_parents = false;
  std::vector<std::string> mkdir_paths;
  CLI::App* mkdir = app.add_subcommand("mkdir", "create directories");
  mkdir->add_flag("-p,--parents", mkdir_parents, "create missing parents; no error if present");
  mkdir->add_option("paths", mkdir_paths)->required();

  tools::TransferFlags put_flags;
  bool put_no_progress = false;
  std::vector<std::string> put_operands;
  CLI::App* put = app.add_subcommand("put", "copy local files and trees into the file system");
  put->add_flag("-r,--recursive", put_flags.recursive, "copy directories");
  put->add_flag("-f,--force", put_flags.force, "overwrite existing files");
  put->add_option("-j,--parallel", put_flags.parallel, "files in flight at once (1..1024)")
      ->check(CLI::Range(1u, 1024u));
  put->add_flag("--no-progress", put_no_progress, "no progress bar");
  put->add_option("operands", put_operands, "LOCAL... DEST ('-' reads standard input)")->required();

  tools::TransferFlags get_flags;
  bool get_no_progress = false;
  std::vector<std::string> get_operands;
  CLI::App* get = app.add_subcommand("get", "copy files and trees out of the file system");
  get->add_flag("-r,--recursive", get_flags.recursive, "copy directories");
  get->add_flag("-f,--force", get_flags.force, "overwrite existing local files");
  get->add_option("-j,--parallel", get_flags.parallel, "files in flight at once (1..1024)")
      ->check(CLI::Range(1u, 1024u));
  get->add_flag("--no-progress", get_no_progress, "no progress bar");
  get->add_option("operands", get_operands, "SRC... LOCALDEST")->required();

  std::vector<std::string> cat_paths;
  bool cat_follow = false;
  uint32_t cat_poll_ms = 200;
  CLI::App* cat = app.add_subcommand("cat", "write files to standard output");
  cat->add_flag("-f,--follow", cat_follow,
                "print one file as it grows, until it is closed and read to its end");
  cat->add_option("--poll-ms", cat_poll_ms, "with --follow: how often to look for more")
      ->check(CLI::Range(10u, 60000u));
  cat->add_option("paths", cat_paths)->required();

  std::vector<std::string> append_operands;
  CLI::App* append = app.add_subcommand("append", "append a local file or standard input");
  append->add_option("operands", append_operands, "LOCAL|- DEST")->required();

  std::string recover_path;
  uint32_t recover_timeout_ms = 120000;
  CLI::App* recover = app.add_subcommand("recover-lease", "close a file whose writer died");
  recover->add_option("path", recover_path)->required();
  recover->add_option("--timeout-ms", recover_timeout_ms, "give up after this long")
      ->check(CLI::Range(1u, 3600000u));

  bool rm_recursive = false, rm_force = false;
  std::vector<std::string> rm_paths;
  CLI::App* rm = app.add_subcommand("rm", "delete files and (with -r) directories");
  rm->add_flag("-r,-R,--recursive", rm_recursive, "delete directories and their contents");
  rm->add_flag("-f,--force", rm_force, "no error for paths that do not exist");
  rm->add_option("paths", rm_paths)->required();

  std::vector<std::string> mv_operands;
  CLI::App* mv = app.add_subcommand("mv", "rename, or move into an existing directory");
  mv->add_option("operands", mv_operands, "SRC... DEST")->required();

  bool stat_json = false;
  std::vector<std::string> stat_paths;
  CLI::App* stat = app.add_subcommand("stat", "show the status of paths");
  stat->add_flag("--json", stat_json, "one JSON object per path");
  stat->add_option("paths", stat_paths)->required();

  bool du_summary = false, du_human = false;
  std::vector<std::string> du_paths{"/"};
  CLI::App* du = app.add_subcommand("du", "bytes used by files and directories");
  du->set_help_flag("--help");
  du->add_flag("-s,--summary", du_summary, "one total per path");
  du->add_flag("-h,--human", du_human, "sizes in KiB, MiB, ...");
  du->add_option("paths", du_paths, "paths (default /)");

  bool chmod_recursive = false;
  std::string chmod_mode;
  std::vector<std::string> chmod_paths;
  CLI::App* chmod = app.add_subcommand("chmod", "change permission bits (octal MODE)");
  chmod->add_flag("-R,--recursive", chmod_recursive, "change everything below too");
  chmod->add_option("mode", chmod_mode, "octal, e.g. 755")->required();
  chmod->add_option("paths", chmod_paths)->required();

  bool chown_recursive = false;
  std::string chown_spec;
  std::vector<std::string> chown_paths;
  CLI::App* chown = app.add_subcommand("chown", "change owner and/or group (superuser)");
  chown->add_flag("-R,--recursive", chown_recursive, "change everything below too");
  chown->add_option("owner", chown_spec, "OWNER, OWNER:GROUP or :GROUP")->required();
  chown->add_option("paths", chown_paths)->required();

  uint32_t setrep_replication = 0;
  std::vector<std::string> setrep_paths;
  CLI::App* setrep = app.add_subcommand("setrep", "change the replication of files");
  setrep->add_option("replication", setrep_replication, "replicas (1..16)")
      ->required()
      ->check(CLI::Range(1u, 16u));
  setrep->add_option("paths", setrep_paths)->required();

  bool report_json = false;
  CLI::App* report = app.add_subcommand("report", "datanodes, capacity, blocks needing repair");
  report->add_flag("--json", report_json, "one JSON object");

  std::string failover_to;
  uint32_t failover_wait_seconds = 30;
  CLI::App* failover = app.add_subcommand(
      "failover", "hand the active namenode's role to a standby; print the new active");
  failover->add_option("--to", failover_to, "HOST:PORT of the standby to hand over to");
  failover->add_option("--wait-seconds", failover_wait_seconds, "how long to wait for it")
      ->check(CLI::Range(1u, 3600u));

  // Quotas: set and clear by the superuser (docs: core/namenode/quota_tracker.h).
  CLI::App* quota = app.add_subcommand("quota", "per-directory quotas on names and bytes");
  quota->require_subcommand(1);
  std::string quota_path;
  std::optional<uint64_t> quota_names, quota_bytes;
  bool quota_json = false;
  CLI::App* quota_set = quota->add_subcommand("set", "set limits (0 removes one; superuser)");
  quota_set->add_option("path", quota_path, "directory")->required();
  quota_set->add_option("--names", quota_names, "most names in the subtree, itself included");
  quota_set->add_option("--bytes", quota_bytes, "most bytes, counted times replication");
  CLI::App* quota_clear = quota->add_subcommand("clear", "remove both limits (superuser)");
  quota_clear->add_option("path", quota_path, "directory")->required();
  CLI::App* quota_show = quota->add_subcommand("show", "limits and usage");
  quota_show->add_option("path", quota_path, "file or directory")->required();
  quota_show->add_flag("--json", quota_json, "one JSON object");

  std::string fsck_path = "/";
  bool fsck_read = false, fsck_json = false;
  CLI::App* fsck = app.add_subcommand(
      "fsck", "check that every block has a live, uncorrupted replica (exit 1 if not)");
  fsck->add_option("path", fsck_path, "subtree to check (default /)");
  fsck->add_flag("--read", fsck_read, "read every file through, verifying every checksum");
  fsck->add_flag("--json", fsck_json, "one JSON object");

  std::string keygen_dir, keygen_server_pub;
  CLI::App* keygen =
      app.add_subcommand("keygen", "make a CURVE client key pair (DIR/client.key, DIR/client.pub)");
  keygen->add_option("dir", keygen_dir, "key directory to create or fill")->required();
  keygen->add_option("--server-pub", keygen_server_pub, "the cluster's server.pub, copied into DIR")
      ->check(CLI::ExistingFile);

  if (const int code = tools::ParseFlags(app, argc, argv, "granary"); code >= 0) return code;

  if (*keygen) {
    const granary::Status status = tools::GenerateClientKeys(keygen_dir, keygen_server_pub);
    if (!status.ok()) {
      std::cerr << "granary keygen: " << keygen_dir << ": " << status.ToString() << std::endl;
      return 1;
    }
    auto pub = tools::ReadPublicKey(keygen_dir + "/client.pub");
    std::cout << (pub.ok() ? *pub : std::string()) << std::endl;
    std::cerr << "granary keygen: wrote " << keygen_dir << "/client.key and client.pub; "
              << "copy client.pub to every server's <keys>/clients/USER.pub to admit it as USER "
              << "(docs/deploy.md)" << std::endl;
    return 0;
  }
  // Operand checks the flag parser cannot express.
  if (*put && put_operands.size() < 2) return Usage("put: expected LOCAL... DEST");
  if (*get && get_operands.size() < 2) return Usage("get: expected SRC... LOCALDEST");
  if (*mv && mv_operands.size() < 2) return Usage("mv: expected SRC... DEST");
  if (*append && append_operands.size() != 2) return Usage("append: expected LOCAL|- DEST");
  if (*cat && cat_follow && cat_paths.size() != 1) return Usage("cat --follow: expected one PATH");
  uint32_t mode = 0;
  if (*chmod) {
    if (!std::regex_match(chmod_mode, std::regex("[0-7]{1,4}"))) {
      return Usage("chmod: MODE must be octal (e.g. 755), got '" + chmod_mode + "'");
    }
    mode = static_cast<uint32_t>(std::stoul(chmod_mode, nullptr, 8));
  }
  std::string owner, group;
  if (*chown) {
    const size_t colon = chown_spec.find(':');
    owner = chown_spec.substr(0, colon);
    if (colon != std::string::npos) group = chown_spec.substr(colon + 1);
    if (owner.empty() && group.empty()) return Usage("chown: expected OWNER[:GROUP] or :GROUP");
  }
  if (*quota_set && !quota_names && !quota_bytes) {
    return Usage("quota set: expected --names N and/or --bytes B");
  }
  if (config.namenode.empty())
    return Usage("no namenode: pass --namenode HOST:PORT or set GRANARY_NAMENODE");
  if (std::string problem; !tools::IsNamenodeList(config.namenode, &problem)) {
    return Usage("--namenode: " + problem);
  }
  if (!read_policy.empty()) {
    const std::optional<granary::ReadPolicy> policy = granary::ParseReadPolicy(read_policy);
    if (!policy) {
      return Usage("--read-policy: \"" + read_policy +
                   "\" is not one of least-loaded, random, nearest, observer, active");
    }
    config.read_policy = *policy;
  }
  config.rpc_timeout = std::chrono::milliseconds(timeout_ms);
  config.datanode_timeout = std::chrono::milliseconds(datanode_timeout_ms);
  put_flags.progress = !put_no_progress;
  get_flags.progress = !get_no_progress;

  return tools::RunClient(config, [&](granary::net::RealEnv& env, granary::FileSystem& fs) {
    CLI::App* chosen = app.get_subcommands().front();
    tools::CommandContext ctx{env, fs, chosen->get_name()};
    if (chosen == ls) return tools::Ls(ctx, ls_paths, ls_flags);
    if (chosen == mkdir) return tools::Mkdir(ctx, mkdir_paths, mkdir_parents);
    if (chosen == put) return tools::Put(ctx, put_operands, put_flags);
    if (chosen == get) return tools::Get(ctx, get_operands, get_flags);
    if (chosen == cat && cat_follow) return tools::CatFollow(ctx, cat_paths[0], cat_poll_ms);
    if (chosen == cat) return tools::Cat(ctx, cat_paths);
    if (chosen == append) return tools::Append(ctx, append_operands[0], append_operands[1]);
    if (chosen == recover) return tools::RecoverLease(ctx, recover_path, recover_timeout_ms);
    if (chosen == rm) return tools::Rm(ctx, rm_paths, rm_recursive, rm_force);
    if (chosen == mv) return tools::Mv(ctx, mv_operands);
    if (chosen == stat) return tools::Stat(ctx, stat_paths, stat_json);
    if (chosen == du) return tools::Du(ctx, du_paths, du_summary, du_human);
    if (chosen == chmod) return tools::Chmod(ctx, mode, chmod_paths, chmod_recursive);
    if (chosen == chown) return tools::Chown(ctx, owner, group, chown_paths, chown_recursive);
    if (chosen == setrep) return tools::Setrep(ctx, setrep_replication, setrep_paths);
    if (chosen == report) return tools::Report(ctx, report_json);
    if (chosen == failover) return tools::Failover(ctx, failover_to, failover_wait_seconds);
    if (chosen == fsck) return tools::Fsck(ctx, fsck_path, fsck_read, fsck_json);
    if (chosen == quota && *quota_set) {
      return tools::QuotaSet(ctx, quota_path, quota_names, quota_bytes);
    }
    if (chosen == quota && *quota_clear) return tools::QuotaClear(ctx, quota_path);
    if (chosen == quota && *quota_show) return tools::QuotaShow(ctx, quota_path, quota_json);
    return 2;
  });
}
