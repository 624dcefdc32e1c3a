"""Operands of the Rust program: nengo signal arrays, and the elements an operator uses.

Every lowering (:mod:`spikeshard.nengo.lowering`, :mod:`spikeshard.nengo.learning`) turns its
signals into operands with these functions, and raises :class:`Unsupported` for a signal the
program cannot address.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: An operand as the program takes it: an array and the offsets of the elements used.
Operand = tuple[np.ndarray, np.ndarray | None]


class Unsupported(Exception):
    """The operator must run in Python; the message says why."""


def float_array(value: Any, what: str) -> np.ndarray:
    """``value`` as a float64 ndarray the program can address, or Unsupported."""
    if not isinstance(value, np.ndarray) or value.dtype != np.float64:
        raise Unsupported(
            f"{what} is {type(value).__name__} of {getattr(value, 'dtype', '?')}, not float64"
        )
    if value.strides and any(s % value.itemsize for s in value.strides):
        raise Unsupported(f"{what} has strides that are not whole elements")
    return value


def operand(array: np.ndarray, index: np.ndarray | None = None) -> Operand:
    """``array`` (optionally its flat C-order elements ``index``) as a program operand."""
    if array.flags.c_contiguous and (index is None or is_identity(index, array.size)):
        return array, None
    if array.ndim == 0:
        offsets = np.zeros(1, dtype=np.int64)
    else:
        strides = np.asarray(array.strides, dtype=np.int64) // array.itemsize
        grid = np.indices(array.shape, dtype=np.int64).reshape(array.ndim, -1)
        offsets = strides @ grid
    if index is not None:
        offsets = offsets[np.asarray(index, dtype=np.int64).ravel()]
    return array, np.ascontiguousarray(offsets, dtype=np.int64)


def is_identity(index: np.ndarray, size: int) -> bool:
    """Whether ``index`` selects all ``size`` elements in order (no gather needed)."""
    index = np.asarray(index)
    return index.size == size and bool(np.array_equal(index.ravel(), np.arange(size)))


def flat_index(array: np.ndarray, selection: Any = None) -> np.ndarray:
    """Flat C-order indices of ``array[selection]`` (all elements when None), keeping its shape."""
    index = np.arange(array.size, dtype=np.int64).reshape(array.shape)
    return index if selection is None else index[selection]


def fit_to(index: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``index`` broadcast to ``shape`` as numpy's ``dst[...] = src`` does (dropping leading 1s)."""
    while index.ndim > len(shape) and index.shape[0] == 1:
        index = index[0]
    try:
        return np.broadcast_to(index, shape)
    except ValueError as error:
        raise Unsupported(f"cannot broadcast {index.shape} to {shape}") from error
