"""Peak memory of `ssvae predict` on a small and a huge input: it must stream, not load everything.

Writes uncompressed .npz files of random uint8 inputs shaped for the model (as numpy.savez does; `predict`
reads them a batch at a time), or with ``--format csv`` CSV files of random numbers in the model's input range
(4 decimals; its columns' names, else x0, x1, ...; a CSV is read whole, but as float32 from the start),
runs `ssvae predict` on each in a fresh process and reports its peak resident memory (ru_maxrss) and time.
On Linux a child inherits its parent's ru_maxrss, so this script stays small while it measures: files are
written by another child, torch is imported only at the end. Prints a table and appends it to BENCHMARKS.md.

    python -m tools.bench_memory --model models/fashion-mnist-m2 --rows 10000 1000000
    python -m tools.bench_memory --model models/fashion-mnist-m2 --format csv --rows 10000 100000
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

from ssvae.runtime import ExportedModel, load
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


def write_csv(path: Path, rows: int, columns: list[str], top: float, chunk: int = 10_000) -> None:
    """A CSV of ``rows`` random numbers in [0, ``top``] under a header of ``columns``, written a chunk at a time."""
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write(",".join(columns) + "\n")
        for start in range(0, rows, chunk):
            np.savetxt(f, top * rng.random((min(chunk, rows - start), len(columns))), fmt="%.4f", delimiter=",")


def write_command(data: Path, rows: int, model: ExportedModel) -> str:
    """The Python that writes ``data`` (.npz or .csv) for ``model``, run in a child of its own."""
    if data.suffix == ".npz":
        return (f"from tools.bench_memory import write_inputs; from pathlib import Path; "
                f"write_inputs(Path({str(data)!r}), {rows}, {tuple(model.input_shape)!r})")
    columns = list(model.input_columns or (f"x{k}" for k in range(int(np.prod(model.input_shape)))))
    top = float(model.input_range[1]) if model.input_range else 1.0
    return (f"from tools.bench_memory import write_csv; from pathlib import Path; "
            f"write_csv(Path({str(data)!r}), {rows}, {columns!r}, {top!r})")


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
    parser.add_argument("--format", choices=["npz", "csv"], default="npz", help="the input files' format")
    benchmarks_option(parser)
    args = parser.parse_args()
    model = load(args.model, device="cpu")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.rows:
            data = Path(tmp) / f"x{n}.{args.format}"
            subprocess.run([sys.executable, "-c", write_command(data, n, model)], check=True)
            peak, seconds = peak_of_predict(args.model, data, Path(tmp) / "out.csv")
            size = data.stat().st_size / 2**20
            rows.append(f"| {n:,} | {size:,.0f} MiB | {peak:,.0f} MiB | {seconds:.0f} s |")
            print(rows[-1], flush=True)
            data.unlink()

    table = ["| rows | input file | peak RSS of predict | time |", "|---|---|---|---|", *rows]
    kind = "uint8" if args.format == "npz" else "CSV of 4-decimal numbers"
    publish(Path(args.benchmarks), f"Memory of ssvae predict, inputs {json.dumps(list(model.input_shape))} {kind}, "
                                   f"{device_name()}", table)


if __name__ == "__main__":
    main()
