"""Test accuracy with few labels: ssvae's models against scikit-learn baselines on the same labels.

Every row uses the run's own class-balanced labels (validation included in the count) and the data set's
test split. Prints a table and appends it to BENCHMARKS.md with the device, torch version, commit and date.

    python -m tools.bench_accuracy --dataset digits --labels 100 --seeds 0 1 2
    python -m tools.bench_accuracy --dataset digits --seeds 0 --models m2 --baselines --set latent_dim=50 --set lr=1e-3
    python -m tools.bench_accuracy --dataset fashion-mnist --data-dir ../shared/datasets/fashion-mnist \\
        --labels 100 --seeds 0 --epochs 20 --models supervised m2
    python -m tools.bench_accuracy --dataset fashion-mnist --data-dir ../shared/datasets/fashion-mnist \\
        --labels 100 --seeds 0 --recipe accurate --models supervised fixmatch m2
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.semi_supervised import LabelSpreading

import ssvae
from ssvae.config import Config, config_for
from ssvae.data import UNLABELLED, Partition, choose_split, load_source
from tools.benchlog import publish, device_name


def run_partition(config: Config) -> Partition:
    """The labelled, validation, unlabelled and test examples an ssvae run of ``config`` chooses (as
    `ssvae.train` does)."""
    source = load_source(config.dataset, config.data, config.data_dir)
    return choose_split(source, config.labels, config.val_labels, config.test_fraction, config.split_seed,
                        config.seed).apply(source)


def sklearn_accuracy(name: str, config: Config) -> tuple[float, float]:
    """(accuracy, seconds fitting) of a scikit-learn baseline on the labels an ssvae run of ``config`` trains on."""
    part = run_partition(config)
    flat = lambda d: d.x.reshape(len(d), -1)  # noqa: E731
    start = time.perf_counter()
    if name == "logistic-regression":
        model = LogisticRegression(max_iter=2000).fit(flat(part.labelled), part.labelled.y)
    else:
        x = np.concatenate([flat(part.labelled), flat(part.unlabelled)])
        y = np.concatenate([part.labelled.y, np.full(len(part.unlabelled), UNLABELLED)])
        model = LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100).fit(x, y)
    accuracy = float((model.predict(flat(part.test)) == part.test.y).mean())
    return accuracy, time.perf_counter() - start


def ssvae_accuracy(config: Config, out: Path | None = None) -> tuple[float, float, int]:
    """(accuracy, seconds training, labels seen) of an ssvae run; the seconds leave out loading the data.
    With ``out``, the run is written there as `ssvae train --out` writes it (to evaluate or export later)."""
    run = ssvae.train(config, out=out, progress=False)
    report = ssvae.evaluate(run)
    return report["accuracy"], sum(record["seconds"] for record in run.history), report["labels_seen"]


def parse_setting(item: str) -> tuple[str, object]:
    """``FIELD=VALUE`` with VALUE as JSON where it parses (numbers, lists), else as a string."""
    field, _, value = item.partition("=")
    try:
        return field, json.loads(value)
    except json.JSONDecodeError:
        return field, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data-dir")
    parser.add_argument("--labels", type=int, nargs="+", default=[100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["supervised", "m2"])
    parser.add_argument("--baselines", nargs="*", default=["logistic-regression", "label-spreading"],
                        help="scikit-learn baselines to run on the same labels (default: both); "
                             "the flag alone, with no names, runs none")
    parser.add_argument("--recipe", help="a named recipe of ssvae.config.RECIPES, applied over the preset as "
                                         "`ssvae train --recipe` does (each model takes what applies to it)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs (a reduced protocol)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any Config field of the ssvae models, e.g. --set latent_dim=50 (JSON value)")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write each ssvae run to DIR/DATASET-LABELS-MODEL-seedSEED (checkpoints included)")
    parser.add_argument("--benchmarks", default="BENCHMARKS.md")
    args = parser.parse_args()
    changes = {"epochs": args.epochs} if args.epochs else {}
    changes.update(parse_setting(item) for item in args.set)
    rows = []
    for labels in args.labels:
        for name in [*args.baselines, *args.models]:
            accs, secs = [], []
            for seed in args.seeds:
                # the baselines take the same split settings, so the same labels and test examples
                model = {} if name in args.baselines else {"model": name}
                config = config_for(args.dataset, data_dir=args.data_dir, recipe=args.recipe, labels=labels,
                                    seed=seed, **changes, **model)
                if name in args.baselines:
                    acc, sec = sklearn_accuracy(name, config)
                else:
                    out = args.keep / f"{args.dataset}-{labels}-{name}-seed{seed}" if args.keep else None
                    acc, sec, seen = ssvae_accuracy(config, out)
                    assert seen == labels
                accs.append(acc)
                secs.append(sec)
                print(f"  {args.dataset} labels={labels} {name} seed={seed}: {acc:.4f} ({sec:.0f} s)", flush=True)
            std = statistics.stdev(accs) if len(accs) > 1 else 0.0
            rows.append(f"| {args.dataset} | {labels} | {name} | {100 * statistics.mean(accs):.2f} ± {100 * std:.2f} "
                        f"| {len(accs)} | {statistics.mean(secs):.0f} |")
    epochs = f"epochs {args.epochs} (reduced protocol)" if args.epochs else "its epochs" if args.recipe else \
        "preset epochs"
    settings = (f"recipe {args.recipe}, " if args.recipe else "") + epochs + "".join(f", {i}" for i in args.set)
    table = ["| data | labels seen | model | test accuracy % (mean ± std) | seeds | train s |",
             "|---|---|---|---|---|---|", *rows]
    publish(Path(args.benchmarks), f"Accuracy, {args.dataset}, {settings}, {device_name()}", table)


if __name__ == "__main__":
    main()
