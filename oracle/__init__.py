"""oracle - the conformance oracle: real interpreters against the reference
(oracle/README.md).  sources/ says where interpreters come from, suites/
what runs in them, reference/ the reference side, judge/ what decides and
reports.  The paths every part shares are here."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# What `make conformance` builds in this repo (the defaults everywhere).
REPO_LIB = os.path.join(REPO, "build", "libcmsgref.so")
REPO_SHIM = os.path.join(REPO, "build", "inject", "libcrinject.so")
