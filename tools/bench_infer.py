"""Inference with the exported graphs against torch on the same model, in one process.

Measures, for a trained run (exported here to a temporary folder, with int8 copies):
  - agreement: the share of the test set where onnxruntime predicts the same class as torch;
  - latency: one example through the classifier on one CPU thread, torch eager vs onnxruntime (medians of
    many calls, interleaved so that the shared machine's load falls on all alike; the raw session, `ssvae.runtime`'s classify, which also checks and prepares the input, and
    the int8 copy's session);
  - throughput: batches of 1024 on one thread, torch eager vs onnxruntime float32 and int8;
  - predict end to end: `ssvae.inference.predict` of the test set to a CSV (what `ssvae predict` does: the
    checks, entropies, confidences and CSV rows beside the graph) against a bare loop of the classifier's
    session over the same batches of 1024, on the machine's threads (a ratio, both timed interleaved);
  - anomaly scores: ROC AUC of `score` separating test images from uniform-noise images (and from
    the test images inverted, 1 - x).
Prints a table and appends it to BENCHMARKS.md.

    python -m tools.bench_infer --run runs/fashion-m2
    python -m tools.bench_infer --run runs/digits-m2
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from sklearn.metrics import roc_auc_score

import ssvae
from ssvae import inference, runtime
from tools.benchlog import benchmarks_option, device_name, publish
from tools.timing import median_seconds, timed, timed_rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", required=True, help="a run directory written by ssvae train")
    parser.add_argument("--repeats", type=int, default=2000, help="single-example calls to time")
    benchmarks_option(parser)
    args = parser.parse_args()

    torch.set_num_threads(1)
    run = ssvae.load(args.run)
    test = run.partition().labelled_test
    x = test.x
    with tempfile.TemporaryDirectory() as tmp:
        report = ssvae.export(run, Path(tmp) / "model", quantize=True)
        float32 = runtime.load(report.model_dir, device="cpu", threads=1)
        int8 = runtime.load(report.model_dir, device="cpu", precision="int8", threads=1)

        torch_pred = run.classify(x).argmax(-1)
        ort_pred = float32.classify(x).argmax(-1)
        int8_pred = int8.classify(x).argmax(-1)
        agreement = float((ort_pred == torch_pred).mean())

        one = x[:1]
        one_tensor = torch.as_tensor(one)
        session = float32.sessions["classifier"]
        int8_session = int8.sessions["classifier"]
        with torch.inference_mode():
            latency = median_seconds({
                "torch": timed(lambda: torch.softmax(run.model.classify(one_tensor), -1)),
                "session": timed(lambda: session.run(None, {"x": one})),
                "runtime": timed(lambda: float32.classify(one)),
                "int8 session": timed(lambda: int8_session.run(None, {"x": one})),
            }, args.repeats, warmup=20)

        batch = x[np.arange(1024) % len(x)]
        batch_tensor = torch.as_tensor(batch)
        with torch.inference_mode():
            throughput = median_seconds({
                "torch": timed(lambda: run.model.classify(batch_tensor)),
                "float32": timed(lambda: float32.classify(batch)),
                "int8": timed(lambda: int8.classify(batch))}, 30, warmup=3)

        bulk = runtime.load(report.model_dir, device="cpu")
        bulk_session, prepared, rows = bulk.sessions["classifier"], bulk.prepare(x), len(x)
        written = Path(tmp) / "predictions.csv"
        end_to_end = timed_rounds({
            "session": timed(lambda: [bulk_session.run(None, {"x": prepared[i:i + 1024]})
                                      for i in range(0, rows, 1024)]),
            "predict": timed(lambda: inference.predict(bulk, x, written, batch_size=1024, progress=False,
                                                       replace=True))}, 5, warmup=1)
        predict_ratio = statistics.median(p / s for p, s in zip(end_to_end["predict"], end_to_end["session"]))

        n = min(2000, len(x))
        rng = np.random.default_rng(0)
        real = x[:n]
        noise = rng.random(real.shape, dtype=np.float32)
        labels = np.r_[np.zeros(n), np.ones(n)]
        real_scores = float32.score(real)
        auc_noise = roc_auc_score(labels, np.r_[real_scores, float32.score(noise)])
        auc_inverted = roc_auc_score(labels, np.r_[real_scores, float32.score(1.0 - real)])

    c = run.config
    rows = [
        ("same class as torch, onnxruntime float32", f"{100 * agreement:.2f} % of {len(x)}"),
        ("test accuracy torch / onnxruntime / int8",
         f"{100 * (torch_pred == test.y).mean():.2f} / {100 * (ort_pred == test.y).mean():.2f} / "
         f"{100 * (int8_pred == test.y).mean():.2f} %"),
        ("int8 same class as float32", f"{100 * (int8_pred == ort_pred).mean():.2f} %"),
        ("latency, 1 example, torch eager", f"{1e6 * latency['torch']:.1f} µs"),
        *((f"latency, 1 example, {label}", f"{1e6 * latency[name]:.1f} µs "
                                           f"({latency['torch'] / latency[name]:.1f}x faster)")
          for name, label in [("session", "onnxruntime session"), ("runtime", "ssvae.runtime classify"),
                              ("int8 session", "onnxruntime int8 session")]),
        ("throughput, batch 1024, torch eager", f"{1024 / throughput['torch']:,.0f} examples/s"),
        *((f"throughput, batch 1024, onnxruntime {name}", f"{1024 / throughput[name]:,.0f} examples/s "
                                                          f"({throughput['torch'] / throughput[name]:.2f}x torch)")
          for name in ("float32", "int8")),
        (f"predict to CSV, {len(x)} rows, end to end", f"{predict_ratio:.2f}x a bare session loop "
                                                         f"({len(x) / statistics.median(end_to_end['predict']):,.0f} "
                                                         f"rows/s)"),
        ("score ROC AUC, test vs uniform noise", f"{auc_noise:.4f} ({n} + {n} images)"),
        ("score ROC AUC, test vs inverted test images", f"{auc_inverted:.4f}"),
    ]
    table = ["| measure | value |", "|---|---|", *(f"| {name} | {value} |" for name, value in rows)]
    title = (f"Inference, {c.data or c.dataset} {c.model} ({len(run.split.labelled)} labels), {device_name('cpu')}, "
             f"onnxruntime {ort.__version__}")
    publish(Path(args.benchmarks), title, table)


if __name__ == "__main__":
    main()
