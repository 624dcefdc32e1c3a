"""Time nengo.Simulator and spikeshard.nengo.Simulator on nengo_mpi's two benchmark families.

Usage::

    python benchmarks/nengo_benchmarks.py                       # every network, both simulators
    python benchmarks/nengo_benchmarks.py stream16 random128 --repeats 5
    python benchmarks/nengo_benchmarks.py --simulators nengo    # the reference alone
    mpirun -np 2 python -m spikeshard.nengo benchmarks/nengo_benchmarks.py random1024 \
        --simulators spikeshard --partitioner metis             # spikeshard over 2 ranks

The networks (nengo_mpi's "stream" and "random graph" benchmarks as nengo networks):

- ``streamN``: a ring of N 4-D ensembles of 200 LIF neurons, each decoded into the next
  through a 5 ms lowpass synapse (the last into the first); a constant Node drives the first
  ensemble; three ensembles are probed with a 10 ms synapse. N = 16 and 64.
- ``random128``: 128 2-D ensembles of 100 LIF neurons; every ordered pair of distinct
  ensembles is connected with probability 0.05 (numpy RandomState(seed)), 5 ms synapses; a
  constant Node drives ensemble 0; two ensembles are probed with a 10 ms synapse.
- ``random1024``: the same with 1024 ensembles and probability 0.02 (about 21,000
  connections).

Under ``mpirun -np N python -m spikeshard.nengo`` (the script then runs on rank 0 only),
spikeshard's simulator is split into N components over the N ranks (``--partitioner``: the
default balances neurons, ``metis`` also minimises the dimensions crossing); the table says
on how many ranks. ``--reference-duration`` runs nengo for fewer seconds than spikeshard
(its build of random1024 alone takes tens of minutes); run ratios are then per step.

For each network the simulators alternate (nengo, spikeshard, nengo, ...) within one
process. Timed: building (the ``Simulator`` constructor, ``progress_bar=False``) and running
(``sim.run(duration)``, 1 s at dt = 1 ms). Both simulators build from the same seeded network,
so their probed outputs are compared (max abs difference to nengo's): a simulator whose
output differs by more than ``--atol`` is marked ``MISMATCH`` and gets no speed ratio. The
table shows medians over the repeats; ``nengo/x`` is nengo's median divided by the
simulator's (above 1: faster than nengo). nengo's decoder cache is off, so every build
solves its decoders. Raw results go to ``benchmarks/results/`` (not committed).
"""

from __future__ import annotations

import os

if __name__ == "__main__":
    # BLAS to one thread before numpy loads: nengo's dot products would otherwise use every
    # core; the simulators' own threads are set by --threads (spikeshard: SPIKESHARD_THREADS).
    for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        os.environ[_var] = "1"

import argparse  # noqa: E402
import gc  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from functools import partial  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import nengo  # noqa: E402
import numpy as np  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REFERENCE = "nengo"
#: Simulator name -> module whose ``Simulator`` class is timed.
SIMULATOR_MODULES = {"nengo": "nengo", "spikeshard": "spikeshard.nengo"}


@dataclass
class Bench:
    """One benchmark network, built: the network, what is probed, and its size."""

    name: str
    network: nengo.Network
    probes: dict[str, nengo.Probe]
    n_neurons: int
    n_connections: int
    description: str


def _driven_ensembles(n_ensembles: int, n_neurons: int, dimensions: int) -> list[nengo.Ensemble]:
    """Inside an open network: ``n_ensembles`` LIF ensembles, the first driven by a constant
    node (built as a constant signal: no Python call per step)."""
    stimulus = nengo.Node([0.5] * dimensions, label="stimulus")
    ensembles = [
        nengo.Ensemble(n_neurons, dimensions, neuron_type=nengo.LIF(), label=f"ens{i}")
        for i in range(n_ensembles)
    ]
    nengo.Connection(stimulus, ensembles[0], synapse=None)
    return ensembles


def _probes(ensembles: list[nengo.Ensemble], indices: set[int], synapse: float
            ) -> dict[str, nengo.Probe]:
    """Lowpass probes on the ensembles at ``indices``, labelled ``ens{i}``."""
    return {f"ens{i}": nengo.Probe(ensembles[i], synapse=nengo.Lowpass(synapse))
            for i in sorted(indices)}


def build_stream(
    n_ensembles: int,
    *,
    n_neurons: int = 200,
    dimensions: int = 4,
    synapse: float = 0.005,
    probe_synapse: float = 0.01,
    seed: int = 1,
) -> Bench:
    """nengo_mpi's stream benchmark: a ring of ``n_ensembles`` ensembles, each into the next."""
    if n_ensembles < 2:
        raise ValueError(f"a ring needs at least 2 ensembles, got {n_ensembles}")
    with nengo.Network(label=f"stream{n_ensembles}", seed=seed) as net:
        ensembles = _driven_ensembles(n_ensembles, n_neurons, dimensions)
        for i, pre in enumerate(ensembles):
            post = ensembles[(i + 1) % n_ensembles]
            nengo.Connection(pre, post, synapse=nengo.Lowpass(synapse))
        probes = _probes(ensembles, {0, n_ensembles // 2, n_ensembles - 1}, probe_synapse)
    return Bench(
        name=f"stream{n_ensembles}",
        network=net,
        probes=probes,
        n_neurons=n_ensembles * n_neurons,
        n_connections=n_ensembles + 1,
        description=f"ring of {n_ensembles} x {n_neurons} LIF, {dimensions}-D, "
        f"lowpass {synapse * 1e3:g} ms",
    )


def build_random_graph(
    n_ensembles: int,
    *,
    n_neurons: int = 100,
    dimensions: int = 2,
    p_connect: float = 0.05,
    synapse: float = 0.005,
    probe_synapse: float = 0.01,
    seed: int = 1,
) -> Bench:
    """nengo_mpi's random graph benchmark: each ordered pair connected with ``p_connect``."""
    rng = np.random.RandomState(seed)
    pairs = [
        (i, j)
        for i in range(n_ensembles)
        for j in range(n_ensembles)
        if i != j and rng.uniform() < p_connect
    ]
    with nengo.Network(label=f"random{n_ensembles}", seed=seed) as net:
        ensembles = _driven_ensembles(n_ensembles, n_neurons, dimensions)
        for i, j in pairs:
            nengo.Connection(ensembles[i], ensembles[j], synapse=nengo.Lowpass(synapse))
        probes = _probes(ensembles, {0, n_ensembles - 1}, probe_synapse)
    return Bench(
        name=f"random{n_ensembles}",
        network=net,
        probes=probes,
        n_neurons=n_ensembles * n_neurons,
        n_connections=len(pairs) + 1,
        description=f"{n_ensembles} x {n_neurons} LIF, {dimensions}-D, {len(pairs)} random "
        f"connections (p={p_connect:g}), lowpass {synapse * 1e3:g} ms",
    )


#: Benchmark name -> builder taking ``seed``.
NETWORKS: dict[str, Callable[..., Bench]] = {
    "stream16": partial(build_stream, 16),
    "stream64": partial(build_stream, 64),
    "random128": partial(build_random_graph, 128),
    "random1024": partial(build_random_graph, 1024, p_connect=0.02),
}


@dataclass
class Entry:
    """What the runner knows about one simulator on one network."""

    name: str
    simulator: type | None
    status: str = "ok"
    runs: list[dict[str, float]] = field(default_factory=list)
    #: Probed data of the first successful run (label -> array), for the comparison.
    data: dict[str, np.ndarray] | None = None
    #: Max abs difference of ``data`` to the reference simulator's.
    max_abs_diff: float | None = None
    #: Operators left in Python by spikeshard (its ``python_operators``), if it says.
    python_operators: int | None = None

    @property
    def active(self) -> bool:
        return self.status == "ok"

    def median(self, key: str) -> float | None:
        values = [run[key] for run in self.runs]
        return statistics.median(values) if values else None


def load_simulator(module_name: str) -> type:
    """The ``Simulator`` class of ``module_name`` (ImportError/AttributeError if it has none)."""
    module = importlib.import_module(module_name)
    simulator: type = module.Simulator
    return simulator


def make_entries(names: list[str], modules: dict[str, str] | None = None) -> list[Entry]:
    """One entry per simulator name; one that cannot be imported is ``missing``, not an error."""
    modules = {**SIMULATOR_MODULES, **(modules or {})}
    entries = []
    for name in names:
        try:
            entries.append(Entry(name, load_simulator(modules[name])))
        except (ImportError, AttributeError) as exc:
            entries.append(Entry(name, None, status=f"missing ({exc})"))
    return entries


@contextmanager
def decoder_cache_disabled() -> Iterator[None]:
    """Every build solves its decoders (nengo's cache would make later builds faster)."""
    before = nengo.rc.get("decoder_cache", "enabled")
    nengo.rc.set("decoder_cache", "enabled", "False")
    try:
        yield
    finally:
        nengo.rc.set("decoder_cache", "enabled", before)


def time_once(
    simulator: type, bench: Bench, *, duration_s: float, dt_s: float, seed: int
) -> tuple[dict[str, float], dict[str, np.ndarray], int | None]:
    """Build and run ``bench`` once: timings, probed data, operators left in Python."""
    gc.collect()
    start = time.perf_counter()
    sim = simulator(bench.network, dt=dt_s, seed=seed, progress_bar=False)
    build_s = time.perf_counter() - start
    try:
        cpu_start = time.process_time()
        start = time.perf_counter()
        sim.run(duration_s)
        run_s = time.perf_counter() - start
        run_cpu_s = time.process_time() - cpu_start
        data = {label: np.array(sim.data[probe]) for label, probe in bench.probes.items()}
        python_ops = getattr(sim, "python_operators", None)
    finally:
        sim.close()
    steps = int(round(duration_s / dt_s))
    timings = {"build_s": build_s, "run_s": run_s, "run_cpu_s": run_cpu_s, "steps": steps}
    return timings, data, None if python_ops is None else len(python_ops)


def max_abs_diff(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> float:
    """Largest absolute difference between two runs' probed data over the samples both have
    (inf if their shapes differ otherwise)."""
    worst = 0.0
    for label, values in a.items():
        other = b.get(label)
        if other is None or other.shape[1:] != values.shape[1:]:
            return float("inf")
        n = min(len(values), len(other))
        values, other = values[:n], other[:n]
        if values.size:
            worst = max(worst, float(np.max(np.abs(values - other))))
    return worst


def run_benchmark(
    bench: Bench,
    entries: list[Entry],
    *,
    repeats: int,
    duration_s: float = 1.0,
    dt_s: float = 0.001,
    seed: int = 1,
    atol: float = 1e-6,
    log: Callable[[str], None] | None = None,
    reference_duration_s: float | None = None,
) -> None:
    """Alternate runs over the entries; drop one at its first failure; compare outputs (over
    the shorter run where the reference runs ``reference_duration_s``)."""
    with decoder_cache_disabled():
        for repeat in range(1, repeats + 1):
            for entry in entries:
                if not entry.active or entry.simulator is None:
                    continue
                label = f"[{repeat}/{repeats}] {bench.name} {entry.name}"
                duration = duration_s
                if entry.name == REFERENCE and reference_duration_s is not None:
                    duration = reference_duration_s
                try:
                    timings, data, python_ops = time_once(
                        entry.simulator, bench, duration_s=duration, dt_s=dt_s, seed=seed
                    )
                except Exception as exc:  # a backend failure is reported, not raised
                    entry.status = f"error ({type(exc).__name__}: {exc})"
                    if log:
                        log(f"{label}: {entry.status}")
                    continue
                entry.runs.append(timings)
                if entry.data is None:
                    entry.data = data
                    entry.python_operators = python_ops
                if log:
                    log(f"{label}: build {timings['build_s']:.3f} s, run {timings['run_s']:.3f} s")
    reference = next((e for e in entries if e.name == REFERENCE and e.data is not None), None)
    if reference is None or reference.data is None:
        return
    for entry in entries:
        if entry is not reference and entry.data is not None:
            entry.max_abs_diff = max_abs_diff(reference.data, entry.data)
            if entry.active and not entry.max_abs_diff <= atol:
                entry.status = f"MISMATCH (max |diff| {entry.max_abs_diff:.3g} > {atol:g})"


def ranks_note(entry: Entry) -> str:
    """" (N ranks)" for spikeshard split over MPI ranks."""
    ranks = getattr(entry.simulator, "ranks", 1)
    return f" ({ranks} ranks)" if ranks > 1 else ""


def split_over_ranks(simulator: type, partitioner_name: str) -> type:
    """``simulator`` (spikeshard's) split into as many components as there are ranks of the
    running ``python -m spikeshard.nengo`` with the named partition function; unchanged on
    one rank."""
    from spikeshard.nengo import Partitioner, cluster, metis_partitioner

    ranks = cluster.active()
    n_ranks = 1 if ranks is None else ranks.size
    func = {"default": None, "metis": metis_partitioner}[partitioner_name]
    partitioner = Partitioner(n_ranks, func=func)

    class Split(simulator):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, partitioner=partitioner, **kwargs)

    Split.__module__, Split.ranks = simulator.__module__, n_ranks  # type: ignore[attr-defined]
    return Split


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(results: list[tuple[Bench, list[Entry]]]) -> str:
    """One row per network and simulator: medians, ratios to nengo, agreement, status."""
    header = (
        "network",
        "simulator",
        "runs",
        "build s",
        "run s",
        "run min-max",
        "cpu/wall",
        "nengo/x build",
        "nengo/x run",
        "max|diff|",
        "py ops",
        "status",
    )
    rows: list[tuple[str, ...]] = [header]
    for bench, entries in results:
        reference = next((e for e in entries if e.name == REFERENCE and e.runs), None)
        for entry in entries:
            build_s, run_s = entry.median("build_s"), entry.median("run_s")
            cpu_s = entry.median("run_cpu_s")
            ratios: list[float | None] = [None, None]
            if reference is not None and entry.active:
                per_step = [
                    (e.median("run_s") or 0.0) / max(1.0, e.median("steps") or 1.0)
                    for e in (entry, reference)
                ]
                for i, (ours, ref) in enumerate(
                    ((build_s, reference.median("build_s")), (per_step[0], per_step[1]))
                ):
                    ratios[i] = ref / ours if ours and ref is not None else None
            spread = (
                f"{min(r['run_s'] for r in entry.runs):.3f}-"
                f"{max(r['run_s'] for r in entry.runs):.3f}"
                if entry.runs
                else "-"
            )
            rows.append(
                (
                    bench.name,
                    entry.name + ranks_note(entry),
                    str(len(entry.runs)),
                    _fmt(build_s, ".3f"),
                    _fmt(run_s, ".3f"),
                    spread,
                    _fmt(cpu_s / run_s if cpu_s is not None and run_s else None, ".2f"),
                    _fmt(ratios[0], ".2f"),
                    _fmt(ratios[1], ".2f"),
                    _fmt(entry.max_abs_diff, ".2g"),
                    "-" if entry.python_operators is None else str(entry.python_operators),
                    entry.status,
                )
            )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i < 2 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def to_record(
    args: argparse.Namespace, results: list[tuple[Bench, list[Entry]]], started: str
) -> dict[str, Any]:
    """Raw per-run results plus enough context to interpret them later."""
    return {
        "benchmark": "nengo",
        "started": started,
        "repeats": args.repeats,
        "duration_s": args.duration,
        "dt_s": args.dt,
        "seed": args.seed,
        "threads": args.threads,
        "atol": args.atol,
        "partitioner": args.partitioner,
        "reference_duration_s": args.reference_duration,
        "versions": {"nengo": nengo.__version__, "numpy": np.__version__},
        "host": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
        "networks": [
            {
                "name": bench.name,
                "description": bench.description,
                "n_neurons": bench.n_neurons,
                "n_connections": bench.n_connections,
                "simulators": [
                    {
                        "name": e.name,
                        "ranks": getattr(e.simulator, "ranks", 1),
                        "status": e.status,
                        "max_abs_diff": e.max_abs_diff,
                        "python_operators": e.python_operators,
                        "runs": e.runs,
                    }
                    for e in entries
                ],
            }
            for bench, entries in results
        ],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark nengo.Simulator against spikeshard.nengo.Simulator.",
    )
    parser.add_argument(
        "networks",
        nargs="*",
        metavar="NETWORK",
        help=f"benchmark networks (default: all of {', '.join(NETWORKS)})",
    )
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per simulator")
    parser.add_argument(
        "--simulators",
        default="nengo,spikeshard",
        help="comma-separated simulators, some of: nengo, spikeshard (default: both)",
    )
    parser.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    parser.add_argument("--dt", type=float, default=0.001, help="time step (s)")
    parser.add_argument("--seed", type=int, default=1, help="network and simulator seed")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="spikeshard's threads (SPIKESHARD_THREADS, RAYON_NUM_THREADS); BLAS stays at 1",
    )
    parser.add_argument(
        "--atol",
        type=float,
        default=1e-6,
        help="largest max abs difference to nengo's probed output that counts as agreeing",
    )
    parser.add_argument(
        "--reference-duration",
        type=float,
        default=None,
        help="seconds nengo runs (default: --duration); run ratios are per step",
    )
    parser.add_argument(
        "--partitioner",
        choices=("default", "metis"),
        default="default",
        help="spikeshard's partition function under mpirun (one component per rank)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write raw results here")
    # Time another module's Simulator in spikeshard's place (e.g. a stand-in while testing).
    parser.add_argument("--simulator-module", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.networks = list(dict.fromkeys(args.networks or NETWORKS))
    if unknown := [n for n in args.networks if n not in NETWORKS]:
        parser.error(f"unknown network(s) {', '.join(unknown)}; expected some of: "
                     f"{', '.join(NETWORKS)}")
    args.simulators = [s.strip() for s in args.simulators.split(",") if s.strip()]
    unknown = [s for s in args.simulators if s not in SIMULATOR_MODULES]
    if unknown or not args.simulators:
        parser.error(f"--simulators: expected some of {', '.join(SIMULATOR_MODULES)}")
    args.simulators = list(dict.fromkeys(args.simulators))
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    # Before spikeshard is imported (its thread pool reads these once).
    for var in ("SPIKESHARD_THREADS", "RAYON_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    modules = {"spikeshard": args.simulator_module} if args.simulator_module else {}

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log(
        f"nengo {nengo.__version__}, numpy {np.__version__}; {args.duration:g} s at "
        f"dt={args.dt * 1e3:g} ms, {args.repeats} repeat(s), seed {args.seed}, "
        f"{args.threads} thread(s)"
    )
    results = []
    for name in args.networks:
        bench = NETWORKS[name](seed=args.seed)
        entries = make_entries(args.simulators, modules)
        for entry in entries:
            if entry.name == "spikeshard" and entry.simulator is not None:
                entry.simulator = split_over_ranks(entry.simulator, args.partitioner)
        log(f"{bench.name}: {bench.description}; {bench.n_neurons} neurons")
        for entry in entries:
            where = entry.simulator.__module__ if entry.simulator else "-"
            log(f"  {entry.name}: {where} [{entry.status}]")
        run_benchmark(
            bench,
            entries,
            repeats=args.repeats,
            duration_s=args.duration,
            dt_s=args.dt,
            seed=args.seed,
            atol=args.atol,
            log=log,
            reference_duration_s=args.reference_duration,
        )
        results.append((bench, entries))
    print(format_table(results))
    stamp = started.replace("-", "").replace(":", "").replace("T", "-")
    path = args.json or RESULTS_DIR / f"nengo-{stamp}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(to_record(args, results, started), indent=2) + "\n")
    log(f"raw results: {path}")
    mismatched = any(e.status.startswith("MISMATCH") for _, entries in results for e in entries)
    return 1 if mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
