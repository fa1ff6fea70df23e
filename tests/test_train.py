"""Training: models learn, labels of unlabelled data never reach the loss, runs round-trip and repeat."""

import copy
import csv
import dataclasses
import functools
import json
import math
import os
import re
import shutil
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch._dynamo.testing import CompileCounter, CompileCounterWithBackend

import ssvae
from ssvae import api, run_data, training
from ssvae.augment import Transform
from ssvae.cli import config_from_options
from ssvae.config import LATER_FIELDS, MODEL_KINDS, PRESETS, Config, ConfigError, option_flag
from ssvae.settings import config_for, supervised_counterpart, train_command
from ssvae.data import Dataset, Source, choose_split
from ssvae.models import build_model
from ssvae.models.m2 import M2
from ssvae.objectives import LossWeights
from ssvae.run import CHECKPOINT, METRIC_COLUMNS, RunError, load_checkpoint, read_metrics, save_checkpoint
from ssvae.averaging import recompute_batch_norm, warmed_up_decay, weight_average
from ssvae.training import DeviceData, fit, learning_rate_schedule


@pytest.mark.parametrize("model", MODEL_KINDS)
def test_every_model_trains_and_round_trips(tmp_path, tiny_config, settings_for, model):
    run = ssvae.train(tiny_config, out=tmp_path / "run", progress=False, **settings_for(model))
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [
        "config.json", "labels.json", "metrics.csv", "weights.safetensors"]
    loaded = ssvae.load(tmp_path / "run")
    assert loaded.config == run.config and loaded.split == run.split
    x = run.partition().test.x[:16]
    np.testing.assert_allclose(loaded.classify(x), run.classify(x), rtol=1e-5, atol=1e-6)
    assert loaded.classify(x).shape == (16, 10)
    rows = read_metrics(tmp_path / "run")
    assert [row["stage"] for row in rows] == (["m1", "m2"] if model == "m1+m2" else ["train"])
    assert rows == run.history and all(set(row) <= set(METRIC_COLUMNS) for row in rows)
    assert loaded.history == rows  # a loaded run's learning curve, to plot, with the keys of a trained run's


def test_a_runs_config_trains_on_other_data_named_beside_it(tmp_path, tiny_config):
    """ssvae.train(run.config, dataset="digits") of a run on one's own data trained on those data again (the
    config's data won); given data of one's own, a digits run's config kept the Bernoulli likelihood "auto" had
    chosen for pixels, which refused the table. What the old data filled in is now read from the new ones."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", x=rng.normal(5, 2, (60, 4)).astype(np.float32), y=np.arange(60) % 3,
             class_names=np.array(["a", "b", "c"]))
    own = ssvae.train(tiny_config, data=str(tmp_path / "t.npz"), labels=None, progress=False)
    digits = ssvae.train(own.config, dataset="digits", labels=100, progress=False)
    assert (digits.config.data, digits.config.dataset, digits.config.input_shape, digits.config.likelihood) == (
        None, "digits", (1, 8, 8), "bernoulli") and digits.config.class_names == tuple(map(str, range(10)))
    back = ssvae.train(digits.config, data=str(tmp_path / "t.npz"), labels=None, progress=False)
    assert (back.config.class_names, back.config.input_shape, back.config.likelihood) == (
        ("a", "b", "c"), (4,), "gaussian") == (own.config.class_names, own.config.input_shape, own.config.likelihood)
    assert ssvae.train(back.config, progress=False).config == back.config  # the same data: nothing dropped


def test_describe_run_and_resume_take_a_run_for_its_folder(tmp_path, tiny_config):
    """describe_run(run) and resume(run) said "run_dir must be a path, got ssvae.api.Run", where load, evaluate,
    baseline and export take a Run; one held in memory has no folder, and is told so."""
    run = ssvae.train(tiny_config, out=tmp_path / "run", progress=False)
    assert ssvae.describe_run(run) == ssvae.describe_run(tmp_path / "run")
    assert ssvae.describe_run(run)["state"] == "finished"
    with pytest.raises(ssvae.RunError, match=r"the run is finished \(its weights.safetensors is there"):
        ssvae.resume(run, progress=False)
    in_memory = ssvae.train(tiny_config, progress=False)
    with pytest.raises(ssvae.RunError, match=r"^this run was trained without out=, so it has no folder to describe: "
                                             r"its settings, split and epochs are run.config, run.split and "
                                             r"run.history$"):
        ssvae.describe_run(in_memory)
    with pytest.raises(ssvae.RunError, match=r"^this run was trained without out=, so it has no folder to resume: "
                                             r"train it again with out= to have its checkpoints kept$"):
        ssvae.resume(in_memory, progress=False)


def test_training_leaves_the_callers_random_stream_as_it_was(tmp_path, tiny_config):
    """A notebook's own draws after ssvae.train (or a resume) go on from its own seed: training reseeded torch's
    global stream with the run's seed, so that every seed gave the same draws after it."""
    def stop(record: dict, network: object) -> None:
        if record["epoch"] == 2:
            raise KeyboardInterrupt

    for seed in (123, 999):
        torch.manual_seed(seed)
        expected = torch.rand(3)
        torch.manual_seed(seed)
        ssvae.train(tiny_config, progress=False)
        assert torch.equal(torch.rand(3), expected)
        torch.manual_seed(seed)
        with pytest.raises(KeyboardInterrupt):
            ssvae.train(tiny_config, out=tmp_path / str(seed), progress=False, epochs=2, on_epoch=stop)
        ssvae.resume(tmp_path / str(seed), progress=False)
        assert torch.equal(torch.rand(3), expected)
        torch.manual_seed(seed)
        ssvae.load(tmp_path / str(seed))  # its networks' first weights are drawn before the file's replace them
        ssvae.describe_run(tmp_path / str(seed))
        assert torch.equal(torch.rand(3), expected)


def test_a_callers_float64_default_dtype_changes_no_run_and_stays(tmp_path, tiny_config):
    """A notebook that set torch's default dtype to float64 (for gpytorch, say) trains, loads and evaluates
    the same float32 run as under float32, and keeps its default: training failed inside torch ("mat1 and
    mat2 must have the same dtype"), and loading blamed the run's files."""
    expected = ssvae.train(tiny_config, out=tmp_path / "float32", progress=False, epochs=2)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        run = ssvae.train(tiny_config, out=tmp_path / "float64", progress=False, epochs=2)
        assert torch.get_default_dtype() == torch.float64
        loaded = ssvae.load(tmp_path / "float64")
        assert torch.get_default_dtype() == torch.float64
        for name, weights in _weights(expected).items():
            assert _weights(loaded)[name].dtype == torch.float32
            torch.testing.assert_close(_weights(run)[name], weights, rtol=0, atol=0, msg=name)
            torch.testing.assert_close(_weights(loaded)[name], weights, rtol=0, atol=0, msg=name)
        assert ssvae.evaluate(loaded)["accuracy"] == ssvae.evaluate(expected)["accuracy"]
    finally:
        torch.set_default_dtype(previous)


def test_training_gives_the_caller_its_own_denormal_setting_back():
    """A caller who flushes denormals keeps flushing after training, and one who does not, does not (torch has
    no getter: training switched it off whatever it had been)."""
    for caller in (True, False):
        torch.set_flush_denormal(caller)
        try:
            with training.denormals_flushed():
                assert torch.tensor([1e-39]).mul(1.0).item() == 0.0
            assert (torch.tensor([1e-39]).mul(1.0).item() == 0.0) is caller
        finally:
            torch.set_flush_denormal(False)


def test_metrics_csv_holds_the_values_computed_and_no_more_digits(tmp_path, tiny_config):
    """Loss terms are float32 means, written as the shortest decimal that reads back as the same float32;
    accuracies are counts of the labelled examples; seconds are to the millisecond."""
    run = ssvae.train(tiny_config, out=tmp_path / "run", progress=False, val_labels=10, epochs=2)
    with open(tmp_path / "run" / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for column in ("loss", "labelled_bound", "unlabelled_bound", "classification"):
            assert str(np.float32(row[column])) == row[column]
        for column, examples in (("train_accuracy", run.split.labels_seen - 10), ("val_accuracy", 10)):
            correct = round(float(row[column]) * examples)
            assert row[column] == str(correct / examples)
        assert len(row["seconds"].partition(".")[2]) <= 3
    assert len(rows) == 2


@pytest.mark.parametrize("model", ["m2", "m1+m2"])
def test_virtual_adversarial_training_is_logged(tmp_path, tiny_config, model):
    ssvae.train(tiny_config, out=tmp_path / "run", progress=False, model=model, vat=1.0, vat_epsilon=0.5)
    last = read_metrics(tmp_path / "run")[-1]
    assert float(last["adversarial"]) > 0
    assert ssvae.load(tmp_path / "run").config.vat == 1.0


def _weights(run):
    return {k: v.clone() for k, v in run.model.state_dict().items()}


def test_runs_repeat_exactly_with_a_seed(tiny_config):
    a, b = (ssvae.train(tiny_config, progress=False, seed=3) for _ in range(2))
    assert a.split == b.split
    for (name, wa), wb in zip(_weights(a).items(), _weights(b).values()):
        torch.testing.assert_close(wa, wb, rtol=0, atol=0, msg=name)
    assert ssvae.train(tiny_config, progress=False, seed=4).split != a.split


@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_the_epoch_hook_sees_each_epochs_network_and_changes_nothing(tiny_config, ema):
    config = tiny_config.replace(epochs=3, ema=ema)
    seen = []

    def watch(record, network):
        training.accuracy(network, torch.full((5, 1, 8, 8), 0.5), torch.zeros(5, dtype=torch.long))
        seen.append((record["epoch"], {k: v.clone() for k, v in network.state_dict().items()}))

    watched, plain = ssvae.train(config, progress=False, on_epoch=watch), ssvae.train(config, progress=False)
    assert [epoch for epoch, _ in seen] == [1, 2, 3]
    assert watched.history == [{**row, "seconds": mine["seconds"]} for row, mine in zip(plain.history,
                                                                                          watched.history)]
    for name, weights in _weights(plain).items():
        torch.testing.assert_close(_weights(watched)[name], weights, rtol=0, atol=0, msg=name)
        # the run keeps the last epoch's network, or its average with ema (no batch norm here to take anew)
        torch.testing.assert_close(seen[-1][1][name], weights, rtol=0, atol=0, msg=name)
    assert any(not torch.equal(seen[0][1][name], w) for name, w in _weights(plain).items())


def test_training_flushes_denormals_on_every_thread_and_gives_the_caller_its_thread_back():
    """In a fresh process `ssvae.train` sets it before torch's worker threads start, and they copy it: during
    training a product split between two threads gives zeros for numbers below float32's normal range
    (1.18e-38) on both; afterwards the calling thread computes them again (as numpy and Python need)."""
    script = ("import torch, ssvae, ssvae.api as api\n"
              "fit = api.fit\n"
              "def probe(*args, **kwargs):\n"
              "    fit(*args, **kwargs)\n"
              "    print(torch.get_num_threads(), int((torch.full((1 << 20,), 1e-39) * 1.0).count_nonzero()))\n"
              "api.fit = probe\n"
              "ssvae.train(epochs=1, hidden=(32,), classifier_hidden=(32,), latent_dim=4, batch_size=200, "
              "progress=False)\n"
              "print(1e-310 * 1.0 > 0, float(torch.tensor([1e-39]) * 1.0) > 0)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "OMP_NUM_THREADS": "2"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["2", "0", "True", "True"]


def test_a_run_computes_on_the_thread_count_it_records_and_resumes_on_it(tmp_path, tiny_config, monkeypatch):
    """`threads` is in force while the model trains, a CPU run's config records it (the caller's count when
    not given, so that the run can be repeated; a GPU run's none), --resume takes it from the run whatever the
    caller's count (a run written before the field: the caller's), and the caller gets its own count back."""
    seen, fit_, save_weights = [], api.fit, api.save_weights

    def probe(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return fit_(*args, **kwargs)

    def killed(*args):
        raise RuntimeError("killed")  # as a job killed at its very end: its last checkpoint stays

    monkeypatch.setattr(api, "fit", probe)
    caller = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        assert ssvae.train(tiny_config, progress=False).config.threads == 3
        monkeypatch.setattr(api, "save_weights", killed)
        with pytest.raises(RuntimeError, match="killed"):
            ssvae.train(tiny_config, out=tmp_path / "run", progress=False, threads=1)
        assert api.load_spec(tmp_path / "run")[0].threads == 1 and torch.get_num_threads() == 3
        monkeypatch.setattr(api, "save_weights", save_weights)
        shutil.copytree(tmp_path / "run", tmp_path / "older")
        config = json.loads((tmp_path / "older" / "config.json").read_text())
        del config["threads"]
        (tmp_path / "older" / "config.json").write_text(json.dumps(config))
        checkpoint = load_checkpoint(tmp_path / "older" / CHECKPOINT)  # as versions before the field wrote it
        save_checkpoint(tmp_path / "older" / CHECKPOINT, dataclasses.replace(checkpoint, config=None))
        torch.set_num_threads(2)
        assert ssvae.resume(tmp_path / "run", progress=False).config.threads == 1
        assert ssvae.resume(tmp_path / "older", progress=False).config.threads is None
        assert seen == [3, 1, 1, 2] and torch.get_num_threads() == 2
        assert run_data.cpu_threads("cpu") == 2 and run_data.cpu_threads("auto") == 2
        monkeypatch.setattr(run_data, "resolve_device", lambda name: torch.device("cuda"))
        assert run_data.cpu_threads("auto") is None
    finally:
        torch.set_num_threads(caller)


def test_unlabelled_labels_never_reach_the_loss(tiny_config):
    """Permuting or hiding the true labels of the examples training treats as unlabelled changes nothing."""
    source = ssvae.data.load_source("digits")
    config = tiny_config.replace(input_shape=(1, 8, 8), class_names=source.train.class_names,
                                 likelihood="bernoulli", epochs=2)
    split = choose_split(source, 50, 0, 0.25, 0, 0)
    hidden = np.setdiff1d(np.arange(len(source.train)), list(split.labelled) + list(split.test))
    y = source.train.y.copy()
    y[hidden] = np.random.default_rng(1).permutation(y[hidden])
    y[hidden[::3]] = -1
    tampered = Source(Dataset(source.train.x, y, source.train.class_names), None)
    weights = []
    for src in (source, tampered):
        torch.manual_seed(0)
        model = build_model(config)
        fit(model, split.apply(src), config, progress=False)
        weights.append(model.state_dict())
    for name in weights[0]:
        torch.testing.assert_close(weights[0][name], weights[1][name], rtol=0, atol=0, msg=name)


def test_validation_selects_the_best_epoch(tiny_config, monkeypatch, tmp_path):
    """The weights kept are those of the epoch with the best validation accuracy, here the second of four
    (validation accuracies set to 0.5, 0.9, 0.7, 0.9: the first of a tie), not the last; the report says so,
    from the run in memory and from its metrics.csv."""
    run = ssvae.train(tiny_config, progress=False, model="supervised", epochs=6, val_labels=20, labels=60)
    val = [row["val_accuracy"] for row in run.history]
    part = run.partition()
    x_val = run.inputs(part.validation.x)
    accuracy = (run.model.classify(x_val).argmax(-1).numpy() == part.validation.y).mean()
    assert accuracy == pytest.approx(max(val))
    assert ssvae.evaluate(run)["labels_seen"] == 60  # validation labels come out of the budget
    measure = training.accuracy
    for ema in (0.0, 0.9):  # with a weight average, the average's weights of that epoch
        planned = iter([0.5, 0.9, 0.7, 0.9])
        monkeypatch.setattr(training, "accuracy",
                            lambda model, x, y: next(planned) if len(x) == 20 else measure(model, x, y))
        after_epoch = []
        run = ssvae.train(tiny_config, progress=False, model="supervised", epochs=4, val_labels=20, labels=60,
                          out=tmp_path / f"run-{ema}", ema=ema,
                          on_epoch=lambda row, network: after_epoch.append(copy.deepcopy(network.state_dict())))
        assert [row["val_accuracy"] for row in run.history] == [0.5, 0.9, 0.7, 0.9]
        for name, value in run.model.state_dict().items():
            torch.testing.assert_close(value, after_epoch[1][name], rtol=0, atol=0, msg=name)
        assert not torch.equal(after_epoch[1]["classifier.0.weight"], after_epoch[3]["classifier.0.weight"])
        kept = {"epoch": 2, "epochs": 4, "val_accuracy": 0.9}
        assert ssvae.evaluate(run)["kept_epoch"] == kept == ssvae.evaluate(ssvae.load(tmp_path / f"run-{ema}"))[
            "kept_epoch"]
    metrics = tmp_path / "run-0.9" / "metrics.csv"  # a report needs no metrics.csv: one damaged is no kept epoch
    for damaged, history in (("stage,epoch\ntrain,1,a field too many\n", None),  # unreadable: none to plot
                             ("epoch,val_accuracy\n1,0.5\n", [{"epoch": 1, "val_accuracy": 0.5}])):
        metrics.write_text(damaged)
        assert ssvae.load(tmp_path / "run-0.9").history == history
        assert ssvae.evaluate(ssvae.load(tmp_path / "run-0.9"))["kept_epoch"] is None


def test_the_kept_epoch_is_the_last_stages_and_only_with_validation_labels(tiny_config, monkeypatch):
    """m1+m2 picks among its M2 stage's epochs (validation accuracies planned 0.2, 0.8, 0.5: the second) and
    keeps M1's last weights whatever its own validation accuracy (planned 0.9, then 0.1); without validation
    labels there is no pick to report, and with the records of an epoch missing none is guessed."""
    planned, measure = iter([0.9, 0.1, 0.2, 0.8, 0.5]), training.accuracy
    monkeypatch.setattr(training, "accuracy", lambda model, x, y: next(planned) if len(x) == 20 else measure(model, x, y))
    after_epoch = []
    run = ssvae.train(tiny_config, progress=False, model="m1+m2", m1_epochs=2, epochs=3, val_labels=20, labels=60,
                      on_epoch=lambda row, network: after_epoch.append(copy.deepcopy(network.state_dict())))
    assert [(row["stage"], row["epoch"]) for row in run.history] == [("m1", 1), ("m1", 2), ("m2", 1), ("m2", 2),
                                                                      ("m2", 3)]
    for name, value in run.model.m1.state_dict().items():  # the network of M1's stage is M1
        torch.testing.assert_close(value, after_epoch[1][name], rtol=0, atol=0, msg=name)
    for name, value in run.model.state_dict().items():  # the network of M2's stage is the whole stack
        torch.testing.assert_close(value, after_epoch[3][name], rtol=0, atol=0, msg=name)
    assert ssvae.evaluate(run)["kept_epoch"] == {"epoch": 2, "epochs": 3, "val_accuracy": 0.8}
    run.history = run.history[:-1]
    assert ssvae.evaluate(run)["kept_epoch"] is None
    assert ssvae.evaluate(ssvae.train(tiny_config, progress=False, epochs=1))["kept_epoch"] is None


def test_kl_warm_up_and_the_classification_weight_follow_their_formulas_into_every_step(tiny_config, monkeypatch):
    """The KL weight is e/W in epoch e of W = 2 warm-up epochs, then 1; the classification weight is
    alpha * N / N_labelled, counted by hand: 1,797 digits less 450 held out for testing, 100 of them labelled.
    Both reach the loss of every step, not only the record (which a weight never passed on would still show)."""
    weights_seen = []
    loss = M2.loss

    def recorded(self, x_l, y_l, x_u, weights, strong_u=None):
        weights_seen.append((float(weights.kl), weights.classification))
        return loss(self, x_l, y_l, x_u, weights, strong_u)

    monkeypatch.setattr(M2, "loss", recorded)
    run = ssvae.train(tiny_config, progress=False, epochs=3, kl_warmup_epochs=2)
    assert [row["kl_weight"] for row in run.history] == [0.5, 1.0, 1.0]
    partition = run.partition()
    assert (len(partition.labelled), len(partition.unlabelled)) == (100, 1247)
    assert training.classification_weight(partition, 0.1) == pytest.approx(0.1 * 1347 / 100)
    steps = -(-1247 // tiny_config.batch_size)  # one pass over the unlabelled pool an epoch
    assert [kl for kl, _ in weights_seen] == [0.5] * steps + [1.0] * 2 * steps
    assert [weight for _, weight in weights_seen] == [pytest.approx(tiny_config.alpha * 1347 / 100)] * 3 * steps


@pytest.mark.parametrize("uses_unlabelled", [True, False])
def test_an_epoch_passes_once_over_the_unlabelled_pool_drawing_labelled_batches_each_step(uses_unlabelled):
    """25 unlabelled examples in batches of 10: 3 steps that together take each once, each step with 3
    labelled examples; a model that ignores unlabelled data takes the same 3 steps."""
    data = DeviceData(torch.zeros(10, 4), torch.zeros(10, dtype=torch.long), torch.zeros(25, 4), None, None)
    config = Config(batch_size=10, labelled_batch_size=3)
    model = types.SimpleNamespace(uses_unlabelled=uses_unlabelled)
    steps = list(training._batches(data, model, config, torch.Generator().manual_seed(0)))
    assert len(steps) == training.steps_per_epoch(data, config) == 3
    assert all(tuple(labelled.shape) == (3,) and labelled.max() < 10 for labelled, _ in steps)
    if uses_unlabelled:
        assert sorted(torch.cat([unlabelled for _, unlabelled in steps]).tolist()) == list(range(25))
    else:
        assert all(unlabelled is None for _, unlabelled in steps)


def test_an_epochs_record_is_the_mean_of_its_steps_terms(monkeypatch):
    """Three steps whose loss is 1, 2 and 6 and whose labelled bound is 3, 3 and 0: the record says 3 and 2."""
    config = Config(input_shape=(4,), class_names=("a", "b"), hidden=(4,), classifier_hidden=(4,), latent_dim=2,
                    likelihood="bernoulli", batch_size=10)
    model = build_model(config)
    data = DeviceData(torch.zeros(10, 4), torch.zeros(10, dtype=torch.long), torch.zeros(25, 4), None, None)
    values = iter([(1.0, 3.0), (2.0, 3.0), (6.0, 0.0)])

    def loss(self, x_l, y_l, x_u, weights, strong_u=None):
        total, bound = next(values)
        zero = sum(p.sum() for p in self.parameters()) * 0
        return {"loss": zero + total, "labelled_bound": zero.detach() + bound}

    monkeypatch.setattr(M2, "loss", loss)
    run = training.StageRun.start(0, model.stages(1, 0)[0], training.steps_per_epoch(data, config), config)
    terms, skipped = training.run_epoch(run, data, config, LossWeights(1.0, 1.0, 0.0, 0.0), torch.Generator())
    assert terms == {"loss": pytest.approx(3.0), "labelled_bound": pytest.approx(2.0)} and skipped == 0


def test_m2_beats_supervised_on_digits_with_100_labels():
    """The point of the toolkit: unlabelled data help. A short run (seed 0, 40 epochs) of each."""
    settings = dict(labels=100, epochs=40, progress=False, seed=0)
    supervised = ssvae.evaluate(ssvae.train(model="supervised", **settings))["accuracy"]
    m2 = ssvae.evaluate(ssvae.train(model="m2", **settings))["accuracy"]
    assert m2 > supervised + 0.03, (m2, supervised)
    assert m2 > 0.90


def test_m1_codes_on_digits_carry_the_class():
    """The digits preset's M1 does not collapse to a posterior equal to the prior (as 600-600 networks do)."""
    run = ssvae.train(model="m1", epochs=30, progress=False, seed=0)
    assert ssvae.evaluate(run)["accuracy"] > 0.6


@pytest.mark.parametrize("model, floor", [("adgm", 0.8), ("m1+m2", 0.7)])
def test_auxiliary_and_stacked_models_learn_digits(model, floor):
    """ADGM and M1+M2 learn from their labels: 10 epochs of the digits preset gave 0.891 and 0.796 on a 2-core
    AMD EPYC; ADGM with its classifier cut off from the labels' loss gave 0.651, M1+M2 with shifted labels 0.10."""
    run = ssvae.train(model=model, epochs=10, seed=0, threads=1, progress=False)
    assert ssvae.evaluate(run)["accuracy"] > floor


def test_consistency_with_a_conv_classifier_learns_digits():
    """FixMatch-style consistency on shifted digits lifts q(y|x) well above the same network on the labels, in
    the mean over the label draws of seeds 0 and 1. One draw alone sits too near the margin to tell the method
    from the machine: seed 0 gave 93.1 % against 89.3 % on a 2-core AMD EPYC with AVX-512, seed 1 94.2 % against
    81.3 %. The classifier alone with the same consistency (model fixmatch, no generative model and no VAT)
    learns too (89.1 and 86.2 % there). On one thread, so that the runs are the same on any machine's thread
    count."""
    conv = dict(epochs=20, progress=False, classifier="conv", classifier_channels=(16, 32), augment="shift")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        semi = np.mean([ssvae.evaluate(ssvae.train(consistency=1.0, seed=seed, **conv))["accuracy"]
                        for seed in (0, 1)])
        supervised = np.mean([ssvae.evaluate(ssvae.train(model="supervised", seed=seed, **conv))["accuracy"]
                              for seed in (0, 1)])
        fixmatch = np.mean([ssvae.evaluate(ssvae.train(model="fixmatch", consistency=1.0, seed=seed, **conv))[
            "accuracy"] for seed in (0, 1)])
    finally:
        torch.set_num_threads(threads)
    assert semi > 0.9 and semi > supervised + 0.04, (semi, supervised)
    assert fixmatch > 0.8, fixmatch


def test_strong_views_are_drawn_from_the_images_not_from_their_weak_views(monkeypatch):
    """Every unlabelled image is the same one and the strong transform is set to the identity: the strong views
    must then be that image exactly, while the weak views M2 gets alongside are shifted copies of it. The views
    come from torch's generator, seeded here: a shift drawn near 0 moves no pixel by 0.1, and what the tests
    before this one drew would otherwise decide whether one was."""
    torch.manual_seed(0)
    image = torch.zeros(1, 8, 8)
    image[0, 2:6, 3:5] = 1.0
    data = DeviceData(x_l=image.repeat(4, 1, 1, 1), y_l=torch.tensor([0, 1, 0, 1]), x_u=image.repeat(6, 1, 1, 1),
                      x_val=None, y_val=None)
    config = Config(input_shape=(1, 8, 8), class_names=("a", "b"), classifier="conv", classifier_channels=(4,),
                    hidden=(8,), latent_dim=2, augment="shift", consistency=1.0, batch_size=3)
    model = build_model(config.replace(likelihood="bernoulli"))
    seen = []
    monkeypatch.setattr(training, "STRONG", Transform(shift=0.0))
    monkeypatch.setattr(M2, "loss", lambda self, x_l, y_l, x_u, weights, strong_u=None: seen.append(
        (x_u, strong_u)) or {"loss": model.classify(x_u).sum() * 0})
    run = training.StageRun.start(0, model.stages(1, 0)[0], training.steps_per_epoch(data, config), config)
    training.run_epoch(run, data, config, LossWeights(1.0, 1.0, 0.0, 1.0), torch.Generator())
    assert len(seen) == 2
    for weak, strong in seen:
        torch.testing.assert_close(strong, image.expand_as(strong))
        assert (weak - strong).abs().amax((1, 2, 3)).min() > 0.1  # every weak view was moved


def test_weight_decay_shrinks_only_the_classifiers_weight_matrices_and_kernels():
    """With every gradient zero, Adam's own step is 0, so one step scales exactly the decayed parameters by
    1 - lr * weight_decay = 1 - 0.1 * 0.5 and leaves the rest as they were."""
    config = Config(input_shape=(1, 8, 8), class_names=("a", "b"), classifier="conv", classifier_channels=(4, 6),
                    hidden=(8,), latent_dim=2, lr=0.1, weight_decay=0.5, likelihood="bernoulli")
    model = build_model(config)
    run = training.StageRun.start(0, model.stages(1, 0)[0], 1, config)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    run.optimizer.step()
    decayed = {"classifier.features.0.weight", "classifier.features.4.weight", "classifier.head.weight"}
    assert decayed <= set(before)  # the two 3x3 kernels and the linear head
    for name, p in model.named_parameters():
        factor = 0.95 if name in decayed else 1.0
        torch.testing.assert_close(p.detach(), before[name] * factor, rtol=1e-6, atol=0, msg=name)


def test_without_weight_decay_the_optimiser_keeps_one_group_as_older_checkpoints_have(tiny_config):
    model = build_model(tiny_config.replace(input_shape=(6,), class_names=("a", "b"), likelihood="bernoulli"))
    groups = training.parameter_groups(model.stages(1, 0)[0], 0.0)
    assert len(groups) == 1 and len(groups[0]["params"]) == len(list(model.parameters()))


@pytest.mark.parametrize("name, expected", [
    # OneCycleLR: lr / 25 at the start, lr after the first tenth of the steps, (lr / 25) / 1e4 at the end
    ("one-cycle", {0: 0.01 / 25, 9: 0.01, 99: 0.01 / 25 / 1e4}),
    ("cosine", {0: 0.01, 50: 0.005, 99: 0.005 * (1 + math.cos(math.pi * 99 / 100))}),
    ("constant", {0: 0.01, 50: 0.01, 99: 0.01}),
])
def test_learning_rate_schedules_step_per_optimiser_step(name, expected):
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([param], lr=0.01)
    schedule = learning_rate_schedule(optimizer, Config(lr=0.01, lr_schedule=name), total_steps=100)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        if schedule is not None:
            schedule.step()
    for step, rate in expected.items():
        assert rates[step] == pytest.approx(rate, rel=1e-6), step


def test_weight_average_warms_up_then_follows_weights_and_batch_norm_statistics():
    module = torch.nn.Sequential(torch.nn.Linear(1, 1, bias=False), torch.nn.BatchNorm1d(1))
    average = weight_average(module, decay=0.2)
    for value in (1.0, 2.0, 4.0):
        with torch.no_grad():
            module[0].weight.fill_(value)
            module[1].running_mean.fill_(10 * value)
        average.update(module)
    # the first update copies 1; the second keeps 2/11 (the warm-up's (1 + 1) / (10 + 1), below 0.2) of it and
    # moves to 2: 20/11; the third keeps 0.2 (the warm-up's 3/12 is above it) and moves to 4: 39.2/11
    assert average.module[0].weight.item() == pytest.approx(39.2 / 11)
    assert average.module[1].running_mean.item() == pytest.approx(392 / 11)
    assert weight_average(module, decay=0.0) is None


def test_warmed_up_decay_by_hand():
    assert warmed_up_decay(0.999, 0) == pytest.approx(0.1)
    assert warmed_up_decay(0.999, 400) == pytest.approx(401 / 410)
    assert warmed_up_decay(0.999, 10_000) == 0.999 and warmed_up_decay(0.9, 80) == pytest.approx(0.9)


def test_weight_average_matches_torchs_averaged_model_and_reads_its_checkpoints():
    # torch's AveragedModel with the warmed-up EMA as its averaging function is the oracle; ours only keeps
    # the step count on the host. 100 steps: the warm-up reaches the decay 0.9 after 80.
    from torch.optim.swa_utils import AveragedModel

    def warmed_up_ema(averaged: list, current: list, count: torch.Tensor) -> None:
        for a, c in zip(averaged, current):  # integer buffers (batch counts) are copied
            a.lerp_(c, 1.0 - warmed_up_decay(0.9, int(count))) if a.is_floating_point() else a.copy_(c)

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    ours = weight_average(module, decay=0.9)
    theirs = AveragedModel(module, multi_avg_fn=warmed_up_ema, use_buffers=True)
    optimizer = torch.optim.SGD(module.parameters(), lr=0.1)
    for _ in range(100):
        module(torch.randn(8, 3)).square().mean().backward()  # training mode: moves the running statistics
        optimizer.step()
        ours.update(module)
        theirs.update_parameters(module)
    expected = theirs.state_dict()
    assert ours.state_dict().keys() == expected.keys()
    for name, value in expected.items():
        if value.is_floating_point():
            torch.testing.assert_close(ours.state_dict()[name], value, rtol=1e-6, atol=1e-7, msg=name)
    assert ours.module[1].num_batches_tracked.item() == 100 and expected["n_averaged"].item() == 100
    resumed = weight_average(module, decay=0.9)
    resumed.load_state_dict(expected)
    assert resumed.updates == 100 and torch.equal(resumed.module[0].weight, ours.module[0].weight)


def test_recompute_batch_norm_averages_each_batchs_statistics_by_hand(tiny_config):
    torch.manual_seed(0)
    config = tiny_config.replace(model="supervised", classifier="conv", classifier_channels=(3, 4),
                                 input_shape=(1, 6, 6), class_names=("a", "b"))
    model = build_model(config).double()
    norm = model.classifier.features[1]
    norm.running_mean.fill_(5.0)  # stale statistics, to be replaced
    x = torch.rand(8, 1, 6, 6, dtype=torch.float64)
    recompute_batch_norm(model, x, batch_size=4)
    with torch.no_grad():
        halves = [model.classifier.features[0](h) for h in x.split(4)]  # the convolution before the norm
    # each half counts alike: the mean of the halves' means and of their unbiased variances per channel
    expected_mean = sum(h.mean((0, 2, 3)) for h in halves) / 2
    expected_var = sum(h.var((0, 2, 3), correction=1) for h in halves) / 2
    torch.testing.assert_close(norm.running_mean, expected_mean, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(norm.running_var, expected_var, rtol=1e-12, atol=1e-12)
    assert norm.momentum == 0.1 and model.training  # settings and mode as they were (a new model trains)


@pytest.mark.parametrize("ema", [0.9, 0.0])
def test_a_weight_average_keeps_batch_norm_statistics_of_the_clean_training_images(ema):
    conv = dict(epochs=1, progress=False, classifier="conv", classifier_channels=(4, 8), augment="shift",
                consistency=1.0, ema=ema)
    run = ssvae.train(**conv)
    part = run.partition()
    kept = {k: v.clone() for k, v in run.model.state_dict().items() if "running" in k}
    recompute_batch_norm(run.model, torch.cat([run.inputs(part.labelled.x), run.inputs(part.unlabelled.x)]))
    same = [torch.equal(kept[k], run.model.state_dict()[k]) for k in kept]
    assert len(same) == 4 and all(same) == (ema > 0)  # without an average, the training batches' statistics


def test_a_weight_average_is_validated_with_the_batch_norm_statistics_it_is_kept_with():
    """The epoch is picked, and its validation accuracy reported, on the average as it is saved (statistics
    of the clean training images), not on its averaged statistics of distorted batches: the kept epoch's
    recorded accuracy is the saved model's, and every epoch's is that of its average so recomputed."""
    after_epoch = []
    run = ssvae.train(epochs=3, progress=False, classifier="conv", classifier_channels=(4, 8), augment="shift",
                      consistency=1.0, ema=0.9, labels=60, val_labels=30, hidden=(32,), latent_dim=4,
                      on_epoch=lambda row, network: after_epoch.append(copy.deepcopy(network)))
    part = run.partition()
    x_val, y_val = run.inputs(part.validation.x), torch.as_tensor(part.validation.y)
    images = torch.cat([run.inputs(part.labelled.x), run.inputs(part.unlabelled.x)])
    for row, network in zip(run.history, after_epoch):
        recomputed = copy.deepcopy(network)
        recompute_batch_norm(recomputed, images)
        for name, value in recomputed.state_dict().items():
            torch.testing.assert_close(network.state_dict()[name], value, rtol=0, atol=0, msg=name)
        assert row["val_accuracy"] == training.accuracy(network, x_val, y_val)
    kept = ssvae.evaluate(run)["kept_epoch"]
    assert kept["val_accuracy"] == training.accuracy(run.model, x_val, y_val)


def known_noise(noise: torch.Tensor):
    """A stand-in for torch.randn_like that gives ``noise``, for a tensor of its shape alone."""
    def randn_like(t: torch.Tensor) -> torch.Tensor:
        assert t.shape == noise.shape, f"noise of shape {tuple(t.shape)} asked for, {tuple(noise.shape)} known"
        return noise.to(t.dtype)
    return randn_like


@pytest.mark.parametrize("features", ["sample", "mean"])
def test_m1m2_feeds_m2_the_codes_the_config_names_and_leaves_m1_alone(tiny_config, monkeypatch, features):
    config = tiny_config.replace(model="m1+m2", m1_features=features, m1_hidden=(16,), m1_epochs=1)
    model = build_model(config.replace(input_shape=(1, 8, 8), class_names=tuple("0123456789"),
                                       likelihood="bernoulli"))
    seen = []
    monkeypatch.setattr(model.m2, "loss", lambda f_l, y_l, f_u, weights: seen.append(f_l))
    noise = torch.randn(6, config.m1_latent_dim, generator=torch.Generator().manual_seed(0))
    monkeypatch.setattr(torch, "randn_like", known_noise(noise))
    x = torch.rand(6, 1, 8, 8)
    model.loss(x, torch.arange(6), x, LossWeights())
    mean, logvar = model.m1.encode(x)
    sampled = mean + (0.5 * logvar).exp() * noise
    assert not torch.allclose(sampled, mean, atol=1e-3)  # the two settings can be told apart
    torch.testing.assert_close(seen[0], mean if features == "mean" else sampled, rtol=1e-6, atol=1e-6)
    assert torch.equal(model.features(x, sample=False), mean)  # classify always takes the mean
    monkeypatch.undo()
    # the M1 stage ends the same whether M2 then trains one epoch or two: M2's stage never moves M1
    runs = [ssvae.train(config, progress=False, epochs=n) for n in (1, 2)]
    for name, value in runs[0].model.m1.state_dict().items():
        torch.testing.assert_close(runs[1].model.m1.state_dict()[name], value, rtol=0, atol=0, msg=name)


def test_m1m2_standardises_the_codes_m2_models_and_decodes_them_back(tiny_config, tmp_path, monkeypatch):
    """M2's Gaussian likelihood (its variance floor, the adversarial step) is sized for standardised inputs:
    M1's codes get a mean and spread fitted, in float64, on the codes M2 is fed over every training input once
    M1 is trained: the means of q(z1|x), or samples, whose variance per unit is that of the means plus the
    mean of q's variances (within sampling error); decoding puts them back into M1's units."""
    run = ssvae.train(tiny_config, progress=False, model="m1+m2", m1_hidden=(16,), m1_epochs=2, m1_features="mean")
    part = run.partition()
    x = torch.cat([run.inputs(part.labelled.x), run.inputs(part.unlabelled.x)])
    mu, logvar = (t.double() for t in run.model.m1.encode(x))
    m2 = run.model.m2
    torch.testing.assert_close(m2.input_shift.double(), mu.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(m2.input_scale.double(), mu.std(0), rtol=1e-5, atol=1e-6)
    assert m2.input_scale.max() < 0.9  # not the unit scale of codes left as they are
    table = np.random.default_rng(0).normal([50.0, -3.0, -17.0], [9.0, 2.0, 4.0], (60, 3))
    np.savez(tmp_path / "table.npz", x=table.astype(np.float32), y=np.arange(60) % 2)
    no_m1 = ssvae.train(tiny_config, progress=False, model="m1+m2", m1_epochs=0, data=str(tmp_path / "table.npz"),
                        labels=10)  # M1 trains no epoch: its own inputs' statistics are fitted all the same
    part = no_m1.partition()
    seen = torch.tensor(np.concatenate([part.labelled.x, part.unlabelled.x]), dtype=torch.float64)
    assert no_m1.config.likelihood == "gaussian"
    torch.testing.assert_close(no_m1.model.m1.input_shift.double(), seen.mean(0), rtol=1e-6, atol=1e-5)
    torch.testing.assert_close(no_m1.model.m1.input_scale.double(), seen.std(0), rtol=1e-6, atol=1e-5)
    sampled = ssvae.train(tiny_config, progress=False, model="m1+m2", m1_hidden=(16,), m1_epochs=2,
                          m1_features="sample")
    mu, logvar = (t.double() for t in sampled.model.m1.encode(x))
    spread = (mu.var(0) + logvar.exp().mean(0)).sqrt()
    torch.testing.assert_close(sampled.model.m2.input_scale.double(), spread, rtol=0.1, atol=0)
    noise = torch.randn(len(x), tiny_config.m1_latent_dim, generator=torch.Generator().manual_seed(1))
    monkeypatch.setattr(torch, "randn_like", known_noise(noise))  # refitted on samples of known noise
    sampled.model.fit_code_standardisation(x)
    codes = mu + (0.5 * logvar).exp() * noise.double()
    torch.testing.assert_close(sampled.model.m2.input_shift.double(), codes.mean(0), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(sampled.model.m2.input_scale.double(), codes.std(0), rtol=1e-5, atol=1e-6)
    z, y = torch.randn(3, tiny_config.latent_dim), torch.eye(10)[:3]
    mean = m2.decode(z, y)[:, :tiny_config.m1_latent_dim]
    torch.testing.assert_close(run.model.decode(z, y), run.model.m1.decode(mean * m2.input_scale + m2.input_shift))


def test_a_config_written_before_the_later_fields_loads_as_it_was():
    """tests/data holds a config.json as ssvae's Config wrote it before the first field of LATER_FIELDS (at
    commit a2228f8's parent: Config(dataset="digits", input_shape=(1, 8, 8), class_names=("0", ..., "9"))
    .to_json()). It loads with its values unchanged, and every field added since is one of LATER_FIELDS: a
    new field left out of it would make every earlier run fail to load ("missing config fields")."""
    text = (Path(__file__).parent / "data" / "config-before-later-fields.json").read_text()
    written, config = json.loads(text), Config.from_json(text)
    assert {f.name for f in dataclasses.fields(Config)} - set(written) == set(LATER_FIELDS)
    assert {name: value for name, value in json.loads(config.to_json()).items() if name in written} == written
    assert config.adaptive_threshold is False and config.weight_decay == 0.0 and config.input_columns == ()


def test_config_rejects_unknown_and_missing_fields(tiny_config, monkeypatch):
    values = dict(vars(tiny_config))
    with pytest.raises(ConfigError, match="unknown config fields: colour"):
        Config.from_dict({**values, "colour": 1})
    values.pop("lr")
    with pytest.raises(ConfigError, match="missing config fields: lr"):
        Config.from_dict(values)
    newer = tiny_config.replace(augment="shift", consistency=1.0, adaptive_threshold=True, weight_decay=0.5, threads=3,
                                input_columns=("a", "b"))
    for later, then in (("adaptive_threshold", False), ("weight_decay", 0.0), ("threads", None),
                        ("input_columns", ())):  # older files, written before the field: what they meant
        values = {name: value for name, value in vars(newer).items() if name != later}
        assert Config.from_dict(values) == newer.replace(**{later: then})
    table = {name: value for name, value in vars(newer.replace(data="wine.csv")).items() if name != "input_columns"}
    assert Config.from_dict(table).input_columns is None  # a CSV run's older file: its columns' names unknown
    with pytest.raises(ConfigError, match="model 'm3' is not one of"):
        Config(model="m3")
    with pytest.raises(ConfigError, match=r"^device 'tpu' is not one of auto, cpu, cuda, cuda:N \(the GPU numbered "
                                          r"N\)$"):  # torch's raw RuntimeError listed its own 20 kinds
        Config(device="tpu")
    assert Config(device="cuda:1").device == "cuda:1"
    named = Config(data="t.csv", label_column=" kind ", ignore_columns="name")  # as a header's names are read
    assert (named.label_column, named.ignore_columns) == ("kind", ("name",))
    with pytest.raises(ConfigError, match=r"^ignore_columns names 'name,date', with a comma, which the command line "
                                          r"reads as two names: give the names apart"):
        Config(data="t.csv", ignore_columns="name,date")
    for other, kept in ((dict(data="u.npz"), ("label", ())), (dict(dataset="digits"), ("label", ())),
                        (dict(data="u.csv"), ("kind", ("name",)))):  # a CSV's columns name nothing in other data
        again = named.for_data(**other)
        assert (again.label_column, again.ignore_columns) == kept
    with pytest.raises(ConfigError, match=r"^unknown setting 'epoch' \(did you mean 'epochs'\?\): settings are "
                                          r"Config's fields, the 'ssvae train' options with underscores$"):
        ssvae.train(epoch=1, progress=False)  # a typo in the API, caught before any data is read
    for typo, meant in (("progres", "progress"), ("on_epochs", "on_epoch"), ("replase", "replace")):  # train's own
        with pytest.raises(ConfigError, match=rf"^unknown setting '{typo}' \(did you mean '{meant}'\?\)"):
            ssvae.train(**{typo: False})
    # recipe= without a config starts from the preset, as the README's ssvae.train(recipe="accurate", ...) does:
    # the check of train's own keywords refused it as given with a config
    with pytest.raises(ConfigError, match=r"^recipe 'nope' is not one of "):
        ssvae.train(recipe="nope", progress=False)
    with pytest.raises(ConfigError, match=r"^unknown setting 'zzz': settings"):
        tiny_config.replace(zzz=1)
    with pytest.raises(ConfigError, match=r"^recipe= starts a config from a data set's preset, and a config was "
                                          r"given: leave the config out .* or make it with "
                                          r"ssvae.settings.config_for\(dataset=..., recipe=...\)$"):
        ssvae.train(tiny_config, recipe="accurate")  # was "unknown setting 'recipe'", which train(recipe=) takes
    for name, python in (("quiet", r"ssvae.train\(progress=False\)"), ("force", r"ssvae.train\(replace=True\)"),
                         ("resume", r"ssvae.resume\(RUN_DIR\)")):
        with pytest.raises(ConfigError, match=rf"^unknown setting '{name}': --{name} of 'ssvae train' is {python} in "
                                              rf"Python$"):
            ssvae.train(**{name: True}, progress=False)
    for name, value, kind in (("epochs", "10", "int"), ("hidden", None, "tuple[int, ...]"), ("lr", True, "float"),
                              ("class_names", [1], "tuple[str, ...]"),
                              ("threads", 2.0, "int | None (None: torch's default, as --threads auto or 'auto')"),
                              ("labels", "ten", "int | None (None: every label, as --labels all or 'all')")):
        with pytest.raises(ConfigError, match=re.escape(f"{name} must be of type {kind}, got {value!r}")):
            Config.from_dict({**vars(tiny_config), name: value})
    assert Config(threads="auto").threads is None and Config(labels="all").labels is None  # the options' words
    assert Config(data="~/wine.csv").data == Config(data=Path("~/wine.csv")).data == os.path.expanduser("~/wine.csv")
    with pytest.raises(ConfigError, match=r"^data must be of type str \| None, got a tuple: give a path"):
        Config(data=(np.zeros((3, 2)), np.zeros(3)))  # named as given, not as the list JSON makes of it
    as_json = Config.from_dict({**vars(tiny_config), "hidden": [8, 4], "lr": 1, "labels": None})  # JSON's forms
    assert (as_json.hidden, as_json.lr, as_json.labels) == ((8, 4), 1, None)
    with pytest.raises(ConfigError, match=r"vat applies to models m2 and m1\+m2, not supervised: set --vat 0 "
                                          r"\(vat=0 in Python\)$"):
        Config(model="supervised", vat=1.0)
    with pytest.raises(ConfigError, match=r"^vat_epsilon must be positive, got 0.0$"):
        Config(vat=1.0, vat_epsilon=0.0)
    with pytest.raises(ConfigError, match="weight_decay must lie in \\[0, 1 / lr\\) .* got 1000.0"):
        Config(lr=1e-3, weight_decay=1000.0)
    with pytest.raises(ConfigError, match="adaptive_threshold applies to consistency training"):
        Config(adaptive_threshold=True)
    with pytest.raises(ConfigError, match=r"^consistency trains on shifted views of images: add --augment shift "
                                          r"\(augment='shift' in Python\) or shift-flip, or set --consistency 0 "
                                          r"\(consistency=0 in Python\)$"):
        Config(consistency=1.0)
    with pytest.raises(ConfigError, match=r"^consistency trains on shifted views of images: add --augment shift "
                                          r"\(augment='shift' in Python\) or shift-flip$"):  # fixmatch's cannot be 0
        Config(model="fixmatch", consistency=1.0)
    with pytest.raises(ConfigError, match=r"^consistency applies to models m2, fixmatch, not supervised: set "
                                          r"--consistency 0 \(consistency=0 in Python\)$"):
        Config(model="supervised", consistency=1.0, augment="shift")
    with pytest.raises(ConfigError, match="model fixmatch learns from unlabelled images by consistency alone: "
                                          r"set --consistency \(consistency= in Python\) above 0"):
        Config(model="fixmatch", augment="shift")
    with pytest.raises(ConfigError, match="a conv classifier applies to models m2, supervised, fixmatch, not m1\\+m2"):
        Config(model="m1+m2", classifier="conv")
    with pytest.raises(ConfigError, match=r"^--classifier conv needs images \(channels, height, width\), but the "
                                          r"inputs have shape \(64,\): use --classifier mlp \(classifier='mlp' in "
                                          r"Python\)$"):  # it named --augment too, which was not given
        Config(classifier="conv", input_shape=(64,))
    with pytest.raises(ConfigError, match=r"^model fixmatch learns from shifted views of images, but the inputs have "
                                          r"shape \(4,\): choose another --model \(model= in Python\), such as m2$"):
        Config(model="fixmatch", consistency=1.0, augment="shift", input_shape=(4,))  # its other fix led here
    with pytest.raises(ConfigError, match="halves the image between its 5 blocks, too often for 8x8 images"):
        Config(classifier="conv", classifier_channels=(4, 4, 4, 4, 4), input_shape=(1, 8, 8))
    Config(classifier="conv", classifier_channels=(4, 4, 4, 4), input_shape=(1, 8, 8))  # 8, 4, 2, 1: fits
    with pytest.raises(ConfigError, match="threads must be at least 1 \\(or left out for torch's default\\), got 0"):
        Config(threads=0)
    with pytest.raises(ConfigError, match="ema must lie in \\[0, 1\\)"):
        Config(ema=1.0)
    with pytest.raises(ConfigError, match="augment 'rotate' is not one of none, shift, shift-flip"):
        Config(augment="rotate")
    for name, value in (("alpha", math.nan), ("vat", math.inf), ("lr", math.nan), ("ema", -math.inf)):
        with pytest.raises(ConfigError, match=f"^{name} must be a finite number, got {value}$"):
            Config(**{name: value})  # NaN would pass every range check: nan <= 0 is False
    with pytest.raises(ConfigError, match="^vat must be a finite number, got nan$"):
        Config.from_dict({**vars(tiny_config), "vat": math.nan})  # json.loads reads NaN from a config.json
    for name, value in (("seed", -1), ("seed", 2**32), ("split_seed", 10**20)):
        with pytest.raises(ConfigError, match=f"^{name} must lie in 0..4294967295, got {value}$"):
            Config(**{name: value})
    Config(seed=2**32 - 1)
    with pytest.raises(ConfigError, match=r"^data \(--data\) names your own data, and dataset \(--dataset\) is for"):
        config_for("mnist", data="mine.npz")  # mnist was dropped without a word, in Python as on the command line
    assert (config_for(data="mine.npz").data, config_for().dataset) == ("mine.npz", "digits")
    # one's own data names no built-in set (config.json said "digits"), nor does an older config.json that did
    assert config_for(data="mine.npz").dataset is None
    assert Config.from_dict({**vars(Config()), "dataset": "digits", "data": "mine.npz"}).dataset is None
    assert config_for(labels="all").labels is None  # as --labels all
    assert Config(labels=5).replace(labels="all").labels is None
    # a preset's settings for some models only go to those models
    monkeypatch.setitem(PRESETS, "pictures", {"classifier": "conv", "augment": "shift", "consistency": 1.0})
    assert config_for("pictures").consistency == 1.0 and config_for("pictures", model="supervised").consistency == 0
    assert config_for("pictures", model="supervised").classifier == "conv"
    assert config_for("pictures", model="fixmatch").consistency == 1.0
    assert config_for("pictures", model="m1+m2").classifier == "mlp"
    assert config_for("pictures", model="m1+m2").augment == "shift"  # every model trains on the views
    # the digits preset's vat goes to the models that take it, so `--model supervised` needs no `--vat 0`
    assert config_for("digits").vat > 0 and config_for("digits", model="m1+m2").vat > 0
    assert config_for("digits", model="supervised").vat == 0 and config_for("digits", model="adgm").vat == 0


@pytest.mark.parametrize("settings, message", [
    ({"val_labels": -1}, "^val_labels cannot be negative, got -1$"),
    ({"labels": 0}, "^labels must be at least 1 \\(or 'all'\\), got 0$"),
    ({"test_fraction": -0.1}, r"^test_fraction must lie in \[0, 1\), got -0.1 \(0 holds out no test set, so that every "
                              r"label trains; or give labelled test data of your own: --test-data FILE "
                              r"\(test_data='FILE' in Python\)\)$"),
    ({"test_fraction": 1.0}, r"^test_fraction must lie in \[0, 1\), got 1.0 "),
    ({"weight_decay": -0.1}, "^weight_decay must lie in \\[0, 1 / lr\\) .* got -0.1"),
    ({"hidden": (0,)}, "^hidden must all be at least 1, got 0$"),
    ({"classifier_channels": (4, -8)}, "^classifier_channels must all be at least 1, got 4,-8$"),
    ({"classifier_hidden": (8, 0)}, "^classifier_hidden must all be at least 1, got 8,0$"),
    ({"m1_hidden": (0,)}, "^m1_hidden must all be at least 1, got 0$"),
    ({"data": ""}, "^data is an empty path: give the name of a file or folder$"),  # pathlib: the current folder
    ({"data_dir": ""}, "^data_dir is an empty path: give the name of a file or folder$"),
    ({"input_shape": (1, -8, 8)}, "^input_shape must all be at least 1, got 1,-8,8$"),  # config.json edited
    ({"batch_size": 10**20}, "^batch_size must be at most 2147483647, got 100000000000000000000$"),  # overflowed
    ({"hidden": (16, 2**31)}, "^hidden must be at most 2147483647, got 16,2147483648$"),
    ({"consistency_threshold": 1.5}, "^consistency_threshold must lie in \\[0, 1\\], got 1.5$"),
    ({"m1_features": "median"}, "^m1_features 'median' is not one of sample, mean$"),
    ({"version": 2}, "^config version 2 is not the supported version 1$"),
    ({"augment": "shift", "input_shape": (64,)}, "^--augment shift needs images .* inputs have shape \\(64,\\): use "
                                                 "--augment none \\(augment='none' in Python\\)$"),
    ({"augment": "shift", "classifier": "conv", "input_shape": (64,)}, "^--classifier conv and --augment shift need "
                                                                       "images .* and --augment none"),
])
def test_config_refuses_a_value_out_of_its_range(settings, message):
    with pytest.raises(ConfigError, match=message):
        Config(**settings)


def test_config_reads_back_what_it_wrote_and_refuses_json_that_is_not_an_object(tiny_config):
    mine = tiny_config.replace(input_columns=["a", "b"], augment="shift-flip", input_shape=(1, 8, 8))
    again = Config.from_json(mine.to_json())
    assert again == mine and again.input_columns == ("a", "b")
    assert (again.flips, Config(augment="shift").flips, Config().flips) == (True, False, False)
    with pytest.raises(ConfigError, match="^config must be a JSON object$"):
        Config.from_json("[]")


def test_a_users_own_data_takes_no_preset_and_every_presets_baseline_is_a_valid_config():
    own, default = config_for(data="own.npz"), Config()
    assert (own.latent_dim, own.epochs, own.vat, own.alpha) == (default.latent_dim, default.epochs, 0.0, default.alpha)
    assert (own.latent_dim, own.epochs, own.vat) != (config_for().latent_dim, config_for().epochs, config_for().vat)
    for dataset in PRESETS:
        baseline = supervised_counterpart(config_for(dataset))
        assert (baseline.model, baseline.vat, baseline.consistency, baseline.adaptive_threshold) == (
            "supervised", 0.0, 0.0, False)
    accurate = supervised_counterpart(config_for("fashion-mnist", recipe="accurate"))
    assert (accurate.classifier, accurate.augment, accurate.adaptive_threshold) == ("conv", "shift-flip", False)
    assert option_flag("kl_warmup_epochs") == "--kl-warmup" and option_flag("val_labels") == "--val-labels"


def test_help_of_config_says_what_every_field_means_as_python_spells_it():
    """help(ssvae.Config) listed no field's meaning (they were comments in its source and `ssvae train --help`
    texts): now every field's, with the options it names as fields and its defaults as Python writes them."""
    import inspect

    doc = inspect.getdoc(ssvae.Config)
    fields = doc[doc.index("\nFields"):]
    named = re.findall(r"^(\w+)(?: \[default: .*\])?$", fields, re.MULTILINE)
    assert named == [f.name for f in dataclasses.fields(Config)]
    flat = " ".join(fields.split())  # the text as read, its lines wrapped anywhere
    assert "kl_warmup_epochs [default: 0] Epochs over which the KL weight rises linearly to 1: epoch e of W weighs " \
           "it e/W (0: none)." in flat
    assert "labels [default: 100; your own data: None] " in flat  # None, as Python gives 'all'
    assert "hidden [default: (500,)] " in flat and "latent_dim [default: 50; digits: 8, fashion-mnist: 4] " in flat
    assert "test_data Labelled data to test on, for data without a test set of its own: every label of data then " \
           "trains (none is held out by test_fraction)." in flat
    assert "\ninput_shape\n    Filled from the data as a run starts" in fields  # no default: not the user's to set
    assert set(re.findall(r"--[a-z-]+", fields)) == {"--resume"}  # no option of a field spelt for the command line
    assert all(len(line) <= 108 for line in fields.splitlines())


def test_switching_off_what_a_preset_setting_needs_takes_that_setting_with_it():
    """Fashion-MNIST's preset trains m2 by consistency with the adaptive threshold on shift-flip views: one option
    turns consistency off, as on any data set, without a second error naming what it leaves behind."""
    preset = config_for("fashion-mnist")
    assert (preset.augment, preset.consistency, preset.adaptive_threshold) == ("shift-flip", 1.0, True)
    for given in ({"augment": "none"}, {"consistency": 0.0}):
        plain = config_from_options({"dataset": "fashion-mnist", "consistency": None, **given})  # as `ssvae train`
        assert (plain.consistency, plain.adaptive_threshold) == (0.0, False)
        assert plain.augment == given.get("augment", "shift-flip") and plain.alpha == preset.alpha
    # what a user sets is checked as given
    with pytest.raises(ConfigError, match="adaptive_threshold applies to consistency training"):
        config_for("fashion-mnist", consistency=0.0, adaptive_threshold=True)
    with pytest.raises(ConfigError, match="consistency trains on shifted views of images: add --augment shift"):
        config_for("fashion-mnist", augment="none", consistency=1.0)
    for given, who in (({}, "the preset turns"), ({"adaptive_threshold": True}, "you turn"),
                       ({"model": "fixmatch"}, "the preset turns")):  # a threshold the adaptive one replaces
        with pytest.raises(ConfigError, match=rf"^consistency_threshold does nothing where adaptive_threshold is on "
                                              rf"\({who} it on\), whose threshold replaces it: leave "
                                              rf"consistency_threshold out, or turn adaptive_threshold off: "
                                              rf"--no-adaptive-threshold \(adaptive_threshold=False in Python\)$"):
            config_for("fashion-mnist", consistency_threshold=0.8, **given)
    with pytest.raises(ConfigError, match=r"\(the recipe turns it on\)"):
        config_for("fashion-mnist", recipe="accurate", consistency_threshold=0.8)
    assert config_for("fashion-mnist", consistency_threshold=0.8, adaptive_threshold=False).consistency_threshold == 0.8
    assert config_for("fashion-mnist", recipe="accurate", augment="none").consistency == 0.0


@pytest.mark.filterwarnings("ignore:--alpha .*does nothing for this:UserWarning")  # the recipe's own, given
def test_a_recipe_is_its_settings_over_the_preset_for_the_models_it_was_measured_with():
    # the settings of the measured command line in docs/models.md (fashion-mnist, four blocks, consistency)
    measured = dict(classifier="conv", classifier_channels=(32, 64, 128, 256), augment="shift-flip", consistency=1.0,
                    adaptive_threshold=True, lr_schedule="one-cycle", ema=0.999, batch_size=128,
                    labelled_batch_size=64, epochs=30, precision="bfloat16", alpha=10.0)
    assert config_for("fashion-mnist", recipe="accurate") == config_for("fashion-mnist", **measured)
    assert PRESETS["fashion-mnist"]["alpha"] != 10.0  # the recipe keeps the alpha it was measured with
    assert config_for("fashion-mnist", recipe="accurate").lr == PRESETS["fashion-mnist"]["lr"]  # over the preset
    assert config_for("fashion-mnist", recipe="accurate", model="fixmatch") == config_for(
        "fashion-mnist", model="fixmatch", **measured)
    # the supervised baseline takes the classifier, views and schedule, not what needs unlabelled images
    unlabelled = ("consistency", "adaptive_threshold")
    assert config_for("fashion-mnist", recipe="accurate", model="supervised") == config_for(
        "fashion-mnist", model="supervised", **{k: v for k, v in measured.items() if k not in unlabelled})
    # what is set explicitly wins over the recipe
    mine = config_for("fashion-mnist", recipe="accurate", epochs=5, precision="float32", consistency=2.0)
    assert (mine.epochs, mine.precision, mine.consistency, mine.ema) == (5, "float32", 2.0, 0.999)
    with pytest.raises(ConfigError, match="recipe 'fastest' is not one of accurate"):
        config_for("fashion-mnist", recipe="fastest")
    with pytest.raises(ConfigError, match="^recipe accurate was measured on --dataset fashion-mnist, not on mnist: "
                                          "leave --recipe out, and give its settings to try them one by one: "
                                          "--classifier conv --classifier-channels 32,64,128,256 --augment shift-flip "
                                          "--consistency 1.0 --adaptive-threshold --lr-schedule one-cycle --ema "
                                          "0.999 --batch-size 128 --labelled-batch-size 64 --epochs 30 --precision "
                                          "bfloat16 --alpha 10.0$"):
        config_for("mnist", recipe="accurate")
    with pytest.raises(ConfigError, match="measured on --dataset fashion-mnist, not on shoes.npz"):
        config_for(data="shoes.npz", recipe="accurate")
    with pytest.raises(ConfigError, match="measured with models m2, fixmatch, supervised, not adgm: choose one"):
        config_for("fashion-mnist", recipe="accurate", model="adgm")


def test_broken_run_directory_is_a_clear_error(tmp_path, tiny_config):
    ssvae.train(tiny_config, out=tmp_path / "run", progress=False)
    (tmp_path / "run" / "weights.safetensors").write_bytes(b"not weights")
    with pytest.raises(RunError, match="weights.safetensors"):
        ssvae.load(tmp_path / "run")
    (tmp_path / "run" / "config.json").unlink()
    with pytest.raises(RunError, match="config.json: missing"):
        ssvae.load(tmp_path / "run")


def test_a_file_given_as_the_run_folder_is_refused_and_kept(tmp_path, tiny_config):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RunError, match=f"^{re.escape(str(tmp_path / 'notes.txt'))} is a file, not a folder: give "
                                       f"--out a new name for the run folder$"):
        ssvae.train(tiny_config, out=tmp_path / "notes.txt", replace=True, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_evaluate_report_is_consistent(tiny_config):
    run = ssvae.train(tiny_config, progress=False)
    before = torch.get_rng_state()
    report = ssvae.evaluate(run)
    assert torch.equal(torch.get_rng_state(), before)  # the ELBO's noise comes from its own seed, not the caller's
    assert ssvae.evaluate(run)["test_elbo"] == report["test_elbo"]
    confusion = np.array(report["confusion"])
    assert confusion.sum() == report["n_test"] == 450  # 25% of 1797, stratified
    assert report["accuracy"] == pytest.approx(np.trace(confusion) / confusion.sum())
    assert report["per_class"]["3"] == pytest.approx(confusion[3, 3] / confusion[3].sum())
    assert report["test_elbo"] < 0


def test_gaussian_standardisation_keeps_constant_inputs_finite():
    model = build_model(Config(input_shape=(3,), class_names=("a", "b"), likelihood="gaussian",
                               hidden=(4,), classifier_hidden=(4,), latent_dim=2))
    x = torch.tensor([[1.0, 5.0, 0.0], [3.0, 5.0, 0.001]])  # the last input is small, not constant
    model.fit_standardisation(x)
    torch.testing.assert_close(model.input_shift, torch.tensor([2.0, 5.0, 0.0005]))
    torch.testing.assert_close(model.input_scale, torch.tensor([2.0 ** 0.5, 1.0, 0.001 / 2.0 ** 0.5]))
    torch.testing.assert_close(model.prepare(torch.tensor([[2.0, 6.0, 0.0005]])), torch.tensor([[0.0, 1.0, 0.0]]))
    model.fit_standardisation(torch.tensor([[0.0, 1000.0, 0.0]]).repeat(2, 1))  # constants, zero or large
    assert model.input_scale.tolist() == [1.0, 1.0, 1.0]
    model.fit_standardisation(torch.tensor([[1e37, 0.0, 1.0], [-1e37, 0.0, 3.0]]))  # squares beyond float32
    torch.testing.assert_close(model.input_scale, torch.tensor([2.0 ** 0.5 * 1e37, 1.0, 2.0 ** 0.5]))
    assert model.input_shift.tolist() == [0.0, 0.0, 2.0]


def test_auto_likelihood_looks_at_the_test_inputs_too(tmp_path):
    """Training rows in [0, 1] but one test value of 1.02: a Bernoulli model could not take its test set (the
    run would train, then fail to evaluate or export), so auto picks the Gaussian likelihood."""
    rng = np.random.default_rng(0)
    x, x_test = rng.random((200, 4)).astype(np.float32), rng.random((40, 4)).astype(np.float32)
    x_test[3, 1] = 1.02
    np.savez(tmp_path / "d.npz", x=x, y=np.where(np.arange(200) < 20, x[:, 0] > 0.5, -1).astype(int), x_test=x_test,
             y_test=(x_test[:, 0] > 0.5).astype(int))
    settings = dict(labels=20, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
    run = ssvae.train(data=str(tmp_path / "d.npz"), **settings)
    assert run.config.likelihood == "gaussian" and ssvae.evaluate(run)["n_test"] == 40
    np.savez(tmp_path / "inside.npz", x=x, y=np.where(np.arange(200) < 20, x[:, 0] > 0.5, -1).astype(int),
             x_test=np.clip(x_test, 0, 1), y_test=(x_test[:, 0] > 0.5).astype(int))
    assert ssvae.train(data=str(tmp_path / "inside.npz"), **settings).config.likelihood == "bernoulli"


def test_m2_learns_real_valued_csv_with_a_gaussian_likelihood(tmp_path):
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, -3.0, 10.0, 0.0], [-5.0, 3.0, 0.0, 8.0]])
    y = rng.integers(0, 2, 400)
    x = centres[y] + rng.normal(size=(400, 4))
    labels = np.where(np.arange(400) < 100, y, -1).astype(object)
    labels[labels == -1] = ""
    rows = ["f1,f2,f3,f4,label", *(",".join([*map(str, xi), str(li)]) for xi, li in zip(x, labels))]
    (tmp_path / "blobs.csv").write_text("\n".join(rows))
    # A source without a test split of its own: the test half comes from its 100 labelled rows.
    run = ssvae.train(data=str(tmp_path / "blobs.csv"), labels=10, test_fraction=0.5, epochs=30, hidden=(16,),
                      classifier_hidden=(16,), latent_dim=2, batch_size=64, progress=False)
    assert run.config.likelihood == "gaussian" and run.config.input_shape == (4,)
    part = run.partition()  # standardised by the mean of every training row, the unlabelled ones too
    rows = np.concatenate([part.labelled.x, part.unlabelled.x]).astype(np.float64)
    np.testing.assert_allclose(run.model.input_shift.numpy(), rows.mean(0), rtol=1e-5, atol=1e-5)
    report = ssvae.evaluate(run)
    assert report["n_test"] == 50 and report["labels_seen"] == 10
    assert report["accuracy"] == 1.0
    assert np.isfinite(report["test_elbo"])


def test_a_table_weighs_each_labelled_row_as_one_example_of_the_bound(tmp_path, monkeypatch):
    """A CSV's preset weighs the labelled bound by N_labelled / N_unlabelled (each row alike, as in the paper),
    which kept M2 from losing a class of 4-class tables of 40 labels; the built-in sets, other data of one's
    own, runs written before the setting and the models without M2's bound keep a labelled batch as heavy as
    an unlabelled one."""
    assert config_for(data="t.csv").labelled_bound == "share"
    assert config_for(data="t.CSV", model="adgm").labelled_bound == "share"
    for config in (config_for(data="t.npz"), config_for("digits"), config_for("fashion-mnist"), Config(),
                   config_for(data="t.csv", labelled_bound="batch")):
        assert config.labelled_bound == "batch"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the supervised baseline of a table is not given it, nor warned of it
        assert config_for(data="t.csv", model="supervised").labelled_bound == "batch"
    older = Config.from_json((Path(__file__).parent / "data" / "config-before-later-fields.json").read_text())
    assert older.labelled_bound == "batch"
    with pytest.raises(ConfigError, match="labelled_bound 'all' is not one of batch, share"):
        Config(labelled_bound="all")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 120)
    x = rng.normal(size=(120, 2)) + 3 * y[:, None]
    rows = ["f1,f2,label", *(f"{x0},{x1},{label}" for (x0, x1), label in zip(x, y))]
    (tmp_path / "t.csv").write_text("\n".join(rows))
    seen = []
    original = M2.loss

    def loss(self, x_l, y_l, x_u, weights, **kw):  # M2's, noting the weights of each step
        seen.append(weights.labelled)
        return original(self, x_l, y_l, x_u, weights, **kw)

    monkeypatch.setattr(M2, "loss", loss)
    for labelled_bound, weight in (("share", 10 / 80), ("batch", 1.0)):  # 120 rows: 30 test, 10 labelled, 80 not
        seen.clear()
        run = ssvae.train(data=str(tmp_path / "t.csv"), labels=10, epochs=1, hidden=(8,), classifier_hidden=(8,),
                          latent_dim=2, labelled_bound=labelled_bound, progress=False)
        assert len(run.partition().unlabelled) == 80 and seen and set(seen) == {weight}
    assert "--labelled-bound batch" in train_command(run.config)


def test_classify_takes_raw_images_with_or_without_channel_axis(tiny_config):
    from ssvae.data import DataError

    run = ssvae.train(tiny_config, progress=False)
    images = (run.partition().test.x[:5, 0] * 255).round().astype(np.uint8)  # (5, 8, 8) uint8 0..255
    probabilities = run.classify(images)
    np.testing.assert_allclose(probabilities, run.classify(images[:, None] / 255.0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, rtol=1e-5)
    floats = images[:, None] / np.float32(255)
    floats.flags.writeable = False  # as np.load(..., mmap_mode="r") gives them
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torch warned of a tensor over a read-only array
        np.testing.assert_allclose(run.classify(floats), probabilities, rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match=r"shape \(2, 7, 7\) do not fit this model: it takes \(N, 1, 8, 8\)"):
        run.classify(np.zeros((2, 7, 7), np.uint8))
    with pytest.raises(DataError, match=r"inputs range over \[0, 16\] but this model takes \[0, 1\] \(first in row 0\): "
                                        r"pass 8-bit images"):
        run.classify(images[:, None] / 255.0 * 16)  # digits on sklearn's 0..16 scale, as the runtime refuses them
    with pytest.warns(UserWarning, match=r"^uint8 inputs that stay below 64 are divided by 255"):
        run.classify(images // 16)  # whole levels 0..15 as uint8: nearly black 8-bit images, as the runtime says
    nan = images[:, None] / 255.0
    nan[3, 0, 2, 2] = np.nan
    with pytest.raises(DataError, match=r"inputs contain NaN or inf.*\(first in row 3\)"):
        run.classify(nan)


def _digits_m2(config: Config):
    """A tiny M2 on digits and one step's worth of its data: (model, x_l, y_l, x_u)."""
    source = ssvae.data.load_source("digits")
    config = config.replace(input_shape=(1, 8, 8), class_names=source.train.class_names, likelihood="bernoulli")
    torch.manual_seed(0)
    model = build_model(config)
    x = torch.as_tensor(source.train.x[:96])
    return model, x[:32], torch.as_tensor(source.train.y[:32]), x[32:]


def test_bfloat16_autocast_runs_the_networks_in_bfloat16_and_the_bound_in_float32(tiny_config):
    """Under ``precision`` bfloat16 a linear layer's output is bfloat16, while every loss term stays float32
    and within bfloat16's rounding of the float32 terms computed from the same noise."""
    model, x_l, y_l, x_u = _digits_m2(tiny_config.replace(precision="bfloat16"))
    seen = []
    model.decoder.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    weights = LossWeights(1.0, 10.0)
    torch.manual_seed(1)
    reference = model.loss(x_l, y_l, x_u, weights)
    torch.manual_seed(1)
    with torch.autocast("cpu", torch.bfloat16):
        terms = model.loss(x_l, y_l, x_u, weights)
    assert seen == [torch.float32, torch.float32, torch.bfloat16, torch.bfloat16]
    for name, value in terms.items():
        assert value.dtype == torch.float32, name
        torch.testing.assert_close(value, reference[name], rtol=2e-2, atol=2e-2, msg=name)


def test_bfloat16_training_learns_as_float32_does():
    """Digits, 100 labels: M2 trained under bfloat16 autocast reaches float32's accuracy within 3 points."""
    runs = {p: ssvae.evaluate(ssvae.train(epochs=10, progress=False, precision=p))["accuracy"]
            for p in ("float32", "bfloat16")}
    assert runs["bfloat16"] > 0.85 and abs(runs["bfloat16"] - runs["float32"]) < 0.03, runs


def test_cuda_without_a_gpu_is_a_clear_error_in_both_spellings(monkeypatch):
    from ssvae.config import both_spellings

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match=r"no CUDA GPU is visible: use --device auto \(device='auto' in Python\)$"):
        training.resolve_device("cuda")
    assert training.resolve_device("auto") == torch.device("cpu")
    assert both_spellings("lr", 0.003 / 10) == "--lr 0.0003 (lr=0.0003 in Python)"  # not 0.00030000000000000003
    assert both_spellings("hidden", (256, 128)) == "--hidden 256,128 (hidden=(256, 128) in Python)"


def test_bfloat16_on_a_gpu_without_it_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "Tesla V100")
    with pytest.raises(ConfigError, match=r"^Tesla V100 has no bfloat16 .*: use --precision float32 "
                                          r"\(precision='float32' in Python\)$"):
        training.check_precision("bfloat16", torch.device("cuda"))
    training.check_precision("float32", torch.device("cuda"))
    training.check_precision("bfloat16", torch.device("cpu"))


def test_compiled_loss_matches_the_eager_loss(tiny_config, monkeypatch):
    """torch.compile changes how the loss runs, not what it computes (inductor told to draw eager's noise); a
    counter around inductor shows that it compiled, or the eager loss would be compared with itself."""
    counter = CompileCounterWithBackend("inductor")
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend=counter))
    torch._dynamo.reset()
    model, x_l, y_l, x_u = _digits_m2(tiny_config)
    torch.manual_seed(1)
    eager = model.loss(x_l, y_l, x_u, LossWeights(1.0, 10.0))
    torch.manual_seed(1)
    with warnings.catch_warnings(), torch._inductor.config.patch(fallback_random=True):
        warnings.simplefilter("error", RuntimeWarning)  # a fallback to eager would make this test pointless
        compiled = training.stage_loss(model, tiny_config.replace(compile=True))(x_l, y_l, x_u, LossWeights(1.0, 10.0))
    assert counter.frame_count >= 1
    for name, value in eager.items():
        torch.testing.assert_close(compiled[name], value, rtol=1e-4, atol=1e-4, msg=name)


def test_kl_warm_up_does_not_compile_the_loss_again(tiny_config, monkeypatch):
    """A new KL weight each warm-up epoch reuses the compiled loss; dynamo's eager backend counts the graphs."""
    counter = CompileCounter()
    monkeypatch.setattr(torch, "compile", functools.partial(torch.compile, backend=counter))
    model, x_l, y_l, x_u = _digits_m2(tiny_config)
    loss = training.stage_loss(model, tiny_config.replace(compile=True))
    torch._dynamo.reset()
    for kl in (0.25, 0.5, 1.0):
        loss(x_l, y_l, x_u, LossWeights(kl, 10.0))
    assert counter.frame_count == 1
    # each step of an epoch passes the same tensor (made on the device once, not copied from the host each step)
    assert loss.kl_tensor(1.0, x_l.device) is loss.kl_tensor(1.0, x_l.device) and loss.kl.item() == 1.0
    assert loss.kl_tensor(0.5, x_l.device).item() == 0.5


def test_training_goes_on_without_compile_where_the_compiler_fails(tiny_config, monkeypatch):
    """A compiler that fails on its first call costs a warning, not the run: the weights are those of an
    eager run with the same seed, exactly."""
    eager = ssvae.train(tiny_config, progress=False)

    def broken_compile(function):
        def fail(*args, **kwargs):
            raise RuntimeError("no C++ compiler found")
        return fail

    monkeypatch.setattr(torch, "compile", broken_compile)
    with pytest.warns(RuntimeWarning, match="torch.compile is unavailable here .*no C\\+\\+ compiler found"):
        compiled = ssvae.train(tiny_config, progress=False, compile=True)
    for (name, a), b in zip(_weights(eager).items(), _weights(compiled).values()):
        torch.testing.assert_close(b, a, rtol=0, atol=0, msg=name)


@pytest.mark.filterwarnings("ignore:.*does nothing for this:UserWarning")  # the run's settings, for supervised too
@pytest.mark.parametrize("model", ["m2", "fixmatch"])
def test_the_baseline_is_the_supervised_model_on_the_same_labels_and_settings(model):
    """`ssvae.baseline` trains what `ssvae.train(model="supervised")` would with the run's settings and labels:
    the same config (less what only the run's model takes), the same split and bit for bit the same weights."""
    settings = dict(dataset="digits", labels=30, epochs=2, hidden=(16,), classifier_hidden=(16,), latent_dim=4,
                    batch_size=200, progress=False)
    if model == "fixmatch":
        settings.update(classifier="conv", classifier_channels=(4, 8), augment="shift", consistency=1.0)
    run = ssvae.train(model=model, **settings)
    assert run.config.vat > 0 if model == "m2" else run.config.consistency > 0  # what the baseline must drop
    base = ssvae.baseline(run)
    alone = ssvae.train(model="supervised", **{k: v for k, v in settings.items() if k != "consistency"})
    assert base.config == alone.config and base.split == run.split == alone.split
    for (name, a), b in zip(base.model.state_dict().items(), alone.model.state_dict().values()):
        assert torch.equal(a, b), name
    assert ssvae.evaluate(base)["accuracy"] == ssvae.evaluate(alone)["accuracy"]


def test_a_supervised_run_has_no_baseline_of_its_own(monkeypatch):
    run = ssvae.train(dataset="digits", model="supervised", labels=30, epochs=1, classifier_hidden=(16,),
                      progress=False)
    with pytest.raises(api.RunError, match="is a supervised run already: its baseline is itself"):
        ssvae.baseline(run)

    def evaluated(*args, **kwargs):
        raise AssertionError("evaluated before the baseline was refused")

    monkeypatch.setattr(api, "evaluation_report", evaluated)
    with pytest.raises(api.RunError, match="is a supervised run already"):  # before the run is evaluated
        ssvae.evaluate(run, baseline=True)


def test_evaluate_in_python_names_a_folder_that_is_neither_a_run_nor_a_model_as_the_command_does(tmp_path):
    """The folder checks are the API's, so a script gets the command's messages, not a missing config.json."""
    (tmp_path / "models" / "digits").mkdir(parents=True)
    (tmp_path / "models" / "digits" / "model.json").write_text("{}")
    cases = [(tmp_path / "nowhere", {}, f"{tmp_path / 'nowhere'}: no such run or model folder; give the --out folder "
                                        f"of 'ssvae train' or of 'ssvae export'"),
             (tmp_path / "models", {}, f"{tmp_path / 'models'} holds model folders (digits), not a model's files: pass "
                                       f"one of them, e.g. {tmp_path / 'models' / 'digits'}"),
             (tmp_path / "models" / "digits", {"baseline": True}, "--baseline (baseline= in Python) trains on a run's "
              f"data, which {tmp_path / 'models' / 'digits'}, an exported model, does not keep: evaluate the run "
              f"folder it was exported from")]
    for folder, options, message in cases:
        with pytest.raises(api.RunError) as caught:
            ssvae.evaluate(folder, data="scans", **options)
        assert str(caught.value) == message


def test_load_names_a_file_or_a_folder_of_models_for_what_it_is(tmp_path):
    """ssvae.load of a file said "no such run directory", of a folder of exported models that its config.json
    was missing."""
    (tmp_path / "models" / "digits").mkdir(parents=True)
    (tmp_path / "models" / "digits" / "model.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("")
    with pytest.raises(ssvae.RunError, match=r"notes.txt: a file, not a run or model folder; give the --out folder "
                                             r"of 'ssvae train' or of 'ssvae export'$"):
        ssvae.evaluate(tmp_path / "notes.txt")
    for given, message in ((tmp_path / "notes.txt", f"{tmp_path / 'notes.txt'}: a file, not a run directory; give "
                                                    f"the --out folder of 'ssvae train'"),
                           (tmp_path / "models", f"{tmp_path / 'models'} holds exported models' folders, not a run's "
                                                 f"files: give the run folder (the --out of 'ssvae train') that one "
                                                 f"was exported from")):
        with pytest.raises(ssvae.RunError) as caught:
            ssvae.load(given)
        assert str(caught.value) == message


def test_auto_picks_gaussian_for_a_table_whatever_its_range_and_bernoulli_for_images_in_range():
    """A CSV's columns in [0, 1] are proportions or scaled numbers, not grey levels: with 12 labels of wine
    scaled to [0, 1], the Bernoulli likelihood gave 89.6 % where the Gaussian gives 97.0 % (seeds 0-2)."""
    inside, outside = np.full((4, 3), 0.5, np.float32), np.full((4, 3), 2.0, np.float32)
    assert run_data.resolve_likelihood(Config(data="wine.CSV"), inside) == "gaussian"
    assert run_data.resolve_likelihood(Config(data="wine.npz"), inside) == "bernoulli"
    assert run_data.resolve_likelihood(Config(data="wine.npz"), inside, outside) == "gaussian"
    assert run_data.resolve_likelihood(Config(data="wine.csv", likelihood="bernoulli"), inside) == "bernoulli"


@pytest.mark.parametrize("settings, name, model, who", [
    ({"m1_epochs": 5}, "m1-epochs", "m2", r"the M1 stage of m1\+m2"),
    ({"model": "supervised", "latent_dim": 4}, "latent-dim", "supervised", r"models m2, adgm and m1\+m2 \(m1's is "
                                                                           r"m1_latent_dim\)"),
    ({"model": "m1", "hidden": (30,)}, "hidden", "m1", r"models m2, adgm and m1\+m2 \(m1's is m1_hidden\)"),
    ({"classifier_channels": (8, 16)}, "classifier-channels", "m2", r"the conv classifier \(--classifier conv\)"),
    ({"classifier": "conv", "classifier_hidden": (50,)}, "classifier-hidden", "m2",
     r"the MLP classifier \(--classifier mlp\)"),
    ({"vat": 0.0, "vat_epsilon": 2.0}, "vat-epsilon", "m2", r"virtual adversarial training \(--vat above 0\)"),
    ({"model": "fixmatch", "consistency": 1.0, "augment": "shift", "kl_warmup_epochs": 3}, "kl-warmup", "fixmatch",
     "the models with a KL term"),
    ({"model": "supervised", "alpha": 5.0}, "alpha", "supervised", r"models m2, adgm and m1\+m2 \(their "
                                                                     r"classification weight\)"),
])
def test_a_setting_training_does_not_read_is_named_in_a_warning(settings, name, model, who):
    """Accepted and recorded, these did nothing (and a model card repeated them); the run still trains."""
    field = next(k for k in settings if option_flag(k) == f"--{name}")
    with pytest.warns(UserWarning, match=rf"^--{name} \({field}= in Python\) does nothing for this {model} model: it "
                                         rf"is read only by {who}; leave it out$"):
        config_for("digits", **settings)


def test_a_kl_warm_up_longer_than_the_training_is_named_in_a_warning():
    """--epochs 1 --kl-warmup 10 trained to its end with the KL term weighed 0.1, without a word; a warm-up that
    ends within the training, or one of a model without a KL term (warned of as unread), says nothing of it."""
    with pytest.warns(UserWarning, match=r"^--kl-warmup 10 \(kl_warmup_epochs=10 in Python\) outlasts --epochs 4 "
                                         r"\(epochs=4 in Python\): the KL weight reaches only 0.4 by its last epoch; "
                                         r"lower the warm-up or train longer$"):
        config_for("digits", epochs=4, kl_warmup_epochs=10)
    with pytest.warns(UserWarning, match=r"^--kl-warmup 10 \(kl_warmup_epochs=10 in Python\) outlasts --m1-epochs 5 "
                                         r"\(m1_epochs=5 in Python\): the KL weight reaches only 0.5 by its last"):
        config_for("digits", model="m1+m2", m1_epochs=5, epochs=100, kl_warmup_epochs=10)  # M1's stage warms up too
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config_for("digits", epochs=10, kl_warmup_epochs=10)
    with pytest.warns(UserWarning) as caught:
        config_for("digits", model="supervised", epochs=4, kl_warmup_epochs=10)
    assert [str(w.message) for w in caught] == ["--kl-warmup (kl_warmup_epochs= in Python) does nothing for this "
                                                "supervised model: it is read only by the models with a KL term; "
                                                "leave it out"]


@pytest.mark.parametrize("settings, model, who", [
    ({"aux_dim": 7}, "m2", r"model adgm \(its auxiliary variable's size\)"),
    ({"model": "adgm", "m1_latent_dim": 8}, "adgm", r"models m1 and m1\+m2"),
    ({"model": "supervised", "m1_hidden": (30,)}, "supervised", r"models m1 and m1\+m2"),
    ({"model": "m1", "m1_features": "mean"}, "m1", r"the M2 stage of m1\+m2"),
])
def test_a_python_only_setting_training_does_not_read_is_named_in_a_warning(settings, model, who):
    """These have no `ssvae train` option, so the warning names the Python setting alone."""
    field = next(name for name in settings if name != "model")
    with pytest.warns(UserWarning, match=rf"^{field}= \(Python only\) does nothing for this {model} model: it is "
                                         rf"read only by {who}; leave it out$"):
        config_for("digits", **settings)


def test_an_unread_setting_is_warned_of_at_the_callers_line():
    """Raised three calls deep in ssvae, it named a line of ssvae.api (user_stacklevel)."""
    with pytest.warns(UserWarning, match="^--alpha .* does nothing for this supervised model") as warned:
        ssvae.train(model="supervised", alpha=3.0, epochs=1, classifier_hidden=(8,), progress=False)
    assert [w.filename for w in warned if "does nothing" in str(w.message)] == [__file__]


def test_settings_training_reads_give_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config_for("digits", model="m1+m2", m1_epochs=5, latent_dim=4, hidden=(30,), kl_warmup_epochs=2, alpha=0.5,
                   m1_latent_dim=8, m1_hidden=(30,), m1_features="sample")
        config_for("digits", model="adgm", aux_dim=7, alpha=0.5)
        config_for("digits", model="m1", m1_latent_dim=8, m1_hidden=(30,))
        config_for("digits", classifier="conv", classifier_channels=(8, 16), vat_epsilon=2.0)
        config_for("fashion-mnist", consistency_threshold=0.8, adaptive_threshold=False)


def test_a_checkpoint_is_taken_every_checkpoint_every_epochs_and_at_each_stages_end(tiny_config, tmp_path,
                                                                                      monkeypatch):
    """--checkpoint-every 2 over M1's 3 epochs and M2's 5: a finished stage is kept even off the beat, so that a
    run killed early in M2 does not train M1 again, and the last epoch is kept whatever the beat."""
    taken = []

    def save(path, checkpoint):
        taken.append((checkpoint.stage, checkpoint.epoch))
        save_checkpoint(path, checkpoint)

    monkeypatch.setattr(api, "save_checkpoint", save)
    ssvae.train(tiny_config, out=tmp_path / "run", progress=False, model="m1+m2", m1_epochs=3, epochs=5,
                checkpoint_every=2)
    assert taken == [(0, 2), (0, 3), (1, 2), (1, 4), (1, 5)]


def _wine_arrays() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_wine

    wine = load_wine()
    return wine.data.astype(np.float32), wine.target.astype(np.int64)


def test_arrays_held_in_memory_train_a_run_that_keeps_them_as_the_npz_of_them_would(tmp_path):
    """``data=(x, y)`` with ``out``: the run folder keeps the arrays as ssvae-arrays.npz, which its config names,
    and the run trains, evaluates and loads as a run of that .npz; a dict takes x_test, y_test and class_names
    too. --force with --data naming the kept file is refused: replacing the folder would delete it."""
    x, y = _wine_arrays()
    settings = dict(labels=12, epochs=2, progress=False, seed=3)
    kept = tmp_path / "run" / "ssvae-arrays.npz"
    run = ssvae.train(data=(x, y), out=tmp_path / "run", **settings)
    assert run.config.data == str(kept.resolve())
    with np.load(kept) as saved:
        assert sorted(saved.files) == ["x", "y"]
        np.testing.assert_array_equal(saved["x"], x)
        np.testing.assert_array_equal(saved["y"], y)
    np.savez(tmp_path / "wine.npz", x=x, y=y)
    from_file = ssvae.train(data=str(tmp_path / "wine.npz"), **settings)
    assert run.split == from_file.split
    assert ssvae.evaluate(ssvae.load(tmp_path / "run")) == ssvae.evaluate(from_file) == ssvae.evaluate(run)
    (tmp_path / "run").rename(tmp_path / "moved")  # the arrays go with their folder, and config.json names them
    moved = ssvae.load(tmp_path / "moved")
    assert moved.config.data == str((tmp_path / "moved" / "ssvae-arrays.npz").resolve())
    assert ssvae.evaluate(moved) == ssvae.evaluate(run)
    assert ssvae.export(tmp_path / "moved", tmp_path / "model").accuracy["float32"] == ssvae.evaluate(run)["accuracy"]
    (tmp_path / "moved").rename(tmp_path / "run")
    with pytest.raises(RunError, match=rf"^--data \(data= in Python\) {re.escape(str(kept.resolve()))} is a file of "
                                       rf"the run folder .*run, which --force \(replace=True\) replaces: copy it out"):
        ssvae.train(data=str(kept), out=tmp_path / "run", replace=True, **settings)
    assert kept.is_file()
    names = ["barolo", "grignolino", "barbera"]
    named = ssvae.train(data={"x": x[:150], "y": y[:150], "x_test": x[150:], "y_test": y[150:], "class_names": names},
                        out=tmp_path / "run", replace=True, **settings)
    assert named.config.class_names == tuple(names) and ssvae.evaluate(named)["n_test"] == 28
    with np.load(kept) as saved:
        assert sorted(saved.files) == ["class_names", "x", "x_test", "y", "y_test"]


class Table:
    """What a pandas DataFrame has that tells it from an array: named columns (pandas is not installed here)."""

    def __init__(self, x: np.ndarray) -> None:
        self.columns, self.x = [f"c{k}" for k in range(x.shape[1])], x

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return self.x


def test_arrays_held_in_memory_need_a_folder_and_an_npz_s_names_and_write_nothing_else(tmp_path, interrupted_run):
    """Refused in one line before anything is written: arrays without ``out`` (a run names its data by path),
    a dict of other names, Python objects (an .npz would pickle them), a DataFrame (whose column
    names would be lost), ragged lists, and what an .npz of them would be refused for, said of "data" (not of
    the file the run would keep). Numbers held as Python objects or in lists are numbers. A run stopped before
    its first checkpoint leaves no folder; one stopped after resumes from the arrays it kept."""
    x, y = _wine_arrays()
    for data, out, message in (
            ((x, y), None, r"^data held in memory are kept in the run folder \(as ssvae-arrays.npz\), so that the "
                           r"run can be evaluated, exported and resumed: give out= a folder, or give a path"),
            ({"x": x, "labels": y}, tmp_path / "run", r"^data held in memory is \(x, y\), or a dict of x and y and, "
                                                      r"if any, x_test, y_test and class_names, as an .npz holds "
                                                      r"them; got a dict of 'x', 'labels'$"),
            ({"x": x, "y": np.where(y > 0, y, None)}, tmp_path / "run", r"^data\['y'\] holds Python objects: give "
                                                                      r"it as integer class indices"),
            ((np.where(np.arange(178)[:, None] == 3, np.inf, x), y), tmp_path / "run",
             r"^data: 1 input row\(s\) contain inf, or numbers too large for float32 \(first: row 3\)"),
            ((Table(x), y), tmp_path / "run", r"^data\['x'\] is a table \(a DataFrame\), whose column names held in "
                                              r"memory would be lost: save it with its column of classes as a "
                                              r"CSV \(df.to_csv\('data.csv', index=False\)\)"),
            (([[1.0, 2.0], [3.0]], [0, 1]), tmp_path / "run", r"^data\['x'\] has rows of unequal length: give rows "
                                                              r"of one length$"),
            ((x, y[:100]), tmp_path / "run", r"^data: x and y differ in length \(178 inputs, 100 labels\)")):
        with pytest.raises(ssvae.DataError, match=message):
            ssvae.train(data=data, out=out, epochs=1, progress=False)
    for setting, flag in ((dict(label_column="kind"), "--label-column"), (dict(ignore_columns="name"),
                                                                           "--ignore-columns")):
        with pytest.raises(ssvae.DataError, match=rf"^{flag} \({next(iter(setting))}= in Python\) names (a column|"
                                                  rf"columns) of a CSV, and the data are arrays held in memory: leave "
                                                  rf"it out$"):
            ssvae.train(data=(x, y), out=tmp_path / "run", epochs=1, progress=False, **setting)
    assert not (tmp_path / "run").exists()
    as_objects = ssvae.train(data=(x.astype(object).tolist(), y.astype(object)), out=tmp_path / "objects", labels=12,
                             epochs=1, progress=False, seed=3)
    as_arrays = ssvae.train(data=(x, y), labels=12, epochs=1, progress=False, seed=3, out=tmp_path / "arrays")
    assert as_objects.split == as_arrays.split and ssvae.evaluate(as_objects) == ssvae.evaluate(as_arrays)
    # labels as text, as a CSV's: whole numbers are the classes 0..K-1; names are sorted; "", None and NaN unlabelled
    as_text = ssvae.train(data=(x, y.astype(str)), labels=12, epochs=1, progress=False, seed=3, out=tmp_path / "text")
    assert as_text.split == as_arrays.split and as_text.config.class_names == ("0", "1", "2")
    wines = np.array(["barolo", "grignolino", "barbera"], dtype=object)[y]
    wines[::5], wines[1::5] = "", None  # 72 rows unlabelled
    named = ssvae.train(data=(x, wines), out=tmp_path / "named", labels=None, epochs=1, progress=False)
    assert named.config.class_names == ("barbera", "barolo", "grignolino")
    labelled = np.flatnonzero([w not in ("", None) for w in wines])
    assert sorted(named.split.labelled + named.split.test) == labelled.tolist()
    assert [named.config.class_names[k] for k in named.partition().test.y] == [wines[i] for i in named.split.test]
    with pytest.raises(ssvae.DataError, match=r"^data\['y_test'\] holds class names that y does not name \(merlot\)"):
        ssvae.train(data={"x": x, "y": wines, "x_test": x[:2], "y_test": ["barolo", "merlot"]}, out=tmp_path / "t",
                    epochs=1, progress=False)
    label_column = ssvae.train(data=(x, Table(y[:, None])), labels=12, epochs=1, progress=False, seed=3,
                               out=tmp_path / "column")  # a table of one column is labels, not inputs to name
    assert label_column.split == as_arrays.split
    np.savez(tmp_path / "narrow.npz", x=x[:, :4], y=y)
    np.savez(tmp_path / "own_test.npz", x=x, y=y)
    for data, test, message in (
            ((x, y), "narrow.npz", r"^\S*narrow.npz: inputs of shape \(178, 4\) do not fit the model trained on data: "
                                   r"it takes \(N, 13\)$"),
            ({"x": x, "y": y, "x_test": x, "y_test": y}, "own_test.npz", r"^data has x_test and y_test of its own, "
                                                                         r"and --test-data \S*own_test.npz would be a "
                                                                         r"second: give one of them$")):
        with pytest.raises(ssvae.DataError, match=message):  # the arrays, not the file the run would keep of them
            ssvae.train(data=data, test_data=str(tmp_path / test), out=tmp_path / "refused", epochs=1, progress=False)
    with pytest.raises(RunError, match=r"^--test-data \(test_data= in Python\) \S*ssvae-arrays.npz is a file of the "
                                       r"run folder \S*arrays, which --force \(replace=True\) replaces"):
        ssvae.train(data=(x, y), test_data=str(tmp_path / "arrays" / "ssvae-arrays.npz"), out=tmp_path / "arrays",
                    replace=True, epochs=1, progress=False)
    assert not (tmp_path / "refused").exists() and (tmp_path / "arrays" / "ssvae-arrays.npz").is_file()
    settings = dict(data=(x, y), labels=12, epochs=3, progress=False)
    interrupted_run(tmp_path / "run", 1, **settings)  # in its first epoch: before the first checkpoint
    assert not (tmp_path / "run").exists()
    interrupted_run(tmp_path / "run", 3, **settings)
    assert (tmp_path / "run" / CHECKPOINT).is_file() and (tmp_path / "run" / "ssvae-arrays.npz").is_file()
    resumed = ssvae.resume(tmp_path / "run", progress=False)
    whole = ssvae.train(out=tmp_path / "whole", **settings)
    for name, tensor in whole.model.state_dict().items():
        torch.testing.assert_close(resumed.model.state_dict()[name], tensor, rtol=0, atol=0)


def test_default_run_folder_names_the_data_and_the_model(tmp_path, monkeypatch):
    """`ssvae train` without --out writes runs/DATA-MODEL: the built-in set's name, or the stem of one's own
    file or folder ("." read as the folder it names), and the model without its "+"."""
    assert api.default_run_folder(Config()) == Path("runs") / "digits-m2"
    assert api.default_run_folder(Config(data="tables/scans.csv", model="m1+m2")) == Path("runs") / "scans-m1m2"
    monkeypatch.chdir(tmp_path)
    assert api.default_run_folder(Config(data=".", model="adgm")) == Path("runs") / f"{tmp_path.name}-adgm"



def test_a_class_given_to_almost_no_unlabelled_example_is_warned_of(tmp_path):
    """M2 lost a class over a long training on a reviewer's table (0 of 2,960 unlabelled rows given it at
    epoch 200, 691 at epoch 20) with nothing said; a model not trained yet has not learnt some. A class given
    to fewer than 0.2 % of the examples trained on without labels is named, with its count; one trained on
    two blobs far apart, which it tells apart, is not warned of."""
    small = dict(hidden=(32,), classifier_hidden=(32,), latent_dim=4, batch_size=200, progress=False)
    with pytest.warns(UserWarning, match=r"^the model gives class") as seen:
        run = ssvae.train(dataset="digits", labels=20, epochs=1, **small)
    unlabelled = run.partition().unlabelled
    given = np.bincount(run.classify(unlabelled.x).argmax(-1), minlength=10)
    lost = [k for k in range(10) if given[k] < 0.002 * len(unlabelled)]
    assert lost and len(unlabelled) == 1327  # 1,797 less 450 to test and 20 labelled
    them, which = "them" if len(lost) > 1 else "it", ", ".join(f"'{k}' to {given[k]}" for k in lost)
    assert [str(w.message) for w in seen if "gives class" in str(w.message)] == [
        f"the model gives class{'es' if len(lost) > 1 else ''} {which} of the 1,327 examples it trained on without "
        f"labels: it has not learnt {them}, or has lost {them} (M2 can over a long training); see the recall in "
        f"'ssvae evaluate', and keep the best epoch on held-out labels (--val-labels N), train for more or fewer "
        f"--epochs, or label more examples of {them}"]
    for model, only in (("supervised", {}), ("m1", {"m1_hidden": (32,), "m1_latent_dim": 4})):  # labels alone
        with pytest.warns(UserWarning, match=r"^the model gives class") as seen:
            ssvae.train(dataset="digits", labels=20, epochs=1, model=model, classifier_hidden=(32,),
                        batch_size=200, progress=False, **only)
        assert [str(w.message).split(": it has not learnt")[0].split(" of the ")[1] for w in seen
                if "gives class" in str(w.message)] == [f"1,327 examples without labels (which the {model} model's "
                                                       f"classifier does not train on)"]
    rng = np.random.default_rng(0)
    y = np.arange(800) % 2
    x = (rng.normal(size=(800, 3)) + 8.0 * y[:, None]).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        warnings.filterwarnings("ignore", "the test set is")  # 20 labels: a small test set, as meant
        ssvae.train(data=(x, np.where(np.arange(800) < 20, y, -1)), out=tmp_path / "blobs", epochs=3, **small)


def test_test_fraction_0_holds_out_no_test_set_and_validation_labels_still_pick_the_epoch(tiny_config, tmp_path):
    """test_fraction 0: none of the labels is held out as a test set (digits has none of its own), so every
    label the run chose trains, and --val-labels still sets some aside to pick the epoch by (the test set
    never chose the epoch). The run has no test accuracy: evaluate refuses it without data to test on."""
    run = ssvae.train(tiny_config, progress=False, out=tmp_path / "run", labels=60, val_labels=20, test_fraction=0,
                      epochs=2)
    split, partition = run.split, run.partition()
    assert split.untested and split.test == () and (len(split.labelled), len(split.validation)) == (40, 20)
    assert partition.test is None and partition.labelled_test is None
    assert len(partition.unlabelled) == 1797 - 60  # every other example, none held out
    assert json.loads((tmp_path / "run" / "labels.json").read_text())["test"] == []
    assert ssvae.load(tmp_path / "run").split == split  # labels.json's empty test set reads back
    assert api.untested_summary(run) == {"accuracy": None, "n_test": 0, "test_data": None, "labels_seen": 60,
                                         "kept_epoch": api._kept_epoch(run)}
    assert api._kept_epoch(run)["epochs"] == 2
    for baseline in (False, True):
        with pytest.raises(RunError, match=r"run was trained with --test-fraction 0 \(test_fraction=0 in Python\), "
                                           r"which holds out no test set, so it has no test accuracy: test it on "
                                           r"labelled data of your own, which it did not train on, with --data FILE"):
            ssvae.evaluate(tmp_path / "run", baseline=baseline)


@pytest.mark.parametrize("n_labelled, n_unlabelled", [(300, 100), (20, 200)])
def test_the_share_bound_weighs_a_labelled_row_as_an_unlabelled_one_whichever_are_more(n_labelled, n_unlabelled):
    """--labelled-bound share: v = N_labelled / N_unlabelled. Over an epoch (a pass over the unlabelled rows,
    labelled rows drawn afresh each step) a labelled row's expected weight in the bound, draws x v / labelled
    batch size, is an unlabelled row's, 1 / its batch's size: with more labelled rows than unlabelled too."""
    partition = types.SimpleNamespace(labelled=range(n_labelled), unlabelled=range(n_unlabelled))
    v = training.labelled_bound_weight(partition, "share")
    assert v == pytest.approx(n_labelled / n_unlabelled)
    assert training.labelled_bound_weight(partition, "batch") == 1.0
    assert training.labelled_bound_weight(types.SimpleNamespace(labelled=range(5), unlabelled=range(0)), "share") == 1
    data = types.SimpleNamespace(x_l=torch.zeros(n_labelled, 1), x_u=torch.zeros(n_unlabelled, 1))
    config = types.SimpleNamespace(batch_size=10, labelled_batch_size=7)
    labelled_weight, unlabelled_weight = torch.zeros(n_labelled, dtype=torch.float64), torch.zeros(n_unlabelled,
                                                                                                  dtype=torch.float64)
    generator, epochs = torch.Generator().manual_seed(0), 400
    for _ in range(epochs):
        for rows_l, rows_u in training._batches(data, types.SimpleNamespace(uses_unlabelled=True), config, generator):
            labelled_weight.index_add_(0, rows_l, torch.full((len(rows_l),), v / len(rows_l), dtype=torch.float64))
            unlabelled_weight[rows_u] += 1 / len(rows_u)
    assert unlabelled_weight.mean().item() == pytest.approx(epochs / config.batch_size)
    assert labelled_weight.mean().item() == pytest.approx(unlabelled_weight.mean().item(), rel=1e-9)
    assert (labelled_weight / labelled_weight.mean() - 1).abs().max() < 0.5  # every row its share, as drawn
