"""suites/inject/corpus.py - the control buffers of the inject suite.

Corpus files are taken from corpus/{cmsg_parse,cmsg_diff,inject}/ as raw
control bytes (C = the file size, at most MAX_CONTROL bytes, the shim's
CR_INJECT_MAX); any byte string is a valid control buffer.  Other corpus/
directories hold structured fuzz inputs and are not used.  A file over
MAX_CONTROL bytes cannot be injected: it is left out, and skipped_files()
lists it (and any symlink to a directory, not followed) for the driver to
show as NOT RUN.  A corpus entry that is not a regular file (a FIFO, a
socket, a device) or is a dangling symlink stops the listing with
CorpusError naming it; files are opened non-blocking, so none can hang a
reader.  The driver packs every buffer into one file (write_pack) that a
worker reads once (load_pack); buffer() serves a case from it.
Worker-side: stdlib only (binascii.crc32, no zlib).
"""

import binascii
import marshal
import os
import re
import stat

from oracle import REPO

CORPUS = os.path.join(REPO, "corpus")
MAX_CONTROL = 65536      # the shim's CR_INJECT_MAX
# corpus/ directories whose files are raw control buffers (C = file size):
# the fuzz targets cmsg_parse / cmsg_diff read them that way.
CONTROL_DIRS = ("cmsg_parse", "cmsg_diff", "inject")
SKIP_EXT = (".md", ".txt", ".json", ".py", ".c", ".h", ".sh", ".html")
PACK_ENV = "CMSGREF_INJECT_CORPUS"

_SPEC_SEED = re.compile(r"cmsg_parse/seed-(ilp32-)?[kf]\d")
_buf_cache = {}          # corpus path -> (bytes, CRC-32), read once
_pack = {}               # corpus path -> bytes, from the driver's pack


def crc32(buf):
    """The CRC-32 of buf as an unsigned int (binascii: no zlib needed)."""
    return binascii.crc32(buf) & 0xffffffff


def spec_seed(rel):
    """True for the spec §12 seeds (seed-kNN-*, seed-fN-*, and their
    12-byte-header twins seed-ilp32-kNN-*, seed-ilp32-fN-*) that
    scripts/make-seeds writes into corpus/cmsg_parse: they also go through
    recvmsg_into."""
    return _SPEC_SEED.match(rel) is not None


def seed_bytes(prefix):
    """The bytes of corpus/cmsg_parse/<prefix>-*, e.g. seed_bytes("seed-k14").
    Raises RuntimeError naming the generator if the seed is missing."""
    d = os.path.join(CORPUS, "cmsg_parse")
    names = sorted(f for f in (os.listdir(d) if os.path.isdir(d) else [])
                   if f.startswith(prefix + "-"))
    if not names:
        raise RuntimeError("corpus/cmsg_parse/%s-* is missing (make "
                           "fuzz-seeds writes it)" % prefix)
    return read(os.path.join(d, names[0]))


class CorpusError(OSError):
    """A corpus file that cannot be a control buffer: not a regular file
    (a FIFO would block its reader forever), a dangling symlink, or one
    that cannot be examined.  The message names the file; the run refuses
    to start (the driver lists the cases first and says why in one line)."""


def corpus_files(root=CORPUS):
    """Relative paths of corpus files usable as control buffers, sorted:
    every regular file (or symlink to one) of at most MAX_CONTROL bytes
    under the CONTROL_DIRS of corpus/ (the others hold structured fuzz
    inputs, not control bytes).  What is left out is in skipped_files().
    Raises CorpusError naming a file that is not regular or a dangling
    symlink."""
    return _scan(root)[0]


def skipped_files(root=CORPUS):
    """[(path, reason)] of the files under the CONTROL_DIRS that
    corpus_files() leaves out although they are not hidden or
    documentation (SKIP_EXT): files over MAX_CONTROL bytes (the shim's
    CR_INJECT_MAX) and symlinks to directories (not followed).  path is
    "corpus/<dir>/<name>"; sorted.  The driver prints each as NOT RUN, so
    nothing is left out silently.  Raises CorpusError as corpus_files()."""
    return _scan(root)[1]


def _scan(root):
    """(corpus_files, skipped_files) of root."""
    files, skipped = [], []
    for sub in CONTROL_DIRS:
        got, left = _files(os.path.join(root, sub))
        files.extend(os.path.join(sub, f) for f in got)
        skipped.extend(("corpus/" + os.path.join(sub, f), why)
                       for f, why in left)
    return sorted(files), sorted(skipped)


def _kind(mode):
    """What a non-regular file is, for a message."""
    for test, name in ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"),
                       (stat.S_ISDIR, "a directory")):
        if test(mode):
            return name
    return "not a regular file"


def _shown(path):
    """path relative to the repo when it is inside it (for messages)."""
    rel = os.path.relpath(path, REPO)
    return path if rel.startswith("..") else rel


def _files(root):
    """([relative path], [(relative path, reason skipped)]) under root:
    files over MAX_CONTROL bytes and names with a control character are
    skipped (listed), not run."""
    out, skipped = [], []
    if not os.path.isdir(root):
        return out, skipped
    for d, dirs, files in os.walk(root):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for x in dirs:
            if os.path.islink(os.path.join(d, x)):
                skipped.append((os.path.relpath(os.path.join(d, x), root),
                                "a symlink to a directory (not followed)"))
        for f in files:
            full = os.path.join(d, f)
            if f.startswith(".") or f.lower().endswith(SKIP_EXT):
                continue
            try:
                st = os.stat(full)
            except OSError as e:
                if os.path.islink(full):
                    raise CorpusError("corpus file %s is a dangling symlink "
                                      "(to %s): remove it" % (
                                          _shown(full), os.readlink(full)))
                raise CorpusError("cannot examine corpus file %s: %s"
                                  % (_shown(full), e.strerror or e))
            if not stat.S_ISREG(st.st_mode):
                raise CorpusError("corpus file %s is %s, not a regular file: "
                                  "remove it" % (_shown(full),
                                                 _kind(st.st_mode)))
            rel = os.path.relpath(full, root)
            if any(c < " " or c == "\x7f" for c in rel):
                skipped.append((rel, "its name holds a control character "
                                "(a case id and its repro must stay one "
                                "shell line)"))
            elif st.st_size > MAX_CONTROL:
                skipped.append((rel, "%d bytes, over the %d a control "
                                "buffer may have (the shim's CR_INJECT_MAX)"
                                % (st.st_size, MAX_CONTROL)))
            else:
                out.append(rel)
    return sorted(out), sorted(skipped)


# ------------------------------------------------------------- the suite


def read(path):
    """The bytes of a file (at most MAX_CONTROL + 1 of them), read with
    os-level calls (cheaper than open()).  Opened non-blocking (a FIFO put there after the listing
    must not hang the reader) and refused unless it is a regular file.
    Raises OSError (CorpusError for a file that is not regular)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK |
                 getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise CorpusError("corpus file %s is %s, not a regular file"
                              % (_shown(path), _kind(mode)))
        chunks, left = [], MAX_CONTROL + 1
        while left > 0:
            chunk = os.read(fd, left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def write_pack(path):
    """The driver's side of the corpus pack: every corpus_files() buffer in
    one file, marshal (version 2) of {relative path: bytes}, written
    atomically.  A worker started with PACK_ENV naming it takes its buffers
    from there: one read a worker instead of one a buffer, and the matrix
    reads each file once.
    Returns the number of buffers.  Raises OSError."""
    pack = dict((rel, read(os.path.join(CORPUS, rel)))
                for rel in corpus_files())
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(marshal.dumps(pack, 2))
    os.replace(tmp, path)
    return len(pack)


def load_pack(path):
    """Take the buffers from the driver's pack at path (None or "": read
    each corpus file instead).  Raises RuntimeError if it is unreadable or
    not a pack."""
    global _pack
    if not path:
        return
    try:
        with open(path, "rb") as f:
            pack = marshal.loads(f.read())
    except (OSError, EOFError, ValueError, TypeError) as e:
        raise RuntimeError("cannot read the corpus pack %s: %s" % (path, e))
    if not isinstance(pack, dict) or not all(
            isinstance(k, str) and isinstance(v, bytes)
            for k, v in pack.items()):
        raise RuntimeError("%s is not a corpus pack" % path)
    _pack = pack


def buffer(rel):
    """(bytes, CRC-32) of corpus file rel: from the driver's pack, else
    read at its first case.  A read leaves the fd table as the session last
    saw it (read closes the one fd it opens before it returns, or raises),
    so no look is taken."""
    got = _buf_cache.get(rel)
    if got is None:
        buf = _pack.get(rel)
        if buf is None:
            buf = read(os.path.join(CORPUS, rel))
        got = (buf, crc32(buf))
        _buf_cache[rel] = got
    return got
