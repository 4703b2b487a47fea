#include "core/client/file_system.h"

#include <algorithm>
#include <optional>

#include "core/common/crc32c.h"
#include "core/common/limits.h"
#include "core/rpc/router.h"
#include "proto/datanode.pb.h"

namespace granary {

FileSystem::FileSystem(Env& env, Transport& transport, ClientOptions options)
    : context_(env, transport, std::move(options)) {}

Result<proto::ServerDefaultsReply> FileSystem::Defaults() {
  if (!have_defaults_) {
    proto::ServerDefaultsRequest request;
    GRANARY_RETURN_IF_ERROR(
        context_.namenode().Call(rpc::nn::kServerDefaults, request, &defaults_));
    have_defaults_ = true;
  }
  return defaults_;
}

Status FileSystem::Mkdirs(std::string_view path, uint32_t mode, bool create_parents) {
  proto::MkdirsRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_mode(mode);
  request.set_create_parents(create_parents);
  proto::MkdirsReply reply;
  return context_.namenode().Call(rpc::nn::kMkdirs, request, &reply);
}

Result<std::unique_ptr<Writer>> FileSystem::Create(std::string_view path,
                                                   const CreateOptions& options) {
  GRANARY_ASSIGN_OR_RETURN(proto::ServerDefaultsReply defaults, Defaults());
  if (path.size() > kPathBytesMax) return Status(StatusCode::kPathTooLong, std::string(path));
  return std::make_unique<Writer>(context_, std::string(path), options,
                                  defaults.inline_threshold_bytes(), defaults.block_bytes());
}

Result<std::string> FileSystem::ReadBlockTail(const proto::LocatedBlock& block) {
  const uint64_t length = block.block().length_bytes();
  const uint64_t tail = length % kChecksumChunkBytes;
  if (tail == 0) return std::string();
  Status last_error(StatusCode::kUnavailable, "last block has no replica");
  for (const proto::DatanodeInfo& replica : block.replicas()) {
    proto::ReadBlockRequest request;
    *request.mutable_block() = block.block();
    request.set_offset_bytes(length - tail);
    request.set_length_bytes(tail);
    request.set_verified_by_reader(true);
    request.set_access_token(block.access_token());
    proto::ReadBlockReply reply;
    std::string payload;
    const Status status =
        rpc::Call(context_.transport(), Address{replica.address()}, rpc::dn::kReadBlock, request,
                  {}, context_.env().Now() + options().datanode_timeout, &reply, &payload);
    if (status.code() == StatusCode::kNodeDown) return status;
    if (!status.ok()) {
      last_error = AsBlockReadError(status);
      continue;
    }
    // The replica's last chunk, exactly: it is finalized at the block's length.
    if (reply.offset_bytes() != length - tail || payload.size() != tail ||
        reply.chunk_crc32c_size() != 1 || Crc32c(payload) != reply.chunk_crc32c(0)) {
      last_error = Status(StatusCode::kCorruption, "last chunk from " + replica.address());
      continue;
    }
    return payload;
  }
  return last_error;
}

Result<std::unique_ptr<Writer>> FileSystem::Append(std::string_view path) {
  if (path.size() > kPathBytesMax) return Status(StatusCode::kPathTooLong, std::string(path));
  proto::AppendRequest request;
  *request.mutable_user() = options().user;
  request.set_path(std::string(path));
  request.set_client_name(options().client_name);
  request.set_client_address(options().client_address);
  proto::AppendReply reply;
  std::string inline_bytes;
  // The last block may first need its replicas back (AppendReply.retry_later): as long as a
  // close waits for its minimum replication.
  for (uint32_t attempt = 1;; ++attempt) {
    GRANARY_RETURN_IF_ERROR(
        context_.namenode().Call(rpc::nn::kAppend, request, &reply, {}, &inline_bytes));
    if (!reply.retry_later()) break;
    if (attempt == options().complete_attempts) {
      return Status(StatusCode::kUnavailable,
                    std::string(path) + ": its last block is still being re-replicated");
    }
    GRANARY_RETURN_IF_ERROR(context_.namenode().Backoff(std::min<uint32_t>(attempt, 4)));
  }
  AppendStart start;
  start.inode_id = reply.status().inode_id();
  start.replication = reply.status().replication();
  start.block_bytes = reply.status().block_bytes();
  if (start.inode_id == 0 || start.block_bytes == 0) {
    return Status(StatusCode::kBadMessage, "nn.Append reply without a file");
  }
  if (reply.status().inline_data()) {
    start.inline_data = true;
    start.inline_bytes = std::move(inline_bytes);
  } else if (reply.new_generation_stamp() != 0) {
    Result<std::string> tail = ReadBlockTail(reply.last_block());
    if (!tail.ok()) {
      // Give the file back as it was: its last block is untouched.
      proto::CompleteRequest complete;
      *complete.mutable_user() = options().user;
      complete.set_path(std::string(path));
      complete.set_inode_id(start.inode_id);
      complete.set_client_name(options().client_name);
      *complete.mutable_last() = reply.last_block().block();
      proto::CompleteReply completed;
      (void)context_.namenode().Call(rpc::nn::kComplete, complete, &completed);
      return tail.status().WithContext(std::string(path));
    }
    start.last_block = reply.last_block();
    start.new_generation_stamp = reply.new_generation_stamp();
    start.last_block_tail = std::move(*tail);
  } else if (reply.has_last_block()) {
    start.full_last_block = reply.last_block().block();
  }
  return std::make_unique<Writer>(context_, std::string(path), std::move(start),
                                  reply.inline_threshold_bytes());
}

Result<bool> FileSystem::RecoverLease(std::string_view path) {
  proto::RecoverLeaseRequest request;
  *request.mutable_user() = options().user;
  request.set_path(std::string(path));
  proto::RecoverLeaseReply reply;
  GRANARY_RETURN_IF_ERROR(context_.namenode().Call(rpc::nn::kRecoverLease, request, &reply));
  return reply.closed();
}

Result<std::unique_ptr<Reader>> FileSystem::Open(std::string_view path) {
  proto::OpenRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_client_address(context_.options().client_address);
  proto::OpenReply reply;
  std::string inline_data;
  GRANARY_RETURN_IF_ERROR(
      context_.namenode().Call(rpc::nn::kOpen, request, &reply, {}, &inline_data));
  auto reader = std::make_unique<Reader>(context_, std::string(path), std::move(reply),
                                         std::move(inline_data));
  GRANARY_RETURN_IF_ERROR(reader->MeasureLastBlock());
  return reader;
}

Result<std::vector<FileSystem::Opened>> FileSystem::OpenMany(
    const std::vector<std::string>& paths) {
  if (paths.size() > kOpenManyPathsMax) {
    return Status(StatusCode::kInvalidArgument, "OpenMany of " + std::to_string(paths.size()) +
                                                    " paths; at most " +
                                                    std::to_string(kOpenManyPathsMax));
  }
  std::vector<Opened> out;
  out.reserve(paths.size());
  while (out.size() < paths.size()) {
    proto::OpenManyRequest request;
    *request.mutable_user() = context_.options().user;
    request.set_client_address(context_.options().client_address);
    for (size_t i = out.size(); i < paths.size(); ++i) request.add_paths(paths[i]);
    proto::OpenManyReply reply;
    std::string payload;
    GRANARY_RETURN_IF_ERROR(
        context_.namenode().Call(rpc::nn::kOpenMany, request, &reply, {}, &payload));
    const size_t asked = paths.size() - out.size();
    if (reply.files_size() == 0 || static_cast<size_t>(reply.files_size()) > asked) {
      return Status(StatusCode::kBadMessage, "nn.OpenMany answered " +
                                                 std::to_string(reply.files_size()) + " of " +
                                                 std::to_string(asked) + " paths");
    }
    uint64_t inline_total = 0;
    for (const proto::OpenedFile& file : reply.files()) {
      if (file.inline_bytes() > payload.size() - inline_total) {
        return Status(StatusCode::kBadMessage, "nn.OpenMany inline bytes pass its payload");
      }
      inline_total += file.inline_bytes();
    }
    if (inline_total != payload.size()) {
      return Status(StatusCode::kBadMessage, "nn.OpenMany payload longer than its files");
    }
    uint64_t at = 0;
    for (proto::OpenedFile& file : *reply.mutable_files()) {
      const std::string& path = paths[out.size()];
      if (file.status_code() != 0) {
        const std::optional<StatusCode> code = StatusCodeFromWire(file.status_code());
        if (!code) {
          return Status(StatusCode::kBadMessage,
                        "nn.OpenMany: unknown status code " + std::to_string(file.status_code()));
        }
        out.emplace_back(Status(*code, file.status_message()));
        continue;
      }
      proto::OpenReply opened;
      *opened.mutable_status() = std::move(*file.mutable_status());
      opened.mutable_blocks()->Swap(file.mutable_blocks());
      std::string data = payload.substr(at, file.inline_bytes());
      at += file.inline_bytes();
      out.emplace_back(
          std::make_unique<Reader>(context_, path, std::move(opened), std::move(data)));
    }
  }
  return out;
}

Result<proto::FileStatus> FileSystem::Stat(std::string_view path) {
  proto::StatRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  proto::StatReply reply;
  GRANARY_RETURN_IF_ERROR(context_.namenode().Call(rpc::nn::kStat, request, &reply));
  return reply.status();
}

Result<ListPage> FileSystem::List(std::string_view path, std::string_view start_after,
                                  uint32_t limit) {
  proto::ListRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_start_after(std::string(start_after));
  request.set_limit(limit);
  proto::ListReply reply;
  GRANARY_RETURN_IF_ERROR(context_.namenode().Call(rpc::nn::kList, request, &reply));
  ListPage page;
  page.entries.assign(reply.entries().begin(), reply.entries().end());
  page.has_more = reply.has_more();
  return page;
}

Result<std::vector<proto::FileStatus>> FileSystem::ListAll(std::string_view path) {
  std::vector<proto::FileStatus> all;
  std::string after;
  for (;;) {
    GRANARY_ASSIGN_OR_RETURN(ListPage page, List(path, after, 0));
    for (proto::FileStatus& entry : page.entries) all.push_back(std::move(entry));
    if (!page.has_more || all.empty()) return all;
    after = all.back().name();
  }
}

Status FileSystem::Delete(std::string_view path, bool recursive) {
  proto::DeleteRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_recursive(recursive);
  proto::DeleteReply reply;
  bool retried = false;
  const Status status =
      context_.namenode().Call(rpc::nn::kDelete, request, &reply, {}, nullptr, &retried);
  // A retry that finds nothing: the first attempt did the work.
  if (retried && status.code() == StatusCode::kNotFound) return Status::Ok();
  return status;
}

Status FileSystem::Rename(std::string_view source, std::string_view destination) {
  proto::RenameRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_source(std::string(source));
  request.set_destination(std::string(destination));
  proto::RenameReply reply;
  bool retried = false;
  const Status status =
      context_.namenode().Call(rpc::nn::kRename, request, &reply, {}, nullptr, &retried);
  if (retried && status.code() == StatusCode::kNotFound && Stat(destination).ok() &&
      !Stat(source).ok()) {
    return Status::Ok();
  }
  return status;
}

Status FileSystem::SetTimes(std::string_view path, int64_t mtime_ns, int64_t atime_ns) {
  proto::SetTimesRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_mtime_ns(mtime_ns);
  request.set_atime_ns(atime_ns);
  proto::SetAttributeReply reply;
  return context_.namenode().Call(rpc::nn::kSetTimes, request, &reply);
}

Status FileSystem::SetPermission(std::string_view path, uint32_t mode) {
  proto::SetPermissionRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_mode(mode);
  proto::SetAttributeReply reply;
  return context_.namenode().Call(rpc::nn::kSetPermission, request, &reply);
}

Status FileSystem::SetOwner(std::string_view path, const std::string& owner,
                            const std::string& group) {
  proto::SetOwnerRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_owner(owner);
  request.set_group(group);
  proto::SetAttributeReply reply;
  return context_.namenode().Call(rpc::nn::kSetOwner, request, &reply);
}

Status FileSystem::SetReplication(std::string_view path, uint32_t replication) {
  proto::SetReplicationRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_replication(replication);
  proto::SetAttributeReply reply;
  return context_.namenode().Call(rpc::nn::kSetReplication, request, &reply);
}

Status FileSystem::SetQuota(std::string_view path, std::optional<uint64_t> names_max,
                            std::optional<uint64_t> bytes_max) {
  proto::SetQuotaRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  if (names_max) request.set_names_max(*names_max);
  if (bytes_max) request.set_bytes_max(*bytes_max);
  proto::SetQuotaReply reply;
  return context_.namenode().Call(rpc::nn::kSetQuota, request, &reply);
}

Status FileSystem::ClearQuota(std::string_view path) {
  proto::SetQuotaRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  request.set_clear(true);
  proto::SetQuotaReply reply;
  return context_.namenode().Call(rpc::nn::kSetQuota, request, &reply);
}

Result<proto::GetQuotaReply> FileSystem::GetQuota(std::string_view path) {
  proto::GetQuotaRequest request;
  *request.mutable_user() = context_.options().user;
  request.set_path(std::string(path));
  proto::GetQuotaReply reply;
  GRANARY_RETURN_IF_ERROR(context_.namenode().Call(rpc::nn::kGetQuota, request, &reply));
  return reply;
}

Status FileSystem::Msync() { return context_.namenode().Msync(); }

Result<proto::ClusterReportReply> FileSystem::Report() {
  proto::ClusterReportRequest request;
  proto::ClusterReportReply reply;
  GRANARY_RETURN_IF_ERROR(context_.namenode().Call(rpc::nn::kClusterReport, request, &reply));
  return reply;
}

Status FileSystem::WriteFile(std::string_view path, std::string_view data,
                             const CreateOptions& options) {
  GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, Create(path, options));
  GRANARY_RETURN_IF_ERROR(writer->Write(data));
  return writer->Close();
}

Result<std::string> FileSystem::ReadFile(std::string_view path) {
  GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, Open(path));
  // An inline file's bytes came with its metadata (checked by the namenode against the
  // inode's CRC32C): hand them over rather than copy them.
  if (reader->status().inline_data()) return reader->TakeInlineData();
  return reader->ReadAt(0, reader->Size());
}

}  // namespace granary
