"""The tutorial's network with parameters that give asynchronous-irregular activity.

Same sizes and topology as ``01_mpi_demo.py`` (10,000 excitatory and 2,500 inhibitory
Hodgkin–Huxley neurons, random projections, Poisson drive, dt = 1 ms), but with a drive strong
enough to make the neurons fire and inhibition strong enough to keep them irregular (balanced
regime). Run it on any number of ranks; rank 0 prints rates, irregularity and synchrony and
saves a raster plot::

    spikeshard mpirun -np 2 tutorials/02_asynchronous_irregular.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import spikeshard as ss

N_EXC, N_INH = 10_000, 2_500
DRIVE_RATE_HZ = 2_000.0   # independent Poisson input per neuron
DRIVE_WEIGHT = 2.5        # µA/cm² per input spike (exponential current, tau 2 ms)
W_EXC = 0.6               # µA/cm²
W_INH = -4.0              # µA/cm²

exc = ss.Population(ss.models.HodgkinHuxleyNeuron, n=N_EXC, label="exc",
                    initial={"v": ss.Uniform(-70.0, -60.0)})
inh = ss.Population(ss.models.HodgkinHuxleyNeuron, n=N_INH, label="inh",
                    initial={"v": ss.Uniform(-70.0, -60.0)})
projections = [
    ss.Projection(exc, exc, weight=W_EXC, topology="random", probability=0.02, delay=0.001),
    ss.Projection(exc, inh, weight=W_EXC, topology="random", probability=0.05, delay=0.001),
    ss.Projection(inh, exc, weight=W_INH, topology="random", probability=0.05, delay=0.001),
    ss.Projection(inh, inh, weight=W_INH, topology="random", probability=0.05, delay=0.001),
]
drives = [ss.PoissonInput(target=pop, rate_hz=DRIVE_RATE_HZ, weight=DRIVE_WEIGHT)
          for pop in (exc, inh)]
monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)]
net = ss.Network(exc, inh, *projections, *drives, *monitors, seed=2026)

started = time.perf_counter()
net.run(duration=1.0, dt=0.001, backend="mpi")
elapsed = time.perf_counter() - started
comm = net.comm
assert comm is not None


def isi_cv(times: np.ndarray, ids: np.ndarray) -> float:
    """Mean coefficient of variation of the inter-spike intervals (1 for Poisson)."""
    cvs = []
    order = np.lexsort((times, ids))
    times, ids = times[order], ids[order]
    for train in np.split(times, np.flatnonzero(np.diff(ids)) + 1):
        if len(train) >= 3:
            isi = np.diff(train)
            cvs.append(isi.std() / isi.mean())
    return float(np.mean(cvs)) if cvs else float("nan")


def synchrony(times: np.ndarray, n: int, bin_s: float = 0.005) -> float:
    """Variance over mean of the population spike count in 5 ms bins, per neuron (about 1
    for asynchronous activity, much larger for synchronous bursts)."""
    counts, _ = np.histogram(times, bins=int(1.0 / bin_s), range=(0.0, 1.0))
    return float(counts.var() / max(counts.mean(), 1e-12))


if comm.rank == 0:
    print(f"{comm.size} rank(s), {elapsed:.2f} s for 1 s of network time")
    for mon in monitors:
        times, ids = mon.spikes
        print(f"{mon.source.label}: {mon.count} spikes, {mon.mean_rate():.2f} Hz, "
              f"ISI CV {isi_cv(times, ids):.2f}, count Fano factor "
              f"{synchrony(times, mon.source.n):.2f}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit(0)
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(9, 6), sharex=True,
                                         height_ratios=(3, 1))
    ss.plotting.raster(*monitors, ax=top, max_neurons=500)
    top.set_title("asynchronous-irregular HH network (first 500 neurons of each population)")
    ss.plotting.rates(*monitors, ax=bottom)
    out = Path(__file__).with_name("02_raster.png")
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    print(f"raster saved to {out}")
