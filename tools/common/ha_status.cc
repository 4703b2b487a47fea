#include "tools/common/ha_status.h"

#include <set>

#include "core/rpc/methods.h"
#include "core/rpc/router.h"
#include "tools/common/tool_util.h"

namespace granary::tools {

std::vector<std::string> SplitNamenodeList(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    const size_t comma = std::min(list.find(',', start), list.size());
    if (comma > start) out.push_back(list.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

bool IsNamenodeList(const std::string& list, std::string* problem) {
  // Every item, empty ones included: the client's NamenodeLocator refuses "a,,b" and "a,", so
  // the tools refuse them first, with a usage error.
  std::set<std::string> seen;
  size_t start = 0;
  for (;;) {
    const size_t comma = std::min(list.find(',', start), list.size());
    const std::string item = list.substr(start, comma - start);
    if (!IsHostPort(item)) {
      *problem = "expected HOST:PORT or HOST:PORT,HOST:PORT,..., got '" + item + "' in '" +
                 list + "'";
      return false;
    }
    if (!seen.insert(item).second) {
      *problem = "'" + item + "' is named twice in '" + list + "'";
      return false;
    }
    if (comma == list.size()) return true;
    start = comma + 1;
  }
}

std::vector<NamenodeHa> QueryHaStatus(Env& env, Transport& transport,
                                      const std::vector<std::string>& addresses, Duration timeout) {
  std::vector<NamenodeHa> out;
  for (const std::string& address : addresses) {
    NamenodeHa nn;
    nn.address = address;
    const Status status = rpc::Call(transport, Address{address}, rpc::nn::kHaStatus,
                                    proto::HaStatusRequest(), {}, env.Now() + timeout, &nn.reply);
    if (status.ok()) {
      nn.role = nn.reply.role();
    } else {
      nn.role = "unreachable";
      nn.error = status.ToString();
    }
    out.push_back(std::move(nn));
  }
  return out;
}

const NamenodeHa* ServingNamenode(const std::vector<NamenodeHa>& namenodes) {
  const NamenodeHa* best = nullptr;
  for (const NamenodeHa& nn : namenodes) {
    if (nn.role != "active") continue;
    if (best == nullptr || nn.reply.fencing_token() > best->reply.fencing_token()) best = &nn;
  }
  if (best != nullptr) return best;
  for (const NamenodeHa& nn : namenodes) {
    if (nn.role == "single") return &nn;
  }
  return nullptr;
}

Result<proto::ClusterReportReply> ClusterReportOf(Env& env, Transport& transport,
                                                  const std::string& address, Duration timeout) {
  proto::ClusterReportReply reply;
  GRANARY_RETURN_IF_ERROR(rpc::Call(transport, Address{address}, rpc::nn::kClusterReport,
                                    proto::ClusterReportRequest(), {}, env.Now() + timeout,
                                    &reply));
  return reply;
}

}  // namespace granary::tools
