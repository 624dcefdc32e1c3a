"""Smoke test of an installed spikeshard wheel (run by .ci/portable_wheel.sh, under qemu as
older CPUs): imports it, runs a small LIF network and a small Hodgkin-Huxley network, and
prints one JSON line with the SIMD level compiled in and a hash of each network's spikes."""

from __future__ import annotations

import hashlib
import json

import numpy as np

import spikeshard as ss
from spikeshard import _engine


def spike_hash(monitor: ss.SpikeMonitor) -> str:
    times, ids = monitor.spikes
    data = np.round(times, 12).tobytes() + ids.astype(np.int64).tobytes()
    return f"{len(ids)}:{hashlib.sha256(data).hexdigest()[:16]}"


def lif() -> str:
    exc = ss.Population(ss.models.LIF, 400, params={"i_e": 360.0},
                        initial={"v": ss.Uniform(-70.0, -55.0)})
    inh = ss.Population(ss.models.LIF, 100, params={"i_e": 300.0})
    mon = ss.SpikeMonitor(exc)
    net = ss.Network(exc, inh, mon,
                     ss.Projection(exc, inh, weight=80.0, topology="random", probability=0.1,
                                   delay=5e-4),
                     ss.Projection(inh, exc, weight=-200.0, topology="random",
                                   probability=0.2, delay=ss.Uniform(1e-4, 1e-3)),
                     ss.PoissonInput(exc, rate_hz=1000.0, weight=30.0), seed=1, threads=1)
    net.run(0.05, dt=1e-4, progress=False)
    return spike_hash(mon)


def hodgkin_huxley() -> str:
    pop = ss.Population(ss.models.HodgkinHuxleyNeuron, 100,
                        initial={"v": ss.Uniform(-70.0, -60.0)})
    mon = ss.SpikeMonitor(pop)
    net = ss.Network(pop, mon, ss.Projection(pop, pop, weight=0.5, topology="random",
                                             probability=0.1),
                     ss.PoissonInput(pop, rate_hz=300.0, weight=4.0), seed=2, threads=1)
    net.run(0.05, dt=1e-3, progress=False)
    return spike_hash(mon)


if __name__ == "__main__":
    print(json.dumps({"simd": _engine.simd_level(), "lif": lif(),
                      "hodgkin_huxley": hodgkin_huxley()}))
