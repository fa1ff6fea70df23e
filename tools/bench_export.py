"""What `ssvae.export` saves by building torch's table of ONNX functions once (`_torchlib_built_once`): the
seconds of an export of a run's three graphs with the table built anew for each graph, as torch's exporter
does, against with the table built once for the process, in interleaved rounds of one process; and the
seconds of one build of the table, which a one-shot ``ssvae export`` saves twice. Prints the table and
appends it to BENCHMARKS.md.

    python -m tools.bench_export --repeats 5
    python -m tools.bench_export --run runs/digits-m2 --repeats 5
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import ssvae
from ssvae import onnx_export
from tools.benchlog import benchmarks_option, device_name, publish
from tools.timing import timed_rounds

QUICK_RUN = dict(epochs=2, progress=False)  # a digits M2 of the preset's size, trained in seconds


def export_seconds(run: ssvae.Run, out: Path, table_built_once: bool) -> float:
    """Seconds of one export of ``run`` into ``out``, with torch's table built once or, as torch does, per graph."""
    once = onnx_export._torchlib_built_once
    if not table_built_once:
        onnx_export._torchlib_built_once = contextlib.nullcontext
    try:
        start = time.perf_counter()
        ssvae.export(run, out, replace=True)
        return time.perf_counter() - start
    finally:
        onnx_export._torchlib_built_once = once


def table_build_seconds() -> float:
    """Seconds of one build of torch's table of ONNX functions at ssvae's opset, as its exporter builds it."""
    from torch.onnx._internal.exporter._registration import ONNXRegistry

    start = time.perf_counter()
    ONNXRegistry.from_torchlib(opset_version=onnx_export.OPSET)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", help="a run folder to export (default: a digits M2 trained here for 2 epochs)")
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds (default: 5)")
    benchmarks_option(parser)
    args = parser.parse_args()
    run = ssvae.load(args.run) if args.run else ssvae.train(**QUICK_RUN)
    with tempfile.TemporaryDirectory() as tmp:
        passes = {name: lambda name=name: export_seconds(run, Path(tmp) / "model", name == "built once")
                  for name in ("built per graph", "built once")}
        seconds = {name: statistics.median(times) for name, times in
                   timed_rounds(passes, args.repeats, warmup=1).items()}
    build = statistics.median(table_build_seconds() for _ in range(args.repeats))
    per_graph, once = seconds["built per graph"], seconds["built once"]
    table = ["| torch's table of ONNX functions | s an export (3 graphs) | speed |", "|---|---|---|",
             f"| built per graph (torch's exporter) | {per_graph:.2f} | 1.00x |",
             f"| built once (ssvae) | {once:.2f} | {per_graph / once:.2f}x |",
             f"| one build of the table | {build:.2f} | |"]
    what = args.run or f"digits M2 of {QUICK_RUN['epochs']} epochs"
    publish(Path(args.benchmarks), f"Export, {what}, median of {args.repeats} interleaved rounds in one process, "
                                   f"{device_name('cpu')}", table)


if __name__ == "__main__":
    main()
