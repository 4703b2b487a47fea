// `granary report`'s namenode part and `granary failover` (cli_commands.h).
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "tools/common/cli_commands.h"
#include "tools/common/ha_status.h"

namespace granary::tools {

namespace {

nlohmann::json JournalMembersJson(const proto::HaStatusReply& reply) {
  nlohmann::json members = nlohmann::json::array();
  for (const proto::JournalMemberStatus& m : reply.journal_members()) {
    nlohmann::json entry = {
        {"endpoint", m.endpoint()}, {"healthy", m.healthy()}, {"db_size_bytes", m.db_size_bytes()}};
    if (!m.error().empty()) entry["error"] = m.error();
    members.push_back(entry);
  }
  return members;
}

}  // namespace

nlohmann::json NamenodesJson(const std::vector<NamenodeHa>& namenodes) {
  nlohmann::json out = nlohmann::json::array();
  for (const NamenodeHa& nn : namenodes) {
    nlohmann::json entry = {{"address", nn.address}, {"role", nn.role}};
    if (nn.role == "unreachable") {
      entry["error"] = nn.error;
    } else {
      entry["applied_seq"] = nn.reply.applied_seq();
      entry["active"] = nn.reply.active();
      entry["fencing_token"] = nn.reply.fencing_token();
      entry["journal_last_seq"] = nn.reply.journal_last_seq();
      entry["journal_members"] = JournalMembersJson(nn.reply);
      // Issue 14: what this namenode answered, and how far it is behind the journal.
      entry["reads_served"] = nn.reply.reads_served();
      entry["writes_served"] = nn.reply.writes_served();
      entry["lag"] = nn.reply.lag_entries();
    }
    out.push_back(entry);
  }
  return out;
}

void PrintNamenodes(const std::vector<NamenodeHa>& namenodes) {
  for (const NamenodeHa& nn : namenodes) {
    if (nn.role == "unreachable") {
      std::printf("namenode %s: unreachable (%s)\n", nn.address.c_str(), nn.error.c_str());
      continue;
    }
    std::string line = "namenode " + nn.address + ": " + nn.role;
    if (nn.role == "single") line += " (no journal)";
    if (nn.role == "active") line += ", token " + std::to_string(nn.reply.fencing_token());
    if (nn.role == "standby") {
      line +=
          ", active " + (nn.reply.active().empty() ? std::string("unknown") : nn.reply.active());
    }
    if (nn.role != "single") {
      line += ", applied seq " + std::to_string(nn.reply.applied_seq()) + " of " +
              std::to_string(nn.reply.journal_last_seq()) + ", served " +
              std::to_string(nn.reply.reads_served()) + " reads and " +
              std::to_string(nn.reply.writes_served()) + " writes";
    }
    std::printf("%s\n", line.c_str());
    if (nn.role != "active") continue;
    for (const proto::JournalMemberStatus& m : nn.reply.journal_members()) {
      std::printf("  journal %s: %s", m.endpoint().c_str(), m.healthy() ? "healthy" : "unhealthy");
      if (m.db_size_bytes() != 0) std::printf(", %s", HumanBytes(m.db_size_bytes()).c_str());
      if (!m.error().empty()) std::printf(" (%s)", m.error().c_str());
      std::printf("\n");
    }
  }
}

std::vector<NamenodeHa> AskNamenodes(CommandContext& ctx) {
  return QueryHaStatus(ctx.env, ctx.fs.context().transport(),
                       SplitNamenodeList(ctx.fs.options().namenode.value),
                       ctx.fs.options().rpc_timeout);
}

namespace {

// Polls until a namenode other than `old_active` (or, when named, `to`) is active; its address,
// or "" after `wait`.
std::string WaitForNewActive(CommandContext& ctx, const std::string& old_active,
                             const std::string& to, std::chrono::milliseconds wait) {
  const Instant end = ctx.env.Now() + wait;
  while (ctx.env.Now() < end) {
    const std::vector<NamenodeHa> ha = AskNamenodes(ctx);
    const NamenodeHa* active = ServingNamenode(ha);
    if (active != nullptr && active->role == "active" &&
        (to.empty() ? active->address != old_active : active->address == to)) {
      return active->address;
    }
    if (!ctx.env.SleepFor(std::chrono::milliseconds(200)).ok()) return "";
  }
  return "";
}

Status AskToHandOver(CommandContext& ctx, const std::string& active, const std::string& to) {
  proto::FailoverRequest request;
  request.set_to(to);
  proto::FailoverReply reply;
  return rpc::Call(ctx.fs.context().transport(), Address{active}, rpc::nn::kFailover, request, {},
                   ctx.env.Now() + ctx.fs.options().rpc_timeout, &reply);
}

// A handover opens an election every standby campaigns in: the named one at once, the others
// on their own schedule, so another standby may win it (integration.ha_wipe_standby saw it).
// The namenode that won is then asked to hand over to the named one in turn, and again every
// few seconds while it stays active, until `to` is active or `wait` has passed.
std::string WaitForNamedActive(CommandContext& ctx, const std::string& first_asked,
                               const std::string& to, std::chrono::milliseconds wait) {
  const Instant end = ctx.env.Now() + wait;
  std::string asked = first_asked;
  Instant asked_at = ctx.env.Now();
  while (ctx.env.Now() < end) {
    const std::vector<NamenodeHa> ha = AskNamenodes(ctx);
    const NamenodeHa* active = ServingNamenode(ha);
    if (active != nullptr && active->role == "active") {
      if (active->address == to) return to;
      if (active->address != asked || ctx.env.Now() - asked_at > std::chrono::seconds(3)) {
        (void)AskToHandOver(ctx, active->address, to);  // a refusal shows as the wait's end
        asked = active->address;
        asked_at = ctx.env.Now();
      }
    }
    if (!ctx.env.SleepFor(std::chrono::milliseconds(200)).ok()) return "";
  }
  return "";
}

}  // namespace

int Failover(CommandContext& ctx, const std::string& to, uint32_t wait_seconds) {
  const std::vector<std::string> list = SplitNamenodeList(ctx.fs.options().namenode.value);
  if (!to.empty() && std::find(list.begin(), list.end(), to) == list.end()) {
    ctx.Fail(to, "not one of the namenodes " + ctx.fs.options().namenode.value);
    return ctx.ExitCode();
  }
  const std::vector<NamenodeHa> ha = AskNamenodes(ctx);
  const NamenodeHa* active = ServingNamenode(ha);
  if (active == nullptr) {
    ctx.Fail(ctx.fs.options().namenode.value, "no namenode is active; nothing to hand over");
    return ctx.ExitCode();
  }
  if (active->address == to) {
    ctx.Fail(to, "is the active namenode already");
    return ctx.ExitCode();
  }
  // Asked even of a "single" namenode: its answer says why there is nothing to fail over to.
  const Status status = AskToHandOver(ctx, active->address, to);
  if (!status.ok()) {
    ctx.Fail(active->address, status);
    return ctx.ExitCode();
  }
  const std::chrono::milliseconds wait(wait_seconds * 1000);
  const std::string now_active = to.empty() ? WaitForNewActive(ctx, active->address, to, wait)
                                            : WaitForNamedActive(ctx, active->address, to, wait);
  if (now_active.empty()) {
    ctx.Fail(active->address, "handed over, but " +
                                  (to.empty() ? std::string("no other namenode") : to) +
                                  " was active within " + std::to_string(wait_seconds) + " s");
    return ctx.ExitCode();
  }
  std::printf("%s\n", now_active.c_str());
  std::fflush(stdout);
  return ctx.ExitCode();
}

}  // namespace granary::tools
