"""Communication between ranks, behind one small protocol. This is the only module that
talks MPI (through mpi4py, on numpy buffers — never pickled objects in the hot path).

Spikes cross ranks once per exchange interval in a compact form: per sending rank, a count
of spikes per step of the interval, then the spiking neurons' global ids as 4-byte integers
(step by step, ascending; ``packed_spikes.compact``). The receiver rebuilds the engine's
packed spikes and sorts them (``packed_spikes.expand``), so every rank delivers the same
spikes in the same order.

Two exchanges carry them (``SpikeExchange``): ``allgather`` (every rank receives every spike:
one ``Allgather`` of the counts and one ``Allgatherv`` of the ids; the default, and the
cheapest when every rank holds targets of nearly every neuron, as in random networks) and
``alltoall`` (each spike goes only to the ranks that hold synapses from its neuron: one
``Alltoall`` of the counts and one ``Alltoallv`` of the ids). ``choose_exchange`` picks one
from the expected cost of each, by the same computation on every rank.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .arrays import U32Array, U64Array
from .errors import UnsupportedError
from .packed_spikes import compact, expand, unpack

#: Environment variables set by MPI launchers (Open MPI, MPICH/Hydra, Slurm's PMI).
_LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


class Comm(Protocol):
    rank: int
    size: int

    def allgather_array(self, local: npt.NDArray[Any]) -> npt.NDArray[Any]: ...

    def alltoall_arrays(self, outgoing: list[npt.NDArray[Any]]) -> list[npt.NDArray[Any]]: ...

    def allgather_object(self, value: Any) -> list[Any]: ...

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None: ...

    def ranks_on_node(self) -> int: ...


class SerialComm:
    """One process: every collective is the identity."""

    rank = 0
    size = 1

    def allgather_array(self, local: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return local

    def alltoall_arrays(self, outgoing: list[npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        return list(outgoing)

    def allgather_object(self, value: Any) -> list[Any]:
        return [value]

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.asarray(local, dtype=np.int64).reshape(1, -1)

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None:
        return local

    def ranks_on_node(self) -> int:
        return 1


class MpiComm:
    """MPI through mpi4py's COMM_WORLD."""

    def __init__(self) -> None:
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        _abort_on_uncaught_exceptions()

    def allgather_array(self, local: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Concatenation of every rank's 1-d array (same dtype everywhere)."""
        local = np.ascontiguousarray(local)
        counts = np.array(self.comm.allgather(local.size), dtype=np.int64)
        out = np.empty(int(counts.sum()), dtype=local.dtype)
        displacements = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.comm.Allgatherv(local, [out, (counts, displacements)])
        return out

    def alltoall_arrays(self, outgoing: list[npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        """``outgoing[r]`` goes to rank r; returns what every rank sent to this one (1-d
        arrays of one dtype, the same on every rank)."""
        send = np.ascontiguousarray(np.concatenate(outgoing))
        send_counts = np.array([a.size for a in outgoing], dtype=np.int64)
        receive_counts = np.empty(self.size, dtype=np.int64)
        self.comm.Alltoall(send_counts, receive_counts)
        received = np.empty(int(receive_counts.sum()), dtype=send.dtype)
        self.comm.Alltoallv([send, (send_counts, _displacements(send_counts))],
                            [received, (receive_counts, _displacements(receive_counts))])
        return np.split(received, np.cumsum(receive_counts)[:-1])

    def allgather_object(self, value: Any) -> list[Any]:
        return list(self.comm.allgather(value))

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Every rank's vector of counts (the same length on every rank), shape
        (ranks, len(local)): one Allgather."""
        local = np.ascontiguousarray(local, dtype=np.int64)
        out = np.empty((self.size, local.size), dtype=np.int64)
        self.comm.Allgather(local, out)
        return out

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None:
        """The concatenation of every rank's 1-d array (rank r's has ``counts[r]`` entries,
        the same dtype everywhere) on rank ``root`` (one Gatherv; None on the other ranks),
        or on every rank when ``root`` is None (one Allgatherv)."""
        local = np.ascontiguousarray(local)
        counts = np.asarray(counts, dtype=np.int64)
        displacements = np.concatenate(([0], np.cumsum(counts)[:-1]))
        if root is None or self.rank == root:
            out = np.empty(int(counts.sum()), dtype=local.dtype)
            receive = [out, (counts, displacements)]
        else:
            out, receive = None, None
        if root is None:
            self.comm.Allgatherv(local, receive)
        else:
            self.comm.Gatherv(local, receive, root=root)
        return out

    def ranks_on_node(self) -> int:
        node = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED)
        try:
            return int(node.Get_size())
        finally:
            node.Free()


def _displacements(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


# ---------------------------------------------------------------- spike exchanges

class SpikeExchange(Protocol):
    """Moves each interval's spikes to the ranks that need them."""

    name: str
    #: Bytes this rank has sent and received in spike exchanges (counts and ids).
    bytes_sent: int
    bytes_received: int

    def exchange(self, local: U64Array, first_step: int, n_steps: int) -> U64Array:
        """This rank's sorted spikes of the interval (packed ``step << 32 | gid``) in; the
        spikes this rank must deliver out, sorted."""
        ...


class LocalExchange:
    """One process: the spikes stay where they are."""

    name = "local"
    bytes_sent = 0
    bytes_received = 0

    def exchange(self, local: U64Array, first_step: int, n_steps: int) -> U64Array:
        return local


class AllgatherExchange:
    """Every rank receives every spike: an ``Allgather`` of the per-step counts and an
    ``Allgatherv`` of the 4-byte ids."""

    name = "allgather"

    def __init__(self, comm: MpiComm) -> None:
        self.comm = comm
        self.bytes_sent = 0
        self.bytes_received = 0

    def exchange(self, local: U64Array, first_step: int, n_steps: int) -> U64Array:
        counts, gids = compact(local, first_step, n_steps)
        mpi, size = self.comm.comm, self.comm.size
        all_counts = np.empty((size, n_steps), dtype=np.int32)
        mpi.Allgather(counts, all_counts)
        per_rank = all_counts.sum(axis=1, dtype=np.int64)
        gathered = np.empty(int(per_rank.sum()), dtype=np.uint32)
        if gathered.size:
            mpi.Allgatherv(gids, [gathered, (per_rank, _displacements(per_rank))])
        self.bytes_sent += (size - 1) * (counts.nbytes + gids.nbytes)
        self.bytes_received += all_counts.nbytes - counts.nbytes + gathered.nbytes - gids.nbytes
        return expand(all_counts, gathered, first_step)


class AlltoallExchange:
    """Each spike goes only to the ranks that hold synapses from its neuron: an ``Alltoall``
    of per-step counts and an ``Alltoallv`` of the 4-byte ids.

    ``wanted[r]``: the sorted gids of this rank's neurons that rank r holds synapses from.
    They are kept as one sorted list of the neurons any other rank wants, each with the
    ranks that want it, so choosing where a spike goes costs one search per spike.
    """

    name = "alltoall"

    def __init__(self, comm: MpiComm, wanted: list[U32Array]) -> None:
        self.comm = comm
        others = [(r, np.asarray(w, dtype=np.uint32)) for r, w in enumerate(wanted)
                  if r != comm.rank]
        gids = np.concatenate([w for _, w in others] + [np.zeros(0, np.uint32)])
        ranks = np.concatenate([np.full(w.size, r, dtype=np.int64) for r, w in others]
                               + [np.zeros(0, np.int64)])
        order = np.lexsort((ranks, gids))
        self.sendable, first = np.unique(gids[order], return_index=True)
        self.offsets = np.append(first, gids.size).astype(np.int64)
        self.destinations = ranks[order]
        self.bytes_sent = 0
        self.bytes_received = 0

    def route(self, local: U64Array) -> tuple[npt.NDArray[np.int64], U64Array]:
        """(destination rank, spike) pairs for the spikes other ranks want, ordered by
        destination and, within one, as ``local`` (sorted)."""
        gids = unpack(local)[1].astype(np.uint32)
        position = np.searchsorted(self.sendable, gids)
        found = position < self.sendable.size
        found[found] = self.sendable[position[found]] == gids[found]
        position = position[found]
        starts = self.offsets[position]
        lengths = self.offsets[position + 1] - starts
        # Each wanted spike once per rank that wants it.
        pairs = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        spikes = np.repeat(local[found], lengths)
        destinations = self.destinations[pairs]
        order = np.argsort(destinations, kind="stable")
        return destinations[order], spikes[order]

    def exchange(self, local: U64Array, first_step: int, n_steps: int) -> U64Array:
        mpi, size, rank = self.comm.comm, self.comm.size, self.comm.rank
        destinations, spikes = self.route(local)
        bounds = np.searchsorted(destinations, np.arange(size + 1))
        counts = np.zeros((size, n_steps), dtype=np.int32)
        parts: list[U32Array] = []
        for r in range(size):
            mine = local if r == rank else spikes[bounds[r]:bounds[r + 1]]
            counts[r], part = compact(mine, first_step, n_steps)
            parts.append(part)
        received_counts = np.empty_like(counts)
        mpi.Alltoall(counts, received_counts)
        send_sizes = np.array([p.size for p in parts], dtype=np.int64)
        receive_sizes = received_counts.sum(axis=1, dtype=np.int64)
        send = np.concatenate(parts)
        received = np.empty(int(receive_sizes.sum()), dtype=np.uint32)
        mpi.Alltoallv([send, (send_sizes, _displacements(send_sizes))],
                      [received, (receive_sizes, _displacements(receive_sizes))])
        own = counts[rank].nbytes + parts[rank].nbytes
        self.bytes_sent += counts.nbytes + send.nbytes - own
        self.bytes_received += received_counts.nbytes + received.nbytes - own
        return expand(received_counts, received, first_step)


#: The costs ``choose_exchange`` weighs, in seconds: one MPI message (latency), one byte
#: moved between ranks of a node (inverse bandwidth), handling one received spike (decoding,
#: sorting, looking up its rows) and, for the all-to-all, looking up where one own spike
#: goes. Measured with benchmarks/mpi_costs.py; docs/scaling.md gives the
#: figures and those between nodes.
MESSAGE_COST_S = 1e-6
BYTE_COST_S = 2e-10
RECEIVED_SPIKE_COST_S = 1e-8
SELECT_COST_S = 2e-8
#: The firing rate assumed when choosing an exchange (Hz): both costs grow with it.
NOMINAL_RATE_HZ = 10.0


def exchange_costs(neurons_per_rank: npt.ArrayLike, wanted_counts: npt.ArrayLike,
                   interval_s: float) -> tuple[float, float]:
    """Expected seconds per interval of (allgather, alltoall) on the busiest rank.

    ``neurons_per_rank[s]``: neurons of rank s; ``wanted_counts[s][r]``: how many of rank s's
    neurons rank r holds synapses from. Every neuron is assumed to fire at
    ``NOMINAL_RATE_HZ``. The all-gather takes 2 log2(ranks) messages and brings every other
    rank's spikes; the all-to-all takes two messages per rank it exchanges with, brings only
    the spikes wanted here, and first picks, for each own spike, the ranks that want it."""
    neurons = np.asarray(neurons_per_rank, dtype=np.float64)
    wanted = np.array(wanted_counts, dtype=np.float64)
    size = len(neurons)
    np.fill_diagonal(wanted, 0.0)
    spikes = NOMINAL_RATE_HZ * interval_s  # per neuron and interval
    per_spike = 4.0 * BYTE_COST_S + RECEIVED_SPIKE_COST_S
    counts = 4.0 * max(1.0, interval_s / 1e-4) * BYTE_COST_S  # per step count of one rank
    rounds = np.ceil(np.log2(size)) if size > 1 else 0.0
    allgather = (2 * rounds * MESSAGE_COST_S + (size - 1) * counts
                 + (neurons.sum() - neurons) * spikes * per_spike)
    partners = np.maximum((wanted > 0).sum(axis=0), (wanted > 0).sum(axis=1))
    alltoall = (2 * partners * MESSAGE_COST_S + partners * counts
                + wanted.sum(axis=0) * spikes * per_spike
                + neurons * spikes * SELECT_COST_S)
    return float(allgather.max(initial=0.0)), float(alltoall.max(initial=0.0))


def choose_exchange(neurons_per_rank: npt.ArrayLike, wanted_counts: npt.ArrayLike,
                    interval_s: float) -> str:
    """"allgather" or "alltoall", whichever ``exchange_costs`` expects to be cheaper
    (allgather when they tie). A pure function of its arguments: every rank that calls it
    with the gathered counts picks the same."""
    allgather, alltoall = exchange_costs(neurons_per_rank, wanted_counts, interval_s)
    return "alltoall" if alltoall < allgather else "allgather"


def abort_if_distributed() -> None:
    """Under MPI with several ranks, end the whole job (MPI_Abort) so that no other rank
    waits forever in a collective; a no-op otherwise. Call with the error already printed."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None:
        return
    MPI: Any = mpi
    if MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
        rank = MPI.COMM_WORLD.Get_rank()
        sys.stderr.write(f"spikeshard: rank {rank} failed; aborting all ranks\n")
        sys.stderr.flush()
        MPI.COMM_WORLD.Abort(1)


def _abort_on_uncaught_exceptions() -> None:
    """Makes an uncaught exception on any rank print and then abort the job."""
    previous = sys.excepthook
    if getattr(previous, "spikeshard_abort", False):
        return

    def hook(kind: Any, value: Any, traceback: Any) -> None:
        previous(kind, value, traceback)
        abort_if_distributed()

    hook.spikeshard_abort = True  # type: ignore[attr-defined]
    sys.excepthook = hook


def launched_by_mpirun() -> bool:
    """Whether this process was started by an MPI launcher with more than one rank."""
    for name in _LAUNCHER_SIZE_VARIABLES:
        value = os.environ.get(name)
        if value and value.isdigit() and int(value) > 1:
            return True
    return False


def world(require_mpi: bool) -> Comm:
    """The communicator for a run: MPI when asked for or launched by mpirun, else serial."""
    if not (require_mpi or launched_by_mpirun()):
        return SerialComm()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        if require_mpi:
            raise UnsupportedError(
                "backend='mpi' needs mpi4py: pip install 'spikeshard[mpi]'"
            ) from None
        return SerialComm()
    return MpiComm()
