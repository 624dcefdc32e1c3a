"""Times in seconds as whole steps of ``dt``, rounded exactly as NEST rounds them, so that a
network written for NEST has the same delays and refractory periods here.

NEST keeps time on a grid of tics (1 µs by default) and converts in two ways:

- a refractory period (``Time(Time::ms(t_ref)).get_steps()``): to the nearest tic, then **up**
  to whole steps: 0.25 ms at dt = 0.1 ms is 3 steps, 0.2 ms is 2;
- a delay (``Time::delay_ms_to_steps``): ``floor(ms * steps_per_ms + 0.5)``, to the nearest
  step (halves up): 0.15 ms at dt = 0.1 ms is 2 steps.

Values are given here in seconds; a value within a millionth of a tic of the tic grid is taken
as the decimal number of milliseconds a NEST script would have written (0.00015 s is 0.15 ms,
not 0.15000000000000002 ms). A ``dt`` that is not a whole number of tics (which NEST refuses)
falls back to the plain ratio.

Declarations only: nothing here imports an engine or talks MPI.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

#: NEST's default time resolution: tics per second (1000 tics per ms).
TICS_PER_S = 1_000_000
#: How close (in tics) a value must be to the tic grid to be taken as lying on it.
_ON_GRID = 1e-6


def _tics_per_step(dt: float) -> int | None:
    """Tics per step of ``dt`` seconds, or None if ``dt`` is not a whole number of tics."""
    tics = round(dt * TICS_PER_S)
    return tics if tics >= 1 and abs(dt * TICS_PER_S - tics) <= _ON_GRID else None


def refractory_steps(t_ref: float, dt: float) -> int:
    """Whole steps of a refractory period of ``t_ref`` seconds: NEST's
    ``Time(Time::ms(t_ref)).get_steps()``, the nearest tic rounded up to a whole step."""
    tics_per_step = _tics_per_step(dt)
    if tics_per_step is None:
        return math.ceil(t_ref / dt - 1e-9)
    # static_cast<tic_t>(ms * TICS_PER_MS + 0.5), then (tics + TICS_PER_STEP - 1) * (1 / TPS),
    # truncated, as nest_time.h computes it.
    tics = math.floor(t_ref * TICS_PER_S + 0.5)
    return int((tics + tics_per_step - 1) * (1.0 / tics_per_step))


def delay_steps(seconds: float | npt.ArrayLike, dt: float) -> npt.NDArray[np.int64]:
    """Whole steps of delays of ``seconds``: NEST's ``delay_ms_to_steps``,
    ``floor(ms * steps_per_ms + 0.5)`` with ``steps_per_ms = 1 / ms_per_step``."""
    s = np.asarray(seconds, dtype=np.float64)
    tics = np.round(s * TICS_PER_S)
    on_grid = np.abs(s * TICS_PER_S - tics) <= _ON_GRID
    ms = np.where(on_grid, tics / 1000.0, s * 1000.0)
    tics_per_step = _tics_per_step(dt)
    ms_per_step = dt * 1000.0 if tics_per_step is None else tics_per_step / (TICS_PER_S / 1000)
    steps_per_ms = 1.0 / ms_per_step
    return np.floor(ms * steps_per_ms + 0.5).astype(np.int64)
