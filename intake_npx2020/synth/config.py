"""The simulation's knobs, passed as one object and checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from ..errors import ConfigError
from .probe import UV_PER_BIT

__all__ = ["SynthConfig"]


@dataclass(frozen=True)
class SynthConfig:
    """The keyword-only knobs of :func:`~.generator.generate` (see its parameters), with their defaults.

    Raises
    ------
    ConfigError
        If the highest firing rate is impossible with the refractory period.
    """

    drift_amplitude: float = 50.0
    drift_cycles: int = 2
    noise_range: tuple[float, float] = (5.0, 8.0)
    common_noise: float = 1.5
    amplitude_uv: tuple[float, float] = (50.0, 250.0)
    firing_rates: tuple[float, float] = (2.0, 15.0)
    refractory_ms: float = 2.0
    amplitude_jitter: float = 0.05
    sync: bool = True
    extra_spikes: Sequence[tuple[int, int]] | None = None

    def __post_init__(self):
        if self.firing_rates[1] * self.refractory_ms / 1000.0 >= 1.0:
            raise ConfigError(f"firing rate {self.firing_rates[1]} Hz is impossible with a {self.refractory_ms} ms "
                              "refractory period")

    def params(self, duration: float, num_units: int) -> dict:
        """The ``params`` recorded in ``synth.json`` (every knob but ``extra_spikes``, and the gain)."""
        return dict(duration=duration, num_units=num_units, drift_amplitude=self.drift_amplitude,
                    drift_cycles=self.drift_cycles, noise_range=list(self.noise_range),
                    common_noise=self.common_noise, amplitude_uv=list(self.amplitude_uv),
                    firing_rates=list(self.firing_rates), refractory_ms=self.refractory_ms,
                    amplitude_jitter=self.amplitude_jitter, sync=self.sync, uv_per_bit=UV_PER_BIT)
