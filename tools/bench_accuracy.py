"""Test accuracy with few labels: ssvae's models against scikit-learn baselines on the same labels.

Every row uses the run's own class-balanced labels (validation included in the count) and the data set's
test split. Prints a table and appends it to BENCHMARKS.md with the device, torch version, commit and date.

    python -m tools.bench_accuracy --dataset digits --labels 100 --seeds 0 1 2
    python -m tools.bench_accuracy --dataset digits --seeds 0 --models m2 --baselines --set latent_dim=50 --set lr=1e-3
    python -m tools.bench_accuracy --dataset fashion-mnist --data-dir ../shared/datasets/fashion-mnist \\
        --labels 100 --seeds 0 --epochs 20 --models supervised m2
    python -m tools.bench_accuracy --dataset fashion-mnist --data-dir ../shared/datasets/fashion-mnist \\
        --labels 100 --seeds 0 --recipe accurate --models supervised fixmatch m2
    python -m tools.bench_accuracy --dataset fashion-mnist --data-dir DIR --labels 100 --seeds 0 1 2 3 4 \\
        --recipe accurate --models m2 --baselines --jobs 5        # five runs side by side on one GPU
    python -m tools.make_tables runs/tables && python -m tools.bench_accuracy --data runs/tables/wine.csv \\
        --labels 12 --seeds 0 1 2 --models supervised m2            # a table of your own: a CSV, all labelled
    python -m tools.make_tables runs/tables --gaps 0.2 && python -m tools.bench_accuracy \\
        --data runs/tables/wine-gaps20.csv --labels 12 --seeds 0 1 2 --models m2    # a fifth of its values missing
                                                     # (the baselines fill each gap with its column's mean)
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import signal
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Callable

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.semi_supervised import LabelSpreading

import ssvae
from ssvae.config import Config
from ssvae.settings import config_for
from ssvae.run_data import new_run_data
from ssvae.data import UNLABELLED, Partition
from ssvae.training import resolve_device
from tools.benchlog import benchmarks_option, device_name, publish

BASELINES = ("logistic-regression", "label-spreading")


def run_data(config: Config) -> tuple[Config, Partition]:
    """An ssvae run of ``config`` filled from its data, and the labelled, validation, unlabelled and test
    examples it chooses: as `ssvae.train` makes them (`ssvae.run_data.new_run_data`), its --test-data too."""
    config, source, split = new_run_data(config)
    return config, split.apply(source)


def sklearn_accuracy(name: str, config: Config) -> tuple[float, float]:
    """(accuracy, seconds fitting) of a scikit-learn baseline on the labels of an ssvae run of ``config``, its
    validation labels too, tested on the run's labelled test examples; the seconds leave out predicting the
    test set, as ssvae's leave out evaluating."""
    config, part = run_data(config)
    flat = lambda d: d.x.reshape(len(d), -1)  # noqa: E731
    if config.likelihood == "gaussian":  # standardised, as ssvae's Gaussian model takes them, a gap at the mean, 0
        scaler = StandardScaler().fit(np.concatenate([flat(d) for d in (part.labelled, part.unlabelled)]))
        flat = lambda d: np.nan_to_num(scaler.transform(d.x.reshape(len(d), -1)), nan=0.0)  # noqa: E731
    start = time.perf_counter()
    # every label of the budget: the run's validation labels too, which the baselines have no epochs to choose by
    labelled = [d for d in (part.labelled, part.validation) if d is not None]
    x_l, y_l = np.concatenate([flat(d) for d in labelled]), np.concatenate([d.y for d in labelled])
    if name == "logistic-regression":
        model = LogisticRegression(max_iter=2000).fit(x_l, y_l)
    else:
        x = np.concatenate([x_l, flat(part.unlabelled)])
        y = np.concatenate([y_l, np.full(len(part.unlabelled), UNLABELLED)])
        model = LabelSpreading(kernel="knn", n_neighbors=10, max_iter=100).fit(x, y)
    seconds = time.perf_counter() - start
    test = part.labelled_test
    return float((model.predict(flat(test)) == test.y).mean()), seconds


def ssvae_accuracy(config: Config, out: Path | None = None) -> tuple[float, float, int]:
    """(accuracy, seconds training, labels seen) of an ssvae run; the seconds leave out loading the data.
    With ``out``, the run is written there as `ssvae train --out` writes it (to evaluate or export later)."""
    run = ssvae.train(config, out=out, progress=False)
    report = ssvae.evaluate(run)
    return report["accuracy"], sum(record["seconds"] for record in run.history), report["labels_seen"]


def run_job(name: str, config: Config, out: Path | None) -> tuple[float, float]:
    """(accuracy, seconds) of one row's run: ``name`` is an ssvae model (``config.model``) or a baseline."""
    if name in BASELINES:
        return sklearn_accuracy(name, config)
    accuracy, seconds, seen = ssvae_accuracy(config, out)
    assert seen == config.labels, f"{name} saw {seen} labels, not its budget of {config.labels}"
    return accuracy, seconds


Job = tuple[str, Config, Path | None]  # a row's model or baseline name, its config, where to keep the run
Result = tuple[float, float]  # accuracy, seconds


def run_jobs(jobs: list[Job], workers: int) -> tuple[list[Result | None], str | None]:
    """Every job's (accuracy, seconds), in order, each printed as it finishes; ``workers`` processes at once
    (one: in this process). Small models leave a GPU room for several runs side by side. Stopped early, it
    returns the runs that finished and None for the others, so that a table of what was measured still comes
    out, and says why: "interrupted" (Ctrl-C, or `timeout -s INT`), or a worker process that died (killed,
    out of memory, or gone with the interrupt before it reached this process); None when every run finished."""
    done: dict[int, Result] = {}

    def finished(i: int, result: Result) -> None:
        done[i] = result
        name, config, _ = jobs[i]
        data = Path(config.data).name if config.data else config.dataset
        print(f"  {data} labels={config.labels} {name} seed={config.seed}: {result[0]:.4f} ({result[1]:.0f} s)",
              flush=True)

    stopped = None
    try:
        if workers == 1:
            for i, job in enumerate(jobs):
                finished(i, run_job(*job))
        else:
            _run_in_processes(jobs, workers, finished)
    except KeyboardInterrupt:  # the workers get the same signal and die with it
        stopped = "interrupted"
        # `timeout -s INT` signals the whole process group, this process again among it: the table of what
        # was measured must still come out
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    except BrokenProcessPool:
        stopped = "a worker process died (killed, out of memory, or interrupted)"
    if stopped:
        print(f"  {stopped}: {len(done)} of {len(jobs)} runs finished", flush=True)
    return [done.get(i) for i in range(len(jobs))], stopped


def _end_at_interrupt() -> None:
    """A worker ends at Ctrl-C (or `timeout -s INT`, which signals the whole process group): it would
    otherwise report the interrupt as its run's error and go on to the next run, which the parent, publishing
    what finished, would then wait for at its exit."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_in_processes(jobs: list[Job], workers: int, finished: Callable[[int, Result], None]) -> None:
    # spawned, not forked: a forked child cannot use the CUDA its parent may have started
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_end_at_interrupt)
    try:
        futures = {pool.submit(run_job, *job): i for i, job in enumerate(jobs)}
        for future in as_completed(futures):
            finished(futures[future], future.result())
    finally:  # a failed job's error comes at once, not after the other runs
        pool.shutdown(wait=False, cancel_futures=True)


def parse_setting(item: str) -> tuple[str, object]:
    """``FIELD=VALUE`` with VALUE as JSON where it parses (numbers, lists), else as a string."""
    field, _, value = item.partition("=")
    try:
        return field, json.loads(value)
    except json.JSONDecodeError:
        return field, value


def set_changes(items: list[str]) -> dict[str, object]:
    """The Config changes that ``--set`` options name."""
    return dict(parse_setting(item) for item in items)


def add_set_option(parser: argparse.ArgumentParser) -> None:
    """``--set FIELD=VALUE``, as often as needed: the benchmarks' way to change any Config field of a run."""
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="override any Config field of the ssvae runs, e.g. --set latent_dim=50 --set "
                             "hidden=[256] (a JSON value, else a string)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--data", help="a file of your own (a CSV, an .npz) instead of --dataset, its labels all given")
    parser.add_argument("--data-dir")
    parser.add_argument("--labels", type=int, nargs="+", default=[100])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=["supervised", "m2"])
    parser.add_argument("--baselines", nargs="*", default=list(BASELINES),
                        help="scikit-learn baselines to run on the same labels (default: both); "
                             "the flag alone, with no names, runs none")
    parser.add_argument("--recipe", help="a named recipe of ssvae.settings.RECIPES, applied over the preset as "
                                         "`ssvae train --recipe` does (each model takes what applies to it)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs, M1's too (a reduced protocol)")
    add_set_option(parser)
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="write each ssvae run to DIR/DATASET-LABELS-MODEL-seedSEED (checkpoints included)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at once, each in its own process (default 1: one after the other, here); "
                             "without --set threads=N each gets its share of the CPU's cores")
    benchmarks_option(parser)
    args = parser.parse_args()
    if unknown := set(args.baselines) - set(BASELINES):
        parser.error(f"unknown baselines {sorted(unknown)}: choose from {', '.join(BASELINES)}")
    changes = {"epochs": args.epochs} if args.epochs else {}
    changes.update(set_changes(args.set))
    if named := sorted({"dataset", "data", "data_dir", "labels", "model", "recipe", "seed"} & set(changes)):
        parser.error(f"--set {', '.join(named)}: these have options of their own (--dataset, --data, --data-dir, "
                     f"--labels, --models, --recipe, --seeds)")
    if args.jobs > 1 and "threads" not in changes:  # torch's default, every core, in each run: oversubscribed
        changes["threads"] = max(1, len(os.sched_getaffinity(0)) // args.jobs)  # the cores this process may use
    data_name = Path(args.data).name if args.data else args.dataset
    names = [*args.baselines, *args.models]

    def job(labels: int, name: str, seed: int) -> Job:
        # the baselines take the same split settings, so the same labels and test examples
        model = {} if name in BASELINES else {"model": name}
        if args.epochs and name == "m1+m2":  # its M1 stage as long as its M2 stage (no other model reads it)
            model["m1_epochs"] = args.epochs
        config = config_for(None if args.data else args.dataset, data=args.data, data_dir=args.data_dir,
                            recipe=args.recipe, labels=labels,
                            seed=seed, **changes, **model)
        return name, config, args.keep / f"{data_name}-{labels}-{name}-seed{seed}" if args.keep else None

    jobs = [job(labels, name, seed) for labels in args.labels for name in names for seed in args.seeds]
    if taken := [str(out) for *_, out in jobs if out is not None and out.exists()]:
        parser.error(f"--keep {args.keep}: {', '.join(taken)} already exist: choose another folder, or remove them")
    results, stopped = run_jobs(jobs, args.jobs)
    if not any(results):
        raise SystemExit("no run finished: nothing to publish")
    rows, each = [], iter(results)
    for labels in args.labels:
        for name in names:
            finished = [result for result in itertools.islice(each, len(args.seeds)) if result is not None]
            if not finished:
                continue
            accs, secs = zip(*finished)
            spread = f" ± {100 * statistics.stdev(accs):.2f}" if len(accs) > 1 else ""  # none from one seed
            rows.append(f"| {data_name} | {labels} | {name} | {100 * statistics.mean(accs):.2f}{spread} "
                        f"| {len(accs)} | {statistics.mean(secs):.0f} |")
    epochs = f"epochs {args.epochs} (reduced protocol)" if args.epochs else "its epochs" if args.recipe else \
        "preset epochs"
    notes = [f"recipe {args.recipe}"] if args.recipe else []
    notes += [f"seed{'s' if len(args.seeds) > 1 else ''} {' '.join(map(str, args.seeds))}", epochs, *args.set]
    if args.jobs > 1:  # their seconds are shared
        notes.append(f"{args.jobs} runs at once")
    if stopped:
        notes.append(f"{stopped}: {sum(r is not None for r in results)} of {len(jobs)} runs finished")
    settings = ", ".join(notes)
    table = ["| data | labels seen | model | test accuracy % (mean ± sample std) | seeds | train s |",
             "|---|---|---|---|---|---|", *rows]
    config = next((config for name, config, _ in jobs if name not in BASELINES), jobs[0][1])  # scikit-learn: CPU
    device = device_name(resolve_device(config.device), config.threads)
    publish(Path(args.benchmarks), f"Accuracy, {data_name}, {settings}, {device}", table)
    if stopped and stopped != "interrupted":
        raise SystemExit(f"published the {sum(r is not None for r in results)} runs that finished, but {stopped}")


if __name__ == "__main__":
    main()
