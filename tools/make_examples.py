"""Write the files of the README's examples that are no table (`tools/make_tables.py` writes those): labelled
images of one's own, and the bad inputs whose errors and warnings the README shows.

    python -m tools.make_examples .      # scans/, images/, nan.npz, photos.npz

- ``scans/0`` .. ``scans/9``: 6 digits a class as 8-bit PNG files, taken from the test split of the default
  digits run (`ssvae train`: its split seed and test share), so that a run or model tested on them has
  never trained on them;
- ``images/a``, ``images/b``: 4x4 noise images, one file broken and one of another size;
- ``nan.npz``: 40 labelled 4x4 inputs, one holding a NaN; ``photos.npz``: 5 inputs of 9x9.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from ssvae.data import choose_split, load_source
from ssvae.settings import config_for


def write_scans(folder: Path, per_class: int = 6) -> None:
    """``per_class`` test images of each digit, as the default run splits the digits, in class sub-folders."""
    config, source = config_for(dataset="digits"), load_source("digits")
    split = choose_split(source, config.labels, config.val_labels, config.test_fraction, config.split_seed,
                         config.seed)
    test = source.train.subset(np.array(split.test, dtype=np.int64))
    for k, name in enumerate(test.class_names):
        (folder / "scans" / name).mkdir(parents=True, exist_ok=True)
        for n, image in enumerate(test.x[test.y == k][:per_class]):
            pixels = (image[0] * 255).round().astype(np.uint8)  # the digits' [0, 1] as 8-bit grey
            Image.fromarray(pixels).save(folder / "scans" / name / f"{n}.png")


def write_bad_inputs(folder: Path) -> None:
    """An image folder with a broken and an odd-sized image, inputs with a NaN, and images of a size the
    digits model does not take."""
    rng = np.random.default_rng(0)
    for name in ("a", "b"):
        (folder / "images" / name).mkdir(parents=True, exist_ok=True)
        for k in range(6):
            Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)).save(folder / "images" / name / f"{k}.png")
    (folder / "images" / "a" / "broken.png").write_bytes(b"\x89PNG truncated")
    Image.new("L", (5, 5)).save(folder / "images" / "b" / "big.png")
    x = rng.random((40, 4, 4)).astype(np.float32)
    np.savez(folder / "nan.npz", x=np.where(np.arange(40)[:, None, None] == 5, np.nan, x),
             y=np.repeat(np.arange(2), 20))
    np.savez(folder / "photos.npz", x=rng.random((5, 9, 9)).astype(np.float32))


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the README's example files (scans/, images/, nan.npz, "
                                                 "photos.npz) into a folder.")
    parser.add_argument("folder", type=Path, help="where to write them, e.g. . for the README's commands")
    folder = parser.parse_args().folder
    write_scans(folder)
    write_bad_inputs(folder)
    print(f"wrote {folder / 'scans'}, {folder / 'images'}, {folder / 'nan.npz'} and {folder / 'photos.npz'}")


if __name__ == "__main__":
    main()
