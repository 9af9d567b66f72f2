"""report.py - the conformance matrix: terminal, report.json, report.html.

Why: `make conformance` must tell a person, at a glance, where an
interpreter departs from CPython's semantics and how to reproduce it.  Rows are scenario families (suite/family), columns are
interpreters, a cell counts the outcomes of its cases.  The JSON keeps every
non-PASS case with its diff, expectation reason and reproducer; the HTML
links each cell that is not all-PASS to those cases.

Limits: PASS cases are counted, not listed (20k+ records would make the
files unreadable), except those with a predicted leak, which is a defect of
CPython under that libc (predicted_leaks); at most CELL_CASES cases are listed per cell in the HTML
(the JSON has them all).  Stdlib only; nothing here decides outcomes
(oracle.judge.expect does).
"""

import html
import json
import os
import time

OUTCOMES = ("CRASH", "FAIL", "ERROR", "XPASS", "XFAIL", "PASS")
BAD = ("CRASH", "FAIL", "ERROR", "XPASS")
ABBREV = {"CRASH": "C", "FAIL": "F", "ERROR": "E", "XPASS": "XP",
          "XFAIL": "XF", "PASS": "ok"}
CELL_CASES = 200
from oracle import REPO
from oracle.judge.expect import predicted_leak


def short(label):
    """Column header: "cpython-3.11.7" -> "3.11.7", "pypy-3.9.16" ->
    "pypy3.9.16"."""
    if label.startswith("cpython-"):
        return label[len("cpython-"):]
    return label.replace("pypy-", "pypy", 1)


def control_hex(rec):
    """The control bytes of an inject record, as hex: the record names
    its corpus file ("control_file", relative to the repo) rather than
    carrying the bytes, so only listed cases pay for reading it; an
    address case carries its few bytes ("control_hex").  None for other
    records or a file that is gone."""
    if "control_hex" in rec:
        return rec["control_hex"]
    rel = rec.get("control_file")
    if not rel:
        return None
    try:
        with open(os.path.join(REPO, rel), "rb") as f:
            return f.read().hex()
    except OSError:
        return None


def interp_line(e):
    """One interpreter as the report shows it: label, source and origin,
    libc and version, the reference's model and how it was chosen."""
    libc = ("%s %s" % (e.get("libc", "unknown"),
                       e.get("libc_version", ""))).strip()
    return "%-20s %s/%s %s, libc %s, model %s (%s)" % (
        e["label"], e.get("source", "?"), e.get("origin", "?"),
        e.get("executable", ""), libc, e.get("model") or "none",
        e.get("model_how") or "not chosen")


def interp_lines(entries):
    """interp_line() of every ok entry."""
    return [interp_line(e) for e in entries if e.get("status") == "ok"]


def build(rows, entries, suites, elapsed, explicit):
    """The report dict from classified rows (oracle.conformance) and the
    discovery entries.  "failed" is True when the run must exit non-zero:
    any FAIL/ERROR/XPASS, or an interpreter named in PYTHONS that did not
    run."""
    cols = [e["label"] for e in entries if e["status"] == "ok"]
    matrix = {}
    totals = dict((o, 0) for o in OUTCOMES)
    per_interp = dict((c, dict((o, 0) for o in OUTCOMES)) for c in cols)
    cases = []
    leaks = []      # predicted leaks that happened: CPython defects
    for r in rows:
        key = "%s/%s" % (r["suite"], r["family"])
        cell = matrix.setdefault(key, {}).setdefault(
            r["interp"], dict((o, 0) for o in OUTCOMES))
        cell[r["outcome"]] += 1
        totals[r["outcome"]] += 1
        per_interp.setdefault(r["interp"], dict((o, 0) for o in OUTCOMES))
        per_interp[r["interp"]][r["outcome"]] += 1
        if r["outcome"] != "PASS":
            rec = r["record"]
            cases.append({"interp": r["interp"], "row": key, "id": r["id"],
                          "outcome": r["outcome"], "reason": r["reason"],
                          "may_pass": r.get("may_pass", False),
                          "details": r["details"],
                          "repro": rec.get("repro", ""),
                          "control_hex": control_hex(rec),
                          "native": rec.get("native"),
                          "reference": rec.get("reference"),
                          "leaked_fds": rec.get("leaked_fds"),
                          "python": rec.get("python"),
                          "base": rec.get("base")})
        pred = predicted_leak(r["record"], r["outcome"])
        if pred:
            leaks.append({"interp": r["interp"], "row": key, "id": r["id"],
                          "fds": pred["fds"], "cause": pred["cause"],
                          "repro": pred.get("repro"),
                          "case_repro": r["record"].get("repro", "")})
    bug = {}
    for r in rows:
        for cls in r["record"].get("bug_class") or ():
            b = bug.setdefault(cls, {"cases": 0, "families": []})
            b["cases"] += 1
            key = "%s/%s" % (r["suite"], r["family"])
            if key not in b["families"]:
                b["families"].append(key)
    not_run = [e for e in entries if e["status"] != "ok"]
    missing_requested = explicit and any(
        e["status"] in ("missing", "broken") for e in not_run)
    failed = any(totals[o] for o in BAD) or missing_requested \
        or not rows
    return {"generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "elapsed_s": round(elapsed, 1), "suites": list(suites),
            "interpreters": entries, "columns": cols,
            "not_run": not_run, "totals": totals,
            "per_interp": per_interp, "matrix": matrix,
            "cases": cases, "bug_classes": bug, "predicted_leaks": leaks, "failed": failed}


def leak_summary(rep):
    """One line per interpreter and reproducer of the predicted leaks that
    happened (conformance: the interpreter leaks what CPython leaks under
    its libc, a defect of CPython there): how many cases, in which rows,
    the first case's cause and the reproducer."""
    groups = {}
    for c in rep.get("predicted_leaks", []):
        groups.setdefault((c["interp"], c["repro"] or ""), []).append(c)
    out = []
    for (interp, script), cs in sorted(groups.items()):
        rows = {}
        for c in cs:
            rows[c["row"]] = rows.get(c["row"], 0) + 1
        out.append("predicted leak, %s: %d case(s) (%s), a CPython defect "
                   "under its libc: %s, e.g. %s%s" % (
                       short(interp), len(cs), ", ".join(
                           "%s %d" % kv for kv in sorted(rows.items())),
                       cs[0]["cause"], cs[0]["id"],
                       "; reproducer: " + script if script else ""))
    return out


def cell_text(cell):
    """"F2 XF10 ok20" style counts; "-" for an empty cell."""
    if not cell:
        return "-"
    parts = ["%s%d" % (ABBREV[o], cell[o]) if o != "PASS" else
             "ok%d" % cell[o] for o in OUTCOMES if cell.get(o)]
    return " ".join(parts) or "-"


def terminal(rep):
    """The matrix as text, with totals and the not-run interpreters."""
    cols = rep["columns"]
    rows = sorted(rep["matrix"])
    w0 = max([len("family")] + [len(r) for r in rows])
    widths = [max(len(short(c)), max([len(cell_text(rep["matrix"][r]
                                                     .get(c)))
                                      for r in rows] or [1]))
              for c in cols]
    lines = ["interpreters:"] + ["  " + l for l in
                                 interp_lines(rep["interpreters"])] + [""]
    lines += ["%-*s  %s" % (w0, "family", "  ".join(
        "%-*s" % (w, short(c)) for c, w in zip(cols, widths)))]
    for r in rows:
        lines.append("%-*s  %s" % (w0, r, "  ".join(
            "%-*s" % (w, cell_text(rep["matrix"][r].get(c)))
            for c, w in zip(cols, widths))))
    t = rep["totals"]
    lines.append("")
    lines.append("totals: " + ", ".join("%s %d" % (o, t[o])
                                        for o in OUTCOMES)
                 + " in %.1fs" % rep["elapsed_s"])
    if rep.get("bug_classes"):
        lines.append("bug classes reached (cases, all interpreters): " +
                     ", ".join("%s %d" % (k, v["cases"]) for k, v in
                               sorted(rep["bug_classes"].items())))
    for e in rep["not_run"]:
        lines.append("not run: %s (%s: %s)" % (e["executable"], e["status"],
                                               e["reason"]))
    bad = [c for c in rep["cases"] if c["outcome"] in BAD]
    for c in bad[:15]:
        lines.append("%-5s %s %s %s: %s" % (c["outcome"], short(c["interp"]),
                                            c["row"], c["id"],
                                            (c["details"] or [""])[0][:160]))
    if len(bad) > 15:
        lines.append("... %d more in report.json / report.html"
                     % (len(bad) - 15))
    lines.extend(leak_summary(rep))
    lines.append("RESULT: %s" % ("FAIL" if rep["failed"] else "PASS"))
    return "\n".join(lines)


def write(rep, rows, out_dir):
    """Write report.json and report.html into out_dir; returns both paths.
    Each file is written beside its name and renamed over it, so a reader
    (or a run killed meanwhile) sees the old whole file or the new whole
    file, never a part.  Raises OSError (nothing half written is left)."""
    if not os.path.isdir(out_dir):
        os.makedirs(out_dir)
    jpath = os.path.join(out_dir, "report.json")
    hpath = os.path.join(out_dir, "report.html")
    _replace(jpath, json.dumps(rep, indent=1, sort_keys=True,
                               default=repr) + "\n")
    _replace(hpath, to_html(rep))
    return jpath, hpath


def _replace(path, text):
    """Atomically replace path's content with text (UTF-8)."""
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


_CSS = """body{font:14px sans-serif;margin:1.5em}table{border-collapse:collapse}
td,th{border:1px solid #bbb;padding:3px 7px;text-align:left;font-size:13px}
.PASS{background:#e6f5e6}.XFAIL{background:#fff6d5}.CRASH,.FAIL,.ERROR,.XPASS
{background:#f8d0d0}pre{background:#f4f4f4;padding:6px;white-space:pre-wrap}
h3{margin-top:1.6em}"""


def _worst(cell):
    for o in OUTCOMES:
        if cell.get(o):
            return o
    return "PASS"


def to_html(rep):
    """A self-contained page: summary, the matrix, then the listed cases."""
    e = html.escape
    cols = rep["columns"]
    rows = sorted(rep["matrix"])
    out = ["<!doctype html><html><head><meta charset='utf-8'>",
           "<title>cmsgref conformance</title><style>%s</style></head><body>"
           % _CSS,
           "<h1>cmsgref conformance: %s</h1>" % ("FAIL" if rep["failed"]
                                                 else "PASS"),
           "<p>Generated %s in %.1fs; suites: %s. Each interpreter's own "
           "<code>socket.recvmsg</code> compared with the reference "
           "(libcmsgref). Totals: %s.</p>" % (
               e(rep["generated"]), rep["elapsed_s"],
               e(", ".join(rep["suites"])),
               e(", ".join("%s %d" % (o, rep["totals"][o])
                           for o in OUTCOMES)))]
    if rep["not_run"]:
        out.append("<p><b>Not run:</b></p><ul>")
        for n in rep["not_run"]:
            out.append("<li>%s: %s (%s)</li>" % (e(n["executable"]),
                                                 e(n["status"]),
                                                 e(n["reason"])))
        out.append("</ul>")
    out.append("<table><tr><th>interpreter</th><th>source / origin</th>"
               "<th>executable</th><th>libc</th><th>model</th>"
               "<th>model chosen</th></tr>")
    for n in rep["interpreters"]:
        if n.get("status") == "ok":
            out.append("<tr>%s</tr>" % "".join("<td>%s</td>" % e(str(v))
                                               for v in (
                n["label"], "%s / %s" % (n.get("source", "?"),
                                         n.get("origin", "?")),
                n.get("executable", ""), ("%s %s" % (
                    n.get("libc", "unknown"),
                    n.get("libc_version", ""))).strip(),
                n.get("model") or "none", n.get("model_how") or "")))
    out.append("</table><p></p>")
    out.append("<table><tr><th>family</th>%s</tr>" % "".join(
        "<th>%s</th>" % e(short(c)) for c in cols))
    by_cell = {}
    for c in rep["cases"]:
        by_cell.setdefault((c["row"], c["interp"]), []).append(c)
    anchors = {}
    for i, r in enumerate(rows):
        tds = []
        for j, c in enumerate(cols):
            cell = rep["matrix"][r].get(c, {})
            text = e(cell_text(cell))
            if (r, c) in by_cell:
                anchors[(r, c)] = "c%d_%d" % (i, j)
                text = "<a href='#%s'>%s</a>" % (anchors[(r, c)], text)
            tds.append("<td class='%s'>%s</td>" % (_worst(cell), text))
        out.append("<tr><td>%s</td>%s</tr>" % (e(r), "".join(tds)))
    out.append("</table>")
    order = dict((o, i) for i, o in enumerate(OUTCOMES))
    for key in sorted(anchors, key=lambda k: (k[0], k[1])):
        cases = sorted(by_cell[key], key=lambda c: (order[c["outcome"]],
                                                    c["id"]))
        out.append("<h3 id='%s'>%s &mdash; %s (%d listed)</h3>" % (
            anchors[key], e(key[0]), e(key[1]), len(cases)))
        for c in cases[:CELL_CASES]:
            out.append("<div class='%s'><b>%s</b> <code>%s</code>%s</div>"
                       % (c["outcome"], c["outcome"], e(c["id"]),
                          " &mdash; expected: " + e(c["reason"])
                          if c["reason"] else ""))
            out.append("<pre>%s</pre>" % e("\n".join(c["details"][:40])))
            out.append("<p>Reproduce: <code>%s</code>%s</p>" % (
                e(c["repro"] or ""),
                "<br>control bytes: <code>%s</code>" % e(c["control_hex"])
                if c.get("control_hex") else ""))
            out.append("<details><summary>native / reference</summary>"
                       "<pre>native    %s\nreference %s</pre></details>" % (
                           e(json.dumps(c["native"], sort_keys=True,
                                        default=repr)),
                           e(json.dumps(c["reference"], sort_keys=True,
                                        default=repr))))
        if len(cases) > CELL_CASES:
            out.append("<p>... %d more in report.json</p>"
                       % (len(cases) - CELL_CASES))
    if rep.get("predicted_leaks"):
        out.append("<h3>Predicted leaks (CPython defects under the "
                   "interpreter's libc; the cases PASS)</h3><ul>")
        out.extend("<li>%s</li>" % e(l) for l in leak_summary(rep))
        out.append("</ul><table><tr><th>interpreter</th><th>case</th>"
                   "<th>leaked</th><th>reproduce</th></tr>")
        for c in rep["predicted_leaks"][:CELL_CASES]:
            out.append("<tr><td>%s</td><td>%s</td><td>%s</td><td><code>%s"
                       "</code></td></tr>" % (
                           e(c["interp"]), e(c["row"] + " " + c["id"]),
                           e(", ".join(c["fds"])), e(c["case_repro"])))
        out.append("</table>")
    out.append("</body></html>\n")
    return "\n".join(out)
