"""An object with only __int__ is not an index (spec §5; PyPy accepts it).

CPython refuses it for bufsize in every version ("cannot be interpreted as
an integer"); for flags 3.6/3.7 accept it, 3.8/3.9 accept it with a
DeprecationWarning, 3.10+ refuse it.
Run: python corpus/oracle/int-only-conversion.py
"""
import sys
import warnings

from _common import outcome, pair, report


class IntOnly(object):
    def __int__(self):
        return 1


a, b = pair()
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    rows = [("recvmsg(IntOnly()) raises TypeError",
             outcome(lambda: b.recvmsg(IntOnly()))[0], "TypeError")]
    if sys.version_info >= (3, 10):
        rows.append(("recvmsg(1, 0, IntOnly()) raises TypeError",
                     outcome(lambda: b.recvmsg(1, 0, IntOnly()))[0], "TypeError"))
a.close()
b.close()
sys.exit(report(rows))
