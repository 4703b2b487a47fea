#include "core/rpc/namenode_locator.h"

#include <cassert>

#include "core/common/limits.h"
#include "core/rpc/router.h"

namespace granary {
namespace {

// A kNotActive message names the active when it looks like one address: not empty, short
// enough, no list separator and no spaces (a message with context added is not one).
bool IsAddress(std::string_view message) {
  if (message.empty() || message.size() > kNamenodeAddressBytesMax) return false;
  return message.find_first_of(", \t\n") == std::string_view::npos;
}

}  // namespace

Result<std::vector<Address>> NamenodeLocator::Parse(const Address& list) {
  std::vector<Address> out;
  std::string_view rest = list.value;
  size_t item = 0;
  for (;;) {
    ++item;
    const size_t comma = rest.find(',');
    const std::string_view one = rest.substr(0, comma);
    if (one.empty()) {
      return Status(StatusCode::kInvalidArgument,
                    "namenode list \"" + list.value + "\": item " + std::to_string(item) +
                        " is empty (expected host:port or host:port,host:port,...)");
    }
    if (one.size() > kNamenodeAddressBytesMax) {
      return Status(StatusCode::kInvalidArgument,
                    "namenode list: item " + std::to_string(item) + " is longer than " +
                        std::to_string(kNamenodeAddressBytesMax) + " bytes");
    }
    if (out.size() == kNamenodeListMax) {
      return Status(
          StatusCode::kInvalidArgument,
          "namenode list names more than " + std::to_string(kNamenodeListMax) + " namenodes");
    }
    out.push_back(Address{std::string(one)});
    if (comma == std::string_view::npos) return out;
    rest.remove_prefix(comma + 1);
  }
}

bool NamenodeLocator::Rotated(const Status& status) {
  return status.code() == StatusCode::kTimeout || status.code() == StatusCode::kUnavailable ||
         status.code() == StatusCode::kNotActive;
}

NamenodeLocator::NamenodeLocator(Transport& transport, const Address& list)
    : transport_(transport) {
  Result<std::vector<Address>> parsed = Parse(list);
  if (!parsed.ok()) {
    status_ = parsed.status();
    return;
  }
  namenodes_ = std::move(parsed).value();
  assert(!namenodes_.empty());
  current_ = namenodes_.front();
}

void NamenodeLocator::Rotate() {
  index_ = (index_ + 1) % namenodes_.size();
  current_ = namenodes_[index_];
}

bool NamenodeLocator::Observe(const Address& called, const Status& status) {
  if (!Rotated(status)) return false;
  // Another fiber's answer moved on already: this one is older news.
  if (called != current_) return false;
  if (status.code() == StatusCode::kNotActive && IsAddress(status.message()) &&
      status.message() != called.value) {
    current_ = Address{status.message()};
    for (size_t i = 0; i < namenodes_.size(); ++i) {
      if (namenodes_[i] == current_) index_ = i;
    }
    return true;
  }
  Rotate();
  return false;
}

Status NamenodeLocator::CallByName(std::string_view method,
                                   const google::protobuf::Message& request,
                                   const std::string& request_payload, Instant deadline,
                                   google::protobuf::Message* reply, std::string* reply_payload,
                                   std::vector<Address>* called) {
  if (!status_.ok()) return status_;
  Status status;
  for (uint32_t redirects = 0;; ++redirects) {
    const Address to = current_;
    if (called != nullptr) called->push_back(to);
    status = rpc::CallByName(transport_, to, method, request, request_payload, deadline, reply,
                             reply_payload);
    if (!Observe(to, status)) return status;
    if (redirects == kNamenodeRedirectsMax) break;
  }
  // Redirected too often in one call: treat the last as rotation, so the caller backs off.
  Rotate();
  return status;
}

}  // namespace granary
