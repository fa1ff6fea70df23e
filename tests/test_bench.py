"""The benchmarks' arithmetic: the FLOP formula that bench_train's "share of matmul rate" rests on, the
same labels for bench_accuracy's baselines as for its ssvae runs, and bench_batch_norm's statistics."""

import itertools
import os
import signal
import subprocess
import time
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from ssvae.models import M2
from ssvae.models.networks import mlp
from ssvae.objectives import LossWeights
import ssvae
from ssvae.augment import WEAK, augment
from ssvae.averaging import recompute_batch_norm
from ssvae.config import Config, config_for
from ssvae.run import WEIGHTS, save_weights
from ssvae.training import DeviceData
from ssvae.data import Dataset, Source, load_source
from tools import bench_accuracy
from tools.bench_accuracy import run_data, run_job, run_jobs
from tools.bench_batch_norm import accuracies
from tools.bench_curve import curve
from tools.bench_denormals import window_rows
from tools.bench_layout import RECIPE, plain_layout
from tools import bench_train, timing
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
    save_weights(tmp_path / "run" / WEIGHTS, run.model)
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
