"""Communication between ranks, behind one small protocol. This is the only module that
talks MPI (through mpi4py, on numpy buffers — never pickled objects in the hot path)."""

from __future__ import annotations

import os
import sys
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .arrays import U64Array
from .errors import UnsupportedError

#: Environment variables set by MPI launchers (Open MPI, MPICH/Hydra, Slurm's PMI).
_LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")


class Comm(Protocol):
    rank: int
    size: int

    def allgather_spikes(self, local: U64Array) -> U64Array: ...

    def allgather_array(self, local: npt.NDArray[Any]) -> npt.NDArray[Any]: ...

    def allgather_object(self, value: Any) -> list[Any]: ...

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None: ...

    def ranks_on_node(self) -> int: ...


class SerialComm:
    """One process: every collective is the identity."""

    rank = 0
    size = 1

    def allgather_spikes(self, local: U64Array) -> U64Array:
        return local

    def allgather_array(self, local: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return local

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
        self._counts = np.zeros(self.size, dtype=np.int64)

    def allgather_spikes(self, local: U64Array) -> U64Array:
        """Every rank's spikes of the interval, merged in (step, gid) order: one Allgather of
        counts and one Allgatherv of packed integers."""
        local = np.ascontiguousarray(local, dtype=np.uint64)
        self.comm.Allgather(np.array([local.size], dtype=np.int64), self._counts)
        total = int(self._counts.sum())
        if total == 0:
            return np.zeros(0, dtype=np.uint64)
        gathered = np.empty(total, dtype=np.uint64)
        displacements = np.concatenate(([0], np.cumsum(self._counts)[:-1]))
        self.comm.Allgatherv([local, self.MPI.UINT64_T],
                             [gathered, (self._counts, displacements), self.MPI.UINT64_T])
        gathered.sort()
        return gathered

    def allgather_array(self, local: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Concatenation of every rank's 1-d array (same dtype everywhere)."""
        local = np.ascontiguousarray(local)
        counts = np.array(self.comm.allgather(local.size), dtype=np.int64)
        out = np.empty(int(counts.sum()), dtype=local.dtype)
        displacements = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.comm.Allgatherv(local, [out, (counts, displacements)])
        return out

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

    # -- the nengo backend: the model sent to the ranks, commands from rank 0 -----------

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        """``value`` of rank ``root`` on every rank (pickled; commands, not data)."""
        return self.comm.bcast(value, root=root)

    def send_object(self, value: Any, dest: int, tag: int = 0) -> None:
        """Sends ``value`` (pickled: a rank's part of a model) to rank ``dest``."""
        self.comm.send(value, dest=dest, tag=tag)

    def receive_object(self, source: int, tag: int = 0) -> Any:
        return self.comm.recv(source=source, tag=tag)

    def exchange(self, tag: int, receive_sizes: dict[int, int], send_sizes: dict[int, int]
                 ) -> PointToPointExchange:
        """A :class:`PointToPointExchange` with the given partners (rank -> float64 values
        per message), its messages tagged ``tag``."""
        return PointToPointExchange(self, tag, receive_sizes, send_sizes)


class PointToPointExchange:
    """One float64 message per partner rank per step, non-blocking (the nengo backend's cut
    signals). A run starts with one message to every partner (:meth:`start`); then each
    step :meth:`receive` waits for the partner's message of the previous step only where
    its values are needed, and :meth:`send` posts this step's. Messages are copied through
    buffers of their own, so the caller's buffers are free as soon as the call returns."""

    def __init__(self, mpi: MpiComm, tag: int, receive_sizes: dict[int, int],
                 send_sizes: dict[int, int]) -> None:
        self.mpi = mpi
        self.tag = tag
        self._incoming = {r: np.zeros(n) for r, n in receive_sizes.items()}
        self._outgoing = {r: np.zeros(n) for r, n in send_sizes.items()}
        self._receives: dict[int, Any] = {}
        self._sends: dict[int, Any] = {}

    def start(self, buffers: dict[int, npt.NDArray[np.float64]]) -> None:
        """Sends every partner its first message of a run (``buffers[rank]``, already
        packed) and posts the first receives."""
        for rank in sorted(self._outgoing):
            self.send(rank, buffers[rank])
        for rank in sorted(self._incoming):
            self._post_receive(rank)

    def _post_receive(self, rank: int) -> None:
        self._receives[rank] = self.mpi.comm.Irecv(self._incoming[rank], source=rank,
                                                   tag=self.tag)

    def receive(self, rank: int, buffer: npt.NDArray[np.float64], more: bool) -> None:
        """Waits for rank ``rank``'s message and copies it into ``buffer``; with ``more``,
        posts the receive of the next one."""
        self._receives.pop(rank).Wait()
        buffer[...] = self._incoming[rank]
        if more:
            self._post_receive(rank)

    def send(self, rank: int, buffer: npt.NDArray[np.float64]) -> None:
        """Posts ``buffer`` (copied) to rank ``rank``, once its previous message is out."""
        previous = self._sends.pop(rank, None)
        if previous is not None:
            previous.Wait()
        self._outgoing[rank][...] = buffer
        self._sends[rank] = self.mpi.comm.Isend(self._outgoing[rank], dest=rank, tag=self.tag)

    def finish(self) -> None:
        """Waits until every message sent has left (call at the end of a run)."""
        for request in self._sends.values():
            request.Wait()
        self._sends.clear()
        if self._receives:
            raise RuntimeError(f"receives from ranks {sorted(self._receives)} still pending")


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
