#include "core/common/path.h"

#include <gtest/gtest.h>

#include <string>

#include "core/common/limits.h"

namespace granary {
namespace {

using namespace std::string_literals;

StatusCode CodeOf(std::string_view path) { return ParsePath(path).code(); }

TEST(PathTest, NormalisesSlashes) {
  Result<ParsedPath> p = ParsePath("/a//b/");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->normalized, "/a/b");
  EXPECT_EQ(p->components, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(p->is_root());

  Result<ParsedPath> q = ParsePath("///x///y///z");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->normalized, "/x/y/z");
}

TEST(PathTest, RootInEveryForm) {
  for (const char* root : {"/", "//", "///"}) {
    Result<ParsedPath> p = ParsePath(root);
    ASSERT_TRUE(p.ok()) << root;
    EXPECT_EQ(p->normalized, "/");
    EXPECT_TRUE(p->components.empty());
    EXPECT_TRUE(p->is_root());
  }
}

TEST(PathTest, RelativeAndEmptyPathsAreInvalid) {
  EXPECT_EQ(CodeOf(""), StatusCode::kInvalidPath);
  EXPECT_EQ(CodeOf("a"), StatusCode::kInvalidPath);
  EXPECT_EQ(CodeOf("a/b"), StatusCode::kInvalidPath);
  EXPECT_EQ(CodeOf("./a"), StatusCode::kInvalidPath);
}

TEST(PathTest, DotAndDotDotAreInvalid) {
  for (const char* path : {"/.", "/..", "/a/./b", "/a/../b", "/a/.", "/a/..", "/a/../"}) {
    EXPECT_EQ(CodeOf(path), StatusCode::kInvalidPath) << path;
  }
  // Names that merely contain dots are fine.
  for (const char* path : {"/...", "/.a", "/a.", "/..a", "/a..b"}) {
    EXPECT_TRUE(ParsePath(path).ok()) << path;
  }
}

TEST(PathTest, NulIsInvalid) {
  EXPECT_EQ(CodeOf("/a\0b"s), StatusCode::kInvalidPath);
  EXPECT_EQ(CodeOf("/\0"s), StatusCode::kInvalidPath);
  EXPECT_EQ(CodeOf("/a/\0/b"s), StatusCode::kInvalidPath);
  EXPECT_EQ(ValidateName("a\0"s).code(), StatusCode::kInvalidPath);
}

TEST(PathTest, NameLengthLimit) {
  const std::string longest(kNameBytesMax, 'n');
  EXPECT_TRUE(ParsePath("/" + longest).ok());
  EXPECT_TRUE(ParsePath("/a/" + longest + "/b").ok());
  EXPECT_EQ(CodeOf("/" + longest + "n"), StatusCode::kNameTooLong);
  EXPECT_EQ(CodeOf("/a/" + longest + "n" + "/b"), StatusCode::kNameTooLong);
  EXPECT_EQ(ValidateName(longest + "n").code(), StatusCode::kNameTooLong);
}

TEST(PathTest, PathLengthLimit) {
  // "/aaaa.../a" in components of 100 bytes, exactly kPathBytesMax long.
  std::string path;
  while (path.size() + 101 <= kPathBytesMax) path += "/" + std::string(100, 'a');
  path += "/" + std::string(kPathBytesMax - path.size() - 1, 'b');
  ASSERT_EQ(path.size(), kPathBytesMax);
  EXPECT_TRUE(ParsePath(path).ok());
  EXPECT_EQ(CodeOf(path + "c"), StatusCode::kPathTooLong);
  EXPECT_EQ(CodeOf(std::string(kPathBytesMax + 1, '/')), StatusCode::kPathTooLong);
}

TEST(PathTest, DepthLimit) {
  std::string deep;
  for (size_t i = 0; i < kPathDepthMax; ++i) deep += "/d";
  Result<ParsedPath> ok = ParsePath(deep);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->components.size(), kPathDepthMax);
  EXPECT_EQ(CodeOf(deep + "/d"), StatusCode::kPathTooLong);
}

TEST(PathTest, ValidateName) {
  EXPECT_TRUE(ValidateName("a").ok());
  EXPECT_EQ(ValidateName("").code(), StatusCode::kInvalidPath);
  EXPECT_EQ(ValidateName("a/b").code(), StatusCode::kInvalidPath);
  EXPECT_EQ(ValidateName(".").code(), StatusCode::kInvalidPath);
  EXPECT_EQ(ValidateName("..").code(), StatusCode::kInvalidPath);
}

TEST(PathTest, EachViolationKeepsItsOwnCodeWhenOthersAreAbsent) {
  // A bad path reports what is wrong with it, whatever the component position.
  EXPECT_EQ(CodeOf("/ok/" + std::string(kNameBytesMax + 1, 'x')), StatusCode::kNameTooLong);
  EXPECT_EQ(CodeOf("/ok/.."), StatusCode::kInvalidPath);
  EXPECT_EQ(CodeOf("relative/" + std::string(kNameBytesMax + 1, 'x')), StatusCode::kInvalidPath);
}

TEST(PathTest, ParentOfIsDirname) {
  EXPECT_EQ(ParentOf("/a/b"), "/a");
  EXPECT_EQ(ParentOf("/a/b/c.csv"), "/a/b");
  EXPECT_EQ(ParentOf("/a"), "/");
  EXPECT_EQ(ParentOf("/"), "/");
  EXPECT_EQ(ParentOf("//"), "/");
  EXPECT_EQ(ParentOf("//a"), "/");
  EXPECT_EQ(ParentOf("/a//b"), "/a");
  EXPECT_EQ(ParentOf("/a/b/"), "/a");
  EXPECT_EQ(ParentOf("/a/b//"), "/a");
  // Relative (host) paths: a scenario file's directory.
  EXPECT_EQ(ParentOf("a/b"), "a");
  EXPECT_EQ(ParentOf("sim/scenarios/x.textproto"), "sim/scenarios");
  EXPECT_EQ(ParentOf("a"), ".");
  EXPECT_EQ(ParentOf(""), ".");
}

TEST(PathTest, BaseNameIsTheLastName) {
  EXPECT_EQ(BaseName("/a/b"), "b");
  EXPECT_EQ(BaseName("/a/b/"), "b");
  EXPECT_EQ(BaseName("/a"), "a");
  EXPECT_EQ(BaseName("a"), "a");
  EXPECT_EQ(BaseName("a/b.csv"), "b.csv");
  EXPECT_EQ(BaseName("/"), "");
  EXPECT_EQ(BaseName("//"), "");
  EXPECT_EQ(BaseName(""), "");
}

TEST(PathTest, JoinPathWritesOneSlash) {
  EXPECT_EQ(JoinPath("/a", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/a/", "b"), "/a/b");
  EXPECT_EQ(JoinPath("/", "b"), "/b");
  EXPECT_EQ(JoinPath("", "b"), "b");
  EXPECT_EQ(JoinPath("a", "b"), "a/b");
}

TEST(PathTest, ParentOfAndBaseNameJoinBackToANormalizedPath) {
  for (const char* path : {"/a", "/a/b", "/a/b/c", "/x/y.csv"}) {
    Result<ParsedPath> parsed = ParsePath(path);
    ASSERT_TRUE(parsed.ok()) << path;
    EXPECT_EQ(JoinPath(ParentOf(path), BaseName(path)), parsed->normalized) << path;
    // The parent of a namespace path is a valid namespace path, one component shorter.
    Result<ParsedPath> parent = ParsePath(ParentOf(path));
    ASSERT_TRUE(parent.ok()) << path;
    EXPECT_EQ(parent->components.size() + 1, parsed->components.size()) << path;
  }
}

}  // namespace
}  // namespace granary
