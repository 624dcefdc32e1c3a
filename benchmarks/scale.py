"""Large Brunel-like networks on one or more MPI ranks: build time and rate, memory per rank,
simulation time, bytes exchanged, and a digest of every spike (to compare rank counts).

The network: ``--neurons`` LIF neurons with delta synapses (NEST's iaf_psc_delta, as in
Brunel 2000), 80% excitatory; each neuron receives exactly ``--indegree`` synapses, 80% from
excitatory and 20% from inhibitory neurons (fixed in-degree, multapses allowed), weight J
(excitatory) and -g J (inhibitory), delay 1.5 ms, and an independent Poisson drive of
``eta`` times the threshold rate. With the defaults the network is in the asynchronous
irregular regime at about 7 Hz.

Run it with any number of ranks (each rank prints its own line; rank 0 the summary)::

    python benchmarks/scale.py --neurons 100000 --duration 0.2
    spikeshard mpirun -np 2 benchmarks/scale.py --neurons 1000000 --duration 1.0

Memory figures come from ``/proc/self/status``: the build's peak growth is the peak resident
set during the build (``VmHWM``, reset before the build through ``/proc/self/clear_refs``)
minus the resident set before it, divided by the rank's synapses.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import spikeshard as ss


@dataclass(frozen=True)
class BrunelLike:
    """A Brunel (2000) model-A network with a fixed in-degree of ``indegree`` synapses."""

    n_neurons: int = 1_000_000
    indegree: int = 100
    j_mv: float = 0.5
    g: float = 6.0
    eta: float = 0.85
    delay_s: float = 0.0015
    tau_m_s: float = 0.020
    theta_mv: float = 20.0
    v_reset_mv: float = 10.0
    t_ref_s: float = 0.002

    @property
    def n_exc(self) -> int:
        return self.n_neurons * 4 // 5

    @property
    def indegree_exc(self) -> int:
        return self.indegree * 4 // 5

    @property
    def drive_rate_hz(self) -> float:
        """eta times the external rate that brings the mean input to threshold."""
        nu_threshold_hz = self.theta_mv / (self.j_mv * self.indegree_exc * self.tau_m_s)
        return self.eta * nu_threshold_hz * self.indegree_exc


def brunel_like(spec: BrunelLike, seed: int, threads: int | None, record: bool,
                **network_options: Any) -> tuple[ss.Network, list[ss.SpikeMonitor]]:
    """The network of ``spec`` and its spike monitors (none unless ``record``)."""
    params = dict(tau_m=spec.tau_m_s, c_m=1.0, v_rest=0.0, v_th=spec.theta_mv,
                  v_reset=spec.v_reset_mv, t_ref=spec.t_ref_s)
    initial = {"v": ss.Uniform(0.0, spec.theta_mv)}
    exc = ss.Population(ss.models.LIFDelta, n=spec.n_exc, label="exc", params=params,
                        initial=initial)
    inh = ss.Population(ss.models.LIFDelta, n=spec.n_neurons - spec.n_exc, label="inh",
                        params=params, initial=initial)
    k_exc = spec.indegree_exc
    k_inh = spec.indegree - k_exc
    objects: list[Any] = [exc, inh]
    for pre, k, weight in ((exc, k_exc, spec.j_mv), (inh, k_inh, -spec.g * spec.j_mv)):
        for post in (exc, inh):
            objects.append(ss.Projection(pre, post, weight=weight, topology="fixed_indegree",
                                         indegree=k, delay=spec.delay_s))
    for pop in (exc, inh):
        objects.append(ss.PoissonInput(target=pop, rate_hz=spec.drive_rate_hz,
                                       weight=spec.j_mv))
    monitors = [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)] if record else []
    net = ss.Network(*objects, *monitors, seed=seed, threads=threads, **network_options)
    return net, monitors


def memory_kib(field: str) -> int:
    """A field of /proc/self/status in KiB (VmRSS: resident now, VmHWM: peak)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak() -> bool:
    """Resets VmHWM to the current resident set (Linux >= 4.0); False where not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def spike_digest(monitors: list[ss.SpikeMonitor]) -> str:
    """SHA-256 over every monitor's (ids, times): equal digests mean equal spikes."""
    digest = hashlib.sha256()
    for mon in monitors:
        times, ids = mon.spikes
        digest.update(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
        digest.update(np.ascontiguousarray(times, dtype=np.float64).tobytes())
    return digest.hexdigest()[:16]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--neurons", type=int, default=BrunelLike.n_neurons)
    parser.add_argument("--indegree", type=int, default=BrunelLike.indegree)
    parser.add_argument("--eta", type=float, default=BrunelLike.eta)
    parser.add_argument("--j", type=float, default=BrunelLike.j_mv, help="J in mV")
    parser.add_argument("--g", type=float, default=BrunelLike.g)
    parser.add_argument("--duration", type=float, default=0.1, help="simulated seconds")
    parser.add_argument("--dt", type=float, default=1e-4, help="time step in seconds")
    parser.add_argument("--threads", type=int, default=None, help="threads per rank")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-record", action="store_true",
                        help="record no spikes (no digest; rates come from the engines' counts)")
    parser.add_argument("--exchange", default="auto", choices=["auto", "allgather", "alltoall"])
    parser.add_argument("--json", type=Path, default=None, help="append rank 0's summary here")
    args = parser.parse_args(argv)

    spec = BrunelLike(n_neurons=args.neurons, indegree=args.indegree, eta=args.eta,
                      j_mv=args.j, g=args.g)
    started = time.perf_counter()
    rss_start = memory_kib("VmRSS")
    net, monitors = brunel_like(spec, args.seed, args.threads, record=not args.no_record,
                                exchange=args.exchange)
    peak_resettable = reset_peak()
    rss_before = memory_kib("VmRSS")
    built_at = time.perf_counter()
    net.build(dt=args.dt)
    build_s = time.perf_counter() - built_at
    rss_built = memory_kib("VmRSS")
    peak_build = memory_kib("VmHWM")
    comm = net.comm
    assert comm is not None
    synapses = net.local_synapses
    threads = net.engine_threads or 1
    estimate = net.estimate_memory(comm.size, dt=args.dt, threads=threads)[comm.rank]
    run_at = time.perf_counter()
    net.run(args.duration, progress=False)
    run_s = time.perf_counter() - run_at
    wall_s = time.perf_counter() - started
    rank: dict[str, Any] = {
        "rank": comm.rank,
        "neurons": estimate.neurons,
        "estimate_mib": estimate.total_bytes / 2**20,
        "estimate_peak_mib": estimate.peak_bytes / 2**20,
        "synapses": synapses,
        "build_s": build_s,
        "build_rate_per_core": synapses / build_s / threads,
        "rss_start_mib": rss_start / 1024,
        "rss_before_build_mib": rss_before / 1024,
        "rss_after_build_mib": rss_built / 1024,
        "peak_rss_mib": memory_kib("VmHWM") / 1024 if peak_resettable else float("nan"),
        "peak_growth_bytes_per_synapse": ((peak_build - rss_before) * 1024 / max(synapses, 1)
                                          if peak_resettable else float("nan")),
        "run_s": run_s,
        "wall_s": wall_s,
        "exchange": net.spike_exchange,
        "bytes_sent": net.exchanged_bytes[0],
        "bytes_received": net.exchanged_bytes[1],
        "ns_per_neuron_step": 0.0,
    }
    n_steps = round(args.duration / args.dt)
    rank["ns_per_neuron_step"] = run_s / max(rank["neurons"], 1) / n_steps * 1e9
    ranks = comm.allgather_object(rank)
    if comm.rank != 0:
        return 0
    for r in ranks:
        print(f"rank {r['rank']}: {r['neurons']} neurons, {r['synapses']:.3e} synapses, "
              f"build {r['build_s']:.2f} s ({r['build_rate_per_core'] / 1e6:.1f} M synapses/s"
              f"/core), peak RSS {r['peak_rss_mib']:.0f} MiB (build growth "
              f"{r['peak_growth_bytes_per_synapse']:.2f} B/synapse, after build "
              f"{r['rss_after_build_mib']:.0f} MiB; estimate {r['estimate_mib']:.0f} MiB of "
              f"data, {r['estimate_peak_mib']:.0f} at peak), run {r['run_s']:.2f} s "
              f"({r['ns_per_neuron_step']:.2f} ns per neuron-step), {r['exchange']} exchange: "
              f"{(r['bytes_sent'] + r['bytes_received']) / args.duration / 1e6:.2f} MB moved per "
              f"simulated s, {(r['bytes_sent'] + r['bytes_received']) / r['run_s'] / 1e6:.2f} "
              "MB per wall s")
    summary: dict[str, Any] = {
        "neurons": args.neurons, "indegree": args.indegree, "duration_s": args.duration,
        "dt_s": args.dt, "ranks": comm.size, "threads": threads, "seed": args.seed,
        "drive_rate_hz": spec.drive_rate_hz, "ranks_detail": ranks,
        "wall_s": max(r["wall_s"] for r in ranks),
    }
    # Every rank's count of emitted spikes, gathered at the end of the run (no monitor needed).
    count = sum(t.spikes for t in net.timers_per_rank)
    summary["spikes"] = count
    summary["rate_hz"] = count / args.neurons / args.duration
    if monitors:
        summary["digest"] = spike_digest(monitors)
    print(f"{count} spikes, {summary['rate_hz']:.2f} Hz, digest {summary.get('digest', '-')}")
    print(f"{comm.size} rank(s): wall {summary['wall_s']:.2f} s including build")
    if args.json is not None:
        with args.json.open("a") as out:
            out.write(json.dumps(summary) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
