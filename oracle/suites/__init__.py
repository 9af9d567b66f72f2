"""oracle.suites - what runs inside an interpreter under test.

Each suite is a package here (oracle.suites.<name>) offering the worker
contract: iter_cases() -> (family, case id), run_case(case id) -> record,
optionally configure(lib=, libc=) and, on the driver's side,
complete_records(records, lib).  SUITES names them in run order.
"""

import importlib

SUITES = ("inject", "sockets")


def suite_module(name):
    """The package of suite name (ValueError for an unknown name)."""
    if name not in SUITES:
        raise ValueError("unknown suite %r (known: %s)"
                         % (name, ", ".join(SUITES)))
    return importlib.import_module("oracle.suites." + name)
