"""How much an int8 export's classes depend on the batch they are computed in.

onnxruntime's dynamically quantised graphs scale each activation tensor by its own range, and that tensor is
the whole batch of a call: the same image can get another class beside other images. For batch sizes from 1
to the whole test set, the share of test images whose int8 class equals float32's and equals int8's at batch
1, and float32's against itself at batch 1. Prints a table and appends it to BENCHMARKS.md.

    python -m tools.bench_int8_batches --model models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist
    python -m tools.bench_int8_batches --model models/digits-m2
"""

from __future__ import annotations

import argparse
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
    rows = [f"| {size:,}{' (all)' if size == len(x) else ''} | {same(int8, classes['float32'][size])} | "
            f"{same(int8, classes['int8'][1])} | {same(classes['float32'][size], classes['float32'][1])} |"
            for size, int8 in classes["int8"].items()]
    table = ["| batch size | int8: same class as float32 | int8: same class as at batch 1 "
             "| float32: same class as at batch 1 |", "|---|---|---|---|", *rows]
    publish(Path(args.benchmarks), f"int8 classes by batch size, {Path(args.model).name} ({meta['dataset']} "
                                   f"{meta['model']}), {len(x):,} test images, CPU {cpu_model()}, one thread, "
                                   f"onnxruntime {ort.__version__}", table)


if __name__ == "__main__":
    main()
