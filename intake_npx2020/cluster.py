"""Kept for ``from intake_npx2020.cluster import local_cluster``: see :mod:`intake_npx2020.apps.cluster`."""

from .apps.cluster import *  # noqa: F401,F403
from .apps.cluster import __all__  # noqa: F401
