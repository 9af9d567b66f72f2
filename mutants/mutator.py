"""mutator.py - single-point mutants of named C functions, numbered the same
way every time.

Why: detection power is measured by changing the code under test one
point at a time and asking whether the tests notice.  No mutation tool is
available, and the functions of interest are few, so the mutator is a
token-level one over ctok's tokens.

A function is named by a spec: 'name', or 'name[L1,L2]' to mutate only the
prologue before its first 'case' and the 'case L1:' / 'case L2:' blocks of
its switch (makesockaddr's families).

Operators (each yields a change confined to one source line):
  rel      < <= > >= == != : each to its off-by-one or negated neighbour
  logic    && <-> ||
  const    a decimal integer literal N -> N+1, and N-1 when N > 0
  size     sizeof(...) -> (sizeof(...) + 1) and (sizeof(...) - 1)
  negate   if (c) / while (c) -> (!(c))
  cond     if (c) -> if (0) and if (1): a check deleted, a branch forced
  delete   a one-line statement that is a call, an assignment (not a
           declaration) or a goto -> ';' (reference-count and free calls of CPython's C API are
           left: the leak they cause is outside what either side checks)
Nothing inside assert(...) is mutated (release builds drop it), nor a
loop or if whose condition is a bare literal.
  swap     two adjacent arguments of a call swapped

A mutant's id is stable across versions of the source: the function name
and a hash of its one-line diff (original and mutated line, stripped),
with '~N' for the Nth identical change in the same function.  Its number
is its rank in source order.
"""

import hashlib

from mutants import ctok

REL = {"<": ("<=", ">="), "<=": ("<", ">"), ">": (">=", "<="),
       ">=": (">", "<"), "==": ("!=",), "!=": ("==",)}
LOGIC = {"&&": "||", "||": "&&"}
NO_DELETE = frozenset((
    "Py_INCREF", "Py_DECREF", "Py_XINCREF", "Py_XDECREF", "Py_CLEAR",
    "Py_SETREF", "PyMem_Free", "PyMem_FREE", "PyBuffer_Release"))
STMT_START = frozenset((";", "{", "}", ":", "else"))


class Mutant(object):
    """One change: file, func, line (1-based), start/end (offsets of the
    replaced text), orig, repl, op; before/after: the whole line before
    and after; id and num once numbered."""

    def __init__(self, file, func, src, start, end, repl, op):
        self.file, self.func, self.op = file, func, op
        self.start, self.end, self.repl = start, end, repl
        self.orig = src[start:end]
        ls = src.rfind("\n", 0, start) + 1
        le = src.find("\n", end)
        le = len(src) if le < 0 else le
        self.line = src.count("\n", 0, start) + 1
        self.before = src[ls:le]
        self.after = src[ls:start] + repl + src[end:le]
        self.id = None
        self.num = None

    def apply(self, src):
        """src with this change made (src must be the text it came from)."""
        if src[self.start:self.end] != self.orig:
            raise ValueError("mutant %s does not match the source" % self.id)
        return src[:self.start] + self.repl + src[self.end:]

    def diff(self):
        """The one-line diff: '-' line and '+' line, stripped."""
        return "-%s\n+%s" % (self.before.strip(), self.after.strip())

    def as_dict(self):
        return {"id": self.id, "num": self.num, "file": self.file,
                "func": self.func, "line": self.line, "op": self.op,
                "before": self.before.strip(), "after": self.after.strip()}


def parse_spec(spec):
    """'name' -> ('name', None); 'name[A,B]' -> ('name', {'A', 'B'})."""
    if "[" in spec and spec.endswith("]"):
        name, labels = spec[:-1].split("[", 1)
        return name, set(x.strip() for x in labels.split(",") if x.strip())
    return spec, None


def _allowed(toks, fn, labels):
    """Indices of fn's body tokens open to mutation (all, or the prologue
    and the named case blocks)."""
    idx = range(fn.open + 1, fn.close)
    if labels is None:
        return list(idx)
    out, current = [], None
    for i in idx:
        t = toks[i]
        if t.text in ("case", "default") and i + 1 < fn.close:
            current = toks[i + 1].text if t.text == "case" else "default"
            continue
        if current is None or current in labels:
            out.append(i)
    return out


def _one_line(src, a, b):
    return "\n" not in src[a:b]


def _args(toks, o, c):
    """[(first, last)] token index ranges of the arguments between the
    parentheses at o and c."""
    out, level, first = [], 0, o + 1
    for k in range(o + 1, c):
        t = toks[k].text
        if t in "([{":
            level += 1
        elif t in ")]}":
            level -= 1
        elif t == "," and level == 0:
            out.append((first, k - 1))
            first = k + 1
    if first <= c - 1:
        out.append((first, c - 1))
    return out


def _int_value(text):
    digits = text.rstrip("uUlL")
    if digits.isdigit() and (digits == "0" or not digits.startswith("0")):
        return int(digits), text[len(digits):]
    return None


def _func_mutants(src, toks, fn, labels, file):
    allowed = _allowed(toks, fn, labels)
    ok = set(allowed)
    out = []

    def add(a, b, repl, op):
        if _one_line(src, a, b):
            out.append(Mutant(file, fn.name, src, a, b, repl, op))

    skip = set()
    for i in allowed:
        if toks[i].text == "assert" and toks[i + 1].text == "(":
            c = ctok.match_paren(toks, i + 1)
            skip.update(range(i, (c or i) + 2))
    for i in allowed:
        t = toks[i]
        if i in skip:
            continue
        if t.kind == "op" and t.text in REL:
            for r in REL[t.text]:
                add(t.start, t.end, r, "rel")
        elif t.kind == "op" and t.text in LOGIC:
            add(t.start, t.end, LOGIC[t.text], "logic")
        elif t.kind == "num":
            v = _int_value(t.text)
            if v is not None:
                n, suffix = v
                add(t.start, t.end, "%d%s" % (n + 1, suffix), "const")
                if n > 0:
                    add(t.start, t.end, "%d%s" % (n - 1, suffix), "const")
        elif t.text == "sizeof" and toks[i + 1].text == "(":
            c = ctok.match_paren(toks, i + 1)
            if c is not None and c < fn.close:
                text = src[t.start:toks[c].end]
                add(t.start, toks[c].end, "(%s + 1)" % text, "size")
                add(t.start, toks[c].end, "(%s - 1)" % text, "size")
        if t.text in ("if", "while") and toks[i + 1].text == "(":
            c = ctok.match_paren(toks, i + 1)
            if (c is not None and c < fn.close and c > i + 2 and
                    not (c == i + 3 and toks[i + 2].kind == "num")):
                a, b = toks[i + 2].start, toks[c - 1].end
                add(a, b, "!(%s)" % src[a:b], "negate")
                if t.text == "if":
                    add(a, b, "0", "cond")
                    add(a, b, "1", "cond")
        # deleted statements
        prev = toks[i - 1].text
        if prev in STMT_START or (prev == ")" and _closes_control(toks, i - 1)):
            end = _statement_end(toks, i, fn.close)
            if end is not None and _deletable(toks, i, end):
                add(t.start, toks[end].end, ";", "delete")
        # swapped arguments
        if (t.kind == "id" and toks[i + 1].text == "(" and
                t.text not in ("if", "while", "for", "switch", "sizeof",
                               "return")):
            c = ctok.match_paren(toks, i + 1)
            if c is not None and c < fn.close and i + 1 in ok:
                args = _args(toks, i + 1, c)
                for k in range(len(args) - 1):
                    (a1, b1), (a2, b2) = args[k], args[k + 1]
                    x = src[toks[a1].start:toks[b1].end]
                    y = src[toks[a2].start:toks[b2].end]
                    if x != y and not any(
                            toks[k].kind == "str" or toks[k].text == "struct"
                            for k in range(a1, b2 + 1)):
                        add(toks[a1].start, toks[b2].end,
                            "%s, %s" % (y, x), "swap")
    return out


def _closes_control(toks, j):
    """True when the ')' at toks[j] ends an if/while/for head."""
    k = ctok.match_back(toks, j)
    return bool(k) and toks[k - 1].text in ("if", "while", "for")


def _statement_end(toks, i, limit):
    """Index of the ';' ending the statement starting at i, or None when
    a brace comes first."""
    level = 0
    for k in range(i, limit):
        t = toks[k].text
        if t in "([":
            level += 1
        elif t in ")]":
            level -= 1
        elif t in "{}":
            return None
        elif t == ";" and level == 0:
            return k
    return None


def _deletable(toks, i, end):
    t = toks[i]
    if t.text == "goto":
        return True
    if t.kind != "id" or t.text in NO_DELETE or end <= i + 1:
        return False
    if t.text in ("return", "break", "continue", "case", "default", "else",
                  "if", "while", "for", "do", "switch"):
        return False
    nxt = toks[i + 1].text
    if toks[i + 1].kind == "id" or nxt == "*":
        return False            # a declaration
    if nxt == "(":
        return ctok.match_paren(toks, i + 1) == end - 1
    # an assignment: lvalue tokens (ids, ->, ., [..]) then '=' or op=
    k, level = i, 0
    while k < end:
        s = toks[k].text
        if s in "[(":
            level += 1
        elif s in "])":
            level -= 1
        elif level == 0 and s in ("=", "+=", "-=", "|=", "&="):
            return True
        elif level == 0 and not (toks[k].kind in ("id", "num") or
                                 s in ("->", ".", "*")):
            return False
        k += 1
    return False


def mutants(src, specs, file):
    """Every mutant of the functions named by specs (see parse_spec) in
    src, numbered from 1 in source order, with stable ids.  A spec naming
    no function raises ValueError."""
    toks = ctok.tokenize(src)
    funcs = ctok.functions(toks)
    by_name = {}
    for f in funcs:
        by_name.setdefault(f.name, f)
    found = []
    for spec in specs:
        name, labels = parse_spec(spec)
        if name not in by_name:
            raise ValueError("%s: no function %s" % (file, name))
        found += _func_mutants(src, toks, by_name[name], labels, file)
    order = {"rel": 0, "logic": 1, "const": 2, "size": 3, "negate": 4,
             "cond": 5, "delete": 6, "swap": 7}
    found.sort(key=lambda m: (m.start, order[m.op], m.end, m.repl))
    seen = {}
    for n, m in enumerate(found, 1):
        h = hashlib.sha1(("%s\0%s" % (m.before.strip(), m.after.strip()))
                         .encode("utf-8", "surrogateescape")).hexdigest()[:8]
        base = "%s:%s" % (m.func, h)
        seen[base] = seen.get(base, 0) + 1
        m.id = base if seen[base] == 1 else "%s~%d" % (base, seen[base])
        m.num = n
    return found


def functions_in(src):
    """Names of the functions defined in src, in order."""
    return [f.name for f in ctok.functions(ctok.tokenize(src))]


def select(ms, limit):
    """limit mutants spread evenly over ms (source order), or all of them
    when limit is 0 or not smaller than len(ms)."""
    if not limit or limit >= len(ms):
        return list(ms)
    return [ms[(k * len(ms)) // limit] for k in range(limit)]
