"""Kept for ``from intake_npx2020.export import export``: the module lives in :mod:`intake_npx2020.apps.export`."""

from .apps.export import *  # noqa: F401,F403
from .apps.export import __all__  # noqa: F401
