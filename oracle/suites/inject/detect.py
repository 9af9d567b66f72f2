"""suites/inject/detect.py - the libc model an interpreter was compiled
against, told by its behaviour (spec §3: the headers at build time decide,
not the running libc).

Run by the driver once per interpreter, with the shim preloaded
(oracle/sources/model.py):
    LD_PRELOAD=<shim> PY -m oracle.suites.inject.detect
prints the model's name ("glibc", "glibc-legacy" or "musl") on one line;
exit status 0, 1 if it cannot tell (one line on stderr).
"""

import socket
import sys
import warnings

from oracle.suites.inject.corpus import seed_bytes
from oracle.suites.inject.session import PAYLOAD, shim


def _visits_second_header(buf):
    """Inject buf into one real recvmsg of this interpreter; True if the
    walk reached the second header (two items, or - PyPy - the call raised
    because that header is truncated)."""
    a, b = socket.socketpair()
    try:
        a.sendall(PAYLOAD)
        b.settimeout(5.0)
        shim().cr_inject_arm(b.fileno(), buf, len(buf))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                return len(b.recvmsg(len(PAYLOAD), len(buf))[1]) == 2
            except OSError:
                return True
    finally:
        shim().cr_inject_disarm()
        a.close()
        b.close()


def detect_model():
    """The libc model this interpreter was compiled against, by behaviour
    (spec §3: the headers at build time decide, not the running libc):
    K14 (a second header ending exactly at C) is skipped only by musl's
    strict rule; K18 (a second header whose length overruns C) is skipped
    only by legacy glibc.  Returns "glibc", "glibc-legacy" or "musl"."""
    if not _visits_second_header(seed_bytes("seed-k14")):
        return "musl"
    if not _visits_second_header(seed_bytes("seed-k18")):
        return "glibc-legacy"
    return "glibc"


def main():
    try:
        name = detect_model()
    except Exception as e:
        sys.stderr.write("oracle.suites.inject.detect: %s: %s\n"
                         % (type(e).__name__, e))
        return 1
    sys.stdout.write(name + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
