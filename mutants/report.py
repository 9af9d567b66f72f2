"""report.py - the mutation report: build/mutants/report.json, report.html
and the terminal table.

Per side (cpython, reference) and per judge of that side, the mutation
score is killed / (judged - equivalent): a judged mutant is one that
compiled to different machine code and ran; an equivalent one is a
survivor argued in mutants/equivalent.json (its id and the argument),
which the report applies and shows.  A survivor listed in
mutants/unreachable.json (same shape) is one no judge can reach, with the
argument why (typically: only an allocation failure inside CPython's own
allocator gets there); it is not equivalent, so it stays in the scores as
a survivor, and the report marks it and shows the argument apart from the
equivalent ones.  Mutants that survive every judge come first, then those
a single judge missed, then the killed, then the dropped (uncompilable,
unchanged).
"""

import html
import json
import os

MUTANTS_DIR = os.path.dirname(os.path.abspath(__file__))
EQUIVALENT = os.path.join(MUTANTS_DIR, "equivalent.json")
UNREACHABLE = os.path.join(MUTANTS_DIR, "unreachable.json")


class ReportError(Exception):
    """A bad equivalent.json or unreachable.json; str() is one line."""


def load_unreachable(path=UNREACHABLE):
    """{mutant id: argument} of unreachable.json (as load_equivalent)."""
    return load_equivalent(path)


def load_equivalent(path=EQUIVALENT):
    """{mutant id: argument} from a JSON list of {"id", "argument"}."""
    try:
        with open(path) as f:
            items = json.load(f)
    except OSError as e:
        raise ReportError("%s: %s" % (path, e.strerror))
    except ValueError as e:
        raise ReportError("%s: not JSON: %s" % (path, e))
    out = {}
    for it in items if isinstance(items, list) else [None]:
        if not (isinstance(it, dict) and isinstance(it.get("id"), str) and
                isinstance(it.get("argument"), str) and it["argument"].strip()):
            raise ReportError("%s: each entry needs an id and a non-empty "
                              "argument" % path)
        out[it["id"]] = it["argument"]
    return out


def _rank(m):
    v = m.get("verdicts") or {}
    if m.get("status") != "judged":
        return 4
    if m.get("equivalent"):
        return 3
    killed = sum(1 for x in v.values() if x["killed"])
    if killed == 0:
        return 0
    return 1 if killed < len(v) else 2


def summarize(data, equivalent, unreachable=None):
    """Adds to each side its scores and orders its mutants (in place).
    equivalent, unreachable: {mutant id: argument}."""
    for sec in data["sides"].values():
        ms = sec.get("mutants", [])
        for m in ms:
            judged = m.get("status") == "judged"
            m["equivalent"] = equivalent.get(m["id"]) if judged else None
            m["unreachable"] = (unreachable or {}).get(m["id"]) \
                if judged and not m["equivalent"] else None
            killed = judged and any(x["killed"] for x in
                                    m["verdicts"].values())
            if m["equivalent"] and killed:
                m["equivalent_contradicted"] = True
            if m["unreachable"] and killed:
                m["unreachable_contradicted"] = True
        judged = [m for m in ms if m.get("status") == "judged"]
        counted = [m for m in judged if not m["equivalent"]]
        sec["counts"] = {
            "judged": len(judged), "equivalent": len(judged) - len(counted),
            "unreachable": sum(1 for m in counted if m["unreachable"]),
            "uncompilable": sum(m.get("status") == "uncompilable" for m in ms),
            "unchanged": sum(m.get("status") == "unchanged" for m in ms)}
        scores = {}
        for side in sec.get("sides", []):
            k = sum(1 for m in counted if m["verdicts"][side]["killed"])
            scores[side] = {"killed": k, "of": len(counted),
                            "score": round(k / len(counted), 3)
                            if counted else None}
        k = sum(1 for m in counted if any(x["killed"] for x in
                                          m["verdicts"].values()))
        scores["any"] = {"killed": k, "of": len(counted), "score": round(
            k / len(counted), 3) if counted else None}
        sec["scores"] = scores
        ms.sort(key=lambda m: (_rank(m), m["num"]))
    return data


def write(data, equivalent, out_dir, unreachable=None):
    """Writes report.json and report.html into out_dir."""
    summarize(data, equivalent, unreachable)
    os.makedirs(out_dir, exist_ok=True)
    tmp = os.path.join(out_dir, "report.json.tmp")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=1, sort_keys=True)
    os.rename(tmp, os.path.join(out_dir, "report.json"))
    with open(os.path.join(out_dir, "report.html"), "w") as f:
        f.write(to_html(data))


def _cell(m, side):
    v = (m.get("verdicts") or {}).get(side)
    if not v:
        return "-"
    return "KILLED" if v["killed"] else "survived"


def terminal(data, width=200):
    """The table and the scores as text lines."""
    lines = []
    for name, sec in data["sides"].items():
        s = sec.get("sides", [])
        lines.append("== %s: %s" % (name, sec.get("title", "")))
        lines.append("%-5s %-34s %-6s %-7s %s  diff" % (
            "num", "id", "line", "op", "  ".join("%-9s" % x[:9] for x in s)))
        for m in sec.get("mutants", []):
            if m.get("status") != "judged":
                continue
            diff = "%s  =>  %s" % (m["before"], m["after"])
            mark = " [equivalent]" if m.get("equivalent") else \
                " [not reachable by the judges]" if m.get("unreachable") \
                else ""
            row = "%-5d %-34s L%-5d %-7s %s  %s%s" % (
                m["num"], m["id"][:34], m["line"], m["op"],
                "  ".join("%-9s" % _cell(m, x) for x in s), diff, mark)
            lines.append(row[:width])
        c = sec.get("counts", {})
        lines.append("%s: %d judged (%d equivalent; %d surviving as not "
                     "reachable, counted), dropped: %d uncompilable, "
                     "%d unchanged object code; of %s selected from %s" % (
                         name, c.get("judged", 0), c.get("equivalent", 0),
                         c.get("unreachable", 0),
                         c.get("uncompilable", 0), c.get("unchanged", 0),
                         sec.get("selected"), sec.get("generated")))
        lines.append("%s scores: %s" % (name, "   ".join(
            "%s %d/%d = %s" % (k, v["killed"], v["of"],
                               "-" if v["score"] is None else
                               "%.0f%%" % (100 * v["score"]))
            for k, v in sec.get("scores", {}).items())))
        if "judge_seconds" in sec:
            lines.append("%s: judging took %.0f s%s" % (
                name, sec["judge_seconds"],
                "; the whole side %.0f s (build, baselines and judging)"
                % sec["total_seconds"] if "total_seconds" in sec else ""))
    return lines


def to_html(data):
    e = html.escape
    out = ["<!doctype html><meta charset=utf-8><title>cmsgref mutants</title>",
           "<style>body{font-family:sans-serif}td,th{border:1px solid #ccc;"
           "padding:2px 6px;font-size:13px}code{white-space:pre}"
           ".s{background:#fdd}.k{background:#dfd}</style>",
           "<h1>cmsgref mutation report</h1>",
           "<p>started %s</p>" % e(data.get("started", ""))]
    for name, sec in data["sides"].items():
        s = sec.get("sides", [])
        out.append("<h2>%s: %s</h2>" % (e(name), e(sec.get("title", ""))))
        out.append("<p>scores: %s</p>" % e("; ".join(
            "%s %d/%d" % (k, v["killed"], v["of"])
            for k, v in sec.get("scores", {}).items())))
        out.append("<p>counts: %s; judging %s s</p>" % (
            e(json.dumps(sec.get("counts", {}))), sec.get("judge_seconds")))
        out.append("<table><tr><th>num<th>id<th>function<th>line<th>op<th>"
                   "status%s<th>diff<th>why / equivalence</tr>" % "".join(
                       "<th>%s" % e(x) for x in s))
        for m in sec.get("mutants", []):
            why = m.get("equivalent") or (
                "not reachable by the judges: " + m["unreachable"]
                if m.get("unreachable") else "") or "; ".join(
                "%s: %s" % (k, v["why"]) for k, v in
                (m.get("verdicts") or {}).items() if v["why"]) or m.get(
                    "detail", "")
            out.append("<tr><td>%d<td>%s<td>%s<td>%d<td>%s<td>%s%s<td><code>"
                       "- %s\n+ %s</code><td>%s</tr>" % (
                           m["num"], e(m["id"]), e(m["func"]), m["line"],
                           e(m["op"]), e(m.get("status", "")), "".join(
                               "<td class=%s>%s" % (
                                   "k" if _cell(m, x) == "KILLED" else "s",
                                   _cell(m, x)) for x in s),
                           e(m["before"]), e(m["after"]), e(why)))
        out.append("</table>")
    return "\n".join(out) + "\n"
