"""test_refsocket_layout.py - refsocket's ctypes structs equal cmsgref.h's.

Why: oracle.reference.lib mirrors struct cr_recv_args, cr_recv_result,
cr_addr, cr_pyerr, cr_walk and cr_item by hand; a field added to the header
silently shifts every later field (and a walk writes past the mirror).  This test asks the C compiler for sizeof and every offsetof and
compares them with ctypes.  It needs cc (the project's only build
requirement); without it the test fails and says so.
"""

import os
import shutil
import subprocess
import tempfile
import unittest

from oracle.reference import refsocket
from oracle.tests import helpers

CC = os.environ.get("CC", "cc")


def c_program():
    """C source printing "struct size" and "struct.field offset" lines."""
    lines = ['#include <stddef.h>', '#include <stdio.h>',
             '#include "cmsgref.h"', 'int main(void) {']
    for name, cls in sorted(refsocket.STRUCTS.items()):
        ctype = "struct %s" % name
        lines.append('    printf("%s %%zu\\n", sizeof(%s));' % (name, ctype))
        for field in cls._fields_:
            lines.append('    printf("%s.%s %%zu\\n", offsetof(%s, %s));'
                         % (name, field[0], ctype, field[0]))
    lines += ['    return 0;', '}']
    return "\n".join(lines) + "\n"


def ctypes_layout():
    out = {}
    for name, cls in refsocket.STRUCTS.items():
        import ctypes
        out[name] = ctypes.sizeof(cls)
        for field in cls._fields_:
            out["%s.%s" % (name, field[0])] = getattr(cls, field[0]).offset
    return out


class StructLayout(unittest.TestCase):

    def test_every_size_and_offset_matches_the_header(self):
        cc = shutil.which(CC)
        self.assertTrue(cc, "no C compiler %r on PATH: the layout check "
                        "cannot run (install cc)" % CC)
        tmp = tempfile.mkdtemp(prefix="cmsgref-layout-")
        try:
            src = os.path.join(tmp, "layout.c")
            exe = os.path.join(tmp, "layout")
            with open(src, "w") as f:
                f.write(c_program())
            subprocess.check_call([cc, "-std=c11", "-D_GNU_SOURCE", "-I",
                                   os.path.join(helpers.REPO, "harness",
                                                "include"), src, "-o", exe])
            text = subprocess.check_output([exe]).decode("ascii")
        finally:
            shutil.rmtree(tmp, True)
        c_side = {}
        for line in text.splitlines():
            key, val = line.split()
            c_side[key] = int(val)
        self.assertEqual(c_side, ctypes_layout())

    def test_struct_fields_cover_the_header_sizes(self):
        # A field appended at the end of a header struct changes sizeof,
        # which the test above sees; this one guards the test itself.
        self.assertIn("cr_walk.why", ctypes_layout())


class ModelNames(unittest.TestCase):
    """Model numbers come back from the library (the 32-bit twins are 5
    and 6): a name list kept by hand in Python once stopped at 4, so a
    32-bit interpreter, whose host model is glibc-i386, failed every
    sockets case with IndexError."""

    def test_every_model_number_has_the_library_s_name(self):
        from oracle.reference import lib
        names = lib.model_names()
        self.assertEqual(names[:2], ["glibc", "glibc-legacy"])
        self.assertIn("glibc-i386", names)
        self.assertIn("glibc-legacy-i386", names)
        for number, name in enumerate(names):
            self.assertEqual(lib.model_name(number), name)
            self.assertEqual(lib.model_by_name(name), number)
        self.assertIn(lib.host_model(), names)
        with self.assertRaises(ValueError):
            lib.model_name(len(names))


if __name__ == "__main__":
    unittest.main()
