#!/usr/bin/env python
"""Generate the intake v1 catalog ``intake_npx2020/sources/catalogs/npx2020.yaml``.

The generator is the package ``tools/catalog`` (see its docstring); this file is its command line.

Usage::

    python tools/build_catalog.py            # (re)write the catalog
    python tools/build_catalog.py --check    # exit 1 if the file differs from a fresh build
    python tools/build_catalog.py --stdout   # print the catalog instead of writing it

The output is deterministic: no timestamps, fixed key order. After the header comment the body
is JSON (``json.dumps(indent=1)``), which is valid YAML: intake reads the file as YAML, while
``intake_npx2020.open_catalog`` parses the body with ``json.loads``, far faster than PyYAML.
"""

from __future__ import annotations

import sys

from catalog.cli import main  # tools/ is sys.path[0] when this file runs as a script

if __name__ == "__main__":
    sys.exit(main())
