"""2020 objects → typed, validated specs and lazy readers: ``bin1`` recordings; ``npy1``, ``npy2``, ``h5_v1`` sortings."""

from .bin1 import Bin1Recording
from .objects import load_object
from .sortings import SpikeArrays, read_drift, read_sorting

__all__ = ["Bin1Recording", "SpikeArrays", "load_object", "read_sorting", "read_drift"]
