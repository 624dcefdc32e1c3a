"""The benchmark runner still works (one quick CUBA run of spikeshard alone)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_cuba_benchmark_runs_and_reports_spikeshard(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "cuba", "--repeats", "1",
         "--peers", "none", "--json", str(tmp_path / "cuba.json")],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    row = next(line for line in done.stdout.splitlines() if line.startswith("spikeshard"))
    assert row.split()[-1] == "ok"
    assert (tmp_path / "cuba.json").exists()
