"""The benchmarks' arithmetic: the FLOP formula that bench_train's "share of matmul rate" rests on, the
same labels for bench_accuracy's baselines as for its ssvae runs, and bench_batch_norm's statistics; and the
tools' entry points run on small inputs (bench_train's parts, whose whole run takes minutes, have tests of their
own): the table each prints and records, or the files it writes."""

import csv
import datetime
import itertools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ssvae.models import M2
from ssvae.models.networks import mlp
from ssvae.objectives import LossWeights
import ssvae
from ssvae.augment import WEAK, augment
from ssvae.averaging import recompute_batch_norm
from ssvae.config import Config
from ssvae.settings import config_for
from ssvae.run import WEIGHTS, save_weights
from ssvae.training import DeviceData
from ssvae import inference, runtime
from ssvae.data import Dataset, Source, choose_split, load_source
from ssvae.data.csv_files import CsvColumns
from tools import bench_accuracy
from tools.bench_accuracy import run_data, run_job, run_jobs
from tools.bench_batch_norm import accuracies
from tools.bench_curve import curve
from tools.bench_denormals import window_rows
from tools.bench_layout import RECIPE, plain_layout
from tools import bench_train, timing
from tools.benchlog import cpu_model
from tools.bench_train import (PAPER_M2, NaiveM2, endless, fashion_config, pass_flops, pool_partition, ssvae_pass,
                               ssvae_rows, step_flops, warm_up_rows)

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("d, h, c, z, k, b_l, b_u", [(16, 5, 4, 2, 3, 4, 6), (784, 500, 500, 4, 10, 100, 100)])
def test_step_flop_formula_equals_torch_flop_counter(d, h, c, z, k, b_l, b_u):
    model = M2(input_dim=d, n_classes=k, latent_dim=z, hidden=(h,), classifier=mlp((d, c, k)),
               likelihood="bernoulli", vat_epsilon=1.0)
    x_l, y_l, x_u = torch.rand(b_l, d), torch.arange(b_l) % k, torch.rand(b_u, d)
    with FlopCounterMode(display=False) as counter:
        model.loss(x_l, y_l, x_u, LossWeights(1.0, 2.0))["loss"].backward()
    assert counter.get_total_flops() == step_flops(d, h, c, z, k, b_l, b_u)


def fake_fashion(n: int = 800) -> Source:
    """Random binary images of Fashion-MNIST's shape, ``n // 10`` a class: enough for the benches' 100 labels."""
    rng = np.random.default_rng(0)
    x = (rng.random((n, 1, 28, 28)) < 0.3).astype(np.float32)
    return Source(Dataset(x, np.arange(n) % 10, tuple("abcdefghij")), None)


def test_bench_train_pass_does_the_flops_of_the_formula_and_warms_up_every_batch_shape():
    # the bench's own config: were the preset to gain VAT or consistency, the counted FLOPs would exceed the formula
    source = fake_fashion()
    config = fashion_config(source, None, **PAPER_M2)
    partition = pool_partition(source, 450)  # more than the 3 warm-up steps of 100: 4 full batches, then 50
    sizes: list[int] = []
    record = lambda module, args: sizes.append(args[0].shape[0])  # noqa: E731
    timed = ssvae_pass(partition, config, torch.device("cpu"),
                       adjust=lambda model: model.decoder.register_forward_pre_hook(record))
    warmed, sizes[:] = set(sizes), []
    with FlopCounterMode(display=False) as counter:
        timed()
    assert counter.get_total_flops() == pass_flops(config, 450)
    assert set(sizes) <= warmed and len(set(sizes)) == 2  # full batches and the short last one, both warmed up


def copy_into_naive(model: M2, naive: NaiveM2) -> None:
    """``model``'s weights into the straightforward M2, whose first layers take [x, onehot(y)] in one matrix."""
    with torch.no_grad():
        naive.classifier.load_state_dict(model.classifier.state_dict())
        for ours, theirs in ((model.encoder.body, naive.encoder), (model.decoder, naive.decoder)):
            theirs[0].weight.copy_(torch.cat([ours.in_proj.weight, ours.class_proj.weight], 1))
            theirs[0].bias.copy_(ours.in_proj.bias)
            theirs[2].load_state_dict(ours.rest[1][0].state_dict())


def test_straightforward_baseline_computes_the_objective_of_ssvae_m2(monkeypatch):
    torch.manual_seed(0)
    d, h, c, z, k = 16, 5, 4, 2, 3
    model = M2(input_dim=d, n_classes=k, latent_dim=z, hidden=(h,), classifier=mlp((d, c, k)),
               likelihood="bernoulli", vat_epsilon=1.0)
    naive = NaiveM2(d, k, z, h, c)
    copy_into_naive(model, naive)
    x_l, y_l, x_u = torch.rand(4, d), torch.arange(4) % k, torch.rand(6, d)
    monkeypatch.setattr(torch, "randn_like", torch.zeros_like)  # z = mu in both: the same numbers exactly
    ours = model.loss(x_l, y_l, x_u, LossWeights(1.0, 7.0))["loss"]
    theirs = naive.loss(x_l, y_l, x_u, 7.0)
    assert theirs.item() == pytest.approx(ours.item(), rel=1e-6)
    assert abs(theirs.item()) > 1.0  # a real loss: reconstruction of 16 inputs and 3 classes


def test_baseline_labelled_stream_is_shuffled_anew_every_pass():
    data = torch.utils.data.TensorDataset(torch.arange(8))
    loader = torch.utils.data.DataLoader(data, batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(0))
    first, second = (batch[0].tolist() for batch in itertools.islice(endless(loader), 2))
    assert first != second  # `itertools.cycle` would hand the first pass's batch back, in the same order
    assert sorted(first) == sorted(second) == list(range(8))


def tiny_digits(**changes) -> Config:
    return config_for("digits", **{"labels": 20, "epochs": 1, "hidden": (16,), "classifier_hidden": (16,),
                                   "threads": 1, **changes})


def test_runs_side_by_side_come_back_in_the_order_of_the_jobs():
    # the slow run first: it finishes last, so results in finishing order would come back swapped
    jobs = [("m2", tiny_digits(model="m2", epochs=20), None), ("logistic-regression", tiny_digits(), None)]
    results, stopped = run_jobs(jobs, workers=2)
    side_by_side = [accuracy for accuracy, _ in results]
    assert side_by_side == [run_job(*job)[0] for job in jobs] and len(set(side_by_side)) == 2 and stopped is None


def test_an_interrupted_bench_returns_the_runs_that_finished(monkeypatch):
    calls = []

    def job(name, config, out):
        calls.append(config.seed)
        if config.seed == 1:
            raise KeyboardInterrupt  # Ctrl-C, or `timeout -s INT` in tools/gpu_checks.sh
        return 0.5, 2.0

    monkeypatch.setattr(bench_accuracy, "run_job", job)
    jobs = [("m2", tiny_digits(seed=seed), None) for seed in range(3)]
    try:
        assert run_jobs(jobs, workers=1) == ([(0.5, 2.0), None, None], "interrupted") and calls == [0, 1]
        # `timeout -s INT` signals the process group too: a second interrupt must not stop the table's publishing
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        os.kill(os.getpid(), signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def die_at_seed_one(name, config, out):
    """A job whose worker is killed at seed 1, as the system kills one out of memory (no exception, no cleanup)."""
    if config.seed == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return 0.5, 2.0


def test_a_dead_worker_is_told_apart_from_an_interruption(monkeypatch):
    monkeypatch.setattr(bench_accuracy, "run_job", die_at_seed_one)  # the spawned workers import it from here
    results, stopped = run_jobs([("m2", tiny_digits(seed=seed), None) for seed in range(2)], workers=2)
    assert results[1] is None and stopped == "a worker process died (killed, out of memory, or interrupted)"


def interrupt_at_seed_one(name, config, out):
    """A job whose worker gets Ctrl-C at seed 1 (`timeout -s INT` signals every process of the group), once
    seed 0, run beside it in a worker that may start seconds later, has finished and the parent has its
    result: the pool, broken first, would lose it. The parent leaves a file to say so."""
    if config.seed == 1:
        marker = Path(os.environ["SEED_ZERO_BACK"])
        deadline = time.monotonic() + 120
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)
    return 0.5, 2.0


def test_an_interrupted_worker_ends_rather_than_going_on_to_the_next_run(monkeypatch, tmp_path):
    """Were its KeyboardInterrupt a run's error, the worker would go on to the next run, and the parent, having
    published what finished, would wait for it at its exit (past `timeout -k`, which then kills it)."""
    marker = tmp_path / "seed-0-back"

    def print_and_mark(line, **kwargs):  # the parent prints each result it gets
        if "seed=0:" in line:
            marker.touch()

    monkeypatch.setattr(bench_accuracy, "run_job", interrupt_at_seed_one)
    monkeypatch.setattr(bench_accuracy, "print", print_and_mark, raising=False)
    monkeypatch.setenv("SEED_ZERO_BACK", str(marker))
    results, stopped = run_jobs([("m2", tiny_digits(seed=seed), None) for seed in range(3)], workers=2)
    assert marker.exists()  # seed 1 was interrupted after the parent had seed 0's result, not after 120 s
    assert results[0] == (0.5, 2.0) and results[1] is None
    assert stopped == "a worker process died (killed, out of memory, or interrupted)"


def test_bench_accuracy_runs_side_by_side_give_the_table_of_runs_one_after_another(tmp_path, monkeypatch):
    args = ["--dataset", "digits", "--labels", "20", "--seeds", "0", "1", "--models", "m2", "--baselines",
            "logistic-regression", "--epochs", "1", "--set", "hidden=[16]", "--set", "classifier_hidden=[16]",
            "--set", "threads=1", "--jobs", "2", "--benchmarks", str(tmp_path / "B.md")]
    monkeypatch.setattr("sys.argv", ["bench_accuracy", *args])
    bench_accuracy.main()
    rows = [line.split(" | ") for line in (tmp_path / "B.md").read_text().splitlines() if line.startswith("| digits")]
    for row, name in zip(rows, ["logistic-regression", "m2"], strict=True):
        config = tiny_digits(**({"model": name} if name == "m2" else {}))
        accuracies = [run_job(name, config.replace(seed=seed), None)[0] for seed in (0, 1)]  # here, in turn
        assert row[2] == name and row[4] == "2"
        assert row[3] == f"{100 * np.mean(accuracies):.2f} ± {100 * np.std(accuracies, ddof=1):.2f}"
    assert "seeds 0 1, " in (tmp_path / "B.md").read_text() and "2 runs at once" in (tmp_path / "B.md").read_text()


def test_bench_accuracy_shares_the_cores_among_its_jobs_and_refuses_to_keep_runs_over_others(tmp_path, monkeypatch,
                                                                                              capsys):
    """--jobs 4 on 8 cores: two threads a run, not every core in each; --keep where runs of that name are
    already refused before any training (ssvae.train would refuse the first at the end of its data loading)."""
    asked = []
    monkeypatch.setattr(bench_accuracy, "run_jobs", lambda jobs, workers: asked.extend(jobs) or ([None], "interrupted"))
    monkeypatch.setattr(bench_accuracy.os, "sched_getaffinity", lambda pid: set(range(8)))
    args = ["bench_accuracy", "--dataset", "digits", "--seeds", "0", "--models", "m2", "--baselines", "--jobs", "4"]
    monkeypatch.setattr("sys.argv", args)
    with pytest.raises(SystemExit, match="no run finished"):
        bench_accuracy.main()
    assert [config.threads for _, config, _ in asked] == [2]
    (tmp_path / "digits-100-m2-seed0").mkdir()
    monkeypatch.setattr("sys.argv", [*args, "--keep", str(tmp_path)])
    with pytest.raises(SystemExit):
        bench_accuracy.main()
    assert f"--keep {tmp_path}: {tmp_path / 'digits-100-m2-seed0'} already exist: choose another folder" in \
        capsys.readouterr().err and len(asked) == 1


def test_baselines_see_the_labels_and_test_examples_of_the_ssvae_run(monkeypatch):
    # split settings given with --set (here a larger test share and validation labels) reach the baselines too
    config = config_for("digits", labels=30, val_labels=10, test_fraction=0.5, seed=3, epochs=1)
    (_, ours), run = run_data(config), ssvae.train(config, progress=False).partition()
    assert len(ours.test) == len(run.test) == 899 and len(ours.labelled) == 20
    for part in ("labelled", "validation", "unlabelled", "test"):
        np.testing.assert_array_equal(getattr(ours, part).x, getattr(run, part).x, err_msg=part)
    fitted = []

    class Recorder:  # LogisticRegression, keeping what it is fitted on
        def __init__(self, **settings):
            pass

        def fit(self, x, y):
            fitted.append((x, y))
            return self

        def predict(self, x):
            return np.zeros(len(x), np.int64)

    monkeypatch.setattr(bench_accuracy, "LogisticRegression", Recorder)
    bench_accuracy.sklearn_accuracy("logistic-regression", config)
    (x, y), = fitted  # the whole budget of 30 labels: the run's 10 validation labels too
    np.testing.assert_array_equal(y, np.concatenate([ours.labelled.y, ours.validation.y]))
    np.testing.assert_array_equal(x, np.concatenate([ours.labelled.x, ours.validation.x]).reshape(30, -1))


class Fitted:
    """A scikit-learn classifier's stand-in that keeps what it is fitted on and predicts class 0."""

    def __init__(self, seen: list, **settings):
        self.seen = seen

    def fit(self, x, y):
        self.seen.append((x, y))
        return self

    def predict(self, x):
        return np.zeros(len(x), np.int64)


@pytest.mark.filterwarnings("ignore:--test-data .* fewer than 5 a class:UserWarning")  # tiny test data, as meant
def test_baselines_of_a_run_with_test_data_of_its_own_fit_its_labels_and_score_its_labelled_test_rows(
        tmp_path, monkeypatch):
    """--set test_data=FILE: the baselines had drawn their own test share from the training file (other labels,
    another test set); and a test row without a label counted as a mistake (42 % where 85 % was right)."""
    rng = np.random.default_rng(0)
    x = rng.random((60, 2, 2)).astype(np.float32)
    np.savez(tmp_path / "train.npz", x=x, y=np.arange(60) % 2)
    np.savez(tmp_path / "test.npz", x=x[:10], y=np.array([0, -1, -1, 0, -1, -1, 0, 0, -1, -1]))  # 6 unlabelled
    config = config_for(data=str(tmp_path / "train.npz"), test_data=str(tmp_path / "test.npz"), labels=12, seed=0)
    _, part = run_data(config)
    run = ssvae.train(config, epochs=1, progress=False).partition()
    for name in ("labelled", "test"):
        np.testing.assert_array_equal(getattr(part, name).x, getattr(run, name).x, err_msg=name)
    seen: list = []
    monkeypatch.setattr(bench_accuracy, "LogisticRegression", lambda **settings: Fitted(seen, **settings))
    accuracy, _ = bench_accuracy.sklearn_accuracy("logistic-regression", config)
    assert accuracy == 1.0  # class 0 for each of the four labelled test rows, all of class 0
    assert len(seen[0][1]) == 12


def test_baselines_standardise_real_valued_inputs_of_any_file_as_ssvae_does(tmp_path, monkeypatch):
    """An .npz of numbers in other units gets ssvae's Gaussian likelihood, which standardises them: the
    baselines are given them standardised too, not only a CSV's (wine's logistic regression: 67 % against
    96 %)."""
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(1000, 50, 40), rng.normal(0, 0.01, 40)], 1).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=np.arange(40) % 2)
    config = config_for(data=str(tmp_path / "d.npz"), labels=10, seed=0)
    fitted_config, part = run_data(config)
    assert not fitted_config.pixel_inputs and fitted_config.likelihood == "gaussian"
    seen: list = []
    monkeypatch.setattr(bench_accuracy, "LogisticRegression", lambda **settings: Fitted(seen, **settings))
    bench_accuracy.sklearn_accuracy("logistic-regression", config)
    rows = np.concatenate([part.labelled.x, part.unlabelled.x]).astype(np.float64)
    np.testing.assert_allclose(seen[0][0], (part.labelled.x - rows.mean(0)) / rows.std(0), rtol=1e-4, atol=1e-5)


def test_bench_accuracy_takes_a_table_and_standardises_its_columns_for_the_baselines(tmp_path, monkeypatch):
    from sklearn.datasets import load_wine

    from tools.make_tables import write_table

    write_table(tmp_path / "wine.csv", load_wine)
    config = config_for(data=str(tmp_path / "wine.csv"), labels=12, seed=0)
    _, part = run_data(config)
    fitted = []
    monkeypatch.setattr(bench_accuracy, "LogisticRegression", lambda **settings: types.SimpleNamespace(
        fit=lambda x, y: fitted.append(x) or types.SimpleNamespace(predict=lambda x: np.zeros(len(x), np.int64)))
    )
    bench_accuracy.sklearn_accuracy("logistic-regression", config)
    rows = np.concatenate([part.labelled.x, part.unlabelled.x]).astype(np.float64)  # proline ~1000, hue ~1
    np.testing.assert_allclose(fitted[0], (part.labelled.x - rows.mean(0)) / rows.std(0), rtol=1e-4, atol=1e-5)
    args = ["--data", str(tmp_path / "wine.csv"), "--labels", "12", "--seeds", "0", "--models", "supervised",
            "--baselines", "--epochs", "1", "--benchmarks", str(tmp_path / "B.md")]
    monkeypatch.setattr("sys.argv", ["bench_accuracy", *args])
    bench_accuracy.main()
    table = (tmp_path / "B.md").read_text()
    assert "## Accuracy, wine.csv, seed 0, epochs 1 (reduced protocol)" in table  # the seeds: tuned on, or not
    assert [line.split(" | ")[2] for line in table.splitlines() if line.startswith("| wine.csv | 12 |")] == [
        "supervised"]


# small settings in which each learns in seconds: m1+m2 needs the preset's M1 (200 units, its codes' means)
CURVE_SETTINGS = {"m2": dict(latent_dim=4, batch_size=200),
                  "m1+m2": dict(m1_epochs=20, batch_size=100)}


@pytest.mark.parametrize("model", ["m2", "m1+m2"])
def test_curve_evaluates_every_few_epochs_of_the_classifiers_stage_and_ends_at_the_kept_weights(model):
    config = config_for("digits", model=model, epochs=5, hidden=(32,), classifier_hidden=(32,),
                        **CURVE_SETTINGS[model])
    rows, kept = curve(config, every=2)
    assert [row["epoch"] for row in rows] == [2, 4, 5]  # the classifier's stage only (M2's), its last epoch too
    assert rows[0]["seconds"] < rows[1]["seconds"] < rows[2]["seconds"]
    assert rows[-1]["test_accuracy"] == pytest.approx(kept, abs=1e-6)  # 450 test images: a step is 0.0022
    # it learns (chance is 0.1), so the equality above is not that of two constant predictions
    assert kept > 0.4 and len({row["test_accuracy"] for row in rows}) == 3


def test_bench_train_rows_cover_every_variant_at_every_batch_size():
    config = config_for("fashion-mnist", input_shape=(1, 28, 28), class_names=tuple("abcdefghij"))
    rows = ssvae_rows(config, [100, 500])
    variants = ["", ", --precision bfloat16", ", --compile", ", --precision bfloat16 --compile"]
    assert list(rows) == [f"ssvae M2{size}{v}" for size in ("", ", batch 500") for v in variants]
    assert [row.batch_size for row in rows.values()] == [100] * 4 + [500] * 4
    both = rows["ssvae M2, batch 500, --precision bfloat16 --compile"]
    assert (both.batch_size, both.precision, both.compile, both.lr) == (500, "bfloat16", True, config.lr)


class FakeClock:
    """`time.monotonic` for tools.timing, moved on by the passes themselves: each takes ``seconds``."""

    def __init__(self, monkeypatch):
        self.now = 0.0
        monkeypatch.setattr(timing.time, "monotonic", lambda: self.now)

    def pass_of(self, seconds: float, interrupt_at: float = float("inf")):
        def run_pass() -> float:
            if self.now >= interrupt_at:
                raise KeyboardInterrupt
            self.now += seconds
            return seconds
        return run_pass


def test_timed_rounds_start_no_round_that_would_end_past_the_deadline(monkeypatch):
    clock = FakeClock(monkeypatch)
    passes = {"a": clock.pass_of(1.0), "b": clock.pass_of(2.0)}  # a round takes 3 s
    assert timing.timed_rounds(passes, 5, deadline=7.0) == {"a": [1.0, 1.0], "b": [2.0, 2.0]}  # a third ends at 9
    clock.now = 0.0
    assert timing.timed_rounds(passes, 5, deadline=1.0) == {"a": [1.0], "b": [2.0]}  # one round, always
    clock.now = 0.0
    assert timing.timed_rounds(passes, 2) == {"a": [1.0, 1.0], "b": [2.0, 2.0]}  # no deadline: every round


def test_timed_rounds_keep_the_complete_rounds_at_ctrl_c_under_a_deadline(monkeypatch):
    clock = FakeClock(monkeypatch)
    passes = {"a": clock.pass_of(1.0), "b": clock.pass_of(2.0, interrupt_at=4.0)}  # in the second round's b
    assert timing.timed_rounds(passes, 5, deadline=100.0) == {"a": [1.0], "b": [2.0]}
    for deadline, start in ((None, 0.0), (100.0, 3.0)):  # without a deadline, or in the first round: raised
        clock.now = start
        with pytest.raises(KeyboardInterrupt):
            timing.timed_rounds(passes, 5, deadline=deadline)


def test_bench_train_leaves_out_rows_past_half_its_time_and_compiled_rows_that_fail(monkeypatch):
    config = config_for("fashion-mnist", input_shape=(1, 28, 28), class_names=tuple("abcdefghij"))
    configs = ssvae_rows(config, [100, 500])
    warmed = []

    def fake_pass(partition, row, device):
        warmed.append(row)
        if row.compile and row.batch_size == 500:
            raise RuntimeError("no Triton: the build was interrupted")  # no interrupt of this bench
        return lambda: 1.0

    monkeypatch.setattr(bench_train, "ssvae_pass", fake_pass)
    monkeypatch.setattr(bench_train.time, "monotonic", lambda: 100.0 + len(warmed))  # a second a warm-up
    passes = {"straightforward": lambda: 2.0}
    left_out, interrupted = warm_up_rows(passes, None, configs, torch.device("cpu"), deadline=200.0)
    assert [r.compile for r in warmed] == [False] * 4 + [True] * 4  # the rows without compiling first
    failed = "RuntimeError: no Triton: the build was interrupted"
    assert left_out == {"ssvae M2, batch 500, --compile": failed,
                        "ssvae M2, batch 500, --precision bfloat16 --compile": failed} and not interrupted
    assert len(passes) == 1 + 6
    warmed.clear()
    left_out, _ = warm_up_rows({}, None, configs, torch.device("cpu"), deadline=102.5)
    eager = [name for name, row in configs.items() if not row.compile]
    assert len(warmed) == 3 and set(left_out) == set(configs) - set(eager[:3])  # the fourth starts at 103 s
    assert all("--time-limit" in why for why in left_out.values())


def test_bench_train_times_the_rows_warmed_up_when_a_compile_is_interrupted(monkeypatch):
    """`timeout -s INT` during a compile (its step's limit): the rows warmed up before are kept for the timed
    rounds, this one and those after it are named as interrupted, and no further warm-up starts."""
    config = config_for("fashion-mnist", input_shape=(1, 28, 28), class_names=tuple("abcdefghij"))
    configs = ssvae_rows(config, [100])
    warmed = []

    def fake_pass(partition, row, device):
        warmed.append(row)
        if row.compile:
            raise KeyboardInterrupt
        return lambda: 1.0

    monkeypatch.setattr(bench_train, "ssvae_pass", fake_pass)
    passes = {}
    left_out, interrupted = warm_up_rows(passes, None, configs, torch.device("cpu"), deadline=float("inf"))
    assert interrupted and list(passes) == ["ssvae M2", "ssvae M2, --precision bfloat16"] and len(warmed) == 3
    assert left_out == {"ssvae M2, --compile": "interrupted while warming up (Ctrl-C, or timeout -s INT)",
                        "ssvae M2, --precision bfloat16 --compile": "interrupted before its warm-up (Ctrl-C, or "
                                                                    "timeout -s INT)"}
    monkeypatch.setattr(bench_train, "ssvae_pass", lambda *args: (_ for _ in ()).throw(ValueError("a bug")))
    with pytest.raises(ValueError, match="a bug"):  # a row without compiling that fails is a bug, not a row
        warm_up_rows({}, None, configs, torch.device("cpu"), deadline=1e9)


def test_bench_train_refuses_a_compiled_pass_that_fell_back_to_eager(monkeypatch):
    def unavailable(function):
        def fails(*args, **kwargs):
            raise RuntimeError("no C++ compiler")
        return fails

    monkeypatch.setattr(torch, "compile", unavailable)
    source = fake_fashion()
    config = fashion_config(source, None, **PAPER_M2).replace(compile=True)
    with pytest.warns(RuntimeWarning, match="no C\\+\\+ compiler"), pytest.raises(
            RuntimeError, match="torch.compile is unavailable here"):
        ssvae_pass(pool_partition(source, 300), config, torch.device("cpu"))


def test_bench_train_gives_a_gpu_epoch_three_places_and_never_an_exponent():
    assert [bench_train.epoch_seconds(s) for s in (0.2434, 0.9996, 25.84, 1234.5)] == ["0.243", "1.000", "25.8",
                                                                                      "1234.5"]


def test_pass_flops_counts_the_short_last_step():
    config = config_for("fashion-mnist", input_shape=(1, 28, 28), class_names=tuple("abcdefghij"), batch_size=100)
    one = lambda b_u: step_flops(784, 500, 500, 4, 10, 100, b_u)  # noqa: E731
    assert pass_flops(config, 250) == 2 * one(100) + one(50)
    assert pass_flops(config, 200) == 2 * one(100)


def test_denormal_bench_pairs_flushed_odd_epochs_with_plain_even_ones():
    seconds = {1: 10.0, 2: 12.0, 3: 11.0, 4: 14.0, 5: 9.0, 6: 30.0, 7: 10.0}
    assert window_rows(seconds, 4) == ["| 1-4 | 10.5 | 13.0 | 1.24x |", "| 5-7 | 9.5 | 30.0 | 3.16x |"]


def test_layout_bench_trains_the_recipe_with_consistency_in_the_layout_it_names():
    config = config_for("digits", labels=50, **{**RECIPE, "classifier_channels": (4, 8), "batch_size": 64})
    _, partition = run_data(config)
    models = []
    timed = ssvae_pass(partition, config.replace(input_shape=(1, 8, 8), class_names=tuple("0123456789")),
                       torch.device("cpu"), adjust=lambda model: (plain_layout(model), models.append(model)))
    timed()
    (model,) = models
    assert model.classifier.memory_format == torch.contiguous_format
    # consistency ran: the running frequency of q(y|x)'s predictions moved off the uniform start
    assert not torch.allclose(model.consistency.prediction_frequency, torch.full((10,), 0.1))


def test_bench_batch_norm_recomputes_the_statistics_a_run_trained_with(tmp_path):
    run = ssvae.train(out=tmp_path / "run", epochs=2, progress=False, classifier="conv", classifier_channels=(4, 8),
                      augment="shift", consistency=1.0, ema=0.9)
    trained = ssvae.evaluate(run)["accuracy"]
    for name, buffer in run.model.named_buffers():  # stale statistics, as runs before recomputing kept them
        if "running_var" in name:
            buffer.mul_(4.0)
    save_weights(tmp_path / "run" / WEIGHTS, run.model, run.config, run.split)
    result = accuracies(tmp_path / "run")
    assert result["saved"] == ssvae.evaluate(tmp_path / "run")["accuracy"] != trained
    assert result["clean images"] == trained
    # weak views: the statistics of shifted images (seed 0), which differ from the clean images' ones
    clean, weak = ssvae.load(tmp_path / "run"), ssvae.load(tmp_path / "run")
    images = DeviceData.from_partition(clean.partition(), torch.device("cpu")).training_images(True)
    recompute_batch_norm(clean.model, images)
    torch.manual_seed(0)
    recompute_batch_norm(weak.model, augment(images, WEAK, flip=False))
    assert result["weak views"] == ssvae.evaluate(weak)["accuracy"]
    variances = [(b, weak.model.get_buffer(n)) for n, b in clean.model.named_buffers() if "running_var" in n]
    assert variances and all(not torch.allclose(c, w) for c, w in variances)


def test_score_bench_measures_the_spread_over_seeds_and_the_top_ten_kept():
    """Twenty images scored 0..19, but image 0 scores 50 under odd seeds: over seeds 0, 1, 2 its spread is the
    sample standard deviation of (0, 50, 0), the others' 0; seed 1's top ten keeps 9 of seed 0's, seed 2's all 10."""
    from tools.bench_score import measure

    class Scores:
        def score(self, x, samples=None, seed=0):
            return x[:, 0].astype(np.float64) + np.where(np.arange(len(x)) == 0, 50.0 * (seed % 2), 0.0)

    x = np.arange(20, dtype=np.float32)[:, None]
    result = measure(Scores(), x, x + 100, None, 3)
    spread = np.sqrt(((np.array([0.0, 50.0, 0.0]) - 50 / 3) ** 2).sum() / 2)  # 28.87: n - 1 = 2 in the denominator
    assert result["max"] == pytest.approx(spread) and result["mean"] == pytest.approx(spread / 20)
    assert result["kept"] == 9.5 and result["auc"] == 1.0 and result["seconds"] > 0


def test_precision_bench_measures_each_copys_drift_from_float32():
    """Four inputs (0, 0), (1, 2), (2, 4), (3, 6): the copy gives input 2 another class, moves z (posterior sd
    0.5) and both decoded columns (spreads sqrt(1.25), sqrt(5)) by 0.1, and scores by 0, 0.1, 0.2, 0.3."""
    from tools.bench_precision import drift

    class Model:
        def __init__(self, threshold: float, moved: float, generative: bool = True):
            self.threshold, self.moved, self.generative, self.conditional = threshold, moved, generative, True

        def classify(self, x):
            return np.eye(2)[(x[:, 0] > self.threshold).astype(int)]

        def encode(self, x):
            return self.classify(x), x[:, :1] + self.moved, np.full((len(x), 1), np.log(0.25))

        def decode(self, z, y):
            return z * np.array([1.0, 2.0]) + self.moved + 0 * y[:, None]

        def score(self, x):
            return x[:, 0] * (1 + self.moved)

    x = np.array([[0, 0], [1, 2], [2, 4], [3, 6]], dtype=np.float32)
    assert drift(Model(1.5, 0.0), Model(2.5, 0.1), x) == ["75.00 %", "0.2", "0.0894", "0.15 / 0.3"]
    assert drift(Model(1.5, 0.0, False), Model(2.5, 0.1, False), x) == ["75.00 %", "–", "–", "–"]


def test_the_commit_a_benchmark_names_comes_from_git_or_from_ssvae_commit(monkeypatch, tmp_path):
    """The repository's commit, from whatever folder the tool runs in. A lent GPU machine gets a copy of the
    tree without git: $SSVAE_COMMIT names the commit there, and with neither the row says "unknown" rather
    than losing the table or naming the commit of a repository the copy lies in."""
    from tools import benchlog

    monkeypatch.delenv("SSVAE_COMMIT", raising=False)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True,
                          cwd=ROOT).stdout.strip()
    subprocess.run(["git", "init", "-q", str(tmp_path / "other")], check=True)
    subprocess.run(["git", "-C", str(tmp_path / "other"), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q",
                    "--allow-empty", "-m", "another repository's commit"], check=True)
    monkeypatch.chdir(tmp_path / "other")
    assert benchlog.commit().removesuffix("+dirty") == head
    monkeypatch.setenv("SSVAE_COMMIT", "abc1234")
    assert benchlog.commit() == "abc1234"
    monkeypatch.delenv("SSVAE_COMMIT")
    monkeypatch.setattr(benchlog, "REPOSITORY", tmp_path / "other" / "copy")  # a copy in another repository
    (tmp_path / "other" / "copy").mkdir()
    assert benchlog.commit() == "unknown"
    monkeypatch.setattr(benchlog, "REPOSITORY", ROOT)
    monkeypatch.setenv("PATH", str(tmp_path))  # no git program
    assert benchlog.commit() == "unknown"


def test_bench_score_refuses_one_seed_before_any_work(monkeypatch, capsys):
    """A spread between seeds needs two: one published a row of NaN."""
    from tools import bench_score

    monkeypatch.setattr(bench_score.runtime, "load", lambda *args, **kwargs: pytest.fail("the model was loaded"))
    monkeypatch.setattr("sys.argv", ["bench_score", "--model", "models/digits-m2", "--seeds", "1"])
    with pytest.raises(SystemExit):
        bench_score.main()
    assert "--seeds must be at least 2: a score's spread between seeds needs two" in capsys.readouterr().err


def test_holdout_splits_training_images_into_a_balanced_test_set_read_back_as_they_were(tmp_path):
    """The held-out set takes as many images of each class, the rest stay training images in their order, and
    the .npz reads back (uint8, x_test as its test set) to the very pixels it was made of."""
    from tools.make_holdout import holdout

    rng = np.random.default_rng(0)
    train = Dataset(rng.integers(0, 256, (300, 1, 4, 4)).astype(np.float32) / 255, np.arange(300) % 10,
                    tuple("abcdefghij"))
    arrays = holdout(train, 105, seed=1)
    assert np.bincount(arrays["y_test"]).tolist() == [11] * 5 + [10] * 5 and arrays["x"].dtype == np.uint8
    np.savez(tmp_path / "h.npz", **arrays)
    read = load_source(data=str(tmp_path / "h.npz"))
    assert read.train.class_names == train.class_names and (len(read.train), len(read.test)) == (195, 105)
    rows = {bytes(row): label for row, label in zip(train.x.reshape(300, -1), train.y)}
    both = [(bytes(row), label) for part in (read.train, read.test) for row, label in zip(part.x.reshape(len(part), -1),
                                                                                        part.y)]
    assert sorted(both) == sorted(rows.items())  # every image once, as it was, with its label
    with pytest.raises(SystemExit, match="not 8-bit grey levels"):
        holdout(load_source("digits").train, 100, seed=0)
    with pytest.raises(SystemExit, match="^--test 9 is fewer than the 10 classes: hold out at least one image of "
                                         "each$"):
        holdout(train, 9, seed=0)
    with pytest.raises(SystemExit, match=r"^--test 291 holds out up to 30 images of each class and keeps one to train "
                                         r"on, and class 'a' \(30 images\) has too few: lower --test$"):
        holdout(train, 291, seed=0)  # 'a' would be left without a training image


# Each tool's entry point, run on the smallest inputs its options allow: its table (printed, and appended to a
# --benchmarks file of the test's own) or its files.
MODEL = ROOT / "models" / "digits-m2"


def published(path: Path, printed: str) -> tuple[str, list[list[str]]]:
    """The title and the table's rows (cells, the header and |---| lines left out) of the one table a benchmark
    appended to the new file ``path``: the table ``printed`` ends with, under its record line (commit, a date
    of the last ten minutes, this torch), after the preamble of a new file (tools/benchlog.py)."""
    preamble, appended = path.read_text().split("\n## ")
    title, record, table = appended.split("\n\n", 2)
    assert preamble == "# Benchmarks\n\nAppended by the scripts in tools/; newest last.\n"
    assert printed.endswith(table)
    stamp = re.fullmatch(r"commit (?:[0-9a-f]{7,}(?:\+dirty)?|unknown), (.+) UTC, torch (.+)", record)
    assert stamp is not None and stamp[2] == torch.__version__, record
    written = datetime.datetime.strptime(stamp[1], "%Y-%m-%d %H:%M").replace(tzinfo=datetime.timezone.utc)
    assert abs(datetime.datetime.now(datetime.timezone.utc) - written) < datetime.timedelta(minutes=10)
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines() if line[:2] == "| "]
    return title, rows[1:]


def run_tool(monkeypatch, capsys, module: types.ModuleType, *args: str) -> str:
    """What ``module``'s main() prints, run as `python -m tools.NAME ARGS`."""
    monkeypatch.setattr(sys, "argv", [module.__name__, *args])
    module.main()
    return capsys.readouterr().out


def this_gpu_or(cpu: str) -> str:
    """A regular expression of how a benchmark on the default device names it: this machine's GPU where it has
    one, else ``cpu``."""
    return re.escape(torch.cuda.get_device_name()) if torch.cuda.is_available() else cpu


@pytest.fixture
def keeps_torch_threads():
    """Torch's thread count restored after a tool that sets its process's (bench_infer, bench_denormals)."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def batch_norm_runs(tmp_path_factory) -> list[Path]:
    """Two tiny digits runs (seeds 0 and 1) whose conv classifier has batch norm, trained with a weight average
    (whose statistics are recomputed on the clean images when training ends)."""
    folder = tmp_path_factory.mktemp("runs")
    for seed in (0, 1):
        ssvae.train(out=folder / f"seed{seed}", seed=seed, epochs=2, hidden=(32,), latent_dim=4, batch_size=200,
                    classifier="conv", classifier_channels=(4, 8), ema=0.9, progress=False)
    return [folder / "seed0", folder / "seed1"]


CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))  # the browser test/drive.mjs starts


@pytest.mark.skipif(shutil.which("node") is None or not all(
    (ROOT / folder / "node_modules" / package).is_dir()
    for folder, package in (("tools/examples/node", "onnxruntime-node"), ("tools/web-demo", "playwright-core"))),
    reason="run 'npm ci --ignore-scripts' in tools/examples/node and tools/web-demo first (.ci/run does)")
@pytest.mark.skipif(not CHROMIUM.exists(), reason="chromium is not installed (apt-get install chromium)")
def test_bench_examples_finds_every_embedding_example_giving_the_classes_of_ssvae_predict(tmp_path, monkeypatch,
                                                                                          capsys):
    """Plain Python, Node.js and the browser demo in headless Chromium, each on the same 20 digits: their
    classes, and the scores of the two that score, which differ from the runtime's by float rounding (and
    Node's 6 printed digits) alone."""
    from tools import bench_examples

    printed = run_tool(monkeypatch, capsys, bench_examples, "--model", str(MODEL), "--n", "20",
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"Embedding examples, digits m2, 20 test images, CPU {cpu_model()}"
    assert [row[:2] for row in rows[:3]] == [["plain Python (onnxruntime)", "20 / 20"],
                                             ["Node.js (onnxruntime-node)", "20 / 20"],
                                             ["browser (onnxruntime-web, headless Chromium)", "20 / 20"]]
    assert rows[0][2] == "(classifies only)" and all(0 <= float(row[2]) < 1e-5 for row in rows[1:3])
    (label, load, _), = rows[3:]
    assert label == "browser: page load to first prediction" and 0 < int(load.removesuffix(" ms")) < 60_000


@pytest.mark.usefixtures("keeps_torch_threads")
def test_bench_infer_finds_the_exported_graphs_giving_torchs_classes_and_times_them(tmp_path, monkeypatch, capsys,
                                                                                   batch_norm_runs):
    """A run exported anew: onnxruntime's float32 classes are torch's on all 450 test digits, each latency's
    speed-up is torch's time over its own, and the scores tell uniform noise from digits."""
    from tools import bench_infer

    printed = run_tool(monkeypatch, capsys, bench_infer, "--run", str(batch_norm_runs[0]), "--repeats", "5",
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"Inference, digits m2 (100 labels), CPU {cpu_model()}, 1 threads, onnxruntime " \
                    f"{ort.__version__}"
    values = dict(rows)
    assert list(values) == [
        "same class as torch, onnxruntime float32", "test accuracy torch / onnxruntime / int8",
        "int8 same class as float32", "latency, 1 example, torch eager", "latency, 1 example, onnxruntime session",
        "latency, 1 example, ssvae.runtime classify", "latency, 1 example, onnxruntime int8 session",
        "throughput, batch 1024, torch eager", "throughput, batch 1024, onnxruntime float32",
        "throughput, batch 1024, onnxruntime int8", "predict to CSV, 450 rows, end to end",
        "score ROC AUC, test vs uniform noise", "score ROC AUC, test vs inverted test images"]
    assert values["same class as torch, onnxruntime float32"] == "100.00 % of 450"  # digits' test share
    ratio, rate = re.fullmatch(r"(\S+)x a bare session loop \((\S+) rows/s\)",
                               values["predict to CSV, 450 rows, end to end"]).groups()
    assert float(ratio) > 0 and float(rate.replace(",", "")) > 0
    torch_accuracy, ort_accuracy, int8_accuracy = map(float, re.fullmatch(
        r"(\S+) / (\S+) / (\S+) %", values["test accuracy torch / onnxruntime / int8"]).groups())
    assert torch_accuracy == ort_accuracy and 0 <= int8_accuracy <= 100
    assert 0 <= float(values["int8 same class as float32"].removesuffix(" %")) <= 100
    torch_latency = float(values["latency, 1 example, torch eager"].removesuffix(" µs"))
    for name in ("onnxruntime session", "ssvae.runtime classify", "onnxruntime int8 session"):
        latency, faster = map(float, re.fullmatch(r"(\S+) µs \((\S+)x faster\)",
                                                  values[f"latency, 1 example, {name}"]).groups())
        assert faster == pytest.approx(torch_latency / latency, abs=0.1)
    assert float(values["throughput, batch 1024, torch eager"].removesuffix(" examples/s").replace(",", "")) > 0
    noise, pairs = re.fullmatch(r"(\S+) \((.+)\)", values["score ROC AUC, test vs uniform noise"]).groups()
    assert pairs == "450 + 450 images" and float(noise) > 0.9  # a generative model tells noise from digits
    assert 0 <= float(values["score ROC AUC, test vs inverted test images"]) <= 1


def test_bench_int8_batches_finds_the_calibrated_int8_classes_independent_of_the_batch(tmp_path, monkeypatch,
                                                                                        capsys):
    """The shipped int8 copy is statically quantised: a row's class is its own, alone, in any batch, and beside
    an outlier row."""
    from tools import bench_int8_batches

    printed = run_tool(monkeypatch, capsys, bench_int8_batches, "--model", str(MODEL),
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"int8 classes by batch size, digits-m2 (digits m2), 450 test images, CPU " \
                    f"{cpu_model()}, one thread, onnxruntime {ort.__version__}"
    by_batch, speeds = rows[:3], rows[3:]
    assert [row[0] for row in by_batch] == ["1", "64", "450 (all)"]
    for size, int8_float32, int8_alone, float32_alone, outlier in by_batch:
        assert 0 <= float(int8_float32.removesuffix(" %")) <= 100
        assert int8_alone == float32_alone == "100.00 %"
        assert outlier == ("-" if size == "1" else "0.00 %")
    assert [row[0] for row in speeds] == ["classifier, batches of 1,024", "float32", "int8"]  # the second header
    float32_speed = float(speeds[1][1].replace(",", ""))
    int8_speed, ratio = re.fullmatch(r"(\S+) \((\S+)x float32\)", speeds[2][1]).groups()
    assert float(ratio) == pytest.approx(float(int8_speed.replace(",", "")) / float32_speed, abs=0.01)


def test_bench_int8_weights_compares_uint8_and_int8_weights_on_the_shipped_digits_model(tmp_path, monkeypatch,
                                                                                        capsys):
    """The uint8-weight copy it makes is the shipped one (the same classes, so the card's accuracy); the
    float32 row agrees with itself; each speed ratio is its own row's rate over float32's; the title says
    whether this CPU has VNNI as /proc/cpuinfo does."""
    from tools import bench_int8_weights

    printed = run_tool(monkeypatch, capsys, bench_int8_weights, "--model", str(MODEL),
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    flags = Path("/proc/cpuinfo").read_text().split()
    vnni = "with" if {"avx512_vnni", "avx_vnni"} & set(flags) else "without"
    assert title == (f"int8 weights: uint8 against int8, digits-m2 (digits m2), 450 test images, CPU {cpu_model()} "
                     f"({vnni} VNNI), one thread, onnxruntime {ort.__version__}")
    assert [row[0] for row in rows] == ["float32", "int8, uint8 weights", "int8, int8 weights"]
    shipped = runtime.load(MODEL, precision="int8")
    test = inference.builtin_labelled(shipped, "digits", "test", None)
    assert rows[1][1] == f"{100 * (shipped.classify(test.x).argmax(-1) == test.y).mean():.2f} %"
    assert rows[0][2] == "100.00 %" and all(0 <= float(row[2].removesuffix(" %")) <= 100 for row in rows)
    rates = [re.fullmatch(r"(\S+) \((\S+)x float32\)", row[3]).groups() for row in rows]
    for rate, ratio in rates:
        assert float(ratio) == pytest.approx(float(rate.replace(",", "")) / float(rates[0][0].replace(",", "")),
                                             abs=0.01)


@pytest.mark.parametrize("kind, inputs", [("npz", "uint8"), ("csv", "CSV of 4-decimal numbers")])
def test_bench_memory_measures_predict_in_fresh_processes(tmp_path, kind, inputs):
    """In a process of its own, as run: its children would inherit this one's peak memory (pytest's, torch's)."""
    result = subprocess.run([sys.executable, "-m", "tools.bench_memory", "--model", str(MODEL), "--rows", "10", "1000",
                             "--format", kind, "--benchmarks", str(tmp_path / "B.md")], cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    title, rows = published(tmp_path / "B.md", result.stdout)
    device = this_gpu_or(rf"CPU {re.escape(cpu_model())}, \d+ threads")  # its own process's threads
    assert re.fullmatch(rf"Memory of ssvae predict, inputs \[1, 8, 8\] {inputs}, {device}", title), title
    assert [row[0] for row in rows] == ["10", "1,000"]
    for _, size, peak, seconds in rows:
        assert size == "0 MiB" and 20 < float(peak.removesuffix(" MiB").replace(",", "")) < 2000
        assert seconds.endswith(" s") and int(seconds.removesuffix(" s")) >= 0


def test_bench_curve_tabulates_the_test_accuracy_every_few_epochs_ending_at_the_kept_weights(tmp_path, monkeypatch,
                                                                                             capsys):
    """Three epochs evaluated every two: epochs 2 and 3 (the last), then the kept weights, which are epoch 3's."""
    from tools import bench_curve

    settings = ["hidden=[32]", "classifier_hidden=[32]", "latent_dim=4", "batch_size=200"]
    printed = run_tool(monkeypatch, capsys, bench_curve, "--epochs", "3", "--every", "2",
                       *(arg for item in settings for arg in ("--set", item)), "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    device = this_gpu_or(rf"CPU {re.escape(cpu_model())}, \d+ threads")
    assert re.fullmatch(rf"Test accuracy as m2 trains, digits, 100 labels, seed 0, 3 epochs, "
                        rf"{re.escape(', '.join(settings))}, {device}", title), title
    assert [row[0] for row in rows] == ["2", "3", "kept weights (`ssvae evaluate`)"]  # every 2, and the last epoch
    (_, loss_2, seconds_2, accuracy_2), (_, loss_3, seconds_3, accuracy_3), (_, blank, in_all, kept) = rows
    assert 0 < float(loss_3) < float(loss_2) and 0 <= int(seconds_2) <= int(seconds_3)
    assert blank == "" and int(in_all.removesuffix(" in all")) >= int(seconds_3)
    assert accuracy_3 == kept and 20 < float(kept) <= 100 and 0 <= float(accuracy_2) <= 100  # it learns: chance is 10


def test_bench_batch_norm_tabulates_each_runs_accuracy_under_each_source_of_statistics(tmp_path, monkeypatch, capsys,
                                                                                       batch_norm_runs):
    """Runs with a weight average had their statistics recomputed on the clean images when training ended: the
    saved column is `ssvae evaluate`'s accuracy, and the clean images' column the same."""
    from tools import bench_batch_norm

    printed = run_tool(monkeypatch, capsys, bench_batch_norm, *map(str, batch_norm_runs),
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"Batch-norm statistics of finished runs, CPU {cpu_model()}, {torch.get_num_threads()} threads"
    assert [row[0] for row in rows] == ["seed0", "seed1", "mean ± std"]
    for (_, saved, clean, weak), run in zip(rows, batch_norm_runs):
        assert saved == clean == f"{100 * ssvae.evaluate(run)['accuracy']:.2f}" and 0 <= float(weak) <= 100
    for k, summary in enumerate(rows[2][1:], 1):
        mean, std = map(float, summary.split(" ± "))
        values = [float(row[k]) for row in rows[:2]]
        assert mean == pytest.approx(np.mean(values), abs=0.01)
        assert std == pytest.approx(np.std(values, ddof=1), abs=0.01)


@pytest.mark.usefixtures("keeps_torch_threads")
def test_bench_denormals_pairs_flushed_and_plain_epochs_of_a_real_run(tmp_path, monkeypatch, capsys,
                                                                      fashion_mnist_dir):
    """Two epochs of a tiny M2 on Fashion-MNIST (its only data set): one row, its cost the plain epoch's time
    over the flushed one's."""
    from tools import bench_denormals

    settings = ["hidden=[8]", "classifier_hidden=[8]", "latent_dim=2", "batch_size=1000"]
    printed = run_tool(monkeypatch, capsys, bench_denormals, "--data-dir", str(fashion_mnist_dir), "--epochs", "2",
                       "--window", "2", *(arg for item in settings for arg in ("--set", item)),
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"Denormals, Fashion-MNIST M2, 100 labels, {', '.join(settings)}, median epoch per window of 2, " \
                    f"CPU {cpu_model()}, 1 threads"
    (epochs, flushed, plain, cost), = rows  # epoch 1 flushed, epoch 2 not
    fast, slow, ratio = float(flushed), float(plain), float(cost.removesuffix("x"))
    assert epochs == "1-2" and fast > 0.05 and slow > 0.05
    assert (slow - 0.05) / (fast + 0.05) - 0.005 <= ratio <= (slow + 0.05) / (fast - 0.05) + 0.005  # of 0.1 s steps


def test_bench_layout_times_both_layouts_in_both_precisions(tmp_path, monkeypatch, capsys, fashion_mnist_dir):
    """One pass over 128 Fashion-MNIST images (its only data set) per layout: the speed-up is plain over
    channels-last."""
    from tools import bench_layout

    printed = run_tool(monkeypatch, capsys, bench_layout, "--data-dir", str(fashion_mnist_dir), "--pool", "128",
                       "--repeats", "1", "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    device = this_gpu_or(rf"CPU {re.escape(cpu_model())}, \d+ threads")
    assert re.fullmatch(rf"Conv classifier layout, Fashion-MNIST consistency recipe, median of 1 passes over 128 "
                        rf"unlabelled examples scaled to 60,000, {device}", title), title
    assert [row[0] for row in rows] == ["float32", "bfloat16"]
    for _, channels_last, plain, speed_up in rows:
        assert float(channels_last) > 0 and float(plain) > 0
        assert float(speed_up.removesuffix("x")) == pytest.approx(float(plain) / float(channels_last), abs=0.01)


TABLE_SETTINGS = ["epochs=1", "hidden=[32]", "classifier_hidden=[32]", "latent_dim=4"]


@pytest.mark.parametrize("args, compared, precisions", [
    (["--model", str(MODEL)], "digits-m2, 450 inputs", ["int8"]),  # the shipped folder: float32 and int8
    ([arg for item in TABLE_SETTINGS for arg in ("--set", item)],
     f"a table of year, latitude, price (m2, 100 labels, {', '.join(TABLE_SETTINGS)}), 3,000 inputs",
     ["int8", "float16"])], ids=["model folder", "model made of a table"])
def test_bench_precision_measures_each_copys_drift_from_float32(tmp_path, monkeypatch, capsys, args, compared,
                                                                 precisions):
    """A row for each copy the folder holds beside float32; with no --model, of a model it trains (--set making
    that run small) and exports with both copies."""
    from tools import bench_precision

    printed = run_tool(monkeypatch, capsys, bench_precision, *args, "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"int8 and float16 copies against float32, {compared}, CPU {cpu_model()}, one thread, " \
                    f"onnxruntime {ort.__version__}"
    assert [row[0] for row in rows] == precisions
    for _, same, z_mean, decoder_mean, scores in rows:
        assert 90 <= float(same.removesuffix(" %")) <= 100  # the copies mostly agree with float32
        assert float(z_mean) >= 0 and float(decoder_mean) >= 0  # an m2: a z, a decoder and a score, no "–"
        median, largest = map(float, scores.split(" / "))
        assert 0 <= median <= largest


def test_bench_precision_refuses_settings_for_a_model_it_does_not_train(monkeypatch, capsys):
    """--set changes only the model it makes of a table: beside --model it would do nothing, without a word."""
    from tools import bench_precision

    monkeypatch.setattr(bench_precision.runtime, "load", lambda *args, **kwargs: pytest.fail("the model was loaded"))
    monkeypatch.setattr(sys, "argv", ["bench_precision", "--model", str(MODEL), "--set", "epochs=1"])
    with pytest.raises(SystemExit):
        bench_precision.main()
    assert "--set changes the training of the model made of a table: leave it out with --model" in \
        capsys.readouterr().err


def test_bench_score_tabulates_the_noise_of_the_scores_of_each_setting(tmp_path, monkeypatch, capsys):
    """The ELBO and --samples 2, each scoring 20 test digits under two seeds."""
    from tools import bench_score

    printed = run_tool(monkeypatch, capsys, bench_score, "--model", str(MODEL), "--n", "20", "--seeds", "2",
                       "--samples", "2", "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"Anomaly scores and their noise, digits-m2 (digits m2), 20 test images x 2 seeds, " \
                    f"CPU {cpu_model()}, one thread, onnxruntime {ort.__version__}"
    assert [row[0] for row in rows] == ["ELBO (default)", "--samples 2"]
    for _, mean, largest, kept, auc, per_image, _ in rows:
        assert 0 < float(mean) <= float(largest) + 0.005  # the noise's spread: never none over 20 images
        assert 0 <= float(kept.removesuffix(" of 10")) <= 10
        assert 0.9 < float(auc) <= 1 and float(per_image.removesuffix(" ms")) > 0  # digits against uniform noise
    assert rows[0][-1] == "1.0x"  # the ELBO's time against itself


def test_bench_anomalies_tabulates_which_foreign_inputs_each_rule_flags(tmp_path, monkeypatch, capsys):
    """The shipped digits model, thresholds set on half its 450 test images: about 1 in 100 of the other half
    flagged by the score, every noise and every inverted image flagged (ROC AUC 1); no other data set without
    --data-dir."""
    from tools import bench_anomalies

    printed = run_tool(monkeypatch, capsys, bench_anomalies, "--model", str(MODEL), "--n", "40", "--benchmarks",
                       str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title.startswith("Foreign inputs flagged, digits-m2 (digits m2): thresholds set on 225 test images ")
    assert [row[0] for row in rows] == ["test images, second half (false alarms)", "uniform noise", "all black",
                                        "inverted", "upside down", "shifted 1 px right", "two blended"]
    share = {row[0]: [float(cell.removesuffix(" %")) for cell in row[2:7]] for row in rows}
    score, _, entropy, either, either_995 = share["test images, second half (false alarms)"]
    assert 0 < score <= 3 and 0 < entropy <= 3 and 0 < either_995 <= either <= 5  # about 1 % each, 2 % for either
    for name in ("uniform noise", "inverted"):
        assert share[name][0] == 100.0 and share[name][3] == 100.0 and rows[[r[0] for r in rows].index(name)][7] == \
            "1.000"
    assert rows[0][1] == "225" and rows[1][1] == "40" and rows[0][7:] == ["-", "-"]


def test_bench_anomalies_resizes_and_frames_images_as_mnist_frames_its_digits(monkeypatch, capsys):
    """A flat image stays flat, in a black field; --n beyond what the blends can pair is refused at once."""
    from tools import bench_anomalies

    framed = bench_anomalies.resized(np.full((2, 1, 8, 8), 0.5, np.float32), 20, 28)
    assert framed.shape == (2, 1, 28, 28)
    np.testing.assert_allclose(framed[:, :, 4:24, 4:24], 0.5, rtol=1e-6)
    assert framed.sum() == pytest.approx(2 * 400 * 0.5, rel=1e-6)
    monkeypatch.setattr("sys.argv", ["bench_anomalies", "--model", str(MODEL), "--n", "113"])
    with pytest.raises(SystemExit):
        bench_anomalies.main()
    assert capsys.readouterr().err.endswith("error: --n takes 1 to 112 for this model: the blends pair 2n of its 225 "
                                            "held-out test images\n")



def test_make_holdout_writes_an_npz_that_ssvae_reads_with_its_held_out_images_as_test_set(tmp_path, monkeypatch,
                                                                                         capsys, fashion_mnist_dir):
    """Fashion-MNIST (8-bit images, which digits' are not): 20 training images held out, 2 of each class, into
    a folder it creates; the .npz reads back with them as its test set."""
    from tools import make_holdout

    out = tmp_path / "new folder" / "holdout.npz"
    printed = run_tool(monkeypatch, capsys, make_holdout, str(out), "--data-dir", str(fashion_mnist_dir),
                       "--test", "20", "--seed", "1")
    assert printed == f"wrote {out}: 59,980 training and 20 held-out images\n"
    source = load_source("fashion-mnist", data_dir=str(fashion_mnist_dir))
    with np.load(out) as arrays:
        assert arrays["x"].shape == (59_980, 1, 28, 28) and arrays["x_test"].shape == (20, 1, 28, 28)
        assert arrays["x"].dtype == arrays["x_test"].dtype == np.uint8
        assert np.bincount(arrays["y_test"]).tolist() == [2] * 10  # 6,000 of each class: 2 held out of each
        assert np.bincount(arrays["y"]).tolist() == [5_998] * 10
        held = arrays["x_test"]
    read = load_source(data=str(out))
    assert read.train.class_names == read.test.class_names == source.train.class_names
    assert (len(read.train), len(read.test)) == (59_980, 20)
    np.testing.assert_array_equal(read.test.x, held.astype(np.float32) / 255)
    training = {bytes(image) for image in np.round(source.train.x * 255).astype(np.uint8)}
    assert all(bytes(image) in training for image in held)  # training images, not the data set's own test set


def test_make_examples_writes_held_out_scans_and_the_bad_inputs_the_readme_shows(tmp_path, monkeypatch, capsys):
    """The README's scans are 6 digits a class from the default run's test split, so that its evaluation of them
    is held out (they were the first digits of each class, 7 of them labelled training examples of that run);
    the bad inputs are the files the README's errors name."""
    from PIL import Image

    from ssvae.data import choose_split
    from ssvae.settings import config_for
    from tools import make_examples

    printed = run_tool(monkeypatch, capsys, make_examples, str(tmp_path))
    assert printed == (f"wrote {tmp_path / 'scans'}, {tmp_path / 'images'}, {tmp_path / 'nan.npz'} and "
                       f"{tmp_path / 'photos.npz'}\n")
    config, source = config_for(dataset="digits"), load_source("digits")
    split = choose_split(source, config.labels, config.val_labels, config.test_fraction, config.split_seed,
                         config.seed)
    eight_bit = np.round(source.train.x * 255).astype(np.uint8)[:, 0]
    tested = {bytes(eight_bit[i]): int(source.train.y[i]) for i in split.test}
    trained = {bytes(eight_bit[i]) for i in set(range(len(eight_bit))) - set(split.test)}
    scans = sorted((tmp_path / "scans").glob("*/*.png"))
    assert len(scans) == 60 and sorted({path.parent.name for path in scans}) == [str(k) for k in range(10)]
    for path in scans:
        pixels = bytes(np.asarray(Image.open(path)))
        assert tested[pixels] == int(path.parent.name) and pixels not in trained, path
    assert load_source(data=str(tmp_path / "scans")).train.x.shape == (60, 1, 8, 8)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["images", "nan.npz", "photos.npz", "scans"]


def test_make_tables_writes_each_scikit_learn_table_as_a_csv_ssvae_reads_and_scaled_to_0_1(tmp_path, monkeypatch,
                                                                                          capsys):
    """Seven files: each table as scikit-learn gives it (to 6 digits) and min-max scaled, read back by ssvae with
    its labels and without the id column; and wine as it comes (names, dates, 40 classes named in 'cultivar'),
    which --label-column and --ignore-columns read as wine."""
    from sklearn.datasets import load_breast_cancer, load_digits, load_wine

    from tools import make_tables

    printed = run_tool(monkeypatch, capsys, make_tables, str(tmp_path))
    tables = {"wine": load_wine(), "breast-cancer": load_breast_cancer(), "digits-table": load_digits()}
    files = [f"{name}{suffix}.csv" for name in tables for suffix in ("", "-01")] + ["wine-as-it-comes.csv"]
    assert printed.splitlines() == [f"wrote {tmp_path / file}" for file in files]
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(files)
    for name, data in tables.items():
        low, span = data.data.min(0), np.ptp(data.data, 0)
        for suffix, expected in (("", data.data), ("-01", (data.data - low) / np.where(span > 0, span, 1))):
            path = tmp_path / f"{name}{suffix}.csv"
            with open(path, newline="") as f:
                assert next(csv.reader(f)) == ["id", *map(str, data.feature_names), "label"]
            read = load_source(data=str(path))  # the id and label columns are no inputs
            assert read.test is None and read.train.class_names == tuple(map(str, np.unique(data.target)))
            np.testing.assert_array_equal(read.train.y, data.target)
            np.testing.assert_allclose(read.train.x, expected, rtol=1e-5, atol=1e-6, err_msg=path.name)  # 6 digits
    raw = load_source(data=str(tmp_path / "wine-as-it-comes.csv"), roles=CsvColumns("cultivar", ("name", "bottled")))
    np.testing.assert_allclose(raw.train.x, tables["wine"].data, rtol=1e-5)
    assert raw.columns == tuple(tables["wine"].feature_names) and (raw.train.y >= 0).sum() == 40
    names = np.array(make_tables.CULTIVARS)[tables["wine"].target]
    labelled = raw.train.y >= 0
    assert np.array(raw.train.class_names)[raw.train.y[labelled]].tolist() == names[labelled].tolist()


def test_make_tables_classification_writes_the_four_synthetic_tables_after_the_others(tmp_path, monkeypatch, capsys):
    """--classification adds the make_classification tables of docs/results.md, as they are: 3,000 rows of 20
    columns in 4 classes, read back by ssvae with scikit-learn's labels."""
    from sklearn.datasets import make_classification

    from tools import make_tables

    printed = run_tool(monkeypatch, capsys, make_tables, str(tmp_path), "--classification").splitlines()
    names = [f"classification-i{informative}-s{seed}" for informative in (4, 10) for seed in (0, 1)]
    assert printed[7:] == [f"wrote {tmp_path / name}.csv" for name in names]
    read = load_source(data=str(tmp_path / "classification-i10-s1.csv"))
    x, y = make_classification(n_samples=3000, n_features=20, n_informative=10, n_classes=4, class_sep=1.0,
                               random_state=1)
    assert read.train.input_shape == (20,) and read.train.class_names == ("0", "1", "2", "3")
    np.testing.assert_array_equal(read.train.y, y)
    np.testing.assert_allclose(read.train.x, x, rtol=1e-5, atol=1e-5)  # 6 digits


def test_make_tables_gaps_writes_each_table_again_with_that_share_of_its_cells_empty(tmp_path, monkeypatch, capsys):
    """--gaps 0.2: NAME-gaps20.csv, the table with about a fifth of its input cells empty (read back as NaN) and
    the others as they are; the labels all kept. A share outside (0, 1) is refused."""
    from sklearn.datasets import load_wine

    from tools import make_tables

    printed = run_tool(monkeypatch, capsys, make_tables, str(tmp_path), "--gaps", "0.2").splitlines()
    assert printed[7:] == [f"wrote {tmp_path / name}-gaps20.csv" for name in make_tables.TABLES]
    read = load_source(data=str(tmp_path / "wine-gaps20.csv"))
    wine = load_wine()
    gaps = np.isnan(read.train.x)
    assert 0.17 < gaps.mean() < 0.23 and not gaps.all(0).any()
    np.testing.assert_array_equal(read.train.y, wine.target)
    np.testing.assert_allclose(read.train.x[~gaps], wine.data[~gaps], rtol=1e-5)
    with pytest.raises(SystemExit):
        run_tool(monkeypatch, capsys, make_tables, str(tmp_path), "--gaps", "1")
    assert "--gaps 1.0: give a share between 0 and 1, such as 0.2" in capsys.readouterr().err


def test_make_tables_penguins_copies_the_palmer_penguins_whose_categories_ssvae_reads(tmp_path, monkeypatch, capsys):
    """--penguins: penguins.csv as the package ships it (344 rows), read with its islands and sexes as columns of
    categories, its 11 missing sexes as gaps, its classes in 'species'; without the package, the fix."""
    from tools import make_tables

    printed = run_tool(monkeypatch, capsys, make_tables, str(tmp_path), "--penguins").splitlines()
    assert printed[-1] == f"wrote {tmp_path / 'penguins.csv'}"
    source = load_source(data=str(tmp_path / "penguins.csv"), roles=CsvColumns("species"))
    assert source.categories == {"island": ("Biscoe", "Dream", "Torgersen"), "sex": ("female", "male")}
    assert source.train.class_names == ("Adelie", "Chinstrap", "Gentoo") and len(source.train) == 344
    assert np.isnan(source.train.x[:, source.columns.index("sex=male")]).sum() == 11
    monkeypatch.setitem(sys.modules, "palmerpenguins", None)  # as if it were not installed
    with pytest.raises(SystemExit, match=r"^--penguins copies the table of the package palmerpenguins: pip install "
                                         r"palmerpenguins$"):
        run_tool(monkeypatch, capsys, make_tables, str(tmp_path), "--penguins")


def test_requantize_remakes_the_int8_graphs_and_the_cards_int8_row(tmp_path, monkeypatch, capsys):
    """A copy of the shipped digits folder with int8 graphs that are not graphs and a card row that is wrong:
    its int8 copies load again, and the card's row is their accuracy and agreement on its test split."""
    from tools import requantize

    model = tmp_path / "digits-m2"
    shutil.copytree(MODEL, model)
    for role in ("classifier", "encoder", "decoder"):
        (model / f"{role}.int8.onnx").write_bytes(b"not a graph")
    card = (model / "model_card.md").read_text()
    row = re.search(r"^\| int8 \| .*$", card, re.MULTILINE)[0]
    (model / "model_card.md").write_text(card.replace(row, "| int8 | classifier.int8.onnx | 0.00 % | 0.00 % |"))
    printed = run_tool(monkeypatch, capsys, requantize, str(model))
    for file in ("classifier.onnx", "encoder.onnx", "decoder.onnx", "model.json"):
        assert (model / file).read_bytes() == (MODEL / file).read_bytes()
    info = json.loads((model / "model.json").read_text())
    source = load_source("digits")
    test = list(choose_split(source, None, 0, info["test_fraction"], info["split_seed"], 0).test)
    x, y = source.train.x[test], source.train.y[test]
    int8 = runtime.load(model, device="cpu", precision="int8").classify(x).argmax(1)
    float32 = runtime.load(model, device="cpu").classify(x).argmax(1)
    new_row = f"| int8 | classifier.int8.onnx | {100 * (int8 == y).mean():.2f} % | " \
              f"{100 * (int8 == float32).mean():.2f} % |"
    assert printed == f"{model}: {new_row}\n" and len(y) == 450
    assert (model / "model_card.md").read_text() == card.replace(row, new_row)  # only the int8 row changed


def test_refresh_model_brings_an_old_export_to_todays_format_computing_what_it_did(tmp_path, monkeypatch, capsys):
    """The shipped digits folder made as it was before its refresh (IR 10, which onnxruntime 1.17 refuses; no doc
    strings; no test scores nor confidences; the card's old tail) and refreshed again: its float32 graphs and
    model.json are the shipped ones byte for byte, at IR 9, and its card is the shipped one but for the int8 row,
    measured here."""
    import onnx

    from tools import refresh_model

    model = tmp_path / "digits-m2"
    shutil.copytree(MODEL, model)
    for role in ("classifier", "encoder", "decoder"):
        proto = onnx.load(model / f"{role}.onnx")
        assert proto.ir_version == 9 and proto.doc_string  # as the refresh left the shipped graphs
        proto.ir_version, proto.doc_string = 10, ""
        weight = proto.graph.initializer[0]  # a weight's shape repeated in value_info, as torch's exporter wrote it
        proto.graph.value_info.append(onnx.helper.make_tensor_value_info(weight.name, weight.data_type, weight.dims))
        kept = [entry for entry in proto.metadata_props
                if entry.key not in ("ssvae.test_scores", "ssvae.test_confidence")]
        del proto.metadata_props[:]
        proto.metadata_props.extend(kept)
        onnx.save(proto, model / f"{role}.onnx")
        (model / f"{role}.int8.onnx").write_bytes(b"not a graph")
    meta = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({k: v for k, v in meta.items()
                                                  if k not in ("test_confidence", "test_scores", "docs")}))
    card = (model / "model_card.md").read_text()
    old_card = "\n".join(line for line in card[:card.index("## Using the graphs")].splitlines()
                         if not line.startswith(("- Predictions of the", "- Anomaly scores")))
    old_card += "\nInputs: as before.\nLoad it so.\n"
    (model / "model_card.md").write_text(old_card)
    printed = run_tool(monkeypatch, capsys, refresh_model, str(model))
    assert printed.startswith(f"{model}: refreshed; Predictions of the 450 test examples by confidence ")
    assert " Anomaly scores (`ssvae score`, seed 0, one sample) of the 450 " in printed
    for file in ("classifier.onnx", "encoder.onnx", "decoder.onnx", "model.json"):
        assert (model / file).read_bytes() == (MODEL / file).read_bytes(), file
    made_here = re.compile(r"^(\| int8 \| |- Brought to today's export format with: ).*$", re.MULTILINE)
    assert made_here.sub("", (model / "model_card.md").read_text()) == made_here.sub("", card)
    assert (f"- Brought to today's export format with: `python -m tools.refresh_model {model}` (its graphs compute "
            f"what they did)\n") in (model / "model_card.md").read_text()
    refreshed = runtime.load(model, device="cpu", precision="int8")
    assert refreshed.test_scores == meta["test_scores"] and refreshed.test_confidence == meta["test_confidence"]


def test_refresh_model_refuses_a_model_of_ones_own_data_before_writing(tmp_path):
    """Its test split cannot be rebuilt without the run's data file: the refresh would have loaded a built-in set
    of the same name, or stopped with a traceback."""
    from tools import refresh_model

    model = tmp_path / "mine"
    shutil.copytree(MODEL, model)
    meta = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**meta, "dataset": "digits", "data_digest": "0123456789abcdef"}))
    before = {f.name: f.read_bytes() for f in model.iterdir()}
    with pytest.raises(SystemExit, match=r"mine: refreshes models of a built-in data set \(digits, fashion-mnist, "):
        refresh_model.refresh(model, None)
    assert {f.name: f.read_bytes() for f in model.iterdir()} == before


def test_bench_export_times_exports_with_torchs_table_built_per_graph_and_once(tmp_path, monkeypatch, capsys,
                                                                               tiny_config):
    """One round on a tiny run's folder: the speed is the per-graph export's seconds over the built-once one's,
    and torch's own builder is in place again after the rounds."""
    from torch.onnx._internal.exporter._registration import ONNXRegistry

    from tools import bench_export

    builder = ONNXRegistry.__dict__["from_torchlib"]
    ssvae.train(tiny_config, out=tmp_path / "run", progress=False)
    printed = run_tool(monkeypatch, capsys, bench_export, "--run", str(tmp_path / "run"), "--repeats", "1",
                       "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == (f"Export, {tmp_path / 'run'}, median of 1 interleaved rounds in one process, CPU {cpu_model()}, "
                     f"{torch.get_num_threads()} threads")
    assert [row[0] for row in rows] == ["built per graph (torch's exporter)", "built once (ssvae)",
                                        "one build of the table"]
    per_graph, once, build = (float(row[1]) for row in rows)
    assert rows[0][2] == "1.00x" and rows[2][2] == ""
    assert float(rows[1][2].removesuffix("x")) == pytest.approx(per_graph / once, abs=0.01 + 0.005 * per_graph / once)
    assert 0 < build < per_graph and once > 0
    assert ONNXRegistry.__dict__["from_torchlib"] is builder


def test_bench_image_sizes_reads_a_folder_of_three_sizes_both_ways(tmp_path, monkeypatch, capsys, fashion_mnist_dir):
    """20 labels, 60 unlabelled and 30 test images at 28, 36 and 44 pixels: read by default, a third of each
    (the most common size) or the run refused where a class lost its labels; with --image-size 28, all."""
    from tools import bench_image_sizes

    printed = run_tool(monkeypatch, capsys, bench_image_sizes, "--data-dir", str(fashion_mnist_dir), "--labels", "20",
                       "--unlabelled", "60", "--test", "30", "--epochs", "1", "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == f"A folder of images of sizes 28, 36, 44, default M2, 1 epochs, seed 0; CPU {cpu_model()}"
    default, resized = rows
    assert default[0] == "default: the size most images have, others skipped" and (
        default[1].startswith("refused: ") or int(default[2].split()[0]) < 20)
    assert resized[:6] == ["--image-size 28: every image resized", "28x28", "20 of 20", "60 of 60", "30 of 30",
                           resized[5]] and 0 <= float(resized[5]) <= 100


def test_bench_spread_compares_generated_rows_with_the_data_class_by_class(tmp_path, monkeypatch, capsys):
    """Worked by hand: data columns of SDs 2 and 4 (a constant third left out), drawn rows offset by 1 and 2
    and half as spread: offsets 0.5 and 0.5 SDs, ratios 0.5. Then the tool on a table model: a row a class for
    the means and for --noise, whose draws are more spread than the means."""
    from tools import bench_spread, make_tables

    real = np.array([[0.0, 0.0, 7.0], [4.0, 8.0, 7.0]])  # SDs 2 and 4
    drawn = np.array([[2.0, 4.0, 1.0], [4.0, 8.0, 9.0]])  # means 3 and 6 (1 and 2 off), SDs 1 and 2
    assert bench_spread.spread(real, drawn) == (0.5, 0.5)
    make_tables.write_table(tmp_path / "wine.csv", make_tables.TABLES["wine"])
    run = ssvae.train(data=str(tmp_path / "wine.csv"), labels=12, epochs=20, out=tmp_path / "run", progress=False)
    ssvae.export(run, tmp_path / "model")
    printed = run_tool(monkeypatch, capsys, bench_spread, "--model", str(tmp_path / "model"), "--data",
                       str(tmp_path / "wine.csv"), "--per-class", "100", "--benchmarks", str(tmp_path / "B.md"))
    title, rows = published(tmp_path / "B.md", printed)
    assert title == "Spread of generated rows, model against wine.csv, 100 a class, seed 0"
    assert [row[:2] for row in rows] == [[k, kind] for kind in ("decoder means", "draws around the means (--noise)")
                                         for k in ("0", "1", "2")]
    ratios = np.array([float(row[3]) for row in rows]).reshape(2, 3)
    assert (ratios[1] > ratios[0]).all() and all(float(row[2]) >= 0 for row in rows)
