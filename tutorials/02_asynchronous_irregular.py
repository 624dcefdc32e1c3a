"""The tutorial's network with a drive that makes it clearly active and asynchronous-irregular.

Same populations and topology as ``01_mpi_demo.py`` (10,000 excitatory and 2,500 inhibitory
Hodgkin–Huxley neurons, random projections, dt = 1 ms). There, 50 Hz of 1 µA/cm² input
spikes into the excitatory neurons is far below what a Hodgkin–Huxley neuron needs to fire,
so the network stays silent. Here every neuron gets its own 300 Hz train of 4 µA/cm² inputs:
the mean input stays below the firing threshold and its fluctuations make each neuron fire
irregularly. Weak recurrent weights (0.02 excitatory, -0.1 inhibitory, as in the tutorial;
the inhibitory neurons also inhibit each other) and delays spread over 1–5 ms keep the
population asynchronous: the population spike count has a Fano factor near 1. With equal
1 ms delays or stronger coupling this network oscillates instead.

Run it on any number of ranks; rank 0 prints rates, irregularity (ISI CV) and synchrony and
saves a raster plot::

    spikeshard mpirun -np 2 tutorials/02_asynchronous_irregular.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import spikeshard as ss

DRIVE_RATE_HZ = 300.0  # an independent Poisson train into every neuron
DRIVE_WEIGHT = 4.0  # µA/cm² per input spike (exponential current, tau_syn_ex = 2 ms)

initial = {"v": ss.Uniform(-70.0, -60.0)}
exc = ss.Population(ss.models.HodgkinHuxleyNeuron, n=10_000, label="exc", initial=initial)
inh = ss.Population(ss.models.HodgkinHuxleyNeuron, n=2_500, label="inh", initial=initial)
delay = ss.Uniform(0.001, 0.005)  # s; spread delays keep the population from locking in phase
exc_exc = ss.Projection(exc, exc, weight=0.02, topology="random", probability=0.02, delay=delay)
exc_inh = ss.Projection(exc, inh, weight=0.02, topology="random", probability=0.05, delay=delay)
inh_exc = ss.Projection(inh, exc, weight=-0.1, topology="random", probability=0.05, delay=delay)
inh_inh = ss.Projection(inh, inh, weight=-0.1, topology="random", probability=0.05, delay=delay)
drives = [ss.PoissonInput(target=pop, rate_hz=DRIVE_RATE_HZ, weight=DRIVE_WEIGHT)
          for pop in (exc, inh)]
monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)]
net = ss.Network(exc, inh, exc_exc, exc_inh, inh_exc, inh_inh, *drives, *monitors, seed=2026)

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


def synchrony(times: np.ndarray, bin_s: float = 0.005, after_s: float = 0.2) -> float:
    """Fano factor of the population spike count in 5 ms bins after the initial transient:
    about 1 for asynchronous activity, far larger for synchronous bursts or oscillations."""
    counts, _ = np.histogram(times[times > after_s], bins=round((1.0 - after_s) / bin_s),
                             range=(after_s, 1.0))
    return float(counts.var() / max(counts.mean(), 1e-12))


if comm.rank == 0:
    print(f"{comm.size} rank(s), {elapsed:.2f} s for 1 s of network time")
    for mon in monitors:
        times, ids = mon.spikes
        print(f"{mon.source.label}: {mon.count} spikes, {mon.mean_rate():.2f} Hz, "
              f"ISI CV {isi_cv(times, ids):.2f}, count Fano factor "
              f"{synchrony(times):.2f}")
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
