"""A folder of images of mixed sizes: read as by default (the size most images have; the others skipped) against
read with --image-size (every image resized to it).

Writes Fashion-MNIST images as PNG files, each scaled to one of --sizes (a third each by default, drawn with
--seed): --labels training images into class folders (N/K a class), --unlabelled into unlabelled/, and --test
test images into a test folder of class folders. Trains the default M2 on the folder twice (--epochs, with
the test folder as --test-data), read each way, and prints how many labelled, unlabelled and test images each
read and its test accuracy on those it read; appends the table to BENCHMARKS.md.

    python -m tools.bench_image_sizes --data-dir ../shared/datasets/fashion-mnist
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

import ssvae
from ssvae.data.sources import load_source
from tools.benchlog import benchmarks_option, cpu_model, publish


def write_images(folder: Path, x: np.ndarray, y: np.ndarray | None, names: tuple[str, ...], sizes: list[int],
                 rng: np.random.Generator) -> None:
    """uint8 images ``x`` (N, 1, 28, 28) as PNG files in ``folder``: in their class's folder (named without "/":
    T-shirt-top), or in unlabelled/ where ``y`` is None, each scaled to one of ``sizes`` (bilinear)."""
    for i, image in enumerate(x[:, 0]):
        size = int(rng.choice(sizes))
        place = folder / ("unlabelled" if y is None else names[y[i]].replace("/", "-"))
        place.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR).save(place / f"{i}.png")


def balanced(y: np.ndarray, n: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices of ``y``, n/k of each of its ``k`` classes."""
    return np.concatenate([rng.choice(np.flatnonzero(y == c), n // k, replace=False) for c in range(k)])


def trained(data: Path, tests: Path, image_size: int | None, epochs: int, seed: int) -> dict:
    """What a run on ``data`` read, and its accuracy on the test images it read."""
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the skipped images' warning: counted in the table instead
        run = ssvae.train(data=str(data), test_data=str(tests), image_size=image_size, labels=None, epochs=epochs,
                          seed=seed, progress=False)
        part = run.partition()
        accuracy = ssvae.evaluate(run)["accuracy"]
    return {"labelled": len(part.labelled), "unlabelled": len(part.unlabelled), "test": len(part.test),
            "shape": run.config.input_shape, "accuracy": accuracy, "seconds": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", required=True, help="where the Fashion-MNIST files are")
    parser.add_argument("--labels", type=int, default=100, help="labelled training images (default: 100)")
    parser.add_argument("--unlabelled", type=int, default=3000, help="unlabelled training images (default: 3000)")
    parser.add_argument("--test", type=int, default=1000, help="test images (default: 1000)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[28, 36, 44], help="image sizes (default: 28 36 44)")
    parser.add_argument("--epochs", type=int, default=50, help="epochs of each run (default: 50)")
    parser.add_argument("--seed", type=int, default=0)
    benchmarks_option(parser)
    args = parser.parse_args()
    source = load_source("fashion-mnist", data_dir=args.data_dir)
    rng = np.random.default_rng(args.seed)
    names, k = source.train.class_names, len(source.train.class_names)
    x_train = (source.train.x * 255).round().astype(np.uint8)
    x_test = (source.test.x * 255).round().astype(np.uint8)
    labelled = balanced(source.train.y, args.labels, k, rng)
    pool = np.setdiff1d(np.arange(len(x_train)), labelled)
    unlabelled = rng.choice(pool, args.unlabelled, replace=False)
    test = balanced(source.test.y, args.test, k, rng)
    rows = []
    with tempfile.TemporaryDirectory() as root:
        data, tests = Path(root, "data"), Path(root, "tests")
        write_images(data, x_train[labelled], source.train.y[labelled], names, args.sizes, rng)
        write_images(data, x_train[unlabelled], None, names, args.sizes, rng)
        write_images(tests, x_test[test], source.test.y[test], names, args.sizes, rng)
        for name, size in (("default: the size most images have, others skipped", None),
                           (f"--image-size {args.sizes[0]}: every image resized", args.sizes[0])):
            try:
                got = trained(data, tests, size, args.epochs, args.seed)
            except ssvae.DataError as error:  # a class whose labelled images were all skipped, say
                rows.append(f"| {name} | refused: {error} | | | | | |")
                continue
            shape = "x".join(map(str, got["shape"][1:]))
            rows.append(f"| {name} | {shape} | {got['labelled']} of {args.labels} | {got['unlabelled']} of "
                        f"{args.unlabelled} | {got['test']} of {args.test} | {100 * got['accuracy']:.2f} | "
                        f"{got['seconds']:.0f} |")
    table = ["| images read | model's size | labelled | unlabelled | test | test accuracy % | train s |",
             "|---|---|---|---|---|---|---|", *rows]
    publish(Path(args.benchmarks), f"A folder of images of sizes {', '.join(map(str, args.sizes))}, default M2, "
                                   f"{args.epochs} epochs, seed {args.seed}; CPU {cpu_model()}", table)


if __name__ == "__main__":
    main()
