"""A machine set up to apply models alone (README, "Without torch"): numpy, onnxruntime, click, tqdm, Pillow and
filelock, but no torch, torchvision, onnx, onnxscript, safetensors or scikit-learn. Each command runs in a
process where importing any of those fails, and must write what it writes with them all, byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_digits

from ssvae.cli import OPTIONAL_PACKAGES, main

ROOT = Path(__file__).resolve().parents[1]
MODEL = str(ROOT / "models" / "digits-m2")

# the start of a process without those packages: any import of them (or of a module of theirs) fails
WITHOUT = f"""
import importlib.abc, sys
class Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in {sorted(OPTIONAL_PACKAGES)!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
sys.meta_path.insert(0, Missing())
"""


def without_torch(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    """``ssvae ARGS`` run in ``tmp_path`` where those packages cannot be imported."""
    script = WITHOUT + "from ssvae.__main__ import main\nsys.argv = ['ssvae', *sys.argv[1:]]\nmain()\n"
    return subprocess.run([sys.executable, "-c", script, *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})


@pytest.fixture
def digits_files(tmp_path: Path) -> Path:
    """The first 60 digits as an .npz of inputs and labels, scaled as the model reads them."""
    digits = load_digits()
    np.savez(tmp_path / "digits.npz", x=(digits.images[:60, None] / 16).astype(np.float32), y=digits.target[:60])
    return tmp_path


@pytest.mark.parametrize("args, written", [
    (["predict", MODEL, "--data", "digits.npz", "--out", "out.csv"], "out.csv"),
    (["score", MODEL, "--data", "digits.npz", "--out", "out.csv"], "out.csv"),
    (["generate", MODEL, "--out", "out.png"], "out.png"),
    (["generate", MODEL, "--analogies", "digits.npz", "--rows", "3", "--out", "out.csv"], "out.csv"),
    (["evaluate", MODEL, "--data", "digits.npz", "--json"], None),
    (["info", MODEL], None),
])
def test_applying_a_model_needs_no_torch(digits_files, monkeypatch, args, written):
    """The same output and file as in this process, which has torch, where none of them can be imported."""
    done = without_torch(digits_files, *args)
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    if written:
        without = (digits_files / written).read_bytes()
        (digits_files / written).unlink()
    monkeypatch.chdir(digits_files)
    expected = CliRunner().invoke(main, args)
    assert expected.exit_code == 0, expected.output
    assert done.stdout == expected.output
    if written:
        assert without == (digits_files / written).read_bytes()


@pytest.mark.parametrize("args, package", [
    (["train", "--epochs", "1"], "torch"),
    (["evaluate", MODEL], "scikit-learn"),  # its default test set, the built-in digits
])
def test_what_needs_a_missing_package_names_it_in_one_line(tmp_path, args, package):
    """Training (and the digits, which come with scikit-learn) say what to install, without a traceback, and
    write nothing."""
    done = without_torch(tmp_path, *args)
    remedy = ("install ssvae with its dependencies, as the README's set-up does (pip install -c constraints.txt -e . "
              "in its source folder); predict, score, generate, and info and evaluate of an exported model run "
              "without them"
              if package == "torch" else
              "pip install scikit-learn (the built-in digits are scikit-learn's)")
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", f"Error: ssvae {args[0]} needs {package}, which is not installed here: {remedy}\n")
    assert list(tmp_path.iterdir()) == []


def test_the_python_api_evaluates_a_model_without_torch(digits_files):
    """`ssvae.evaluate` of a model folder, in Python, imports none of them either: it runs where they are
    blocked, and where they are installed, it leaves torch unimported (blocked, torch could never be)."""
    script = (f"import sys, ssvae\nreport = ssvae.evaluate({MODEL!r}, data='digits.npz')\n"
              "print(report['accuracy'], 'torch' in sys.modules)\n")
    import ssvae

    expected = f"{ssvae.evaluate(MODEL, data=digits_files / 'digits.npz')['accuracy']} False\n"
    for blocker in (WITHOUT, ""):
        done = subprocess.run([sys.executable, "-c", blocker + script], cwd=digits_files, capture_output=True,
                              text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 0 and done.stdout == expected, done.stderr


def test_the_readme_installs_every_dependency_but_those_at_their_floors():
    """README's "Without torch" and tools/torch_free.sh install pyproject's dependencies less the ones a model
    goes without, at pyproject's floors: an environment set up so is one the tests above stand for."""
    import re
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    optional = {"torch", "torchvision", "onnx", "onnxscript", "safetensors", "scikit-learn"}
    assert set(OPTIONAL_PACKAGES.values()) == optional
    expected = sorted(d for d in declared if re.split("[<>=]", d)[0] not in optional)
    readme = (ROOT / "README.md").read_text().split("### Without torch", 1)[1].split("### ", 1)[0]
    for text in (readme, (ROOT / "tools" / "torch_free.sh").read_text()):
        line = next(line for line in text.splitlines() if "'numpy>=" in line)  # the one that installs them
        assert sorted(re.findall(r"'([a-z-]+>=[0-9.]+)'", line)) == expected, line
