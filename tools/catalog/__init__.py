"""Generator of the shipped catalog ``intake_npx2020/sources/catalogs/npx2020.yaml``.

The catalog lists every recording (14), sorting (31) and drift ground truth (2) of the
``neuropixels-data-sep-2020`` collection under its original ID. Every fact comes from
``shared/reference/datasets.md`` (section numbers are cited as ``§N`` in docstrings); nothing is fetched.
The text written into the catalog never cites the reference files: users do not have them.

Recording entries embed the upstream ``bin1`` object *verbatim* (key order and int/float types
included), so that ``sha1(json.dumps(obj).encode())`` reproduces the upstream ``recordingPath`` hash
wherever one is known (§2). The generator asserts those hashes, so a typo in a URI or a wrong geometry
rule fails the build instead of producing a silently different catalog.

Modules, one job each: :mod:`.collection` (collection-level facts), :mod:`.geometry` (probe positions),
:mod:`.provenance` (hashes and trust), :mod:`.entries` (entry layout), :mod:`.notes` (shared caveats),
one module per source (:mod:`.cortexlab`, :mod:`.drift`, :mod:`.allen`, :mod:`.svoboda`,
:mod:`.contributed`), :mod:`.assemble` (the whole catalog), :mod:`.render` (the file text) and
:mod:`.cli` (``tools/build_catalog.py``).
"""

from __future__ import annotations

from .assemble import build_catalog
from .cli import main
from .render import HEADER, render_catalog

__all__ = ["HEADER", "build_catalog", "main", "render_catalog"]
