"""suites/sockets/expand.py - the scenario table (table.py) expanded into
cases: {case id: parameters}, in table order, built once."""

from oracle.suites.sockets.table import DEFAULTS, MATRIX

def _axis_text(name, value):
    if name == "call":
        return "call=%s" % value[0]
    if name == "flags":
        return "flags=%#x" % value
    return "%s=%s" % (name, value)


def _expand(fam):
    """[(case_id, params)] of one family, in matrix order."""
    out = []

    def rec(i, params, parts):
        if i == len(fam["axes"]):
            if fam.get("skip") and fam["skip"](params):
                return
            out.append(("%s/%s" % (fam["family"], ",".join(parts)),
                        dict(params)))
            return
        name, values = fam["axes"][i]
        if callable(values):
            values = values(params)
        for v in values:
            params[name] = v
            rec(i + 1, params, parts + [_axis_text(name, v)])
        del params[name]

    base = dict(DEFAULTS)
    base.update(fam.get("base", {}))
    base["family"] = fam["family"]
    rec(0, base, [])
    return out


_CASES = None


def cases():
    """{case_id: params}, built once, in matrix order (an ordered list is
    kept beside it)."""
    global _CASES
    if _CASES is None:
        order = []
        table = {}
        for fam in MATRIX:
            for cid, params in _expand(fam):
                if cid in table:
                    raise ValueError("duplicate case id %s" % cid)
                table[cid] = params
                order.append(cid)
        _CASES = (order, table)
    return _CASES


def iter_cases():
    """Yields (family, case_id) for every scenario (worker contract)."""
    order, table = cases()
    for cid in order:
        yield table[cid]["family"], cid
