"""Optional dependencies: import one, or say which extra installs it.

Each optional package belongs to one extra of ``setup.cfg`` (named after what it serves); :func:`require`
imports a module on first use and turns a missing package into :class:`~intake_npx2020.errors.MissingExtra`
naming the ``pip install`` line, so the base install stays light.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

from .errors import MissingExtra

__all__ = ["EXTRAS", "require"]

#: top-level package → the extra that installs it
EXTRAS = {
    "scipy": "analysis",
    "distributed": "analysis",
    "zarr": "export",
    "numcodecs": "export",
    "matplotlib": "demo",
    "probeinterface": "probe",
    "h5py": "h5",
    "pyarrow": "dataframe",
    "spikeinterface": "spikeinterface",
    "spikeextractors": "spikeextractors",
    "panel": "gui",
    "holoviews": "gui",
    "hvplot": "gui",
    "datashader": "gui",
    "bokeh": "gui",
}


def require(module: str, extra: str | None = None, why: str | None = None) -> ModuleType:
    """Import ``module``; if its package is missing, raise MissingExtra naming the extra to install.

    Parameters
    ----------
    module : str
        Dotted module name, e.g. ``"scipy.signal"`` or ``"dask.dataframe"``.
    extra : str, optional
        The extra that installs it (default: looked up in :data:`EXTRAS` by top-level package).
    why : str, optional
        What needs it, for the message (e.g. ``"band-pass filtering"``).

    Returns
    -------
    module
    """
    try:
        return import_module(module)
    except ImportError as err:
        extra = extra or EXTRAS.get(module.split(".")[0])
        if extra is None:
            raise
        need = f" for {why}" if why else ""
        raise MissingExtra(f"{module} is needed{need} but is not installed ({err}); "
                           f"install it with: pip install 'intake_npx2020[{extra}]'") from err
