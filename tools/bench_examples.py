"""The three embedding examples against `ssvae predict` on the same test images, and the two that score
(Node's score.mjs and the browser demo, both with tools/examples/node/scoring.mjs) against `ssvae score`'s
scores (the runtime's, in float64: the largest relative difference, Node's after its 6 printed digits), with
the browser demo's page load to first prediction. Prints a table and appends it to BENCHMARKS.md.

    python -m tools.bench_examples --model models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist
    python -m tools.bench_examples --model models/digits-m2

Needs `npm ci --ignore-scripts` in tools/examples/node and tools/web-demo, and Debian's chromium.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from ssvae.cli import main as ssvae_cli
from ssvae import runtime
from ssvae.inference import model_inputs
from tools.benchlog import benchmarks_option, cpu_model, publish

ROOT = Path(__file__).resolve().parents[1]


def classes(output: str) -> list[str]:
    """The class column of CSV lines (quoted where a class name holds a comma)."""
    return [row[1] for row in csv.reader(output.strip().splitlines())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--data-dir")
    parser.add_argument("--n", type=int, default=1000)
    benchmarks_option(parser)
    args = parser.parse_args()
    exported = runtime.load(args.model, device="cpu")
    meta = exported.info
    x = model_inputs(exported, dataset=meta["dataset"], data_dir=args.data_dir).x[: args.n]
    images = np.round(np.asarray(x) * 255).astype(np.uint8)  # as an app would store them
    model = str(Path(args.model).resolve())
    with tempfile.TemporaryDirectory() as tmp:
        data, out, batch = Path(tmp) / "x.npy", Path(tmp) / "p.csv", Path(tmp) / "images.json"
        np.save(data, images)
        result = CliRunner().invoke(ssvae_cli, ["predict", model, "--data", str(data), "--out", str(out), "--quiet"])
        if result.exit_code:
            raise SystemExit(f"ssvae predict failed: {result.output.strip() or result.exception}")
        expected = classes(out.read_text().split("\n", 1)[1])
        python = classes(subprocess.run([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py"),
                                         model, str(data)], capture_output=True, text=True, check=True).stdout)
        node = classes(subprocess.run(["node", "classify.mjs", model, str(data)], cwd=ROOT / "tools/examples/node",
                                      capture_output=True, text=True, check=True).stdout)
        node_scores = [float(line.split(",")[1]) for line in subprocess.run(
            ["node", "score.mjs", model, str(data)], cwd=ROOT / "tools/examples/node", capture_output=True,
            text=True, check=True).stdout.split()]
        batch.write_text(json.dumps({"inputs": exported.prepare(images).reshape(len(images), -1).tolist()}))
        sys.path.insert(0, str(ROOT / "tools/web-demo"))
        from serve import serve_in_background

        server, url = serve_in_background(model, args.data_dir)
        try:
            drive = ["node", "test/drive.mjs", url, "0", str(Path(tmp) / "s.png"), "--inputs", str(batch)]
            page = json.loads(subprocess.run(drive, cwd=ROOT / "tools/web-demo", capture_output=True, text=True,
                                             check=True).stdout)
        finally:
            server.shutdown()
    agree = lambda got: f"{sum(a == b for a, b in zip(got, expected))} / {len(expected)}"  # noqa: E731
    scores = exported.score(images)
    apart = lambda got: f"{np.max(np.abs(np.subtract(got, scores)) / np.abs(scores)):.1e}"  # noqa: E731
    rows = [("plain Python (onnxruntime)", agree(python), "(classifies only)"),
            ("Node.js (onnxruntime-node)", agree(node), apart(node_scores)),
            ("browser (onnxruntime-web, headless Chromium)", agree(page["batch"]), apart(page["batchScores"])),
            ("browser: page load to first prediction", f"{page['loadToFirstPrediction']} ms", "")]
    table = ["| example | same class as ssvae predict | anomaly score: largest relative difference from ssvae score |",
             "|---|---|---|", *(f"| {a} | {b} | {c} |" for a, b, c in rows)]
    publish(Path(args.benchmarks), f"Embedding examples, {meta['dataset']} {meta['model']}, {len(expected)} "
                                   f"test images, CPU {cpu_model()}", table)


if __name__ == "__main__":
    main()
