"""python3 -m oracle.conformance: `make conformance` (oracle/judge/cli.py)."""

import sys

from oracle.judge.cli import main

if __name__ == "__main__":
    sys.exit(main())
