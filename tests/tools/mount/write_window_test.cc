#include "tools/mount/write_window.h"

#include <gtest/gtest.h>

#include <string>

namespace granary::mount {
namespace {

TEST(WriteWindowTest, SequentialWritesLeaveOnlyPastTwiceTheWindow) {
  WriteWindow window(4);
  std::string released;
  ASSERT_TRUE(window.Write(0, "abcdefgh", &released).ok());
  EXPECT_EQ(released, "");  // 8 bytes fit twice the window
  ASSERT_TRUE(window.Write(8, "i", &released).ok());
  EXPECT_EQ(released, "abcde");  // the window keeps the last 4
  EXPECT_EQ(window.released_bytes(), 5u);
  EXPECT_EQ(window.size(), 9u);
  EXPECT_EQ(window.ReleaseAll(), "fghi");
  EXPECT_EQ(window.size(), 9u);
}

TEST(WriteWindowTest, RewritesInsideTheWindowReachTheOutput) {
  WriteWindow window(16);
  std::string released;
  ASSERT_TRUE(window.Write(0, "header??data", &released).ok());
  ASSERT_TRUE(window.Write(6, "OK", &released).ok());  // fill in the header afterwards
  EXPECT_EQ(window.size(), 12u);
  EXPECT_EQ(window.Read(4, 6).value(), "erOKda");
  EXPECT_EQ(released + window.ReleaseAll(), "headerOKdata");
}

TEST(WriteWindowTest, WritesBeforeTheWindowFailWithoutChangingAnything) {
  WriteWindow window(2);
  std::string released;
  ASSERT_TRUE(window.Write(0, "abcdef", &released).ok());
  EXPECT_EQ(released, "abcd");
  const Status status = window.Write(1, "X", &released);
  EXPECT_EQ(status.code(), StatusCode::kUnimplemented);
  EXPECT_EQ(window.Read(0, 1).status().code(), StatusCode::kUnimplemented);
  EXPECT_EQ(window.ReleaseAll(), "ef");
}

TEST(WriteWindowTest, HolesReadAsZerosAndLongHolesAreRefused) {
  WriteWindow window(8);
  std::string released;
  ASSERT_TRUE(window.Write(3, "x", &released).ok());
  EXPECT_EQ(window.ReleaseAll(), std::string("\0\0\0x", 4));
  EXPECT_EQ(window.Write(4 + 9, "y", &released).code(), StatusCode::kUnimplemented);
  EXPECT_EQ(window.size(), 4u);
}

TEST(WriteWindowTest, TruncateCutsAndExtendsWithinTheWindow) {
  WriteWindow window(8);
  std::string released;
  ASSERT_TRUE(window.Write(0, "abcdef", &released).ok());
  ASSERT_TRUE(window.Truncate(2, &released).ok());
  ASSERT_TRUE(window.Truncate(4, &released).ok());
  EXPECT_EQ(window.ReleaseAll(), std::string("ab\0\0", 4));
  EXPECT_EQ(window.Truncate(1, &released).code(), StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace granary::mount
