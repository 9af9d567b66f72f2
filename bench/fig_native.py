"""fig_native.py - `make bench`'s native figures: the reference
receive call against raw recvmsg(2), and peak memory of the CLI and of the
receive path.

Why: cr_recvmsg() is meant to be usable as the real receive call, so its
overhead over the floor (raw recvmsg + a minimal CMSG loop, same traffic,
same closes) must stay small; and neither the CLI nor the receive path may
hold more memory than the request needs: the CLI reads the whole control
buffer (C bytes) once and streams its JSON, and CPython-style up-front
allocation of a 1 GiB bufsize must stay virtual (untouched pages are not
resident).

Measurements:
- recv_vs_raw: build/bench/recv_bench (bench/recv_bench.c) interleaves
  batches of both sides over many rounds; the median of the per-round
  ratios is the figure.
- cli_rss_over_input: peak RSS (os.wait4 rusage of the child) of
  `build/cmsgref parse` on a 64 MiB control buffer made at bench time in
  build/bench/ (never committed), divided by 64 MiB.  The rusage of a
  forked child also covers its pre-exec copy of this Python process, so
  the figure is only accepted when the child's peak is above this
  process's own peak.
- recv_rss: build/bench/recv_rss reports its own VmHWM after one
  cr_recvmsg() with bufsize 64 (baseline) and 2^30, on the same message.

Targets: recv_vs_raw <= 1.1; CLI peak <= input + RSS_SLACK_MIB; receive
path with 1 GiB asked <= baseline + RSS_SLACK_MIB.
"""

import json
import os
import resource
import struct

from bench import common

RSS_SLACK_MIB = 8        # the memory targets' "small constant"
CLI_INPUT_BYTES = 64 << 20
GIB = 1 << 30


def recv_vs_raw(timeout=60):
    """recv_vs_raw.  Returns a dict of bench.json keys; raises Missing."""
    exe = common.need_file(os.path.join(common.OUT, "recv_bench"),
                           "the receive benchmark",
                           "make bench builds it from bench/recv_bench.c")
    res = common.run([exe, "--rounds", "1000", "--batch", "32"], timeout)
    if res.returncode != 0:
        raise common.Missing("recv_bench failed (%s): %s" % (
            "killed at %ds" % timeout if res.returncode is None
            else "exit %d" % res.returncode, res.tail()))
    d = json.loads(res.stdout.decode("ascii"))
    return {"recv_vs_raw": round(d["ratio_median"], 4),
            "recv_ns_per_call": d["cr_ns_median"],
            "raw_recv_ns_per_call": d["raw_ns_median"],
            "recv_rounds": d["rounds"], "recv_batch": d["batch"]}


def make_cli_input(path):
    """Write the 64 MiB control buffer: repeated SCM_RIGHTS items of 3
    ints (cmsg_len 28, 4 bytes of padding), the heaviest common shape for
    the walk, the JSON and the close_on_error list."""
    unit = struct.pack("<QIIiii", 28, 1, 1, 3, 4, 5) + b"\xee" * 4
    chunk = unit * (1 << 15)            # 1 MiB
    with open(path, "wb") as f:
        for _ in range(CLI_INPUT_BYTES // len(chunk)):
            f.write(chunk)
    return path


def cli_rss(timeout=60):
    """cli_rss_over_input.  Returns a dict of bench.json keys; raises
    Missing."""
    cli = common.need_file(os.path.join(common.BUILD, "cmsgref"), "the CLI",
                           "make builds it")
    path = make_cli_input(os.path.join(common.OUT, "cli-64mib.bin"))
    try:
        code, rss, secs, err = common.peak_rss_kib([cli, "parse", path],
                                                   timeout)
    finally:
        os.unlink(path)
    if code != 0:
        raise common.Missing("cmsgref parse on 64 MiB failed (%s): %s" % (
            "killed at %ds" % timeout if code is None else "exit %d" % code,
            err))
    mine = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if rss <= mine:
        raise common.Missing("the CLI's peak RSS (%d KiB) is not above the "
                             "bench driver's own (%d KiB): rusage cannot "
                             "tell them apart" % (rss, mine))
    return {"cli_rss_over_input": round(rss * 1024.0 / CLI_INPUT_BYTES, 4),
            "cli_peak_rss_kib": rss, "cli_input_bytes": CLI_INPUT_BYTES,
            "cli_parse_seconds": round(secs, 2)}


def _recv_hwm(exe, bufsize, timeout):
    res = common.run([exe, str(bufsize), "0"], timeout)
    if res.returncode != 0:
        raise common.Missing("recv_rss %d failed (%s): %s" % (
            bufsize, "killed" if res.returncode is None
            else "exit %d" % res.returncode, res.tail()))
    hwm = json.loads(res.stdout.decode("ascii"))["vmhwm_kib"]
    if hwm < 0:
        raise common.Missing("recv_rss could not read VmHWM from /proc")
    return hwm


def recv_rss(timeout=30, rounds=3):
    """recv_rss_1gib_over_baseline_kib: median VmHWM of the 2^30 and the
    64-byte request, the two interleaved.  Returns a dict of bench.json keys; raises Missing."""
    exe = common.need_file(os.path.join(common.OUT, "recv_rss"),
                           "the receive-path RSS probe",
                           "make bench builds it from bench/recv_rss.c")
    base, big = [], []
    for _ in range(rounds):
        base.append(_recv_hwm(exe, 64, timeout))
        big.append(_recv_hwm(exe, GIB, timeout))
    b, g = common.median(base), common.median(big)
    return {"recv_rss_baseline_kib": b, "recv_rss_1gib_kib": g,
            "recv_rss_1gib_over_baseline_kib": g - b}
