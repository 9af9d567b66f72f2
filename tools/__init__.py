"""Shared Python tooling of cmsgref: procs (the one child-process runner)
and fdtable (the one fd-table helper).  Stdlib only; CPython 3.6+, PyPy."""
