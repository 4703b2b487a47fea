// The client API that the CLI, Python and the simulator's workloads use (DESIGN.md §5).
//
//   FileSystem fs(env, transport, options);
//   auto writer = fs.Create("/data/x.csv", {});  writer->Write(bytes); writer->Close();
//   auto reader = fs.Open("/data/x.csv");        reader->Read(buffer, n);
//
// Small files: a file whose bytes fit the cluster's inline threshold is created, written
// and closed in one round trip at Close (Create itself sends nothing, so errors such as
// kAlreadyExists surface at Close); it is read in one round trip too. A file that grows
// past the threshold moves to blocks without the writer noticing.
//
// Semantics are the README's: one writer per file (the lease); a successful Close means
// the metadata is synced and every block is synced on every datanode of its pipeline.
//
// The readers and writers a FileSystem makes reach the cluster through its ClientContext
// (client_context.h): the FileSystem must outlive them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/client_context.h"
#include "core/client/client_options.h"
#include "core/client/namenode_client.h"
#include "core/client/reader.h"
#include "core/client/writer.h"
#include "core/common/list_page.h"
#include "core/common/status.h"
#include "proto/namenode.pb.h"

namespace granary {

class FileSystem {
 public:
  FileSystem(Env& env, Transport& transport, ClientOptions options);

  Status Mkdirs(std::string_view path, uint32_t mode = 0, bool create_parents = true);
  Result<std::unique_ptr<Writer>> Create(std::string_view path, const CreateOptions& options);
  // Opens an existing file for appending (one writer: kLeaseConflict names the holder when
  // it is open for writing). The writer continues the file where it ends: an inline file
  // grows in place (and moves to blocks past the threshold), a file in blocks continues its
  // last block or, when that is full, starts a new one.
  Result<std::unique_ptr<Writer>> Append(std::string_view path);
  // A file being written reads up to what its writer flushed (the last block's visible
  // length, asked of its datanodes); Reader::Refresh asks again.
  Result<std::unique_ptr<Reader>> Open(std::string_view path);
  // Starts lease recovery of a file whose writer died (nn.RecoverLease); true once the file
  // is closed, else ask again a little later.
  Result<bool> RecoverLease(std::string_view path);
  // Opens many files (at most kOpenManyPathsMax) in as few nn.OpenMany round trips as the
  // reply limits allow, all of one reply on one namenode snapshot. Each path gets, in
  // order, its reader (an inline file's bytes already in it: reading it asks nobody) or the
  // error a lone Open would have given. A non-ok Result only when the batch as a whole
  // failed: too many paths (kInvalidArgument), the namenode unreachable, a malformed reply.
  using Opened = Result<std::unique_ptr<Reader>>;
  Result<std::vector<Opened>> OpenMany(const std::vector<std::string>& paths);
  Result<proto::FileStatus> Stat(std::string_view path);
  Result<ListPage> List(std::string_view path, std::string_view start_after = {},
                        uint32_t limit = 0);
  // Every entry of a directory, page by page.
  Result<std::vector<proto::FileStatus>> ListAll(std::string_view path);
  Status Delete(std::string_view path, bool recursive);
  Status Rename(std::string_view source, std::string_view destination);
  Status SetPermission(std::string_view path, uint32_t mode);
  // Modification and access times in nanoseconds since the epoch; -1 leaves one unchanged.
  Status SetTimes(std::string_view path, int64_t mtime_ns, int64_t atime_ns);
  Status SetOwner(std::string_view path, const std::string& owner, const std::string& group);
  Status SetReplication(std::string_view path, uint32_t replication);
  // Quotas (nn.SetQuota, superuser only): a limit given is set (0 removes it), one left out
  // kept; ClearQuota removes both. GetQuota: the limits (0: none) and the subtree's usage.
  Status SetQuota(std::string_view path, std::optional<uint64_t> names_max,
                  std::optional<uint64_t> bytes_max);
  Status ClearQuota(std::string_view path);
  Result<proto::GetQuotaReply> GetQuota(std::string_view path);
  Result<proto::ClusterReportReply> Report();
  // Makes later reads, whichever namenode answers them, see every write acknowledged to any
  // client before this call (nn.Msync; HDFS's msync). A client always sees its own writes
  // without it.
  Status Msync();

  // Writes a whole file (Create, Write, Close).
  Status WriteFile(std::string_view path, std::string_view data, const CreateOptions& options);
  // Reads a whole file.
  Result<std::string> ReadFile(std::string_view path);

  const ClientOptions& options() const { return context_.options(); }
  NamenodeClient& namenode() { return context_.namenode(); }
  // What this file system's readers and writers share; lives as long as the file system.
  ClientContext& context() { return context_; }
  // The cluster's defaults (asked once).
  Result<proto::ServerDefaultsReply> Defaults();

 private:
  // The bytes [aligned end, end) of `block`'s trailing partial chunk, read from its replicas.
  Result<std::string> ReadBlockTail(const proto::LocatedBlock& block);

  ClientContext context_;
  bool have_defaults_ = false;
  proto::ServerDefaultsReply defaults_;
};

}  // namespace granary
