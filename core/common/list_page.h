// One page of a directory listing (nn.List): what the namespace answers and the client returns.
#pragma once

#include <vector>

#include "proto/fs.pb.h"

namespace granary {

struct ListPage {
  // In name order, at most kListPageEntriesMax of them.
  std::vector<proto::FileStatus> entries;
  // Whether entries follow the last one; ask again with start_after = its name.
  bool has_more = false;
};

}  // namespace granary
