"""ctok.py - a small C tokenizer and function-extent finder for the mutator.

Why: the mutator changes one token (or one token run) inside named
functions, so it needs the tokens with their exact offsets and the extent
of each function body; no C parser is available and none is needed.

What it handles: // and /* */ comments, string and character literals
(with escapes, and prefixes such as L"" or u8""), numbers (including
suffixes, hex and floats), identifiers and the multi-character operators
of C.  Preprocessor lines (and their backslash continuations) are skipped:
their tokens are never returned.  Brace depth follows the first branch of
each #if: at #elif/#else the depth goes back to what it was at the #if, so
a brace opened in both branches counts once.

Limits: no macro expansion; a function is a '{' at depth 0 right after a
')' (the parameter list), named by the identifier before the matching '('.
"""

import re

OPS3 = ("<<=", ">>=", "...")
OPS2 = ("->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||",
        "+=", "-=", "*=", "/=", "%=", "&=", "^=", "|=", "##")

_ID = re.compile(r"[A-Za-z_][A-Za-z_0-9]*")
_NUM = re.compile(r"\.?[0-9](?:[eEpP][+-]|[A-Za-z_0-9.])*")
_STR_PREFIX = re.compile(r"(?:u8|u|U|L)?(?=[\"'])")


class Token(object):
    """kind: 'id', 'num', 'str', 'chr' or 'op'; text; start/end: offsets in
    the source; line: 1-based line of start; depth: brace depth before the
    token (a '}' carries the depth inside it)."""

    __slots__ = ("kind", "text", "start", "end", "line", "depth")

    def __init__(self, kind, text, start, end, line):
        self.kind, self.text, self.start, self.end = kind, text, start, end
        self.line = line
        self.depth = 0

    def __repr__(self):
        return "Token(%s %r @%d)" % (self.kind, self.text, self.line)


class Function(object):
    """name; body: (index of '{', index of the matching '}') in tokens."""

    __slots__ = ("name", "open", "close")

    def __init__(self, name, open_, close):
        self.name, self.open, self.close = name, open_, close


def _directive(src, i):
    """(end offset of the preprocessor line starting at i, its keyword)."""
    n = len(src)
    j = i
    while j < n:
        if src[j] == "\\" and src.startswith("\n", j + 1):
            j += 2
            continue
        if src.startswith("/*", j):
            k = src.find("*/", j + 2)
            j = n if k < 0 else k + 2
            continue
        if src[j] == "\n":
            break
        j += 1
    m = re.match(r"#\s*([a-z]*)", src[i:j])
    return j, m.group(1) if m else ""


def tokenize(src):
    """Every token of src outside comments and preprocessor lines, with
    brace depth set (see the module docstring)."""
    toks = []
    n = len(src)
    i = 0
    line = 1
    at_line_start = True
    depth = 0
    pp_stack = []
    while i < n:
        c = src[i]
        if c == "\n":
            line += 1
            i += 1
            at_line_start = True
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "\\" and src.startswith("\n", i + 1):
            i += 2
            line += 1
            continue
        if src.startswith("/*", i):
            k = src.find("*/", i + 2)
            k = n if k < 0 else k + 2
            line += src.count("\n", i, k)
            i = k
            continue
        if src.startswith("//", i):
            k = src.find("\n", i)
            i = n if k < 0 else k
            continue
        if c == "#" and at_line_start:
            j, kw = _directive(src, i)
            if kw in ("if", "ifdef", "ifndef"):
                pp_stack.append(depth)
            elif kw in ("elif", "else") and pp_stack:
                depth = pp_stack[-1]
            elif kw == "endif" and pp_stack:
                pp_stack.pop()
            line += src.count("\n", i, j)
            i = j
            continue
        at_line_start = False
        m = _STR_PREFIX.match(src, i)
        if m and m.end() < n and (m.end() > i or c in "\"'"):
            q = src[m.end()]
            j = m.end() + 1
            while j < n and src[j] != q and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            j = min(j + 1, n)
            tok = Token("str" if q == '"' else "chr", src[i:j], i, j, line)
        elif _ID.match(src, i):
            j = _ID.match(src, i).end()
            tok = Token("id", src[i:j], i, j, line)
        elif (c.isdigit() or (c == "." and i + 1 < n and src[i + 1].isdigit())):
            j = _NUM.match(src, i).end()
            tok = Token("num", src[i:j], i, j, line)
        else:
            for op in OPS3 + OPS2:
                if src.startswith(op, i):
                    break
            else:
                op = c
            j = i + len(op)
            tok = Token("op", op, i, j, line)
        if tok.text == "}":
            depth -= 1
        tok.depth = depth
        if tok.text == "{":
            depth += 1
        toks.append(tok)
        i = j
    return toks


def match_paren(toks, i):
    """Index of the token closing the bracket at toks[i] ('(' '[' '{'),
    or None."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    open_, close = toks[i].text, pairs[toks[i].text]
    level = 0
    for j in range(i, len(toks)):
        t = toks[j].text
        if t == open_:
            level += 1
        elif t == close:
            level -= 1
            if level == 0:
                return j
    return None


def match_back(toks, j):
    """Index of the '(' matching the ')' at toks[j], or None."""
    level = 0
    for k in range(j, -1, -1):
        t = toks[k].text
        if t == ")":
            level += 1
        elif t == "(":
            level -= 1
            if level == 0:
                return k
    return None


def functions(toks):
    """The function definitions in toks, in source order."""
    out = []
    i = 0
    while i < len(toks):
        t = toks[i]
        if t.text == "{" and t.depth == 0 and i > 0 and toks[i - 1].text == ")":
            o = match_back(toks, i - 1)
            close = None
            for j in range(i + 1, len(toks)):
                if toks[j].text == "}" and toks[j].depth == 0:
                    close = j
                    break
            if o is not None and o > 0 and toks[o - 1].kind == "id" and close:
                out.append(Function(toks[o - 1].text, i, close))
                i = close + 1
                continue
        i += 1
    return out
