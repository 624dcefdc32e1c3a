"""spikeshard's nengo backend: ``spikeshard.nengo.Simulator``, a drop-in for ``nengo.Simulator``.

Needs the ``nengo`` extra (``pip install spikeshard[nengo]``).
"""

from spikeshard.nengo.simulator import Simulator

__all__ = ["Simulator"]
