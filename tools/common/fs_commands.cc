// The namespace commands of the `granary` CLI: ls, mkdir, rm, mv, stat, du, chmod, chown,
// setrep, cat, report, fsck. put and get are in transfer.cc.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "tools/common/cli_commands.h"
#include "tools/common/remote_path.h"

namespace granary::tools {
namespace {

bool IsDir(const proto::FileStatus& s) { return s.type() == proto::INODE_TYPE_DIRECTORY; }

std::string TypeName(const proto::FileStatus& s) {
  switch (s.type()) {
    case proto::INODE_TYPE_FILE:
      return "file";
    case proto::INODE_TYPE_DIRECTORY:
      return "directory";
    case proto::INODE_TYPE_SYMLINK:
      return "symlink";
    default:
      return "unknown";
  }
}

std::string TimeString(int64_t ns) {
  const time_t seconds = static_cast<time_t>(ns / 1000000000);
  tm local{};
  localtime_r(&seconds, &local);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M", &local);
  return text;
}

std::string Octal(uint32_t mode) {
  char text[8];
  std::snprintf(text, sizeof(text), "%04o", mode);
  return text;
}

// Visits `root` (whose status is `status`) and, when it is a directory and `recursive`,
// everything below it, parents before children, names in order. `visit` returns false to
// skip a directory's contents. A directory that cannot be listed is reported and skipped.
void Walk(CommandContext& ctx, const std::string& root, const proto::FileStatus& status,
          bool recursive,
          const std::function<bool(const std::string&, const proto::FileStatus&)>& visit) {
  struct Item {
    std::string path;
    proto::FileStatus status;
  };
  std::vector<Item> stack{{root, status}};
  while (!stack.empty()) {
    Item item = std::move(stack.back());
    stack.pop_back();
    if (!visit(item.path, item.status) || !IsDir(item.status)) continue;
    if (!recursive && item.path != root) continue;
    auto entries = ctx.fs.ListAll(item.path);
    if (!entries.ok()) {
      ctx.Fail(item.path, entries.status());
      continue;
    }
    for (auto it = entries->rbegin(); it != entries->rend(); ++it) {
      stack.push_back({JoinPath(item.path, it->name()), std::move(*it)});
    }
  }
}

nlohmann::json StatusJson(const std::string& path, const proto::FileStatus& s) {
  return {
      {"path", path},
      {"type", TypeName(s)},
      {"inode", s.inode_id()},
      {"length", s.length_bytes()},
      {"owner", s.owner()},
      {"group", s.group()},
      {"mode", Octal(s.mode())},
      {"permissions", ModeString(s)},
      {"mtime_ns", s.mtime_ns()},
      {"atime_ns", s.atime_ns()},
      {"replication", s.replication()},
      {"block_size", s.block_bytes()},
      {"blocks", s.block_count()},
      {"inline", s.inline_data()},
      {"under_construction", s.under_construction()},
  };
}

void PrintLong(const std::string& path, const proto::FileStatus& s) {
  const std::string replication = IsDir(s) ? "-" : std::to_string(s.replication());
  std::printf("%s %3s %-10s %-10s %12llu %s %s\n", ModeString(s).c_str(), replication.c_str(),
              s.owner().c_str(), s.group().c_str(),
              static_cast<unsigned long long>(s.length_bytes()), TimeString(s.mtime_ns()).c_str(),
              path.c_str());
}

// Total bytes of the files at and below `path`.
uint64_t TreeBytes(CommandContext& ctx, const std::string& path, const proto::FileStatus& status) {
  uint64_t total = 0;
  Walk(ctx, path, status, true, [&](const std::string&, const proto::FileStatus& s) {
    if (!IsDir(s)) total += s.length_bytes();
    return true;
  });
  return total;
}

}  // namespace

void CommandContext::Fail(const std::string& path, const std::string& reason) {
  std::fflush(stdout);
  std::cerr << "granary " << command << ": " << path << ": " << reason << std::endl;
  ++failures;
}

std::string HumanBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof(text), "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof(text), "%.1f %s", value, kUnits[unit]);
  }
  return text;
}

std::string ModeString(const proto::FileStatus& s) {
  std::string out = IsDir(s) ? "d" : (s.type() == proto::INODE_TYPE_SYMLINK ? "l" : "-");
  const char* const kRwx = "rwxrwxrwx";
  for (int bit = 0; bit < 9; ++bit) {
    out += (s.mode() & (0400u >> bit)) ? kRwx[bit] : '-';
  }
  return out;
}

int Ls(CommandContext& ctx, const std::vector<std::string>& paths, const LsFlags& flags) {
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    auto status = ctx.fs.Stat(path);
    if (!status.ok()) {
      ctx.Fail(path, status.status());
      continue;
    }
    const bool dir = IsDir(*status);
    Walk(ctx, path, *status, flags.recursive,
         [&](const std::string& p, const proto::FileStatus& s) {
           // A directory named on the command line lists its contents, not itself.
           if (p == path && dir) return true;
           if (flags.long_format) {
             PrintLong(p, s);
           } else {
             std::printf("%s\n", p.c_str());
           }
           return flags.recursive;
         });
  }
  std::fflush(stdout);
  return ctx.ExitCode();
}

int Mkdir(CommandContext& ctx, const std::vector<std::string>& paths, bool parents) {
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    if (!parents) {
      if (ctx.fs.Stat(path).ok()) {
        ctx.Fail(path, "already exists");
        continue;
      }
    }
    if (Status s = ctx.fs.Mkdirs(path, 0, parents); !s.ok()) ctx.Fail(path, s);
  }
  return ctx.ExitCode();
}

int Rm(CommandContext& ctx, const std::vector<std::string>& paths, bool recursive, bool force) {
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    auto status = ctx.fs.Stat(path);
    if (!status.ok()) {
      if (!(force && status.code() == StatusCode::kNotFound)) ctx.Fail(path, status.status());
      continue;
    }
    if (IsDir(*status) && !recursive) {
      ctx.Fail(path, "is a directory (use rm -r)");
      continue;
    }
    if (Status s = ctx.fs.Delete(path, recursive); !s.ok()) {
      if (!(force && s.code() == StatusCode::kNotFound)) ctx.Fail(path, s);
    }
  }
  return ctx.ExitCode();
}

int Mv(CommandContext& ctx, std::vector<std::string> operands) {
  const std::string dest = NormalizeRemote(operands.back());
  operands.pop_back();
  auto dest_status = ctx.fs.Stat(dest);
  const bool into_dir = dest_status.ok() && IsDir(*dest_status);
  if (operands.size() > 1 && !into_dir) {
    ctx.Fail(dest, dest_status.ok() ? "not a directory" : dest_status.status().ToString());
    return ctx.ExitCode();
  }
  for (const std::string& raw : operands) {
    const std::string source = NormalizeRemote(raw);
    const std::string target = into_dir ? JoinPath(dest, BaseName(source)) : dest;
    if (Status s = ctx.fs.Rename(source, target); !s.ok()) ctx.Fail(source, s);
  }
  return ctx.ExitCode();
}

int Stat(CommandContext& ctx, const std::vector<std::string>& paths, bool json) {
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    auto status = ctx.fs.Stat(path);
    if (!status.ok()) {
      ctx.Fail(path, status.status());
      continue;
    }
    const proto::FileStatus& s = *status;
    if (json) {
      std::printf("%s\n", StatusJson(path, s).dump().c_str());
      continue;
    }
    std::printf(
        "path: %s\ntype: %s\ninode: %llu\nlength: %llu\nowner: %s\ngroup: %s\n"
        "mode: %s (%s)\nmodified: %s\naccessed: %s\nreplication: %u\nblock size: %llu\n"
        "blocks: %u\ninline: %s\nunder construction: %s\n",
        path.c_str(), TypeName(s).c_str(), static_cast<unsigned long long>(s.inode_id()),
        static_cast<unsigned long long>(s.length_bytes()), s.owner().c_str(), s.group().c_str(),
        Octal(s.mode()).c_str(), ModeString(s).c_str(), TimeString(s.mtime_ns()).c_str(),
        TimeString(s.atime_ns()).c_str(), s.replication(),
        static_cast<unsigned long long>(s.block_bytes()), s.block_count(),
        s.inline_data() ? "yes" : "no", s.under_construction() ? "yes" : "no");
  }
  std::fflush(stdout);
  return ctx.ExitCode();
}

int Du(CommandContext& ctx, const std::vector<std::string>& paths, bool summary, bool human) {
  auto print = [&](uint64_t bytes, const std::string& path) {
    const std::string size = human ? HumanBytes(bytes) : std::to_string(bytes);
    std::printf("%-12s  %s\n", size.c_str(), path.c_str());
  };
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    auto status = ctx.fs.Stat(path);
    if (!status.ok()) {
      ctx.Fail(path, status.status());
      continue;
    }
    if (summary || !IsDir(*status)) {
      print(TreeBytes(ctx, path, *status), path);
      continue;
    }
    auto entries = ctx.fs.ListAll(path);
    if (!entries.ok()) {
      ctx.Fail(path, entries.status());
      continue;
    }
    for (const proto::FileStatus& entry : *entries) {
      const std::string child = JoinPath(path, entry.name());
      print(TreeBytes(ctx, child, entry), child);
    }
  }
  std::fflush(stdout);
  return ctx.ExitCode();
}

namespace {

// Applies `change` to each path (and everything below it when recursive).
int ForEachTarget(CommandContext& ctx, const std::vector<std::string>& paths, bool recursive,
                  const std::function<Status(const std::string&)>& change) {
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    auto status = ctx.fs.Stat(path);
    if (!status.ok()) {
      ctx.Fail(path, status.status());
      continue;
    }
    Walk(ctx, path, *status, recursive, [&](const std::string& p, const proto::FileStatus&) {
      if (Status s = change(p); !s.ok()) ctx.Fail(p, s);
      return true;
    });
  }
  return ctx.ExitCode();
}

}  // namespace

int Chmod(CommandContext& ctx, uint32_t mode, const std::vector<std::string>& paths,
          bool recursive) {
  return ForEachTarget(ctx, paths, recursive,
                       [&](const std::string& p) { return ctx.fs.SetPermission(p, mode); });
}

int Chown(CommandContext& ctx, const std::string& owner, const std::string& group,
          const std::vector<std::string>& paths, bool recursive) {
  return ForEachTarget(ctx, paths, recursive,
                       [&](const std::string& p) { return ctx.fs.SetOwner(p, owner, group); });
}

int Setrep(CommandContext& ctx, uint32_t replication, const std::vector<std::string>& paths) {
  return ForEachTarget(ctx, paths, true, [&](const std::string& p) {
    auto s = ctx.fs.Stat(p);
    if (s.ok() && IsDir(*s)) return Status::Ok();
    return ctx.fs.SetReplication(p, replication);
  });
}

int Cat(CommandContext& ctx, const std::vector<std::string>& paths) {
  for (const std::string& raw : paths) {
    const std::string path = NormalizeRemote(raw);
    auto reader = ctx.fs.Open(path);
    if (!reader.ok()) {
      ctx.Fail(path, reader.status());
      continue;
    }
    for (;;) {
      auto piece = (*reader)->Read(1 << 20);
      if (!piece.ok()) {
        ctx.Fail(path, piece.status());
        break;
      }
      if (piece->empty()) break;
      if (std::fwrite(piece->data(), 1, piece->size(), stdout) != piece->size()) {
        ctx.Fail("(standard output)", "write failed");
        return ctx.ExitCode();
      }
    }
  }
  std::fflush(stdout);
  return ctx.ExitCode();
}

int Report(CommandContext& ctx, bool json) {
  const std::vector<NamenodeHa> namenodes = AskNamenodes(ctx);
  const NamenodeHa* serving = ServingNamenode(namenodes);
  // The serving namenode is asked directly; with no namenode serving, a lone namenode is
  // asked through the client (its retries and its error).
  auto report = serving != nullptr      ? ClusterReportOf(ctx.env, ctx.fs.context().transport(),
                                                          serving->address, ctx.fs.options().rpc_timeout)
                : namenodes.size() == 1 ? ctx.fs.Report()
                                        : Result<proto::ClusterReportReply>(Status(
                                              StatusCode::kUnavailable, "no namenode is active"));
  if (!report.ok()) {
    if (json) {
      std::printf("%s\n", nlohmann::json{{"namenodes", NamenodesJson(namenodes)}}.dump().c_str());
    } else {
      PrintNamenodes(namenodes);
    }
    ctx.Fail(ctx.fs.options().namenode.value, report.status());
    return ctx.ExitCode();
  }
  const std::string serving_address =
      serving != nullptr ? serving->address : ctx.fs.options().namenode.value;
  const proto::ClusterReportReply& r = *report;
  uint64_t capacity = 0, used = 0, live = 0;
  nlohmann::json datanodes = nlohmann::json::array();
  for (const proto::DatanodeReport& dn : r.datanodes()) {
    if (dn.live()) {
      ++live;
      capacity += dn.capacity_bytes();
      used += dn.used_bytes();
    }
    datanodes.push_back({{"id", dn.info().datanode_id()},
                         {"address", dn.info().address()},
                         {"rack", dn.info().rack()},
                         {"live", dn.live()},
                         {"capacity_bytes", dn.capacity_bytes()},
                         {"used_bytes", dn.used_bytes()},
                         {"blocks", dn.blocks()},
                         {"last_heartbeat_ns", dn.last_heartbeat_ns()}});
  }
  const uint64_t dead = static_cast<uint64_t>(r.datanodes_size()) - live;
  if (json) {
    const nlohmann::json out = {
        {"namenode", serving_address},
        {"namenodes", NamenodesJson(namenodes)},
        {"live_datanodes", live},
        {"dead_datanodes", dead},
        {"capacity_bytes", capacity},
        {"used_bytes", used},
        {"files", r.files()},
        {"directories", r.directories()},
        {"blocks", r.blocks()},
        {"under_replicated_blocks", r.under_replicated_blocks()},
        {"corrupt_blocks", r.corrupt_blocks()},
        {"missing_blocks", r.missing_blocks()},
        {"pending_replications", r.pending_replications()},
        {"datanodes", datanodes},
    };
    std::printf("%s\n", out.dump().c_str());
    return ctx.ExitCode();
  }
  PrintNamenodes(namenodes);
  std::printf("capacity: %s (live datanodes), used: %s\n", HumanBytes(capacity).c_str(),
              HumanBytes(used).c_str());
  std::printf("files: %llu, directories: %llu, blocks: %llu\n",
              static_cast<unsigned long long>(r.files()),
              static_cast<unsigned long long>(r.directories()),
              static_cast<unsigned long long>(r.blocks()));
  std::printf(
      "under-replicated blocks: %llu, corrupt blocks: %llu, missing blocks: %llu, "
      "pending replications: %llu\n",
      static_cast<unsigned long long>(r.under_replicated_blocks()),
      static_cast<unsigned long long>(r.corrupt_blocks()),
      static_cast<unsigned long long>(r.missing_blocks()),
      static_cast<unsigned long long>(r.pending_replications()));
  for (const bool want_live : {true, false}) {
    std::printf("%s datanodes: %llu\n", want_live ? "live" : "dead",
                static_cast<unsigned long long>(want_live ? live : dead));
    for (const proto::DatanodeReport& dn : r.datanodes()) {
      if (dn.live() != want_live) continue;
      std::printf("  %-4u %-24s rack %-10s capacity %-10s used %-10s blocks %llu\n",
                  dn.info().datanode_id(), dn.info().address().c_str(),
                  dn.info().rack().empty() ? "-" : dn.info().rack().c_str(),
                  HumanBytes(dn.capacity_bytes()).c_str(), HumanBytes(dn.used_bytes()).c_str(),
                  static_cast<unsigned long long>(dn.blocks()));
    }
  }
  std::fflush(stdout);
  return ctx.ExitCode();
}

int Fsck(CommandContext& ctx, const std::string& raw, bool read, bool json) {
  const std::string root = NormalizeRemote(raw);
  struct Counts {
    uint64_t files = 0, directories = 0, inline_files = 0, open_files = 0, blocks = 0, bytes = 0,
             missing = 0, corrupt = 0, under_replicated = 0, read_errors = 0;
  } c;
  nlohmann::json problems = nlohmann::json::array();
  auto problem = [&](const std::string& path, const std::string& what, bool fatal) {
    problems.push_back({{"path", path}, {"problem", what}, {"fatal", fatal}});
    if (!json) std::printf("%s: %s\n", path.c_str(), what.c_str());
  };
  auto status = ctx.fs.Stat(root);
  if (!status.ok()) {
    ctx.Fail(root, status.status());
    return ctx.ExitCode();
  }
  Walk(ctx, root, *status, true, [&](const std::string& path, const proto::FileStatus& s) {
    if (IsDir(s)) {
      ++c.directories;
      return true;
    }
    ++c.files;
    c.bytes += s.length_bytes();
    if (s.under_construction()) ++c.open_files;
    if (s.inline_data()) ++c.inline_files;
    // The block locations come with the namenode's open reply (Reader keeps them private).
    proto::OpenRequest request;
    *request.mutable_user() = ctx.fs.options().user;
    request.set_path(path);
    request.set_client_address(ctx.fs.options().client_address);
    proto::OpenReply opened;
    std::string payload;
    if (Status st = ctx.fs.namenode().Call(rpc::nn::kOpen, request, &opened, {}, &payload);
        !st.ok()) {
      ++c.read_errors;
      problem(path, "cannot open: " + st.ToString(), true);
      return true;
    }
    for (int i = 0; i < opened.blocks_size(); ++i) {
      const proto::LocatedBlock& b = opened.blocks(i);
      ++c.blocks;
      const bool last_open = s.under_construction() && i + 1 == opened.blocks_size();
      const std::string name = "block " + std::to_string(b.block().block_id()) + " (offset " +
                               std::to_string(b.offset_bytes()) + ")";
      if (b.replicas_size() == 0) {
        if (last_open) {
          problem(path, name + ": being written, no replica reported yet", false);
        } else if (b.corrupt()) {
          ++c.corrupt;
          problem(path, name + ": CORRUPT: every replica is corrupt", true);
        } else {
          ++c.missing;
          problem(path, name + ": MISSING: no live replica", true);
        }
      } else if (static_cast<uint32_t>(b.replicas_size()) < s.replication() && !last_open) {
        ++c.under_replicated;
        problem(path,
                name + ": under-replicated: " + std::to_string(b.replicas_size()) + " of " +
                    std::to_string(s.replication()) + " replicas",
                false);
      }
    }
    if (read) {
      auto reader = ctx.fs.Open(path);
      if (!reader.ok()) {
        ++c.read_errors;
        problem(path, "cannot open: " + reader.status().ToString(), true);
        return true;
      }
      for (;;) {
        auto piece = (*reader)->Read(4 << 20);
        if (!piece.ok()) {
          ++c.read_errors;
          problem(path, "read failed: " + piece.status().ToString(), true);
          break;
        }
        if (piece->empty()) break;
      }
    }
    return true;
  });
  const bool healthy = c.missing == 0 && c.corrupt == 0 && c.read_errors == 0 && ctx.failures == 0;
  if (json) {
    const nlohmann::json out = {
        {"path", root},
        {"status", healthy ? "HEALTHY" : "CORRUPT"},
        {"files", c.files},
        {"directories", c.directories},
        {"bytes", c.bytes},
        {"inline_files", c.inline_files},
        {"open_files", c.open_files},
        {"blocks", c.blocks},
        {"missing_blocks", c.missing},
        {"corrupt_blocks", c.corrupt},
        {"under_replicated_blocks", c.under_replicated},
        {"read_errors", c.read_errors},
        {"verified_by_reading", read},
        {"problems", problems},
    };
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "fsck %s: %llu files (%llu inline, %llu open), %llu directories, %llu blocks, %s\n"
        "missing blocks: %llu, corrupt blocks: %llu, under-replicated blocks: %llu, "
        "read errors: %llu%s\nstatus: %s\n",
        root.c_str(), static_cast<unsigned long long>(c.files),
        static_cast<unsigned long long>(c.inline_files),
        static_cast<unsigned long long>(c.open_files),
        static_cast<unsigned long long>(c.directories), static_cast<unsigned long long>(c.blocks),
        HumanBytes(c.bytes).c_str(), static_cast<unsigned long long>(c.missing),
        static_cast<unsigned long long>(c.corrupt),
        static_cast<unsigned long long>(c.under_replicated),
        static_cast<unsigned long long>(c.read_errors), read ? " (every byte read)" : "",
        healthy ? "HEALTHY" : "CORRUPT");
  }
  std::fflush(stdout);
  return healthy ? 0 : 1;
}

}  // namespace granary::tools
