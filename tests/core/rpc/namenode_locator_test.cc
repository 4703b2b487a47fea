// NamenodeLocator: parsing namenode lists, and which namenode a call goes to after each kind
// of answer, over a scripted in-process transport (no simulator: every call answers at once).
#include "core/rpc/namenode_locator.h"

#include <gtest/gtest.h>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/common/limits.h"
#include "proto/fs.pb.h"

namespace granary {
namespace {

// Each address answers its scripted statuses in turn, then OK; "down" addresses answer
// kUnavailable for ever. Records every call's destination.
class ScriptedTransport : public Transport {
 public:
  Result<RpcReply> Call(const Address& to, RpcRequest, Instant) override {
    calls.push_back(to.value);
    if (down.contains(to.value)) return Status(StatusCode::kUnavailable, "down");
    std::deque<Status>& queue = script[to.value];
    if (queue.empty()) return RpcReply{};
    Status status = queue.front();
    queue.pop_front();
    if (status.ok()) return RpcReply{};
    return status;
  }
  Status Serve(RpcHandler) override { return Status::Ok(); }
  const Address& self() const override { return self_; }

  std::map<std::string, std::deque<Status>> script;
  std::set<std::string> down;
  std::vector<std::string> calls;

 private:
  Address self_{"client"};
};

Status NotActive(std::string active) { return Status(StatusCode::kNotActive, std::move(active)); }

Status Stat(NamenodeLocator& locator, std::vector<Address>* called = nullptr) {
  proto::StatRequest request;
  proto::StatReply reply;
  return locator.CallByName(rpc::nn::kStat.name, request, "", Instant(), &reply, nullptr, called);
}

TEST(NamenodeLocatorTest, ParsesOneAddressOrAList) {
  Result<std::vector<Address>> one = NamenodeLocator::Parse(Address{"127.0.0.1:7000"});
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<Address>{{"127.0.0.1:7000"}}));
  Result<std::vector<Address>> three = NamenodeLocator::Parse(Address{"a:1,b:2,c:3"});
  ASSERT_TRUE(three.ok());
  EXPECT_EQ(*three, (std::vector<Address>{{"a:1"}, {"b:2"}, {"c:3"}}));
}

TEST(NamenodeLocatorTest, RefusesEmptyItemsLongItemsAndLongListsByName) {
  for (const std::string bad : {"", ",", "a,", ",a", "a,,b"}) {
    const Result<std::vector<Address>> parsed = NamenodeLocator::Parse(Address{bad});
    ASSERT_FALSE(parsed.ok()) << bad;
    EXPECT_EQ(parsed.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("is empty"), std::string::npos)
        << parsed.status().ToString();
  }
  EXPECT_NE(NamenodeLocator::Parse(Address{"a,,b"}).status().message().find("item 2"),
            std::string::npos);
  EXPECT_TRUE(NamenodeLocator::Parse(Address{std::string(kNamenodeAddressBytesMax, 'x')}).ok());
  EXPECT_FALSE(
      NamenodeLocator::Parse(Address{"a," + std::string(kNamenodeAddressBytesMax + 1, 'x')}).ok());
  std::string list = "n0";
  for (size_t i = 1; i < kNamenodeListMax; ++i) list += ",n" + std::to_string(i);
  EXPECT_TRUE(NamenodeLocator::Parse(Address{list}).ok());
  EXPECT_FALSE(NamenodeLocator::Parse(Address{list + ",one-more"}).ok());
}

TEST(NamenodeLocatorTest, ABadListMakesEveryCallAnswerItsError) {
  ScriptedTransport transport;
  NamenodeLocator locator(transport, Address{"a,,b"});
  EXPECT_EQ(locator.status().code(), StatusCode::kInvalidArgument);
  const Status status = Stat(locator);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(NamenodeLocator::Rotated(status));
  EXPECT_TRUE(transport.calls.empty());
}

TEST(NamenodeLocatorTest, ARedirectIsFollowedAtOnceAndSticks) {
  ScriptedTransport transport;
  transport.script["a"] = {NotActive("c")};
  NamenodeLocator locator(transport, Address{"a,b,c"});
  EXPECT_EQ(locator.current(), Address{"a"});
  std::vector<Address> called;
  EXPECT_TRUE(Stat(locator, &called).ok());
  EXPECT_EQ(called, (std::vector<Address>{{"a"}, {"c"}}));
  EXPECT_EQ(locator.current(), Address{"c"});
  // The next call goes straight to the active.
  EXPECT_TRUE(Stat(locator).ok());
  EXPECT_EQ(transport.calls, (std::vector<std::string>{"a", "c", "c"}));
}

TEST(NamenodeLocatorTest, ARedirectOutsideTheListIsFollowedAndRotationResumesInTheList) {
  ScriptedTransport transport;
  transport.script["a"] = {NotActive("z")};
  transport.script["z"] = {Status(StatusCode::kTimeout, "")};
  NamenodeLocator locator(transport, Address{"a,b"});
  const Status status = Stat(locator);
  EXPECT_EQ(status.code(), StatusCode::kTimeout);
  EXPECT_TRUE(NamenodeLocator::Rotated(status));
  EXPECT_EQ(transport.calls, (std::vector<std::string>{"a", "z"}));
  EXPECT_EQ(locator.current(), Address{"b"});  // the one after "a", where z's redirect came from
}

TEST(NamenodeLocatorTest, UnreachableTimeoutAndAnUnknownActiveRotateWithoutRetrying) {
  ScriptedTransport transport;
  transport.down = {"a"};
  transport.script["b"] = {Status(StatusCode::kTimeout, "")};
  transport.script["c"] = {NotActive("")};
  NamenodeLocator locator(transport, Address{"a,b,c"});
  EXPECT_EQ(Stat(locator).code(), StatusCode::kUnavailable);
  EXPECT_EQ(locator.current(), Address{"b"});
  EXPECT_EQ(Stat(locator).code(), StatusCode::kTimeout);
  EXPECT_EQ(locator.current(), Address{"c"});
  EXPECT_EQ(Stat(locator).code(), StatusCode::kNotActive);
  EXPECT_EQ(locator.current(), Address{"a"});  // round the list
  EXPECT_EQ(transport.calls, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(NamenodeLocatorTest, AMessageThatIsNotOneAddressRotates) {
  ScriptedTransport transport;
  transport.script["a"] = {NotActive("create /x: b"), NotActive("b,c"), NotActive("a")};
  NamenodeLocator locator(transport, Address{"a,b"});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Stat(locator).code(), StatusCode::kNotActive);
    EXPECT_EQ(locator.current(), Address{"b"}) << i;
    ASSERT_FALSE(locator.Observe(Address{"b"}, Status(StatusCode::kUnavailable, "")));
    EXPECT_EQ(locator.current(), Address{"a"});
  }
  EXPECT_EQ(transport.calls.size(), 3u);  // none of them was followed
}

TEST(NamenodeLocatorTest, StandbysNamingEachOtherStopAfterTheRedirectLimit) {
  ScriptedTransport transport;
  for (int i = 0; i < 10; ++i) {
    transport.script["a"].push_back(NotActive("b"));
    transport.script["b"].push_back(NotActive("a"));
  }
  NamenodeLocator locator(transport, Address{"a,b"});
  const Status status = Stat(locator);
  EXPECT_EQ(status.code(), StatusCode::kNotActive);
  EXPECT_EQ(transport.calls.size(), size_t{kNamenodeRedirectsMax} + 1);
}

TEST(NamenodeLocatorTest, AnOlderFailureDoesNotMoveTheCurrentNamenodeAgain) {
  ScriptedTransport transport;
  NamenodeLocator locator(transport, Address{"a,b,c"});
  // Two fibers' calls to "a" both time out: the first moves on, the second is old news.
  EXPECT_FALSE(locator.Observe(Address{"a"}, Status(StatusCode::kTimeout, "")));
  EXPECT_FALSE(locator.Observe(Address{"a"}, Status(StatusCode::kTimeout, "")));
  EXPECT_EQ(locator.current(), Address{"b"});
  // An answer other than the rotating ones moves nothing.
  EXPECT_FALSE(locator.Observe(Address{"b"}, Status(StatusCode::kNotFound, "")));
  EXPECT_EQ(locator.current(), Address{"b"});
}

TEST(NamenodeLocatorTest, OneNamenodeStaysPutButFollowsARedirect) {
  ScriptedTransport transport;
  transport.script["a"] = {Status(StatusCode::kUnavailable, ""), NotActive("b")};
  NamenodeLocator locator(transport, Address{"a"});
  EXPECT_EQ(Stat(locator).code(), StatusCode::kUnavailable);
  EXPECT_EQ(locator.current(), Address{"a"});
  EXPECT_TRUE(Stat(locator).ok());
  EXPECT_EQ(locator.current(), Address{"b"});
}

}  // namespace
}  // namespace granary
