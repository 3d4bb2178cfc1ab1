"""The ``npx2020`` command: one parser, subcommands from :mod:`intake_npx2020.apps.commands`.

Every failure the user can cause (a bad argument, a missing file, an unknown ID, data that cannot be had) is one
line on stderr and exit status 1; only the package's own errors and ``OSError`` are caught, so a bug still shows
as a bug.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import NPXError
from .commands import GROUPS


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit status 1, like every other failure."""

    def error(self, message: str):
        self.exit(1, f"{self.prog}: error: {message} (`{self.prog} --help` for usage)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``npx2020`` argument parser."""
    p = _Parser(prog="npx2020", description="The neuropixels-data-sep-2020 collection as an intake catalog.")
    sub = p.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:  # `npx2020 ls | head`: the reader left; say nothing more
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except (NPXError, OSError) as err:
        print(f"npx2020 {args.command}: error: {' '.join(str(err).split())}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"npx2020 {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
