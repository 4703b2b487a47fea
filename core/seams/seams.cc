#include <string>

#include "core/common/limits.h"
#include "core/seams/disk.h"
#include "core/seams/meta_store.h"

namespace granary {

bool IsValidDiskFileName(std::string_view name) {
  if (name.empty() || name.size() > kDiskFileNameBytesMax) return false;
  if (name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Status WriteBatch::Validate() const {
  if (ops_.size() > kMetaBatchOpsMax) {
    return Status(StatusCode::kInvalidArgument,
                  "batch of " + std::to_string(ops_.size()) + " ops exceeds kMetaBatchOpsMax");
  }
  for (const Op& op : ops_) {
    if (op.key.empty() || op.key.size() > kMetaKeyBytesMax) {
      return Status(StatusCode::kInvalidArgument, "key of " + std::to_string(op.key.size()) +
                                                      " bytes outside 1..kMetaKeyBytesMax");
    }
    if (op.value.size() > kMetaValueBytesMax) {
      return Status(StatusCode::kInvalidArgument, "value of " + std::to_string(op.value.size()) +
                                                      " bytes exceeds kMetaValueBytesMax");
    }
  }
  return Status::Ok();
}

Status MetaStore::GetAppend(std::string_view key, std::string& out, const Snapshot* snapshot) {
  GRANARY_ASSIGN_OR_RETURN(std::string value, Get(key, snapshot));
  out.append(value);
  return Status::Ok();
}

std::string PrefixEnd(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    unsigned char last = static_cast<unsigned char>(end.back());
    if (last != 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return end;
}

}  // namespace granary
