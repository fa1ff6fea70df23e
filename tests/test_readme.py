"""The README's examples, run as written: every ```console block's commands in order in one folder, and the
``ssvae.runtime`` and ``ssvae.inference`` Python blocks. A console block's output must keep its shape: the
same lines with the same words, numbers aside (they move with the CPU, the timing and, here, the epochs).

To stay within seconds, each ``ssvae train`` gets ``--epochs 2`` put first, so that an ``--epochs`` of the
README's own still wins; a terminal's progress bar (a README line with a bar) and the plain per-epoch lines
that stand in for it off a terminal are left out of the comparison, unless the block shows the latter."""

import ast
import functools
import inspect
import os
import re
import shutil
import stat
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_digits

import ssvae
from ssvae.report import evaluation_report
from ssvae.settings import config_for
from tools.make_examples import write_bad_inputs, write_scans

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
EPOCH_LINE = re.compile(r"^(train|m1|m2) epoch \d+/\d+: ")
QUICK_TRAINING = "--epochs 2"


@dataclass(frozen=True)
class Example:
    """A command of a console block and the output the README shows under it."""
    line: int  # the command's line in the README
    command: str
    output: tuple[str, ...]


def blocks(language: str) -> list[tuple[int, list[str]]]:
    """The README's ```language blocks: (the line of their first line, their lines)."""
    found, current, start = [], None, 0
    for number, line in enumerate(README.read_text(encoding="utf-8").splitlines(), start=1):
        if current is None and line.strip() == f"```{language}":
            current, start = [], number + 1
        elif current is not None and line.strip() == "```":
            found.append((start, current))
            current = None
        elif current is not None:
            current.append(line)
    return found


def console_examples() -> list[Example]:
    """Every ``$ command`` of the console blocks, with the lines under it up to the next command."""
    examples = []
    for start, lines in blocks("console"):
        for offset, line in enumerate(lines):
            if line.startswith("$ "):
                examples.append(Example(start + offset, line[2:], ()))
            else:
                last = examples[-1]
                examples[-1] = Example(last.line, last.command, (*last.output, line))
    return examples


def shape(line: str) -> list[str]:
    """A line's words with every number as '#': what must not change between machines and runs. A class that
    a model of two epochs never predicts has a precision of "never predicted" where the README's has a number,
    and a confidence it never reaches an accuracy of "-" (`evaluate`) or "none as confident" (`predict`), which
    tells a share of fewer than 100 test examples as "(3 of 5 right)"."""
    line = line.replace("never predicted", "0").replace("(none as confident)", "(0 %)")
    line = re.sub(r"\(\d+ of \d+ right\)", "(0 %)", line)
    return ["#" if word == "-" else NUMBER.sub("#", word) for word in line.split()]


def mismatch(expected: tuple[str, ...], actual: list[str]) -> str | None:
    """Where ``actual`` output leaves the README's ``expected`` shape (None: it keeps it). A README line "..."
    stands for the rest of the output."""
    shows_epochs = any(EPOCH_LINE.match(line) for line in expected)
    expected = [line for line in expected if "█" not in line]
    actual = [line for line in actual if shows_epochs or not EPOCH_LINE.match(line)]
    for k, line in enumerate(expected):
        if line == "...":
            return None
        if k >= len(actual):
            return f"the output ends before README's {line!r}"
        if shape(line) != shape(actual[k]):
            return f"README shows {line!r}, the command printed {actual[k]!r}"
    if len(actual) > len(expected):
        return f"the command printed more than README shows, from {actual[len(expected)]!r}"
    return None


def quick(command: str) -> str:
    """``command`` with every ``ssvae train`` given few epochs first."""
    return command.replace("ssvae train", f"ssvae train {QUICK_TRAINING}")


def with_the_digits_model(folder: Path) -> Path:
    """``folder`` as a fresh clone has it for the examples: with the shipped digits model."""
    shutil.copytree(ROOT / "models" / "digits-m2", folder / "models" / "digits-m2")
    return folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """The console examples' folder: the shipped digits model, the bad inputs, and an ``ssvae`` command of
    this interpreter first on PATH."""
    folder = with_the_digits_model(tmp_path_factory.mktemp("readme"))
    write_scans(folder)  # what `python -m tools.make_examples .` writes
    write_bad_inputs(folder)
    (folder / "bin").mkdir()
    for name, runs in (("ssvae", "-m ssvae "), ("python", "")):  # as in an activated environment
        command = folder / "bin" / name
        command.write_text(f'#!/bin/sh\nexec "{sys.executable}" {runs}"$@"\n')
        command.chmod(command.stat().st_mode | stat.S_IXUSR)
    return folder


def test_the_readme_shows_examples_of_every_command():
    commands = {example.command.split()[1] for example in console_examples() if example.command.startswith("ssvae ")}
    assert commands == {"train", "evaluate", "export", "info", "predict", "score", "generate"}


def test_every_console_example_prints_what_the_readme_shows(folder):
    env = {**os.environ, "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    failures = []
    for example in console_examples():
        done = subprocess.run(["bash", "-o", "pipefail", "-c", quick(example.command)], cwd=folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
        fails = any(line.startswith("Error: ") for line in example.output)
        if (done.returncode != 0) != fails:
            failures.append(f"README.md:{example.line}: {example.command}: exit status {done.returncode}\n"
                            f"{done.stdout[-2000:]}")
        elif problem := mismatch(example.output, done.stdout.splitlines()):
            failures.append(f"README.md:{example.line}: {example.command}: {problem}")
    assert not failures, "\n".join(failures)


def python_block(starting: str) -> str:
    """The README's Python block whose first line is ``starting``."""
    matches = [lines for _, lines in blocks("python") if lines and lines[0] == starting]
    assert len(matches) == 1, f"README has {len(matches)} Python blocks starting {starting!r}"
    return "\n".join(matches[0])


def test_the_runtime_example_runs_on_the_shipped_model(tmp_path, monkeypatch):
    monkeypatch.chdir(with_the_digits_model(tmp_path))
    images = (load_digits().images[:20] / 16).astype("float32")
    np.save("inputs.npy", images)
    names: dict = {}
    exec(python_block("import numpy as np"), names)
    n = len(images)
    assert names["p"].shape == (n, 10)
    np.testing.assert_allclose(names["p"].sum(axis=1), 1, rtol=1e-5)
    assert (names["p"].argmax(axis=1) == load_digits().target[:n]).mean() > 0.8
    assert [a.shape for a in names["model"].encode(images)] == [(n, 10), (n, 8), (n, 8)]
    assert names["x_mean"].shape == (n, 1, 8, 8) and names["sevens"].shape == (16, 1, 8, 8)
    assert names["scores"].shape == (n,) and np.isfinite(names["scores"]).all()
    np.testing.assert_array_equal(names["int8"].classify(images).argmax(axis=1), names["p"].argmax(axis=1))


def test_the_inference_example_writes_both_tables(tmp_path, monkeypatch):
    monkeypatch.chdir(with_the_digits_model(tmp_path))
    images = (load_digits().images[:7] / 16).astype("float32")
    exec(python_block("from ssvae import runtime"), {"images": images})
    header = "id,predicted,confidence,entropy," + ",".join(f"p_{k}" for k in range(10))
    for table, rows in (("predictions.csv", 450), ("mine.csv", len(images))):
        lines = Path(table).read_text().splitlines()
        assert lines[0] == header and len(lines) == 1 + rows


def test_the_comparison_lets_numbers_move_but_not_words_or_lines():
    shown = ("saved scores.csv: 450 scores in nats, median 23.07, highest 38.05 (id 77)", "18")
    assert mismatch(shown, ["saved scores.csv: 12 scores in nats, median -1.5e-03, highest 7 (id 3)", "0"]) is None
    assert "printed 'saved scores.csv: 450 scores, median" in mismatch(shown, [
        "saved scores.csv: 450 scores, median 23.07, highest 38.05 (id 77)", "18"])
    assert "ends before" in mismatch(shown, shown[:1])
    assert "more than" in mismatch(shown, [*shown, "19"])
    bar = "train: 100%|█████| 400/400"
    assert mismatch((bar, "a 1", "..."), ["train epoch 1/2: loss 3", "a 2", "b"]) is None
    assert mismatch(("train epoch 1/3: loss 3.5",), ["train epoch 1/3: loss 2"]) is None
    confident = "9 at least 0.99 ({}), 3 at least 0.9 (97.69 %)"  # a short training: no test example so confident
    assert mismatch((confident.format("98.74 %"),), [confident.format("none as confident")]) is None
    assert mismatch((confident.format("98.74 %"),), [confident.format("3 of 5 right")]) is None
    assert mismatch((confident.format("98.74 %"),), [confident.format("none right")]) is not None


def api_calls(source: str) -> list[tuple[str, ast.Call]]:
    """The calls ``ssvae.NAME(...)`` (or ``ssvae.MODULE.NAME(...)``) in ``source``: the dotted name, the call."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and (name := ast.unparse(node.func)).startswith("ssvae."):
            calls.append((name, node))
    return calls


def test_the_python_api_example_calls_the_api_as_it_is():
    """The block trains on Fashion-MNIST, too long for a test: its calls are checked against the functions'
    signatures instead, and ``ssvae.train``'s settings against the Config they build."""
    calls = api_calls(python_block("import ssvae"))
    assert {name for name, _ in calls} >= {"ssvae.train", "ssvae.resume", "ssvae.load", "ssvae.evaluate",
                                           "ssvae.baseline", "ssvae.export"}
    for name, call in calls:
        function = functools.reduce(getattr, name.split(".")[1:], ssvae)
        keywords = {keyword.arg: ast.literal_eval(keyword.value) if isinstance(keyword.value, ast.Constant)
                    else None for keyword in call.keywords}
        inspect.signature(function).bind(*call.args, **keywords)  # a renamed or missing parameter: TypeError
        if function is ssvae.train:
            own = inspect.signature(ssvae.train).parameters
            config_for(**{key: value for key, value in keywords.items() if key not in own})


def python_api_section() -> list[str]:
    """The lines of the README's "Python API" section, up to the next section."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index("## Python API")
    return lines[start:next(i for i in range(start + 1, len(lines)) if lines[i].startswith("## "))]


def test_the_python_api_section_wraps_within_120_columns():
    """Its paragraph on ssvae.inference broke mid-sentence ("`generate(model, "s.csv",` / `analogies=inputs)`
    or `dataset=NAME`: a PNG grid or CSV" / "rows by the name of the file) and") and ran to 186 columns."""
    assert [line for line in python_api_section() if len(line) > 120] == []


def test_the_python_api_example_names_every_key_of_a_runs_report():
    """The keys listed beside ssvae.evaluate(run) left out by_confidence."""
    code = "\n".join(python_api_section())
    listed = re.search(r"# dict: (.*?) \(with val_labels\)", re.sub(r"\n +# ", " ", code)).group(1)
    report = evaluation_report("m2", np.array([0, 1]), np.eye(2), ["a", "b"], None, 2)
    assert sorted(listed.split(", ")) == sorted(report)
