"""Random values for weights, delays and initial states: declared here, drawn by the engine's
counter-based streams (so the same seed gives the same values on any number of ranks)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import rng
from .errors import NetworkError


def _finite(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise NetworkError(f"{name} = {value!r}: expected a number")
    number = float(value)
    if math.isnan(number):
        raise NetworkError(f"{name} = nan: expected a number")
    return number


@dataclass(frozen=True)
class Uniform:
    """Uniform on [low, high)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        low, high = _finite("Uniform.low", self.low), _finite("Uniform.high", self.high)
        if not (math.isfinite(low) and math.isfinite(high)) or high < low:
            raise NetworkError(f"Uniform(low={low!r}, high={high!r}): expected finite low <= high")

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def draw(self, key: int, ids: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
        """One value per id from stream ``key`` (used for initial states)."""
        u = rng.uniform(rng.bits(rng.subkey(key, 0), ids))
        return self.low + (self.high - self.low) * u


@dataclass(frozen=True)
class Normal:
    """Normal with ``mean`` and ``std``, clipped to [low, high] (values outside are set to
    the bound, not redrawn)."""

    mean: float
    std: float
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        _finite("Normal.mean", self.mean)
        std = _finite("Normal.std", self.std)
        low, high = _finite("Normal.low", self.low), _finite("Normal.high", self.high)
        if not math.isfinite(self.mean) or not math.isfinite(std) or std < 0:
            raise NetworkError(
                f"Normal(mean={self.mean!r}, std={std!r}): expected finite mean and std >= 0"
            )
        if high < low:
            raise NetworkError(f"Normal(low={low!r}, high={high!r}): expected low <= high")

    @property
    def bounds(self) -> tuple[float, float]:
        return self.low, self.high

    def draw(self, key: int, ids: npt.NDArray[np.uint32]) -> npt.NDArray[np.float64]:
        sub = rng.subkey(key, 0)
        ids64 = ids.astype(np.uint64)
        u1 = rng.uniform_open0(rng.bits(sub, ids64 * np.uint64(2)))
        u2 = rng.uniform(rng.bits(sub, ids64 * np.uint64(2) + np.uint64(1)))
        z = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
        return np.clip(self.mean + self.std * z, self.low, self.high)


Distribution = Uniform | Normal
