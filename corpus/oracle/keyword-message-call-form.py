"""From 3.11 the keyword error text depends on the call form (spec §5 says
"qualified from 3.11" without this).

s.recvmsg(bufsize=1) -> "socket.recvmsg() takes no keyword arguments", but
f = s.recvmsg; f(bufsize=1) -> "recvmsg() takes no keyword arguments".  A
Python-level re-implementation (oracle.reference.refsocket) cannot see the call form.
This prints both texts; it exits 0 when the two forms agree (as before 3.11).
Run: python corpus/oracle/keyword-message-call-form.py
"""
import sys

from _common import outcome, pair, report

a, b = pair()
direct = outcome(lambda: b.recvmsg(bufsize=1))
bound = b.recvmsg
indirect = outcome(lambda: bound(bufsize=1))
a.close()
b.close()
sys.exit(report([("s.recvmsg(bufsize=1)", direct, direct),
                 ("f = s.recvmsg; f(bufsize=1) gives the same text",
                  indirect, direct)]))
