"""Peak memory of `ssvae predict` on a small and a huge input: it must stream, not load everything.

Writes uncompressed .npz files of random uint8 inputs shaped for the model (as numpy.savez does; `predict`
reads them a batch at a time), runs `ssvae predict` on each in a fresh process and reports its peak resident
memory (ru_maxrss) and time. On Linux a child inherits its parent's ru_maxrss, so this script stays small
while it measures: files are written by another child, torch is imported only at the end. Prints a table and appends it to BENCHMARKS.md.

    python -m tools.bench_memory --model models/fashion-mnist-m2 --rows 10000 1000000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tools.benchlog import benchmarks_option, device_name, publish  # torch only once called


def write_inputs(path: Path, rows: int, shape: tuple[int, ...], chunk: int = 100_000) -> None:
    """An .npz with array x of ``rows`` random uint8 images, written without holding it all in memory."""
    memmap = np.lib.format.open_memmap(path.with_suffix(".npy"), mode="w+", dtype=np.uint8, shape=(rows, *shape))
    rng = np.random.default_rng(0)
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        memmap[start:stop] = rng.integers(0, 256, (stop - start, *shape), dtype=np.uint8)
    memmap.flush()
    del memmap
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.write(path.with_suffix(".npy"), "x.npy")
    path.with_suffix(".npy").unlink()


def peak_of_predict(model: str, data: Path, out: Path) -> tuple[float, float]:
    """(peak RSS in MiB, seconds) of one `ssvae predict` process; each run is a fresh child process."""
    script = ("import resource, sys; from ssvae.cli import main; sys.argv = ['ssvae'] + sys.argv[1:]\n"
              "try:\n    main()\nexcept SystemExit:\n    pass\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-c", script, "predict", model, "--data", str(data), "--out", str(out),
                             "--quiet", "--force"], capture_output=True, text=True, check=True)
    return int(result.stdout.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder written by ssvae export")
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 1_000_000])
    benchmarks_option(parser)
    args = parser.parse_args()
    from ssvae import runtime

    shape = runtime.load(args.model, device="cpu").input_shape
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            data = Path(tmp) / f"x{n}.npz"
            subprocess.run([sys.executable, "-c", f"from tools.bench_memory import write_inputs; from pathlib import "
                            f"Path; write_inputs(Path({str(data)!r}), {n}, {tuple(shape)!r})"], check=True)
            peak, seconds = peak_of_predict(args.model, data, Path(tmp) / "out.csv")
            size = data.stat().st_size / 2**20
            rows.append(f"| {n:,} | {size:,.0f} MiB | {peak:,.0f} MiB | {seconds:.0f} s |")
            print(rows[-1], flush=True)
            data.unlink()

    table = ["| rows | input file | peak RSS of predict | time |", "|---|---|---|---|", *rows]
    publish(Path(args.benchmarks), f"Memory of ssvae predict, inputs {json.dumps(list(shape))} uint8, "
                                          f"{device_name()}", table)


if __name__ == "__main__":
    main()
