"""A built-in data set's training images split into training images and a held-out test set, as an .npz that
`ssvae train --data` and `tools/bench_accuracy.py --data` read (x, y and x_test, y_test, uint8 images and
their class names). The held-out images were never a test set while settings were chosen: a check of a
preset chosen on the data set's own test set (docs/results.md), on images it was not chosen on.

    python -m tools.make_holdout runs/fashion-holdout.npz --dataset fashion-mnist --data-dir DIR
    python -m tools.bench_accuracy --data runs/fashion-holdout.npz --labels 100 --seeds 0 1 2 --epochs 10 \\
        --models m2 --set latent_dim=4 ...          # the preset's settings, given one by one (docs/results.md)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ssvae.data import Dataset, load_source


def holdout(train: Dataset, test: int, seed: int) -> dict[str, np.ndarray]:
    """The arrays of the .npz of ``train``, a data set of 8-bit images: ``test`` of its images, drawn with
    ``seed`` in equal numbers from each class (the remainder one each to the first), as x_test and y_test; the
    others as x and y, in their order; all as the uint8 grey levels they were read from."""
    images = np.round(train.x * 255).astype(np.uint8)
    if not np.array_equal(images.astype(np.float32) / 255, train.x):
        raise SystemExit("the images are not 8-bit grey levels (digits' are 0..16): pick an 8-bit data set")
    rng = np.random.default_rng(seed)
    classes = len(train.class_names)
    counts = [test // classes + (k < test % classes) for k in range(classes)]
    if test < classes:
        raise SystemExit(f"--test {test} is fewer than the {classes} classes: hold out at least one image of each")
    if short := [f"{name!r} ({np.sum(train.y == k)} images)" for k, name in enumerate(train.class_names)
                 if counts[k] >= np.sum(train.y == k)]:
        raise SystemExit(f"--test {test} holds out up to {max(counts)} images of each class and keeps one to train "
                         f"on, and class {', '.join(short)} has too few: lower --test")
    held = np.sort(np.concatenate([rng.permutation(np.flatnonzero(train.y == k))[:n] for k, n in enumerate(counts)]))
    kept = np.setdiff1d(np.arange(len(train)), held)
    return {"x": images[kept], "y": train.y[kept], "x_test": images[held], "y_test": train.y[held],
            "class_names": np.array(train.class_names)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="the .npz to write")
    parser.add_argument("--dataset", default="fashion-mnist")
    parser.add_argument("--data-dir")
    parser.add_argument("--test", type=int, default=10_000, help="held-out images (default: as many as the "
                                                                 "data set's own test set has)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    arrays = holdout(load_source(args.dataset, None, args.data_dir).train, args.test, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, **arrays)
    print(f"wrote {args.out}: {len(arrays['x']):,} training and {len(arrays['x_test']):,} held-out images")


if __name__ == "__main__":
    main()
