#include "python/src/loader.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <set>
#include <utility>

#include "core/common/limits.h"
#include "core/common/random.h"
#include "core/data/tfrecord.h"
#include "net/real_env.h"
#include "python/src/record_scanner.h"

namespace granary::python {
namespace {

// A condition for fibers of the loop thread only: no lock, since between suspension points
// cooperative scheduling gives atomicity (DESIGN.md §4), so a check followed by Wait cannot
// miss a NotifyAll.
class FiberEvent {
 public:
  Status Wait(net::RealEnv& env) {
    net::Waiter waiter;
    waiters_.push_back(&waiter);
    Status status = env.Wait(waiter, kInstantMax);
    std::erase(waiters_, &waiter);
    return status;
  }
  // Wakes the longest-waiting fiber, if any.
  void NotifyOne() {
    if (waiters_.empty()) return;
    net::Waiter* waiter = waiters_.front();
    waiters_.erase(waiters_.begin());
    waiter->Complete(Status::Ok());
  }
  void NotifyAll() {
    std::vector<net::Waiter*> waiting;
    waiting.swap(waiters_);
    for (net::Waiter* waiter : waiting) waiter->Complete(Status::Ok());
  }

 private:
  std::vector<net::Waiter*> waiters_;
};

// A worker stops reading a shard for others' sake after this many bytes (at least one piece).
constexpr uint64_t kReadStepBytes = 256 * 1024;
// The most a shard's reader hands over at once (Reader::ReadPiece): one dn.ReadBlock's worth.
constexpr uint64_t kReadPieceBytes = 4 << 20;

// A piece shared by the records referencing it; the last of them to go (on whichever
// thread) gives its buffer back to the connection's receive pool (Connection::payload_pool).
std::shared_ptr<const std::string> Pooled(std::string piece,
                                          const std::shared_ptr<net::PayloadPool>& pool) {
  return std::shared_ptr<const std::string>(
      new std::string(std::move(piece)), [pool](const std::string* bytes) {
        pool->Give(std::move(*const_cast<std::string*>(bytes)));
        delete bytes;
      });
}

struct Shard {
  std::string path;
  std::unique_ptr<Reader> reader;
  std::unique_ptr<RecordScanner> scanner;  // with the reader
  bool claimed = false;                    // a worker is reading it now
  bool done = false;                       // read to its end (or failed: error)
  Status error;
  std::deque<RecordRef> records;  // into the pieces read
  uint64_t buffered_bytes = 0;
};

// One file of a whole-file epoch, through its stages.
struct WholeFile {
  enum class Stage : uint8_t { kWaiting, kOpening, kOpened, kReading, kDone };
  std::string path;
  Stage stage = Stage::kWaiting;
  std::unique_ptr<Reader> reader;  // kOpened and kReading: a file in blocks
  std::string data;                // kDone
  uint64_t bytes = 0;              // counted in State::buffered_bytes until consumed
  Status error;                    // kDone
};

static_assert(kLoaderOpenBatchFiles <= kOpenManyPathsMax);

}  // namespace

struct Loader::Output {
  explicit Output(uint32_t capacity) : capacity(capacity) {}
  const uint32_t capacity;
  std::mutex mutex;
  std::condition_variable ready;
  // Items in order: item i is the next item_records[i] records (1 when unbatched).
  std::deque<RecordRef> records;      // guarded by mutex
  std::deque<uint32_t> item_records;  // guarded by mutex
  bool done = false;                  // guarded by mutex
  Status error;                       // guarded by mutex
  bool cancelled = false;             // guarded by mutex
  bool producer_waiting = false;      // guarded by mutex
  std::atomic<uint64_t> corrupt_skipped{0};
};

struct Loader::State {
  State(Connection& connection, LoaderOptions options, std::shared_ptr<Output> output)
      : connection(connection),
        options(std::move(options)),
        output(std::move(output)),
        random(this->options.seed) {}

  // Everything below runs on the loop thread only.
  void RunPipeline();
  // Whole-file mode.
  void RunFilesPipeline();
  void RunOpener();
  void RunFileReader();
  bool OpenerMayClaim() const {
    return next_to_open < files.size() && next_to_open < consumed + kLoaderOpenWindowFiles &&
           (next_to_open == consumed || buffered_bytes < window_bytes);
  }
  // Emits what the shuffle buffer and the batch still hold, at the end of the epoch.
  Status Flush();
  void RunWorker();
  Shard* Pick();
  void ReadStep(Shard& shard);
  bool AnyUnclaimed() const;
  Status Emit(RecordRef record);
  // Queues an item (records [first, last) of `records`) for the consumer: items go to it in
  // groups (Handoff), so that the consumer's thread is woken once per group rather than once
  // per item.
  Status Push(std::vector<RecordRef>& records);
  Status PushOne(RecordRef record);
  // Moves the queued group to the consumer, waiting for room as the consumer takes items.
  Status Handoff();
  void Finish(Status status);
  // Hands what was emitted before `error` to the consumer, stops and finishes with `error`.
  void Fail(Status error);
  void StopAll() {
    stop = true;
    shard_event.NotifyAll();
    work_event.NotifyAll();
    room_event.NotifyAll();
    open_event.NotifyAll();
    read_event.NotifyAll();
    file_event.NotifyAll();
  }

  Connection& connection;
  const LoaderOptions options;
  std::shared_ptr<Output> output;
  Random random;
  std::vector<Shard> shards;
  std::vector<size_t> active;  // the cycle: indices of open shards, in slot order
  size_t next_shard = 0;       // the next shard to enter the cycle
  std::vector<RecordRef> shuffle_buffer;
  std::vector<RecordRef> batch;
  // Items not yet given to the consumer, as in Output.
  std::vector<RecordRef> handoff_records;
  std::vector<uint32_t> handoff_items;
  std::vector<RecordRef> found;  // ReadStep's scratch
  FiberEvent shard_event;        // a shard got records or ended
  FiberEvent work_event;         // a buffer has room again, or the window moved
  FiberEvent room_event;         // the consumer took items
  bool stop = false;
  // Whole-file mode.
  std::vector<WholeFile> files;
  size_t next_to_open = 0;  // files before it are claimed by an opener
  size_t consumed = 0;      // files before it went to Emit
  uint64_t buffered_bytes = 0;
  uint64_t window_bytes = 0;
  std::set<size_t> opened;  // files in blocks waiting for a reader, by list position
  FiberEvent open_event;    // the window moved
  FiberEvent read_event;    // a file was opened, or the window moved
  FiberEvent file_event;    // a file is done
};

Shard* Loader::State::Pick() {
  const uint64_t window = std::max<uint64_t>(options.cycle_length, options.num_parallel_reads);
  const uint64_t extra = window > active.size() ? window - active.size() : 0;
  const size_t end = std::min<size_t>(shards.size(), next_shard + extra);
  Shard* best = nullptr;
  auto consider = [&](Shard& shard) {
    if (shard.claimed || shard.done || shard.buffered_bytes >= options.shard_buffer_bytes) return;
    // An empty buffer the interleave may be waiting on goes first; then list order.
    if (best == nullptr || (best->records.size() > 0 && shard.records.empty())) best = &shard;
  };
  for (size_t index : active) consider(shards[index]);
  for (size_t index = next_shard; index < end; ++index) consider(shards[index]);
  return best;
}

bool Loader::State::AnyUnclaimed() const {
  auto unclaimed = [](const Shard& shard) { return !shard.done && !shard.claimed; };
  for (size_t index : active) {
    if (unclaimed(shards[index])) return true;
  }
  // Past the read window shards are untouched, so this stops within the window's length.
  for (size_t index = next_shard; index < shards.size(); ++index) {
    if (unclaimed(shards[index])) return true;
  }
  return false;
}

void Loader::State::ReadStep(Shard& shard) {
  shard.claimed = true;
  FileSystem& fs = connection.fs();
  if (shard.reader == nullptr) {
    Result<std::unique_ptr<Reader>> opened = fs.Open(shard.path);
    if (!opened.ok()) {
      shard.error = opened.status().WithContext(shard.path);
      shard.done = true;
      shard.claimed = false;
      return;
    }
    shard.reader = std::move(*opened);
    // The data checksums are checked by the consumer (Loader::Next) unless corrupt records
    // are skipped, which must happen before they are batched.
    shard.scanner = std::make_unique<RecordScanner>(
        shard.path, shard.reader->Size(),
        options.skip_corrupt ? CorruptRecords::kSkip : CorruptRecords::kFail,
        options.skip_corrupt ? VerifyCrc::kYes : VerifyCrc::kLengthOnly,
        static_cast<uint32_t>(&shard - shards.data()));
  }
  uint64_t added = 0;
  const uint64_t skipped_before = shard.scanner->corrupt_skipped();
  while (added < kReadStepBytes && !stop) {
    // Whole pieces as they arrived; the records in them are referenced, not copied.
    Result<std::string> piece = shard.reader->ReadPiece(kReadPieceBytes);
    Status status = piece.ok() ? Status::Ok() : piece.status().WithContext(shard.path);
    found.clear();
    if (status.ok() && piece->empty()) {
      status = shard.scanner->Finish();
      shard.done = true;
    } else if (status.ok()) {
      added += piece->size();
      status = shard.scanner->Scan(Pooled(std::move(*piece), connection.payload_pool()), found);
    }
    for (RecordRef& record : found) {
      shard.buffered_bytes += record.length;
      shard.records.push_back(std::move(record));
    }
    if (!status.ok()) {
      shard.error = status;
      shard.done = true;
    }
    if (shard.scanner->ended()) shard.done = true;
    if (shard.done) break;
  }
  output->corrupt_skipped += shard.scanner->corrupt_skipped() - skipped_before;
  if (shard.done) {
    shard.reader.reset();
    shard.scanner.reset();
  }
  shard.claimed = false;
}

void Loader::State::RunWorker() {
  while (!stop) {
    Shard* shard = Pick();
    if (shard == nullptr) {
      if (!AnyUnclaimed()) return;
      if (!work_event.Wait(connection.env()).ok()) return;
      continue;
    }
    // Baton passing: each event wakes one idle worker, and a worker that found work wakes
    // the next, which stops the chain when nothing is left. Waking every idle worker per
    // record instead costs a context switch and a scan per worker per record.
    work_event.NotifyOne();
    ReadStep(*shard);
    shard_event.NotifyAll();
  }
}

Status Loader::State::Push(std::vector<RecordRef>& records) {
  handoff_items.push_back(static_cast<uint32_t>(records.size()));
  for (RecordRef& record : records) handoff_records.push_back(std::move(record));
  records.clear();
  if (handoff_items.size() < kLoaderHandoffItems) return Status::Ok();
  return Handoff();
}

Status Loader::State::PushOne(RecordRef record) {
  handoff_items.push_back(1);
  handoff_records.push_back(std::move(record));
  if (handoff_items.size() < kLoaderHandoffItems) return Status::Ok();
  return Handoff();
}

Status Loader::State::Handoff() {
  size_t given = 0;
  size_t given_records = 0;
  while (given < handoff_items.size()) {
    {
      std::lock_guard<std::mutex> lock(output->mutex);
      if (output->cancelled) return Status(StatusCode::kCancelled, "loader closed");
      const size_t before = given;
      while (given < handoff_items.size() && output->item_records.size() < output->capacity) {
        const uint32_t count = handoff_items[given++];
        output->item_records.push_back(count);
        for (uint32_t i = 0; i < count; ++i) {
          output->records.push_back(std::move(handoff_records[given_records++]));
        }
      }
      if (given > before) output->ready.notify_one();
      if (given == handoff_items.size()) break;
      output->producer_waiting = true;
    }
    GRANARY_RETURN_IF_ERROR(room_event.Wait(connection.env()));
    if (stop) return Status(StatusCode::kCancelled, "loader closed");
  }
  handoff_items.clear();
  handoff_records.clear();
  return Status::Ok();
}

void Loader::State::Fail(Status error) {
  (void)Handoff();  // best effort: a closed loader has no consumer left
  StopAll();
  Finish(std::move(error));
}

Status Loader::State::Emit(RecordRef record) {
  if (options.shuffle_buffer > 0) {
    // A record waiting in the shuffle buffer gets bytes of its own: a reference would pin
    // its whole piece for as long as the draw leaves it there (shuffle_buffer pieces).
    // (With its footer when its data checksum is still to be checked.)
    const uint64_t keep = record.length + (record.data_crc_pending ? kTFRecordFooterBytes : 0);
    if (record.piece->size() != keep) {
      record.piece =
          std::make_shared<const std::string>(record.piece->data() + record.offset, keep);
      record.offset = 0;
    }
    shuffle_buffer.push_back(std::move(record));
    if (shuffle_buffer.size() < options.shuffle_buffer) return Status::Ok();
    const size_t pick = random.Below(shuffle_buffer.size());
    std::swap(shuffle_buffer[pick], shuffle_buffer.back());
    record = std::move(shuffle_buffer.back());
    shuffle_buffer.pop_back();
  }
  if (options.batch_size == 0) return PushOne(std::move(record));
  batch.push_back(std::move(record));
  if (batch.size() < options.batch_size) return Status::Ok();
  return Push(batch);
}

void Loader::State::Finish(Status status) {
  std::lock_guard<std::mutex> lock(output->mutex);
  output->done = true;
  output->error = std::move(status);
  output->ready.notify_all();
}

void Loader::State::RunPipeline() {
  net::RealEnv& env = connection.env();
  while (active.size() < options.cycle_length && next_shard < shards.size()) {
    active.push_back(next_shard++);
  }
  work_event.NotifyAll();
  size_t slot = 0;
  while (!active.empty()) {
    if (stop) return Finish(Status(StatusCode::kCancelled, "loader closed"));
    slot %= active.size();
    Shard& shard = shards[active[slot]];
    if (!shard.records.empty()) {
      RecordRef record = std::move(shard.records.front());
      shard.records.pop_front();
      // A worker can only have been waiting for this shard if it was full: wake one when
      // it stops being full, not per record (a fiber switch and a Pick per record).
      const bool was_full = shard.buffered_bytes >= options.shard_buffer_bytes;
      shard.buffered_bytes -= record.length;
      if (was_full && shard.buffered_bytes < options.shard_buffer_bytes) work_event.NotifyOne();
      Status emitted = Emit(std::move(record));
      if (!emitted.ok()) return Fail(emitted);
      ++slot;
      continue;
    }
    if (!shard.done) {
      work_event.NotifyOne();
      // Whatever is ready goes to the consumer before waiting for more.
      Status handed = Handoff();
      if (!handed.ok()) return Fail(handed);
      if (shard.done || !shard.records.empty()) continue;
      Status waited = shard_event.Wait(env);
      if (!waited.ok()) return Fail(waited);
      continue;
    }
    if (!shard.error.ok()) return Fail(shard.error);
    // The shard ended: the next one of the list takes its slot.
    if (next_shard < shards.size()) {
      active[slot] = next_shard++;
    } else {
      active.erase(active.begin() + static_cast<std::ptrdiff_t>(slot));
    }
    work_event.NotifyOne();
  }
  Status flushed = Flush();
  if (flushed.ok()) flushed = Handoff();
  if (!flushed.ok()) return Fail(flushed);
  StopAll();
  Finish(Status::Ok());
}

Status Loader::State::Flush() {
  while (!shuffle_buffer.empty()) {
    const size_t pick = random.Below(shuffle_buffer.size());
    std::swap(shuffle_buffer[pick], shuffle_buffer.back());
    RecordRef record = std::move(shuffle_buffer.back());
    shuffle_buffer.pop_back();
    if (options.batch_size == 0) {
      GRANARY_RETURN_IF_ERROR(PushOne(std::move(record)));
    } else {
      batch.push_back(std::move(record));
      if (batch.size() == options.batch_size) GRANARY_RETURN_IF_ERROR(Push(batch));
    }
  }
  if (!batch.empty() && !options.drop_remainder) GRANARY_RETURN_IF_ERROR(Push(batch));
  return Status::Ok();
}

void Loader::State::RunOpener() {
  FileSystem& fs = connection.fs();
  while (!stop) {
    if (next_to_open >= files.size()) return;
    if (!OpenerMayClaim()) {
      if (!open_event.Wait(connection.env()).ok()) return;
      continue;
    }
    const size_t first = next_to_open;
    const size_t last =
        std::min({files.size(), first + kLoaderOpenBatchFiles, consumed + kLoaderOpenWindowFiles});
    next_to_open = last;
    std::vector<std::string> paths;
    paths.reserve(last - first);
    for (size_t i = first; i < last; ++i) {
      files[i].stage = WholeFile::Stage::kOpening;
      paths.push_back(files[i].path);
    }
    Result<std::vector<FileSystem::Opened>> batch_opened = fs.OpenMany(paths);
    for (size_t i = first; i < last; ++i) {
      WholeFile& file = files[i];
      if (!batch_opened.ok()) {
        file.error = batch_opened.status().WithContext(file.path);
        file.stage = WholeFile::Stage::kDone;
        continue;
      }
      FileSystem::Opened& one = (*batch_opened)[i - first];
      if (!one.ok()) {
        file.error = one.status().WithContext(file.path);
        file.stage = WholeFile::Stage::kDone;
        continue;
      }
      std::unique_ptr<Reader>& reader = *one;
      if (reader->status().inline_data()) {
        // Its bytes came with its metadata: no datanode to ask.
        file.data = reader->TakeInlineData();
        file.bytes = file.data.size();
        buffered_bytes += file.bytes;
        file.stage = WholeFile::Stage::kDone;
        continue;
      }
      file.reader = std::move(reader);
      file.stage = WholeFile::Stage::kOpened;
      opened.insert(i);
    }
    file_event.NotifyAll();
    if (!opened.empty()) read_event.NotifyOne();
  }
}

void Loader::State::RunFileReader() {
  while (!stop) {
    bool ready = !opened.empty();
    if (ready) {
      const size_t first = *opened.begin();
      // The consumer's next file is always read; others within the byte window.
      ready = first == consumed || buffered_bytes + files[first].reader->Size() <= window_bytes;
    }
    if (!ready) {
      if (!read_event.Wait(connection.env()).ok()) return;
      continue;
    }
    const size_t index = *opened.begin();
    opened.erase(opened.begin());
    // Baton passing, as RunWorker.
    read_event.NotifyOne();
    WholeFile& file = files[index];
    file.stage = WholeFile::Stage::kReading;
    file.bytes = file.reader->Size();
    buffered_bytes += file.bytes;
    Result<std::string> data = file.reader->ReadAt(0, file.bytes);
    file.reader.reset();
    if (data.ok()) {
      file.data = std::move(*data);
    } else {
      file.error = data.status().WithContext(file.path);
    }
    file.stage = WholeFile::Stage::kDone;
    file_event.NotifyAll();
  }
}

void Loader::State::RunFilesPipeline() {
  net::RealEnv& env = connection.env();
  for (size_t i = 0; i < files.size(); ++i) {
    WholeFile& file = files[i];
    if (file.stage != WholeFile::Stage::kDone) {
      // Whatever is ready goes to the consumer before waiting for more.
      Status handed = Handoff();
      if (!handed.ok()) return Fail(handed);
    }
    while (file.stage != WholeFile::Stage::kDone) {
      if (stop) return Finish(Status(StatusCode::kCancelled, "loader closed"));
      Status waited = file_event.Wait(env);
      if (!waited.ok()) return Fail(waited);
    }
    if (!file.error.ok()) return Fail(file.error);
    const uint64_t length = file.data.size();
    auto data = std::make_shared<const std::string>(std::move(file.data));
    file.data = std::string();
    buffered_bytes -= file.bytes;
    consumed = i + 1;
    if (OpenerMayClaim()) open_event.NotifyOne();
    if (!opened.empty()) read_event.NotifyOne();
    Status emitted = Emit(RecordRef{std::move(data), 0, length});
    if (!emitted.ok()) return Fail(emitted);
  }
  Status flushed = Flush();
  if (flushed.ok()) flushed = Handoff();
  if (!flushed.ok()) return Fail(flushed);
  StopAll();
  Finish(Status::Ok());
}

Loader::Loader(std::shared_ptr<Connection> connection, std::shared_ptr<Output> output,
               std::shared_ptr<State> state)
    : connection_(std::move(connection)), output_(std::move(output)), state_(std::move(state)) {}

Result<std::unique_ptr<Loader>> Loader::Start(std::shared_ptr<Connection> connection,
                                              LoaderOptions options) {
  auto invalid = [](std::string what) { return Status(StatusCode::kInvalidArgument, what); };
  if (options.cycle_length == 0 || options.cycle_length > kLoaderCycleLengthMax) {
    return invalid("cycle_length must be in 1.." + std::to_string(kLoaderCycleLengthMax));
  }
  if (options.num_parallel_reads == 0 || options.num_parallel_reads > kLoaderParallelReadsMax) {
    return invalid("num_parallel_reads must be in 1.." + std::to_string(kLoaderParallelReadsMax));
  }
  if (options.shuffle_buffer > kLoaderShuffleBufferMax) {
    return invalid("shuffle_buffer must be at most " + std::to_string(kLoaderShuffleBufferMax));
  }
  if (options.prefetch == 0 || options.prefetch > kLoaderPrefetchMax) {
    return invalid("prefetch must be in 1.." + std::to_string(kLoaderPrefetchMax));
  }
  if (options.batch_size > kLoaderBatchSizeMax) {
    return invalid("batch_size must be at most " + std::to_string(kLoaderBatchSizeMax));
  }
  if (options.shard_buffer_bytes == 0) return invalid("shard_buffer_bytes must be positive");
  auto output = std::make_shared<Output>(options.prefetch);
  auto state = std::make_shared<State>(*connection, std::move(options), output);
  std::vector<std::string> paths = state->options.paths;
  if (state->options.shuffle_files) {
    Random files_random = state->random.Derive("files");
    for (size_t i = paths.size(); i > 1; --i) {
      std::swap(paths[i - 1], paths[files_random.Below(i)]);
    }
  }
  bool posted = false;
  if (state->options.source == LoaderSource::kWholeFile) {
    state->files.resize(paths.size());
    for (size_t i = 0; i < paths.size(); ++i) state->files[i].path = std::move(paths[i]);
    state->window_bytes = state->options.shard_buffer_bytes *
                          std::max(state->options.cycle_length, state->options.num_parallel_reads);
    posted = connection->Post([state] {
      for (uint32_t i = 0; i < kLoaderOpenBatchesInFlight; ++i) {
        state->connection.env().Spawn("loader-opener", [state] { state->RunOpener(); });
      }
      for (uint32_t i = 0; i < state->options.num_parallel_reads; ++i) {
        state->connection.env().Spawn("loader-reader", [state] { state->RunFileReader(); });
      }
      state->RunFilesPipeline();
    });
  } else {
    state->shards.resize(paths.size());
    for (size_t i = 0; i < paths.size(); ++i) state->shards[i].path = std::move(paths[i]);
    posted = connection->Post([state] {
      for (uint32_t i = 0; i < state->options.num_parallel_reads; ++i) {
        state->connection.env().Spawn("loader-reader", [state] { state->RunWorker(); });
      }
      state->RunPipeline();
    });
  }
  if (!posted) return Status(StatusCode::kNodeDown, "the connection is closed");
  return std::unique_ptr<Loader>(new Loader(std::move(connection), output, state));
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lock(output_->mutex);
    output_->cancelled = true;
    output_->records.clear();
    output_->item_records.clear();
  }
  connection_->Post([state = state_] { state->StopAll(); });
}

Status Loader::Next(size_t max_items, std::vector<RecordRef>& records,
                    std::vector<uint32_t>& item_records) {
  records.clear();
  item_records.clear();
  if (!corrupt_.ok()) return corrupt_;
  bool wake_producer = false;
  {
    std::unique_lock<std::mutex> lock(output_->mutex);
    while (output_->item_records.empty() && !output_->done) {
      if (connection_->closed()) return Status(StatusCode::kNodeDown, "the connection is closed");
      output_->ready.wait_for(lock, std::chrono::milliseconds(200));
    }
    if (output_->item_records.empty()) return output_->error;
    while (!output_->item_records.empty() && item_records.size() < max_items) {
      const uint32_t count = output_->item_records.front();
      output_->item_records.pop_front();
      item_records.push_back(count);
      for (uint32_t i = 0; i < count; ++i) {
        records.push_back(std::move(output_->records.front()));
        output_->records.pop_front();
      }
    }
    if (output_->producer_waiting) {
      output_->producer_waiting = false;
      wake_producer = true;
    }
  }
  if (wake_producer) connection_->Post([state = state_] { state->room_event.NotifyAll(); });
  return CheckDataCrcs(records, item_records);
}

Status Loader::CheckDataCrcs(std::vector<RecordRef>& records, std::vector<uint32_t>& item_records) {
  size_t at = 0;
  for (size_t item = 0; item < item_records.size(); ++item) {
    for (uint32_t i = 0; i < item_records[item]; ++i, ++at) {
      const RecordRef& record = records[at];
      if (!record.data_crc_pending || DataCrcMatches(record)) continue;
      // As the scanner would have said it (RecordScanner::Corrupt); the items before this
      // one go to the caller first, the error with the next call.
      corrupt_ = Status(StatusCode::kCorruption, state_->shards[record.source].path +
                                                     ": data checksum mismatch at offset " +
                                                     std::to_string(record.file_offset));
      const size_t keep = at - i;
      records.resize(keep);
      item_records.resize(item);
      return item == 0 ? corrupt_ : Status::Ok();
    }
  }
  return Status::Ok();
}

uint64_t Loader::corrupt_skipped() const { return output_->corrupt_skipped.load(); }

}  // namespace granary::python
