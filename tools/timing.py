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


def median_seconds(passes: dict[str, Callable[[], float]], repeats: int, warmup: int = 0) -> dict[str, float]:
    """Median seconds of each timed pass over ``repeats`` rounds, after ``warmup`` untimed rounds; each round
    runs every pass once, so that a slow spell of a shared machine falls on all of them alike."""
    for _ in range(warmup):
        for run_pass in passes.values():
            run_pass()
    times: dict[str, list[float]] = {name: [] for name in passes}
    for _ in range(repeats):
        for name, run_pass in passes.items():
            times[name].append(run_pass())
    return {name: statistics.median(seconds) for name, seconds in times.items()}
