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
    base["bug_class"] = list(fam.get("bug_class", []))
    rec(0, base, [])
    return out


_CASES = None


class _Table(dict):
    """{case_id: params}; a generated case's id that is not listed (its
    seed is not this run's) is rebuilt from the id itself
    (oracle.suites.generator.lookup), so its reproducer runs anywhere."""

    def __missing__(self, cid):
        from oracle.suites import generator
        p = generator.lookup(cid)
        if p is None:
            raise KeyError(cid)
        return p

    def __contains__(self, cid):
        if dict.__contains__(self, cid):
            return True
        from oracle.suites import generator
        return generator.lookup(cid) is not None


def cases():
    """{case_id: params}, built once: the matrix's cases in matrix order,
    then the generated ones of CMSGREF_GEN (oracle.suites.generator); an
    ordered list is kept beside it."""
    global _CASES
    if _CASES is None:
        from oracle.suites import generator
        order = []
        table = _Table()
        for fam in MATRIX:
            for cid, params in _expand(fam):
                if cid in table:
                    raise ValueError("duplicate case id %s" % cid)
                table[cid] = params
                order.append(cid)
        for cid, params in generator.cases():
            if dict.__contains__(table, cid):
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
