"""Engines step the neurons a rank owns. Both implement the same small protocol
(``protocol.Engine``); the Rust engine is the fast path, the numpy engine runs any model and
is the executable specification the Rust engine is tested against."""

from __future__ import annotations

from .protocol import Engine
from .rust import rust_supports_model

__all__ = ["Engine", "rust_supports_model"]
