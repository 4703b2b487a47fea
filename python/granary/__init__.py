"""Granary from Python: files that ``io`` and pandas accept, an fsspec filesystem and
TFRecord input pipelines (``granary.data``).

    import granary
    fs = granary.connect("127.0.0.1:7000")
    with fs.open("/data/x.csv", "w") as f:
        f.write("a,b\\n1,2\\n")
    pandas.read_csv(fs.open("/data/x.csv"))
    pandas.read_csv("granary://127.0.0.1:7000/data/x.csv")   # through fsspec

An HA cluster is named by the list of its namenodes, "HOST:PORT,HOST:PORT,..." (in
``connect`` and in URLs: ``granary://h:7000,h:7010,h:7020/data/x.csv``): calls go to the
active namenode, follow a standby's redirect, and wait through a failover (up to the
client's failover timeout, 30 s) instead of failing.

Every call that talks to the cluster runs on the connection's own C++ thread while the
calling thread waits with the GIL released. Errors are the built-in ``OSError`` subclasses
(``FileNotFoundError``, ``PermissionError``, ``IsADirectoryError``, ``FileExistsError``,
``NotADirectoryError``), carrying the path and Granary's message.

Opening a file for writing sends nothing: a small file is created, written and closed in
one namenode call at close, and a larger one is created with its first block. So the errors
of the create (the path is a directory, the parent is missing or a file, "x" and the file
exists, permission) surface at close, or at the write that fills the first block, not at
open: the price of one round trip, as with object stores.

Files that grow: ``fs.open(path, "ab")`` (or ``"a"``) appends to an existing file (one
writer at a time: an ``OSError`` with ``errno.EBUSY`` names the holder); its ``flush()``
makes every byte written so far visible to readers that open the file afterwards, and
``sync()`` (any writer) also makes them durable on every replica. A reader of a file being written sees up to the
last flush; ``refresh()`` asks again (``growing`` says whether the writer is still at it).
``fs.recover_lease(path)`` closes a file whose writer died.
"""

import errno as _errno
import fnmatch as _fnmatch
import io as _io
import os as _os
import posixpath as _posixpath
import re as _re
import weakref as _weakref

from . import _granary

__all__ = ["connect", "FileSystem", "GranaryFile", "GranaryRawFile", "split_url"]

# The buffered layer's buffer: large enough that each read costs one cross-thread call per
# MiB, not per 8 KiB (io.DEFAULT_BUFFER_SIZE).
DEFAULT_BUFFER_SIZE = 1 << 20

_URL = _re.compile(r"^granary://([^/]+)(/.*)?$")


def split_url(url):
    """'granary://HOST:PORT/a/b' -> ('HOST:PORT', '/a/b'); a list of namenodes
    'granary://H1:P1,H2:P2/a' -> ('H1:P1,H2:P2', '/a')."""
    match = _URL.match(url)
    if not match:
        raise ValueError("not a granary:// URL: %r" % (url,))
    return match.group(1), match.group(2) or "/"


class GranaryRawFile(_io.RawIOBase):
    """An unbuffered Granary file: readinto/write/seek/tell over the C++ reader or writer."""

    def __init__(self, raw, path, mode):
        super().__init__()
        self._raw = raw
        self.name = path
        self.mode = mode
        self._reading = "r" in mode
        self._appending = "a" in mode

    def readable(self):
        self._checkClosed()
        return self._reading

    def writable(self):
        self._checkClosed()
        return not self._reading

    def seekable(self):
        self._checkClosed()
        return self._reading

    def readinto(self, buffer):
        if not self._reading:
            raise _io.UnsupportedOperation("not readable")
        return self._raw.readinto(buffer)

    def write(self, buffer):
        if self._reading:
            raise _io.UnsupportedOperation("not writable")
        return self._raw.write(buffer)

    def seek(self, offset, whence=_io.SEEK_SET):
        if not self._reading:
            raise _io.UnsupportedOperation("seek on a file being written")
        return self._raw.seek(offset, whence)

    def tell(self):
        return self._raw.tell()

    def size(self):
        return self._raw.size() if self._reading else self._raw.tell()

    def flush(self):
        """A file opened for appending ('ab', 'a'): every byte written so far becomes visible
        to readers that open the file afterwards (Writer::Flush). A file opened with 'wb' or
        'xb' sends nothing here (its bytes go with the one create a small file costs; close
        makes them durable): sync() makes them visible and durable at any time."""
        if self._appending and not self.closed and not self._raw.closed:
            self._raw.flush()

    def sync(self):
        """Makes what was written so far visible and durable on every replica (Writer::Sync)."""
        if not self._reading and not self._raw.closed:
            self._raw.sync()

    def refresh(self):
        """A file being written: asks again how far it is visible; returns the new size."""
        if not self._reading:
            raise _io.UnsupportedOperation("refresh of a file being written here")
        return self._raw.refresh()

    @property
    def growing(self):
        """Whether the file was still open for writing at the open or the last refresh."""
        return self._reading and self._raw.growing

    def close(self):
        if self.closed:
            return
        try:
            # RawIOBase.close calls flush: for a writer that would send a Flush RPC first.
            self._raw.close()
        finally:
            _io.RawIOBase.close(self)

    def __repr__(self):
        return "<GranaryRawFile %r mode=%r>" % (self.name, self.mode)


class GranaryFile(_io.BufferedIOBase):
    """A buffered Granary file (what open returns in binary mode).

    Delegates to an io.BufferedReader / io.BufferedWriter over a GranaryRawFile, without
    being one: numpy (and others) treat instances of those classes as OS files and call
    fileno(), which a Granary file does not have.
    """

    def __init__(self, inner, raw):
        super().__init__()
        self._inner = inner
        self.raw = raw

    name = property(lambda self: self.raw.name)
    mode = property(lambda self: self.raw.mode)
    closed = property(lambda self: self._inner.closed)

    def readable(self):
        return self._inner.readable()

    def writable(self):
        return self._inner.writable()

    def seekable(self):
        return self._inner.seekable()

    def read(self, size=-1):
        return self._inner.read(size)

    def read1(self, size=-1):
        return self._inner.read1(size)

    def readinto(self, buffer):
        return self._inner.readinto(buffer)

    def readinto1(self, buffer):
        return self._inner.readinto1(buffer)

    def readline(self, size=-1):
        return self._inner.readline(size)

    def peek(self, size=0):
        return self._inner.peek(size)

    def write(self, data):
        return self._inner.write(data)

    def seek(self, offset, whence=_io.SEEK_SET):
        return self._inner.seek(offset, whence)

    def tell(self):
        return self._inner.tell()

    def flush(self):
        """Hands the buffer to the file; a file opened for appending then makes every byte
        written so far visible to new readers (GranaryRawFile.flush)."""
        if not self._inner.closed:
            self._inner.flush()
            if self.writable() and not getattr(self, "_closing", False):
                self.raw.flush()

    def sync(self):
        """Makes what was written so far visible and durable on every replica (Writer::Sync)."""
        self._inner.flush()
        self.raw.sync()

    def refresh(self):
        """A file being read while it is written: asks again how far it is visible (what
        its writer flushed) and returns the new size; reads then go on past the old end."""
        return self.raw.refresh()

    @property
    def growing(self):
        return self.raw.growing

    def close(self):
        # Close alone makes the bytes durable: no flush RPC before it.
        self._closing = True
        self._inner.close()

    def detach(self):
        raise _io.UnsupportedOperation("detach")

    def __iter__(self):
        return iter(self._inner)

    def __next__(self):
        return next(self._inner)

    def __repr__(self):
        return "<granary.GranaryFile %r mode=%r>" % (self.name, self.mode)


class _GranaryText(_io.TextIOWrapper):
    """Text mode over a GranaryFile: its close sends no flush RPC before the close."""

    def sync(self):
        self.flush()
        self.buffer.sync()

    def refresh(self):
        return self.buffer.refresh()

    def close(self):
        if not self.closed:
            self.buffer._closing = True
        super().close()


def _check_path(path):
    if not isinstance(path, str):
        path = _os.fspath(path)
    if path.startswith("granary://"):
        path = split_url(path)[1]
    if not path.startswith("/"):
        raise ValueError("Granary paths are absolute: %r" % (path,))
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/") or "/"
    return path


class FileSystem:
    """A connection to one Granary cluster. Thread-safe; close() (or ``with``) ends it.

    Fork-safe: in a child process (a DataLoader worker, multiprocessing's fork) the
    connection made by the parent cannot run (its thread and ZeroMQ context stayed in the
    parent), so the child leaves it alone and connects again on first use, with the same
    arguments (os.register_at_fork)."""

    def __init__(self, client, connect_args=None):
        self._client_obj = client
        self._connect_args = connect_args
        self._user_closed = False
        _live.add(self)

    @property
    def _client(self):
        client = self._client_obj
        if client is None:
            if self._user_closed or self._connect_args is None:
                raise ValueError("I/O operation on a closed Granary connection")
            client = self._client_obj = _granary.connect(*self._connect_args)
        return client

    def _after_fork_in_child(self):
        client, self._client_obj = self._client_obj, None
        if client is not None:
            client.abandon_after_fork()
        if self._connect_args is None:
            self._user_closed = True

    @property
    def address(self):
        if self._connect_args is not None:
            return self._connect_args[0]
        return self._client.address

    # ---- files -----------------------------------------------------------------------

    def open(self, path, mode="rb", buffering=-1, encoding=None, errors=None, newline=None):
        """Opens a file as io.open does: 'rb', 'wb', 'xb', 'r', 'w', 'x' (text modes take
        encoding, errors and newline). Reading files are seekable. A file opened for writing
        reports what io.open would have refused (IsADirectoryError, FileNotFoundError,
        NotADirectoryError, FileExistsError, PermissionError) at close, or at the write that
        fills its first block: see the module's docstring."""
        return self._open_file(path, mode, buffering, encoding, errors, newline, False)

    def _open_file(self, path, mode, buffering, encoding, errors, newline, parents):
        """open, and with `parents` a file opened for writing makes its missing parent
        directories in the same namenode call as its create (for fsspec's auto_mkdir)."""
        path = _check_path(path)
        if not isinstance(mode, str) or len(set(mode)) != len(mode):
            raise ValueError("invalid mode: %r" % (mode,))
        allowed = set("rwxabt")
        if not set(mode) <= allowed or sum(c in mode for c in "rwxa") != 1 or (
                "b" in mode and "t" in mode):
            raise ValueError("invalid mode: %r (Granary files open with r, w, x or a, "
                             "b or t)" % (mode,))
        binary = "b" in mode
        if binary and (encoding is not None or errors is not None or newline is not None):
            raise ValueError("binary mode doesn't take an encoding, errors or newline")
        reading = "r" in mode
        if reading:
            raw = GranaryRawFile(self._client.open_reader(path), path, "rb")
        elif "a" in mode:
            # Unlike io.open, the file must exist: nn.Append opens it (errors surface here).
            raw = GranaryRawFile(self._client.open_appender(path), path, "ab")
        else:
            raw = GranaryRawFile(self._client.open_writer(path, "x" in mode, parents), path,
                                 "wb")
        if buffering == 0:
            if not binary:
                raise ValueError("can't have unbuffered text I/O")
            return raw
        size = DEFAULT_BUFFER_SIZE if buffering in (-1, 1) else buffering
        if reading:
            buffered = GranaryFile(_io.BufferedReader(raw, buffer_size=size), raw)
        else:
            buffered = GranaryFile(_io.BufferedWriter(raw, buffer_size=size), raw)
        if binary:
            return buffered
        text = _GranaryText(buffered, encoding=encoding or "utf-8", errors=errors,
                            newline=newline, line_buffering=buffering == 1)
        text.mode = mode
        return text

    def recover_lease(self, path):
        """Starts lease recovery of a file whose writer died (HDFS's recoverLease); True once
        the file is closed (at the length its replicas agree on), else ask again later."""
        path = _check_path(path)
        return self._client.recover_lease(path)

    def read_bytes(self, path):
        """The whole file (one round trip for an inline file)."""
        path = _check_path(path)
        return self._client.read_file(path)

    def write_bytes(self, path, data, overwrite=True):
        """Writes a whole file in one call (one round trip for a small file). Parents are
        created."""
        path = _check_path(path)
        self._client.write_file(path, data, overwrite)

    # ---- namespace -------------------------------------------------------------------

    def stat(self, path):
        """A dict: name, type ('file', 'directory'), size, mode, owner, group, mtime, ..."""
        return self._client.stat(_check_path(path))

    def info(self, path):
        return self.stat(path)

    def exists(self, path):
        try:
            self._client.stat(_check_path(path))
            return True
        except FileNotFoundError:
            return False

    def isdir(self, path):
        try:
            return self._client.stat(_check_path(path))["type"] == "directory"
        except (FileNotFoundError, NotADirectoryError):
            return False

    def isfile(self, path):
        try:
            return self._client.stat(_check_path(path))["type"] == "file"
        except (FileNotFoundError, NotADirectoryError):
            return False

    def ls(self, path="/", detail=False):
        """Entries of a directory, sorted by name: full paths, or stat dicts with detail.
        A file lists as itself."""
        path = _check_path(path)
        st = self._client.stat(path)
        if st["type"] != "directory":
            return [st] if detail else [path]
        entries = self._client.list(path)
        return entries if detail else [e["name"] for e in entries]

    def mkdir(self, path, mode=0o755, parents=False):
        """Creates a directory; FileExistsError when it exists, FileNotFoundError when a
        parent is missing (unless parents)."""
        path = _check_path(path)
        if not parents and self.exists(path):
            raise FileExistsError(_errno.EEXIST, "already exists", path)
        self._client.mkdir(path, mode, parents)

    def makedirs(self, path, mode=0o755, exist_ok=False):
        path = _check_path(path)
        if exist_ok:
            # One call: making a directory that exists is a success; over a file it is
            # FileExistsError.
            self._client.mkdir(path, mode, True)
            return
        try:
            st = self._client.stat(path)
        except FileNotFoundError:
            self._client.mkdir(path, mode, True)
            return
        if st["type"] != "directory":
            raise FileExistsError(_errno.EEXIST, "exists and is not a directory", path)
        if not exist_ok:
            raise FileExistsError(_errno.EEXIST, "already exists", path)

    def chmod(self, path, mode):
        self._client.chmod(_check_path(path), mode)

    def quota(self, path):
        """The quota of a directory (`granary quota show`): a dict of names_max and bytes_max
        (None when not set), names_used and bytes_used (bytes count times replication)."""
        return self._client.quota(_check_path(path))

    def rm(self, path, recursive=False):
        """Deletes a file, or a directory (empty, or anything with recursive)."""
        self._client.delete(_check_path(path), recursive)

    def rmdir(self, path):
        path = _check_path(path)
        if not self.isdir(path):
            raise NotADirectoryError(_errno.ENOTDIR, "not a directory", path)
        self._client.delete(path, False)

    def mv(self, source, destination):
        """Renames atomically."""
        self._client.rename(_check_path(source), _check_path(destination))

    rename = mv

    def walk(self, top="/"):
        """Like os.walk, top-down: (dirpath, dirnames, filenames)."""
        top = _check_path(top)
        entries = self._client.list(top)
        dirs = [_posixpath.basename(e["name"]) for e in entries if e["type"] == "directory"]
        files = [_posixpath.basename(e["name"]) for e in entries if e["type"] != "directory"]
        yield top, dirs, files
        for name in dirs:
            yield from self.walk(_posixpath.join(top, name))

    def find(self, path="/"):
        """Every file under path (full paths, sorted)."""
        out = []
        for dirpath, _, files in self.walk(path):
            out.extend(_posixpath.join(dirpath, f) for f in files)
        return sorted(out)

    def glob(self, pattern):
        """Paths matching a glob ('*', '?', '[...]' within a name; '**' across names),
        sorted."""
        pattern = _check_path(pattern)
        if not _glob_magic(pattern):
            return [pattern] if self.exists(pattern) else []
        parts = pattern.split("/")[1:]
        results = []
        self._glob("/", parts, results)
        return sorted(set(results))

    def _glob(self, base, parts, results):
        if not parts:
            results.append(base)
            return
        head, rest = parts[0], parts[1:]
        if head == "**":
            # Zero or more directories.
            self._glob(base, rest, results)
            try:
                entries = self._client.list(base)
            except (FileNotFoundError, NotADirectoryError):
                return
            for e in entries:
                if e["type"] == "directory":
                    self._glob(e["name"], parts, results)
            return
        if not _glob_magic(head):
            child = _posixpath.join(base, head)
            if rest:
                self._glob(child, rest, results)
            elif self.exists(child):
                results.append(child)
            return
        try:
            entries = self._client.list(base)
        except (FileNotFoundError, NotADirectoryError):
            return
        for e in entries:
            name = _posixpath.basename(e["name"])
            if _fnmatch.fnmatchcase(name, head):
                if rest:
                    if e["type"] == "directory":
                        self._glob(e["name"], rest, results)
                else:
                    results.append(e["name"])

    # ---- copies ----------------------------------------------------------------------

    def put(self, local_path, path, recursive=False):
        """Copies a local file (or, with recursive, a local tree) into Granary."""
        path = _check_path(path)
        if _os.path.isdir(local_path):
            if not recursive:
                raise IsADirectoryError(_errno.EISDIR, "is a directory (use recursive)",
                                        local_path)
            self.makedirs(path, exist_ok=True)
            for name in sorted(_os.listdir(local_path)):
                self.put(_os.path.join(local_path, name), _posixpath.join(path, name), True)
            return
        with open(local_path, "rb") as source, self.open(path, "wb") as target:
            while True:
                chunk = source.read(DEFAULT_BUFFER_SIZE)
                if not chunk:
                    break
                target.write(chunk)

    def get(self, path, local_path, recursive=False):
        """Copies a Granary file (or, with recursive, a tree) to local disk."""
        path = _check_path(path)
        if self.isdir(path):
            if not recursive:
                raise IsADirectoryError(_errno.EISDIR, "is a directory (use recursive)", path)
            _os.makedirs(local_path, exist_ok=True)
            for name in self.ls(path):
                self.get(name, _os.path.join(local_path, _posixpath.basename(name)), True)
            return
        with self.open(path, "rb") as source, open(local_path, "wb") as target:
            while True:
                chunk = source.read(DEFAULT_BUFFER_SIZE)
                if not chunk:
                    break
                target.write(chunk)

    # ---- cluster ---------------------------------------------------------------------

    def report(self):
        """Datanodes (live), files, directories, blocks of the cluster."""
        return self._client.report()

    def defaults(self):
        """The cluster's inline threshold and block size (asked once per connection)."""
        return self._client.defaults()

    def msync(self):
        """Makes later reads of this connection, on whichever namenode they land, see every
        write any client had acknowledged before the call (HDFS's msync). Its own writes it
        always sees."""
        self._client.msync()

    def namenode_calls(self):
        """Requests this connection has sent to the namenode so far, per method name ("nn.Create":
        3, ...), every retry counted: for tests and diagnostics of round trips."""
        return self._client.namenode_calls()

    def close(self):
        self._user_closed = True
        if self._client_obj is not None:
            self._client_obj.close()

    @property
    def closed(self):
        if self._user_closed:
            return True
        return self._client_obj is not None and self._client_obj.closed

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return "<granary.FileSystem %s>" % (self.address,)


def _glob_magic(text):
    return any(c in text for c in "*?[")


def _check_namenodes(address):
    for i, item in enumerate(address.split(","), 1):
        if not item.strip():
            raise ValueError("namenode list %r: item %d is empty (expected HOST:PORT or "
                             "HOST:PORT,HOST:PORT,...)" % (address, i))


def connect(address, user=None, groups=None, timeout=10.0, attempts=8, read_policy=None):
    """Connects to the namenode at "HOST:PORT" (or "granary://HOST:PORT") as `user`
    (default $USER) and returns a FileSystem. `address` may list the namenodes of an HA
    cluster, "HOST:PORT,HOST:PORT,...": calls find the active one. `timeout` bounds each
    call to a namenode; `attempts`, the tries of a call to a single namenode (a list keeps
    trying through a failover). With a list, reads (stat, list, open) go to any namenode
    by `read_policy` ("least-loaded", the default, "random", "nearest", "observer": a
    namenode other than the active, as HDFS's observer reads, or "active"; None:
    $GRANARY_READ_POLICY, else the default), writes to the active; a reader always sees
    its own writes (see FileSystem.msync for other clients')."""
    if address.startswith("granary://"):
        address = split_url(address)[0]
    _check_namenodes(address)
    if read_policy not in (None, "", "least-loaded", "random", "nearest", "observer", "active"):
        raise ValueError("read_policy %r: expected 'least-loaded', 'random', 'nearest', "
                         "'observer' or 'active'" % (read_policy,))
    args = (address, user or "", list(groups or []), float(timeout), int(attempts),
            str(read_policy or ""))
    return FileSystem(_granary.connect(*args), args)


# Every FileSystem alive, for the fork hook.
_live = _weakref.WeakSet()


def _after_fork_in_child():
    for fs in list(_live):
        fs._after_fork_in_child()


_os.register_at_fork(after_in_child=_after_fork_in_child)


def _register_fsspec():
    try:
        import fsspec
    except ImportError:
        return
    fsspec.register_implementation("granary", "granary.fs_spec.GranaryFileSystem",
                                   clobber=True)


_register_fsspec()
