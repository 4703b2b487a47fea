// What every namenode of a list says about high availability (nn.HaStatus), for `granary
// report`, `granary failover`, granary-cluster and granary-bench. A namenode list is the text
// --namenode and GRANARY_NAMENODE carry: "host:port" or "host:port,host:port,...".
//
// Each namenode is asked directly (no redirects, one attempt, a short deadline): a namenode
// that does not answer is "unreachable", which is an answer, not an error.
#pragma once

#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/common/time.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "proto/namenode.pb.h"

namespace granary::tools {

// "a,b,c" -> {"a", "b", "c"}; empty items are dropped (so "a," is {"a"}).
std::vector<std::string> SplitNamenodeList(const std::string& list);

// True when `list` is one or more comma-separated "host:port", none empty, none twice;
// otherwise false and `problem` says which item is wrong.
bool IsNamenodeList(const std::string& list, std::string* problem);

struct NamenodeHa {
  std::string address;  // as the list names it
  // "active", "standby", "single" (no journal) or "unreachable".
  std::string role;
  std::string error;  // why it is unreachable
  proto::HaStatusReply reply;
};

// Asks nn.HaStatus of every namenode of `addresses`, one after the other, each with `timeout`.
std::vector<NamenodeHa> QueryHaStatus(Env& env, Transport& transport,
                                      const std::vector<std::string>& addresses, Duration timeout);

// The namenode that serves: the one whose role is "active" (with several, the one under the
// highest fencing token: the others are deposed and do not know yet), else the "single" one;
// nullptr when none.
const NamenodeHa* ServingNamenode(const std::vector<NamenodeHa>& namenodes);

// nn.ClusterReport of one namenode, asked directly.
Result<proto::ClusterReportReply> ClusterReportOf(Env& env, Transport& transport,
                                                  const std::string& address, Duration timeout);

}  // namespace granary::tools
