"""Which spike exchange a run uses, and which spikes go where: decided once, at build.

Every rank knows the neurons it holds synapses from (its engine's source index). With the
``allgather`` exchange nothing more is needed: every spike reaches every rank. For the
``alltoall`` exchange each rank tells the owners of those neurons that it wants their spikes
(one ``Alltoallv`` of id lists at build), so that a spike is later sent only where it has
targets. With ``"auto"``, every rank gathers how many of each rank's neurons each rank wants,
and all ranks pick the same exchange from the same numbers (``comm.choose_exchange``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from .comm import (
    AllgatherExchange,
    AlltoallExchange,
    Comm,
    LocalExchange,
    MpiComm,
    SpikeExchange,
    choose_exchange,
)
from .errors import NetworkError
from .partition import Partition

#: What ``Network(exchange=...)`` accepts.
EXCHANGES = ("auto", "allgather", "alltoall")

U32Array = npt.NDArray[np.uint32]


def check_exchange(exchange: object) -> str:
    """``exchange`` if it names an exchange, else a NetworkError naming it."""
    if exchange not in EXCHANGES:
        raise NetworkError(f"exchange = {exchange!r}: expected one of {list(EXCHANGES)}")
    return str(exchange)


def owners(partition: Partition, first_gid: list[int], gids: U32Array) -> npt.NDArray[np.int64]:
    """The rank owning each global id in ``gids``."""
    starts, ranks = [], []
    for population, ranges in enumerate(partition.ranges):
        for start, stop, rank in ranges:
            if stop > start:
                starts.append(first_gid[population] + start)
                ranks.append(rank)
    order = np.argsort(starts, kind="stable")
    sorted_starts = np.asarray(starts, dtype=np.int64)[order]
    sorted_ranks = np.asarray(ranks, dtype=np.int64)[order]
    return sorted_ranks[np.searchsorted(sorted_starts, gids.astype(np.int64), side="right") - 1]


def plan_exchange(comm: Comm, requested: str, partition: Partition, first_gid: list[int],
                  sources: Callable[[], U32Array], interval_s: float) -> SpikeExchange:
    """The exchange for this rank (collective: every rank calls it with its own sources).

    ``sources()``: the sorted global ids this rank holds synapses from (asked only when
    needed); ``interval_s``: the exchange interval in seconds."""
    if comm.size == 1:
        return LocalExchange()
    assert isinstance(comm, MpiComm)
    if requested == "allgather":
        return AllgatherExchange(comm)
    source_gids = sources()
    owner = owners(partition, first_gid, source_gids)
    wanted_here = np.bincount(owner, minlength=comm.size)
    # wanted[s][r]: how many of rank s's neurons rank r wants.
    wanted = np.stack(comm.allgather_object(wanted_here, "build: plan exchange")).T
    choice = requested
    if requested == "auto":
        choice = choose_exchange(partition.neurons_per_rank(), wanted, interval_s)
    if choice == "allgather":
        return AllgatherExchange(comm)
    outgoing = [source_gids[owner == rank] for rank in range(comm.size)]
    return AlltoallExchange(comm, comm.alltoall_arrays(outgoing, "build: plan exchange"))
