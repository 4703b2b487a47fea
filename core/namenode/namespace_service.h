// The namenode's client-facing namespace service: the nn.* methods a client calls to name,
// read and change files and directories (mkdirs, create, write-inline, open, open-many, stat,
// list, delete, rename, set-*), plus the cluster report, the server defaults and the reports
// of bad blocks a reader found (rpc::nn in core/rpc/methods.h).
//
// Each handler admits its request (NamenodeContext::Admit), does its work through the
// Namespace (which persists every mutation before returning) and then brings the in-memory
// state in line: blocks a mutation released leave the block map, a file opened for writing
// gets a lease and a file closed gives its lease back. The Namenode routes the methods here,
// inside its guard (namenode.h); this class holds no state of its own.
#pragma once

#include <cstdint>
#include <string>

#include "core/common/status.h"
#include "core/namenode/namenode_context.h"
#include "core/rpc/router.h"
#include "proto/namenode.pb.h"

namespace granary {

class NamespaceService {
 public:
  explicit NamespaceService(NamenodeContext context) : ctx_(context) {}

  Status Mkdirs(const proto::MkdirsRequest&, proto::MkdirsReply*, rpc::Exchange&);
  // Creates a file open for writing (a lease for the request's client_name) or, with
  // `complete`, a whole inline file from the request payload, closed at once.
  Status Create(const proto::CreateRequest&, proto::CreateReply*, rpc::Exchange&);
  // Replaces an inline file's bytes with the request payload; `complete` closes the file.
  Status WriteInline(const proto::WriteInlineRequest&, proto::WriteInlineReply*, rpc::Exchange&);
  Status Open(const proto::OpenRequest&, proto::OpenReply*, rpc::Exchange&);
  // Opens many paths at one point in time; answers fewer paths (at least one) when the reply
  // would pass kOpenManyPayloadBytesMax or kOpenManyReplyBodyBytesMax.
  Status OpenMany(const proto::OpenManyRequest&, proto::OpenManyReply*, rpc::Exchange&);
  Status Stat(const proto::StatRequest&, proto::StatReply*, rpc::Exchange&);
  Status List(const proto::ListRequest&, proto::ListReply*, rpc::Exchange&);
  Status Delete(const proto::DeleteRequest&, proto::DeleteReply*, rpc::Exchange&);
  Status Rename(const proto::RenameRequest&, proto::RenameReply*, rpc::Exchange&);
  Status SetTimes(const proto::SetTimesRequest&, proto::SetAttributeReply*, rpc::Exchange&);
  Status SetPermission(const proto::SetPermissionRequest&, proto::SetAttributeReply*,
                       rpc::Exchange&);
  Status SetOwner(const proto::SetOwnerRequest&, proto::SetAttributeReply*, rpc::Exchange&);
  // Quotas (namespace.h): set and clear by the superuser; shown to anyone who may stat.
  Status SetQuota(const proto::SetQuotaRequest&, proto::SetQuotaReply*, rpc::Exchange&);
  Status GetQuota(const proto::GetQuotaRequest&, proto::GetQuotaReply*, rpc::Exchange&);
  Status SetReplication(const proto::SetReplicationRequest&, proto::SetAttributeReply*,
                        rpc::Exchange&);
  Status ReportBadBlock(const proto::ReportBadBlockRequest&, proto::ReportBadBlockReply*,
                        rpc::Exchange&);
  Status ClusterReport(const proto::ClusterReportRequest&, proto::ClusterReportReply*,
                       rpc::Exchange&);
  Status ServerDefaults(const proto::ServerDefaultsRequest&, proto::ServerDefaultsReply*,
                        rpc::Exchange&);

 private:
  // `block` at `offset` of its file with its good replicas, nearest `client_address` first.
  proto::LocatedBlock Locate(const proto::BlockRef& block, uint64_t offset,
                             const std::string& client_address);

  NamenodeContext ctx_;
};

}  // namespace granary
