// Model checking of the Namespace: long random sequences of operations over a small name
// alphabet (so that collisions, conflicts and permission denials are frequent) run against
// the Namespace and against a plain in-memory reference tree implementing the documented
// semantics (namespace.h, path.h, permission.h); every status code and every read result
// must agree. A concurrent variant runs many fibers at once and checks the store's
// invariants afterwards.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "core/namenode/namespace.h"
#include "tests/core/namenode/namenode_test_util.h"

namespace granary {
namespace {

using namenode_testing::CheckStore;
using namenode_testing::MakeUser;
using namenode_testing::NamenodeHarness;
using namenode_testing::SeedForTest;
using namenode_testing::Super;

constexpr uint64_t kInlineThreshold = 16;

// ================================ operations ================================

enum class OpKind { kMkdirs, kCreate, kDelete, kRename, kChmod, kChown, kStat, kList, kOpen };

struct Op {
  OpKind kind = OpKind::kStat;
  User user;
  std::string path;
  std::string path2;  // rename destination
  uint32_t mode = 0;
  bool flag = false;  // mkdirs: parents; delete: recursive
  CreateArgs create;
  std::string owner, group;
  std::string start_after;
  uint32_t limit = 0;

  std::string Describe() const {
    static const char* kNames[] = {"mkdirs", "create", "delete", "rename", "chmod",
                                   "chown",  "stat",   "list",   "open"};
    std::string out =
        std::string(kNames[static_cast<int>(kind)]) + " by " + user.user() + " " + path;
    if (kind == OpKind::kRename) out += " -> " + path2;
    if (kind == OpKind::kMkdirs || kind == OpKind::kChmod || kind == OpKind::kCreate) {
      out += " mode " + std::to_string(mode);
    }
    if (kind == OpKind::kCreate) {
      out += " overwrite " + std::to_string(create.overwrite) + " complete " +
             std::to_string(create.complete) + " client '" + create.client_name + "' parents " +
             std::to_string(create.create_parents) + " bytes " +
             std::to_string(create.inline_data.size()) + " rep " +
             std::to_string(create.replication) + " block " + std::to_string(create.block_bytes);
    }
    if (kind == OpKind::kMkdirs || kind == OpKind::kDelete) out += " flag " + std::to_string(flag);
    if (kind == OpKind::kChown) out += " to " + owner + ":" + group;
    if (kind == OpKind::kList) out += " after '" + start_after + "' limit " + std::to_string(limit);
    return out;
  }
};

// What an operation answered: its code and, for reads, a canonical rendering of the result.
struct Outcome {
  StatusCode code = StatusCode::kOk;
  std::string result;
  bool operator==(const Outcome&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Outcome& o) {
  return out << StatusCodeName(o.code) << " [" << o.result << "]";
}

std::string RenderStatus(const std::string& name, bool dir, const std::string& owner,
                         const std::string& group, uint32_t mode, uint64_t length, bool open) {
  return name + (dir ? " d " : " f ") + owner + ":" + group + " " + std::to_string(mode) + " " +
         std::to_string(length) + (open ? " open" : "");
}

std::string Render(const proto::FileStatus& s) {
  return RenderStatus(s.name(), s.type() == proto::INODE_TYPE_DIRECTORY, s.owner(), s.group(),
                      s.mode(), s.length_bytes(), s.under_construction());
}

// ================================ the generator ================================

const std::vector<User>& Users() {
  static const std::vector<User> users = {Super(), MakeUser("alice", {"staff"}),
                                          MakeUser("bob", {"staff"}), MakeUser("eve")};
  return users;
}

class OpGenerator {
 public:
  // Paths are drawn under `base` ("" for the root).
  OpGenerator(Random random, std::string base) : random_(random), base_(std::move(base)) {}

  std::string Name() {
    static const char* kNames[] = {"a", "b", "c"};
    return kNames[random_.Below(3)];
  }

  std::string Path() {
    const uint64_t r = random_.Below(100);
    if (r < 2) return base_.empty() ? "/" : base_;
    if (r < 3) return base_ + "/a/..";  // invalid
    if (r < 4) return "rel/a";          // invalid
    const uint64_t depth = 1 + random_.Below(3);
    std::string path = base_;
    for (uint64_t i = 0; i < depth; ++i) path += (random_.Below(20) == 0 ? "//" : "/") + Name();
    if (random_.Below(20) == 0) path += "/";
    return path;
  }

  uint32_t Mode() {
    // Directories with write but no search permission for some class are the interesting
    // ones (0644, 0600, 0666, 0760, 0376): they tell the write check from the search check.
    static const uint32_t kModes[] = {0,    0755, 0700, 0777, 0711, 0750, 0770, 0644,
                                      0600, 0666, 0760, 0376, 0555, 0070, 0007, 01777};
    if (random_.Below(50) == 0) return 010000;
    return kModes[random_.Below(sizeof(kModes) / sizeof(kModes[0]))];
  }

  const User& AnyUser() {
    const uint64_t r = random_.Below(100);
    if (r < 30) return Users()[0];
    if (r < 60) return Users()[1];
    if (r < 85) return Users()[2];
    return Users()[3];
  }

  Op Next(const User* only_user = nullptr) {
    Op op;
    op.user = only_user ? *only_user : AnyUser();
    op.path = Path();
    const uint64_t r = random_.Below(100);
    if (r < 18) {
      op.kind = OpKind::kMkdirs;
      op.mode = Mode();
      op.flag = random_.Bernoulli(0.6);
    } else if (r < 36) {
      op.kind = OpKind::kCreate;
      op.mode = random_.Bernoulli(0.5) ? 0 : Mode();
      CreateArgs& c = op.create;
      c.mode = op.mode;
      c.overwrite = random_.Bernoulli(0.5);
      c.complete = random_.Bernoulli(0.8);
      c.client_name = random_.Bernoulli(0.5) ? "c1" : "c2";
      if (!c.complete && random_.Below(10) == 0) c.client_name.clear();
      // Now and then a bad replication or block size; mostly good ones.
      static const uint32_t kReplications[] = {
          0, 0, 0, 0, 0, 0, 0, 1, 3, kReplicationMax, kReplicationMax + 1};
      c.replication = kReplications[random_.Below(11)];
      static const uint64_t kBlocks[] = {0, 0, 0, 0, 0, 0, 0, 0, kChecksumChunkBytes, 1};
      c.block_bytes = kBlocks[random_.Below(10)];
      c.create_parents = random_.Bernoulli(0.3);
      const uint64_t size = random_.Below(kInlineThreshold + 2);
      for (uint64_t i = 0; i < size; ++i)
        c.inline_data.push_back(static_cast<char>('a' + random_.Below(26)));
    } else if (r < 48) {
      op.kind = OpKind::kDelete;
      op.flag = random_.Bernoulli(0.5);
    } else if (r < 62) {
      op.kind = OpKind::kRename;
      op.path2 = Path();
    } else if (r < 70) {
      op.kind = OpKind::kChmod;
      op.mode = Mode();
    } else if (r < 73) {
      op.kind = OpKind::kChown;
      static const char* kOwners[] = {"", "", "alice", "bob"};
      static const char* kGroups[] = {"", "staff", "wheel"};
      op.owner = kOwners[random_.Below(4)];
      op.group = kGroups[random_.Below(3)];
    } else if (r < 81) {
      op.kind = OpKind::kStat;
    } else if (r < 91) {
      op.kind = OpKind::kList;
      static const char* kAfter[] = {"", "", "a", "b", "bb"};
      op.start_after = kAfter[random_.Below(5)];
      op.limit = static_cast<uint32_t>(random_.Below(3));
    } else {
      op.kind = OpKind::kOpen;
    }
    return op;
  }

 private:
  Random random_;
  std::string base_;
};

// ================================ the namespace side ================================

Outcome Apply(Namespace& ns, const Op& op) {
  Outcome out;
  switch (op.kind) {
    case OpKind::kMkdirs:
      out.code = ns.Mkdirs(op.user, op.path, op.mode, op.flag).code();
      break;
    case OpKind::kCreate:
      out.code = ns.Create(op.user, op.path, op.create, nullptr).code();
      break;
    case OpKind::kDelete:
      out.code = ns.Delete(op.user, op.path, op.flag, nullptr).code();
      break;
    case OpKind::kRename:
      out.code = ns.Rename(op.user, op.path, op.path2, nullptr).code();
      break;
    case OpKind::kChmod:
      out.code = ns.SetPermission(op.user, op.path, op.mode).code();
      break;
    case OpKind::kChown:
      out.code = ns.SetOwner(op.user, op.path, op.owner, op.group).code();
      break;
    case OpKind::kStat: {
      Result<proto::FileStatus> s = ns.Stat(op.user, op.path);
      out.code = s.code();
      if (s.ok()) out.result = Render(*s);
      break;
    }
    case OpKind::kList: {
      Result<Namespace::ListPage> page = ns.List(op.user, op.path, op.start_after, op.limit);
      out.code = page.code();
      if (page.ok()) {
        for (const proto::FileStatus& s : page->entries) out.result += Render(s) + "; ";
        if (page->has_more) out.result += "more";
      }
      break;
    }
    case OpKind::kOpen: {
      Result<Namespace::OpenResult> open = ns.Open(op.user, op.path);
      out.code = open.code();
      if (open.ok()) out.result = open->inline_data;
      break;
    }
  }
  return out;
}

// ================================ the reference tree ================================

class ReferenceTree {
 public:
  struct Node {
    bool dir = false;
    std::string owner, group;
    uint32_t mode = 0;
    std::string data;
    bool open = false;
    std::string lease_holder;
  };

  ReferenceTree() {
    Node root;
    root.dir = true;
    root.owner = "granary";
    root.group = "supergroup";
    root.mode = kDirectoryModeDefault;
    nodes_["/"] = root;
  }

  const std::map<std::string, Node>& nodes() const { return nodes_; }
  uint64_t files() const {
    return static_cast<uint64_t>(
        std::count_if(nodes_.begin(), nodes_.end(), [](const auto& kv) { return !kv.second.dir; }));
  }
  uint64_t directories() const { return nodes_.size() - 1 - files(); }

  Outcome Apply(const Op& op) {
    Outcome out;
    switch (op.kind) {
      case OpKind::kMkdirs:
        out.code = Mkdirs(op.user, op.path, op.mode, op.flag);
        break;
      case OpKind::kCreate:
        out.code = Create(op.user, op.path, op.create);
        break;
      case OpKind::kDelete:
        out.code = Delete(op.user, op.path, op.flag);
        break;
      case OpKind::kRename:
        out.code = Rename(op.user, op.path, op.path2);
        break;
      case OpKind::kChmod:
        out.code = Chmod(op.user, op.path, op.mode);
        break;
      case OpKind::kChown:
        out.code = Chown(op.user, op.path, op.owner, op.group);
        break;
      case OpKind::kStat:
        out = Stat(op.user, op.path);
        break;
      case OpKind::kList:
        out = List(op.user, op.path, op.start_after, op.limit);
        break;
      case OpKind::kOpen:
        out = Open(op.user, op.path);
        break;
    }
    return out;
  }

  static std::string Join(const std::string& dir, const std::string& name) {
    return dir == "/" ? "/" + name : dir + "/" + name;
  }
  static std::string NameOf(const std::string& path) {
    return path == "/" ? "" : path.substr(path.rfind('/') + 1);
  }
  static std::string ParentOf(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == 0 ? "/" : path.substr(0, slash);
  }

  // Direct children of `dir`, in name order.
  std::vector<std::string> Children(const std::string& dir) const {
    std::vector<std::string> names;
    const std::string prefix = dir == "/" ? "/" : dir + "/";
    for (auto it = nodes_.lower_bound(prefix); it != nodes_.end(); ++it) {
      if (it->first.compare(0, prefix.size(), prefix) != 0) break;
      if (it->first == "/") continue;
      const std::string rest = it->first.substr(prefix.size());
      if (rest.find('/') == std::string::npos) names.push_back(rest);
    }
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  static bool IsSuper(const User& u) {
    if (u.user() == "granary") return true;
    return std::find(u.groups().begin(), u.groups().end(), "supergroup") != u.groups().end();
  }
  static bool InGroup(const User& u, const std::string& group) {
    return std::find(u.groups().begin(), u.groups().end(), group) != u.groups().end();
  }
  static bool Allowed(const User& u, const Node& n, uint32_t bit) {
    if (IsSuper(u)) return true;
    uint32_t bits;
    if (u.user() == n.owner) {
      bits = (n.mode >> 6) & 7;
    } else if (InGroup(u, n.group)) {
      bits = (n.mode >> 3) & 7;
    } else {
      bits = n.mode & 7;
    }
    return (bits & bit) != 0;
  }

  // The existing prefix of a path: paths[0] is "/", paths[i] the i-th component's.
  struct Chain {
    std::vector<std::string> paths;
    bool blocked = false;
    bool found(size_t n) const { return paths.size() == n + 1; }
  };
  Chain Resolve(const std::vector<std::string>& components) const {
    Chain chain;
    chain.paths.push_back("/");
    for (const std::string& c : components) {
      const std::string& here = chain.paths.back();
      if (!nodes_.at(here).dir) {
        chain.blocked = true;
        break;
      }
      const std::string next = Join(here, c);
      if (!nodes_.count(next)) break;
      chain.paths.push_back(next);
    }
    return chain;
  }
  StatusCode Traverse(const User& u, const Chain& chain, size_t upto) const {
    for (size_t i = 0; i < upto && i < chain.paths.size(); ++i) {
      const Node& n = nodes_.at(chain.paths[i]);
      if (!n.dir) break;
      if (!Allowed(u, n, 1)) return StatusCode::kPermissionDenied;
    }
    return chain.blocked ? StatusCode::kNotADirectory : StatusCode::kOk;
  }

  // Parses and resolves; the code is non-ok when parsing or traversal fails.
  struct Resolved {
    StatusCode code = StatusCode::kOk;
    ParsedPath parsed;
    Chain chain;
  };
  Resolved Look(const User& u, std::string_view path, bool full_traverse) const {
    Resolved r;
    Result<ParsedPath> parsed = ParsePath(path);
    if (!parsed.ok()) {
      r.code = parsed.code();
      return r;
    }
    r.parsed = *parsed;
    r.chain = Resolve(r.parsed.components);
    if (full_traverse) r.code = Traverse(u, r.chain, r.parsed.components.size());
    return r;
  }

  StatusCode Mkdirs(const User& u, std::string_view path, uint32_t mode, bool parents) {
    if (mode > kModeBitsMax) return StatusCode::kInvalidArgument;
    Resolved r = Look(u, path, false);
    if (r.code != StatusCode::kOk) return r.code;
    const size_t n = r.parsed.components.size();
    const bool found = r.chain.found(n);
    const StatusCode traverse =
        Traverse(u, r.chain, found ? r.chain.paths.size() - 1 : r.chain.paths.size());
    if (traverse != StatusCode::kOk) return traverse;
    if (found) {
      return nodes_.at(r.chain.paths.back()).dir ? StatusCode::kOk : StatusCode::kAlreadyExists;
    }
    const size_t depth = r.chain.paths.size() - 1;
    if (!parents && depth + 1 < n) return StatusCode::kNotFound;
    const Node& parent = nodes_.at(r.chain.paths.back());
    if (!Allowed(u, parent, 2)) return StatusCode::kPermissionDenied;
    Node dir;
    dir.dir = true;
    dir.owner = u.user();
    dir.group = parent.group;
    dir.mode = mode == 0 ? kDirectoryModeDefault : mode;
    std::string at = r.chain.paths.back();
    for (size_t i = depth; i < n; ++i) {
      at = Join(at, r.parsed.components[i]);
      nodes_[at] = dir;
    }
    return StatusCode::kOk;
  }

  StatusCode Create(const User& u, std::string_view path, const CreateArgs& args) {
    if (args.mode > kModeBitsMax) return StatusCode::kInvalidArgument;
    Result<ParsedPath> parsed = ParsePath(path);
    if (!parsed.ok()) return parsed.code();
    if (parsed->is_root()) return StatusCode::kIsADirectory;
    const uint32_t replication = args.replication ? args.replication : 3;
    if (replication < 1 || replication > kReplicationMax) return StatusCode::kInvalidArgument;
    const uint64_t block = args.block_bytes ? args.block_bytes : kBlockBytesDefault;
    if (block < kChecksumChunkBytes || block > kBlockBytesMax || block % kChecksumChunkBytes) {
      return StatusCode::kInvalidArgument;
    }
    if (args.inline_data.size() > kInlineThreshold) return StatusCode::kInvalidArgument;
    if (!args.complete && args.client_name.empty()) return StatusCode::kInvalidArgument;
    const size_t n = parsed->components.size();
    if (args.create_parents && n > 1) {
      const std::string parent = ParentOf(parsed->normalized);
      const StatusCode made = Mkdirs(u, parent, 0, true);
      if (made == StatusCode::kAlreadyExists) return StatusCode::kNotADirectory;
      if (made != StatusCode::kOk) return made;
    }
    const Chain chain = Resolve(parsed->components);
    const StatusCode traverse = Traverse(u, chain, n);
    if (traverse != StatusCode::kOk) return traverse;
    if (chain.paths.size() < n) return StatusCode::kNotFound;
    const Node parent = nodes_.at(chain.paths[n - 1]);
    if (!Allowed(u, parent, 2)) return StatusCode::kPermissionDenied;
    if (chain.found(n)) {
      const Node& old = nodes_.at(chain.paths.back());
      if (old.dir) return StatusCode::kIsADirectory;
      if (!args.overwrite) return StatusCode::kAlreadyExists;
      if (old.open && old.lease_holder != args.client_name) return StatusCode::kLeaseConflict;
    }
    Node file;
    file.owner = u.user();
    file.group = parent.group;
    file.mode = args.mode ? args.mode : kFileModeDefault;
    file.data = args.inline_data;
    file.open = !args.complete;
    if (file.open) file.lease_holder = args.client_name;
    nodes_[parsed->normalized] = file;
    return StatusCode::kOk;
  }

  void RemoveSubtree(const std::string& path) {
    nodes_.erase(path);
    const std::string prefix = path + "/";
    auto it = nodes_.lower_bound(prefix);
    while (it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0) {
      it = nodes_.erase(it);
    }
  }

  StatusCode Delete(const User& u, std::string_view path, bool recursive) {
    Result<ParsedPath> parsed = ParsePath(path);
    if (!parsed.ok()) return parsed.code();
    if (parsed->is_root()) return StatusCode::kInvalidArgument;
    Resolved r = Look(u, path, true);
    if (r.code != StatusCode::kOk) return r.code;
    const size_t n = r.parsed.components.size();
    if (!r.chain.found(n)) return StatusCode::kNotFound;
    if (!Allowed(u, nodes_.at(r.chain.paths[n - 1]), 2)) return StatusCode::kPermissionDenied;
    const std::string target = r.chain.paths.back();
    if (nodes_.at(target).dir && !Children(target).empty() && !recursive) {
      return StatusCode::kDirectoryNotEmpty;
    }
    RemoveSubtree(target);
    return StatusCode::kOk;
  }

  StatusCode Rename(const User& u, std::string_view source, std::string_view destination) {
    Result<ParsedPath> src = ParsePath(source);
    if (!src.ok()) return src.code();
    Result<ParsedPath> dst = ParsePath(destination);
    if (!dst.ok()) return dst.code();
    if (src->is_root() || dst->is_root()) return StatusCode::kInvalidArgument;
    const size_t ns = src->components.size(), nd = dst->components.size();
    if (nd > ns &&
        std::equal(src->components.begin(), src->components.end(), dst->components.begin())) {
      return StatusCode::kInvalidArgument;
    }
    const Chain from = Resolve(src->components);
    StatusCode code = Traverse(u, from, ns);
    if (code != StatusCode::kOk) return code;
    if (!from.found(ns)) return StatusCode::kNotFound;
    const Chain to = Resolve(dst->components);
    code = Traverse(u, to, nd);
    if (code != StatusCode::kOk) return code;
    if (to.paths.size() < nd) return StatusCode::kNotFound;
    if (src->normalized == dst->normalized) return StatusCode::kOk;
    if (!Allowed(u, nodes_.at(from.paths[ns - 1]), 2)) return StatusCode::kPermissionDenied;
    if (!Allowed(u, nodes_.at(to.paths[nd - 1]), 2)) return StatusCode::kPermissionDenied;
    const Node& moving = nodes_.at(src->normalized);
    if (to.found(nd)) {
      const Node& existing = nodes_.at(dst->normalized);
      if (moving.dir && !existing.dir) return StatusCode::kNotADirectory;
      if (!moving.dir && existing.dir) return StatusCode::kIsADirectory;
      if (existing.dir && !Children(dst->normalized).empty()) {
        return StatusCode::kDirectoryNotEmpty;
      }
      if (!existing.dir && existing.open) return StatusCode::kLeaseConflict;
      nodes_.erase(dst->normalized);
    }
    // Move the subtree: every path at or below the source gets the destination's prefix.
    std::vector<std::pair<std::string, Node>> moved;
    const std::string prefix = src->normalized + "/";
    moved.emplace_back(dst->normalized, nodes_.at(src->normalized));
    for (auto it = nodes_.lower_bound(prefix);
         it != nodes_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
      moved.emplace_back(dst->normalized + it->first.substr(src->normalized.size()), it->second);
    }
    RemoveSubtree(src->normalized);
    for (auto& [path, node] : moved) nodes_[path] = std::move(node);
    return StatusCode::kOk;
  }

  // Shared by chmod and chown: resolve with full traverse; the target must exist.
  Result<std::string> Target(const User& u, std::string_view path) const {
    Resolved r = Look(u, path, true);
    if (r.code != StatusCode::kOk) return Status(r.code, "");
    if (!r.chain.found(r.parsed.components.size())) return Status(StatusCode::kNotFound, "");
    return r.chain.paths.back();
  }

  StatusCode Chmod(const User& u, std::string_view path, uint32_t mode) {
    if (mode > kModeBitsMax) return StatusCode::kInvalidArgument;
    Result<std::string> target = Target(u, path);
    if (!target.ok()) return target.code();
    Node& n = nodes_.at(*target);
    if (!IsSuper(u) && u.user() != n.owner) return StatusCode::kPermissionDenied;
    n.mode = mode;
    return StatusCode::kOk;
  }

  StatusCode Chown(const User& u, std::string_view path, const std::string& owner,
                   const std::string& group) {
    Result<std::string> target = Target(u, path);
    if (!target.ok()) return target.code();
    Node& n = nodes_.at(*target);
    const bool super = IsSuper(u);
    if (!owner.empty() && owner != n.owner && !super) return StatusCode::kPermissionDenied;
    if (!group.empty() && !super && (u.user() != n.owner || !InGroup(u, group))) {
      return StatusCode::kPermissionDenied;
    }
    if (!owner.empty()) n.owner = owner;
    if (!group.empty()) n.group = group;
    return StatusCode::kOk;
  }

  std::string RenderNode(const std::string& path) const {
    const Node& n = nodes_.at(path);
    return RenderStatus(NameOf(path), n.dir, n.owner, n.group, n.mode, n.data.size(), n.open);
  }

  Outcome Stat(const User& u, std::string_view path) const {
    Resolved r = Look(u, path, true);
    if (r.code != StatusCode::kOk) return {r.code, ""};
    if (!r.chain.found(r.parsed.components.size())) return {StatusCode::kNotFound, ""};
    return {StatusCode::kOk, RenderNode(r.chain.paths.back())};
  }

  Outcome List(const User& u, std::string_view path, const std::string& after,
               uint32_t limit) const {
    Result<ParsedPath> parsed = ParsePath(path);
    if (!parsed.ok()) return {parsed.code(), ""};
    if (after.size() > kNameBytesMax) return {StatusCode::kNameTooLong, ""};
    if (limit == 0 || limit > kListPageEntriesMax) limit = kListPageEntriesMax;
    Resolved r = Look(u, path, true);
    if (r.code != StatusCode::kOk) return {r.code, ""};
    if (!r.chain.found(r.parsed.components.size())) return {StatusCode::kNotFound, ""};
    const std::string target = r.chain.paths.back();
    const Node& n = nodes_.at(target);
    if (!n.dir) return {StatusCode::kOk, RenderNode(target) + "; "};
    // Listing needs read and search on the directory.
    if (!Allowed(u, n, 4) || !Allowed(u, n, 1)) return {StatusCode::kPermissionDenied, ""};
    Outcome out;
    uint32_t listed = 0;
    for (const std::string& name : Children(target)) {
      if (!after.empty() && name <= after) continue;
      if (listed == limit) {
        out.result += "more";
        break;
      }
      out.result += RenderNode(Join(target, name)) + "; ";
      ++listed;
    }
    return out;
  }

  Outcome Open(const User& u, std::string_view path) const {
    Resolved r = Look(u, path, true);
    if (r.code != StatusCode::kOk) return {r.code, ""};
    if (!r.chain.found(r.parsed.components.size())) return {StatusCode::kNotFound, ""};
    const Node& n = nodes_.at(r.chain.paths.back());
    if (n.dir) return {StatusCode::kIsADirectory, ""};
    if (!Allowed(u, n, 4)) return {StatusCode::kPermissionDenied, ""};
    return {StatusCode::kOk, n.data};
  }

  std::map<std::string, Node> nodes_;
};

// ================================ whole-tree comparison ================================

// Every entry of the namespace, read through List (paged) and Open, as the superuser.
void WalkNamespace(Namespace& ns, const std::string& dir, std::map<std::string, std::string>* out) {
  std::string after;
  for (;;) {
    Result<Namespace::ListPage> page = ns.List(Super(), dir, after, 2);
    ASSERT_TRUE(page.ok()) << dir << ": " << page.status().ToString();
    for (const proto::FileStatus& s : page->entries) {
      const std::string path = ReferenceTree::Join(dir, s.name());
      std::string rendered = Render(s);
      if (s.type() == proto::INODE_TYPE_DIRECTORY) {
        (*out)[path] = rendered;
        WalkNamespace(ns, path, out);
      } else {
        Result<Namespace::OpenResult> open = ns.Open(Super(), path);
        ASSERT_TRUE(open.ok()) << path;
        (*out)[path] = rendered + " = " + open->inline_data;
      }
    }
    if (!page->has_more) return;
    after = page->entries.back().name();
  }
}

std::map<std::string, std::string> WalkReference(const ReferenceTree& ref) {
  std::map<std::string, std::string> out;
  for (const auto& [path, node] : ref.nodes()) {
    if (path == "/") continue;
    std::string rendered = RenderStatus(ReferenceTree::NameOf(path), node.dir, node.owner,
                                        node.group, node.mode, node.data.size(), node.open);
    out[path] = node.dir ? rendered : rendered + " = " + node.data;
  }
  return out;
}

// `directory_cache_entries`: 0, or a cache small enough to evict often.
NamespaceOptions ModelOptions(uint32_t directory_cache_entries = 0) {
  NamespaceOptions options;
  options.inline_threshold_bytes = kInlineThreshold;
  options.directory_cache_entries = directory_cache_entries;
  return options;
}

// ================================ sequential model check ================================

void RunModelCheck(uint64_t seed, int ops, int check_every, uint32_t cache_entries = 0) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: GRANARY_SEED=" + std::to_string(seed) +
               ")");
  NamenodeHarness h(seed, ModelOptions(cache_entries));
  ReferenceTree ref;
  OpGenerator gen(Random(seed), "");
  // Open the root to everyone, so that the users other than the superuser get somewhere.
  Op open_root;
  open_root.kind = OpKind::kChmod;
  open_root.user = Super();
  open_root.path = "/";
  open_root.mode = 0777;
  h.Run([&](Namespace& ns) { ASSERT_EQ(Apply(ns, open_root), ref.Apply(open_root)); });

  std::map<StatusCode, int> codes;
  for (int done = 0; done < ops && !::testing::Test::HasFailure(); done += check_every) {
    h.Run([&](Namespace& ns) {
      for (int i = 0; i < check_every && done + i < ops; ++i) {
        const Op op = gen.Next();
        const Outcome expected = ref.Apply(op);
        const Outcome got = Apply(ns, op);
        ++codes[got.code];
        ASSERT_EQ(got, expected) << "op " << done + i << ": " << op.Describe();
      }
      // Collect what deletes left behind, then compare the whole tree.
      for (;;) {
        Result<size_t> removed = ns.CollectOrphans(7, nullptr);
        ASSERT_TRUE(removed.ok());
        if (*removed == 0) break;
      }
      std::map<std::string, std::string> walked;
      WalkNamespace(ns, "/", &walked);
      ASSERT_EQ(walked, WalkReference(ref)) << "after op " << done + check_every;
      EXPECT_EQ(ns.counts().files, ref.files());
      EXPECT_EQ(ns.counts().directories, ref.directories());
    });
    const namenode_testing::StoreCensus census = CheckStore(h.Dump(), true);
    EXPECT_EQ(census.files, ref.files());
    EXPECT_EQ(census.directories, ref.directories());
  }
  // The mix must have exercised the interesting answers.
  for (StatusCode code :
       {StatusCode::kOk, StatusCode::kNotFound, StatusCode::kAlreadyExists,
        StatusCode::kPermissionDenied, StatusCode::kNotADirectory, StatusCode::kIsADirectory,
        StatusCode::kDirectoryNotEmpty, StatusCode::kInvalidArgument, StatusCode::kInvalidPath}) {
    EXPECT_GT(codes[code], 0) << "no op answered " << StatusCodeName(code);
  }
}

TEST(NamespaceModelTest, RandomSequencesAgreeWithTheReferenceTree) {
  const uint64_t seed = SeedForTest();
  for (uint64_t i = 0; i < 6 && !HasFailure(); ++i) RunModelCheck(seed + i, 3000, 150);
}

// The same with the directory cache on: renames, deletes, chmods and chowns of directories
// must be seen at once by every later resolution (a small cache evicts, a large one not).
TEST(NamespaceModelTest, RandomSequencesAgreeWithTheReferenceTreeWithDirectoryCache) {
  const uint64_t seed = SeedForTest();
  for (uint64_t i = 0; i < 3 && !HasFailure(); ++i) RunModelCheck(seed + i, 3000, 150, 4);
  for (uint64_t i = 3; i < 6 && !HasFailure(); ++i) RunModelCheck(seed + i, 3000, 150, 4096);
}

// ================================ concurrent variant ================================

// Fibers run random operations at once: some on subtrees of their own, some on a shared one
// (as several users), while a collector runs beside them. Afterwards the store must still be
// a tree whose indexes agree, with nothing left after collection and counts that match.
void RunConcurrent(uint64_t seed, uint32_t cache_entries = 0) {
  SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: GRANARY_SEED=" + std::to_string(seed) +
               ")");
  NamenodeHarness h(seed, ModelOptions(cache_entries));
  h.Run([](Namespace& ns) {
    ASSERT_TRUE(ns.SetPermission(Super(), "/", 0777).ok());
    ASSERT_TRUE(ns.Mkdirs(Super(), "/shared", 0777, false).ok());
  });
  Random root(seed);
  constexpr int kFibers = 10;
  constexpr int kOpsPerFiber = 400;
  int finished = 0;
  bool stop_collector = false;
  std::map<StatusCode, int> codes;
  for (int f = 0; f < kFibers; ++f) {
    // Even fibers: alone in /own<f> as the superuser. Odd fibers: /shared, as anyone.
    const bool own = f % 2 == 0;
    const std::string base = own ? "/own" + std::to_string(f) : "/shared";
    h.Spawn([&, f, own, base, gen = OpGenerator(root.Derive(static_cast<uint64_t>(f)), base)](
                Namespace& ns) mutable {
      if (own) {
        ASSERT_TRUE(ns.Mkdirs(Super(), base, 0777, false).ok());
      }
      const User super = Super();
      for (int i = 0; i < kOpsPerFiber; ++i) {
        Op op = gen.Next(own ? &super : nullptr);
        // Renames cross between the shared tree and the root now and then.
        if (op.kind == OpKind::kRename && i % 7 == 0) op.path2 = "/shared/" + gen.Name();
        const Outcome got = Apply(ns, op);
        ++codes[got.code];
        EXPECT_NE(got.code, StatusCode::kCorruption) << op.Describe();
        EXPECT_NE(got.code, StatusCode::kInternal) << op.Describe();
        EXPECT_NE(got.code, StatusCode::kUnavailable) << op.Describe();
      }
      ++finished;
    });
  }
  h.Spawn([&](Namespace& ns) {
    Env& env = h.process().env();
    while (!stop_collector) {
      Result<size_t> removed = ns.CollectOrphans(5, nullptr);
      ASSERT_TRUE(removed.ok()) << removed.status().ToString();
      if (!env.SleepFor(std::chrono::microseconds(300)).ok()) return;
      if (finished == kFibers) stop_collector = true;
    }
  });
  h.sim().RunUntilIdle();
  ASSERT_EQ(finished, kFibers) << "some fibers never finished";
  EXPECT_GT(codes[StatusCode::kOk], kFibers * kOpsPerFiber / 10);
  h.Run([](Namespace& ns) {
    for (;;) {
      Result<size_t> removed = ns.CollectOrphans(1000, nullptr);
      ASSERT_TRUE(removed.ok());
      if (*removed == 0) break;
    }
  });
  const namenode_testing::StoreCensus census = CheckStore(h.Dump(), true);
  EXPECT_EQ(h.ns().counts().files, census.files);
  EXPECT_EQ(h.ns().counts().directories, census.directories);
  // The namespace's own view agrees with the raw store.
  std::map<std::string, std::string> walked;
  h.Run([&](Namespace& ns) { WalkNamespace(ns, "/", &walked); });
  EXPECT_EQ(walked.size(), census.by_path.size() - 1);  // by_path includes the root
  for (const auto& [path, inode] : census.by_path) {
    if (path != "/") {
      EXPECT_TRUE(walked.count(path)) << path;
    }
  }
  // And a restart recovers the same counts.
  const NamespaceCounts before = h.ns().counts();
  h.Restart();
  EXPECT_EQ(h.ns().counts().files, before.files);
  EXPECT_EQ(h.ns().counts().directories, before.directories);
}

TEST(NamespaceModelTest, ConcurrentFibersKeepTheStoreATree) {
  const uint64_t seed = SeedForTest();
  for (uint64_t i = 0; i < 6 && !HasFailure(); ++i) RunConcurrent(seed + i);
}

TEST(NamespaceModelTest, ConcurrentFibersKeepTheStoreATreeWithDirectoryCache) {
  const uint64_t seed = SeedForTest();
  for (uint64_t i = 0; i < 4 && !HasFailure(); ++i) RunConcurrent(seed + i, i % 2 ? 4 : 4096);
}

}  // namespace
}  // namespace granary
