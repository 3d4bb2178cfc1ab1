"""The ``npx2020`` subcommands, one module per group; each module's ``register(sub)`` adds its parsers."""

from __future__ import annotations

from . import authoring, catalog, groundtruth, pack, run, store

#: modules whose ``register`` adds subcommands, in the order ``npx2020 --help`` lists them
GROUPS = (store, pack, authoring, catalog, run, groundtruth)
