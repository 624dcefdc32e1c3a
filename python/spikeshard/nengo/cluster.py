"""The ranks of a nengo run under ``mpirun -np N python -m spikeshard.nengo script.py``.

Rank 0 runs the user's script; every ``spikeshard.nengo.Simulator`` it makes builds the
model there, partitions it, and sends each other rank its :class:`~spikeshard.nengo.plan.
RankPlan` over MPI (no shared file system). The other ranks :meth:`Cluster.serve`: they
wait for rank 0's commands (broadcast: build, run, reset, close, exit) and carry them out
for the simulator named in the command, so several simulators can live in one script.
Running is the same on every rank (:func:`run_rank`): the rank's runtime steps its
components, exchanging cut signals point to point, then every rank's probe samples are
gathered on rank 0 in one ``Gatherv``. A rank that fails prints its error and aborts the
job (see :mod:`spikeshard.comm`), so no rank waits forever.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spikeshard.comm import MpiComm, PointToPointExchange, abort_if_distributed
from spikeshard.nengo.plan import RankPlan
from spikeshard.nengo.runtime import RankRuntime

logger = logging.getLogger(__name__)

#: The cluster of the running ``python -m spikeshard.nengo`` (None: one process, or every
#: rank running the script).
_active: Cluster | None = None

#: Message tags: simulator ids wrap below MPI's guaranteed tag limit (32767).
_TAG_LIMIT = 30000


def active() -> Cluster | None:
    """The cluster this process belongs to, when started by ``python -m spikeshard.nengo``
    under mpirun."""
    return _active


def activate(cluster: Cluster | None) -> None:
    global _active
    _active = cluster


@dataclass
class Served:
    """A simulator's part on one rank."""

    runtime: RankRuntime
    exchange: PointToPointExchange


@dataclass
class Cluster:
    """Rank 0's handle on the other ranks, and the other ranks' service loop."""

    comm: MpiComm
    served: dict[int, Served] = field(default_factory=dict)
    _next_id: int = 0

    @property
    def rank(self) -> int:
        return self.comm.rank

    @property
    def size(self) -> int:
        return self.comm.size

    # -- rank 0 ------------------------------------------------------------------------

    def build(self, plans: list[RankPlan], threads: int, fuse: bool) -> int:
        """Sends every other rank its plan; returns the simulator's id."""
        sim_id = self._next_id
        self._next_id += 1
        self.comm.broadcast_object(("build", sim_id, threads, fuse))
        for plan in plans[1:]:
            self.comm.send_object(plan, plan.rank, tag=tag_of(sim_id))
        return sim_id

    def run(self, sim_id: int, n_steps: int) -> None:
        """Tells the other ranks to run ``n_steps`` (rank 0 then runs its own part)."""
        self.comm.broadcast_object(("run", sim_id, n_steps))

    def reset(self, sim_id: int, data: list[list[tuple[str, int, Any]]]) -> None:
        """Tells the other ranks to reset, each with what rank 0 drew for it (``data[r]``:
        (kind, call index, value) per refilled operator)."""
        self.comm.broadcast_object(("reset", sim_id))
        for rank in range(1, self.size):
            self.comm.send_object(data[rank], rank, tag=tag_of(sim_id))

    def close(self, sim_id: int) -> None:
        self.comm.broadcast_object(("close", sim_id))

    def shutdown(self) -> None:
        """Ends the other ranks' service (at the end of the script)."""
        self.comm.broadcast_object(("exit",))

    # -- the other ranks ---------------------------------------------------------------

    def serve(self) -> None:
        """Carries out rank 0's commands until it sends "exit"; an error aborts the job."""
        try:
            while True:
                command = self.comm.broadcast_object(None)
                kind = command[0]
                if kind == "exit":
                    return
                sim_id = command[1]
                if kind == "build":
                    plan = self.comm.receive_object(0, tag=tag_of(sim_id))
                    runtime = RankRuntime(plan, threads=command[2], fuse=command[3])
                    self.served[sim_id] = Served(runtime, exchange_for(self.comm, plan, sim_id))
                elif kind == "run":
                    served = self.served[sim_id]
                    run_rank(self.comm, served.runtime, served.exchange, command[2], {})
                elif kind == "reset":
                    data = self.comm.receive_object(0, tag=tag_of(sim_id))
                    apply_reset(self.served[sim_id].runtime, data)
                elif kind == "close":
                    self.served.pop(sim_id, None)
                else:
                    raise RuntimeError(f"unknown command {command!r} from rank 0")
        except Exception:
            traceback.print_exc()
            abort_if_distributed()
            raise


def run_on_rank_zero(function: Callable[..., Any], *args: Any) -> None:
    """Runs ``function(*args)`` on rank 0 only, while every other rank serves the nengo
    simulators it makes, then ends the service: what ``python -m spikeshard.nengo`` does
    with a script. Without MPI (or on one rank) it just calls ``function``. Every rank
    calls it."""
    from spikeshard.comm import world

    comm = world(require_mpi=False)
    if not isinstance(comm, MpiComm) or comm.size == 1:
        function(*args)
        return
    ranks = Cluster(comm)
    activate(ranks)
    try:
        if comm.rank != 0:
            ranks.serve()
            return
        try:
            function(*args)
        finally:
            ranks.shutdown()
    finally:
        activate(None)


def tag_of(sim_id: int) -> int:
    return sim_id % _TAG_LIMIT


def exchange_for(comm: MpiComm, plan: RankPlan, sim_id: int) -> PointToPointExchange:
    """The point-to-point exchange of ``plan``'s cut signals with the other ranks."""
    return comm.exchange(
        tag_of(sim_id),
        {s: ch.size for s, ch in plan.channels_in.items() if s != plan.rank},
        {t: ch.size for t, ch in plan.channels_out.items() if t != plan.rank},
    )


def apply_reset(runtime: RankRuntime, data: list[tuple[str, int, Any]]) -> None:
    """Resets ``runtime`` with what rank 0 drew: noise generator states and tables."""
    runtime.reset()
    for kind, call, value in data:
        if kind == "noise":
            runtime.program.set_noise_state(runtime.results[call], *value)
        else:
            runtime.plan.calls[call].args[1][...] = value


def run_rank(
    comm: MpiComm,
    runtime: RankRuntime,
    exchange: PointToPointExchange,
    n_steps: int,
    python_steps: Mapping[tuple[int, int], Callable[[], None]],
    after_step: Callable[[], None] | None = None,
) -> list[np.ndarray] | None:
    """Runs this rank's part ``n_steps`` steps, then gathers every rank's probe samples
    on rank 0: returns, there, each rank's packed samples (see
    :meth:`RankRuntime.pack_samples`), None elsewhere. Every rank calls it."""
    runtime.run(n_steps, python_steps, exchange, after_step)
    exchange.finish()
    local = runtime.pack_samples()
    counts = comm.allgather_counts(np.array([local.size], dtype=np.int64))[:, 0]
    gathered = comm.gather_array(local, counts, root=0)
    if gathered is None:
        return None
    bounds = np.concatenate(([0], np.cumsum(counts)))
    return [gathered[bounds[r]:bounds[r + 1]] for r in range(comm.size)]
