// StandbyReads: a standby namenode's answers to reads (issue 14; DESIGN.md §5a).
//
// A standby follows the journal into its own store, so it can answer the reads a client may
// send to any namenode (NamenodeLocator::IsRead: nn.Stat, nn.List, nn.Open, nn.OpenMany,
// inline bytes included) from that store, at the journal position it has applied.
//
// Consistency. A read carries the least journal sequence its client needs (RpcRequest::seq,
// the highest the client saw in any reply). Serve answers only once the store has applied at
// least that far: it waits up to kStandbyReadWaitMax, woken by Applied (never polling), and
// otherwise refuses with kNotActive naming the active, so the client goes there. So a client
// reads its own writes and never sees the namespace go back in time, whichever namenode
// answers. A standby more than kStandbyReadLagEntriesMax entries behind the journal's last
// entry (as last learnt, JournalAt) refuses every read the same way: a client that needs
// nothing in particular should still not read a namespace far in the past.
//
// Blocks. Which datanodes hold a block's replicas is soft state a namenode learns from the
// datanodes' reports. A standby that has such a map plugs it in as BlockLocations; without
// one (null), an open of a file stored in blocks is sent to the active (kNotActive), while
// inline files, stat and list are answered here.
//
// Files being written. A file under construction changes with every flush (its inline bytes
// or its last block), and a reader of another client carries no sequence of the writer's,
// so a standby would show it as of the last entry it applied: a tail reader could miss bytes
// the writer's Flush already promised to every new reader (issue 16). Stat, open and
// nn.OpenMany of such a file therefore go to the active, which holds its latest state. (A
// file the standby still shows closed while the active has reopened it for append is the
// one case left: a reader who must see another client's appends calls nn.Msync first.)
//
// Writes never reach this class; the owner (HaNamenode) answers them with a redirect.
// Fibers: Serve runs on each request's fiber; Applied and JournalAt on the follower's.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/common/handoff.h"
#include "core/common/status.h"
#include "core/common/time.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/journaled_store.h"
#include "core/namenode/namespace_reader.h"
#include "core/namenode/namespace_types.h"
#include "core/rpc/router.h"
#include "core/seams/env.h"
#include "core/seams/transport.h"
#include "proto/fs.pb.h"
#include "proto/namenode.pb.h"

namespace granary {

// "Locations of these blocks": the replicas a namenode knows of, for reads of files in blocks.
class BlockLocations {
 public:
  virtual ~BlockLocations() = default;
  // Fills `out` (block, offset and replicas nearest `client_address` first) for `block` of a
  // file at `offset`; false when this namenode cannot tell where the block's replicas are
  // (then the read goes to the active).
  virtual bool Locate(const proto::BlockRef& block, uint64_t offset,
                      const std::string& client_address, proto::LocatedBlock* out) = 0;
};

class StandbyReads {
 public:
  // `store` (the standby's, followed by its owner) must outlive this object.
  StandbyReads(Env& env, JournaledStore& store, const NamespaceOptions& options,
               Duration cpu_per_request);
  ~StandbyReads();

  // Where the replicas of blocks are learnt; null (the default): reads of files in blocks
  // go to the active. Not owned.
  void set_block_locations(BlockLocations* locations) { locations_ = locations; }
  // CPU charged per read by method name, as the active charges it (NamenodeOptions::
  // cpu_per_method); a method not named costs `cpu_per_request`. Empty by default.
  void set_cpu_per_method(std::map<std::string, Duration, std::less<>> costs) {
    cpu_per_method_ = std::move(costs);
  }

  // The follower applied entries: wakes the reads waiting for them.
  void Applied();
  // The journal's last sequence as the follower last learnt it.
  void JournalAt(uint64_t last_seq) { journal_last_seq_ = std::max(journal_last_seq_, last_seq); }
  uint64_t journal_last_seq() const { return journal_last_seq_; }

  // Answers the read `request` (NamenodeLocator::IsRead(request.method)) as described above;
  // a refusal is kNotActive with `active` (the active's address, "" when unknown) as message.
  // A reply carries the applied sequence.
  Result<RpcReply> Serve(const RpcContext& context, RpcRequest& request, const std::string& active);

  // Ok once the store has applied `seq`, waiting (woken by Applied) until `deadline` at
  // most; kNotActive ("") when it has not by then or too many reads wait already.
  Status WaitForApplied(uint64_t seq, Instant deadline) { return WaitFor(seq, deadline); }

  // Checked before every read, as on the active (core/security/identity.h): with CURVE a
  // read acts as its key's user here too.
  void set_request_check(rpc::Router::RequestCheck check) {
    router_.SetRequestCheck(std::move(check));
  }

  // Reads answered, and refused for being behind (the request's sequence or the bound).
  uint64_t served() const { return served_; }
  uint64_t refused() const { return refused_; }

 private:
  struct Waiters;

  // Ok once the store has applied `seq` (waiting until `deadline` at most), else not ok.
  Status WaitFor(uint64_t seq, Instant deadline);
  Status Admit(const proto::UserContext& user, std::string_view method);
  // The located blocks of `file` into `out`; false when one cannot be located here.
  bool LocateAll(const proto::Inode& file, const std::string& client_address,
                 google::protobuf::RepeatedPtrField<proto::LocatedBlock>* out);

  Status Stat(const proto::StatRequest&, proto::StatReply*, rpc::Exchange&);
  Status List(const proto::ListRequest&, proto::ListReply*, rpc::Exchange&);
  Status Open(const proto::OpenRequest&, proto::OpenReply*, rpc::Exchange&);
  Status OpenMany(const proto::OpenManyRequest&, proto::OpenManyReply*, rpc::Exchange&);

  Env& env_;
  JournaledStore& store_;
  // The directory cache stays off: the follower's writes do not pass the reader's Commit,
  // which is what keeps that cache valid.
  const NamespaceOptions options_;
  const Duration cpu_per_request_;
  std::map<std::string, Duration, std::less<>> cpu_per_method_;
  InodeStore records_;
  NamespaceReader reader_;
  rpc::Router router_;
  BlockLocations* locations_ = nullptr;
  std::shared_ptr<Waiters> waiters_;
  uint64_t journal_last_seq_ = 0;
  uint64_t served_ = 0;
  uint64_t refused_ = 0;
};

}  // namespace granary
