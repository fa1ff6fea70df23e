"""Timing on shared, noisy machines: calls timed in interleaved rounds, the median of each kept."""

from __future__ import annotations

import statistics
import time
from typing import Callable

import torch


def sync(device: torch.device) -> None:
    """Wait for ``device`` to finish its queued work (a GPU runs asynchronously; a CPU has nothing to wait for)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(call: Callable[[], object], device: torch.device = torch.device("cpu")) -> Callable[[], float]:
    """``call`` as a function that returns the seconds it took, waiting for ``device`` to finish."""
    def seconds() -> float:
        start = time.perf_counter()
        call()
        sync(device)
        return time.perf_counter() - start
    return seconds


def timed_rounds(passes: dict[str, Callable[[], float]], repeats: int, warmup: int = 0,
                 deadline: float | None = None) -> dict[str, list[float]]:
    """Seconds of each timed pass in ``repeats`` rounds, after ``warmup`` untimed rounds; each round runs every
    pass once, so that a slow spell of a shared machine falls on all of them alike. With a ``deadline`` (a
    `time.monotonic` value) no round starts that the last one's length says would end past it, and Ctrl-C
    stops the rounds too: the complete rounds are kept, and there is always at least one."""
    for _ in range(warmup):
        for run_pass in passes.values():
            run_pass()
    times: dict[str, list[float]] = {name: [] for name in passes}
    last_round = 0.0
    for done in range(repeats):
        if done and deadline is not None and time.monotonic() + last_round > deadline:
            break
        started = time.monotonic()
        try:
            this_round = {name: run_pass() for name, run_pass in passes.items()}
        except KeyboardInterrupt:
            if deadline is None or not done:
                raise
            break
        for name, seconds in this_round.items():
            times[name].append(seconds)
        last_round = time.monotonic() - started
    return times


def median_seconds(passes: dict[str, Callable[[], float]], repeats: int, warmup: int = 0) -> dict[str, float]:
    """Median seconds of each timed pass over `timed_rounds`' ``repeats`` rounds."""
    return {name: statistics.median(seconds) for name, seconds in timed_rounds(passes, repeats, warmup).items()}
