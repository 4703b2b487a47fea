// Helpers shared by the namenode's tests: a simulated namenode process hosting a Namespace,
// users, a raw dump of the MetaStore and a checker of the store's structural invariants.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/common/random.h"
#include "core/namenode/inode_store.h"
#include "core/namenode/namespace.h"
#include "sim/kernel/sim_process.h"
#include "sim/kernel/simulator.h"
#include "sim/models/hardware.h"
#include "sim/models/mem_store.h"
#include "tests/test_seed.h"

namespace granary {
// Status codes print by name in test failures.
inline void PrintTo(StatusCode code, std::ostream* out) { *out << StatusCodeName(code); }
}  // namespace granary

namespace granary::namenode_testing {

using granary::test::SeedForTest;

inline User MakeUser(const std::string& name, const std::vector<std::string>& groups = {}) {
  User user;
  user.set_user(name);
  for (const std::string& g : groups) user.add_groups(g);
  return user;
}
inline User Super() { return MakeUser("granary"); }

// A namenode machine in a simulator, with a loaded Namespace on its current incarnation.
// Every Run* call spawns a fiber on the namenode process and drives the simulator until no
// event is left; the body must have finished by then.
class NamenodeHarness {
 public:
  explicit NamenodeHarness(uint64_t seed, NamespaceOptions options = {})
      : sim_(seed), options_(std::move(options)) {
    sim::NodeOptions node;
    node.name = "namenode";
    id_ = hardware_.AddNode(node, [](sim::SimProcess&) {});
    sim_.StartNode(id_);
    sim_.RunUntilIdle();
    MakeNamespace();
  }
  ~NamenodeHarness() {
    const Status shutdown = sim_.Shutdown();
    EXPECT_TRUE(shutdown.ok()) << shutdown.ToString();
    namespace_.reset();
  }

  sim::Simulator& sim() { return sim_; }
  Namespace& ns() { return *namespace_; }
  sim::MemStore& store() { return hardware_.machine(id_).meta_store(); }
  sim::SimProcess& process() { return *sim_.node(id_).process(); }
  const std::vector<proto::Inode>& under_construction() const { return under_construction_; }
  const Status& load_status() const { return load_status_; }

  // Runs `body` on a fiber of the namenode and returns once it finished.
  void Run(const std::function<void(Namespace&)>& body) {
    bool finished = false;
    process().Spawn("test", [this, &body, &finished] {
      body(*namespace_);
      finished = true;
    });
    sim_.RunUntilIdle();
    ASSERT_TRUE(finished) << "the body never finished";
  }
  // Starts `body` on a fiber without driving the simulator.
  void Spawn(std::function<void(Namespace&)> body) {
    process().Spawn("worker", [this, body = std::move(body)] { body(*namespace_); });
  }

  // Crashes the namenode (its pending operations unwind with kNodeDown), starts a new
  // incarnation and loads a new Namespace over the same store.
  void Restart() {
    sim_.CrashNode(id_);
    sim_.RunUntilIdle();
    namespace_.reset();
    sim_.StartNode(id_);
    sim_.RunUntilIdle();
    MakeNamespace();
  }

  // Every live key and value of the store, in key order (MemStore never suspends).
  std::vector<KeyValue> Dump() {
    std::vector<KeyValue> all;
    std::string start;
    for (;;) {
      Result<std::vector<KeyValue>> page = store().Scan(start, "", kMetaScanEntriesMax);
      EXPECT_TRUE(page.ok());
      if (!page.ok()) return all;
      for (KeyValue& kv : *page) all.push_back(std::move(kv));
      if (page->size() < kMetaScanEntriesMax) return all;
      start = all.back().key + '\0';
    }
  }

 private:
  void MakeNamespace() {
    namespace_ = std::make_unique<Namespace>(process().env(), process().meta_store(), options_);
    under_construction_.clear();
    Run([this](Namespace& ns) { load_status_ = ns.Load(&under_construction_); });
    ASSERT_TRUE(load_status_.ok()) << load_status_.ToString();
  }

  sim::Simulator sim_;
  sim::Hardware hardware_{sim_};
  const NamespaceOptions options_;
  NodeId id_;
  std::unique_ptr<Namespace> namespace_;
  std::vector<proto::Inode> under_construction_;
  Status load_status_;
};

// What a raw walk of the store finds.
struct StoreCensus {
  uint64_t files = 0;                           // non-root file entries
  uint64_t directories = 0;                     // non-root directory entries
  uint64_t orphans = 0;                         // "g" keys
  std::map<std::string, proto::Inode> by_path;  // every entry reachable from the root
};

// Checks the store's structure and returns its census. Always: one root; every entry's key
// matches its inode; ids are unique; every location key names an entry with that id and
// every non-root entry has its location key. When `settled` (no orphans are expected): every
// entry is reachable from the root, inline data and block records belong to live files.
inline StoreCensus CheckStore(const std::vector<KeyValue>& dump, bool settled) {
  StoreCensus census;
  std::map<uint64_t, proto::Inode> by_id;
  std::map<uint64_t, EntryName> location;
  std::set<uint64_t> inline_keys;
  std::map<uint64_t, proto::StoredBlock> blocks;
  for (const KeyValue& kv : dump) {
    const RecordKey key = InodeStore::Classify(kv.key);
    if (key.kind == RecordKind::kEntry) {
      proto::Inode inode;
      EXPECT_TRUE(inode.ParseFromString(kv.value));
      EXPECT_TRUE(key.id == inode.parent_id() && key.name == inode.name())
          << "entry key does not match inode " << inode.id();
      EXPECT_TRUE(by_id.emplace(inode.id(), inode).second) << "duplicate inode id " << inode.id();
      if (InodeId(inode.id()) == kRootInodeId) continue;
      if (inode.type() == proto::INODE_TYPE_DIRECTORY) {
        ++census.directories;
      } else {
        ++census.files;
      }
    } else if (key.kind == RecordKind::kLocation) {
      Result<EntryName> where = InodeStore::DecodeLocation(kv.value);
      EXPECT_TRUE(where.ok()) << "unreadable location of inode " << key.id;
      if (where.ok()) location[key.id] = *where;
    } else if (key.kind == RecordKind::kInline) {
      inline_keys.insert(key.id);
    } else if (key.kind == RecordKind::kOrphan) {
      ++census.orphans;
    } else if (key.kind == RecordKind::kBlock) {
      proto::StoredBlock block;
      EXPECT_TRUE(block.ParseFromString(kv.value));
      blocks[key.id] = block;
    } else {
      EXPECT_EQ(key.kind, RecordKind::kCounter) << "unexpected key " << kv.key;
    }
  }
  EXPECT_EQ(by_id.count(kRootInodeId.value()), 1u) << "no root";
  for (const auto& [id, inode] : by_id) {
    if (InodeId(id) == kRootInodeId) continue;
    auto it = location.find(id);
    EXPECT_TRUE(it != location.end()) << "inode " << id << " has no location key";
    if (it != location.end()) {
      EXPECT_TRUE(it->second.parent.value() == inode.parent_id() && it->second.name == inode.name())
          << "location of inode " << id << " disagrees with its entry";
    }
  }
  for (const auto& [id, where] : location) {
    EXPECT_TRUE(by_id.count(id)) << "location key of inode " << id << " names no entry";
  }
  if (!settled) return census;
  EXPECT_EQ(census.orphans, 0u);
  // Reachability: paths from the root; every entry must get one.
  std::map<uint64_t, std::string> path_of{{kRootInodeId.value(), "/"}};
  for (bool grew = true; grew;) {
    grew = false;
    for (const auto& [id, inode] : by_id) {
      if (path_of.count(id)) continue;
      auto parent = path_of.find(inode.parent_id());
      if (parent == path_of.end()) continue;
      EXPECT_EQ(by_id[inode.parent_id()].type(), proto::INODE_TYPE_DIRECTORY)
          << "inode " << id << " lives under a file";
      path_of[id] = (parent->second == "/" ? "" : parent->second) + "/" + inode.name();
      grew = true;
    }
  }
  for (const auto& [id, inode] : by_id) {
    EXPECT_TRUE(path_of.count(id))
        << "inode " << id << " (" << inode.name() << ") is unreachable from the root";
    if (path_of.count(id)) census.by_path[path_of[id]] = inode;
  }
  for (uint64_t id : inline_keys) {
    auto it = by_id.find(id);
    EXPECT_TRUE(it != by_id.end() && it->second.inline_data())
        << "inline data of a missing or non-inline inode " << id;
  }
  for (const auto& [block_id, block] : blocks) {
    auto it = by_id.find(block.inode_id());
    bool listed = false;
    if (it != by_id.end()) {
      for (const proto::BlockRef& ref : it->second.blocks()) listed |= ref.block_id() == block_id;
    }
    EXPECT_TRUE(listed) << "block record " << block_id << " of no live file";
  }
  return census;
}

}  // namespace granary::namenode_testing
