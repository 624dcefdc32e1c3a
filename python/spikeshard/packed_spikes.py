"""The packed spike format the engines, the exchange between ranks and the run loop share:
one uint64 per spike, ``step << GID_BITS | gid``, so that sorting the integers sorts spikes by
step, then by global id. ``GID_BITS`` is the Rust engine's (``rust/src/engine/spike.rs``).

Pure array functions; nothing here knows a network, an engine or MPI.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._engine import GID_BITS
from .arrays import U32Array, U64Array

#: Most neurons a network may hold: global ids are unsigned ``GID_BITS``-bit integers.
MAX_GIDS = (1 << GID_BITS) - 1
#: Most steps a network may run (over all its runs): steps are the high ``64 - GID_BITS``
#: bits of a packed spike.
MAX_STEPS = 1 << (64 - GID_BITS)
_SHIFT = np.uint64(GID_BITS)
_GID_MASK = np.uint64(MAX_GIDS)


def pack(step: int, gids: npt.NDArray[np.integer]) -> U64Array:
    """The packed spikes of neurons ``gids`` in ``step``."""
    return (np.uint64(step) << _SHIFT) | gids.astype(np.uint64)


def unpack(packed: U64Array) -> tuple[U64Array, U64Array]:
    """(steps, gids) of packed spikes, as uint64."""
    return packed >> _SHIFT, packed & _GID_MASK


def compact(packed: U64Array, first_step: int, n_steps: int
            ) -> tuple[npt.NDArray[np.int32], U32Array]:
    """Sorted packed spikes of the interval of ``n_steps`` steps from ``first_step`` in the
    form they cross ranks in: (spikes per step, their gids as 4-byte integers)."""
    steps, gids = unpack(packed)
    offsets = steps.astype(np.int64) - first_step
    if offsets.size and (offsets[0] < 0 or offsets[-1] >= n_steps):
        raise ValueError(f"spikes outside the interval of {n_steps} steps from {first_step}")
    counts = np.bincount(offsets, minlength=n_steps).astype(np.int32)
    return counts, gids.astype(np.uint32)


def expand(counts: npt.NDArray[np.int32], gids: U32Array, first_step: int) -> U64Array:
    """The inverse of ``compact`` for the spikes of several ranks at once: ``counts`` of
    shape (ranks, steps), ``gids`` every rank's ids one after the other. Returns the packed
    spikes sorted by step, then gid."""
    n_steps = counts.shape[-1]
    steps = np.repeat(np.tile(np.arange(first_step, first_step + n_steps, dtype=np.uint64),
                              counts.size // max(n_steps, 1)), counts.ravel())
    packed = (steps << _SHIFT) | gids.astype(np.uint64)
    packed.sort()
    return packed
