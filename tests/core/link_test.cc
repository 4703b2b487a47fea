// Linked from granary_core alone: if core ever needs sim/, net/ or a POSIX/ZeroMQ/RocksDB
// symbol, this stops linking (STYLE.md 1). Running it exercises a little of each part.
#include <cstdio>

#include "core/common/random.h"
#include "core/common/status.h"
#include "core/rpc/wire.h"
#include "core/seams/disk.h"
#include "core/seams/meta_store.h"

int main() {
  granary::Random random(42);
  const auto message = granary::rpc::EncodeRequest(
      granary::RequestId(random.Next()), granary::RpcRequest{"ping", "body", ""},
      std::chrono::seconds(1));
  auto decoded = granary::rpc::DecodeRequest(message);
  if (!decoded.ok() || decoded->request.method != "ping") return 1;
  if (!granary::IsValidDiskFileName("blk_1.data") || granary::IsValidDiskFileName("../x")) return 1;
  if (granary::PrefixEnd("a\xff") != "b") return 1;
  std::puts("core links alone");
  return 0;
}
