// SimJournal: the Journal seam (core/seams/journal.h) of one simulated process over the
// cluster's SimJournalService (sim_journal_service.h), the simulator's counterpart of
// net/etcd_journal.h. One per namenode process incarnation:
//
//   SimJournalService journal(hardware, options);          // beside the Hardware
//   ...in the namenode's start function:
//   SimJournal client(process, journal);                    // its calls cost simulated time
//
// Every call is one or more service calls (Call in the service header: round trips on the
// simulated network, syncs on the members). Read waits for new entries with a watch held at
// the log leader (answered by the next commit, as etcd's Watch). Campaign polls with reads every
// poll_interval while another holder keeps leadership, and writes its claim only when the lease is
// free. A won leadership is renewed by a fiber of the process every lease_ttl / 3 (a ReadIndex
// round, no sync); the renewal stops when the process crashes, the client is destroyed, its
// renewals are paused (PauseRenewal or the service's PauseRenewals) or the service answers that the
// lease is gone. WaitForLoss watches this client's own view: the renewal's answer, a Resign, and
// the local rule of the contract (lease_ttl since the last renewal known to have been served,
// counted from when it was sent).
//
// Errors as the contract says: no majority reachable -> kUnavailable at the deadline; a write
// sent but unanswered -> kTimeout (outcome unknown); the process crashed -> kNodeDown.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/seams/journal.h"
#include "sim/models/sim_journal_service.h"

namespace granary::sim {

class SimProcess;

class SimJournal final : public Journal {
 public:
  // `process` and `service` outlive this client; its renewal fiber may outlive it (it stops
  // at its next tick).
  SimJournal(SimProcess& process, SimJournalService& service);
  ~SimJournal() override;
  SimJournal(const SimJournal&) = delete;
  SimJournal& operator=(const SimJournal&) = delete;

  Result<FencingToken> Campaign(std::string_view candidate, Instant deadline) override;
  Status WaitForLoss(FencingToken token, Instant deadline) override;
  Result<std::string> Leader(Instant deadline) override;
  Status Resign(Instant deadline) override;
  Status HandOver(std::string_view successor, Duration reserve, Instant deadline) override;
  Result<uint64_t> Append(FencingToken token, std::string_view payload, Instant deadline) override;
  Result<std::vector<JournalEntry>> Read(uint64_t from_seq, uint32_t max_entries,
                                         Instant deadline) override;
  Result<uint64_t> LastSeq(Instant deadline) override;
  Status Truncate(FencingToken token, uint64_t before_seq, Instant deadline) override;

  // Stops (or resumes) renewing this client's lease, as if its process were paused (a fault
  // for tests and the swarm): the lease then expires after lease_ttl.
  void PauseRenewal(bool paused);

  // This client's leadership, shared with its renewal fiber.
  struct Leadership {
    FencingToken token;
    Instant renewed_at{};  // when the last renewal known to be served was sent
    bool lost = false;
    bool closed = false;  // the client is gone
  };

 private:
  JournalRequest Request(JournalOp op) const;
  // Runs a request and returns its reply, or the reply's own status when it is an error.
  Result<JournalReply> Run(const JournalRequest& request, Instant deadline);
  // Records leadership under `token`, won by a campaign sent at `sent`, and starts renewing.
  FencingToken Won(FencingToken token, Instant sent);
  void StartRenewing(const std::shared_ptr<Leadership>& leadership);
  // Whether `token` is this client's and its lease still counts by the local rule.
  bool Holds(FencingToken token) const;

  SimProcess& process_;
  SimJournalService& service_;
  std::shared_ptr<SimJournalService::RenewalSwitch> renewal_;
  const uint64_t id_;
  std::shared_ptr<Leadership> leadership_;  // null when this client never led
};

}  // namespace granary::sim
