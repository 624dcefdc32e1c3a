"""The run loop: advances a built rank interval by interval, exchanging spikes through the
communicator, writes the output file as the run goes, and hands recorded data to the
monitors at the end.

In one process the engine runs whole chunks of intervals itself and comes back to Python
only a few times per second (for the progress bar); under MPI it comes back once per
exchange interval to exchange the interval's spikes (``comm.SpikeExchange``). With an
output file, the run also stops at every flush step (the same on every rank) to write what
was recorded, and on SIGTERM it writes what it has before the process ends.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from types import FrameType
from typing import Any

from .build import BuiltRank
from .comm import Comm, SpikeExchange
from .engines import Engine
from .output import OutputWriter
from .timing import from_dict

#: Wall-clock seconds between progress updates (and Python round-trips in one process).
PROGRESS_PERIOD_S = 0.25
#: A run with ``progress=None`` shows its bar and summary once it has taken this long.
PROGRESS_DELAY_S = 2.0


class _Progress:
    """A tqdm bar over simulated seconds showing the real-time factor, on stderr; silent when
    off. Closing it leaves a one-line summary where the bar was shown."""

    def __init__(self, enabled: bool | None, duration: float, t0: float) -> None:
        self.enabled = enabled
        self.bar: Any = None
        self.started = time.perf_counter()
        self.simulated = 0.0
        if enabled is False:
            return
        # Whatever the script printed before the run comes first.
        sys.stdout.flush()
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return
        self.bar = tqdm(
            total=round(duration, 9), unit="s(sim)", initial=0, desc=f"from t={t0:g} s",
            file=sys.stderr, delay=0.0 if enabled else PROGRESS_DELAY_S, leave=False,
            bar_format="{l_bar}{bar}| {n:.3f}/{total:.3f} s [{elapsed}<{remaining}{postfix}]",
        )

    def update(self, simulated: float) -> None:
        self.simulated += simulated
        if self.bar is None:
            return
        wall = time.perf_counter() - self.started
        self.bar.set_postfix_str(f"{self.simulated / wall:.3g}x real time" if wall > 0 else "",
                                 refresh=False)
        # Never past the total: sums of float steps may overshoot it by round-off.
        self.bar.update(min(simulated, self.bar.total - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

    @property
    def shown(self) -> bool:
        """Whether the bar was (or would have been) shown: a summary then replaces it."""
        wall = time.perf_counter() - self.started
        return self.enabled is True or (self.enabled is None and wall >= PROGRESS_DELAY_S)

    def summary(self, line: str) -> None:
        if self.shown:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def summary_line(model_time: float, wall: float, spikes: int, n_neurons: int) -> str:
    """``spikeshard: 1 s of model time in 2.3 s (0.43x real time), ... spikes, ... Hz``."""
    factor = model_time / wall if wall > 0 else float("inf")
    rate = spikes / (n_neurons * model_time) if n_neurons and model_time > 0 else 0.0
    return (f"spikeshard: {model_time:g} s of model time in {wall:.3g} s ({factor:.3g}x real "
            f"time), {spikes} spikes, mean rate {rate:.3g} Hz over {n_neurons} neurons")


class _Termination:
    """While active, SIGTERM (Slurm's warning before it kills a job) only sets ``requested``,
    so the run loop can write what it has; ``resend`` then lets the signal do what it would
    have done (end the process, or call the handler that was installed before)."""

    def __init__(self, active: bool) -> None:
        self.active = active and threading.current_thread() is threading.main_thread()
        self.requested = False
        self.previous: Any = None

    def __enter__(self) -> _Termination:
        if self.active:
            self.previous = signal.signal(signal.SIGTERM, self._handle)
        return self

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def __exit__(self, *exc: object) -> None:
        if self.active:
            signal.signal(signal.SIGTERM, self.previous)

    def resend(self) -> None:
        """Restores the previous handler and delivers SIGTERM to it."""
        self.__exit__()
        self.active = False
        if callable(self.previous):
            self.previous(signal.SIGTERM, None)
        elif self.previous != signal.SIG_IGN:
            signal.raise_signal(signal.SIGTERM)


def _advance(engine: Engine, comm: Comm, exchange: SpikeExchange, interval: int, dt: float,
             step: int, target: int, bar: _Progress, stop: _Termination) -> tuple[int, float]:
    """Advances from ``step`` to ``target`` (or until SIGTERM is requested), moving spikes
    between ranks with ``exchange``; returns the step reached and the seconds spent
    exchanging spikes."""
    exchange_s = 0.0
    if comm.size == 1:
        chunk = interval
        while step < target and not stop.requested:
            m = min(chunk, target - step)
            started = time.perf_counter()
            engine.run(m, interval)
            elapsed = time.perf_counter() - started
            step += m
            bar.update(m * dt)
            # Size the next chunk to come back about PROGRESS_PERIOD_S from now.
            chunk = max(interval, int(m * PROGRESS_PERIOD_S / max(elapsed, 1e-6)))
        return step, exchange_s
    last, pending = time.perf_counter(), 0
    while step < target and not stop.requested:
        m = min(interval, target - step)
        local = engine.advance(m)
        started = time.perf_counter()
        arriving = exchange.exchange(local, step, m)
        exchange_s += time.perf_counter() - started
        engine.deliver(arriving)
        step += m
        pending += m
        now = time.perf_counter()
        if now - last > PROGRESS_PERIOD_S:
            bar.update(pending * dt)
            pending, last = 0, now
    bar.update(pending * dt)
    return step, exchange_s


def run_steps(built: BuiltRank, comm: Comm, exchange: SpikeExchange, first_step: int,
              n_steps: int, progress: bool | None, writer: OutputWriter | None = None) -> None:
    """Advances ``n_steps`` steps, moving spikes between ranks with ``exchange`` and writing
    ``writer``'s file as it goes, and gathers the monitors' data at the end (every rank
    calls it)."""
    engine, dt, recording = built.engine, built.dt, built.recording
    started = time.perf_counter()
    update_before, delivery_before = engine.phase_times()
    spikes_before = engine.spikes_emitted()
    bar = _Progress(progress if comm.rank == 0 else False, n_steps * dt, first_step * dt)
    exchange_s = recording_s = 0.0
    end, step, flushed = first_step + n_steps, first_step, first_step
    try:
        with _Termination(active=writer is not None) as stop:
            while step < end:
                target = end if writer is None else min(end, writer.next_flush(step))
                step, exchanged = _advance(engine, comm, exchange, built.interval, dt, step,
                                           target, bar, stop)
                exchange_s += exchanged
                if writer is not None and step > flushed:
                    began = time.perf_counter()
                    writer.write(recording.take(engine, flushed, step), flushed, step)
                    flushed = step
                    recording_s += time.perf_counter() - began
                if stop.requested:
                    bar.close()
                    stop.resend()
    finally:
        bar.close()
    began = time.perf_counter()
    if flushed < end:
        recording.take(engine, flushed, end)
    recording.finish(comm, first_step, n_steps)
    recording_s += time.perf_counter() - began
    update_after, delivery_after = engine.phase_times()
    timers = built.timers
    timers.update += update_after - update_before
    timers.delivery += delivery_after - delivery_before
    timers.exchange += exchange_s
    timers.recording += recording_s
    timers.model_time += n_steps * dt
    run_spikes = engine.spikes_emitted() - spikes_before
    timers.spikes += run_spikes
    timers.run += time.perf_counter() - started
    # Every rank's timers, so that reports can be read on any rank without communicating.
    gathered = comm.allgather_object((timers.as_dict(), run_spikes))
    built.timers_per_rank = [from_dict(t) for t, _ in gathered]
    if comm.rank == 0:
        bar.summary(summary_line(n_steps * dt, time.perf_counter() - started,
                                 sum(s for _, s in gathered), built.layout.n_neurons))
