"""The nengo benchmarks still work (tiny networks, a few steps)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("nengo")

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location(
    "nengo_benchmarks", ROOT / "benchmarks" / "nengo_benchmarks.py"
)
assert _spec is not None and _spec.loader is not None
nb = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = nb  # dataclasses look their module up there
_spec.loader.exec_module(nb)


def _tiny_benches() -> list:
    return [nb.build_stream(2, seed=3), nb.build_random_graph(8, p_connect=0.3, seed=3)]


def test_networks_have_the_requested_shape() -> None:
    stream, graph = nb.build_stream(5), nb.build_random_graph(8, p_connect=0.3)
    assert len(stream.network.all_ensembles) == 5 and stream.n_neurons == 1000
    assert len(stream.network.all_connections) == stream.n_connections == 6
    assert sorted(stream.probes) == ["ens0", "ens2", "ens4"]
    assert len(graph.network.all_ensembles) == 8
    assert len(graph.network.all_connections) == graph.n_connections > 1
    pairs = [(c.pre_obj, c.post_obj) for c in graph.network.all_connections[1:]]
    assert all(pre is not post for pre, post in pairs) and len(set(pairs)) == len(pairs)
    # the same seed gives the same random graph
    again = nb.build_random_graph(8, p_connect=0.3)
    assert again.n_connections == graph.n_connections


def test_nengo_reference_runs_and_reports(tmp_path: Path) -> None:
    results = []
    for bench in _tiny_benches():
        entries = nb.make_entries(["nengo"])
        nb.run_benchmark(bench, entries, repeats=2, duration_s=0.01)
        (entry,) = entries
        assert entry.status == "ok" and len(entry.runs) == 2
        assert all(run["build_s"] > 0 and run["run_s"] > 0 for run in entry.runs)
        assert entry.data is not None
        assert all(values.shape == (10, bench.network.all_ensembles[0].dimensions)
                   for values in entry.data.values())
        results.append((bench, entries))
    table = nb.format_table(results)
    assert table.count(" ok") == 2


def test_cli_with_nengo_only(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "nengo_benchmarks.py"), "stream16",
         "--simulators", "nengo", "--repeats", "1", "--duration", "0.005",
         "--json", str(tmp_path / "nengo.json")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("stream16"))
    assert row.split()[1] == "nengo" and row.split()[-1] == "ok"
    assert (tmp_path / "nengo.json").exists()


def test_spikeshard_agrees_with_nengo() -> None:
    spikeshard_nengo = pytest.importorskip("spikeshard.nengo")
    if not hasattr(spikeshard_nengo, "Simulator"):
        pytest.skip("spikeshard.nengo has no Simulator yet")
    for bench in _tiny_benches():
        entries = nb.make_entries(["nengo", "spikeshard"])
        nb.run_benchmark(bench, entries, repeats=1, duration_s=0.05)
        assert [e.status for e in entries] == ["ok", "ok"], bench.name
        assert entries[1].max_abs_diff is not None and entries[1].max_abs_diff <= 1e-6
