#include "core/common/status.h"

#include <cerrno>

#include "core/common/posix_errno.h"

#include <gtest/gtest.h>

namespace granary {
namespace {

Result<int> Half(int x) {
  if (x % 2 != 0) return Status(StatusCode::kInvalidArgument, "odd");
  return x / 2;
}

Result<int> Quarter(int x) {
  GRANARY_ASSIGN_OR_RETURN(int half, Half(x));
  return Half(half);
}

Status CheckEven(int x) {
  GRANARY_RETURN_IF_ERROR(Half(x).status());
  return Status::Ok();
}

TEST(StatusTest, OkAndErrorsCarryCodeAndMessage) {
  EXPECT_TRUE(Status::Ok().ok());
  const Status s(StatusCode::kNotFound, "/a/b");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.ToString(), "not found: /a/b");
  EXPECT_EQ(s.WithContext("open").ToString(), "not found: open: /a/b");
  EXPECT_EQ(s.WithContext("open").code(), StatusCode::kNotFound);
}

TEST(StatusTest, WireValuesRoundTripAndUnknownOnesAreRejected) {
  // kQuotaExceeded is the last code of the table (core/common/status.h): one past it is unknown.
  for (int32_t v = 0; v <= static_cast<int32_t>(StatusCode::kQuotaExceeded); ++v) {
    auto code = StatusCodeFromWire(v);
    ASSERT_TRUE(code.has_value()) << v;
    EXPECT_EQ(static_cast<int32_t>(*code), v);
    EXPECT_NE(StatusCodeName(*code), "unknown");
  }
  EXPECT_FALSE(StatusCodeFromWire(static_cast<int32_t>(StatusCode::kQuotaExceeded) + 1).has_value());
  EXPECT_FALSE(StatusCodeFromWire(-1).has_value());
  EXPECT_FALSE(StatusCodeFromWire(9999).has_value());
}

TEST(StatusTest, ResultPropagatesThroughMacros) {
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(3).status().message(), "odd");
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), StatusCode::kInvalidArgument);
}

// What Python and the mount tell programs: a refusal a program can act on keeps its own errno
// (a quota is not a failed disk; a replaced file is opened again), anything else is EIO.
TEST(StatusTest, ErrnoNamesWhatAProgramCanActOn) {
  EXPECT_EQ(ErrnoOf(StatusCode::kOk), 0);
  EXPECT_EQ(ErrnoOf(StatusCode::kNotFound), ENOENT);
  EXPECT_EQ(ErrnoOf(StatusCode::kPermissionDenied), EACCES);
  EXPECT_EQ(ErrnoOf(StatusCode::kNoSpace), ENOSPC);
  EXPECT_EQ(ErrnoOf(StatusCode::kQuotaExceeded), EDQUOT);
  EXPECT_EQ(ErrnoOf(StatusCode::kStale), ESTALE);
  EXPECT_EQ(ErrnoOf(StatusCode::kUnimplemented), EOPNOTSUPP);
  EXPECT_EQ(ErrnoOf(StatusCode::kCorruption), EIO);
  EXPECT_EQ(ErrnoOf(Status(StatusCode::kQuotaExceeded, "over")), EDQUOT);
}

}  // namespace
}  // namespace granary
