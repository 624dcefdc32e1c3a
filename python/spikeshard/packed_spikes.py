"""The packed spike format the engines, the exchange between ranks and the run loop share:
one uint64 per spike, ``step << GID_BITS | gid``, so that sorting the integers sorts spikes by
step, then by global id. ``GID_BITS`` is the Rust engine's (``rust/src/engine/spike.rs``).

Pure array functions; nothing here knows a network, an engine or MPI.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ._engine import GID_BITS
from .arrays import U64Array

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
