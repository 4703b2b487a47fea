// granary._granary: the C++ side of the Python package (python/granary/__init__.py wraps it).
//
// Every call that talks to the cluster releases the GIL and blocks on the connection's
// loop thread (connection.h); errors become OSError with an errno, which Python turns into
// the matching built-in subclass (FileNotFoundError, PermissionError, ...).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/client/file_system.h"
#include "core/common/limits.h"
#include "core/common/path.h"
#include "core/common/posix_errno.h"
#include "core/data/tfrecord.h"
#include "python/src/connection.h"
#include "python/src/loader.h"
#include "python/src/record_scanner.h"

namespace py = pybind11;

namespace granary::python {
namespace {

// Raises OSError(errno, message[, path]); Python picks the subclass from the errno.
[[noreturn]] void Raise(const Status& status, const std::string& path = {}) {
  assert(!status.ok());
  py::object error;
  if (path.empty()) {
    error = py::reinterpret_steal<py::object>(PyObject_CallFunction(
        PyExc_OSError, "is", ErrnoOf(status.code()), status.ToString().c_str()));
  } else {
    error = py::reinterpret_steal<py::object>(PyObject_CallFunction(
        PyExc_OSError, "iss", ErrnoOf(status.code()), status.ToString().c_str(), path.c_str()));
  }
  if (!error) throw py::error_already_set();
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())), error.ptr());
  throw py::error_already_set();
}

template <typename T>
T Check(Result<T> result, const std::string& path = {}) {
  if (!result.ok()) Raise(result.status(), path);
  return std::move(result).value();
}
void Check(const Status& status, const std::string& path = {}) {
  if (!status.ok()) Raise(status, path);
}

py::dict StatusToDict(const proto::FileStatus& s, const std::string& path) {
  py::dict d;
  d["name"] = path;
  const char* type = s.type() == proto::INODE_TYPE_DIRECTORY ? "directory"
                     : s.type() == proto::INODE_TYPE_SYMLINK ? "symlink"
                                                             : "file";
  d["type"] = type;
  d["size"] = s.length_bytes();
  d["mode"] = s.mode();
  d["owner"] = s.owner();
  d["group"] = s.group();
  d["mtime"] = static_cast<double>(s.mtime_ns()) / 1e9;
  d["atime"] = static_cast<double>(s.atime_ns()) / 1e9;
  d["replication"] = s.replication();
  d["block_size"] = s.block_bytes();
  d["inline"] = s.inline_data();
  d["under_construction"] = s.under_construction();
  d["blocks"] = s.block_count();
  d["inode"] = s.inode_id();
  return d;
}

// Hands `object` to the loop thread to be destroyed there (the loop may be using it), or
// destroys it here when the loop is gone.
template <typename T>
void DestroyOnLoop(Connection& connection, std::shared_ptr<T>& object) {
  if (object == nullptr) return;
  std::shared_ptr<T> moved = std::move(object);
  if (!connection.Post([moved] {})) moved.reset();
}

class Client;

class RawReader {
 public:
  RawReader(std::shared_ptr<Connection> connection, std::shared_ptr<Reader> reader,
            std::string path)
      : connection_(std::move(connection)),
        reader_(std::move(reader)),
        path_(std::move(path)),
        size_(reader_->Size()) {}
  ~RawReader() { DestroyOnLoop(*connection_, reader_); }

  // Reads up to len(buffer) bytes at the position into `buffer`.
  size_t ReadInto(py::buffer buffer) {
    py::buffer_info info = buffer.request(/*writable=*/true);
    const size_t capacity = static_cast<size_t>(info.size * info.itemsize);
    char* out = static_cast<char*>(info.ptr);
    EnsureOpen();
    if (position_ >= size_ || capacity == 0) return 0;
    const uint64_t want = std::min<uint64_t>(capacity, size_ - position_);
    std::shared_ptr<Reader> reader = reader_;
    const uint64_t at = position_;
    Result<std::string> data = [&] {
      py::gil_scoped_release release;
      return connection_->Call<std::string>([reader, at, want]() -> Result<std::string> {
        if (reader->Tell() != at) GRANARY_RETURN_IF_ERROR(reader->Seek(at));
        return reader->Read(want);
      });
    }();
    const std::string bytes = Check(std::move(data), path_);
    std::memcpy(out, bytes.data(), bytes.size());
    position_ += bytes.size();
    return bytes.size();
  }

  uint64_t Seek(int64_t offset, int whence) {
    EnsureOpen();
    int64_t base = whence == 0   ? 0
                   : whence == 1 ? static_cast<int64_t>(position_)
                                 : static_cast<int64_t>(size_);
    if (whence < 0 || whence > 2) throw py::value_error("invalid whence");
    const int64_t target = base + offset;
    if (target < 0) throw py::value_error("negative seek position");
    position_ = static_cast<uint64_t>(target);
    return position_;
  }

  void Close() { DestroyOnLoop(*connection_, reader_); }
  bool closed() const { return reader_ == nullptr; }
  uint64_t tell() const { return position_; }
  uint64_t size() const { return size_; }

  // Asks again how long the file is (a file being written grows with its writer's flushes);
  // returns the new size.
  uint64_t Refresh() {
    EnsureOpen();
    std::shared_ptr<Reader> reader = reader_;
    Result<uint64_t> size = [&] {
      py::gil_scoped_release release;
      return connection_->Call<uint64_t>([reader]() -> Result<uint64_t> {
        GRANARY_RETURN_IF_ERROR(reader->Refresh());
        return reader->Size();
      });
    }();
    size_ = Check(std::move(size), path_);
    return size_;
  }
  // Whether the file is still open for writing (as of the open or the last refresh).
  bool growing() const { return reader_ != nullptr && reader_->status().under_construction(); }

 private:
  void EnsureOpen() const {
    if (reader_ == nullptr) throw py::value_error("I/O operation on closed file");
  }

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<Reader> reader_;
  const std::string path_;
  uint64_t size_;
  uint64_t position_ = 0;
};

class RawWriter {
 public:
  RawWriter(std::shared_ptr<Connection> connection, std::shared_ptr<Writer> writer,
            std::string path)
      : connection_(std::move(connection)), writer_(std::move(writer)), path_(std::move(path)) {}
  ~RawWriter() {
    // A writer dropped without close is abandoned: its lease lapses on the namenode.
    DestroyOnLoop(*connection_, writer_);
  }

  size_t Write(py::buffer buffer) {
    py::buffer_info info = buffer.request();
    EnsureOpen();
    const size_t bytes = static_cast<size_t>(info.size * info.itemsize);
    std::shared_ptr<Writer> writer = writer_;
    Status status;
    {
      py::gil_scoped_release release;
      std::string data(static_cast<const char*>(info.ptr), bytes);
      status = connection_->CallStatus(
          [writer, data = std::move(data)]() -> Status { return writer->Write(data); });
    }
    Check(status, path_);
    position_ += bytes;
    return bytes;
  }

  // Every byte written so far becomes visible to new readers (kVisible) and, with kDurable,
  // synced on every datanode of the pipeline.
  void Flush(Durability durability = Durability::kDurable) {
    EnsureOpen();
    std::shared_ptr<Writer> writer = writer_;
    Status status;
    {
      py::gil_scoped_release release;
      status = connection_->CallStatus([writer, durability] { return writer->Flush(durability); });
    }
    Check(status, path_);
  }
  void FlushVisible() { Flush(Durability::kVisible); }

  void Close() {
    if (writer_ == nullptr) return;
    std::shared_ptr<Writer> writer = std::move(writer_);
    Status status;
    {
      py::gil_scoped_release release;
      status = connection_->CallStatus([writer] { return writer->Close(); });
    }
    DestroyOnLoop(*connection_, writer);
    Check(status, path_);
  }
  bool closed() const { return writer_ == nullptr; }
  uint64_t tell() const { return position_; }

 private:
  void EnsureOpen() const {
    if (writer_ == nullptr) throw py::value_error("I/O operation on closed file");
  }

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<Writer> writer_;
  const std::string path_;
  uint64_t position_ = 0;
};

// Reads a TFRecord file while it is written (TFRecordReader in follow mode): next() gives
// the next whole record or None when none is flushed whole yet; refresh() asks for more.
class PyTFRecordFollower {
 public:
  PyTFRecordFollower(std::shared_ptr<Connection> connection, std::shared_ptr<TFRecordReader> reader,
                     std::string path)
      : connection_(std::move(connection)), reader_(std::move(reader)), path_(std::move(path)) {}
  ~PyTFRecordFollower() { DestroyOnLoop(*connection_, reader_); }

  py::object Next() {
    EnsureOpen();
    std::shared_ptr<TFRecordReader> reader = reader_;
    Result<std::optional<std::string>> next = [&] {
      py::gil_scoped_release release;
      return connection_->Call<std::optional<std::string>>(
          [reader]() -> Result<std::optional<std::string>> { return reader->Next(); });
    }();
    std::optional<std::string> record = Check(std::move(next), path_);
    if (!record) return py::none();
    return py::bytes(*record);
  }
  // Returns whether the file is still being written.
  bool Refresh() {
    EnsureOpen();
    std::shared_ptr<TFRecordReader> reader = reader_;
    Result<bool> growing = [&] {
      py::gil_scoped_release release;
      return connection_->Call<bool>([reader]() -> Result<bool> {
        GRANARY_RETURN_IF_ERROR(reader->Refresh());
        return reader->growing();
      });
    }();
    return Check(std::move(growing), path_);
  }
  bool growing() const { return reader_ != nullptr && reader_->growing(); }
  void Close() { DestroyOnLoop(*connection_, reader_); }

 private:
  void EnsureOpen() const {
    if (reader_ == nullptr) throw py::value_error("I/O operation on a closed follower");
  }

  std::shared_ptr<Connection> connection_;
  std::shared_ptr<TFRecordReader> reader_;
  const std::string path_;
};

// Frames records on the calling thread and sends them in 1 MiB writes.
class PyTFRecordWriter {
 public:
  PyTFRecordWriter(std::shared_ptr<Connection> connection, std::shared_ptr<Writer> writer,
                   std::string path)
      : raw_(std::move(connection), std::move(writer), std::move(path)) {}

  void Write(py::buffer record) {
    py::buffer_info info = record.request();
    if (raw_.closed()) throw py::value_error("write to a closed TFRecordWriter");
    const size_t bytes = static_cast<size_t>(info.size * info.itemsize);
    if (bytes > kTFRecordBytesMax) throw py::value_error("record too large");
    AppendTFRecord(std::string_view(static_cast<const char*>(info.ptr), bytes), buffer_);
    ++records_;
    if (buffer_.size() >= kTFRecordWriteBufferBytes) Send();
  }
  void Flush() {
    Send();
    raw_.Flush();
  }
  void Close() {
    if (raw_.closed()) return;
    Send();
    raw_.Close();
  }
  uint64_t records() const { return records_; }

 private:
  void Send() {
    if (buffer_.empty()) return;
    std::string pending;
    pending.swap(buffer_);
    raw_.Write(py::memoryview::from_memory(pending.data(), static_cast<ssize_t>(pending.size())));
  }

  RawWriter raw_;
  std::string buffer_;
  uint64_t records_ = 0;
};

// Defined below, beside the other hand-off helpers.
py::list RecordsToBytes(std::vector<RecordRef>& records);
py::tuple RecordsToBatch(const std::vector<RecordRef>& records, size_t first, size_t last);

class PyLoader {
 public:
  explicit PyLoader(std::unique_ptr<Loader> loader, bool batched)
      : loader_(std::move(loader)), batched_(batched) {}

  // Up to `max_items` items: bytes, or lists of bytes when batched. Empty at the end.
  py::list Next(size_t max_items) {
    if (!Take(max_items)) return py::list();
    py::list flat = RecordsToBytes(records_);
    if (!batched_) return flat;
    py::list out(item_records_.size());
    size_t at = 0;
    for (size_t i = 0; i < item_records_.size(); ++i) {
      py::list batch(item_records_[i]);
      for (uint32_t j = 0; j < item_records_[i]; ++j, ++at) {
        PyObject* record = PyList_GET_ITEM(flat.ptr(), static_cast<Py_ssize_t>(at));
        Py_INCREF(record);
        PyList_SET_ITEM(batch.ptr(), static_cast<Py_ssize_t>(j), record);
      }
      PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), batch.release().ptr());
    }
    return out;
  }
  // Up to `max_items` items as (buffer, offsets) pairs (RecordsToBatch): one per batch when
  // batched, else one for all the records taken. Empty at the end.
  py::list NextBatches(size_t max_items) {
    py::list out;
    if (!Take(max_items)) return out;
    if (!batched_) {
      out.append(RecordsToBatch(records_, 0, records_.size()));
    } else {
      size_t at = 0;
      for (uint32_t count : item_records_) {
        out.append(RecordsToBatch(records_, at, at + count));
        at += count;
      }
    }
    py::gil_scoped_release release;
    records_.clear();  // frees the pieces: no Python object involved
    return out;
  }
  void Close() {
    py::gil_scoped_release release;
    records_.clear();
    loader_.reset();
  }
  uint64_t corrupt_skipped() const { return loader_ ? loader_->corrupt_skipped() : skipped_; }

 private:
  // Takes the next items into records_ / item_records_; false at the end (or closed).
  bool Take(size_t max_items) {
    if (loader_ == nullptr) return false;
    Status status;
    {
      py::gil_scoped_release release;
      records_.clear();
      status = loader_->Next(max_items, records_, item_records_);
    }
    Check(status);
    return !item_records_.empty();
  }

  std::unique_ptr<Loader> loader_;
  bool batched_;
  uint64_t skipped_ = 0;
  std::vector<RecordRef> records_;
  std::vector<uint32_t> item_records_;
};

class Client {
 public:
  explicit Client(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {}

  template <typename T>
  Result<T> Run(std::function<Result<T>(FileSystem&)> fn) {
    Connection* connection = connection_.get();
    py::gil_scoped_release release;
    return connection_->Call<T>([connection, fn = std::move(fn)] { return fn(connection->fs()); });
  }
  Status RunStatus(std::function<Status(FileSystem&)> fn) {
    Connection* connection = connection_.get();
    py::gil_scoped_release release;
    return connection_->CallStatus(
        [connection, fn = std::move(fn)] { return fn(connection->fs()); });
  }

  py::dict Stat(const std::string& path) {
    auto status =
        Check(Run<proto::FileStatus>([path](FileSystem& fs) { return fs.Stat(path); }), path);
    return StatusToDict(status, path);
  }

  py::list List(const std::string& path) {
    auto entries = Check(
        Run<std::vector<proto::FileStatus>>([path](FileSystem& fs) { return fs.ListAll(path); }),
        path);
    py::list out;
    for (const auto& entry : entries) out.append(StatusToDict(entry, JoinPath(path, entry.name())));
    return out;
  }

  void Mkdir(const std::string& path, uint32_t mode, bool parents) {
    Check(RunStatus([=](FileSystem& fs) { return fs.Mkdirs(path, mode, parents); }), path);
  }
  void Delete(const std::string& path, bool recursive) {
    Check(RunStatus([=](FileSystem& fs) { return fs.Delete(path, recursive); }), path);
  }
  void Rename(const std::string& source, const std::string& destination) {
    Check(RunStatus([=](FileSystem& fs) { return fs.Rename(source, destination); }), source);
  }
  // The quota of a directory (nn.GetQuota): limits (None when not set) and usage.
  py::dict Quota(const std::string& path) {
    auto q = Check(Run<proto::GetQuotaReply>([path](FileSystem& fs) { return fs.GetQuota(path); }),
                   path);
    py::dict d;
    d["path"] = path;
    d["names_max"] = q.names_max() == 0 ? py::object(py::none()) : py::int_(q.names_max());
    d["bytes_max"] = q.bytes_max() == 0 ? py::object(py::none()) : py::int_(q.bytes_max());
    d["names_used"] = q.names_used();
    d["bytes_used"] = q.bytes_used();
    return d;
  }

  void Chmod(const std::string& path, uint32_t mode) {
    Check(RunStatus([=](FileSystem& fs) { return fs.SetPermission(path, mode); }), path);
  }

  py::bytes ReadFile(const std::string& path) {
    std::string data =
        Check(Run<std::string>([path](FileSystem& fs) { return fs.ReadFile(path); }), path);
    return py::bytes(data);
  }

  void WriteFile(const std::string& path, py::buffer buffer, bool overwrite) {
    py::buffer_info info = buffer.request();
    std::string data(static_cast<const char*>(info.ptr),
                     static_cast<size_t>(info.size * info.itemsize));
    CreateOptions options;
    options.overwrite = overwrite;
    Check(RunStatus([path, data = std::move(data), options](FileSystem& fs) {
            return fs.WriteFile(path, data, options);
          }),
          path);
  }

  RawReader* OpenReader(const std::string& path) {
    auto reader = Check(
        Run<std::shared_ptr<Reader>>([path](FileSystem& fs) -> Result<std::shared_ptr<Reader>> {
          GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> reader, fs.Open(path));
          if (reader->status().type() == proto::INODE_TYPE_DIRECTORY) {
            return Status(StatusCode::kIsADirectory, path);
          }
          return std::shared_ptr<Reader>(std::move(reader));
        }),
        path);
    return new RawReader(connection_, std::move(reader), path);
  }

  // Opens `path` for writing and sends nothing: what io.open must check (the path is a
  // directory, the file exists under `exclusive`, the parent is missing or not a directory,
  // permission) is checked by the namenode's create itself, which a small file sends at
  // close with its bytes (one round trip) and a larger one with its first block. So those
  // errors surface there, on the first call that reaches the namenode, not here.
  // `create_parents`: missing parent directories are made by that same create.
  std::shared_ptr<Writer> CreateWriter(const std::string& path, bool exclusive,
                                       bool create_parents) {
    return Check(
        Run<std::shared_ptr<Writer>>(
            [path, exclusive, create_parents](FileSystem& fs) -> Result<std::shared_ptr<Writer>> {
              CreateOptions options;
              options.overwrite = !exclusive;
              options.create_parents = create_parents;
              GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs.Create(path, options));
              return std::shared_ptr<Writer>(std::move(writer));
            }),
        path);
  }

  RawWriter* OpenWriter(const std::string& path, bool exclusive, bool create_parents) {
    return new RawWriter(connection_, CreateWriter(path, exclusive, create_parents), path);
  }
  // Opens an existing file for appending (nn.Append: errors surface here, at once).
  RawWriter* OpenAppender(const std::string& path) {
    auto writer = Check(
        Run<std::shared_ptr<Writer>>([path](FileSystem& fs) -> Result<std::shared_ptr<Writer>> {
          GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Writer> writer, fs.Append(path));
          return std::shared_ptr<Writer>(std::move(writer));
        }),
        path);
    return new RawWriter(connection_, std::move(writer), path);
  }
  // Starts lease recovery of a file whose writer died; true once it is closed.
  bool RecoverLease(const std::string& path) {
    return Check(Run<bool>([path](FileSystem& fs) { return fs.RecoverLease(path); }), path);
  }
  PyTFRecordFollower* FollowTFRecords(const std::string& path) {
    auto reader =
        Check(Run<std::shared_ptr<TFRecordReader>>(
                  [path](FileSystem& fs) -> Result<std::shared_ptr<TFRecordReader>> {
                    GRANARY_ASSIGN_OR_RETURN(std::unique_ptr<Reader> opened, fs.Open(path));
                    auto reader = std::make_shared<TFRecordReader>(std::move(opened), path,
                                                                   CorruptRecords::kFail);
                    reader->set_follow(true);
                    return reader;
                  }),
              path);
    return new PyTFRecordFollower(connection_, std::move(reader), path);
  }
  PyTFRecordWriter* OpenTFRecordWriter(const std::string& path) {
    return new PyTFRecordWriter(connection_, CreateWriter(path, false, false), path);
  }

  PyLoader* StartLoader(std::vector<std::string> paths, bool whole_files, uint32_t cycle_length,
                        uint32_t num_parallel_reads, uint64_t shuffle_buffer, bool shuffle_files,
                        uint64_t seed, uint32_t batch_size, bool drop_remainder, uint32_t prefetch,
                        bool skip_corrupt, uint64_t shard_buffer_bytes) {
    LoaderOptions options;
    options.paths = std::move(paths);
    options.source = whole_files ? LoaderSource::kWholeFile : LoaderSource::kTFRecord;
    options.cycle_length = cycle_length;
    options.num_parallel_reads = num_parallel_reads;
    options.shuffle_buffer = shuffle_buffer;
    options.shuffle_files = shuffle_files;
    options.seed = seed;
    options.batch_size = batch_size;
    options.drop_remainder = drop_remainder;
    options.prefetch = prefetch;
    options.skip_corrupt = skip_corrupt;
    options.shard_buffer_bytes = shard_buffer_bytes;
    auto loader = Loader::Start(connection_, std::move(options));
    if (!loader.ok() && loader.code() == StatusCode::kInvalidArgument) {
      throw py::value_error(loader.status().message());
    }
    return new PyLoader(Check(std::move(loader)), batch_size > 0);
  }

  py::dict Report() {
    auto report = Check(Run<proto::ClusterReportReply>([](FileSystem& fs) { return fs.Report(); }));
    py::dict d;
    uint64_t live = 0;
    for (const auto& dn : report.datanodes()) live += dn.live() ? 1 : 0;
    d["datanodes"] = report.datanodes_size();
    d["live_datanodes"] = live;
    d["files"] = report.files();
    d["directories"] = report.directories();
    d["blocks"] = report.blocks();
    d["under_replicated_blocks"] = report.under_replicated_blocks();
    return d;
  }

  py::dict Defaults() {
    auto defaults =
        Check(Run<proto::ServerDefaultsReply>([](FileSystem& fs) { return fs.Defaults(); }));
    py::dict d;
    d["inline_threshold"] = defaults.inline_threshold_bytes();
    d["block_size"] = defaults.block_bytes();
    return d;
  }

  // Raises this connection's journal sequence to the active's (nn.Msync): later reads see
  // every write acknowledged before, on whichever namenode they land.
  void Msync() {
    Check(RunStatus([](FileSystem& fs) { return fs.Msync(); }), "msync");
  }

  // Requests this connection has sent to the namenode, per method name (every retry counts).
  py::dict NamenodeCalls() {
    using Counts = NamenodeClient::CallCounts;
    const Counts counts = Check(
        Run<Counts>([](FileSystem& fs) -> Result<Counts> { return fs.namenode().call_counts(); }));
    py::dict d;
    for (const auto& [method, count] : counts) d[py::str(method)] = count;
    return d;
  }

  void Close() {
    if (abandoned_) return;
    py::gil_scoped_release release;
    connection_->Close();
  }
  bool closed() const { return abandoned_ || connection_->closed(); }
  // In a child after fork(): the connection's thread did not survive the fork and its ZeroMQ
  // context belongs to the parent, so the connection is left as it is, never closed nor
  // destroyed (one leaked reference), and this client reports itself closed. The Python
  // layer (granary.FileSystem, os.register_at_fork) then connects afresh.
  void AbandonAfterFork() {
    if (abandoned_) return;
    abandoned_ = true;
    new std::shared_ptr<Connection>(connection_);  // NOLINT: deliberately leaked
  }
  std::string address() const { return connection_->options().namenode; }
  std::string user() const { return user_; }
  void set_user(std::string user) { user_ = std::move(user); }

 private:
  std::shared_ptr<Connection> connection_;
  std::string user_;
  bool abandoned_ = false;
};

Client* Connect(const std::string& address, const std::string& user,
                std::vector<std::string> groups, double timeout_seconds, uint32_t attempts,
                const std::string& read_policy) {
  ConnectOptions options;
  options.read_policy = read_policy;
  options.namenode = address;
  options.user = user;
  options.groups = std::move(groups);
  options.rpc_timeout_ms = static_cast<uint32_t>(timeout_seconds * 1000);
  options.attempts = attempts;
  Result<std::shared_ptr<Connection>> connection = [&] {
    py::gil_scoped_release release;
    return Connection::Open(options);
  }();
  auto* client = new Client(Check(std::move(connection)));
  client->set_user(user);
  return client;
}

// A Python bytes per record. The objects are made with the GIL held but empty; the records
// are copied into them with the GIL released (nothing else can see the objects yet), and the
// references (the pieces they pin) are dropped there too.
py::list RecordsToBytes(std::vector<RecordRef>& records) {
  py::list out(records.size());
  std::vector<char*> targets(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    PyObject* bytes =
        PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(records[i].length));
    if (bytes == nullptr) throw py::error_already_set();
    targets[i] = PyBytes_AS_STRING(bytes);
    PyList_SET_ITEM(out.ptr(), static_cast<Py_ssize_t>(i), bytes);  // steals the reference
  }
  {
    py::gil_scoped_release release;
    for (size_t i = 0; i < records.size(); ++i) {
      std::memcpy(targets[i], records[i].piece->data() + records[i].offset, records[i].length);
    }
    records.clear();
  }
  return out;
}

// Records [first, last) as one batch: (buffer, offsets), where record i is
// buffer[offsets[i]:offsets[i+1]] and offsets is n+1 native-endian int64 (a bytes, for
// memoryview(...).cast("q")). One copy per record, with the GIL released.
py::tuple RecordsToBatch(const std::vector<RecordRef>& records, size_t first, size_t last) {
  uint64_t total = 0;
  for (size_t i = first; i < last; ++i) total += records[i].length;
  py::object buffer = py::reinterpret_steal<py::object>(
      PyBytes_FromStringAndSize(nullptr, static_cast<Py_ssize_t>(total)));
  py::object offsets = py::reinterpret_steal<py::object>(PyBytes_FromStringAndSize(
      nullptr, static_cast<Py_ssize_t>((last - first + 1) * sizeof(int64_t))));
  if (!buffer || !offsets) throw py::error_already_set();
  char* data = PyBytes_AS_STRING(buffer.ptr());
  char* offsets_data = PyBytes_AS_STRING(offsets.ptr());
  {
    py::gil_scoped_release release;
    int64_t at = 0;
    for (size_t i = first; i < last; ++i) {
      std::memcpy(offsets_data + (i - first) * sizeof(int64_t), &at, sizeof(at));
      std::memcpy(data + at, records[i].piece->data() + records[i].offset, records[i].length);
      at += static_cast<int64_t>(records[i].length);
    }
    std::memcpy(offsets_data + (last - first) * sizeof(int64_t), &at, sizeof(at));
  }
  return py::make_tuple(buffer, offsets);
}

// The benchmarks' local baseline: the records of a local TFRecord file, checked with
// Granary's CRC32C (verify) or not; next() gives a list of bytes per 1 MiB read, empty at
// the end.
class PyLocalTFRecordReader {
 public:
  PyLocalTFRecordReader(const std::string& path, bool verify) : path_(path) {
    Result<std::unique_ptr<LocalTFRecordFile>> opened = [&] {
      py::gil_scoped_release release;
      return LocalTFRecordFile::Open(path, verify ? VerifyCrc::kYes : VerifyCrc::kNo);
    }();
    file_ = Check(std::move(opened), path);
  }
  py::list Next() {
    std::vector<RecordRef> records;
    for (;;) {
      Result<bool> more = [&] {
        py::gil_scoped_release release;
        return file_->Next(records);
      }();
      if (!Check(std::move(more), path_) || !records.empty()) break;
    }
    return RecordsToBytes(records);
  }

 private:
  const std::string path_;
  std::unique_ptr<LocalTFRecordFile> file_;
};

py::bytes FrameTFRecord(py::buffer data) {
  py::buffer_info info = data.request();
  std::string out;
  AppendTFRecord(std::string_view(static_cast<const char*>(info.ptr),
                                  static_cast<size_t>(info.size * info.itemsize)),
                 out);
  return py::bytes(out);
}

}  // namespace
}  // namespace granary::python

PYBIND11_MODULE(_granary, m) {
  using namespace granary::python;
  m.doc() = "Granary's C++ client (use the granary package, not this module)";
  py::class_<RawReader>(m, "RawReader")
      .def("readinto", &RawReader::ReadInto)
      .def("seek", &RawReader::Seek, py::arg("offset"), py::arg("whence") = 0)
      .def("tell", &RawReader::tell)
      .def("size", &RawReader::size)
      .def("refresh", &RawReader::Refresh)
      .def_property_readonly("growing", &RawReader::growing)
      .def("close", &RawReader::Close)
      .def_property_readonly("closed", &RawReader::closed);
  py::class_<RawWriter>(m, "RawWriter")
      .def("write", &RawWriter::Write)
      .def("flush", &RawWriter::FlushVisible)
      .def("sync", [](RawWriter& w) { w.Flush(granary::Durability::kDurable); })
      .def("tell", &RawWriter::tell)
      .def("close", &RawWriter::Close)
      .def_property_readonly("closed", &RawWriter::closed);
  py::class_<PyTFRecordWriter>(m, "TFRecordWriter")
      .def("write", &PyTFRecordWriter::Write)
      .def("flush", &PyTFRecordWriter::Flush)
      .def("close", &PyTFRecordWriter::Close)
      .def_property_readonly("records", &PyTFRecordWriter::records);
  py::class_<PyTFRecordFollower>(m, "TFRecordFollower")
      .def("next", &PyTFRecordFollower::Next)
      .def("refresh", &PyTFRecordFollower::Refresh)
      .def("close", &PyTFRecordFollower::Close)
      .def_property_readonly("growing", &PyTFRecordFollower::growing);
  py::class_<PyLoader>(m, "Loader")
      .def("next", &PyLoader::Next, py::arg("max_items") = 256)
      .def("next_batches", &PyLoader::NextBatches, py::arg("max_items") = 256)
      .def("close", &PyLoader::Close)
      .def_property_readonly("corrupt_skipped", &PyLoader::corrupt_skipped);
  py::class_<Client>(m, "Client")
      .def("stat", &Client::Stat)
      .def("list", &Client::List)
      .def("mkdir", &Client::Mkdir, py::arg("path"), py::arg("mode") = 0,
           py::arg("parents") = false)
      .def("delete", &Client::Delete, py::arg("path"), py::arg("recursive") = false)
      .def("rename", &Client::Rename)
      .def("chmod", &Client::Chmod)
      .def("quota", &Client::Quota)
      .def("read_file", &Client::ReadFile)
      .def("write_file", &Client::WriteFile, py::arg("path"), py::arg("data"),
           py::arg("overwrite") = true)
      .def("open_reader", &Client::OpenReader)
      .def("open_writer", &Client::OpenWriter, py::arg("path"), py::arg("exclusive") = false,
           py::arg("create_parents") = false)
      .def("open_appender", &Client::OpenAppender)
      .def("recover_lease", &Client::RecoverLease)
      .def("open_tfrecord_writer", &Client::OpenTFRecordWriter)
      .def("follow_tfrecords", &Client::FollowTFRecords)
      .def("start_loader", &Client::StartLoader)
      .def("report", &Client::Report)
      .def("defaults", &Client::Defaults)
      .def("namenode_calls", &Client::NamenodeCalls)
      .def("msync", &Client::Msync)
      .def("close", &Client::Close)
      .def("abandon_after_fork", &Client::AbandonAfterFork)
      .def_property_readonly("closed", &Client::closed)
      .def_property_readonly("address", &Client::address);
  m.def("connect", &Connect, py::arg("address"), py::arg("user") = "",
        py::arg("groups") = std::vector<std::string>{}, py::arg("timeout") = 10.0,
        py::arg("attempts") = 8, py::arg("read_policy") = "");
  m.def("frame_tfrecord", &FrameTFRecord);
  py::class_<PyLocalTFRecordReader>(m, "LocalTFRecordReader")
      .def(py::init<const std::string&, bool>(), py::arg("path"), py::arg("verify") = true)
      .def("next", &PyLocalTFRecordReader::Next);
}
