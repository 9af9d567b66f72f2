"""oracle.sources - where the interpreters under test come from.

SOURCES names one module of this package per source; each module's SOURCE
(a base.Source) offers entries (base.py documents an entry).  discover()
asks every source (an explicit list goes to the
sources that claim its items: claimed()), folds entries of one source with one identity into one
(saying so in the entry's "merged", never dropping one silently), labels
them uniquely and sorts them.  Adding a source: a module here with a
SOURCE object, and its name in SOURCES.

Usage: python3 -m oracle.sources [--json | --help]
"""

import importlib
import json
import os
import re
import sys

from oracle.sources import base

SOURCES = ("host", "debian", "musl")


def split_list(text):
    """PYTHONS / --pythons as a list: items separated by ':', ',' or
    whitespace; an item "NAME:..." whose NAME is a source in SOURCES stays
    whole (that source's selector); a value that names an existing file as
    a whole is that one interpreter, so a path holding a separator can be
    given alone."""
    if os.path.isfile(text):
        return [text]
    out = []
    for word in re.split(r"[,\s]+", text):
        if word.split(":", 1)[0] in SOURCES:
            out.append(word)
        else:
            out.extend(p for p in word.split(":") if p)
    return [w for w in out if w]


def claimed(requested, source):
    """The items of requested (a list, or None) that source takes: those
    prefixed "NAME:" with its name; a source with claims_rest takes every
    item no source's prefix claims."""
    if requested is None:
        return None
    if source.claims_rest:
        return [r for r in requested if r.split(":", 1)[0] not in SOURCES]
    return [r for r in requested if r.startswith(source.name + ":")]


def source_modules():
    """The source modules, in SOURCES order."""
    return [importlib.import_module("oracle.sources." + name)
            for name in SOURCES]


def discover(pythons=None):
    """The interpreters to run, each probed once.

    pythons: an explicit list (or PYTHONS-style string); None means PYTHONS
    from the environment if set, else every source's discovery.  Returns
    entries, ok ones first in implementation and version order; two
    entries of one source with one identity become one, the second's
    executable (and its own merged names) appended to the first's
    "merged"; labels that would repeat get "@executable" appended."""
    if pythons is None:
        pythons = os.environ.get("PYTHONS") or None
    if isinstance(pythons, str):
        pythons = split_list(pythons)
    entries, seen = [], {}
    for mod in source_modules():
        for e in mod.SOURCE.entries(claimed(pythons, mod.SOURCE)):
            key = (e["source"], e.get("identity") or e["executable"])
            first = seen.get(key)
            if first is None:
                seen[key] = e
                entries.append(e)
                continue
            for name in [e["executable"]] + e["merged"]:
                if name != first["executable"] and name not in \
                        first["merged"]:
                    first["merged"].append(name)
    counts = {}
    for e in entries:
        e["label"] = base.label(e)
        counts[e["label"]] = counts.get(e["label"], 0) + 1
    for e in entries:
        if counts[e["label"]] > 1:
            e["label"] += "@" + e["executable"]

    def order(e):
        ver = tuple(int(x) for x in re.findall(r"\d+", e.get("version", "")))
        return (e["status"] != "ok", e.get("impl", "~"), ver, e["label"])
    entries.sort(key=order)
    return entries


def merged_lines(entries):
    """One line per entry that absorbed other names: "X is also Y, Z"."""
    return ["%s (%s) is also %s" % (e["label"], e["executable"],
                                    ", ".join(e["merged"]))
            for e in entries if e.get("merged")]


USAGE = """usage: python3 -m oracle.sources [--json]
Lists the interpreters `make conformance` would run (PYTHONS, else every
source's discovery), one a line: status, label, source/origin, libc,
executable, reason, and the names folded into each; --json prints the
entries instead.  Exit status 0, 2 on bad arguments.
"""


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0
    if argv not in ([], ["--json"]):
        sys.stderr.write("oracle.sources: bad arguments %s (usage: python3 "
                         "-m oracle.sources [--json])\n" % " ".join(argv))
        return 2
    entries = discover()
    try:
        if argv == ["--json"]:
            print(json.dumps(entries, indent=1))
        else:
            for e in entries:
                print("%-12s %-26s %-14s %-12s %s %s" % (
                    e["status"], e["label"], "%s/%s" % (e["source"],
                                                       e["origin"]),
                    ("%s %s" % (e["libc"], e["libc_version"])).strip(),
                    e["executable"], e["reason"]))
            for line in merged_lines(entries):
                print("merged       " + line)
        sys.stdout.flush()
    except BrokenPipeError:
        from oracle import worker
        return worker.stdout_gone()
    return 0
