"""Time spikeshard and peer simulators side by side on one benchmark network.

Usage::

    python benchmarks/run.py cuba --repeats 5 --peers brian2,nest --threads 1 \\
        --brian2-python /opt/peers/brian2-venv/bin/python \\
        --nest-python /opt/peers/nest-venv/bin/python

Runs alternate between simulators (spikeshard, brian2, nest, spikeshard, brian2, ...) so
that slow drifts of the machine hit all of them alike. Every run is a fresh subprocess. The
table shows medians over the repeats; the last column is simulate time of the simulator
divided by spikeshard's. Raw results go to ``benchmarks/results/`` (not committed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from networks import NETWORKS, get_network
from peers import SIMULATORS, AdapterError, Simulator, probe, resolve_python, run_once

RESULTS_DIR = Path(__file__).resolve().parent / "results"
REFERENCE = "spikeshard"


@dataclass
class Entry:
    """What the runner knows about one simulator during a benchmark."""

    sim: Simulator
    python: str
    status: str = "ok"
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == "ok"

    def median(self, key: str) -> float | None:
        values = [float(run[key]) for run in self.runs]
        return statistics.median(values) if values else None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark spikeshard against peer simulators on one network.",
    )
    parser.add_argument("network", choices=sorted(NETWORKS), help="benchmark network")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per simulator")
    parser.add_argument(
        "--peers",
        default=None,
        help="comma-separated peers to compare (default: every peer with a version of the "
        "network; 'none' for spikeshard alone)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per simulator")
    parser.add_argument("--seed", type=int, default=1, help="seed passed to every simulator")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds allowed for one run")
    parser.add_argument(
        "--no-spikeshard", action="store_true", help="time the peers only (no ratio column)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write raw results here")
    for sim in SIMULATORS.values():
        parser.add_argument(
            sim.python_option,
            default=None,
            metavar="PYTHON",
            help=f"interpreter for {sim.name} (default: ${sim.python_env_var}, else this Python)",
        )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    if args.threads < 1:
        parser.error(f"--threads must be at least 1, got {args.threads}")
    return args


def select_simulators(args: argparse.Namespace, supported: tuple[str, ...]) -> list[Entry]:
    """Entries for spikeshard and the requested peers, with their availability checked."""
    if args.peers is None:
        names = list(supported)
    elif args.peers.strip().lower() in ("", "none"):
        names = []
    else:
        names = [name.strip() for name in args.peers.split(",") if name.strip()]
    unknown = [name for name in names if name not in SIMULATORS or name == REFERENCE]
    if unknown:
        peers = ", ".join(name for name in SIMULATORS if name != REFERENCE)
        raise SystemExit(f"unknown peer(s) {', '.join(unknown)}; expected some of: {peers}")
    if not args.no_spikeshard:
        names.insert(0, REFERENCE)
    entries = []
    for name in dict.fromkeys(names):
        sim = SIMULATORS[name]
        python = resolve_python(sim, getattr(args, f"{name}_python"))
        entry = Entry(sim, python)
        if name != REFERENCE and name not in supported:
            entry.status = f"n/a (no {args.network} adapter)"
        elif (reason := probe(sim, python)) is not None:
            entry.status = f"missing ({reason})"
        entries.append(entry)
    return entries


def run_benchmark(args: argparse.Namespace, entries: list[Entry]) -> None:
    """Alternate runs over the available simulators; drop one at its first failure."""
    spec = get_network(args.network)
    params = spec.to_request_params()
    for repeat in range(1, args.repeats + 1):
        for entry in entries:
            if not entry.active:
                continue
            label = f"[{repeat}/{args.repeats}] {entry.sim.name}"
            try:
                result = run_once(
                    entry.sim,
                    entry.python,
                    args.network,
                    params,
                    threads=args.threads,
                    seed=args.seed,
                    timeout_s=args.timeout,
                )
            except AdapterError as exc:
                entry.status = f"error ({exc})"
                print(f"{label}: {entry.status}", file=sys.stderr, flush=True)
                continue
            entry.runs.append(result)
            print(
                f"{label}: build {result['build_s']:.3f} s, sim {result['sim_s']:.3f} s, "
                f"{result['n_spikes']} spikes ({result['rate_hz']:.2f} Hz)",
                file=sys.stderr,
                flush=True,
            )


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def format_table(entries: list[Entry]) -> str:
    """One row per simulator: medians over its successful runs, and the simulate ratio."""
    reference = next((e for e in entries if e.sim.name == REFERENCE and e.runs), None)
    reference_sim = reference.median("sim_s") if reference else None
    header = (
        "simulator",
        "runs",
        "build s",
        "sim s",
        "sim min-max",
        "spikes",
        "rate Hz",
        "synapses",
        "cpu/wall",
        "sim/ss",
        "status",
    )
    rows: list[tuple[str, ...]] = [header]
    for entry in entries:
        sim_s = entry.median("sim_s")
        ratio = sim_s / reference_sim if sim_s is not None and reference_sim else None
        spread = (
            f"{min(r['sim_s'] for r in entry.runs):.3f}-{max(r['sim_s'] for r in entry.runs):.3f}"
            if entry.runs
            else "-"
        )
        n_spikes = entry.median("n_spikes")
        synapses = entry.runs[-1].get("n_synapses") if entry.runs else None
        # CPU seconds per wall second while simulating: about the number of busy threads.
        has_cpu = bool(entry.runs) and all("sim_cpu_s" in run for run in entry.runs)
        sim_cpu_s = entry.median("sim_cpu_s") if has_cpu else None
        cpu_per_wall = sim_cpu_s / sim_s if sim_cpu_s is not None and sim_s else None
        rows.append(
            (
                entry.sim.name,
                str(len(entry.runs)),
                _fmt(entry.median("build_s"), ".3f"),
                _fmt(sim_s, ".3f"),
                spread,
                "-" if n_spikes is None else str(round(n_spikes)),
                _fmt(entry.median("rate_hz"), ".3f"),
                "-" if synapses is None else str(synapses),
                _fmt(cpu_per_wall, ".2f"),
                _fmt(ratio, ".2f"),
                entry.status,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row[:-1], widths, strict=True))
        ]
        lines.append("  ".join([*cells, row[-1]]))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def write_json(args: argparse.Namespace, entries: list[Entry], path: Path, started: str) -> None:
    """Raw per-run results plus enough context to interpret them later."""
    record = {
        "network": get_network(args.network).to_request_params(),
        "repeats": args.repeats,
        "threads": args.threads,
        "seed": args.seed,
        "host": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpu_count": os.cpu_count(),
        },
        "started": started,
        "simulators": [
            {
                "name": e.sim.name,
                "python": e.python,
                "status": e.status,
                "runs": e.runs,
            }
            for e in entries
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    spec = get_network(args.network)
    entries = select_simulators(args, spec.peers)
    print(
        f"{spec.name}: {spec.description}; {spec.duration_s:g} s at dt={spec.dt_s * 1e3:g} ms, "
        f"{args.repeats} repeat(s), {args.threads} thread(s)",
        file=sys.stderr,
    )
    for entry in entries:
        print(f"  {entry.sim.name}: {entry.python} [{entry.status}]", file=sys.stderr)
    run_benchmark(args, entries)
    print(format_table(entries))
    for entry in entries:
        notes = {str(run["note"]) for run in entry.runs if "note" in run}
        for note in sorted(notes):
            print(f"note ({entry.sim.name}): {note}")
    stamp = started.replace("-", "").replace(":", "").replace("T", "-")
    path = args.json or RESULTS_DIR / f"{args.network}-{stamp}.json"
    write_json(args, entries, path, started)
    print(f"raw results: {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
