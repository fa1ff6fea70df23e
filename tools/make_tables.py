"""Write scikit-learn's bundled tables as CSVs that `ssvae train --data` reads: an id column, the named
feature columns and a label column, every row labelled (`--labels N` then keeps N of them, and the rest of
the training rows are used unlabelled). For `tools/bench_accuracy.py --data`.

    python -m tools.make_tables runs/tables      # wine.csv (178 rows), breast-cancer.csv (569), digits-table.csv (1,797)
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from sklearn.datasets import load_breast_cancer, load_digits, load_wine

TABLES = {"wine": load_wine, "breast-cancer": load_breast_cancer, "digits-table": load_digits}


def write_table(path: Path, loader) -> None:
    """One CSV row an example; digits' 64 pixel columns stay the whole numbers 0..16 they are."""
    data = loader()
    names = [str(name) for name in getattr(data, "feature_names", [])] or [f"f{k}" for k in range(data.data.shape[1])]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", *names, "label"])
        for i, (x, y) in enumerate(zip(data.data, data.target)):
            writer.writerow([f"r{i}", *(f"{v:g}" for v in x), int(y)])


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "runs/tables")
    folder.mkdir(parents=True, exist_ok=True)
    for name, loader in TABLES.items():
        write_table(folder / f"{name}.csv", loader)
        print(f"wrote {folder / name}.csv")


if __name__ == "__main__":
    main()
