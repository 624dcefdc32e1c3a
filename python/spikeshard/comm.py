"""Communication between ranks, behind one small protocol. This is the only module that
talks MPI (through mpi4py, on numpy buffers — never pickled objects in the hot path).

Spikes cross ranks once per exchange interval in a compact form: per sending rank, a count
of spikes per step of the interval, then the spiking neurons' global ids as 4-byte integers
(step by step, ascending; ``packed_spikes.compact``). The receiver rebuilds the engine's
packed spikes and sorts them (``packed_spikes.expand``), so every rank delivers the same
spikes in the same order.

Two exchanges carry them (``SpikeExchange``), both through the guard below (a header
naming the exchange, then non-blocking calls): ``allgather`` (every rank receives every
spike: the header carries each rank's id count, then one ``Iallgather`` of the counts per
step and one ``Iallgatherv`` of the ids; the default, and the cheapest when every rank holds
targets of nearly every neuron, as in random networks) and ``alltoall`` (each spike goes only
to the ranks that hold synapses from its neuron: one ``Ialltoall`` of the counts and one
``Ialltoallv`` of the ids). ``choose_exchange`` picks one from the expected cost of each, by
the same computation on every rank.

No spikeshard collective can hang
---------------------------------
Every collective spikeshard makes goes through one process-wide ``Guard`` (set up at
``import spikeshard`` when an MPI launcher started more than one rank). It keeps three
promises:

1. **Ranks agree on what they call.** Each collective starts with a *header*: one
   non-blocking all-gather of four integers per rank (the operation's code, its sequence
   number, a size, an extra value), on a communicator of its own (a duplicate of
   COMM_WORLD, so user code on COMM_WORLD can never match it). When the ranks called
   different operations — ``if rank == 0: net.get_state(...)`` followed by ``net.run`` on
   the others — every rank raises ``CollectiveMismatchError`` naming each rank's call,
   instead of exchanging the wrong data. The size is the count of an ``Allgatherv``, so
   where counts were gathered anyway the header costs nothing extra.
2. **A rank that leaves says so.** At interpreter exit (``atexit``: the end of the script,
   ``sys.exit(n)``, a return after catching an error) a rank posts one last header with
   the code ``LEFT`` and its exit status, and waits for it. If every rank posts ``LEFT``,
   that was the final barrier and the job ends normally. A rank waiting in a collective
   receives the ``LEFT`` header instead of a partner: it raises ``RankLeftError`` naming
   the rank, its exit status and how many collectives it made; the leaving rank sees
   what the others called and aborts the job with the same message. Neither side waits
   for a time-out. Payloads only follow a header every rank has joined, so they always
   complete. An uncaught exception on any rank prints and aborts the job (``excepthook``).
3. **Waits can be left.** Data moves with non-blocking calls and ``Guard.wait`` tests the
   request in a loop (yielding the CPU after a few tries, then sleeping briefly), so
   Ctrl-C works; a wait interrupted halfway through a collective aborts the job, since
   the other ranks could never complete it. At exit, ``SPIKESHARD_EXIT_TIMEOUT`` (seconds)
   bounds how long a finished rank waits for the others (default: no limit, because rank
   0 may legitimately spend minutes plotting after the others are done); past it the job
   is aborted with a message naming the ranks that never arrived. The one wait no guard
   can see is one in *user* code: an ``MPI.COMM_WORLD.Barrier()`` that only some ranks
   reach still hangs, as with plain mpi4py — set the time-out in batch jobs.

Adding a collective (the rule for every helper that adds MPI calls)
-------------------------------------------------------------------
Write it as a method here that starts with ``sizes = self.guard.begin(OPERATION, n)``
(``n`` is this rank's size; every rank's comes back) and then moves data with a
*non-blocking* call on ``self.guard.data`` passed to ``self.guard.wait(request, OPERATION)``.
An MPI call with no non-blocking form (``Split_type``, ``Dup``) may follow ``begin``
blocking: once ``begin`` returns, every rank is in the same call. Point-to-point
exchanges (``Isend``/``Irecv`` on ``guard.data``, waited with ``guard.wait_all``) must sit
inside a public call that began with a header (e.g. the ``agree`` of a run), so that a rank
cannot leave between them. Name the operation after what the user called
(``"get_state"``, ``"run: exchange"``), add it to ``OPERATIONS`` so that every rank can name
it in messages, and never call ``COMM_WORLD`` or a blocking collective directly.
Before a run, ``Comm.agree(what, value)`` checks that every rank asked for the same thing
(durations, backends) so that ranks cannot take different code paths.
"""

from __future__ import annotations

import atexit
import os
import pickle
import sys
import time
import zlib
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from .arrays import U32Array, U64Array
from .errors import (
    CollectiveMismatchError,
    RankLeftError,
    SimulationError,
    UnsupportedError,
)
from .packed_spikes import compact, expand, unpack

#: Environment variables set by MPI launchers (Open MPI, MPICH/Hydra, Slurm's PMI).
_LAUNCHER_SIZE_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE", "MPI_LOCALNRANKS")

#: Every operation name that collectives use, so that a rank can name what another called.
OPERATIONS = (
    "build: ranks agree", "build: gather synapse counts", "run", "run: exchange",
    "run: gather monitor sizes", "run: gather monitor data", "get_state", "agree",
    "allgather_array", "allgather_object", "nengo: command", "alltoall_arrays",
    "build: plan exchange", "save_state", "restore_state",
)
#: Header code of a rank that has left (its exit status in the header's extra value).
LEFT = -1
#: The header: code, sequence number, size, extra (the exit status for LEFT).
_HEADER_LENGTH = 4
#: Exit status in a LEFT header when the process did not say (no sys.exit call seen).
_STATUS_UNKNOWN = -(2**62)
#: A wait tests its request this many times before it starts yielding the CPU, and sleeps
#: between tests once it has waited this long (s): a collective that takes longer is
#: waiting for a slow rank, and a millisecond more does not matter there.
_SPINS_BEFORE_YIELD = 64
_SLEEP_AFTER_S = 0.5
_SLEEP_S = 0.001


def operation_code(name: str) -> int:
    """The header code of an operation (a positive 31-bit hash of its name)."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


_OPERATION_NAMES = {operation_code(name): name for name in OPERATIONS}


def _describe_operation(code: int) -> str:
    if code == LEFT:
        return "left (exit)"
    return repr(_OPERATION_NAMES.get(code, f"operation {code:#x}"))


def _job_status(status: int) -> int:
    """The status a job ends with when a rank that left with ``status`` breaks it: the
    rank's own when it gave a failing one, else 1."""
    return status if status not in (0, _STATUS_UNKNOWN) and 0 < status < 256 else 1


def _describe_exit(status: int) -> str:
    if status == _STATUS_UNKNOWN:
        return "reached the end of its script (or raised SystemExit)"
    return f"called sys.exit({status})" if status != 0 else "reached the end of its script"


class Guard:
    """The process-wide state that makes collectives hang-proof (see the module docstring):
    a duplicate of COMM_WORLD for spikeshard's data, the sequence number of collectives,
    the exit status seen, and the ``atexit`` handler that announces this rank's exit."""

    def __init__(self, MPI: Any) -> None:
        self.MPI = MPI
        self.data = MPI.COMM_WORLD.Dup()
        self.rank: int = self.data.Get_rank()
        self.size: int = self.data.Get_size()
        self.sequence = 0
        self.exit_status = _STATUS_UNKNOWN
        #: Set when a collective was left half done (an interrupted wait): the job can only
        #: be aborted.
        self.broken: str | None = None
        self._send = np.zeros(_HEADER_LENGTH, dtype=np.int64)
        self._headers = np.zeros((self.size, _HEADER_LENGTH), dtype=np.int64)
        node = self.data.Split_type(MPI.COMM_TYPE_SHARED)
        self.ranks_on_node = int(node.Get_size())
        node.Free()

    # ------------------------------------------------------------------ collectives

    def begin(self, operation: str, size: int = 0, extra: int = 0) -> npt.NDArray[np.int64]:
        """Exchanges headers for the next collective and checks that every rank called the
        same one; returns every rank's ``size`` (shape ``(ranks,)``)."""
        headers = self._exchange_headers(operation_code(operation), size, extra, operation)
        codes, sequences = headers[:, 0], headers[:, 1]
        if (codes == codes[self.rank]).all() and (sequences == sequences[self.rank]).all():
            return headers[:, 2].copy()
        left = [r for r in range(self.size) if codes[r] == LEFT]
        if left:
            r = left[0]
            status = int(headers[r, 3])
            raise RankLeftError(
                f"rank {r} {_describe_exit(status)} after {headers[r, 1] - 1} "
                f"spikeshard collective(s), while rank {self.rank} waits in {operation!r} "
                f"(its collective {self.sequence}): every rank must make the same spikeshard "
                "calls; the job cannot continue", _job_status(status))
        calls = ", ".join(f"rank {r}: {_describe_operation(int(codes[r]))}"
                          for r in range(self.size))
        serving = operation_code("nengo: command")
        hint = ("python -m spikeshard.nengo runs the script on rank 0 only, for nengo "
                "simulators; start a script that builds a spikeshard Network with mpirun "
                "python script.py or spikeshard mpirun"
                if (codes == serving).any() else
                "e.g. call net.get_state on every rank, not only on rank 0")
        raise CollectiveMismatchError(
            f"ranks called different spikeshard collectives as their collective "
            f"{self.sequence} ({calls}): every rank must make the same spikeshard calls in "
            f"the same order ({hint})"
        )

    def extras(self) -> npt.NDArray[np.int64]:
        """Every rank's ``extra`` value of the last header (for callers that must check it
        agrees, such as the root of a gather)."""
        return self._headers[:, 3].copy()

    def _exchange_headers(self, code: int, size: int, extra: int, what: str
                          ) -> npt.NDArray[np.int64]:
        if self.broken is not None:
            abort(f"rank {self.rank}: {self.broken}; a collective ({what!r}) cannot follow")
        self.sequence += 1
        self._send[:] = (code, self.sequence, size, extra)
        self.wait(self.data.Iallgather(self._send, self._headers), what)
        return self._headers

    def wait(self, request: Any, what: str) -> None:
        """Waits for a non-blocking request, leaving the CPU to other processes after a few
        tests; an exception (Ctrl-C) while it is pending aborts the job."""
        if request.Test():
            return
        self._wait_loop(request.Test, what)

    def wait_all(self, requests: list[Any], what: str) -> None:
        """``wait`` for several requests (point-to-point exchanges)."""
        test_all = self.MPI.Request.Testall
        if test_all(requests):
            return
        self._wait_loop(lambda: test_all(requests), what)

    def wait_until(self, done: Any, what: str) -> None:
        """``wait`` for any condition (``done()`` returns True once met, e.g. a probe)."""
        self._wait_loop(done, what)

    def _wait_loop(self, done: Any, what: str, deadline: float | None = None) -> None:
        started = time.monotonic()
        spins = 0
        try:
            while not done():
                spins += 1
                if spins < _SPINS_BEFORE_YIELD:
                    continue
                waited = time.monotonic() - started
                if deadline is not None and waited > deadline:
                    raise TimeoutError(what)
                if waited > _SLEEP_AFTER_S:
                    time.sleep(_SLEEP_S)
                else:
                    os.sched_yield()
        except TimeoutError:
            raise
        except BaseException as error:
            self.broken = f"{type(error).__name__} during {what!r}"
            if self.size > 1:
                abort(f"rank {self.rank} was interrupted ({type(error).__name__}) in the "
                      f"middle of {what!r}; the other ranks cannot complete it")
            raise

    # ------------------------------------------------------------------ exit

    def announce_exit(self) -> None:
        """At exit: posts the ``LEFT`` header and waits for every other rank to do the same
        (the final barrier); aborts the job when another rank is waiting in a collective
        instead, or when ``SPIKESHARD_EXIT_TIMEOUT`` passes first."""
        MPI = self.MPI
        if self.size == 1 or not MPI.Is_initialized() or MPI.Is_finalized():
            return
        if self.broken is not None:
            abort(f"rank {self.rank} left after {self.broken}")
        if self.exit_status not in (0, _STATUS_UNKNOWN):
            sys.stderr.write(f"spikeshard: rank {self.rank} {_describe_exit(self.exit_status)}\n")
        timeout = _exit_timeout()
        self.sequence += 1
        self._send[:] = (LEFT, self.sequence, 0, self.exit_status)
        request = self.data.Iallgather(self._send, self._headers)
        try:
            self._wait_loop(request.Test, "exit", timeout)
        except TimeoutError:
            abort(f"rank {self.rank} {_describe_exit(self.exit_status)}, and the other ranks "
                  f"did not finish within SPIKESHARD_EXIT_TIMEOUT = {timeout} s (are they "
                  "stuck in a collective of their own, or still computing?)")
        codes = self._headers[:, 0]
        waiting = [r for r in range(self.size) if codes[r] != LEFT]
        if waiting:
            calls = ", ".join(f"rank {r} waits in {_describe_operation(int(codes[r]))}"
                              for r in waiting)
            abort(f"rank {self.rank} {_describe_exit(self.exit_status)} after "
                  f"{self.sequence - 1} spikeshard collective(s), but {calls} (its collective "
                  f"{self.sequence}): every rank must make the same spikeshard calls",
                  _job_status(self.exit_status))


_guard: Guard | None = None


def guard() -> Guard:
    """The process's guard, created on first use (MPI is initialised then)."""
    global _guard
    if _guard is None:
        from mpi4py import MPI

        _guard = Guard(MPI)
        _install_exit_hooks(_guard)
    return _guard


def install_guard_if_launched() -> None:
    """Called at ``import spikeshard``: under an MPI launcher with several ranks, sets up the
    guard on every rank now, so that a rank that leaves before building a network (or
    without ever building one) still takes part in the final barrier. A no-op otherwise,
    and when mpi4py is missing (``world`` then raises)."""
    if not launched_by_mpirun():
        return
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return
    guard()


def _install_exit_hooks(g: Guard) -> None:
    """The exit announcement (atexit runs before mpi4py finalizes MPI), an excepthook that
    aborts the job on an uncaught exception, and a note of the status sys.exit is given."""
    atexit.register(g.announce_exit)
    previous_hook = sys.excepthook
    if not getattr(previous_hook, "spikeshard_abort", False):
        def hook(kind: Any, value: Any, traceback: Any) -> None:
            previous_hook(kind, value, traceback)
            abort_if_distributed(getattr(value, "exit_status", 1))

        hook.spikeshard_abort = True  # type: ignore[attr-defined]
        sys.excepthook = hook
    previous_exit = sys.exit
    if not getattr(previous_exit, "spikeshard_note", False):
        def exit_noting_status(status: Any = None) -> None:
            note_exit_status(status)
            previous_exit(status)

        exit_noting_status.spikeshard_note = True  # type: ignore[attr-defined]
        exit_noting_status.__doc__ = previous_exit.__doc__
        sys.exit = exit_noting_status  # type: ignore[assignment]


def note_exit_status(status: Any) -> None:
    """Records the status this process is leaving with (for the message other ranks get)."""
    if _guard is None:
        return
    if status is None:
        _guard.exit_status = 0
    elif isinstance(status, int):
        _guard.exit_status = status
    else:  # sys.exit("message") prints the message and exits with 1
        _guard.exit_status = 1


def _exit_timeout() -> float | None:
    value = os.environ.get("SPIKESHARD_EXIT_TIMEOUT")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not seconds > 0:
        sys.stderr.write(f"spikeshard: SPIKESHARD_EXIT_TIMEOUT = {value!r} is not a positive "
                         "number of seconds; waiting without a limit\n")
        return None
    return seconds


def abort(message: str, code: int = 1) -> None:
    """Prints ``message`` and ends every rank of the job (MPI_Abort)."""
    try:
        sys.stdout.flush()
        sys.stderr.write(f"spikeshard: {message}; aborting all ranks\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed stream must not keep the job alive
        pass
    mpi = sys.modules.get("mpi4py.MPI")
    MPI: Any = mpi
    if MPI is not None and MPI.Is_initialized() and not MPI.Is_finalized():
        MPI.COMM_WORLD.Abort(code)
    os._exit(code)


def abort_if_distributed(code: int = 1) -> None:
    """Under MPI with several ranks, end the whole job (MPI_Abort, with status ``code``) so
    that no other rank waits forever in a collective; a no-op otherwise. Call with the error
    already printed."""
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is None:
        return
    MPI: Any = mpi
    if MPI.Is_initialized() and not MPI.Is_finalized() and MPI.COMM_WORLD.Get_size() > 1:
        abort(f"rank {MPI.COMM_WORLD.Get_rank()} failed", code)


# ---------------------------------------------------------------------- the protocol


class Comm(Protocol):
    rank: int
    size: int

    def allgather_array(self, local: npt.NDArray[Any],
                        operation: str = "allgather_array") -> npt.NDArray[Any]: ...

    def alltoall_arrays(self, outgoing: list[npt.NDArray[Any]],
                        operation: str = "alltoall_arrays") -> list[npt.NDArray[Any]]: ...

    def allgather_object(self, value: Any,
                         operation: str = "allgather_object") -> list[Any]: ...

    def agree(self, what: str, value: Any, operation: str = "agree") -> None: ...

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]: ...

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None: ...

    def ranks_on_node(self) -> int: ...


class SerialComm:
    """One process: every collective is the identity."""

    rank = 0
    size = 1

    def allgather_array(self, local: npt.NDArray[Any],
                        operation: str = "allgather_array") -> npt.NDArray[Any]:
        return local

    def alltoall_arrays(self, outgoing: list[npt.NDArray[Any]],
                        operation: str = "alltoall_arrays") -> list[npt.NDArray[Any]]:
        return list(outgoing)

    def allgather_object(self, value: Any, operation: str = "allgather_object") -> list[Any]:
        return [value]

    def agree(self, what: str, value: Any, operation: str = "agree") -> None:
        return None

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        return np.asarray(local, dtype=np.int64).reshape(1, -1)

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None:
        return local

    def ranks_on_node(self) -> int:
        return 1


class MpiComm:
    """MPI through mpi4py, every collective through the process's ``Guard``."""

    def __init__(self) -> None:
        self.guard = guard()
        self.MPI = self.guard.MPI
        #: spikeshard's duplicate of COMM_WORLD; every call on it goes through the guard.
        self.comm = self.guard.data
        self.rank = self.guard.rank
        self.size = self.guard.size

    def allgather_array(self, local: npt.NDArray[Any],
                        operation: str = "allgather_array") -> npt.NDArray[Any]:
        """Concatenation of every rank's 1-d array (same dtype everywhere)."""
        return self._allgatherv(local, operation)[0]

    def _allgatherv(self, local: npt.NDArray[Any], operation: str
                    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        local = np.ascontiguousarray(local)
        counts = self.guard.begin(operation, local.size)
        out = np.empty(int(counts.sum()), dtype=local.dtype)
        displacements = np.concatenate(([0], np.cumsum(counts)[:-1]))
        self.guard.wait(self.guard.data.Iallgatherv(local, [out, (counts, displacements)]),
                        operation)
        return out, counts

    def alltoall_arrays(self, outgoing: list[npt.NDArray[Any]],
                        operation: str = "alltoall_arrays") -> list[npt.NDArray[Any]]:
        """``outgoing[r]`` goes to rank r; returns what every rank sent to this one (1-d
        arrays of one dtype, the same on every rank): a header, an Ialltoall of the sizes,
        then an Ialltoallv."""
        send = np.ascontiguousarray(np.concatenate(outgoing))
        send_counts = np.array([a.size for a in outgoing], dtype=np.int64)
        self.guard.begin(operation, send.size)
        receive_counts = np.empty(self.size, dtype=np.int64)
        self.guard.wait(self.guard.data.Ialltoall(send_counts, receive_counts), operation)
        received = np.empty(int(receive_counts.sum()), dtype=send.dtype)
        self.guard.wait(self.guard.data.Ialltoallv(
            [send, (send_counts, _displacements(send_counts))],
            [received, (receive_counts, _displacements(receive_counts))]), operation)
        return np.split(received, np.cumsum(receive_counts)[:-1])

    def allgather_object(self, value: Any, operation: str = "allgather_object") -> list[Any]:
        """Every rank's ``value`` (pickled; for small values outside the step loop)."""
        data = np.frombuffer(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
                             dtype=np.uint8)
        gathered, counts = self._allgatherv(data, operation)
        ends = np.cumsum(counts)
        return [pickle.loads(gathered[end - count:end].tobytes())
                for count, end in zip(counts, ends, strict=True)]

    def agree(self, what: str, value: Any, operation: str = "agree") -> None:
        """Raises SimulationError on every rank unless every rank passed an equal ``value``
        (ranks asked to run different durations, backends...)."""
        everyone = self.allgather_object(value, operation)
        differing = [r for r, theirs in enumerate(everyone) if theirs != everyone[0]]
        if differing:
            values = ", ".join(f"rank {r}: {theirs!r}" for r, theirs in enumerate(everyone))
            raise SimulationError(
                f"{what} differs between ranks ({values}): every rank must ask for the same"
            )

    def allgather_counts(self, local: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
        """Every rank's vector of counts (the same length on every rank), shape
        (ranks, len(local)): one Allgather (its header checks the lengths agree)."""
        operation = "run: gather monitor sizes"
        local = np.ascontiguousarray(local, dtype=np.int64)
        lengths = self.guard.begin(operation, local.size)
        if (lengths != local.size).any():
            raise CollectiveMismatchError(
                f"{operation}: ranks hold different numbers of monitor counts "
                f"({lengths.tolist()}): every rank must declare the same monitors")
        out = np.empty((self.size, local.size), dtype=np.int64)
        self.guard.wait(self.guard.data.Iallgather(local, out), operation)
        return out

    def gather_array(self, local: npt.NDArray[Any], counts: npt.NDArray[np.int64],
                     root: int | None) -> npt.NDArray[Any] | None:
        """The concatenation of every rank's 1-d array (rank r's has ``counts[r]`` entries,
        the same dtype everywhere) on rank ``root`` (one Gatherv; None on the other ranks),
        or on every rank when ``root`` is None (one Allgatherv)."""
        operation = "run: gather monitor data"
        local = np.ascontiguousarray(local)
        counts = np.asarray(counts, dtype=np.int64)
        self.guard.begin(operation, local.size, -1 if root is None else root)
        roots = self.guard.extras()
        if (roots != roots[self.rank]).any():
            raise CollectiveMismatchError(
                f"{operation}: ranks gather to different roots ({roots.tolist()}, -1: every "
                "rank): every rank must declare the same monitors")
        displacements = np.concatenate(([0], np.cumsum(counts)[:-1]))
        if root is None or self.rank == root:
            out = np.empty(int(counts.sum()), dtype=local.dtype)
            receive = [out, (counts, displacements)]
        else:
            out, receive = None, None
        data = self.guard.data
        request = (data.Iallgatherv(local, receive) if root is None
                   else data.Igatherv(local, receive, root=root))
        self.guard.wait(request, operation)
        return out

    def ranks_on_node(self) -> int:
        """Ranks on this rank's node (counted once, when the guard was set up)."""
        return self.guard.ranks_on_node

    # -- the nengo backend: the model sent to the ranks, commands from rank 0 -----------

    def broadcast_object(self, value: Any, root: int = 0) -> Any:
        """``value`` of rank ``root`` on every rank (pickled; commands, not data)."""
        operation = "nengo: command"
        data = (np.frombuffer(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
                              dtype=np.uint8) if self.rank == root else np.zeros(0, np.uint8))
        sizes = self.guard.begin(operation, data.size, root)
        roots = self.guard.extras()
        if (roots != root).any():
            raise CollectiveMismatchError(
                f"{operation}: ranks broadcast from different roots ({roots.tolist()})")
        buffer = data if self.rank == root else np.empty(int(sizes[root]), dtype=np.uint8)
        self.guard.wait(self.guard.data.Ibcast(buffer, root=root), operation)
        return pickle.loads(buffer.tobytes())

    def send_object(self, value: Any, dest: int, tag: int = 0) -> None:
        """Sends ``value`` (pickled: a rank's part of a model) to rank ``dest``. Only between
        collectives that every rank makes (the receiver waits for it after a command)."""
        data = np.frombuffer(pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL),
                             dtype=np.uint8)
        request = self.guard.data.Isend([data, self.MPI.BYTE], dest=dest, tag=tag)
        self.guard.wait(request, f"nengo: send to rank {dest}")

    def receive_object(self, source: int, tag: int = 0) -> Any:
        """The value rank ``source`` sends with ``send_object``."""
        status = self.MPI.Status()
        probed: list[Any] = [None]

        def arrived() -> bool:
            probed[0] = self.guard.data.Improbe(source=source, tag=tag, status=status)
            return probed[0] is not None

        if not arrived():
            self.guard.wait_until(arrived, f"nengo: receive from rank {source}")
        buffer = np.empty(status.Get_count(self.MPI.BYTE), dtype=np.uint8)
        probed[0].Recv([buffer, self.MPI.BYTE])
        return pickle.loads(buffer.tobytes())

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
    buffers of their own, so the caller's buffers are free as soon as the call returns.
    Waits go through the guard; a run begins with a command every rank receives, so no
    partner can have left in between."""

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
        self._receives[rank] = self.mpi.guard.data.Irecv(self._incoming[rank], source=rank,
                                                         tag=self.tag)

    def receive(self, rank: int, buffer: npt.NDArray[np.float64], more: bool) -> None:
        """Waits for rank ``rank``'s message and copies it into ``buffer``; with ``more``,
        posts the receive of the next one."""
        self.mpi.guard.wait(self._receives.pop(rank), "nengo: step exchange")
        buffer[...] = self._incoming[rank]
        if more:
            self._post_receive(rank)

    def send(self, rank: int, buffer: npt.NDArray[np.float64]) -> None:
        """Posts ``buffer`` (copied) to rank ``rank``, once its previous message is out."""
        previous = self._sends.pop(rank, None)
        if previous is not None:
            self.mpi.guard.wait(previous, "nengo: step exchange")
        self._outgoing[rank][...] = buffer
        self._sends[rank] = self.mpi.guard.data.Isend(self._outgoing[rank], dest=rank,
                                                      tag=self.tag)

    def finish(self) -> None:
        """Waits until every message sent has left (call at the end of a run)."""
        self.mpi.guard.wait_all(list(self._sends.values()), "nengo: step exchange")
        self._sends.clear()
        if self._receives:
            raise RuntimeError(f"receives from ranks {sorted(self._receives)} still pending")


def _displacements(counts: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    return np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)


# ---------------------------------------------------------------- spike exchanges

#: The operation name of a run's spike exchange, and the code each exchange puts in its
#: header, so that ranks that somehow chose different exchanges raise instead of hanging.
OPERATION_EXCHANGE = "run: exchange"
EXCHANGE_CODES = {"allgather": 1, "alltoall": 2}


def _check_exchange_codes(codes: npt.NDArray[np.int64], name: str) -> None:
    if (codes != EXCHANGE_CODES[name]).any():
        names = {code: exchange for exchange, code in EXCHANGE_CODES.items()}
        used = ", ".join(f"rank {r}: {names.get(int(c), int(c))}" for r, c in enumerate(codes))
        raise CollectiveMismatchError(
            f"{OPERATION_EXCHANGE}: ranks use different spike exchanges ({used}): every rank "
            "must build with the same exchange")


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
        guard, size = self.comm.guard, self.comm.size
        # The header carries each rank's id count, so both gathers can be posted at once.
        per_rank = guard.begin(OPERATION_EXCHANGE, gids.size, EXCHANGE_CODES[self.name])
        _check_exchange_codes(guard.extras(), self.name)
        all_counts = np.empty((size, n_steps), dtype=np.int32)
        gathered = np.empty(int(per_rank.sum()), dtype=np.uint32)
        guard.wait_all([guard.data.Iallgather(counts, all_counts),
                        guard.data.Iallgatherv(gids, [gathered, (per_rank,
                                                                  _displacements(per_rank))])],
                       OPERATION_EXCHANGE)
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
        guard, size, rank = self.comm.guard, self.comm.size, self.comm.rank
        destinations, spikes = self.route(local)
        bounds = np.searchsorted(destinations, np.arange(size + 1))
        counts = np.zeros((size, n_steps), dtype=np.int32)
        parts: list[U32Array] = []
        for r in range(size):
            mine = local if r == rank else spikes[bounds[r]:bounds[r + 1]]
            counts[r], part = compact(mine, first_step, n_steps)
            parts.append(part)
        send_sizes = np.array([p.size for p in parts], dtype=np.int64)
        send = np.concatenate(parts)
        guard.begin(OPERATION_EXCHANGE, send.size, EXCHANGE_CODES[self.name])
        _check_exchange_codes(guard.extras(), self.name)
        received_counts = np.empty_like(counts)
        guard.wait(guard.data.Ialltoall(counts, received_counts), OPERATION_EXCHANGE)
        receive_sizes = received_counts.sum(axis=1, dtype=np.int64)
        received = np.empty(int(receive_sizes.sum()), dtype=np.uint32)
        guard.wait(guard.data.Ialltoallv(
            [send, (send_sizes, _displacements(send_sizes))],
            [received, (receive_sizes, _displacements(receive_sizes))]), OPERATION_EXCHANGE)
        own = counts[rank].nbytes + parts[rank].nbytes
        self.bytes_sent += counts.nbytes + send.nbytes - own
        self.bytes_received += received_counts.nbytes + received.nbytes - own
        return expand(received_counts, received, first_step)


#: The costs ``choose_exchange`` weighs, in seconds: one MPI message (latency), one byte
#: moved between ranks of a node (inverse bandwidth), handling one received spike (decoding,
#: sorting, looking up its rows) and, for the all-to-all, looking up where one own spike
#: goes. Orders of magnitude for ranks of one node (shared-memory MPI, a few ns per spike
#: handled), not yet measured by a sweep: only their ratios decide, and the all-gather wins
#: ties.
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


def launched_by_mpirun() -> bool:
    """Whether this process was started by an MPI launcher with more than one rank."""
    return launcher_size() > 1


def launcher_size() -> int:
    """The number of ranks an MPI launcher started (1 when not started by one)."""
    sizes = [int(value) for value in map(os.environ.get, _LAUNCHER_SIZE_VARIABLES)
             if value and value.isdigit()]
    return max(sizes, default=1)


def world(require_mpi: bool) -> Comm:
    """The communicator for a run: MPI when asked for or launched by mpirun, else serial."""
    if not (require_mpi or launched_by_mpirun()):
        return SerialComm()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        reason = ("backend='mpi'" if require_mpi else
                  f"this process was started by an MPI launcher with {launcher_size()} ranks")
        raise UnsupportedError(
            f"{reason} but mpi4py is not installed (each rank would run the whole network "
            "alone): pip install 'spikeshard[mpi]'"
        ) from None
    return MpiComm()
