"""Appending a benchmark's table to BENCHMARKS.md with where and when it was measured."""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

REPOSITORY = Path(__file__).resolve().parents[1]  # the measured code's, whatever folder the tool runs from


def benchmarks_option(parser: argparse.ArgumentParser) -> None:
    """--benchmarks, which every benchmark takes: the Markdown file its table is appended to."""
    parser.add_argument("--benchmarks", default="BENCHMARKS.md", metavar="FILE",
                        help="Markdown file the table is appended to, with the device, commit and date (default: "
                             "BENCHMARKS.md in the current folder: the repository's record, run from its root)")


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else its architecture: shared machines change."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        lines = []
    names = [line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")]
    return names[0] if names else platform.processor() or platform.machine()


def device_name(device: "torch.device | str | None" = None, threads: int | None = None) -> str:
    """The GPU's name, or the CPU's model and its threads: those of the device a benchmark ran on (by default a
    GPU where there is one) and the threads it used (by default torch's now), not the machine's at publish time."""
    import torch  # here, not above: bench_memory's children must not inherit torch's memory

    from ssvae.training import resolve_device

    device = resolve_device("auto") if device is None else torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {cpu_model()}, {threads or torch.get_num_threads()} threads"


def commit() -> str:
    """The measured code's commit (+dirty where tracked files other than BENCHMARKS.md, which the results
    change, differ from it); $SSVAE_COMMIT where set, for a copy of the tree without git (a lent GPU machine),
    and "unknown" where neither tells (never the commit of another repository the copy lies in)."""
    if os.environ.get("SSVAE_COMMIT"):
        return os.environ["SSVAE_COMMIT"]
    if not (REPOSITORY / ".git").exists():
        return "unknown"
    try:
        result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                cwd=REPOSITORY)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                ":!BENCHMARKS.md"], capture_output=True, text=True, cwd=REPOSITORY)
    except OSError:  # no git program
        return "unknown"
    return result.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "") if result.returncode == 0 else "unknown"


def publish(path: Path, title: str, table: list[str]) -> None:
    """Print a benchmark's table, then append it to ``path`` under ``title`` with the commit, date and torch."""
    import torch

    print("\n".join(table))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = f"\n## {title}\n\ncommit {commit()}, {stamp}, torch {torch.__version__}\n\n"
    if not path.exists():
        path.write_text("# Benchmarks\n\nAppended by the scripts in tools/; newest last.\n")
    with open(path, "a") as f:
        f.write(header + "\n".join(table) + "\n")
