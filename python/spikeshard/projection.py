"""``Projection``: synapses from one population to another, declared as a rule (topology,
weight, delay). The synapses themselves are built per rank, on the target side."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _validate, units
from .distributions import Normal, Uniform
from .errors import NetworkError
from .population import Population

TOPOLOGIES = ("random", "all_to_all", "one_to_one", "fixed_indegree", "fixed_outdegree")

#: A weight or a delay: one number, a distribution, or one value per connection.
ValueLike = float | Uniform | Normal | npt.ArrayLike


class Projection:
    """Synapses from ``pre`` onto ``post``.

    Parameters
    ----------
    pre, post : Population
    weight : float, Uniform, Normal or array
        Synaptic weight in the post model's weight unit (``post.model.weight_unit``; pA for
        LIF, mV for LIFDelta, µA/cm² for HodgkinHuxleyNeuron). Positive weights excite,
        negative ones inhibit. A distribution is drawn per synapse (``Normal`` is clipped to
        its bounds); an array (one value per listed connection) needs ``connections``.
        Per-synapse weights are stored as float32.
    topology : str
        ``"random"`` (each pair independently with ``probability``), ``"all_to_all"``,
        ``"one_to_one"``, ``"fixed_indegree"`` (``indegree`` sources per target),
        ``"fixed_outdegree"`` (``outdegree`` targets per source). Ignored with ``connections``.
    probability : float
        Connection probability for ``"random"``, in [0, 1].
    indegree, outdegree : int
        For the fixed-degree topologies.
    connections : (pre_ids, post_ids)
        Explicit list of connections (population-local ids).
    delay : float, Uniform, Normal or array, optional
        Delay in seconds, rounded to whole steps; at least one step ``dt``. Default: ``dt``.
        A delay (or a distribution's lower bound) below ``dt`` is an error; a ``Normal``
        without ``low`` is clipped at ``dt``.
    allow_autapses : bool
        Whether a neuron may connect to itself when ``pre is post`` (default True, as NEST).
    allow_multapses : bool
        Whether fixed-degree rules may draw the same pair twice (default True, as NEST).
    label : str, optional
    """

    def __init__(
        self,
        pre: Population,
        post: Population,
        weight: ValueLike = 1.0,
        topology: str = "all_to_all",
        probability: float | None = None,
        *,
        indegree: int | None = None,
        outdegree: int | None = None,
        connections: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
        delay: ValueLike | None = None,
        allow_autapses: bool = True,
        allow_multapses: bool = True,
        label: str | None = None,
    ) -> None:
        for name, value in (("pre", pre), ("post", post)):
            if not isinstance(value, Population):
                raise NetworkError(f"{name} = {value!r}: expected a Population")
        if not post.model.receives_input:
            raise NetworkError(
                f"post = {post.name}: {post.model.__name__} neurons take no synaptic input"
            )
        self.pre, self.post = pre, post
        self.label = _validate.label(label)
        self.allow_autapses = bool(allow_autapses)
        self.allow_multapses = bool(allow_multapses)
        self.probability: float = 0.0
        self.degree: int = 0
        self.pre_ids: npt.NDArray[np.uint32] | None = None
        self.post_ids: npt.NDArray[np.uint32] | None = None
        if connections is not None:
            self.topology = "explicit"
            self._set_connections(connections)
        else:
            self.topology = self._set_topology(topology, probability, indegree, outdegree)
        self.weight = self._check_value("weight", weight)
        self.delay = None if delay is None else self._check_value("delay", delay, positive=True)
        if delay is not None:
            units.check_delay(delay)

    @property
    def n_connections(self) -> int | None:
        """Number of listed connections (explicit projections only)."""
        return None if self.pre_ids is None else len(self.pre_ids)

    def _set_topology(self, topology: Any, probability: Any, indegree: Any,
                      outdegree: Any) -> str:
        if topology not in TOPOLOGIES:
            raise NetworkError(
                f"topology = {topology!r}: expected one of {list(TOPOLOGIES)} "
                "or connections=(pre_ids, post_ids)"
            )
        if topology == "random":
            if probability is None:
                raise NetworkError("topology 'random' needs probability=p with p in [0, 1]")
            self.probability = _validate.real("probability", probability, low=0.0, high=1.0)
        elif probability is not None:
            raise NetworkError(f"probability = {probability!r} is only used by topology 'random'")
        for name, value in (("indegree", indegree), ("outdegree", outdegree)):
            if value is not None and topology != f"fixed_{name}":
                raise NetworkError(
                    f"{name} = {value!r} is only used by topology 'fixed_{name}' "
                    f"(topology = {topology!r})"
                )
        if topology == "one_to_one" and self.pre.n != self.post.n:
            raise NetworkError(
                f"one_to_one needs equal sizes: pre has {self.pre.n}, post has {self.post.n}"
            )
        same = self.pre is self.post and not self.allow_autapses
        if topology == "one_to_one" and same:
            raise NetworkError(
                "topology 'one_to_one' from a population onto itself with "
                "allow_autapses=False would only make the autapses it forbids"
            )
        if topology == "fixed_indegree":
            if indegree is None:
                raise NetworkError("topology 'fixed_indegree' needs indegree=k")
            self.degree = _validate.count("indegree", indegree)
            limit = self.pre.n - same
            if not self.allow_multapses and self.degree > limit:
                raise NetworkError(
                    f"indegree = {self.degree}: at most {limit} without multapses"
                )
        if topology == "fixed_outdegree":
            if outdegree is None:
                raise NetworkError("topology 'fixed_outdegree' needs outdegree=k")
            self.degree = _validate.count("outdegree", outdegree)
            limit = self.post.n - same
            if not self.allow_multapses and self.degree > limit:
                raise NetworkError(
                    f"outdegree = {self.degree}: at most {limit} without multapses"
                )
        return str(topology)

    def _set_connections(self, connections: Any) -> None:
        try:
            pre_raw, post_raw = connections
        except (TypeError, ValueError):
            raise NetworkError(
                f"connections = {connections!r}: expected (pre_ids, post_ids)"
            ) from None
        pre_ids = np.asarray(pre_raw)
        post_ids = np.asarray(post_raw)
        if pre_ids.ndim != 1 or post_ids.ndim != 1 or pre_ids.shape != post_ids.shape:
            raise NetworkError(
                f"connections: pre_ids shape {pre_ids.shape} and post_ids shape "
                f"{post_ids.shape} must be equal 1-d shapes"
            )
        for name, ids, size in (("pre_ids", pre_ids, self.pre.n), ("post_ids", post_ids,
                                                                   self.post.n)):
            if ids.size and (not np.issubdtype(ids.dtype, np.integer)):
                raise NetworkError(f"connections {name} have dtype {ids.dtype}: expected ints")
            if ids.size and (ids.min() < 0 or ids.max() >= size):
                bad = ids[(ids < 0) | (ids >= size)][0]
                raise NetworkError(
                    f"connections {name} contains {bad}: expected ids in [0, {size})"
                )
        self.pre_ids = pre_ids.astype(np.uint32)
        self.post_ids = post_ids.astype(np.uint32)

    def _check_value(self, name: str, value: Any, positive: bool = False) -> Any:
        if isinstance(value, (Uniform, Normal)):
            low = value.low
            # A Normal without ``low`` (-inf) is clipped at dt when built.
            if positive and low <= 0 and (isinstance(value, Uniform) or math.isfinite(low)):
                raise NetworkError(f"{name} = {value!r}: expected a positive lower bound")
            return value
        if np.ndim(value) == 0:
            number = _validate.real(name, value, low=0.0 if positive else -math.inf,
                                    low_open=positive)
            return number
        try:
            array = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise NetworkError(
                f"{name} = {value!r}: expected a number, a distribution or an array of numbers"
            ) from None
        if self.pre_ids is None:
            raise NetworkError(
                f"{name} given as an array of shape {array.shape}: per-connection values need "
                "connections=(pre_ids, post_ids)"
            )
        if array.shape != self.pre_ids.shape:
            raise NetworkError(
                f"{name} has shape {array.shape}: expected one value per connection "
                f"{self.pre_ids.shape}"
            )
        if not np.all(np.isfinite(array)):
            bad = int(np.flatnonzero(~np.isfinite(array))[0])
            raise NetworkError(
                f"{name} contains non-finite values (NaN or inf): "
                f"{name}[{bad}] = {float(array[bad])!r}"
            )
        if positive and np.any(array <= 0):
            bad = int(np.flatnonzero(array <= 0)[0])
            raise NetworkError(
                f"{name} contains values <= 0: {name}[{bad}] = {float(array[bad])!r}; "
                "expected positive delays"
            )
        return array

    def __repr__(self) -> str:
        return (
            f"Projection({self.pre.name} -> {self.post.name}, topology={self.topology!r}, "
            f"weight={self.weight!r})"
        )
