"""Kept for ``intake_npx2020.view.intake_gui()``: see :mod:`intake_npx2020.apps.view`."""

from .apps.view import *  # noqa: F401,F403
from .apps.view import __all__  # noqa: F401
