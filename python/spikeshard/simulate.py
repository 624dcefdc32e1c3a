"""The run loop: advances a built rank interval by interval, exchanging spikes through the
communicator, and hands recorded data to the monitors.

In one process the engine runs whole chunks of intervals itself and comes back to Python
only a few times per second (for the progress bar); under MPI it comes back once per
exchange interval to exchange the interval's spikes (``comm.SpikeExchange``).
"""

from __future__ import annotations

import time
from typing import Any

from .build import BuiltRank
from .comm import Comm, SpikeExchange

#: Wall-clock seconds between progress updates (and Python round-trips in one process).
PROGRESS_PERIOD_S = 0.25


class _Progress:
    """A tqdm bar over simulated seconds showing the real-time factor; silent when off."""

    def __init__(self, enabled: bool | None, duration: float, t0: float) -> None:
        self.bar: Any = None
        if enabled is False:
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(
            total=round(duration, 9), unit="s(sim)", initial=0, desc=f"from t={t0:g} s",
            # None: appear only if the run takes more than two seconds.
            delay=0.0 if enabled else 2.0, leave=bool(enabled),
            bar_format="{l_bar}{bar}| {n:.3f}/{total:.3f} s [{elapsed}<{remaining}{postfix}]",
        )
        self.started = time.perf_counter()
        self.simulated = 0.0

    def update(self, simulated: float) -> None:
        if self.bar is None:
            return
        self.simulated += simulated
        wall = time.perf_counter() - self.started
        self.bar.set_postfix_str(f"{self.simulated / wall:.3g}x real time" if wall > 0 else "",
                                 refresh=False)
        # Never past the total: sums of float steps may overshoot it by round-off.
        self.bar.update(min(simulated, self.bar.total - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_steps(built: BuiltRank, comm: Comm, exchange: SpikeExchange, first_step: int,
              n_steps: int, progress: bool | None) -> None:
    """Advances ``n_steps`` steps, moving spikes between ranks with ``exchange``, and collects
    the monitors' data for them."""
    engine, dt, interval = built.engine, built.dt, built.interval
    bar = _Progress(progress if comm.rank == 0 else False, n_steps * dt, first_step * dt)
    try:
        done = 0
        if comm.size == 1:
            chunk = interval
            while done < n_steps:
                m = min(chunk, n_steps - done)
                started = time.perf_counter()
                engine.run(m, interval)
                elapsed = time.perf_counter() - started
                done += m
                bar.update(m * dt)
                # Size the next chunk to come back about PROGRESS_PERIOD_S from now.
                chunk = max(interval, int(m * PROGRESS_PERIOD_S / max(elapsed, 1e-6)))
        else:
            last = time.perf_counter()
            pending = 0
            while done < n_steps:
                m = min(interval, n_steps - done)
                local = engine.advance(m)
                engine.deliver(exchange.exchange(local, first_step + done, m))
                done += m
                pending += m
                now = time.perf_counter()
                if now - last > PROGRESS_PERIOD_S:
                    bar.update(pending * dt)
                    pending, last = 0, now
            bar.update(pending * dt)
    finally:
        bar.close()
    built.recording.take(engine, first_step, first_step + n_steps)
    built.recording.finish(comm, first_step, n_steps)


