"""``Population``: a group of neurons of one model. A declaration only: nothing per neuron is
allocated until a rank builds the neurons it owns."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _validate
from .distributions import Normal, Uniform
from .errors import ModelError, NetworkError
from .models.base import NeuronModel


class Population:
    """``n`` neurons of ``model`` with shared parameters.

    Parameters
    ----------
    model : type[NeuronModel]
        The model class, e.g. ``spikeshard.models.LIF``.
    n : int
        Number of neurons (>= 1).
    label : str, optional
        Name used in reports and errors.
    params : dict, optional
        Model parameters overriding the model's defaults (units in the model's docstring;
        times in seconds).
    initial : dict, optional
        Initial value of state variables: a number, a ``Uniform``/``Normal`` distribution
        (drawn per neuron from the network seed), or an array of length ``n``.
    """

    def __init__(
        self,
        model: type[NeuronModel],
        n: int,
        label: str | None = None,
        params: Mapping[str, Any] | None = None,
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        if not (isinstance(model, type) and issubclass(model, NeuronModel)):
            raise ModelError(
                f"model = {model!r}: expected a neuron model class such as spikeshard.models.LIF"
            )
        self.model = model
        self.n = _validate.count("n", n, minimum=1)
        self.label = _validate.label(label)
        for name, value in (("params", params), ("initial", initial)):
            if value is not None and not isinstance(value, Mapping):
                raise ModelError(
                    f"{name} = {value!r}: expected a dict of {model.__name__} "
                    f"{'parameters' if name == 'params' else 'state variables'}"
                )
        self.params: dict[str, float] = model.resolve_params(params)
        self.initial = self._check_initial(initial or {})

    def _check_initial(self, initial: Mapping[str, Any]) -> dict[str, Any]:
        names = self.model.state_names()
        checked: dict[str, Any] = {}
        for name, value in initial.items():
            if name not in names:
                raise ModelError(
                    f"initial[{name!r}]: {self.model.__name__} has no state variable {name!r}; "
                    f"its state variables are {list(names)}"
                )
            if isinstance(value, (Uniform, Normal)):
                checked[name] = value
            elif np.ndim(value) == 0:
                checked[name] = _validate.real(f"initial[{name!r}]", value)
            else:
                try:
                    array = np.asarray(value, dtype=np.float64)
                except (TypeError, ValueError):
                    raise NetworkError(
                        f"initial[{name!r}] = {value!r}: expected a number, a distribution "
                        f"or an array of {self.n} numbers"
                    ) from None
                if array.shape != (self.n,):
                    raise NetworkError(
                        f"initial[{name!r}] has shape {array.shape}: expected ({self.n},)"
                    )
                if not np.all(np.isfinite(array)):
                    bad = int(np.flatnonzero(~np.isfinite(array))[0])
                    raise NetworkError(
                        f"initial[{name!r}] contains non-finite values: "
                        f"initial[{name!r}][{bad}] = {float(array[bad])!r}"
                    )
                checked[name] = array
        return checked

    @property
    def name(self) -> str:
        return self.label or f"{self.model.__name__}[{self.n}]"

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, key: slice) -> PopulationSlice:
        """A contiguous slice of neurons, for ``assignments={pop[0:100]: 1}``."""
        if not isinstance(key, slice) or key.step not in (None, 1):
            raise NetworkError(f"{self.name}[{key!r}]: expected a contiguous slice like [a:b]")
        start, stop, _ = key.indices(self.n)
        if stop <= start:
            raise NetworkError(f"{self.name}[{key!r}] is empty")
        return PopulationSlice(self, start, stop)

    def __repr__(self) -> str:
        return f"Population({self.model.__name__}, n={self.n}, label={self.label!r})"


@dataclass(frozen=True, eq=False)
class PopulationSlice:
    """Neurons [start, stop) of a population (used to place parts of it on components)."""

    population: Population
    start: int
    stop: int

    @property
    def n(self) -> int:
        return self.stop - self.start
