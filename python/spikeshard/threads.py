"""How many threads a rank runs: the limit, the check of a user's count, and the default
(``SPIKESHARD_THREADS``, else the cores of this node shared by its ranks).

Used by ``Network``, the nengo backend and the CLI, so it imports none of them; it reads the
limit from the Rust engine and asks the communicator only how many ranks share the node.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from . import _engine, _validate
from .errors import NetworkError

if TYPE_CHECKING:
    from .comm import Comm

#: More threads than this per rank is certainly a mistake (each one is an OS thread); the
#: Rust engine's limit.
MAX_THREADS: int = _engine.MAX_THREADS


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def check_threads(threads: Any) -> int:
    """A thread count in [1, MAX_THREADS], or a NetworkError naming it."""
    value = _validate.count("threads", threads, 1)
    if value > MAX_THREADS:
        raise NetworkError(f"threads = {value}: expected at most {MAX_THREADS}")
    return value


def default_threads(comm: Comm) -> int:
    """Rayon threads per rank: ``SPIKESHARD_THREADS``, else cores / ranks on this node."""
    env = os.environ.get("SPIKESHARD_THREADS")
    if env:
        if not env.isdigit() or not 1 <= int(env) <= MAX_THREADS:
            raise NetworkError(
                f"SPIKESHARD_THREADS = {env!r}: expected an integer in [1, {MAX_THREADS}]")
        return int(env)
    return max(1, available_cores() // max(1, comm.ranks_on_node()))
