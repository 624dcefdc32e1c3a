"""Lowered operators as data: the program calls a lowering made, replayable on any arrays.

The lowerings (:mod:`spikeshard.nengo.lowering`) add each operator to a
:class:`~spikeshard._engine.NengoProgram` through calls such as ``add_copy(src, dst, inc)``
whose arguments are views of nengo's signal arrays. :class:`RecordingProgram` makes those
calls on a real program over the whole model's ``SignalDict`` (so every check the Rust side
makes happens during lowering, where a refusal still means "run it in Python") and records
each one as a :class:`Call` whose arrays are replaced by :class:`SignalView` (where in which
base signal, with which shape and strides) or kept as literal arrays (tables, index lists).
A component's program is then made by replaying the calls with
:meth:`Call.bind`, over the component's own arrays for those base signals, on this process
or on another MPI rank.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
from nengo.builder.signal import Signal, SignalDict

from spikeshard._engine import NengoProgram


@dataclass(frozen=True)
class SignalView:
    """An array argument that is a view of base signal ``base`` (its index in the plan's
    list of bases): the view starts ``offset`` bytes into the base's array."""

    base: int
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: np.dtype

    def bind(self, array: np.ndarray) -> np.ndarray:
        """The same view of ``array`` (the base signal's array on some component)."""
        return np.ndarray(
            self.shape, self.dtype, buffer=array, offset=self.offset, strides=self.strides
        )


@dataclass
class Call:
    """One call into the program: ``method(*args, **kwargs)``, arrays as :class:`SignalView`
    or literals. ``result`` is what the recording program returned (an id, or None)."""

    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    result: Any = None

    def bases(self) -> set[int]:
        """The base signals the call addresses."""
        found: set[int] = set()
        _walk(self.args, found)
        _walk(self.kwargs, found)
        return found

    def bind(self, arrays: Mapping[int, np.ndarray]) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The call's arguments with every view bound to ``arrays`` (base index -> array)."""
        return _bind(self.args, arrays), _bind(self.kwargs, arrays)

    def replay(self, program: NengoProgram, arrays: Mapping[int, np.ndarray]) -> Any:
        args, kwargs = self.bind(arrays)
        return getattr(program, self.method)(*args, **kwargs)


def _walk(value: Any, found: set[int]) -> None:
    if isinstance(value, SignalView):
        found.add(value.base)
    elif isinstance(value, (tuple, list)):
        for item in value:
            _walk(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _walk(item, found)


def _bind(value: Any, arrays: Mapping[int, np.ndarray]) -> Any:
    if isinstance(value, SignalView):
        return value.bind(arrays[value.base])
    if isinstance(value, tuple):
        return tuple(_bind(item, arrays) for item in value)
    if isinstance(value, list):
        return [_bind(item, arrays) for item in value]
    if isinstance(value, dict):
        return {key: _bind(item, arrays) for key, item in value.items()}
    return value


class BaseIndex:
    """Finds the base signal an array lives in, by address (nengo makes every signal array
    a view into its base's array, and base arrays never overlap)."""

    def __init__(self, signals: SignalDict) -> None:
        self.bases: list[Signal] = []
        self.arrays: list[np.ndarray] = []
        spans = []
        for signal, array in dict.items(signals):
            if signal.base is not signal or not isinstance(array, np.ndarray) or not array.size:
                continue
            index = len(self.bases)
            self.bases.append(signal)
            self.arrays.append(array)
            start = _address(array)
            spans.append((start, start + array.nbytes, index))
        spans.sort()
        self._starts = [s for s, _, _ in spans]
        self._spans = spans
        self.index_of = {id(signal): k for k, signal in enumerate(self.bases)}

    def view(self, array: np.ndarray) -> SignalView | None:
        """``array`` as a view of a base signal, or None if it lies in none."""
        if not array.size:
            return None
        address = _address(array)
        k = bisect.bisect_right(self._starts, address) - 1
        if k < 0:
            return None
        start, end, index = self._spans[k]
        if address >= end:
            return None
        return SignalView(index, address - start, array.shape, array.strides, array.dtype)


def _address(array: np.ndarray) -> int:
    return int(array.__array_interface__["data"][0])


class RecordingProgram:
    """A :class:`~spikeshard._engine.NengoProgram` over the whole model's signals that also
    records every ``add_*`` call (see the module docstring). ``calls_since(mark)`` gives the
    calls one operator's lowering made."""

    def __init__(self, program: NengoProgram, index: BaseIndex) -> None:
        self.program = program
        self.index = index
        self.calls: list[Call] = []

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.program, name)
        if not name.startswith("add_"):
            return method

        def record(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            call = Call(name, self._translate(args), self._translate(kwargs), result)
            self.calls.append(call)
            return result

        return record

    def _translate(self, value: Any) -> Any:
        if isinstance(value, np.ndarray):
            view = self.index.view(value)
            return value if view is None else view
        if isinstance(value, tuple):
            return tuple(self._translate(item) for item in value)
        if isinstance(value, list):
            return [self._translate(item) for item in value]
        if isinstance(value, dict):
            return {key: self._translate(item) for key, item in value.items()}
        return value


#: What a lowering adds operators to: a program, or one that records the calls too.
Program: TypeAlias = NengoProgram | RecordingProgram
