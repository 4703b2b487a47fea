// The seam contract suites (tests/seams/) over the real implementations: RealEnv,
// ZmqTransport on 127.0.0.1, PosixDisk and RocksDbStore in a temporary directory.
#include <gtest/gtest.h>

#include <functional>
#include <memory>

#include "net/posix_disk.h"
#include "net/real_env.h"
#include "net/rocksdb_store.h"
#include "net/zmq_transport.h"
#include "tests/net/net_test_util.h"
#include "tests/seams/disk_contract.h"
#include "tests/seams/meta_store_contract.h"
#include "tests/seams/seam_world.h"
#include "tests/seams/transport_contract.h"

namespace granary::net {
namespace {

using seams_test::SeamWorld;

// One process: the body's env, disk, store and client transport, and a second transport that
// serves on the same env (server_env() is env()).
class RealWorld final : public SeamWorld {
 public:
  RealWorld(RealEnv& env, std::string directory) : env_(env), directory_(std::move(directory)) {}

  Status Start() {
    ZmqTransportOptions options;
    options.listen = "127.0.0.1:0";
    GRANARY_ASSIGN_OR_RETURN(client_, ZmqTransport::Create(env_, options));
    GRANARY_ASSIGN_OR_RETURN(server_, ZmqTransport::Create(env_, options));
    return OpenStorage();
  }

  void Close() {
    store_.reset();
    disk_.reset();
    client_.reset();
    server_.reset();
  }

  Env& env() override { return env_; }
  Disk& disk() override { return *disk_; }
  MetaStore& store() override { return *store_; }
  Transport& client() override { return *client_; }
  Transport& server() override { return *server_; }
  Env& server_env() override { return env_; }
  // Port 1 of loopback: nothing listens there, so a connection is refused at once.
  Address UnknownAddress() override { return Address{"127.0.0.1:1"}; }

  // Closes and reopens the disk and the database. The page cache cannot be dropped from a
  // test, so this checks what a clean reopen keeps (everything), which the contract allows.
  bool Reopen() override {
    store_.reset();
    disk_.reset();
    const Status reopened = OpenStorage();
    EXPECT_TRUE(reopened.ok()) << reopened.ToString();
    return reopened.ok();
  }

 private:
  Status OpenStorage() {
    GRANARY_ASSIGN_OR_RETURN(disk_, PosixDisk::Open(env_, directory_ + "/disk"));
    GRANARY_ASSIGN_OR_RETURN(store_, RocksDbStore::Open(env_, directory_ + "/db"));
    return Status::Ok();
  }

  RealEnv& env_;
  const std::string directory_;
  std::unique_ptr<ZmqTransport> client_;
  std::unique_ptr<ZmqTransport> server_;
  std::unique_ptr<PosixDisk> disk_;
  std::unique_ptr<RocksDbStore> store_;
};

struct RealHarness {
  static void Run(const std::function<void(SeamWorld&)>& body) {
    const uint64_t seed = testing::SeedForTest();
    SCOPED_TRACE("seed " + std::to_string(seed));
    testing::TempDir directory;
    testing::OnFreshThread([&] {
      RealEnv env(testing::TestEnvOptions());
      RealWorld world(env, directory.path());
      const Status started = world.Start();
      ASSERT_TRUE(started.ok()) << started.ToString();
      bool finished = false;
      const Status ran = env.RunMain([&] {
        body(world);
        finished = true;
        return Status::Ok();
      });
      EXPECT_TRUE(ran.ok()) << ran.ToString();
      EXPECT_TRUE(finished) << "the body never finished";
      EXPECT_EQ(env.live_fibers(), 0u);
      world.Close();
    });
  }
};

}  // namespace
}  // namespace granary::net

namespace granary::seams_test {

INSTANTIATE_TYPED_TEST_SUITE_P(Real, TransportContractTest, ::testing::Types<net::RealHarness>);
INSTANTIATE_TYPED_TEST_SUITE_P(Real, DiskContractTest, ::testing::Types<net::RealHarness>);
INSTANTIATE_TYPED_TEST_SUITE_P(Real, MetaStoreContractTest, ::testing::Types<net::RealHarness>);

}  // namespace granary::seams_test
