"""Small argument checks shared by the declarations; each names the argument and its value."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import NetworkError


def count(name: str, value: Any, minimum: int = 0) -> int:
    """An integer >= ``minimum`` (bools are rejected)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise NetworkError(f"{name} = {value!r}: expected an integer >= {minimum}")
    if value < minimum:
        raise NetworkError(f"{name} = {value!r}: expected an integer >= {minimum}")
    return int(value)


def real(name: str, value: Any, *, low: float = -math.inf, high: float = math.inf,
         low_open: bool = False) -> float:
    """A finite real number in [low, high] (or (low, high] with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise NetworkError(f"{name} = {value!r}: expected a real number")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise NetworkError(f"{name} = {number!r}: expected a finite number")
    if number < low or number > high or (low_open and number == low):
        left = "(" if low_open else "["
        raise NetworkError(f"{name} = {number!r}: expected a value in {left}{low}, {high}]")
    return number


def flag(name: str, value: Any) -> bool:
    """A boolean (``True``/``False`` or numpy's): 0, 1, "yes" or None are refused, since a
    truthy value would be silently taken for what the caller may not have meant."""
    if not isinstance(value, (bool, np.bool_)):
        raise NetworkError(f"{name} = {value!r}: expected True or False")
    return bool(value)


def label(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise NetworkError(f"label = {value!r}: expected a string")
    return value
