// granary quota set|clear|show: per-directory quotas on names and bytes (nn.SetQuota,
// nn.GetQuota; core/namenode/quota_tracker.h says what counts).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "tools/common/cli_commands.h"
#include "tools/common/remote_path.h"

namespace granary::tools {

int QuotaSet(CommandContext& ctx, const std::string& raw, std::optional<uint64_t> names_max,
             std::optional<uint64_t> bytes_max) {
  const std::string path = NormalizeRemote(raw);
  if (Status s = ctx.fs.SetQuota(path, names_max, bytes_max); !s.ok()) ctx.Fail(path, s);
  return ctx.ExitCode();
}

int QuotaClear(CommandContext& ctx, const std::string& raw) {
  const std::string path = NormalizeRemote(raw);
  if (Status s = ctx.fs.ClearQuota(path); !s.ok()) ctx.Fail(path, s);
  return ctx.ExitCode();
}

int QuotaShow(CommandContext& ctx, const std::string& raw, bool json) {
  const std::string path = NormalizeRemote(raw);
  Result<proto::GetQuotaReply> quota = ctx.fs.GetQuota(path);
  if (!quota.ok()) {
    ctx.Fail(path, quota.status());
    return ctx.ExitCode();
  }
  const proto::GetQuotaReply& q = *quota;
  if (json) {
    // A limit that is not set is null.
    auto limit = [](uint64_t max) { return max == 0 ? nlohmann::json() : nlohmann::json(max); };
    nlohmann::json out{{"path", path},
                       {"has_quota", q.has_quota()},
                       {"names_max", limit(q.names_max())},
                       {"bytes_max", limit(q.bytes_max())},
                       {"names_used", q.names_used()},
                       {"bytes_used", q.bytes_used()}};
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  auto text = [](uint64_t max) { return max == 0 ? std::string("none") : std::to_string(max); };
  std::printf(
      "path: %s\nname quota: %s\nnames used: %llu\nspace quota: %s\nbytes used: %llu (%s)\n",
      path.c_str(), text(q.names_max()).c_str(), static_cast<unsigned long long>(q.names_used()),
      text(q.bytes_max()).c_str(), static_cast<unsigned long long>(q.bytes_used()),
      HumanBytes(q.bytes_used()).c_str());
  return 0;
}

}  // namespace granary::tools
