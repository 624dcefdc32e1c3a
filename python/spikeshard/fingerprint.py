"""What every rank must agree on before it builds: a fingerprint of the network (every
declaration that shapes it, arrays by their hash), and the check that all ranks hold the same
one, the same version and the same partition.

Reads the layout and the partition; builds nothing and calls no engine. Its one collective
(``allgather_object``) is called by every rank in ``Network.build``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from ._version import __version__
from .comm import Comm
from .errors import SimulationError
from .layout import Layout
from .partition import Partition
from .population import Population


def _describe(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape,
                hashlib.sha256(np.ascontiguousarray(value).tobytes()).hexdigest())
    if isinstance(value, Population):
        return ("population", value.label, value.n)
    return repr(value)


def fingerprint(layout: Layout, seed: int, dt: float, monitors: bool = True) -> str:
    """A hash of everything that defines the network, to check all ranks build the same;
    with ``monitors=False`` of what defines its course alone (a checkpoint's network)."""
    parts: list[Any] = [seed, repr(dt)]
    for pop in layout.populations:
        parts.append((pop.model.__module__, pop.model.__qualname__, pop.n, pop.label,
                      sorted(pop.params.items()),
                      sorted((k, _describe(v)) for k, v in pop.initial.items())))
    for proj in layout.projections:
        parts.append((layout.index(proj.pre), layout.index(proj.post), proj.topology,
                      proj.probability, proj.degree, proj.allow_autapses, proj.allow_multapses,
                      _describe(proj.pre_ids), _describe(proj.post_ids),
                      _describe(proj.weight), _describe(proj.delay)))
    for stim in layout.stimuli:
        target = stim.resolve_target(layout.populations)
        parts.append((layout.index(target), stim.rate_hz, stim.weight, stim.n))
    for mon in layout.monitors if monitors else []:
        # The gather mode and window too: ranks that disagree would call different
        # collectives at the end of a run.
        parts.append((mon.kind, layout.index(mon.source), mon.gather, mon.start, mon.stop,
                      _describe(getattr(mon, "record", None)),
                      getattr(mon, "variables", None), getattr(mon, "interval", None),
                      getattr(mon, "bin_width", None)))
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def check_ranks_agree(comm: Comm, network_hash: str, partition: Partition,
                      backend: str, exchange: str) -> None:
    """All ranks must run the same spikeshard, build the same network and partition on
    the same backend (the engines agree bit for bit only on some models), and ask for the
    same spike exchange. Thread counts may differ: they change no result."""
    mine = (__version__, network_hash, partition.fingerprint(), backend, exchange)
    everyone = comm.allgather_object(mine, "build: ranks agree")
    for rank, theirs in enumerate(everyone):
        if theirs != mine:
            what = ("spikeshard version", "network", "partition", "backend", "exchange")
            differs = next(w for w, a, b in zip(what, mine, theirs, strict=True) if a != b)
            raise SimulationError(
                f"rank {rank} has a different {differs} than rank {comm.rank} "
                f"({theirs} vs {mine}): every rank must run the same script and version"
            )
