"""An export's int8 classifier with uint8 weights (ssvae's) against one with int8 weights (its earlier
copies), both made here from the float32 graph and calibrated as `tools.requantize` does: test accuracy,
the share of test images given float32's class, and examples per second in batches of 1,024 on one thread
(best of three interleaved passes, in the same run). onnxruntime multiplies uint8 activations by int8 weights
with an instruction that saturates pairs of products on CPUs without VNNI, so the table names the CPU and
whether it has VNNI. Prints the table and appends it to BENCHMARKS.md.

    python -m tools.bench_int8_weights --model models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ssvae import runtime
from ssvae.precisions import WEIGHT_TYPES, cpu_session, quantize_int8
from ssvae.runtime import graph_file
from tools.benchlog import benchmarks_option, cpu_model, publish
from tools.requantize import held_out_examples, training_inputs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder written by ssvae export")
    parser.add_argument("--data-dir", help="where the data set's files are (Fashion-MNIST's raw files)")
    benchmarks_option(parser)
    args = parser.parse_args()
    model = runtime.load(args.model, device="cpu")
    float32 = (Path(args.model) / graph_file("classifier")).read_bytes()
    calibration = training_inputs(model, args.data_dir)
    graphs = {"float32": float32, **{f"int8, {weights} weights": quantize_int8({"classifier": float32}, calibration,
                                                                                weights)["classifier"]
                                     for weights in WEIGHT_TYPES}}
    x, y = held_out_examples(model, args.data_dir)
    sessions = {name: cpu_session(graph, threads=1) for name, graph in graphs.items()}
    classes = {name: _classes(session, x) for name, session in sessions.items()}
    speed = examples_per_second(sessions, x)
    rows = [f"| {name} | {100 * (classes[name] == y).mean():.2f} % | "
            f"{100 * (classes[name] == classes['float32']).mean():.2f} % | {speed[name]:,.0f} "
            f"({speed[name] / speed['float32']:.2f}x float32) |" for name in graphs]
    table = ["| classifier | test accuracy | same class as float32 | examples/s, batches of 1,024 |",
             "|---|---|---|---|", *rows]
    meta = model.info
    publish(Path(args.benchmarks), f"int8 weights: uint8 against int8, {Path(args.model).name} ({meta['dataset']} "
                                   f"{meta['model']}), {len(x):,} test images, CPU {cpu_model()} "
                                   f"({'with' if has_vnni() else 'without'} VNNI), one thread, onnxruntime "
                                   f"{ort.__version__}", table)


def _classes(session: ort.InferenceSession, x: np.ndarray, batch: int = 1024) -> np.ndarray:
    return np.concatenate([session.run(None, {"x": x[i:i + batch]})[0].argmax(-1) for i in range(0, len(x), batch)])


def examples_per_second(sessions: dict[str, ort.InferenceSession], x: np.ndarray) -> dict[str, float]:
    """Each session's rate on ``x`` in batches of 1,024: the best of three passes, the sessions taking turns
    so that the shared machine's load falls on all alike."""
    seconds: dict[str, list[float]] = {name: [] for name in sessions}
    for _ in range(3):
        for name, session in sessions.items():
            start = time.perf_counter()
            _classes(session, x)
            seconds[name].append(time.perf_counter() - start)
    return {name: len(x) / min(times) for name, times in seconds.items()}


def has_vnni() -> bool:
    """Whether the CPU has VNNI instructions (AVX512-VNNI or AVX-VNNI), read from /proc/cpuinfo (Linux)."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False
    return "avx512_vnni" in flags or "avx_vnni" in flags


if __name__ == "__main__":
    main()
