"""How much an int8 export's classes depend on the batch they are computed in.

A dynamically quantised graph (ssvae's int8 copies before their ranges were calibrated at export) scales
each activation tensor by its own range, and that tensor is the whole batch of a call: the same image could
get another class beside other images, and one outlier row changed the classes of the rest of its batch. A
statically quantised one (today's) uses ranges fixed at export, so a row's result is its own. For batch sizes
from 1 to the whole test set, the share of test images whose int8 class equals float32's and equals int8's
at batch 1, float32's against itself at batch 1, and the share of images whose int8 class changes when one
outlier row (the batch's first image times 255: pixels never scaled, fed to the graph directly, as an app
could) joins their batch; then the classifier's examples per second in float32 and int8, in the same run.
Prints the tables and appends them to BENCHMARKS.md.

    python -m tools.bench_int8_batches --model models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist
    python -m tools.bench_int8_batches --model models/digits-m2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ssvae import runtime
from ssvae.inference import model_inputs
from tools.benchlog import benchmarks_option, cpu_model, publish

BATCH_SIZES = (1, 64, 1024)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder written by ssvae export --quantize int8")
    parser.add_argument("--data-dir")
    benchmarks_option(parser)
    args = parser.parse_args()
    models = {"float32": runtime.load(args.model, device="cpu", threads=1),
              "int8": runtime.load(args.model, device="cpu", precision="int8", threads=1)}
    meta = models["float32"].info
    x = np.asarray(model_inputs(models["float32"], dataset=meta["dataset"], data_dir=args.data_dir).x)
    classes: dict[str, dict[int, np.ndarray]] = {"float32": {}, "int8": {}}
    for size in [s for s in BATCH_SIZES if s < len(x)] + [len(x)]:
        for precision, model in models.items():
            model.batch_size = size
            classes[precision][size] = model.classify(x).argmax(-1)
    same = lambda a, b: f"{100 * (a == b).mean():.2f} %"  # noqa: E731
    prepared = models["int8"].prepare(x)
    outlier = {size: "-" if size == 1 else f"{100 * changed_by_outlier(models['int8'], prepared, size):.2f} %"
               for size in classes["int8"]}
    rows = [f"| {size:,}{' (all)' if size == len(x) else ''} | {same(int8, classes['float32'][size])} | "
            f"{same(int8, classes['int8'][1])} | {same(classes['float32'][size], classes['float32'][1])} | "
            f"{outlier[size]} |" for size, int8 in classes["int8"].items()]
    speed = {precision: examples_per_second(model, x) for precision, model in models.items()}
    ratio = speed["int8"] / speed["float32"]
    table = ["| batch size | int8: same class as float32 | int8: same class as at batch 1 "
             "| float32: same class as at batch 1 | int8: class changed by an outlier row in the batch |",
             "|---|---|---|---|---|", *rows, "",
             "| classifier, batches of 1,024 | examples/s (best of 3) |", "|---|---|",
             f"| float32 | {speed['float32']:,.0f} |", f"| int8 | {speed['int8']:,.0f} ({ratio:.2f}x float32) |"]
    publish(Path(args.benchmarks), f"int8 classes by batch size, {Path(args.model).name} ({meta['dataset']} "
                                   f"{meta['model']}), {len(x):,} test images, CPU {cpu_model()}, one thread, "
                                   f"onnxruntime {ort.__version__}", table)


def examples_per_second(model: runtime.ExportedModel, x: np.ndarray) -> float:
    """The classifier's rate on ``x`` in batches of 1,024: the best of three passes, as the machine is shared."""
    model.batch_size = 1024
    seconds = []
    for _ in range(3):
        start = time.perf_counter()
        model.classify(x)
        seconds.append(time.perf_counter() - start)
    return len(x) / min(seconds)


def changed_by_outlier(model: runtime.ExportedModel, x: np.ndarray, size: int) -> float:
    """The share of the rows of ``x`` (prepared) whose class changes when one outlier row, the first of their
    batch times 255, joins each batch of ``size`` - 1 of them; fed to the graph directly, since the runtime
    refuses inputs outside the model's range."""
    session, changed = model.sessions["classifier"], 0
    for start in range(0, len(x), size - 1):
        rows = x[start:start + size - 1]
        alone = session.run(None, {"x": rows})[0].argmax(-1)
        beside = session.run(None, {"x": np.concatenate([rows[:1] * 255, rows])})[0][1:].argmax(-1)
        changed += int((alone != beside).sum())
    return changed / len(x)


if __name__ == "__main__":
    main()
