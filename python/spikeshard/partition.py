"""Which rank owns which neurons. Computed identically on every rank, without communication.

The default splits every population into contiguous, near-equal slices, one per rank (the
SC-NeuroCore table: 10,000 neurons on 4 ranks = 2,500 each; the first ``n % ranks`` ranks get
one more).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def even_slice(n: int, n_ranks: int, rank: int) -> tuple[int, int]:
    """The [start, stop) slice of ``n`` neurons owned by ``rank`` of ``n_ranks``."""
    base, extra = divmod(n, n_ranks)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def even_split(n: int, n_ranks: int, rank: int) -> npt.NDArray[np.uint32]:
    """Population-local ids owned by ``rank`` under the default even split."""
    start, stop = even_slice(n, n_ranks, rank)
    return np.arange(start, stop, dtype=np.uint32)
