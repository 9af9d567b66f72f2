"""python3 -m oracle.sources: list the interpreters (see oracle.sources)."""

import sys

from oracle.sources import main

sys.exit(main())
