"""Write scikit-learn's bundled tables as CSVs that `ssvae train --data` reads: an id column, the named
feature columns and a label column, every row labelled (`--labels N` then keeps N of them, and the rest of
the training rows are used unlabelled), and each again as NAME-01.csv with every column scaled to [0, 1] (as
proportions or min-max scaled features are): what a likelihood chosen by the values' range would take for
grey levels. wine-as-it-comes.csv is wine as a table of one's own often comes: a text column of names and one
of bottling dates beside the measurements, the classes named (barolo, grignolino, barbera) in a column
``cultivar``, and 40 rows labelled, the rest blank (`ssvae train --label-column cultivar --ignore-columns
name,bottled` reads it as it is). With ``--classification``, also four synthetic tables of scikit-learn's
`make_classification` (3,000 rows, 20 columns, 4 classes of two clusters each; 4 or 10 informative columns,
seeds 0 and 1), as they are: the tables on which M2 lost a class when its labelled bound weighed as much as
the unlabelled one (docs/results.md). With ``--gaps P``, also each table (not scaled) again as
NAME-gapsPP.csv with a share P of its input cells left empty, drawn at random (seed 0): missing values, which
ssvae fills and leaves out of its likelihood. With ``--penguins``, also penguins.csv, the Palmer penguins (344
rows, CC0; the package palmerpenguins holds them) as they come: the class in ``species``, two columns of
categories (``island``, ``sex``) beside the measurements, and missing values. For
`tools/bench_accuracy.py --data`.

    python -m tools.make_tables runs/tables      # wine.csv (178 rows), breast-cancer.csv (569), digits-table.csv (1,797)
                                                 # and wine-as-it-comes.csv
    python -m tools.make_tables runs/tables --classification   # and classification-i4-s0.csv ... -i10-s1.csv
    python -m tools.make_tables runs/tables --gaps 0.2         # and wine-gaps20.csv ... digits-table-gaps20.csv
    python -m tools.make_tables runs/tables --penguins         # and penguins.csv (pip install palmerpenguins)
"""

from __future__ import annotations

import argparse
import csv
import functools
import importlib.resources
import shutil
from pathlib import Path

import numpy as np

from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_classification
from sklearn.utils import Bunch

TABLES = {"wine": load_wine, "breast-cancer": load_breast_cancer, "digits-table": load_digits}


def classification(informative: int, seed: int) -> Bunch:
    """A `make_classification` table of 3,000 rows, 20 columns (``informative`` of them informative) and 4
    classes, each two clusters, class_sep 1: harder than the bundled tables, as many a user's own are."""
    x, y = make_classification(n_samples=3000, n_features=20, n_informative=informative, n_classes=4,
                               class_sep=1.0, random_state=seed)
    return Bunch(data=x, target=y)


CLASSIFICATION = {f"classification-i{informative}-s{seed}": functools.partial(classification, informative, seed)
                  for informative in (4, 10) for seed in (0, 1)}


def write_table(path: Path, loader, scaled: bool = False, gaps: float = 0.0) -> None:
    """One CSV row an example; digits' 64 pixel columns stay the whole numbers 0..16 they are. ``scaled``:
    every column min-max scaled to [0, 1] over all rows (a constant column to 0). ``gaps``: the share of input
    cells left empty, each drawn alike (seed 0)."""
    data = loader()
    names = [str(name) for name in getattr(data, "feature_names", [])] or [f"f{k}" for k in range(data.data.shape[1])]
    x = data.data
    if scaled:
        low, span = x.min(0), np.ptp(x, 0)
        x = (x - low) / np.where(span > 0, span, 1)
    missing = np.random.default_rng(0).random(x.shape) < gaps
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", *names, "label"])
        for i, (row, gone, y) in enumerate(zip(x, missing, data.target)):
            writer.writerow([f"r{i}", *("" if g else f"{v:g}" for v, g in zip(row, gone)), int(y)])


CULTIVARS = ("barolo", "grignolino", "barbera")  # wine's three classes, as the UCI data's notes name them
AS_IT_COMES_LABELS = 40  # rows of wine-as-it-comes.csv with their class; the others' cultivar cells are blank


def write_as_it_comes(path: Path) -> None:
    """Wine as a table of one's own often comes (see the module's docstring): 40 rows labelled, drawn with seed 0."""
    data = load_wine()
    labelled = set(np.random.default_rng(0).choice(len(data.target), AS_IT_COMES_LABELS, replace=False).tolist())
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["name", "bottled", *data.feature_names, "cultivar"])
        for i, (row, y) in enumerate(zip(data.data, data.target)):
            bottled = f"{2010 + i % 9}-{1 + i % 12:02d}-{1 + i % 28:02d}"
            writer.writerow([f"wine {i + 1}", bottled, *(f"{v:g}" for v in row), CULTIVARS[y] if i in labelled else ""])


def write_penguins(path: Path) -> None:
    """The Palmer penguins as the package palmerpenguins ships them (its CSV, copied as it is), or a SystemExit
    that says how to install it."""
    try:
        source = importlib.resources.files("palmerpenguins") / "data" / "penguins.csv"
    except ModuleNotFoundError:
        raise SystemExit("--penguins copies the table of the package palmerpenguins: pip install palmerpenguins") \
            from None
    with importlib.resources.as_file(source) as found:
        shutil.copyfile(found, path)


def main() -> None:
    parser = argparse.ArgumentParser(description="Write scikit-learn's wine, breast cancer and digits tables as "
                                                 "CSVs for ssvae train --data, each again scaled to [0, 1].")
    parser.add_argument("folder", nargs="?", type=Path, default=Path("runs/tables"),
                        help="where to write them (default: runs/tables)")
    parser.add_argument("--classification", action="store_true",
                        help="also write four make_classification tables (3,000 rows, 20 columns, 4 classes)")
    parser.add_argument("--gaps", type=float, metavar="P",
                        help="also write each table again with a share P (0 to 1) of its input cells empty")
    parser.add_argument("--penguins", action="store_true",
                        help="also write penguins.csv: species, islands and sexes as text (pip install palmerpenguins)")
    args = parser.parse_args()
    if args.gaps is not None and not 0 < args.gaps < 1:
        parser.error(f"--gaps {args.gaps}: give a share between 0 and 1, such as 0.2")
    folder = args.folder
    folder.mkdir(parents=True, exist_ok=True)
    for name, loader in TABLES.items():
        for suffix, scaled in (("", False), ("-01", True)):
            write_table(folder / f"{name}{suffix}.csv", loader, scaled)
            print(f"wrote {folder / name}{suffix}.csv")
    write_as_it_comes(folder / "wine-as-it-comes.csv")
    print(f"wrote {folder / 'wine-as-it-comes.csv'}")
    tables = {**TABLES, **(CLASSIFICATION if args.classification else {})}
    for name, loader in CLASSIFICATION.items() if args.classification else ():
        write_table(folder / f"{name}.csv", loader)
        print(f"wrote {folder / name}.csv")
    for name, loader in tables.items() if args.gaps else ():
        write_table(folder / f"{name}-gaps{round(100 * args.gaps):02d}.csv", loader, gaps=args.gaps)
        print(f"wrote {folder / name}-gaps{round(100 * args.gaps):02d}.csv")
    if args.penguins:
        write_penguins(folder / "penguins.csv")
        print(f"wrote {folder / 'penguins.csv'}")


if __name__ == "__main__":
    main()
