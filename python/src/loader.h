// Loader: a tf.data-shaped input pipeline over Granary files, for Python.
//
//   shards (a list of files) -> parallel interleave -> shuffle buffer -> batch -> prefetch
//
// Where it runs, and why it is not in core/: the reading, interleaving, shuffling and
// batching run as fibers on the connection's loop thread (core code: FileSystem, Reader,
// TFRecordReader), but the prefetch queue at the end is consumed by another OS thread (the
// Python interpreter's), which needs a mutex and a condition variable, which core/ may not
// use. So the loader lives beside the bindings.
//
// Order. The interleave keeps `cycle_length` shards open and takes one record from each in
// turn (tf.data's interleave with block_length 1); a shard that ends gives its slot to the
// next shard of the list. With cycle_length 1 and no shuffle buffer, records come in file
// order, shard after shard. `num_parallel_reads` reader fibers fill per-shard buffers ahead
// of the interleave, also for shards not yet in the cycle (the next ones of the list), so
// that up to max(cycle_length, num_parallel_reads) shards are read at once. The emitted order
// never depends on timing: only on the list, cycle_length, the shuffle buffer and the seed.
//
// Whole files (LoaderSource::kWholeFile) take a path of their own, with the same order: one
// sample per file, in the order of the (shuffled) list, which is what the interleave above
// gives for shards of one record whatever cycle_length is. Opener fibers
// (kLoaderOpenBatchesInFlight) open the next kLoaderOpenBatchFiles files of the list at a
// time with one FileSystem::OpenMany (nn.OpenMany): an inline file's bytes arrive with its
// metadata and it is done; a file in blocks is then read from a datanode by one of the
// `num_parallel_reads` reader fibers, earliest in the list first. Openers stay within
// kLoaderOpenWindowFiles files of the consumer, and reads within shard_buffer_bytes *
// max(cycle_length, num_parallel_reads) bytes buffered ahead of it (the consumer's next file
// may always be read, so a file larger than that cannot stall the epoch).
//
// Shuffle: a buffer of `shuffle_buffer` records; each emitted record is drawn uniformly from
// it (granary::Random seeded with `seed`). In whole-file mode the file list itself is also
// shuffled with the seed first (one sample per file, a new order per epoch's seed).
//
// Bytes. A shard is read in whole pieces (Reader::ReadPiece: what one dn.ReadBlock brought,
// moved, not copied) and parsed in place (RecordScanner); records travel through the
// interleave, the shuffle buffer, batching and the prefetch queue as references into the
// pieces (RecordRef), and the consumer makes the one copy, into the Python objects. The
// length checksums are checked on the loop as the pieces are parsed; the data checksums,
// unless skip_corrupt, by the consumer's thread in Next, just before it copies the bytes
// (the loop, which also receives and verifies the blocks, is the busier thread).
//
// Errors. A corrupt record fails the pipeline with kCorruption naming the file and offset,
// after every item before the one holding it was handed out: a bad length (or a truncated
// record) when the interleave reaches it, a bad data checksum when Next reaches it (with a
// shuffle buffer, that is when the record is drawn). With skip_corrupt the record is
// counted and skipped (before batching). Any other error (missing file, dead cluster) fails
// the pipeline too.
//
// Memory: each shard buffers at most shard_buffer_bytes (plus one piece, up to 4 MiB), and
// a record in the shuffle buffer is a copy (a reference would pin its whole piece), and the
// prefetch queue holds at most `prefetch` items (plus a group of kLoaderHandoffItems on its way:
// items reach the queue in groups, and before the pipeline waits for a read, so that the consumer's
// thread is not woken once per item).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "python/src/connection.h"
#include "python/src/record_scanner.h"

namespace granary::python {

enum class LoaderSource : uint8_t {
  kTFRecord,   // each file is a TFRecord shard
  kWholeFile,  // each file is one sample
};

struct LoaderOptions {
  std::vector<std::string> paths;
  LoaderSource source = LoaderSource::kTFRecord;
  uint32_t cycle_length = 1;
  uint32_t num_parallel_reads = 1;
  uint64_t shuffle_buffer = 0;  // 0: no shuffling of records
  bool shuffle_files = false;   // shuffle the list of files first
  uint64_t seed = 0;
  uint32_t batch_size = 0;  // 0: items are single records
  bool drop_remainder = false;
  uint32_t prefetch = 64;  // items queued for the consumer
  bool skip_corrupt = false;
  uint64_t shard_buffer_bytes = 2 << 20;
};

// Limits of the options (STYLE.md 5).
inline constexpr uint32_t kLoaderParallelReadsMax = 256;
inline constexpr uint32_t kLoaderCycleLengthMax = 4096;
inline constexpr uint64_t kLoaderShuffleBufferMax = 1 << 24;
inline constexpr uint32_t kLoaderPrefetchMax = 1 << 16;
inline constexpr uint32_t kLoaderBatchSizeMax = 1 << 20;
// Whole-file mode: files per nn.OpenMany, batches in flight, files opened ahead of the consumer.
inline constexpr uint32_t kLoaderOpenBatchFiles = 128;
inline constexpr uint32_t kLoaderOpenBatchesInFlight = 4;
inline constexpr uint32_t kLoaderOpenWindowFiles =
    2 * kLoaderOpenBatchFiles * kLoaderOpenBatchesInFlight;
// Items handed to the consumer's queue at once (fewer when the pipeline is about to wait).
inline constexpr uint32_t kLoaderHandoffItems = 64;

class Loader {
 public:
  // Checks the options and starts the pipeline's fibers on the connection's loop.
  static Result<std::unique_ptr<Loader>> Start(std::shared_ptr<Connection> connection,
                                               LoaderOptions options);
  // Stops the fibers (they unwind on the loop) and drops what is queued.
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Blocks until items are ready and moves up to `max_items` of them out: their records, in
  // order, into `records`, and the number of records of each item (a batch, or 1 when
  // unbatched) into `item_records`. The records reference the pieces they were read in (no
  // copy); dropping them frees the pieces, on any thread. Returns ok with nothing at the end,
  // or the pipeline's error. Any thread but the loop's.
  Status Next(size_t max_items, std::vector<RecordRef>& records,
              std::vector<uint32_t>& item_records);
  uint64_t corrupt_skipped() const;

  struct Output;  // the queue between the loop and the consumer
  struct State;   // the loop's side

 private:
  Loader(std::shared_ptr<Connection> connection, std::shared_ptr<Output> output,
         std::shared_ptr<State> state);

  // Checks the data CRCs left to the consumer (RecordRef::data_crc_pending); at a mismatch,
  // cuts the items before the corrupt record's and keeps the error for the next call.
  Status CheckDataCrcs(std::vector<RecordRef>& records, std::vector<uint32_t>& item_records);

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<Output> output_;
  // The consumer's side reads only state_->shards[i].path, which never changes after Start.
  std::shared_ptr<State> state_;
  Status corrupt_;  // a data checksum mismatch found by CheckDataCrcs: every later Next's
};

}  // namespace granary::python
