"""sancov.py - which of a libFuzzer binary's coverage points are which code,
and which of them a set of inputs reaches.

Why: the coverage figure (fig_coverage.py) asks when a fuzzing run from
nothing reaches every branch of the walk and the libc models that the
committed corpus reaches.  A libFuzzer build (-fsanitize=fuzzer) carries
a table of its coverage points, one per instrumented edge (the
__sancov_pcs section: pairs of 64-bit PC and flags, in a fixed order), so
"a branch" is an entry of that table, named by its index:
- pc_table() reads the table's link-time PCs from the ELF file;
- files_of() symbolizes them (llvm-symbolizer) and keeps the indices
  whose code is compiled from the given source files (the outermost
  inlined frame decides, so code inlined from elsewhere counts for the
  file it was compiled into);
- reached() runs libFuzzer's merge on a directory of inputs and reads the
  indices every input covered from the merge control file ("COV" lines);
- index_of() turns the run-time PC of a -print_pcs=1 "NEW_PC" line back
  into an index, given the run-time address of the table ("Loaded 1 PC
  tables ... [0x...") the same run printed.
Limits: x86-64 little-endian ELF64, one instrumented module per binary.
"""

import os
import re
import shutil
import struct
import subprocess
import tempfile

from bench import common

SYMBOLIZER = os.environ.get("LLVM_SYMBOLIZER", "llvm-symbolizer")
TABLE_AT = re.compile(r"Loaded 1 PC tables \((\d+) PCs\): \d+ \[(0x[0-9a-f]+),")
NEW_PC = re.compile(r"^\s*NEW_PC: (0x[0-9a-f]+)")


def _section(data, name):
    """(link-time address, bytes) of the ELF64 section called name."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise common.Missing("not a little-endian ELF64 file")
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3a)
    heads = [struct.unpack_from("<IIQQQQ", data, shoff + i * shentsize)
             for i in range(shnum)]
    names = heads[shstrndx][4]
    for sh_name, _, _, addr, off, size in heads:
        at = names + sh_name
        if data[at:data.index(b"\0", at)] == name:
            return addr, data[off:off + size]
    raise common.Missing("no %s section (not a -fsanitize=fuzzer build?)"
                         % name.decode())


def pc_table(exe):
    """(link-time address of the table, [link-time PC of each entry])."""
    with open(exe, "rb") as f:
        data = f.read()
    addr, body = _section(data, b"__sancov_pcs")
    pcs = [struct.unpack_from("<Q", body, 16 * i)[0]
           for i in range(len(body) // 16)]
    if not pcs or not all(pcs):
        raise common.Missing("%s: the PC table holds no link-time PCs"
                             % os.path.relpath(exe, common.REPO))
    return addr, pcs


def files_of(exe, pcs, files, timeout=60):
    """Indices of pcs whose outermost frame is in one of files (paths
    relative to the repository).  Raises Missing without llvm-symbolizer
    or when no PC maps to those files."""
    want = set(os.path.join(common.REPO, f) for f in files)
    text = "".join("0x%x\n" % pc for pc in pcs)
    try:
        p = subprocess.run([SYMBOLIZER, "--obj=" + exe, "--inlines",
                            "--functions=none"], input=text.encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise common.Missing("cannot symbolize with %s: %s" % (SYMBOLIZER, e))
    blocks = p.stdout.decode("utf-8", "replace").strip("\n").split("\n\n")
    if p.returncode != 0 or len(blocks) != len(pcs):
        raise common.Missing("%s gave %d answers for %d PCs" % (
            SYMBOLIZER, len(blocks), len(pcs)))
    out = set()
    for i, block in enumerate(blocks):
        outer = block.strip().splitlines()[-1]
        path = os.path.normpath(outer.rsplit(":", 2)[0])
        if path in want:
            out.add(i)
    if not out:
        raise common.Missing("no coverage point of %s is in %s" % (
            os.path.relpath(exe, common.REPO), ", ".join(files)))
    return out


def reached(exe, inputs, timeout=120):
    """Indices of the PC table that libFuzzer's merge sees the files in
    the directory inputs cover (the first file also carries whatever the
    target runs once per process).  Raises Missing on a failed merge."""
    tmp = tempfile.mkdtemp(prefix="cr-sancov-")
    try:
        ctl = os.path.join(tmp, "control")
        out = os.path.join(tmp, "out")
        os.mkdir(out)
        res = common.run([exe, "-merge=1", "-merge_control_file=" + ctl,
                          "-artifact_prefix=" + tmp + os.sep, out, inputs],
                         timeout, stdout_path=os.devnull)
        if res.returncode != 0 or not os.path.exists(ctl):
            raise common.Missing("%s -merge=1 on %s failed (%s): %s" % (
                os.path.relpath(exe, common.REPO), inputs,
                "killed" if res.returncode is None
                else "exit %d" % res.returncode, res.tail()))
        got = set()
        with open(ctl) as f:
            for line in f:
                if line.startswith("COV "):
                    got.update(int(x) for x in line.split()[2:])
        return got
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def index_of(runtime_pc, runtime_table, table_addr, by_pc):
    """The table index of a run-time PC printed by -print_pcs=1 (libFuzzer
    may print the PC or the next byte), or None for a PC not in the
    table.  by_pc maps link-time PC -> index."""
    pc = runtime_pc - runtime_table + table_addr
    i = by_pc.get(pc)
    return by_pc.get(pc - 1) if i is None else i
