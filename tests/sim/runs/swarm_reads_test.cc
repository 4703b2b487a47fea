// The swarm's read model (sim/runs/swarm/swarm_reads.h): which observations break
// read-your-writes or go back in time, and which ambiguous ones must not raise an alarm.
#include "sim/runs/swarm/swarm_reads.h"

#include <gtest/gtest.h>

#include <string>

#include "sim/runs/swarm/swarm_state.h"

namespace granary::sim::swarm {
namespace {

using Verdict = ReadModel::Verdict;

constexpr uint32_t kOwner = 1;
constexpr uint32_t kOther = 2;
const std::string kPath = "/c1/f0";

ReadObservation Absent() { return ReadObservation{}; }
ReadObservation Bytes(const std::string& data) { return ReadObservation{true, data.size(), &data}; }
ReadObservation Length(uint64_t length) { return ReadObservation{true, length, nullptr}; }

TEST(SwarmReadsTest, OwnerMustSeeItsAcknowledgedWrite) {
  ReadModel model;
  const size_t at = model.BeginWrite(kPath, kPath, 7, 100);
  model.Acknowledged(kOwner, kPath, at);
  const std::string v7 = Content(kPath, 7, 100);
  EXPECT_EQ(model.Observe(kOwner, kPath, Bytes(v7)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOwner, kPath, Length(100)), Verdict::kConsistent);
  // A namenode that had not applied the write: the path absent, or a stale length.
  EXPECT_EQ(model.Observe(kOwner, kPath, Absent()), Verdict::kRywViolation);
  // Another client promised nothing about this write; absent is its first view.
  EXPECT_EQ(model.Observe(kOther, kPath, Absent()), Verdict::kConsistent);
}

TEST(SwarmReadsTest, AnotherClientNeverGoesBack) {
  ReadModel model;
  const size_t first = model.BeginWrite(kPath, kPath, 1, 10);
  model.Acknowledged(kOwner, kPath, first);
  const size_t second = model.BeginWrite(kPath, kPath, 2, 20);
  model.Acknowledged(kOwner, kPath, second);
  const std::string v1 = Content(kPath, 1, 10), v2 = Content(kPath, 2, 20);
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v1)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v2)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v1)), Verdict::kBackwards);
  EXPECT_EQ(model.Observe(kOther, kPath, Absent()), Verdict::kBackwards);
  // A restarted client starts with no floor.
  model.NewIncarnation(kOther);
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v1)), Verdict::kConsistent);
}

TEST(SwarmReadsTest, AmbiguousObservationsRaiseNoFalseAlarm) {
  ReadModel model;
  // Absent (0), written (1), deleted (2), written again (3): "absent" matches 0 and 2.
  model.Acknowledged(kOwner, kPath, model.BeginWrite(kPath, kPath, 1, 10));
  model.Acknowledged(kOwner, kPath, model.BeginDelete(kPath));
  const std::string v1 = Content(kPath, 1, 10);
  EXPECT_EQ(model.Observe(kOther, kPath, Absent()), Verdict::kConsistent);   // 0 or 2
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v1)), Verdict::kConsistent);  // 1: was 0
  EXPECT_EQ(model.Observe(kOther, kPath, Absent()), Verdict::kConsistent);   // 2
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v1)), Verdict::kBackwards);
}

TEST(SwarmReadsTest, AFailedWriteMayHaveLeftAPrefixOrNothing) {
  ReadModel model;
  const size_t first = model.BeginWrite(kPath, kPath, 1, 10);
  model.Acknowledged(kOwner, kPath, first);
  (void)model.BeginWrite(kPath, kPath, 2, 4000);  // never acknowledged
  const std::string v1 = Content(kPath, 1, 10);
  const std::string prefix = Content(kPath, 2, 1000);
  EXPECT_EQ(model.Observe(kOwner, kPath, Bytes(v1)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOwner, kPath, Bytes(prefix)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOwner, kPath, Length(4000)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOwner, kPath, Bytes(v1)), Verdict::kBackwards);
  const std::string never = Content(kPath, 3, 10);
  EXPECT_EQ(model.Observe(kOwner, kPath, Bytes(never)), Verdict::kUnmatched);
}

// A read that began before an overwrite was acknowledged may see the overwrite's file in
// any state it passed through (empty, or a prefix); one that began after must see it whole.
TEST(SwarmReadsTest, AReadOverlappingAnOverwriteMaySeeItsNewFileEmpty) {
  ReadModel model;
  const size_t first = model.BeginWrite(kPath, kPath, 1, 10);
  model.Acknowledged(kOwner, kPath, first);
  const std::string v1 = Content(kPath, 1, 10);
  EXPECT_EQ(model.Observe(kOther, kPath, Bytes(v1)), Verdict::kConsistent);
  ReadObservation empty{true, 0, nullptr};
  empty.began = model.Clock();  // the read begins; the overwrite is acknowledged meanwhile
  const size_t second = model.BeginWrite(kPath, kPath, 2, 4000);
  model.Acknowledged(kOwner, kPath, second);
  EXPECT_EQ(model.Observe(kOther, kPath, empty), Verdict::kConsistent);
  empty.began = model.Clock();  // a read that began after the acknowledgement: no state
  EXPECT_EQ(model.Observe(kOther, kPath, empty), Verdict::kUnmatched);
  EXPECT_EQ(model.Observe(kOther, kPath, Length(4000)), Verdict::kConsistent);
}

TEST(SwarmReadsTest, RenameMovesTheStateAndEmptiesTheSource) {
  ReadModel model;
  const std::string target = "/c1/f1";
  model.Acknowledged(kOwner, kPath, model.BeginWrite(kPath, kPath, 5, 50));
  const size_t to = model.BeginRename(kPath, target);
  const size_t from = model.LastIndex(kPath);
  model.Acknowledged(kOwner, target, to);
  model.Acknowledged(kOwner, kPath, from);
  const std::string v5 = Content(kPath, 5, 50);
  EXPECT_EQ(model.Observe(kOwner, target, Bytes(v5)), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOwner, kPath, Absent()), Verdict::kConsistent);
  EXPECT_EQ(model.Observe(kOwner, kPath, Bytes(v5)), Verdict::kRywViolation);
  EXPECT_EQ(model.Observe(kOwner, target, Absent()), Verdict::kRywViolation);
}

}  // namespace
}  // namespace granary::sim::swarm
