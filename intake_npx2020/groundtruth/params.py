"""The knobs of a hybrid recording, passed as one frozen object and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import ConfigError

__all__ = ["HybridParams", "ROUNDING_RULE"]

#: How injected units become int16, stated once (also written into every hybrid entry's metadata).
ROUNDING_RULE = ("hybrid = clip(parent + rint(injected), -32768, 32767): injected is the sum, in float64 and in "
                 "ground-truth order (by sample, then unit), of every injected spike covering that sample; rint "
                 "rounds half to even; samples that would leave the int16 range are clipped (and counted)")


def _pair_or_list(value, name: str, positive: bool = True) -> tuple[float, ...]:
    """A (low, high) range or an explicit per-unit list, as a tuple of floats; each value checked."""
    vals = tuple(float(v) for v in (value if isinstance(value, (list, tuple)) else (value, value)))
    if not vals or (positive and any(not v > 0 for v in vals)):
        raise ConfigError(f"{name} must be positive numbers, got {value!r}")
    return vals


@dataclass(frozen=True)
class HybridParams:
    """What to inject into a recording (see :func:`~intake_npx2020.groundtruth.draw_injection`).

    Attributes
    ----------
    num_units : int
        Units injected (with ``templates="sorting"``: at most the number of units asked for).
    rates : (float, float) or list of float
        Mean firing rate (Hz): a ``(low, high)`` tuple is a range drawn uniformly, a list gives one value per unit.
    amplitudes_uv : (float, float) or list of float, optional
        Peak-channel trough amplitude (µV), a range or a list as ``rates``. ``None`` with templates from a
        sorting keeps each template's measured amplitude.
    refractory_ms : float
        Dead time of the Poisson trains (ISI = refractory + exponential).
    amplitude_jitter : float
        Relative σ of spike-to-spike amplitude scale (clipped to 0.5–1.5).
    depth_range : (float, float), optional
        y range (µm) where model units are placed (default: the whole probe).
    seed : int
        Everything drawn (units, trains, scales, which spikes make a template) is a function of the seed.
    templates : {"model", "sorting"}
        The package's synthetic unit model (:mod:`intake_npx2020.synth.units`), or mean waveforms of a
        curated sorting's units around their spikes (read through the lazy recording).
    template_units : sequence of int, optional
        With ``templates="sorting"``: which of its units (default: the ``num_units`` with most spikes).
    template_spikes : int
        With ``templates="sorting"``: spikes averaged per template (a seeded random subset).
    y_offset_um : float
        Templates from a sorting are moved this far along +y (so a copy does not sit on its source unit).
    first_unit_id : int
        Unit id of the first injected unit (the next ones follow).
    """

    num_units: int = 10
    rates: Sequence[float] = (2.0, 10.0)
    amplitudes_uv: Sequence[float] | None = (80.0, 200.0)
    refractory_ms: float = 2.0
    amplitude_jitter: float = 0.05
    depth_range: tuple[float, float] | None = None
    seed: int = 0
    templates: str = "model"
    template_units: Sequence[int] | None = None
    template_spikes: int = 100
    y_offset_um: float = 0.0
    first_unit_id: int = 0

    def __post_init__(self):
        if int(self.num_units) < 1:
            raise ConfigError(f"num_units must be at least 1, got {self.num_units!r}")
        if self.templates not in ("model", "sorting"):
            raise ConfigError(f"templates must be 'model' or 'sorting', got {self.templates!r}")
        rates = _pair_or_list(self.rates, "rates")
        if max(rates) * self.refractory_ms / 1000.0 >= 1.0:
            raise ConfigError(f"a firing rate of {max(rates)} Hz is impossible with a {self.refractory_ms} ms "
                              "refractory period")
        if self.amplitudes_uv is not None:
            _pair_or_list(self.amplitudes_uv, "amplitudes_uv")
        if not 0 <= self.amplitude_jitter < 0.5:
            raise ConfigError(f"amplitude_jitter must be in [0, 0.5), got {self.amplitude_jitter!r}")
        if int(self.template_spikes) < 1:
            raise ConfigError(f"template_spikes must be at least 1, got {self.template_spikes!r}")

    def per_unit(self, which: str, n: int, gen) -> "list[float]":
        """``rates`` or ``amplitudes_uv`` for ``n`` units: a 2-value range drawn with ``gen``, else as listed."""
        vals = _pair_or_list(getattr(self, which), which)
        if len(vals) == 2 and not isinstance(getattr(self, which), list):
            return list(gen.uniform(vals[0], vals[1], n))
        if len(vals) != n:
            raise ConfigError(f"{which} lists {len(vals)} values for {n} units")
        return list(vals)
