#include "core/namenode/standby_reads.h"

#include <algorithm>
#include <cassert>
#include <utility>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/namenode_context.h"
#include "core/rpc/methods.h"
#include "core/rpc/namenode_locator.h"

namespace granary {

// Reads waiting for a sequence, in sequence order (ties in arrival order). Each waiter's
// sender is owned by its timer fiber; the map holds it weakly, so a waiter whose timer was
// never started (a stopping process) gets the Handoff's fallback at once.
struct StandbyReads::Waiters {
  using Sender = Handoff<Status>::Sender;
  std::multimap<uint64_t, std::weak_ptr<Sender>> by_seq;
};

namespace {

NamespaceOptions WithoutCache(NamespaceOptions options) {
  options.directory_cache_entries = 0;
  return options;
}

Status Behind() { return Status(StatusCode::kNotActive, ""); }

}  // namespace

StandbyReads::StandbyReads(Env& env, JournaledStore& store, const NamespaceOptions& options,
                           Duration cpu_per_request)
    : env_(env),
      store_(store),
      options_(WithoutCache(options)),
      cpu_per_request_(cpu_per_request),
      records_(store),
      reader_(records_, options_),
      waiters_(std::make_shared<Waiters>()) {
  router_.Add(rpc::nn::kStat,
              [this](const auto& r, auto* reply, rpc::Exchange& e) { return Stat(r, reply, e); });
  router_.Add(rpc::nn::kList,
              [this](const auto& r, auto* reply, rpc::Exchange& e) { return List(r, reply, e); });
  router_.Add(rpc::nn::kOpen,
              [this](const auto& r, auto* reply, rpc::Exchange& e) { return Open(r, reply, e); });
  router_.Add(rpc::nn::kOpenMany, [this](const auto& r, auto* reply, rpc::Exchange& e) {
    return OpenMany(r, reply, e);
  });
}

StandbyReads::~StandbyReads() {
  // Timer fibers still sleeping find the map gone (they hold it weakly) and only time out.
  waiters_.reset();
}

void StandbyReads::Applied() {
  const uint64_t applied = store_.applied_seq();
  auto& by_seq = waiters_->by_seq;
  const auto end = by_seq.upper_bound(applied);
  for (auto it = by_seq.begin(); it != end; ++it) {
    if (std::shared_ptr<Waiters::Sender> sender = it->second.lock()) sender->Set(Status::Ok());
  }
  by_seq.erase(by_seq.begin(), end);
}

Status StandbyReads::WaitFor(uint64_t seq, Instant deadline) {
  if (store_.applied_seq() >= seq) return Status::Ok();
  if (env_.Now() >= deadline || waiters_->by_seq.size() >= kStandbyReadWaitersMax) {
    return Behind();
  }
  Handoff<Status> done(Status(StatusCode::kNodeDown, "namenode stopping"));
  std::shared_ptr<Waiters::Sender> sender = done.TakeSender();
  const auto entry = waiters_->by_seq.emplace(seq, sender);
  (void)entry;
  std::weak_ptr<Waiters> weak = waiters_;
  env_.Spawn("read-wait", [&env = env_, sender = std::move(sender), weak, seq, deadline] {
    const Status slept = env.SleepUntil(deadline);
    sender->Set(slept.ok() ? Behind() : slept);
    if (std::shared_ptr<Waiters> waiters = weak.lock()) {
      // Leave the map (Applied may have taken it out already).
      auto [first, last] = waiters->by_seq.equal_range(seq);
      for (auto it = first; it != last; ++it) {
        if (it->second.lock() == sender) {
          waiters->by_seq.erase(it);
          break;
        }
      }
    }
  });
  return done.Wait();
}

Result<RpcReply> StandbyReads::Serve(const RpcContext& context, RpcRequest& request,
                                     const std::string& active) {
  assert(NamenodeLocator::IsRead(request.method));
  const uint64_t applied = store_.applied_seq();
  Status ready =
      journal_last_seq_ > applied + kStandbyReadLagEntriesMax
          ? Behind()
          : WaitFor(request.seq, std::min(context.deadline, env_.Now() + kStandbyReadWaitMax));
  Result<RpcReply> reply =
      ready.ok() ? router_.Dispatch(context, request) : Result<RpcReply>(ready);
  if (reply.code() == StatusCode::kNotActive) {
    ++refused_;
    return Status(StatusCode::kNotActive, active);
  }
  if (!reply.ok()) return reply;
  ++served_;
  reply->seq = store_.applied_seq();
  return reply;
}

Status StandbyReads::Admit(const proto::UserContext& user, std::string_view method) {
  GRANARY_RETURN_IF_ERROR(NamenodeContext::CheckUser(user));
  auto cost = cpu_per_method_.find(method);
  return env_.ChargeCpu(cost != cpu_per_method_.end() ? cost->second : cpu_per_request_);
}

bool StandbyReads::LocateAll(const proto::Inode& file, const std::string& client_address,
                             google::protobuf::RepeatedPtrField<proto::LocatedBlock>* out) {
  if (file.blocks_size() == 0) return true;
  if (locations_ == nullptr) return false;
  uint64_t offset = 0;
  for (const proto::BlockRef& block : file.blocks()) {
    if (!locations_->Locate(block, offset, client_address, out->Add())) return false;
    offset += block.length_bytes();
  }
  return true;
}

Status StandbyReads::Stat(const proto::StatRequest& r, proto::StatReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user(), rpc::nn::kStat.name));
  GRANARY_ASSIGN_OR_RETURN(*reply->mutable_status(), reader_.Stat(r.user(), r.path()));
  if (reply->status().under_construction()) return Behind();
  return Status::Ok();
}

Status StandbyReads::List(const proto::ListRequest& r, proto::ListReply* reply, rpc::Exchange&) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user(), rpc::nn::kList.name));
  GRANARY_ASSIGN_OR_RETURN(ListPage page,
                           reader_.List(r.user(), r.path(), r.start_after(), r.limit()));
  for (proto::FileStatus& entry : page.entries) *reply->add_entries() = std::move(entry);
  reply->set_has_more(page.has_more);
  return Status::Ok();
}

Status StandbyReads::Open(const proto::OpenRequest& r, proto::OpenReply* reply,
                          rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user(), rpc::nn::kOpen.name));
  if (r.client_address().size() > kNameBytesMax) {
    return NamenodeContext::Invalid("client address too long");
  }
  GRANARY_ASSIGN_OR_RETURN(OpenResult opened, reader_.Open(r.user(), r.path()));
  if (opened.inode.under_construction()) return Behind();
  *reply->mutable_status() = NamespaceReader::ToStatus(opened.inode);
  if (opened.inode.inline_data()) {
    exchange.reply_payload = std::move(opened.inline_data);
    return Status::Ok();
  }
  if (!LocateAll(opened.inode, r.client_address(), reply->mutable_blocks())) return Behind();
  return Status::Ok();
}

// As NamespaceService::OpenMany, on this store; a file in blocks that cannot be located here
// sends the whole call to the active.
Status StandbyReads::OpenMany(const proto::OpenManyRequest& r, proto::OpenManyReply* reply,
                              rpc::Exchange& exchange) {
  GRANARY_RETURN_IF_ERROR(Admit(r.user(), rpc::nn::kOpenMany.name));
  if (r.client_address().size() > kNameBytesMax) {
    return NamenodeContext::Invalid("client address too long");
  }
  if (r.paths_size() == 0) return NamenodeContext::Invalid("nn.OpenMany names no path");
  size_t path_bytes = 0;
  for (const std::string& path : r.paths()) path_bytes += path.size();
  if (static_cast<size_t>(r.paths_size()) > kOpenManyPathsMax ||
      path_bytes > kOpenManyPathBytesMax) {
    return NamenodeContext::Invalid("nn.OpenMany names too many paths or path bytes");
  }
  const std::shared_ptr<NamespaceReader::OpenView> view = reader_.NewOpenView();
  std::string& payload = exchange.reply_payload;
  payload.clear();
  size_t body_bytes = 0;
  for (const std::string& path : r.paths()) {
    const size_t payload_before = payload.size();
    Result<OpenResult> opened = reader_.Open(r.user(), path, *view, &payload);
    if (opened.code() == StatusCode::kNodeDown) return opened.status();
    proto::OpenedFile file;
    if (!opened.ok()) {
      file.set_status_code(static_cast<int32_t>(opened.code()));
      file.set_status_message(opened.status().message());
    } else if (opened->inode.under_construction()) {
      return Behind();
    } else {
      *file.mutable_status() = NamespaceReader::ToStatus(opened->inode);
      if (opened->inode.inline_data()) {
        file.set_inline_bytes(payload.size() - payload_before);
      } else if (!LocateAll(opened->inode, r.client_address(), file.mutable_blocks())) {
        return Behind();
      }
    }
    const size_t file_bytes = file.ByteSizeLong() + 11;  // with its tag and length prefix
    if (reply->files_size() > 0 && (payload.size() > kOpenManyPayloadBytesMax ||
                                    body_bytes + file_bytes > kOpenManyReplyBodyBytesMax)) {
      payload.resize(payload_before);
      break;  // the client asks again for the rest
    }
    body_bytes += file_bytes;
    *reply->add_files() = std::move(file);
  }
  assert(reply->files_size() > 0);
  return Status::Ok();
}

}  // namespace granary
