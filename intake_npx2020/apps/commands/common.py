"""Argument types and helpers shared by the subcommands."""

from __future__ import annotations

import argparse


def port_number(text: str) -> int:
    """A TCP port 0–65535 (0: any free port), else an argparse error naming the value."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"port must be a whole number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be between 0 and 65535, got {port}")
    return port


def store_options(args) -> dict | None:
    """``storage_options`` from ``--store``, if given."""
    return {"store": args.store} if getattr(args, "store", None) else None


def open_catalog_arg(args):
    """The catalog named by ``--catalog`` (default: the 2020 collection)."""
    from ...sources.catalog import open_catalog

    return open_catalog(getattr(args, "catalog", None))
