#include "core/namenode/retry_cache.h"

#include <boost/fiber/fss.hpp>
#include <cassert>

namespace granary {
namespace {

constexpr char kRecordTag = 'r';
constexpr char kIndexTag = 'R';
constexpr size_t kHeaderBytes = 8 + 4 + 4;  // recorded_at, code, message_bytes

void Append64(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}
void Append32(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}
uint64_t Read64(std::string_view in) {
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = value << 8 | static_cast<uint8_t>(in[i]);
  return value;
}
uint32_t Read32(std::string_view in) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | static_cast<uint8_t>(in[i]);
  return value;
}

std::string RecordKey(RetryKey key) {
  std::string out(1, kRecordTag);
  Append64(out, key.client_id);
  Append64(out, key.call_id);
  return out;
}

std::string IndexKey(uint64_t recorded_at, RetryKey key) {
  std::string out(1, kIndexTag);
  Append64(out, recorded_at);
  Append64(out, key.client_id);
  Append64(out, key.call_id);
  return out;
}

constexpr size_t kIndexKeyBytes = 1 + 8 + 8 + 8;
constexpr uint32_t kPageRecords = 10000;  // Load's scan page: a few MiB at most

// The mutation Run is running on a fiber: what CarryRecord needs to record it.
struct OpenCall {
  RetryCache* cache;
  RetryKey key;
  const google::protobuf::Message* reply;
  bool carried;
};

// Per fiber; Run owns the OpenCall (on its stack), so the pointer is never deleted here.
boost::fibers::fiber_specific_ptr<OpenCall>& CurrentCall() {
  static boost::fibers::fiber_specific_ptr<OpenCall> current([](OpenCall*) {});
  return current;
}

uint64_t NowNanos(Env& env) {
  const int64_t now = env.CalendarNanos();
  return now > 0 ? static_cast<uint64_t>(now) : 0;
}

}  // namespace

RetryCache::RetryCache(Env& env, MetaStore& store, Duration expiry, uint64_t entries_max)
    : env_(env), store_(store), expiry_(expiry), entries_max_(entries_max) {
  assert(entries_max_ >= 1);
}

Status RetryCache::Load() {
  records_ = 0;
  std::string start(1, kIndexTag);
  const std::string end = PrefixEnd(start);
  for (;;) {
    GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> page, store_.Scan(start, end, kPageRecords));
    records_ += page.size();
    if (page.size() < kPageRecords) return Status::Ok();
    start = page.back().key + '\0';
  }
}

void RetryCache::Record(WriteBatch& batch, RetryKey key, const CachedAnswer& answer) {
  assert(key.valid());
  if (answer.body.size() > kRetryCacheBodyBytesMax) return;
  const uint64_t now = NowNanos(env_);
  std::string value;
  value.reserve(kHeaderBytes + answer.message.size() + answer.body.size());
  Append64(value, now);
  Append32(value, static_cast<uint32_t>(static_cast<int32_t>(answer.code)));
  Append32(value, static_cast<uint32_t>(answer.message.size()));
  value += answer.message;
  value += answer.body;
  batch.Put(RecordKey(key), value);
  batch.Put(IndexKey(now, key), "");
  ++records_;
}

Result<std::optional<CachedAnswer>> RetryCache::Find(RetryKey key) {
  if (!key.valid()) return std::optional<CachedAnswer>();
  Result<std::string> value = store_.Get(RecordKey(key));
  if (value.code() == StatusCode::kNotFound) return std::optional<CachedAnswer>();
  if (!value.ok()) return value.status();
  const std::string_view in = *value;
  if (in.size() < kHeaderBytes) return Status(StatusCode::kCorruption, "retry record too short");
  const uint32_t message_bytes = Read32(in.substr(12));
  if (in.size() - kHeaderBytes < message_bytes) {
    return Status(StatusCode::kCorruption, "retry record's message passes its end");
  }
  const uint64_t recorded_at = Read64(in);
  if (NowNanos(env_) >= recorded_at + static_cast<uint64_t>(expiry_.count())) {
    return std::optional<CachedAnswer>();  // expired, not swept yet
  }
  CachedAnswer answer;
  answer.code = static_cast<StatusCode>(static_cast<int32_t>(Read32(in.substr(8))));
  answer.message = std::string(in.substr(kHeaderBytes, message_bytes));
  answer.body = std::string(in.substr(kHeaderBytes + message_bytes));
  return std::optional<CachedAnswer>(std::move(answer));
}

Result<uint64_t> RetryCache::Sweep() {
  const uint64_t now = NowNanos(env_);
  const uint64_t expiry = static_cast<uint64_t>(expiry_.count());
  const uint64_t cutoff = now > expiry ? now - expiry : 0;
  const std::string start(1, kIndexTag);
  GRANARY_ASSIGN_OR_RETURN(std::vector<KeyValue> oldest,
                           store_.Scan(start, PrefixEnd(start),
                                       std::min(kMetaScanEntriesMax, kRetryCacheSweepRecordsMax)));
  WriteBatch batch;
  uint64_t deleted = 0;
  for (const KeyValue& kv : oldest) {
    if (kv.key.size() != kIndexKeyBytes) {
      return Status(StatusCode::kCorruption, "retry index key of the wrong size");
    }
    const std::string_view key = kv.key;
    const uint64_t recorded_at = Read64(key.substr(1));
    const bool over = records_ > deleted + entries_max_;
    if (recorded_at > cutoff && !over) break;  // the index is oldest first
    batch.Delete(kv.key);
    batch.Delete(RecordKey(RetryKey{Read64(key.substr(9)), Read64(key.substr(17))}));
    ++deleted;
  }
  if (deleted == 0) return deleted;
  GRANARY_RETURN_IF_ERROR(store_.Write(batch));
  records_ = records_ > deleted ? records_ - deleted : 0;
  return deleted;
}

Status RetryCache::Run(RetryKey key, google::protobuf::Message* reply,
                       const std::function<Status()>& handler) {
  if (!key.valid()) return handler();
  // A retry that arrives while its first attempt still runs here (a reply late, not lost)
  // waits for that attempt's answer rather than run the mutation a second time.
  while (in_flight_.contains(key)) GRANARY_RETURN_IF_ERROR(env_.SleepFor(kRetryCacheWaitPoll));
  GRANARY_ASSIGN_OR_RETURN(std::optional<CachedAnswer> found, Find(key));
  if (found) {
    ++hits_;
    if (found->code != StatusCode::kOk) return Status(found->code, found->message);
    if (!reply->ParseFromString(found->body)) {
      return Status(StatusCode::kCorruption, "retry record's reply does not parse");
    }
    return Status::Ok();
  }
  assert(CurrentCall().get() == nullptr);  // one mutation per fiber at a time
  OpenCall call{this, key, reply, false};
  in_flight_.insert(key);
  CurrentCall().reset(&call);
  const Status status = handler();
  CurrentCall().release();
  in_flight_.erase(key);
  return status;
}

bool RetryCache::Carrying() {
  const OpenCall* call = CurrentCall().get();
  return call != nullptr && !call->carried;
}

void RetryCache::CarryRecord(WriteBatch& batch) {
  OpenCall* call = CurrentCall().get();
  if (call == nullptr || call->carried) return;
  call->carried = true;
  call->cache->Record(
      batch, call->key,
      CachedAnswer{StatusCode::kOk, std::string(), call->reply->SerializeAsString()});
}

}  // namespace granary
