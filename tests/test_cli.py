"""Every command once, through click, as a user types it."""

import json

import pytest
import torch
from click.testing import CliRunner

from ssvae.cli import main

TINY_ARGS = ["--epochs", "1", "--hidden", "32", "--latent-dim", "4", "--batch-size", "200", "--quiet"]


@pytest.fixture
def runner():
    return CliRunner()


def test_train_then_evaluate(runner, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(main, ["train", *TINY_ARGS, "--labels", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"saved {out}" in result.output and "labels seen 50" in result.output
    result = runner.invoke(main, ["evaluate", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.strip().splitlines()[-1])
    assert report["n_test"] == 450 and report["labels_seen"] == 50 and 0 <= report["accuracy"] <= 1
    assert set(report) >= {"accuracy", "n_test", "per_class", "confusion", "test_elbo"}
    assert "confusion (rows: true class" in result.output


def test_existing_run_directory_is_kept_without_force(runner, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {out} already exists: choose another --out or pass --force to replace it"
    assert (out / "keep.txt").read_text() == "mine"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out), "--force"]).exit_code == 0
    assert not (out / "keep.txt").exists()


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "missing.npz"], "Error: missing.npz: no such file or folder; check the path given to --data"),
    (["train", "--labels", "5000", "--epochs", "1"], "Error: --labels 5000 asks for more labels than the 1347"),
    (["evaluate", "nowhere"], "Error: nowhere: no such run directory"),
    (["train", "--labels", "many"], "Invalid value for '--labels': 'many' is neither a number of labels nor 'all'"),
    (["train", "--epochs", "0"], "Error: epochs must be at least 1, got 0"),
    pytest.param(["train", "--device", "cuda", "--epochs", "1"], "Error: device cuda was asked for but no CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present: cuda works")),
])
def test_bad_input_is_one_clear_line(runner, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, args)
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output


def test_help_explains_every_command(runner):
    for command in ("train", "evaluate"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Example:" in result.output


def test_force_with_bad_data_keeps_the_finished_run(runner, tmp_path):
    """The old run is removed only once the new data have loaded: bad input never costs finished work."""
    out = tmp_path / "run"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)]).exit_code == 0
    weights = (out / "weights.safetensors").read_bytes()
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out), "--force", "--data", str(tmp_path / "x.npz")])
    assert result.exit_code == 1 and "no such file or folder" in result.output
    assert (out / "weights.safetensors").read_bytes() == weights
