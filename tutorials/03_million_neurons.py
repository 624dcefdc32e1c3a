"""A million neurons and a hundred million synapses on a workstation.

A Brunel (2000) network scaled to 10^6 leaky integrate-and-fire neurons with delta synapses
(NEST's iaf_psc_delta), 80% excitatory. Every neuron receives exactly 100 synapses, 80 from
excitatory and 20 from inhibitory neurons drawn at random (10^8 synapses), all with a delay
of 1.5 ms, and an independent Poisson drive just below the rate that would bring its mean
input to threshold. Inhibition is six times stronger than excitation, so the network settles
into an asynchronous irregular state at about 7 Hz.

Before building, every rank prints the memory the estimate expects it to need; after the run
it prints what it took: build time and rate, peak resident memory. Rank 0 prints rates,
irregularity and synchrony and saves a raster of the first 1,000 neurons::

    spikeshard mpirun -np 2 tutorials/03_million_neurons.py          # 10^6 neurons, 1 s
    spikeshard mpirun -np 2 tutorials/03_million_neurons.py 10000000 0.1

Results are the same spikes for any number of ranks and threads.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np

import spikeshard as ss

N_NEURONS = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1_000_000
DURATION_S = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
INDEGREE = 100  # synapses onto every neuron: 80 excitatory, 20 inhibitory
J_MV = 0.5  # excitatory weight; inhibitory is -G * J
G = 6.0
ETA = 0.85  # drive rate relative to the rate that brings the mean input to threshold
THETA_MV, TAU_M_S = 20.0, 0.020

n_exc = N_NEURONS * 4 // 5
k_exc = INDEGREE * 4 // 5
params = dict(tau_m=TAU_M_S, c_m=1.0, v_rest=0.0, v_th=THETA_MV, v_reset=10.0, t_ref=0.002)
initial = {"v": ss.Uniform(0.0, THETA_MV)}
exc = ss.Population(ss.models.LIFDelta, n=n_exc, label="exc", params=params, initial=initial)
inh = ss.Population(ss.models.LIFDelta, n=N_NEURONS - n_exc, label="inh", params=params,
                    initial=initial)
projections = [
    ss.Projection(pre, post, weight=weight, topology="fixed_indegree", indegree=k,
                  delay=0.0015)
    for pre, k, weight in ((exc, k_exc, J_MV), (inh, INDEGREE - k_exc, -G * J_MV))
    for post in (exc, inh)
]
drive_rate_hz = ETA * THETA_MV / (J_MV * k_exc * TAU_M_S) * k_exc
drives = [ss.PoissonInput(target=pop, rate_hz=drive_rate_hz, weight=J_MV) for pop in (exc, inh)]
monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)]
net = ss.Network(exc, inh, *projections, *drives, *monitors, seed=2026)

started = time.perf_counter()
net.build(dt=1e-4)
build_s = time.perf_counter() - started
comm = net.comm
assert comm is not None
estimate = net.estimate_memory(comm.size, threads=net.engine_threads or 1)[comm.rank]
net.run(DURATION_S)
wall_s = time.perf_counter() - started

peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
line = (f"rank {comm.rank}: {net.local_synapses:.3g} synapses built in {build_s:.1f} s "
        f"({net.local_synapses / build_s / 1e6:.0f} M/s), peak RSS {peak_mib:.0f} MiB "
        f"(estimate {estimate.total_bytes / 2**20:.0f} MiB of data), "
        f"{net.spike_exchange} exchange")
everyone = comm.allgather_object(line)
if comm.rank != 0:
    sys.exit(0)
print("\n".join(everyone))
print(f"{comm.size} rank(s): {N_NEURONS} neurons, {DURATION_S} s in {wall_s:.1f} s wall "
      "including the build")


def isi_cv(times: np.ndarray, ids: np.ndarray) -> float:
    """Mean coefficient of variation of the inter-spike intervals (1 for Poisson)."""
    order = np.lexsort((times, ids))
    times, ids = times[order], ids[order]
    cvs = [np.std(np.diff(t)) / np.mean(np.diff(t))
           for t in np.split(times, np.flatnonzero(np.diff(ids)) + 1) if len(t) >= 3]
    return float(np.mean(cvs)) if cvs else float("nan")


def fano(times: np.ndarray, bin_s: float = 0.005, after_s: float = 0.1) -> float:
    """Fano factor of the population count in 5 ms bins: about 1 when asynchronous."""
    late = times[times > after_s]
    if DURATION_S <= after_s or late.size == 0:
        return float("nan")
    counts, _ = np.histogram(late, bins=round((DURATION_S - after_s) / bin_s),
                             range=(after_s, DURATION_S))
    return float(counts.var() / max(counts.mean(), 1e-12))


for mon in monitors:
    times, ids = mon.spikes
    print(f"{mon.source.label}: {mon.count} spikes, {mon.mean_rate():.2f} Hz, ISI CV "
          f"{isi_cv(times, ids):.2f}, Fano factor {fano(times):.1f}")
try:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
figure, ax = plt.subplots(figsize=(9, 4))
ss.plotting.raster(*monitors, ax=ax, max_neurons=1000)
ax.set_title(f"{N_NEURONS:,} neurons: the first 1,000 of each population")
out = Path(__file__).with_name("03_raster.png")
figure.tight_layout()
figure.savefig(out, dpi=110)
print(f"raster saved to {out}")
