"""The shipped catalog: open it, tabulate it, find entries by ID or label."""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml
from intake.catalog import exceptions
from intake.catalog.exceptions import DuplicateKeyError, ValidationError
from intake.catalog.local import LocalCatalogEntry, YAMLFileCatalog

from ..errors import CatalogError, EntryNotFound
from ..formats.objects import leaves
from .fastentry import LiteralArgsEntry

__all__ = ["CATALOG_PATH", "NPXCatalog", "open_catalog", "catalog_table", "find_entry", "entry_text",
           "describe_entry", "store_beside", "write_catalog_file", "parse_catalog_text"]

#: The catalog of the 2020 collection, installed as package data.
CATALOG_PATH = Path(__file__).parent / "catalogs" / "npx2020.yaml"

_KIND_OF_DRIVER = {"npx_recording": "recording", "npx_sorting": "sorting", "npx_drift": "drift",
                   "npx_hybrid": "recording"}
_COLUMNS = ["kind", "label", "lab", "probe", "region", "duration_s", "num_channels", "sampling_frequency",
            "size_bytes", "drift", "recording_id", "sorter", "curated", "contributed", "unit_count", "object_status"]


class _JSONDuplicateKeyError(DuplicateKeyError):
    """A duplicate key in a catalog whose body is JSON (intake's class wants YAML marks for its message)."""

    def __init__(self, message: str) -> None:
        ValidationError.__init__(self, message, [message])


_NOT_JSON = object()
_LEADING_COMMENTS = re.compile(r"(?:[ \t]*(?:#[^\n]*)?\r?\n)*[ \t\r\n]*")
# What YAML 1.1 reads as a float: a dot, and a signed exponent if any (``1e-05`` is a string to YAML).
_YAML_FLOAT = re.compile(r"-?\d+\.\d*(?:[eE][-+]\d+)?")


class _DisagreesWithYAML(ValueError):
    """JSON and YAML 1.1 would read this value differently."""


def _load_json_body(text: str, path: str) -> Any:
    """The catalog object if ``text`` is comment lines then a JSON object, else ``_NOT_JSON``.

    Numbers YAML would read differently (``1e-05``, ``NaN``) also give ``_NOT_JSON``, so that the
    YAML path, and intake's own loader, decide what the file means.
    """
    body = text[_LEADING_COMMENTS.match(text).end():]
    if not body.startswith("{"):
        return _NOT_JSON

    def unique_keys(pairs: list) -> dict:
        mapping = dict(pairs)
        if len(mapping) != len(pairs):
            seen = set()
            for key, _ in pairs:
                if key in seen:
                    raise _JSONDuplicateKeyError(f"duplicate key {key!r} in catalog {path!r}")
                seen.add(key)
        return mapping

    def yaml_float(s: str) -> float:
        # A JSON float without an exponent has a dot, so only exponent forms need the check.
        if ("e" in s or "E" in s) and not _YAML_FLOAT.fullmatch(s):
            raise _DisagreesWithYAML(s)
        return float(s)

    def no_constants(s: str) -> None:
        raise _DisagreesWithYAML(s)

    try:
        return json.loads(body, object_pairs_hook=unique_keys, parse_float=yaml_float, parse_constant=no_constants)
    except (json.JSONDecodeError, _DisagreesWithYAML):
        return _NOT_JSON


def _load_yaml(text: str) -> Any:
    """``yaml.safe_load`` with libyaml when available, rejecting duplicate keys as intake does."""
    import yaml
    from intake.utils import no_duplicates_constructor

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
        pass

    Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, no_duplicates_constructor)
    return yaml.load(text, Loader=Loader)


def entry_text(name: str, described: dict) -> str:
    """What a search looks at: the ID, description and metadata *values* (not keys, not the data objects).

    ``described`` is the entry's ``describe()`` (see :func:`describe_entry`).
    """
    d = described
    meta = {k: v for k, v in (d.get("metadata") or {}).items() if k != "catalog_dir"}
    return " ".join([name, d.get("description") or "", *map(str, leaves(meta))]).lower()


def parse_catalog_text(text: str, path: str) -> Any:
    """A catalog file's text as data: a JSON body (after comment lines) with ``json.loads``, else safe YAML.

    Either way a duplicate mapping key raises ``intake.catalog.exceptions.DuplicateKeyError``.
    """
    data = _load_json_body(text, path)
    return _load_yaml(text) if data is _NOT_JSON else data


class NPXCatalog(YAMLFileCatalog):
    """An intake YAML catalog whose ``search`` needs every word, and matches values rather than field names.

    (intake's own search matches any word anywhere in ``describe()``, keys included, so ``search("drift")``
    finds every entry that has a ``drift`` field.)
    """

    def parse(self, text: str) -> None:
        """As ``YAMLFileCatalog.parse``, but fast on the large generated 2020 catalog.

        A body that is JSON after leading comment lines (as ``tools/build_catalog.py`` writes it) is
        read with ``json.loads``; anything else with libyaml's safe loader (the pure-Python one takes
        seconds on the embedded 2020 objects). Either way a duplicate mapping key raises
        ``intake.catalog.exceptions.DuplicateKeyError``, as in intake.

        Parameters
        ----------
        text : str
            The catalog file's text.
        """
        from intake.catalog import exceptions
        from intake.catalog.local import CatalogParser, UserParameter

        self.text = text
        data = parse_catalog_text(text, self.path)
        if data is None:
            raise exceptions.CatalogException(f"No YAML data in {self.path}")
        result = CatalogParser(data, context={"root": self._dir}, getenv=self.getenv, getshell=self.getshell)
        if result.errors:
            raise exceptions.ValidationError(f"Catalog {self.path!r} has validation errors:\n" +
                                             "\n".join(result.errors), result.errors)
        cfg = result.data
        shared = data.get("metadata", {}).get("parameters", {})
        self.user_parameters.update({name: UserParameter(name, **attrs) for name, attrs in shared.items()})
        self._entries = {}
        for entry in cfg["data_sources"]:
            if type(entry) is LocalCatalogEntry:
                entry.__class__ = LiteralArgsEntry  # template-free arguments are not rendered by jinja2
            entry._catalog = self
            entry._filesystem = self.filesystem
            self._entries[entry.name] = entry
        self.metadata = {**self.metadata, **cfg.get("metadata", {})}
        self.name = self.name or cfg.get("name") or self.name_from_path
        self.description = self.description or cfg.get("description")
        self._check_drivers(data.get("sources") or {})

    def apply_storage_options(self, options: dict) -> None:
        """Give every entry these store options, over its own (a key given here wins)."""
        for entry in self._entries.values():
            args = entry._open_args  # intake v1 keeps an entry's arguments here
            args["storage_options"] = {**(args.get("storage_options") or {}), **options}

    def _check_drivers(self, sources: dict) -> None:
        from intake import registry

        known = sorted(n for n in registry if n.startswith("npx_"))
        for name, entry in sources.items():
            driver = entry.get("driver") if isinstance(entry, dict) else None
            driver = driver.get("class") if isinstance(driver, dict) else driver
            if isinstance(driver, str) and "." not in driver and driver not in registry:
                close = difflib.get_close_matches(driver, list(registry), n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise CatalogError(f"catalog {self.path!r}: entry {name!r} uses driver {driver!r}, which is not "
                                   f"installed; {hint}this package's drivers are {', '.join(known)}")

    def search(self, text: str, depth: int = 2):
        words = text.lower().split()
        found = self.filter(lambda e: all(w in entry_text(e.name, e.describe()) for w in words))
        found.name = f"{self.name}_search"
        found.metadata = {**(self.metadata or {}), "search": {"text": text, "upstream": self.name}}
        return found


def open_catalog(path: str | Path | None = None, storage_options: dict | None = None, **kwargs) -> NPXCatalog:
    """Open a catalog (default: the 2020 collection).

    Parameters
    ----------
    path : str or Path, optional
        A local path or URL of a catalog YAML (default: the 2020 collection shipped with the package).
    storage_options : dict, optional
        Store options (``mirrors``, ``store``, ``read_roots``, …) applied to **every** entry, over the
        entry's own (a key given here wins).
    **kwargs
        Passed to intake's ``YAMLFileCatalog``.

    Raises
    ------
    CatalogError
        The file does not exist, is not valid YAML, or names a driver that is not installed.
    """
    path = str(path or CATALOG_PATH)
    if "://" not in path and not Path(path).is_file():
        raise CatalogError(f"catalog {path!r} does not exist; give the path of a catalog YAML "
                           "(or nothing, for the 2020 collection)")
    try:
        cat = NPXCatalog(path, **kwargs)
    except (exceptions.CatalogException, ValidationError, yaml.YAMLError) as err:
        raise CatalogError(f"catalog {path!r} cannot be read: {' '.join(str(err).split())}") from err
    if storage_options:
        cat.apply_storage_options(storage_options)
    return cat


def store_beside(store_dir: str | Path, catalog_path: str | Path) -> dict:
    """``storage_options`` that make a catalog's entries read a local store *relative to the catalog file*.

    The store is added as a read-only root (``read_roots``), so the directory holding both can be moved or
    zipped, the entries read with no environment set, and the user's own store still caches what is fetched.
    """
    rel = os.path.relpath(Path(store_dir).resolve(), Path(catalog_path).resolve().parent)
    return {"read_roots": ["{{ CATALOG_DIR }}/" + Path(rel).as_posix()]}


def write_catalog_file(path: str | Path, sources: dict, metadata: dict | None = None, header: str = "") -> dict:
    """Write an intake v1 catalog whose body is indented JSON (valid YAML; :func:`open_catalog` reads it fastest).

    Parameters
    ----------
    path : path-like
        The ``.yaml`` file (replaced atomically).
    sources : dict
        Entries by ID: ``{"driver": …, "args": …, "metadata": …}``.
    metadata : dict, optional
        The catalog's own metadata (``version`` 1 is added).
    header : str
        Comment lines written above the body (each prefixed with ``# ``).

    Returns
    -------
    dict
        The catalog as written.
    """
    catalog = {"metadata": {"version": 1, **(metadata or {})}, "sources": sources}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(f"# {line}\n" for line in header.splitlines()) + json.dumps(catalog, indent=1) + "\n"
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return catalog


def _driver_name(described: dict) -> str | None:
    driver = described.get("plugin") or described.get("driver")
    if isinstance(driver, list):
        return driver[0] if driver else None
    return driver


def describe_entry(cat, name: str) -> dict:
    """An entry's description (``driver``, ``args``, ``metadata``, ``description``…) without instantiating it.

    Works on :class:`NPXCatalog` and on any intake v1 catalog (``intake.open_catalog``).
    """
    # intake v1 keeps entries in ``_entries``; ``cat[name]`` would instantiate the source
    return cat._entries[name].describe()


def catalog_table(cat=None):
    """One row per entry (index: ID) with the metadata users filter on; reads no data bytes.

    Parameters
    ----------
    cat : intake catalog, optional
        Default: the 2020 collection.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd

    cat = open_catalog() if cat is None else cat
    rows = []
    for name in cat:
        d = describe_entry(cat, name)
        meta = d.get("metadata") or {}
        row = {c: meta.get(c) for c in _COLUMNS}
        row["kind"] = row["kind"] or _KIND_OF_DRIVER.get(_driver_name(d))
        row["description"] = d.get("description", "")
        row["id"] = name
        rows.append(row)
    table = pd.DataFrame(rows, columns=[*_COLUMNS, "description", "id"]).set_index("id")
    ints = {c: "Int64" for c in ("num_channels", "size_bytes", "unit_count")}
    flags = {c: "boolean" for c in ("drift", "curated", "contributed")}
    return table.astype({**ints, **flags})


def find_entry(cat, id_or_label: str, kind: str | None = None) -> str:
    """The entry ID matching an ID or an original label (either with ``.json`` appended), as the 2020 API did."""
    key = id_or_label[:-5] if id_or_label.endswith(".json") else id_or_label
    names = list(cat)
    if key in names:
        return key
    for name in names:
        meta = describe_entry(cat, name).get("metadata") or {}
        if meta.get("label") == key and (kind is None or meta.get("kind") == kind):
            return name
    wanted = f"{kind} " if kind else ""
    close = difflib.get_close_matches(key, names, n=3, cutoff=0.6)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise EntryNotFound(f"no {wanted}entry with ID or label {id_or_label!r}{hint} (`npx2020 ls` lists them)")
