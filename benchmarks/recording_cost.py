"""What recording costs: the Brunel benchmark network (``networks.Brunel``) simulated without
monitors, with a SpikeMonitor on every neuron, and with those spikes also written to an HDF5
file as the run goes (``output=``). Each run is a fresh process; variants alternate; the
table gives medians of the simulate time and each variant's cost relative to no monitors.

    .venv/bin/python benchmarks/recording_cost.py --repeats 7
    .venv/bin/python benchmarks/recording_cost.py --variants none,spikes --duration 0.5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VARIANTS = ("none", "spikes", "hdf5")


def run_once(variant: str, duration: float, threads: int, seed: int) -> dict[str, Any]:
    """Builds and runs Brunel in this process; returns times and spike counts."""
    sys.path.insert(0, str(HERE))
    from networks import Brunel

    import spikeshard as ss

    spec = Brunel()
    p = {**spec.__dict__, **spec.derived()}
    params = {"tau_m": p["tau_m_s"], "v_rest": p["v_rest_mv"], "v_th": p["v_th_mv"],
              "v_reset": p["v_reset_mv"], "t_ref": p["t_ref_s"]}
    exc = ss.Population(ss.models.LIFDelta, n=p["n_exc"], label="exc", params=params,
                        initial={"v": p["v_init_mv"]})
    inh = ss.Population(ss.models.LIFDelta, n=p["n_inh"], label="inh", params=params,
                        initial={"v": p["v_init_mv"]})
    objects: list[Any] = [exc, inh]
    for pre, weight, indegree in ((exc, p["j_mv"], p["indegree_exc"]),
                                  (inh, p["j_inh_mv"], p["indegree_inh"])):
        for post in (exc, inh):
            objects.append(ss.Projection(pre, post, weight=weight, topology="fixed_indegree",
                                         indegree=indegree, delay=p["delay_s"]))
    objects += [ss.PoissonInput(target=pop, rate_hz=p["poisson_rate_hz"], weight=p["j_mv"])
                for pop in (exc, inh)]
    monitors = [] if variant == "none" else [ss.SpikeMonitor(exc), ss.SpikeMonitor(inh)]
    net = ss.Network(*objects, *monitors, seed=seed, threads=threads)
    net.build(dt=p["dt_s"], backend="rust")
    kwargs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        if variant == "hdf5":
            kwargs = {"output": str(Path(tmp) / "brunel.h5"), "flush_every": 0.1}
        started = time.perf_counter()
        net.run(duration, backend="rust", progress=False, **kwargs)
        sim_s = time.perf_counter() - started
    return {"variant": variant, "sim_s": sim_s,
            "recorded": sum(m.count for m in monitors),
            "recording_bytes": net.recording_bytes}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--duration", type=float, default=1.0, help="model seconds per run")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--once", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.once:
        print(json.dumps(run_once(args.once, args.duration, args.threads, args.seed)))
        return 0
    variants = args.variants.split(",")
    for variant in variants:
        if variant not in VARIANTS:
            parser.error(f"unknown variant {variant!r}: expected some of {list(VARIANTS)}")
    times: dict[str, list[float]] = {v: [] for v in variants}
    recorded: dict[str, int] = {}
    for _ in range(args.repeats):
        for variant in variants:
            done = subprocess.run(
                [sys.executable, __file__, "--once", variant, "--duration", str(args.duration),
                 "--threads", str(args.threads), "--seed", str(args.seed)],
                capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            times[variant].append(result["sim_s"])
            recorded[variant] = result["recorded"]
    base = statistics.median(times[variants[0]])
    print(f"Brunel, {args.duration} s, {args.threads} thread(s), medians of {args.repeats}")
    print(f"{'variant':>8} {'sim (s)':>9} {'min':>8} {'max':>8} {'vs ' + variants[0]:>10} "
          f"{'spikes':>10}")
    for variant in variants:
        median = statistics.median(times[variant])
        print(f"{variant:>8} {median:9.3f} {min(times[variant]):8.3f} {max(times[variant]):8.3f} "
              f"{median / base:10.3f} {recorded[variant]:>10}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
