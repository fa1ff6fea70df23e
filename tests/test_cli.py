"""Every command once, through click, as a user types it."""

import contextlib
import importlib
import io
import json
import math
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file

import ssvae
from ssvae import api, evaluation, inference, runtime
from ssvae.cli import Terminated, main
from ssvae.data.sources import load_for_testing
from ssvae.errors import DataError, RunError
from ssvae import files
from ssvae.files import check_output
from ssvae.report_text import columns, evaluation_text, gain_text, plain
from ssvae.run import METRIC_COLUMNS, read_metrics

ROOT = Path(__file__).resolve().parents[1]

TINY_ARGS = ["--epochs", "1", "--hidden", "32", "--latent-dim", "4", "--batch-size", "200", "--quiet"]


@pytest.fixture
def runner():
    return CliRunner()


def runner_with_stderr_apart() -> CliRunner:
    """A CliRunner whose result's stdout holds stdout alone (before click 8.2 it mixed stderr in by default)."""
    return CliRunner(mix_stderr=False) if click_major_minor() < (8, 2) else CliRunner()


def test_train_then_evaluate(runner, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(main, ["train", *TINY_ARGS, "--labels", "50", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"saved {out}" in result.output and "labels seen 50" in result.output
    result = runner.invoke(main, ["evaluate", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the JSON alone, for jq or a script
    assert report["n_test"] == 450 and report["labels_seen"] == 50 and 0 <= report["accuracy"] <= 1
    assert set(report) >= {"accuracy", "n_test", "per_class", "confusion", "test_elbo"}
    table = runner.invoke(main, ["evaluate", str(out)]).stdout
    assert "confusion (rows: true class" in table and f"test accuracy  {report['accuracy']:.4f}" in table


def test_threads_take_auto_as_help_shows_its_default():
    """--help shows "[default: auto]", which the option refused as no integer."""
    from ssvae.cli import THREADS

    assert [THREADS.convert(text, None, None) for text in ("auto", "1", "16")] == [None, 1, 16]
    assert "--threads auto|N" in CliRunner().invoke(main, ["train", "--help"]).output


def test_an_epoch_line_keeps_four_figures_of_the_loss_whatever_its_size():
    from ssvae.training import epoch_line

    record = {"stage": "train", "epoch": 3, "train_accuracy": 1.0, "seconds": 0.04}
    assert [epoch_line({**record, "loss": loss}, 400) for loss in (45.0, 77.364, 1.32e-05, 1491.2)] == [
        f"train epoch 3/400: loss {shown}, train accuracy 1.0000 (0.0 s)"
        for shown in ("45.00", "77.36", "1.320e-05", "1491")]  # not "1491.", as Fashion-MNIST's log showed


def test_train_logs_a_plain_line_an_epoch_where_stderr_is_not_a_terminal(tmp_path):
    out = tmp_path / "run"
    args = [arg for arg in TINY_ARGS if arg != "--quiet"]
    result = runner_with_stderr_apart().invoke(main, ["train", *args, "--model", "m1+m2", "--m1-epochs", "2",
                                                      "--epochs", "1", "--val-labels", "20", "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = read_metrics(out)
    assert [row["stage"] for row in rows] == ["m1", "m1", "m2"]
    assert result.stderr == "".join(
        f"{row['stage']} epoch {row['epoch']}/{2 if row['stage'] == 'm1' else 1}: loss "
        f"{format(row['loss'], '#.4g').rstrip('.')}, train accuracy {row['train_accuracy']:.4f}, validation accuracy "
        f"{row['val_accuracy']:.4f} ({row['seconds']:.1f} s)\n"
        for row in rows)  # CliRunner's stderr is no terminal: no bar, no carriage return
    assert result.stdout.startswith(f"saved {out}  |") and result.stdout.count("\n") == 1


def _stderr_on_a_terminal(*args: str) -> bytes:
    """What ``ssvae ARGS`` shows on its stderr where that is a terminal (a pseudo-terminal of 100 columns), once
    it has ended well."""
    import fcntl
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    process = subprocess.run([sys.executable, "-m", "ssvae", *args], stdout=subprocess.PIPE, stderr=follower,
                             timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    os.close(follower)
    shown = b""
    with contextlib.suppress(OSError):  # Linux ends a pseudo-terminal's output with EIO
        while chunk := os.read(leader, 65536):
            shown += chunk
    os.close(leader)
    assert process.returncode == 0, shown
    return shown


def test_train_draws_a_bar_and_no_lines_on_a_terminal(tmp_path):
    """Under a terminal the epochs show as one redrawn bar."""
    args = [arg for arg in TINY_ARGS if arg != "--quiet"]
    shown = _stderr_on_a_terminal("train", *args, "--epochs", "2", "--out", str(tmp_path / "run"))
    assert b"\rtrain: 100%" in shown and b"2/2 [" in shown and b"train epoch 1/2:" not in shown


def test_generate_draws_a_bar_while_it_writes_rows_on_a_terminal_unless_quiet(tmp_path):
    """A million rows took a minute to write, with nothing shown; a picture is drawn at once, with no bar."""
    command = ["generate", str(ROOT / "models/digits-m2"), "--per-class", "30"]
    shown = _stderr_on_a_terminal(*command, "--out", str(tmp_path / "g.csv"))
    assert b"\rgenerate:" in shown and b"/300 [" in shown and shown.endswith(b"\r")  # left no bar behind
    assert b"generate:" not in _stderr_on_a_terminal(*command, "--out", str(tmp_path / "q.csv"), "--quiet")
    assert (tmp_path / "q.csv").read_bytes() == (tmp_path / "g.csv").read_bytes()
    assert b"generate:" not in _stderr_on_a_terminal(*command, "--out", str(tmp_path / "g.png"))


@pytest.mark.parametrize("checkpoints_before, message", [
    (1, "Interrupted: continue from the last checkpoint with 'ssvae train --resume {out}'"),
    (0, "Interrupted before the first checkpoint: nothing of the run was kept in {out}"),  # the folder it made, gone
])
def test_ctrl_c_while_training_says_how_to_resume(runner, tmp_path, monkeypatch, checkpoints_before, message):
    from ssvae import api

    saved, save_checkpoint = [], api.save_checkpoint

    def interrupted(path, state):
        if len(saved) == checkpoints_before:
            raise KeyboardInterrupt
        save_checkpoint(path, state)
        saved.append(path)

    monkeypatch.setattr(api, "save_checkpoint", interrupted)
    out = tmp_path / "runs" / "new" / "run"  # neither runs nor new was there: a run stopped first leaves neither
    result = runner.invoke(main, ["train", *TINY_ARGS, "--epochs", "3", "--out", str(out)])  # the last --epochs
    assert result.exit_code == 130
    assert result.output.strip() == message.format(out=out)
    assert out.exists() == (tmp_path / "runs").exists() == (checkpoints_before > 0)


def test_ctrl_c_while_the_data_load_says_nothing_was_kept(runner, tmp_path, monkeypatch):
    from ssvae import run_data

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_data, "load_source", interrupted)
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(tmp_path / "run")])
    assert result.exit_code == 130 and not (tmp_path / "run").exists()
    assert result.output.strip() == f"Interrupted before the first checkpoint: nothing of the run was kept in " \
                                    f"{tmp_path / 'run'}"


def test_a_closed_stderr_leaves_the_commands_working_and_their_results_alone(tmp_path):
    """With stderr closed (2>&-) predict and training ended with status 1 and no word, where tqdm asked the
    missing stream whether it was a terminal; and an epoch's line would have gone to stdout."""
    model = ROOT / "models" / "digits-m2"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    for command, out in ((f"predict {model} --dataset digits --out p.csv", "saved p.csv: 450 predictions"),
                         ("train --epochs 2 --hidden 16 --latent-dim 2 --out run", "saved run  |  test accuracy")):
        done = subprocess.run(f"{shlex.quote(sys.executable)} -m ssvae {command} 2>&-", shell=True, cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0 and done.stdout.startswith(out) and len(done.stdout.splitlines()) == 1, done
    script = ("import os, sys, tempfile; from ssvae.__main__ import _hold_closed_descriptors\n"
              "_hold_closed_descriptors()\n"
              "fd, name = tempfile.mkstemp()\n"  # an output being written: it must not be number 2
              "print(sys.stderr is None, fd != 2, os.path.realpath('/proc/self/fd/2'))\n")
    done = subprocess.run(f"{shlex.quote(sys.executable)} -c {shlex.quote(script)} 2>&-", shell=True, cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.stdout == "True True /dev/null\n", done


@pytest.mark.parametrize("signum", files.ENDING_SIGNALS)
def test_sigterm_or_sighup_while_training_is_taken_as_ctrl_c(tmp_path, signum):
    """docker stop, SLURM and systemd send SIGTERM, a closed terminal or ssh session SIGHUP: the run says how to
    resume, with the shell's status (143, 129). SIGHUP ended the process on the spot, leaving its .tmp files."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "ssvae", "train", *TINY_ARGS, "--epochs", "100000", "--out",
                                str(out)], stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"},
                               preexec_fn=lambda: signal.signal(signum, signal.SIG_DFL))  # pytest may run under nohup
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 128 + signum, stderr
    assert stderr.endswith(f"Interrupted: continue from the last checkpoint with 'ssvae train --resume {out}'\n")
    assert not stderr.startswith("\n") and "\n\n" not in stderr  # no bar to end in a log: no blank line
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]


def test_ctrl_c_in_the_summary_of_a_finished_run_says_it_is_finished(runner, tmp_path, monkeypatch, interrupted_run):
    """Ctrl-C once the weights were written, in the closing evaluation, said "outputs not finished were
    discarded" of a whole run; and one while the process exited printed a traceback after that line."""
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(evaluation, "evaluate", interrupted)
    run = tmp_path / "run"
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(run)])
    assert (result.exit_code, result.output) == (130, f"Interrupted after training: {run} is finished; 'ssvae "
                                                      f"evaluate {run}' shows its summary\n")
    assert (run / "weights.safetensors").is_file() and not (run / "checkpoint.safetensors").exists()
    resumed = tmp_path / "resumed"
    interrupted_run(resumed, 2, epochs=3, hidden=(16,), latent_dim=2, progress=False)
    result = runner.invoke(main, ["train", "--resume", str(resumed), "--quiet"])  # the same after a resume
    assert (result.exit_code, result.output) == (130, f"Interrupted after training: {resumed} is finished; 'ssvae "
                                                      f"evaluate {resumed}' shows its summary\n")
    script = ("import signal, sys\n"
              "sys.argv = ['ssvae', '--version']\n"
              "from ssvae.__main__ import main\n"
              "try:\n"
              "    main()\n"
              "except SystemExit:\n"
              "    sys.stdout.flush()\n"
              "    try:\n"
              "        signal.raise_signal(signal.SIGTERM)\n"
              "    except BaseException:\n"  # an exception would run Python's exit, which may hang: not one
              "        print('caught')\n"
              "    print('not ended')\n")
    ended = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (ended.returncode, ended.stderr) == (143, ""), ended  # after the command: ended at once, no traceback
    assert "not ended" not in ended.stdout and "caught" not in ended.stdout


@pytest.mark.parametrize("signal_error, status", [
    (KeyboardInterrupt, 130), *((Terminated(signum), 128 + signum) for signum in files.ENDING_SIGNALS)])
def test_an_interrupted_command_says_so_and_writes_no_half_file(runner, tmp_path, monkeypatch, signal_error, status):
    from ssvae import inference

    def interrupted(model, x):
        raise signal_error

    monkeypatch.setattr(inference.ExportedModel, "classify", interrupted)
    out = tmp_path / "predictions.csv"
    model = ROOT / "models" / "digits-m2"
    result = runner.invoke(main, ["predict", str(model), "--dataset", "digits", "--out", str(out), "--quiet"])
    assert result.exit_code == status
    assert result.output.strip() == "Interrupted: outputs not finished were discarded"
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_while_rows_go_to_standard_output_says_those_rows_are_there(monkeypatch):
    """predict --out - writes a batch at a time: rows stand in the file a shell's > names by the time Ctrl-C
    comes, which the line said were discarded."""
    from ssvae import inference

    batches = []

    def interrupted_at_the_third(model, x):
        batches.append(len(x))
        if len(batches) == 3:
            raise KeyboardInterrupt
        return real(model, x)

    real = inference.ExportedModel.classify
    monkeypatch.setattr(inference.ExportedModel, "classify", interrupted_at_the_third)
    model = ROOT / "models" / "digits-m2"
    result = runner_with_stderr_apart().invoke(main, ["predict", str(model), "--dataset", "digits", "--out", "-",
                                                      "--batch-size", "100", "--quiet"])
    assert result.exit_code == 130
    assert result.stderr.strip() == "Interrupted: standard output holds the rows written before it, not the rest"
    rows = result.stdout.splitlines()
    assert len(rows) == 1 + 200 and rows[0].startswith("id,predicted") and all(row.count(",") == 13 for row in rows)


@pytest.mark.filterwarnings("ignore:.*x holds whole numbers from 0 to 240:UserWarning")  # the data meant, as said
@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
@pytest.mark.filterwarnings("ignore:--test-data .* fewer than 5 a class:UserWarning")  # tiny test data, as meant
def test_a_model_of_real_values_takes_uint8_inputs_and_image_files_as_the_numbers_they_are(runner, tmp_path):
    """Float images 0..240 train as the numbers they are: a PNG's 240 must mean 240.0 to their model, not
    240 / 255 (every scan was labelled one class, 12 % right), in its test data (--test-data) too. Images in
    [0, 1] keep 255; a run from before `pixel_inputs` was recorded keeps 255 throughout, its test data too;
    a config taken from another run gets the value of its own data."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images[:300] * 15).astype(np.float32)  # whole numbers 0..240: exact as uint8 too
    np.savez(tmp_path / "f.npz", x=x, y=np.where(np.arange(300) < 100, digits.target[:300], -1))
    for k in range(30):
        (tmp_path / "scans" / str(digits.target[k])).mkdir(parents=True, exist_ok=True)
        Image.fromarray(x[k].astype(np.uint8)).save(tmp_path / "scans" / str(digits.target[k]) / f"{k}.png")
    assert runner.invoke(main, ["train", "--data", str(tmp_path / "f.npz"), "--labels", "all", "--epochs", "2",
                                "--test-data", str(tmp_path / "scans"), "--out", str(tmp_path / "run"),
                                "--quiet"]).exit_code == 0
    assert json.loads((tmp_path / "run" / "config.json").read_text())["pixel_inputs"] is False
    assert runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0
    model = runtime.load(tmp_path / "model")
    assert model.uint8_divisor == 1 and model.input_range is None
    np.testing.assert_array_equal(model.classify(x[:30].astype(np.uint8)), model.classify(x[:30]))
    run = ssvae.load(tmp_path / "run")
    np.testing.assert_array_equal(run.classify(x[:30].astype(np.uint8)), run.classify(x[:30]))
    expected = float((model.classify(x[:30]).argmax(1) == digits.target[:30]).mean())
    for command in (["--data", str(tmp_path / "scans")], []):  # its test data are the scans
        for target in (tmp_path / "model", tmp_path / "run") if command else (tmp_path / "run",):
            report = runner.invoke(main, ["evaluate", str(target), *command, "--json"]).stdout
            assert json.loads(report.splitlines()[-1])["accuracy"] == pytest.approx(expected, abs=1e-6)
    old = json.loads((tmp_path / "run" / "config.json").read_text())
    del old["pixel_inputs"]
    (tmp_path / "run" / "config.json").write_text(json.dumps(old))
    before = ssvae.load(tmp_path / "run")
    divided = float((before.classify(x[:30] / 255).argmax(1) == digits.target[:30]).mean())
    assert ssvae.evaluate(before)["accuracy"] == ssvae.evaluate(before, data=tmp_path / "scans")["accuracy"] == divided
    uint8 = tmp_path / "u.npz"
    np.savez(uint8, x=x.astype(np.uint8), y=np.where(np.arange(300) < 100, digits.target[:300], -1))
    again = ssvae.train(run.config.replace(data=str(uint8), test_data=None), progress=False, epochs=1)
    assert again.config.pixel_inputs is True and again.config.uint8_divisor == 255
    assert ssvae.Config(data="a.npz", pixel_inputs=True).uint8_divisor == 255
    assert ssvae.Config(data="a.csv").uint8_divisor == ssvae.Config(data="a.npz", pixel_inputs=False).uint8_divisor == 1
    assert ssvae.Config(data="a.npz").uint8_divisor == 255  # a run from before pixel_inputs was recorded


@pytest.mark.parametrize("args", [["predict", "--dataset", "digits"], ["score", "--data", "images"],
                                  ["generate", "--analogies", "digits"], ["generate", "--analogies", "images"]])
def test_an_output_that_exists_is_refused_before_the_inputs_are_read(runner, tmp_path, monkeypatch, args):
    """Reading may be a download or a large folder: a taken --out is said at once."""
    from ssvae import inference

    monkeypatch.setattr(inference, "read_inputs", lambda *a, **k: pytest.fail("the inputs were read first"))
    monkeypatch.chdir(tmp_path)
    Path("images").mkdir()  # there, but not read: only a path that is missing is said before --out
    out = Path("taken.png" if args[0] == "generate" else "taken.csv")
    out.write_text("mine")
    model = ROOT / "models" / "digits-m2"
    result = runner.invoke(main, [args[0], str(model), *args[1:], "--out", str(out)])
    assert result.exit_code == 1 and result.output.startswith(f"Error: {out} already exists: choose another --out")
    assert out.read_text() == "mine"


def test_existing_run_directory_is_kept_without_force(runner, tmp_path):
    out = tmp_path / "run"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)]).exit_code == 0
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)])
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {out} already exists: choose another --out or pass --force to replace it "
                                     "(in Python: another out, or replace=True)")
    result = runner.invoke(main, ["train", *TINY_ARGS, "--data", str(tmp_path / "nowhere.npz"), "--out", str(out)])
    assert f"Error: {out} already exists" in result.output  # said before the data are read, not after
    (out / "keep.txt").write_text("mine")
    for force, kept in (([], "and --force (replace=True) would keep it"),  # theirs: --force would not help
                        (["--force"], "so --force (replace=True) leaves it alone")):
        result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out), *force])
        assert result.exit_code == 1 and result.output.strip() == (
            f"Error: {out} holds what ssvae does not write in a run folder (keep.txt), {kept}: move those out or "
            f"choose another --out")
        assert (out / "keep.txt").read_text() == "mine"
    (out / "keep.txt").unlink()
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out), "--force"]).exit_code == 0


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "missing.npz"], "Error: missing.npz: no such file or folder; check the path given to --data"),
    (["train", "--labels", "5000", "--epochs", "1"], "Error: --labels 5000 (labels=5000 in Python) asks for more "
     "labels than the 1347"),
    (["evaluate", "nowhere"], "Error: nowhere: no such run or model folder; give the --out folder of 'ssvae train' "
                              "or of 'ssvae export'"),
    (["evaluate", "nowhere", "--precision", "int8"], "Error: nowhere: no such run or model folder"),  # not "a run"
    (["evaluate", "nowhere", "--dataset", "digits"], "Error: nowhere: no such run or model folder"),
    (["train", "--labels", "many"], "Invalid value for '--labels': 'many' is neither a number of labels nor 'all'"),
    (["train", "--hidden", "500,a"],
     "Invalid value for '--hidden': '500,a' is not a comma-separated list of layer sizes, e.g. 500 or 600,600"),
    (["train", "--epochs", "0"], "Invalid value for '--epochs': epochs must be at least 1, got 0"),
    (["train", "--image-size", "28,28,3"], "Invalid value for '--image-size': '28,28,3' is neither a size N (N x N "
     "pixels) nor a width and height, e.g. 32,24"),
    (["train", "--image-size", "32x0"],
     "Invalid value for '--image-size': image_size must all be at least 1, got 32,0"),
    (["train", "--image-size", "28"], "Error: --image-size (image_size= in Python) reads a folder of images, and "
     "digits is not one: leave it out"),
    (["train", "--image-size", "513,512"], "Invalid value for '--image-size': image_size 513,512 is 262,656 pixels an "
     "image, more than 512x512: the encoder and decoder are fully connected to every pixel; photos train at 32 to "
     "96 pixels a side"),
    (["train", "--seed", "-1"], "Invalid value for '--seed': seed must lie in 0..4294967295, got -1"),
    (["train", "--alpha", "nan"], "Invalid value for '--alpha': alpha must be a finite number, got nan"),
    (["train", "--label-column", "id"], "Invalid value for '--label-column': label_column must name columns of the "
     "CSV, got 'id', whose column names the rows and is never an input"),
    (["train", "--ignore-columns", "a,,b"], "Invalid value for '--ignore-columns': ignore_columns must name columns "
     "of the CSV, got an empty name"),
    (["train", "--label-column", "kind", "--ignore-columns", "name,kind"], "Invalid value for '--ignore-columns': "
     "ignore_columns names 'kind', the label column: leave it out of ignore_columns"),
    (["train", "--label-column", "kind", "--ignore-columns", "kind", "--ignore-columns", "name"], "Invalid value for "
     "'--ignore-columns': ignore_columns names 'kind', the label column"),  # the first given counts, not the last
    (["train", "--lr", "-1"], "Invalid value for '--lr': lr must be positive, got -1.0"),
    (["train", "--classifier-channels", "8,0"],
     "Invalid value for '--classifier-channels': classifier_channels must all be at least 1, got 8,0"),
    (["train", "--consistency", "1"], "Error: consistency trains on shifted views of images: add --augment shift "
     "(augment='shift' in Python) or shift-flip, or set --consistency 0 (consistency=0 in Python)"),
    # the preset's --augment none with it: no one option is at fault
    (["predict", "models/digits-m2", "--dataset", "digits", "--batch-size", "0"],
     "Invalid value for '--batch-size': 0 is not in the range x>=1"),
    (["predict", "--debug", "models/digits-m2"], "No such option '--debug': --debug goes before the command, as in "
     "'ssvae --debug predict ...'"),  # where the README puts it; after the command it was refused with no word
    (["generate", "models/digits-m2", "--per-class", "-1"], "Invalid value for '--per-class': -1 is not in the range"),
    (["generate", "nowhere", "--rows", "3"], "--rows (rows= in Python) does nothing without --analogies (analogies= "
     "or dataset= in Python): --rows and --data-dir choose its inputs, --per-class, --seed, --temperature and "
     "--noise the samples drawn without it; leave it out"),  # a usage error, said before the model is looked for
    (["generate", "models/digits-m2", "--analogies", "digits", "--temperature", "0.5"],
     "--temperature (temperature= in Python) does nothing with --analogies ("),
    (["generate", "models/digits-m2", "--temperature", "0"], "Invalid value for '--temperature': 0.0 is not in the "
     "range x>0"),
    (["generate", "models/digits-m2", "--analogies", "digits", "--per-class", "3", "--seed", "0"],
     "--per-class (per_class= in Python) and --seed (seed= in Python) do nothing with --analogies ("),
    (["export", "models/digits-m2", "--opset", "17"], "Invalid value for '--opset': 17 is not in the range x>=18"),
    (["train", "--threads", "0"], "Invalid value for '--threads': '0' is neither 'auto' nor a number of threads from 1 up"),
    (["export", "run", "--out", "-"],
     "Invalid value for '--out': - (standard output) cannot take a folder: give the folder's name"),
    (["predict", "m", "--out", "results/"], "Invalid value for '--out': results/ ends in '/', as a folder's name "
     "does: give a file's name, e.g. results/predictions.csv"),  # was written as a file named results
    (["generate", "m", "--out", "grids/"], "Invalid value for '--out': grids/ ends in '/', as a folder's name does: "
     "give a file's name ("),
    (["export", "run", "--out", ""], "Invalid value for '--out': an empty path: give the name of a file or folder"),
    (["predict", "models/digits-m2", "--data", ""], "Invalid value for '--data': an empty path: give the name of"),
    (["train", "--resume", "run", "--labels", "30"], "--resume continues a run with its own settings: give no other "
     "options than --epochs (leave out --labels)"),
    (["train", "--resume", "run", "--recipe", "accurate"], "--resume continues a run with its own settings"),
    (["train", "--resume", "run", "--device", "cpu", "--seed", "1"], "--resume continues a run with its own "
     "settings: give no other options than --epochs (leave out --device, --seed); --device may change: edit device in "
     "run/config.json"),
    (["predict", "m", "--out"], "Option '--out' requires an argument"),  # its command's --help, not ssvae's
    (["train", "--resume", "run", "--dataset", "mnist", "--force"],
     "--resume continues a run with its own settings: give no other options than --epochs (leave out --dataset, "
     "--force)"),
    (["train", "--data", "mine.csv", "--dataset", "mnist"], "Invalid value for '--data': data (--data) names your "
     "own data, and dataset (--dataset) is for a built-in data set: give one or the other"),  # mnist was dropped
    (["train", "--data", "mine.csv", "--dataset", "digits", "--data-dir", "d"], "data (--data) names your own data, "
     "and dataset (--dataset) and data_dir (--data-dir) are for a built-in data set"),
    (["train", "--recipe", "accurate"],
     "Error: recipe accurate was measured on --dataset fashion-mnist, not on digits: leave --recipe out"),
    (["train", "--recipe", "fastest"], "Invalid value for '--recipe': 'fastest' is not 'accurate'"),
    (["trian", "--labels", "10"], "No such command 'trian'"),
    (["--bogus", "train"], "--bogus"),
    (["train", "--device", "cuda", "--epochs", "1"], "Error: device cuda was asked for but no CUDA GPU"),
    (["train", "--device", "cuda:1", "--epochs", "1"], "Error: device cuda:1 was asked for but no CUDA GPU"),
    (["train", "--device", "gpu"], "Invalid value for '--device': device 'gpu' is not one of auto, cpu, cuda, cuda:N"),
    # a path given without its option: which option takes it
    (["train", "mine.csv"], "Got unexpected extra argument (mine.csv): give the data with --data FILE_OR_FOLDER"),
    (["evaluate", "runs/r", "mine.csv"], "extra argument (mine.csv): give labelled test data with --data"),
    (["export", "runs/r", "models/m"], "extra argument (models/m): name the model folder with --out MODEL_DIR"),
    (["predict", "models/m", "in.npz"], "extra argument (in.npz): give the inputs with --data FILE_OR_FOLDER"),
    (["score", "models/m", "in.npz"], "extra argument (in.npz): give the inputs with --data FILE_OR_FOLDER"),
    (["generate", "models/m", "in.npz", "g.png"], "Got unexpected extra arguments (in.npz g.png): give inputs to draw "
                                                 "with --analogies, the file to write with --out"),
    (["info", "models/m", "x"], "Got unexpected extra argument (x) (see"),
    (["train", "--hidden", "256", "512"], "Got unexpected extra argument (512) (see"),  # a value, not a path
])
def test_bad_input_is_one_clear_line(runner, tmp_path, monkeypatch, args, message):
    """Input that cannot be used exits with 1, a mistyped option or value with 2 (click's usage errors,
    which it printed as four lines with the usage); either way one line that says what to do. The --device
    cuda cases are those of a machine without a CUDA GPU, which a GPU machine's torch is made to say it is."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    result = runner.invoke(main, args, prog_name="ssvae")
    usage = not message.startswith("Error: ")  # the cases above give click's usage errors without the prefix
    assert result.exit_code == (2 if usage else 1)
    assert [line for line in result.output.splitlines() if line.strip()] == [result.output.strip()]
    assert message in result.output and result.output.startswith("Error: ")
    if usage:
        command = args[0] if args[0] in main.commands else None  # else a mistyped command or top-level option
        assert result.output.strip().endswith(f" (see '{' '.join(['ssvae', *([command] if command else [])])} --help')")


def test_files_a_shell_pattern_gave_are_told_to_be_given_as_their_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("new").mkdir()
    for name in ("a.png", "b.png", "c.png"):
        Path("new", name).write_bytes(b"")
    result = runner.invoke(main, ["predict", "models/m", "--data", "new/a.png", "new/b.png", "new/c.png"],
                           prog_name="ssvae")
    assert result.exit_code == 2 and result.output == (
        "Error: Got unexpected extra arguments (new/b.png new/c.png): give the inputs with --data FILE_OR_FOLDER (a "
        "shell pattern such as new/*.png gives each file apart: give their folder, new) (see 'ssvae predict --help')\n")
    Path("a.csv").write_text("x\n1\n")
    Path("b.csv").write_text("x\n1\n")
    for args in (["--data", "new/a.png", "new/b.png", "other.png"], ["new/a.png"], ["--data", "a.csv", "b.csv"]):
        result = runner.invoke(main, ["predict", "models/m", *args])  # not images of one folder, given to --data
        assert result.exit_code == 2 and "FILE_OR_FOLDER (see" in result.output, result.output


def test_a_graph_file_given_for_its_model_folder_names_the_folder(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("models/fl").mkdir(parents=True)
    Path("models/fl/classifier.onnx").write_bytes(b"")
    result = runner.invoke(main, ["predict", "models/fl/classifier.onnx", "--dataset", "digits"])
    assert result.exit_code == 2 and "Invalid value for 'MODEL_DIR': models/fl/classifier.onnx is a file: give the " \
                                      "folder that holds it (models/fl)" in result.output
    result = runner.invoke(main, ["train", "--out", "models/fl/classifier.onnx"])  # a folder to write: not its parent
    assert result.exit_code == 2 and "'--out': models/fl/classifier.onnx is a file: give a new folder's name" in \
        result.output
    Path("t.csv").write_text("a,label\n1,0\n")  # the data given where the model goes: its folder is no model
    for args, where in ((["predict", "t.csv", "--data", "models/fl"], "MODEL_DIR"),
                        (["evaluate", "t.csv"], "RUN_DIR|MODEL_DIR"), (["info", "t.csv"], "RUN_DIR|MODEL_DIR")):
        result = runner.invoke(main, args)
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '{where}': t.csv is a file: give a folder that 'ssvae train' or 'ssvae export' " \
               f"wrote" in result.output


def test_a_class_without_test_examples_is_null_in_the_json_report(runner, tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((60, 4, 4)).astype(np.float32), y=np.arange(60) % 3,
             x_test=rng.random((10, 4, 4)).astype(np.float32), y_test=np.arange(10) % 2)  # no test example of 2
    out = tmp_path / "run"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--data", str(tmp_path / "d.npz"), "--labels", "9",
                                "--out", str(out)]).exit_code == 0
    result = runner.invoke(main, ["evaluate", str(out), "--json"])
    report = json.loads(result.stdout)  # strict JSON: NaN would not parse in jq
    assert report["per_class"]["2"] is None and 0 <= report["per_class"]["0"] <= 1
    confusion = np.array(report["confusion"])
    predicted = confusion.sum(0)  # precision: of the examples predicted as a class, the share that are it
    assert report["per_class_precision"] == {str(c): confusion[c, c] / predicted[c] if predicted[c] else None
                                             for c in range(3)}
    header, *rows = runner.invoke(main, ["evaluate", str(out)]).output.split("\n\n")[1].splitlines()
    assert rows[2].startswith("2       no test example  ")
    column = header.index("precision")  # the precision column lines up below a wide "no test example"
    assert all(row[column - 2:column] == "  " and row[column] != " " for row in rows), rows


def test_train_resume_finishes_an_interrupted_run_as_if_never_stopped(runner, tmp_path, monkeypatch):
    from ssvae import api

    args = ["train", "--epochs", "2", "--hidden", "32", "--latent-dim", "4", "--batch-size", "200", "--quiet",
            "--val-labels", "20"]
    assert runner.invoke(main, [*args, "--out", str(tmp_path / "whole")]).exit_code == 0
    checkpoints, save_checkpoint = [], api.save_checkpoint

    def killed_after_first(path, state):
        if checkpoints:
            raise RuntimeError("killed")  # the second epoch's checkpoint never lands
        save_checkpoint(path, state)
        checkpoints.append(path)

    monkeypatch.setattr(api, "save_checkpoint", killed_after_first)
    assert str(runner.invoke(main, [*args, "--out", str(tmp_path / "run")]).exception) == "killed"
    monkeypatch.setattr(api, "save_checkpoint", save_checkpoint)
    result = runner.invoke(main, ["train", "--resume", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    whole = runner.invoke(main, ["evaluate", str(tmp_path / "whole"), "--json"]).output.splitlines()[-1]
    accuracy = json.loads(whole)["accuracy"]
    records = read_metrics(tmp_path / "run")  # the epoch before the interruption, from metrics.csv, and the one after
    best = max(records, key=lambda row: row["val_accuracy"])
    assert result.output.strip() == (f"resumed and finished {tmp_path / 'run'}  |  test accuracy {accuracy:.4f} on "
                                     f"450 examples  |  labels seen 100  |  kept epoch {best['epoch']} of 2 (the "
                                     f"best validation accuracy, {best['val_accuracy']:.4f})")
    assert [row["epoch"] for row in records] == [1, 2]
    resumed, uninterrupted = (load_file(tmp_path / name / "weights.safetensors") for name in ("run", "whole"))
    for name, value in uninterrupted.items():
        torch.testing.assert_close(resumed[name], value, rtol=0, atol=0, msg=name)


def test_train_resume_with_epochs_ends_an_interrupted_run_at_its_checkpoint(runner, tmp_path, monkeypatch,
                                                                            interrupted_run):
    """--resume with --epochs ends a run stopped after its first epoch at once: its weights, metrics and
    config.json are those of a one-epoch run's; --epochs 0 is a usage error naming the option, and Ctrl-C
    in a resume given --epochs says to give them again."""
    from ssvae import api

    args = ["train", "--epochs", "1", "--hidden", "32", "--latent-dim", "4", "--batch-size", "200", "--quiet"]
    interrupted_run(tmp_path / "run", 2, epochs=3, hidden=(32,), latent_dim=4, batch_size=200, progress=False)
    zero = runner.invoke(main, ["train", "--resume", str(tmp_path / "run"), "--epochs", "0"], prog_name="ssvae")
    assert (zero.exit_code, zero.output) == (2, "Error: Invalid value for '--epochs': epochs must be at least 1, got "
                                                "0 (see 'ssvae train --help')\n")
    def interrupted(path: Path, state: object) -> None:
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr(api, "save_checkpoint", interrupted)
        longer = runner.invoke(main, ["train", "--resume", str(tmp_path / "run"), "--epochs", "4", "--quiet"])
    assert (longer.exit_code, longer.output) == (130, f"Interrupted: continue from the last checkpoint with 'ssvae "
                                                      f"train --resume {tmp_path / 'run'} --epochs 4'\n")
    result = runner.invoke(main, ["train", "--resume", str(tmp_path / "run"), "--epochs", "1", "--quiet"])
    assert runner.invoke(main, [*args, "--out", str(tmp_path / "whole")]).exit_code == 0
    accuracy = json.loads(runner.invoke(main, ["evaluate", str(tmp_path / "whole"), "--json"]).output)["accuracy"]
    assert (result.exit_code, result.output) == (0, f"resumed and finished {tmp_path / 'run'}  |  test accuracy "
                                                    f"{accuracy:.4f} on 450 examples  |  labels seen 100\n")
    for name in ("config.json", "weights.safetensors"):
        assert (tmp_path / "run" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
    assert [row["epoch"] for row in read_metrics(tmp_path / "run")] == [1]


def test_info_of_a_run_folder_says_how_far_it_has_trained(runner, tmp_path, interrupted_run):
    """A run folder was "a training run, not an exported model: export it": info now says whether it is
    finished, where an unfinished one's checkpoint stands, its epochs and last record, and how to train it
    again; a folder whose training stopped before its first checkpoint says so."""
    interrupted_run(tmp_path / "run", 2, epochs=3, hidden=(16,), latent_dim=2, val_labels=10, progress=False)
    command = "ssvae train --dataset digits --labels 100 --val-labels 10 --likelihood bernoulli --model m2 " \
              f"--latent-dim 2 --hidden 16 --epochs 3 --seed 0 --threads {torch.get_num_threads()}"
    rows = read_metrics(tmp_path / "run")
    last = f"train 2: loss {rows[1]['loss']:g}, train accuracy {rows[1]['train_accuracy']:.4f}, validation " \
           f"{rows[1]['val_accuracy']:.4f}"
    result = runner.invoke(main, ["info", str(tmp_path / "run")])
    assert (result.exit_code, result.output.splitlines()) == (0, [
        f"{tmp_path / 'run'} (a training run)",
        f"  state        unfinished: its checkpoint is after epoch 1 of 3 ('ssvae train --resume {tmp_path / 'run'}' "
        f"goes on from it)",
        "  model        m2", "  data         digits", "  labels_seen  100",
        "  class_names  0, 1, 2, 3, 4, 5, 6, 7, 8, 9", "  epochs       train 2 of 3 recorded in metrics.csv",
        f"  last_epoch   {last}", f"  command      {command}"])
    ssvae.resume(tmp_path / "run", progress=False)
    described = json.loads(runner.invoke(main, ["info", str(tmp_path / "run"), "--json"]).output)
    assert described == {**ssvae.api.describe_run(tmp_path / "run"), "run_dir": str(tmp_path / "run")}
    assert {k: described[k] for k in ("state", "checkpoint", "epochs", "recorded", "command")} == {
        "state": "finished", "checkpoint": None, "epochs": {"train": 3}, "recorded": {"train": 3}, "command": command}
    last_record = read_metrics(tmp_path / "run")[-1]  # every column of metrics.csv: null where not measured
    assert described["last_epoch"] == {column: last_record.get(column) for column in METRIC_COLUMNS}
    assert described["last_epoch"]["consistency"] is None and described["last_epoch"]["loss"] == last_record["loss"]
    lines = (tmp_path / "run" / "metrics.csv").read_text().splitlines()  # a loss that diverged: strict JSON still
    loss = lines[0].split(",").index("loss")
    lines[-1] = ",".join("nan" if k == loss else v for k, v in enumerate(lines[-1].split(",")))
    (tmp_path / "run" / "metrics.csv").write_text("\n".join(lines) + "\n")
    shown = runner.invoke(main, ["info", str(tmp_path / "run"), "--json"]).output
    assert json.loads(shown, parse_constant=pytest.fail)["last_epoch"]["loss"] is None
    (tmp_path / "early").mkdir()
    for name in ("config.json", "labels.json"):  # a training killed before its first checkpoint leaves these
        shutil.copy(tmp_path / "run" / name, tmp_path / "early" / name)
    lines = runner.invoke(main, ["info", str(tmp_path / "early")]).output.splitlines()
    assert lines[1:2] == ["  state        stopped before its first checkpoint"] and lines[6:8] == [
        "  epochs       train 0 of 3 recorded in metrics.csv", "  last_epoch   -"]


def test_info_names_damaged_files_and_a_run_set_aside_by_a_killed_training(runner, tmp_path):
    """info said "finished" of a run whose weights were cut short, "0 of 5 recorded" of one whose metrics.csv
    was, and nothing of an earlier run's files waiting in .set-aside after a training over it was killed
    (which --resume called "nothing to resume: train it again", and training again would delete), nor of
    weights or a metrics.csv removed from a finished run."""
    base, run = tmp_path / "base", tmp_path / "run"
    ssvae.train(out=base, epochs=1, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False)
    shutil.copytree(base, run)
    with open(run / "weights.safetensors", "r+b") as f:
        f.truncate(1000)
    with open(run / "metrics.csv", "r+b") as f:
        f.truncate(200)
    described = ssvae.api.describe_run(run)
    assert described["state"] == "finished" and [p.split(":")[0] for p in described["problems"]] == [
        str(run / "weights.safetensors"), str(run / "metrics.csv")]
    assert described["problems"][0].endswith("; restore the file or train the run again")
    evaluated = runner.invoke(main, ["evaluate", str(run)]).output  # the same words as evaluate's refusal
    assert evaluated.startswith(f"Error: {run / 'weights.safetensors'}: unreadable, corrupt or cut short (Error "
                                f"while deserializing") and evaluated.endswith("invalid header length); restore the "
                                                                               "file or train the run again\n")
    lines = runner.invoke(main, ["info", str(run)]).output.splitlines()
    assert lines[-1] == f"  problems     {'; '.join(described['problems'])}"
    with open(run / "metrics.csv", "r+b") as f:
        f.truncate(40)  # inside its header: it read as a run of no epochs
    assert ssvae.api.describe_run(run)["problems"][1] == (
        f"{run / 'metrics.csv'}: its header is not as training wrote it (column 'unlabell'; cut short?): restore "
        f"the file, or delete it (the run goes without the earlier epochs' records)")
    (run / "metrics.csv").write_bytes(b"")  # was a traceback: the empty file's header read once it was closed
    assert ssvae.api.describe_run(run)["problems"][1] == (
        f"{run / 'metrics.csv'}: empty, where training writes a header line (cut short?): restore the file, or "
        f"delete it (the run goes without the earlier epochs' records)")
    killed = tmp_path / "killed"  # a training with --force over a run, killed before its first checkpoint
    shutil.copytree(base, killed / ".set-aside")
    for name in ("config.json", "labels.json"):
        shutil.copy(base / name, killed / name)
    waiting = (f"a training over the run there was killed before its first checkpoint, and that run's files wait "
               f"in {killed / '.set-aside'}: move them back, or train there again with --force")
    assert ssvae.api.describe_run(killed)["problems"] == [waiting]
    resumed = runner.invoke(main, ["train", "--resume", str(killed)]).output
    assert resumed == f"Error: {killed / 'checkpoint.safetensors'}: missing; there is nothing to resume (the run " \
                      f"stopped before its first checkpoint): {waiting}\n"
    assert runner.invoke(main, ["evaluate", str(killed)]).output == f"Error: {killed}: holds no " \
                                                                    f"weights.safetensors: {waiting}\n"
    for gone in ("weights.safetensors", "metrics.csv"):  # info said "stopped before its first checkpoint" beside
        shutil.copytree(base, tmp_path / gone)     # "train 1 of 1 recorded", and "finished" beside "0 of 1" alone
        (tmp_path / gone / gone).unlink()
    assert {k: ssvae.api.describe_run(tmp_path / "weights.safetensors")[k] for k in ("state", "problems")} == {
        "state": "weights removed", "problems": [
            f"{tmp_path / 'weights.safetensors' / 'weights.safetensors'}: missing, though metrics.csv records every "
            f"epoch of the run (1): restore the file, or train the run again with --force over this folder"]}
    assert {k: ssvae.api.describe_run(tmp_path / "metrics.csv")[k] for k in ("state", "problems")} == {
        "state": "finished", "problems": [f"{tmp_path / 'metrics.csv' / 'metrics.csv'}: missing, and with it the "
                                          f"record of the run's epochs (evaluate and export need none of it)"]}


def test_the_version_is_written_once_and_read_by_the_package_metadata(runner):
    """pyproject.toml takes ssvae.__version__ (dynamic), which --version and every export's model.json show."""
    from importlib.metadata import version

    assert re.fullmatch(r"\d+\.\d+\.\d+", ssvae.__version__) and version("ssvae") == ssvae.__version__
    assert runner.invoke(main, ["--version"]).output == f"ssvae, version {ssvae.__version__}\n"


def test_help_explains_every_command(runner):
    assert sorted(main.commands) == ["evaluate", "export", "generate", "info", "predict", "score", "train"]
    for command in main.commands:
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and f"Example: ssvae {command} " in result.output, command
    overview = runner.invoke(main, ["--help"]).output  # each command's short help, whole (click cuts long ones)
    assert all(f"  {name:<8}  {command.short_help}\n" in overview for name, command in main.commands.items())
    export_help = runner.invoke(main, ["export", "--help"]).output
    assert "[default: 20; x>=18]" in export_help and "(18 or above" in export_help
    train_words = " ".join(runner.invoke(main, ["train", "--help"]).output.split())  # click wraps the lines
    assert "or 'all'. [default: 100; --data: all]" in train_words  # own data keep every label
    train_help = runner.invoke(main, ["train", "--help"]).output  # what a value looks like, not click's TEXT
    assert "--labels N|all " in train_help and "--hidden N,N,... " in train_help and " TEXT " not in train_help


def test_help_shows_each_example_on_one_line(runner):
    """An example after a title ("What to label next: ssvae predict ...") was wrapped by click, its last options
    on the next line, as were the commands `ssvae --help` starts with: none could be copied whole."""
    for command in [main, *main.commands.values()]:
        args = [] if command is main else [command.name]
        output = runner.invoke(main, [*args, "--help"], terminal_width=80).output
        lines = [line.strip() for line in output.splitlines()]
        examples = re.findall(r"^\s*(?:[^\n:]*: )?(ssvae(?: [^\s`]+)+)\s*$", command.help, re.MULTILINE)
        assert examples, command.name
        assert all(any(line.endswith(example) for line in lines) for example in examples), output


def test_help_lines_never_end_inside_a_hyphenated_word(runner):
    """At 80 columns click broke "--test-fraction" and "fashion-mnist" at their hyphens ("--test-" at a line's
    end): the halves read as another option or value."""
    for args in ([], *([name] for name in main.commands)):
        for width in (60, 80, 100):
            output = runner.invoke(main, [*args, "--help"], terminal_width=width).output
            assert not re.search(r"[^\s-]-$", output, re.MULTILINE), (args, width, output)
            assert "\u2011" not in output
    words = runner.invoke(main, ["train", "--help"], terminal_width=80).output.split()
    assert "--test-fraction)." in words and "--consistency-threshold" in words


def test_help_examples_follow_on_from_one_another():
    """train's example writes the run folder that evaluate's and export's read, and export's the model folder
    that predict's, score's, generate's and info's read: it wrote runs/digits, and evaluate's then failed."""
    def example(command: str) -> str:
        return re.search(rf"Example: (ssvae {command} .*)", main.commands[command].help)[1]

    def folder(command: str) -> str:
        return example(command).split()[2]

    run = re.search(r"--out (\S+)", example("train"))[1]
    model = re.search(r"--out (\S+)", example("export"))[1]
    assert folder("evaluate") == folder("export") == run
    assert all(folder(command) == model for command in ("predict", "score", "generate", "info"))


def test_generate_help_says_which_options_go_with_analogies():
    """generate refuses --per-class, --seed, --temperature and --noise with --analogies, and --rows and --data-dir
    without it; the help of --seed, --per-class, --temperature and --data-dir did not say so."""
    refused = [option for option in main.commands["generate"].params
               if _refuses(True, option.name) or _refuses(False, option.name)]
    assert {option.name for option in refused} == {"per_class", "seed", "temperature", "noise", "rows", "data_dir"}
    assert all("--analogies" in option.help for option in refused), [option.help for option in refused]


def _refuses(drawing: bool, name: str) -> bool:
    """Whether generate refuses the option ``name`` where it draws analogies (``drawing``), or samples."""
    try:
        inference.check_generate_options(drawing, **{name: 1})
    except DataError:
        return True
    return False


def test_json_reports_write_non_finite_numbers_as_null():
    """A test ELBO of NaN (inputs beyond what the model saw) made `evaluate --json` a traceback."""
    from ssvae.cli import _json_ready

    report = {"accuracy": 0.5, "test_elbo": float("nan"), "per_class": {"a": float("inf"), "b": None}, "rows": [-math.inf, 1]}
    assert json.loads(json.dumps(_json_ready(report), allow_nan=False)) == {
        "accuracy": 0.5, "test_elbo": None, "per_class": {"a": None, "b": None}, "rows": [None, 1]}


def test_ssvae_alone_shows_the_help(runner):
    result = runner.invoke(main, [], prog_name="ssvae")  # click >= 8.2 shows it by way of a usage error
    assert result.output.startswith("Usage: ssvae [OPTIONS] COMMAND") and "Commands:" in result.output
    listed = [line.split()[0] for line in result.output.split("Commands:")[1].splitlines() if line.startswith("  ")
              and not line.startswith("   ")]
    assert listed == ["train", "evaluate", "export", "info", "predict", "score", "generate"]  # the work's order


def test_python_dash_m_ssvae_runs_the_command_line():
    result = subprocess.run([sys.executable, "-m", "ssvae", "--help"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage: ssvae [OPTIONS] COMMAND") and "train" in result.stdout


def test_standard_output_is_utf8_whatever_encoding_python_took(tmp_path):
    """A pipe on Windows takes the ANSI code page (here cp1252 stands in): an image named outside it, an id of
    predict's CSV, failed part-way through the rows; they are now UTF-8, as ssvae's files are."""
    from PIL import Image

    (tmp_path / "scans").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "scans" / "犬.png")
    model = ROOT / "models" / "digits-m2"
    result = subprocess.run([sys.executable, "-m", "ssvae", "predict", str(model), "--data", str(tmp_path / "scans"),
                             "--out", "-", "--quiet"], capture_output=True, timeout=120,
                            env={**os.environ, "PYTHONIOENCODING": "cp1252"}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode("utf-8").splitlines()[1].startswith("犬.png,")


def test_force_clears_a_run_folder_but_keeps_the_folder_itself(runner, tmp_path, monkeypatch):
    """--force removes the files ssvae wrote (and the temporary file of a write cut short), not the folder:
    its permissions stay, `--out .` trains inside it, and a link to a folder stays a link."""
    out = tmp_path / "run"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)]).exit_code == 0
    out.chmod(0o750)
    (out / ".weights.safetensors.x1y2.tmp").write_bytes(b"half a file")
    monkeypatch.chdir(out)
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", ".", "--force", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "labels.json", "metrics.csv", "weights.safetensors"]
    assert out.stat().st_mode & 0o777 == 0o750 and json.loads((out / "config.json").read_text())["seed"] == 1
    target, link = tmp_path / "elsewhere", tmp_path / "link"
    target.mkdir()
    link.symlink_to(target)
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(link)]).exit_code == 0
    assert link.is_symlink() and (target / "weights.safetensors").is_file()


def test_force_with_bad_data_keeps_the_finished_run(runner, tmp_path):
    """The old run is removed only once the new data have loaded: bad input never costs finished work."""
    out = tmp_path / "run"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)]).exit_code == 0
    weights = (out / "weights.safetensors").read_bytes()
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out), "--force", "--data", str(tmp_path / "x.npz")])
    assert result.exit_code == 1 and "no such file or folder" in result.output
    assert (out / "weights.safetensors").read_bytes() == weights


def test_force_stopped_before_the_first_checkpoint_puts_the_finished_run_back(runner, tmp_path, monkeypatch):
    """The old run's files wait aside while the new run trains, and go only once it has a checkpoint to go on
    from: stopped before, the folder is as it was; stopped after, it holds the new run to resume."""
    from ssvae import api

    out = tmp_path / "run"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out)]).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    saved, save_checkpoint = [], api.save_checkpoint

    def interrupted_at(count: int):
        def save(path, state):
            assert (out / ".set-aside" / "weights.safetensors").is_file() == (not saved)  # aside till the first
            if len(saved) == count:
                raise KeyboardInterrupt
            save_checkpoint(path, state)
            saved.append(path)
        return save

    monkeypatch.setattr(api, "save_checkpoint", interrupted_at(0))
    result = runner.invoke(main, ["train", *TINY_ARGS, "--out", str(out), "--force", "--seed", "1"])
    assert result.exit_code == 130
    assert result.output.strip() == f"Interrupted before the first checkpoint: {out} holds the run it held before, as it was"
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    shutil.copytree(out, tmp_path / "killed")  # as a training killed outright before its first checkpoint
    (tmp_path / "killed" / ".set-aside").mkdir()
    for name in ("weights.safetensors", "metrics.csv"):
        (tmp_path / "killed" / name).rename(tmp_path / "killed" / ".set-aside" / name)
    result = runner.invoke(main, ["evaluate", str(tmp_path / "killed")])
    assert result.exit_code == 1 and result.output == (
        f"Error: {tmp_path / 'killed'}: holds no weights.safetensors: a training over the run there was killed "
        f"before its first checkpoint, and that run's files wait in {tmp_path / 'killed' / '.set-aside'}: move "
        f"them back, or train there again with --force\n")
    monkeypatch.setattr(api, "save_checkpoint", interrupted_at(1))
    result = runner.invoke(main, ["train", *TINY_ARGS, "--epochs", "3", "--out", str(out), "--force", "--seed", "1"])
    assert result.exit_code == 130 and "ssvae train --resume" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.safetensors", "config.json", "labels.json",
                                                     "metrics.csv"]
    assert json.loads((out / "config.json").read_text())["seed"] == 1


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A trained run and its export, made through the command line."""
    root = tmp_path_factory.mktemp("cli")
    runner = CliRunner()
    run, model = root / "run", root / "model"
    assert runner.invoke(main, ["train", *TINY_ARGS, "--epochs", "5", "--out", str(run)]).exit_code == 0
    result = runner.invoke(main, ["export", str(run), "--out", str(model), "--quantize", "int8"])
    assert result.exit_code == 0, result.output
    assert "onnxruntime vs torch, largest absolute difference: classifier" in result.output
    float32, int8 = (line for line in result.output.splitlines() if "test accuracy" in line)
    assert re.fullmatch(r"float32  test accuracy 0\.\d{4}", float32)  # no agreement with itself
    assert re.fullmatch(r"int8     test accuracy 0\.\d{4}  \(same class as float32: [01]\.\d{4}\)", int8)
    return run, model


@pytest.mark.parametrize("command", ["train", "export"])
def test_an_out_link_to_nothing_is_refused_in_one_line_and_left_as_it_was(runner, exported, tmp_path, command):
    """No folder is made at the far end of a link: `mkdir` answered "File exists", which named no cause."""
    link, target = tmp_path / "link", tmp_path / "nowhere"
    link.symlink_to(target)
    args = [*TINY_ARGS] if command == "train" else [str(exported[0])]
    result = runner.invoke(main, [command, *args, "--out", str(link)])
    assert result.exit_code == 1 and result.output == (
        f"Error: {link} is a link to {target}, which does not exist: make that folder or give --out another name\n")
    assert link.is_symlink() and not target.exists() and sorted(tmp_path.iterdir()) == [link]


def test_evaluate_with_baseline_adds_the_supervised_accuracy_and_the_gain(runner, exported):
    run, _ = exported
    result = runner_with_stderr_apart().invoke(main, ["evaluate", str(run), "--baseline", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)  # the JSON alone on stdout, the baseline's progress on stderr
    plain = json.loads(runner.invoke(main, ["evaluate", str(run), "--json"]).stdout)
    assert {k: v for k, v in report.items() if k != "baseline_accuracy"} == plain
    expected = ssvae.evaluate(ssvae.baseline(run))["accuracy"]
    assert report["baseline_accuracy"] == expected
    gain = 100 * (plain["accuracy"] - expected)
    table = runner.invoke(main, ["evaluate", str(run), "--baseline"]).stdout
    assert (f"baseline       {expected:.4f} (supervised on the same labels: the unlabelled data "
            f"{gain_text(gain)})") in table.splitlines()  # a tiny run's may be a loss
    assert (gain_text(10.22), gain_text(0.0), gain_text(-1.56)) == (
        "add +10.22 points", "add +0.00 points", "cost 1.56 points")  # "add -1.56 points" read oddly


def test_evaluate_baseline_logs_its_epochs_where_stderr_is_not_a_terminal_unless_quiet(exported):
    """The baseline trains: in a log a line an epoch, as `ssvae train` writes them; --quiet leaves stderr empty
    and the report as it was."""
    run, _ = exported
    runner = runner_with_stderr_apart()
    logged = runner.invoke(main, ["evaluate", str(run), "--baseline", "--json"])
    epochs = json.loads((run / "config.json").read_text())["epochs"]
    assert logged.exit_code == 0 and len(logged.stderr.splitlines()) == epochs
    assert all(line.startswith(f"train epoch {k}/{epochs}: loss ")
               for k, line in enumerate(logged.stderr.splitlines(), 1))
    quiet = runner.invoke(main, ["evaluate", str(run), "--baseline", "--json", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and quiet.stdout == logged.stdout


def test_generate_draws_with_the_precision_asked_for(runner, exported, tmp_path):
    """--precision int8 runs the int8 decoder: its grid is the runtime's int8 samples, not the float32 ones."""
    from ssvae import runtime
    from ssvae.inference import generate

    grids = {}
    for precision in ("float32", "int8"):
        out = tmp_path / f"{precision}.png"
        result = runner.invoke(main, ["generate", str(exported[1]), "--precision", precision, "--out", str(out)])
        assert result.exit_code == 0, result.output
        generate(runtime.load(exported[1], precision=precision), tmp_path / f"api-{precision}.png", per_class=8, seed=0)
        assert out.read_bytes() == (tmp_path / f"api-{precision}.png").read_bytes()
        grids[precision] = out.read_bytes()
    assert grids["int8"] != grids["float32"]


def test_classification_report_by_hand():
    from ssvae.report import classification_report

    report = classification_report(np.array([0, 0, 1, 2]), np.array([0, 1, 1, 0]), ("a", "b", "c", "d"))
    assert report == {"accuracy": 0.5, "n_test": 4, "per_class": {"a": 0.5, "b": 1.0, "c": 0.0, "d": None},
                      "per_class_precision": {"a": 0.5, "b": 0.5, "c": None, "d": None},
                      "confusion": [[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]],
                      "class_names": ["a", "b", "c", "d"]}


def test_evaluates_table_shows_each_class_recall_and_precision_apart():
    """Labels a, a, b predicted a, a, a: a's recall 2/2 and precision 2/3 (three predicted a, two of them a);
    b's recall 0/1 and no precision, as nothing was predicted b. The test accuracy is 2/3. By confidence: the
    first (0.9995) is right, the third (0.995) wrong, the second (0.6) below every level: 1 of 1 at 0.999, 1
    of 2 at 0.99 and 0.9."""
    from ssvae.report import evaluation_report

    p = np.array([[0.9995, 0.0005], [0.6, 0.4], [0.995, 0.005]])
    report = evaluation_report("m2", np.array([0, 0, 1]), p, ("a", "b"), None, 3)
    assert report["by_confidence"] == [{"confidence": 0.999, "n": 1, "accuracy": 1.0},
                                       {"confidence": 0.99, "n": 2, "accuracy": 0.5},
                                       {"confidence": 0.9, "n": 2, "accuracy": 0.5}]
    lines = evaluation_text(report).splitlines()
    assert "test accuracy  0.6667" in lines
    table = lines.index("class   recall  precision")
    assert lines[table + 1:table + 3] == ["a       1.0000  0.6667", "b       0.0000  never predicted"]
    assert lines[-8:-5] == ["           0     1", "0 a        2     0", "1 b        1     0"]
    assert lines[-4:] == ["confidence  examples  accuracy", ">= 0.999    1 of 3    1.0000",
                          ">= 0.99     2 of 3    0.5000", ">= 0.9      2 of 3    0.5000"]
    none_sure = evaluation_report("m2", np.array([0, 1]), np.full((2, 2), 0.5), ("a", "b"), None, 3)
    assert evaluation_text(none_sure).splitlines()[-1] == ">= 0.9      0 of 2    -"


def test_the_report_lines_up_class_names_of_wide_characters():
    """二 takes two terminal columns: padded as one, the tables' columns drifted under Japanese class names."""
    names = ["二", "three", "四つ"]
    report = {"class_names": names, "test_elbo": None, "model": "m2", "labels_seen": 3, "n_test": 2,
              "test_data": None, "accuracy": 1.0, "kept_epoch": None, "per_class": dict(zip(names, (1.0, 1.0, None))),
              "per_class_precision": dict(zip(names, (1.0, 1.0, None))),
              "confusion": [[1, 0, 0], [0, 1, 0], [0, 0, 0]]}
    lines = evaluation_text(report).splitlines()
    rows = lines[-3:]
    assert [row.split()[:2] for row in rows] == [["0", "二"], ["1", "three"], ["2", "四つ"]]  # a column's class
    assert {columns(row) for row in rows} == {columns(lines[-4])} == {7 + 3 * 6}  # "1 three" + 3 columns of 6
    assert [columns(re.match(r"\S+ +", row).group()) for row in lines[7:10]] == [8, 8, 8]  # accuracies line up


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_evaluate_with_its_baseline_reads_the_data_and_warns_of_them_once(tmp_path, monkeypatch):
    """The baseline is scored on the examples already read: the file was read a second time, and its warning
    given twice (the second naming RUN, at a line of ssvae.api)."""
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{k % 2}" for k, (a, b) in enumerate(rng.standard_normal((40, 2)))]
    (tmp_path / "t.csv").write_text("\n".join(["a,b,label", *rows]) + "\n")
    run = ssvae.train(data=str(tmp_path / "t.csv"), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    reads = []
    monkeypatch.setattr(api, "load_for_testing", lambda *args: reads.append(args[0]) or load_for_testing(*args))
    with pytest.warns(UserWarning) as warned:
        report = ssvae.evaluate(tmp_path / "run", data=tmp_path / "t.csv", baseline=True)
    trained_on = [w for w in warned if "holds the examples this run trained on" in str(w.message)]
    assert reads == [tmp_path / "t.csv"] and [w.filename for w in trained_on] == [__file__]
    with pytest.warns(UserWarning, match="holds the examples this run trained on"):
        alone = ssvae.evaluate(ssvae.baseline(run), data=tmp_path / "t.csv")
    assert report["baseline_accuracy"] == alone["accuracy"]


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_evaluate_on_the_file_a_run_trained_on_warns_that_it_is_not_held_out(tmp_path):
    """A CSV of 40 rows, 30 of them labelled: the run holds out a quarter of the labels and trains on the rest,
    so evaluate --data on the file itself tests mostly on training labels; its x_test would be no such case."""
    rng = np.random.default_rng(0)
    labels = [str(k % 2) if k < 30 else "" for k in range(40)]
    rows = [f"{a:.3f},{b:.3f},{label}" for (a, b), label in zip(rng.standard_normal((40, 2)), labels)]
    (tmp_path / "t.csv").write_text("\n".join(["a,b,label", *rows]) + "\n")
    run = ssvae.train(data=str(tmp_path / "t.csv"), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    with pytest.warns(UserWarning) as warned:
        result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "t.csv")])
    assert result.exit_code == 0 and "test examples  30 (t.csv)" in result.output
    assert [str(w.message) for w in warned] == [
        f"{tmp_path / 't.csv'} holds the examples this run trained on, {run.split.labels_seen} of them with their "
        f"labels: the accuracy measured on them is not held out ('ssvae evaluate {tmp_path / 'run'}' without --data "
        f"tests the run's held-out split)"]
    assert run.split.labels_seen == 22
    shutil.copy(tmp_path / "t.csv", tmp_path / "renamed.csv")  # a copy under another name is the same data
    with pytest.warns(UserWarning, match=r"renamed.csv holds the examples this run trained on, 22 of them"):
        CliRunner().invoke(main, ["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "renamed.csv")])
    np.savez(tmp_path / "x.npz", x=rng.random((40, 2)).astype(np.float32), y=np.arange(40) % 2,
             x_test=rng.random((10, 2)).astype(np.float32), y_test=np.arange(10) % 2)
    ssvae.train(data=str(tmp_path / "x.npz"), labels=10, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                progress=False, out=tmp_path / "npz_run")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its x_test held none of its training labels: no warning
        result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "npz_run"), "--data", str(tmp_path / "x.npz")])
    assert result.exit_code == 0 and "test examples  10 (x.npz)" in result.output, result.output
    np.savez(tmp_path / "x_test.npz", x=rng.random((10, 2)).astype(np.float32), y=np.arange(10) % 2)
    ssvae.train(data=str(tmp_path / "t.csv"), test_data=str(tmp_path / "x_test.npz"), labels=None, epochs=1,
                hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False, out=tmp_path / "tested_run")
    with pytest.warns(UserWarning, match="t.csv holds the examples this run trained on, 30 of them with"):
        CliRunner().invoke(main, ["evaluate", str(tmp_path / "tested_run"), "--data", str(tmp_path / "t.csv")])
    # an exported model knows its data by their digest: the file, or a copy, warns; the .npz's x_test does not
    ssvae.export(run, tmp_path / "model")
    with pytest.raises(RunError, match=r"model is an exported model, which keeps no test set: pass labelled data of "
                                       r"your own with --data \(data=\), or evaluate the run folder it was exported "
                                       r"from$"):  # trained on a file: no built-in set to test it on
        ssvae.evaluate(tmp_path / "model")
    ssvae.export(tmp_path / "tested_run", tmp_path / "tested_model")
    with pytest.raises(RunError, match=r"tested_model is an exported model, which keeps no test set: pass the test "
                                       r"data its run was tested on \(x_test.npz\) with --data \(data=\), or"):
        ssvae.evaluate(tmp_path / "tested_model")
    ssvae.export(tmp_path / "npz_run", tmp_path / "npz_model")
    shutil.copy(tmp_path / "t.csv", tmp_path / "copy.csv")
    model = runtime.load(tmp_path / "model")
    for name in ("t.csv", "copy.csv"):
        with pytest.warns(UserWarning, match=rf"^\S+{name} holds the examples this model trained on, 22 of them "
                                             r"with their labels: the accuracy measured on them is not held out \(test "
                                             r"it on labelled data it did not train on\)$"):
            inference.evaluate(model, tmp_path / name)
    with pytest.warns(UserWarning, match="holds the examples this model trained on") as warned:  # the caller's line
        ssvae.evaluate(tmp_path / "model", data=tmp_path / "t.csv")
    assert [w.filename for w in warned if "trained on" in str(w.message)] == [__file__]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        inference.evaluate(runtime.load(tmp_path / "npz_model"), tmp_path / "x.npz")
        inference.evaluate(model, tmp_path / "x_test.npz")
    # a two-class model renders one input in both classes (indices [0, 1] were read as one one-hot row)
    rows = np.array([[0.1, -0.2]], np.float32)
    drawn = model.analogies(rows)
    np.testing.assert_array_equal(drawn, np.stack([model.decode(model.encode(rows)[1], [k]) for k in (0, 1)], 1))


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_evaluate_takes_arrays_held_in_memory_as_it_takes_the_npz_of_them(tmp_path):
    """ssvae.evaluate(run or export, data=(x, y)) gives the report of data= their .npz but for what it says it
    tested; the run's own training arrays warn that they are not held out, and bad arrays are named data."""
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((40, 2)).astype(np.float32), np.where(np.arange(40) < 30, np.arange(40) % 2, -1)
    run = ssvae.train(data=(x, y), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                      progress=False, out=tmp_path / "run")
    ssvae.export(run, tmp_path / "model")
    other_x, other_y = rng.standard_normal((10, 2)).astype(np.float32), np.arange(10) % 2
    np.savez(tmp_path / "other.npz", x=other_x, y=other_y)
    for evaluated in (tmp_path / "run", tmp_path / "model"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            from_file = ssvae.evaluate(evaluated, data=tmp_path / "other.npz")
            in_memory = ssvae.evaluate(evaluated, data=(other_x, other_y))
        assert from_file["test_data"] == str((tmp_path / "other.npz").resolve()) and from_file["n_test"] == 10
        assert in_memory == {**from_file, "test_data": "arrays held in memory"}
    assert ssvae.evaluate(run, data={"x": other_x, "y": other_y})["accuracy"] == in_memory["accuracy"]
    as_torch = (torch.tensor(other_x, requires_grad=True), torch.tensor(other_y))  # as a torch user holds them
    assert ssvae.evaluate(run, data=as_torch) == ssvae.evaluate(run, data=(other_x, other_y))
    rounded = torch.tensor(other_x).bfloat16()
    assert ssvae.evaluate(run, data=(rounded, other_y)) == ssvae.evaluate(run, data=(rounded.float().numpy(), other_y))
    with pytest.raises(DataError, match=r"^data must be a path or labelled arrays, got a numpy.ndarray: give a path to "
                                        r"a file or folder, or arrays as data=\(x, y\) \(y -1 for unlabelled rows\)$"):
        ssvae.evaluate(run, data=other_x)  # no labels to test on
    with pytest.warns(UserWarning, match=rf"^data holds the examples this run trained on, {run.split.labels_seen} "
                                         r"of them with their labels: the accuracy measured on them is not held out"):
        ssvae.evaluate(run, data=(x, y))
    every_label = np.arange(40) % 2  # the same inputs with their true labels, as a notebook tests them
    for evaluated in (run, tmp_path / "run", tmp_path / "model"):
        with pytest.warns(UserWarning, match=r"^data holds the examples this (run|model) trained on"):
            assert ssvae.evaluate(evaluated, data=(x, every_label))["n_test"] == 40
    assert json.loads((tmp_path / "model" / "model.json").read_text())["inputs_digest"] == run.split.inputs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a part of them, or other inputs, are no copy of the training set
        ssvae.evaluate(run, data=(x[:20], every_label[:20]))
        ssvae.evaluate(tmp_path / "model", data=(x + 1, every_label))
    shuffled = np.random.default_rng(1).permutation(40)  # the same inputs in another order are no held-out data
    for evaluated in (run, tmp_path / "model"):
        with pytest.warns(UserWarning, match=r"^data holds the examples this (run|model) trained on"):
            ssvae.evaluate(evaluated, data=(x[shuffled], every_label[shuffled]))
    with pytest.raises(DataError, match=r"^both --data data and --dataset digits \(data=, dataset= in Python\) name "
                                        r"inputs: pass one of them$"):
        ssvae.evaluate(tmp_path / "model", data=(other_x, other_y), dataset="digits")
    with pytest.raises(DataError, match=r"^data: inputs of shape \(10, 3\) do not fit this model: it takes \(N, 2\)$"):
        ssvae.evaluate(run, data=(np.zeros((10, 3), np.float32), other_y))


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_evaluate_on_a_runs_training_images_as_rows_of_pixels_warns_too(tmp_path):
    """Images (N, 8, 8) trained on, tested as their rows of 64 pixels with every label: the same inputs,
    which the fingerprint of the inputs alone (flattened) tells; other images warn not."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x, y = (digits.images[:60] * 15).astype(np.uint8), digits.target[:60]
    run = ssvae.train(data=(x, np.where(np.arange(60) < 40, y, -1)), epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    with pytest.warns(UserWarning, match=r"^data holds the examples this run trained on"):
        ssvae.evaluate(run, data=(x.reshape(60, 64), y))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ssvae.evaluate(run, data=((digits.images[60:120] * 15).astype(np.uint8).reshape(60, 64), digits.target[60:120]))


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_evaluate_on_the_image_folder_a_run_trained_on_or_a_copy_warns_as_its_model_does(tmp_path):
    """A folder is known by its images' names and sizes, and its inputs in any order: the run and its export
    warn of the folder, of a copy and of the folder after an unlabelled image was labelled (moved into a class
    folder, which moves the others in the folder's order), not of a folder with one image changed."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for k in range(40):
        folder = tmp_path / "scans" / (str(digits.target[k] % 2) if k < 30 else "unlabelled")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((digits.images[k] * 15).astype(np.uint8)).save(folder / f"{k}.png")
    run = ssvae.train(data=str(tmp_path / "scans"), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    ssvae.export(run, tmp_path / "model")
    shutil.copytree(tmp_path / "scans", tmp_path / "copy")
    shutil.copytree(tmp_path / "scans", tmp_path / "changed")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "changed" / "0" / "0.png")
    shutil.copytree(tmp_path / "scans", tmp_path / "labelled")
    (tmp_path / "labelled" / "unlabelled" / "31.png").rename(tmp_path / "labelled" / "0" / "31.png")
    for evaluated, trained in (("run", "run"), ("model", "model")):
        for folder, n_test in (("scans", 30), ("copy", 30), ("labelled", 31)):
            with pytest.warns(UserWarning, match=rf"^\S+{folder} holds the examples this {trained} trained on, "
                                                 rf"{run.split.labels_seen} of them with their labels"):
                report = ssvae.evaluate(tmp_path / evaluated, data=tmp_path / folder)
            assert report["n_test"] == n_test
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            ssvae.evaluate(tmp_path / evaluated, data=tmp_path / "changed")


def test_evaluate_an_exported_models_graphs_on_labelled_data(runner, exported, tmp_path):
    """The float32 graphs give the run's report on the same data, the int8 ones their own classes; classes
    the data lack have no accuracy."""
    run, model = exported
    test = ssvae.load(run).partition().labelled_test
    keep = test.y < 5
    np.savez(tmp_path / "five.npz", x=(test.x[keep] * 255).round().astype(np.uint8), y=test.y[keep])
    reports = {}
    for name, args in (("run", [str(run)]), ("float32", [str(model)]),
                       ("int8", [str(model), "--precision", "int8"])):
        result = runner.invoke(main, ["evaluate", *args, "--data", str(tmp_path / "five.npz"), "--json"])
        assert result.exit_code == 0, result.output
        reports[name] = json.loads(result.stdout)
    x = np.load(tmp_path / "five.npz")["x"]
    int8 = runtime.load(model, precision="int8").classify(x).argmax(1)
    assert reports["int8"]["accuracy"] == float((int8 == test.y[keep]).mean())
    assert reports["int8"]["precision"] == "int8" and reports["int8"]["test_elbo"] is None
    common = ("accuracy", "n_test", "per_class", "confusion", "labels_seen", "test_data")
    assert {k: reports["float32"][k] for k in common} == {k: reports["run"][k] for k in common}
    assert reports["run"]["n_test"] == int(keep.sum()) and reports["run"]["per_class"]["7"] is None
    text = runner.invoke(main, ["evaluate", str(model), "--data", str(tmp_path / "five.npz"), "--precision",
                                "int8"]).stdout
    assert text.startswith(f"model          m2\ngraphs         int8 (exported)\nlabels seen    100\n"
                           f"test examples  {int(keep.sum())} (five.npz)\n") and "test ELBO" not in text


def test_evaluate_an_exported_model_on_the_split_its_run_made_of_a_built_in_set(runner, exported):
    """--dataset digits tests the graphs on the run's own test split (the report of `evaluate RUN`), --split
    train on the rest of the set, with a warning that the model trained on it."""
    run, model = exported
    reports = {}
    for name, args in (("run", [str(run)]), ("test", [str(model), "--dataset", "digits"]), ("own", [str(model)]),
                       ("train", [str(model), "--dataset", "digits", "--split", "train"])):
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            result = runner.invoke(main, ["evaluate", *args, "--json"])
        assert result.exit_code == 0, result.output
        reports[name] = json.loads(result.stdout)
        assert [str(w.message) for w in warned] == ([] if name != "train" else [
            "the train split of digits holds the examples this model trained on, 100 of them with their labels: the "
            "accuracy measured on them is not held out (the test split is held out)"])
    common = ("accuracy", "n_test", "per_class", "confusion", "labels_seen")
    assert {k: reports["test"][k] for k in common} == {k: reports["run"][k] for k in common}
    assert reports["own"] == reports["test"]  # no --dataset: the built-in set model.json names
    assert reports["test"]["test_data"] == "digits test split" and reports["run"]["n_test"] == 450
    train = ssvae.load(run).partition()
    assert reports["train"]["n_test"] == 1797 - 450 == len(train.labelled) + len(train.unlabelled)
    text = runner.invoke(main, ["evaluate", str(model), "--dataset", "digits"]).stdout
    assert "\ntest examples  450 (digits test split)\n" in text
    result = runner.invoke(main, ["evaluate", str(run), "--split", "train"])
    assert result.exit_code == 1 and result.output == (
        f"Error: --dataset, --split and --data-dir (dataset=, split=, data_dir= in Python) test an exported model, "
        f"and {run} is a run, tested on its own test split: drop them, or pass labelled data of your own with --data "
        f"(data=)\n")
    # ssvae.evaluate is the command: a model folder is tested through its graphs, a run refuses their settings
    assert {k: ssvae.evaluate(model, dataset="digits")[k] for k in common} == {k: reports["test"][k] for k in common}
    assert ssvae.evaluate(model, dataset="digits", precision="int8")["precision"] == "int8"
    # a model loaded in a notebook is tested as its folder is, in its own precision ("run must be a path")
    int8 = runtime.load(model, precision="int8", device="cpu")
    assert ssvae.evaluate(int8) == ssvae.evaluate(model, precision="int8") == \
        ssvae.evaluate(int8, device="cpu", precision="int8")  # its own device and precision, named
    two = runtime.load(model, threads=2)
    assert ssvae.evaluate(two, threads=2) == ssvae.evaluate(two)  # its own threads, named
    for other in ({"precision": "float16"}, {"threads": 1}):
        with pytest.raises(RunError, match=r"was loaded on its device, in its precision and with its threads: load its "
                                           r"folder again with ssvae.runtime.load\(MODEL_DIR, device=, precision=, "
                                           r"threads=\) to test others"):
            ssvae.evaluate(int8, **other)
    with pytest.raises(RunError, match=r"^--baseline \(baseline= in Python\) trains on a run's data"):
        ssvae.evaluate(int8, baseline=True)
    for other in ({"precision": "int8"}, {"threads": 1}):
        with pytest.raises(RunError, match=r"^--device, --precision and --threads \(device=, precision=, threads= in "
                                           rf"Python\) choose how an exported model's graphs run, and "
                                           rf"{re.escape(str(run))} is a run: pass its export"):
            ssvae.evaluate(ssvae.load(run), **other)


def test_threads_limits_onnxruntimes_threads_in_every_command_that_runs_graphs(runner, tmp_path, monkeypatch):
    """onnxruntime takes every core it sees and reads no OMP_NUM_THREADS: a batch job on a shared machine or in
    a container with a CPU limit had no way to hold it to fewer."""
    loaded = []
    load = runtime.load

    def recorded(*args, **kwargs):
        model = load(*args, **kwargs)
        loaded.append({s.get_session_options().intra_op_num_threads for s in model.sessions.values()})
        return model

    monkeypatch.setattr(runtime, "load", recorded)
    monkeypatch.setattr("ssvae.cli.load_model", recorded)
    model = str(ROOT / "models" / "digits-m2")
    for command in (["predict", model, "--dataset", "digits", "--out", str(tmp_path / "p.csv"), "--quiet"],
                    ["score", model, "--dataset", "digits", "--out", str(tmp_path / "s.csv"), "--quiet"],
                    ["generate", model, "--out", str(tmp_path / "g.png")],
                    ["evaluate", model, "--dataset", "digits"]):
        result = runner.invoke(main, [*command, "--threads", "1"])
        assert result.exit_code == 0 and loaded.pop() == {1}, result.output
    result = runner.invoke(main, ["predict", model, "--dataset", "digits", "--out", "-", "--threads", "0"])
    assert result.exit_code == 2 and "'0' is neither 'auto' nor a number of threads from 1 up" in result.output


def test_a_tilde_the_shell_left_in_a_path_is_the_home_folder(runner, exported, tmp_path, monkeypatch):
    """bash expands no ~ after --out=: it made a folder named ~ in the working folder, and said it had saved
    ~/p.csv."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    home_model = tmp_path / "home" / "model"
    shutil.copytree(exported[1], home_model)
    result = runner.invoke(main, ["predict", "~/model", "--dataset", "digits", "--out=~/p.csv", "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"saved {tmp_path / 'home' / 'p.csv'}: 450 predictions; ")
    assert (tmp_path / "home" / "p.csv").read_text().count("\n") == 451 and not (tmp_path / "~").exists()
    np.save(tmp_path / "home" / "x.npy", np.zeros((3, 8, 8), np.uint8))
    result = runner.invoke(main, ["generate", "~/model", "--analogies=~/x.npy", "--out", "a.png"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "a.png").is_file()


def test_a_tilde_in_a_python_path_is_the_home_folder(tmp_path, monkeypatch):
    """ssvae.train(out="~/run") made a folder named ~ in the working folder (an ``rm -rf ~`` away from the
    home folder's end); so did export, and load, runtime.load and the inference outputs looked there. A run
    or an export's report given to runtime.load is told apart from a path."""
    from ssvae import inference, runtime
    from ssvae.runtime import ModelError

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    run = ssvae.train(out="~/run", epochs=1, hidden=(8,), latent_dim=2, classifier_hidden=(8,), progress=False)
    assert run.run_dir == tmp_path / "home" / "run" and (run.run_dir / "weights.safetensors").is_file()
    assert ssvae.load("~/run").config == run.config and ssvae.evaluate("~/run") == ssvae.evaluate(run)
    report = ssvae.export("~/run", "~/model")
    assert report.model_dir == tmp_path / "home" / "model"
    model = runtime.load("~/model")
    assert runtime.load(report).info == model.info
    assert inference.predict("~/model", inference.model_inputs(model, dataset="digits"), "~/p.csv",
                             progress=False).rows == 450
    inference.generate(model, "~/g.png")
    assert {p.name for p in (tmp_path / "home").iterdir()} == {"run", "model", "p.csv", "g.png"}
    assert not (tmp_path / "~").exists()
    with pytest.raises(ModelError, match=r"^model_dir must be the path of a folder written by ssvae export, got Run "
                                         r"\(a training run: export it first, ssvae.export\(run, MODEL_DIR\)\)$"):
        runtime.load(run)


def test_predict_csv_agrees_with_evaluate(runner, exported, tmp_path):
    from ssvae.data import load_source

    run, model = exported
    out = tmp_path / "preds.csv"
    result = runner.invoke(main, ["predict", str(model), "--dataset", "digits", "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert lines[0] == "id,predicted,confidence,entropy," + ",".join(f"p_{k}" for k in range(10))
    rows = [line.split(",") for line in lines[1:]]
    truth = load_source("digits").train.y
    accuracy = np.mean([int(r[1]) == truth[int(r[0])] for r in rows])
    report = json.loads(runner.invoke(main, ["evaluate", str(run), "--json"]).output.splitlines()[-1])
    assert accuracy == pytest.approx(report["accuracy"], abs=1e-12)
    # the same test examples: as many at each confidence as evaluate counts, each beside the export's accuracy
    said = re.fullmatch(rf"saved {re.escape(str(out))}: 450 predictions; by confidence, with the share of the model's "
                        rf"test examples as confident that were right: (\d+) at least 0\.999 \((.*?)\), (\d+) at least "
                        rf"0\.99 \((.*?)\), (\d+) at least 0\.9 \((.*?)\)\n", result.output)
    assert said, result.output
    assert [int(said[k]) for k in (1, 3, 5)] == [row["n"] for row in report["by_confidence"]]
    for row, share in zip(report["by_confidence"], (said[2], said[4], said[6])):
        assert share == ("none as confident" if row["accuracy"] is None else f"{100 * row['accuracy']:.2f} %"
                         if row["n"] >= 100 else f"{round(row['accuracy'] * row['n'])} of {row['n']} right")
    p = np.array([[float(v) for v in r[4:]] for r in rows])
    np.testing.assert_allclose(p.sum(1), 1.0, atol=1e-5)
    np.testing.assert_allclose([float(r[2]) for r in rows], p.max(1), rtol=1e-5)
    np.testing.assert_allclose([float(r[3]) for r in rows], -(p * np.log(p)).sum(1), rtol=1e-4, atol=1e-5)


def test_predict_uncertain_first_writes_the_same_rows_highest_entropy_first(runner, exported, tmp_path):
    """What to label next: the rows of a plain predict, ordered by their entropy, highest first, in any batch
    size; to standard output too."""
    plain, unsure = tmp_path / "plain.csv", tmp_path / "unsure.csv"
    runner.invoke(main, ["predict", str(exported[1]), "--dataset", "digits", "--out", str(plain), "--quiet"])
    result = runner.invoke(main, ["predict", str(exported[1]), "--dataset", "digits", "--out", str(unsure),
                                  "--uncertain-first", "--batch-size", "7", "--quiet"])
    plain_said = runner.invoke(main, ["predict", str(exported[1]), "--dataset", "digits", "--out", str(plain),
                                      "--quiet", "--force"]).output
    assert result.exit_code == 0 and result.output == plain_said.replace(str(plain), str(unsure)), result.output
    header, *rows = plain.read_text().splitlines()
    written, *ordered = unsure.read_text().splitlines()
    entropies = [float(row.split(",")[3]) for row in ordered]
    assert written == header and sorted(ordered) == sorted(rows)  # the same rows
    assert entropies == sorted(entropies, reverse=True) and entropies[0] > 0.5  # the least sure of 450 digits first
    piped = runner_with_stderr_apart().invoke(main, ["predict", str(exported[1]), "--dataset", "digits", "--out", "-",
                                                     "--uncertain-first", "--quiet"])
    assert piped.stdout == unsure.read_text()
    from ssvae.inference import Inputs, predict

    from ssvae.data.inputs import read_inputs

    digits = read_inputs(dataset="digits")
    sure, least = (list(digits.ids).index(row.split(",")[0]) for row in (rows[0], ordered[0]))
    twice = Inputs(["a", "b", "c", "d"], np.asarray(digits.x)[[sure, least, sure, least]])
    predict(runtime.load(exported[1]), twice, tmp_path / "ties.csv", batch_size=3, progress=False,
            uncertain_first=True)  # copies of an input tie: in input order
    assert [row.split(",")[0] for row in (tmp_path / "ties.csv").read_text().splitlines()[1:]] == ["b", "d", "a", "c"]


@pytest.mark.parametrize("args, what", [
    (["predict", "--dataset", "digits", "--quiet"], "450 predictions"),
    (["score", "--dataset", "digits", "--quiet"], "450 scores in nats"),
    (["generate", "--per-class", "3"], "30 examples, 3 of each class"),
    (["generate", "--analogies", "digits", "--rows", "2"], "20 examples: 2 inputs (the first of 450: --rows for more), "
                                                           "each drawn in the 10 classes")])
def test_out_dash_writes_the_table_to_standard_output_and_says_so_on_stderr(exported, tmp_path, args, what):
    """The same CSV as the file, for a pipe (``| head``, ``| sort``); the line that says what it holds goes to
    stderr, so that standard output is the CSV alone."""
    command = [args[0], str(exported[1]), *args[1:]]
    runner = runner_with_stderr_apart()
    to_file = runner.invoke(main, [*command, "--out", str(tmp_path / "t.csv")])
    piped = runner.invoke(main, [*command, "--out", "-"])
    assert to_file.exit_code == piped.exit_code == 0, piped.output
    assert piped.stdout == (tmp_path / "t.csv").read_text()
    assert piped.stderr == f"wrote to standard output: {what}" + to_file.stdout.split(what, 1)[1]
    assert not Path("-").exists()


@pytest.mark.parametrize("x, error", [(np.zeros((3, 4), np.float32), "inputs of shape (3, 4) do not fit this model"),
                                      (np.full((3, 8, 8), 2.0, np.float32), "inputs range over [2, 2] but this model takes [0, 1]")])
def test_inputs_the_model_refuses_leave_standard_output_empty(exported, tmp_path, x, error):
    """predict --out - wrote the CSV's header before its first batch was refused: a pipeline got a file of a
    header alone. score, and any --out FILE, wrote nothing already."""
    np.save(tmp_path / "x.npy", x)
    runner = runner_with_stderr_apart()
    for command in ("predict", "score"):
        result = runner.invoke(main, [command, str(exported[1]), "--data", str(tmp_path / "x.npy"), "--out", "-"])
        assert (result.exit_code, result.stdout) == (1, "") and error in result.stderr, result.stderr


def test_a_reader_that_stops_early_ends_the_command_quietly_as_cat_is(tmp_path):
    """``ssvae predict ... --out - | head -1``: the closed pipe ends ssvae with SIGPIPE's status (141), as it
    ends cat, with nothing on stderr (no traceback, no 'Error: Broken pipe'). 1,347 rows: more than a pipe
    holds, so that ssvae is still writing when the reader goes."""
    model = ROOT / "models" / "digits-m2"
    command = ["predict", str(model), "--dataset", "digits", "--split", "train", "--out", "-", "--batch-size", "8"]
    process = subprocess.Popen([sys.executable, "-m", "ssvae", *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=tmp_path, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert process.stdout.readline().startswith(b"id,predicted,confidence,entropy,p_0")
    process.stdout.close()  # the reader goes, as head does after its lines
    _, stderr = process.communicate(timeout=120)
    assert (process.returncode, stderr) == (141, b"")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["predict", "score", "generate"])
def test_an_out_that_is_a_link_is_written_through_and_kept(runner, tmp_path, monkeypatch, command):
    """As the shell's ``>`` does: the file the link names gets the output, the link stays. A link to nothing
    yet is taken (the file it names is made) with --force only, since the link is there already."""
    model = str(ROOT / "models" / "digits-m2")
    args = [command, model, *(["--dataset", "digits", "--quiet"] if command != "generate" else ["--per-class", "1"])]
    monkeypatch.chdir(tmp_path)
    suffix = ".png" if command == "generate" else ".csv"
    Path("shared").mkdir()
    Path(f"shared/target{suffix}").write_text("orig")
    Path(f"link{suffix}").symlink_to(f"shared/target{suffix}")
    Path(f"dangling{suffix}").symlink_to(f"shared/new{suffix}")
    Path(f"shared/target{suffix}").chmod(0o600)  # kept, as > keeps it
    Path(f"far{suffix}").symlink_to(f"shared/none/new{suffix}")
    taken = {f"link{suffix}": "already exists: choose another --out or pass --force",
             f"dangling{suffix}": f"is a link to {tmp_path.resolve()}/shared/new{suffix}, which does not exist yet: "
                                  f"pass --force"}
    for name, message in taken.items():
        result = runner.invoke(main, [*args, "--out", name])
        assert result.exit_code == 1 and result.output.startswith(f"Error: {name} {message}"), result.output
        assert runner.invoke(main, [*args, "--out", name, "--force"]).exit_code == 0
        assert Path(name).is_symlink() and Path(name).read_bytes()[:4] in (b"id,p", b"id,s", b"\x89PNG")
    assert sorted(p.name for p in Path("shared").iterdir()) == [f"new{suffix}", f"target{suffix}"]
    assert stat.S_IMODE(Path(f"shared/target{suffix}").stat().st_mode) == 0o600
    result = runner.invoke(main, [*args, "--out", f"far{suffix}", "--force"])  # no folder made at a link's far end
    assert result.exit_code == 1 and result.output == (
        f"Error: far{suffix} is a link to {tmp_path.resolve()}/shared/none/new{suffix}, whose folder does not exist: "
        f"make that folder or give --out another name\n")
    assert not Path("shared/none").exists()
    Path("gone").symlink_to("shared/none")  # a link to a folder not there, on the way to --out
    result = runner.invoke(main, [*args, "--out", f"gone/new{suffix}"])
    assert result.exit_code == 1 and result.output == (
        f"Error: gone is a link to {tmp_path.resolve()}/shared/none, which does not exist: make that folder or give "
        f"--out another path\n")


def test_a_built_in_data_set_that_does_not_fit_the_model_is_refused_before_it_is_read(runner, tmp_path):
    """MNIST's 28x28 images cannot fit the digits model: said before a download is tried (which left empty
    folders behind). A data set the model was not trained on is named in a warning: its test split is no
    held-out part of the model's data."""
    from ssvae import inference

    model = ROOT / "models" / "digits-m2"
    result = runner.invoke(main, ["predict", str(model), "--dataset", "mnist", "--data-dir", str(tmp_path / "none")])
    refused = ("Error: mnist holds 28x28 grey images but the model takes inputs of shape (1, 8, 8): pass a file or "
               "folder of inputs of that shape instead\n")
    assert result.exit_code == 1 and result.output == refused
    result = runner.invoke(main, ["generate", str(model), "--analogies", "mnist", "--data-dir", str(tmp_path / "none"),
                                  "--out", str(tmp_path / "a.png")])  # no --dataset option to name: generate has none
    assert result.exit_code == 1 and result.output == refused
    assert list(tmp_path.iterdir()) == []
    other = runtime.load(model)
    other.info = {**other.info, "dataset": "mine.npz"}
    with pytest.warns(UserWarning, match="^the model was trained on mine.npz, not on digits: every example of digits "
                                         r"is new to it, and its test split is only a share of them \(its train "
                                         r"split holds the rest\)$"):  # no option named: generate has no --split
        assert len(inference.model_inputs(other, dataset="digits")) == 450
    with pytest.warns(UserWarning, match="^the model was trained on mine.npz, not on digits: every example of digits "
                                         "is new to it$"):  # its train split: no test share to speak of
        assert len(inference.model_inputs(other, dataset="digits", split="train")) == 1347
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(inference.model_inputs(runtime.load(model), dataset="digits")) == 450


def test_a_closed_stdout_is_refused_where_the_results_print_there(tmp_path):
    """A job started with ``>&-`` (cron, a daemon) has no standard output (Python's sys.stdout is None): the
    reports printed there (evaluate, info) vanished with status 0; commands that write files work on. Each
    refusal is one line and status 1 before anything runs."""
    model = ROOT / "models" / "digits-m2"
    closed = "Error: standard output is closed (>&-), where this command prints its results: redirect it to a " \
             "file or to /dev/null instead\n"
    dash = "Error: standard output is closed, so --out - has nowhere to write: give --out a file name\n"
    for command, status, message in ((f"info {model}", 1, closed), (f"evaluate {model} --dataset digits", 1, closed),
                                     (f"predict {model} --dataset digits --out - --quiet", 1, dash),
                                     (f"generate {model} --per-class 1 --out -", 1, dash),
                                     (f"predict {model} --dataset digits --out p.csv --quiet", 0, "")):
        result = subprocess.run(f"'{sys.executable}' -m ssvae {command} >&-", shell=True, cwd=tmp_path,
                                capture_output=True, text=True, env={**os.environ, "OMP_NUM_THREADS": "1",
                                                                     "PYTHONPATH": str(ROOT)})
        assert (result.returncode, result.stderr) == (status, message), command
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 451


def test_a_deleted_working_folder_refuses_torchs_commands_and_names_itself_for_a_relative_path(tmp_path):
    """Commands that load torch are refused (torch ends with a fatal error of its own there); others run on
    absolute paths, and a relative one is told the folder is gone, not "No such file or directory"."""
    model = ROOT / "models" / "digits-m2"
    gone = "Error: the current folder no longer exists (deleted since the shell entered it): cd to one that " \
           "does, then run the command again\n"
    for command, status, message in ((f"evaluate {model} --dataset digits", 1, gone),
                                     (f"predict {model} --dataset digits --out {tmp_path / 'p.csv'} --quiet", 0, ""),
                                     (f"predict {model} --dataset digits --out p.csv --quiet", 1, gone)):
        (tmp_path / "gone").mkdir()
        result = subprocess.run(f"cd gone && rmdir ../gone && '{sys.executable}' -m ssvae {command}", shell=True,
                                cwd=tmp_path, capture_output=True, text=True,
                                env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)})
        assert (result.returncode, result.stderr) == (status, message), command
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 451


def test_nohups_ignored_sighup_stays_ignored_and_a_closed_pipe_ends_with_141_whatever_stderr(tmp_path):
    """ssvae set its own handler over a SIGHUP that nohup had ignored, so a training started under nohup
    stopped when its terminal closed; and a reader that stopped early ended a command with stderr closed with
    status 0, where ending the streams met the missing stderr."""
    out = tmp_path / "run"
    process = subprocess.Popen([sys.executable, "-m", "ssvae", "train", *TINY_ARGS, "--epochs", "100000", "--out",
                                str(out)], stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                               env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)},
                               preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))  # as nohup does
    deadline = time.monotonic() + 120
    while not (out / "checkpoint.safetensors").exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGHUP)
    time.sleep(1)
    still = process.poll() is None
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert still and process.returncode == 143, stderr
    # the train split's 1,347 rows (185 kB) overfill a pipe's 64 kB, so that rows are still to be written when
    # head has gone, however slowly it runs; the test split's 62 kB could all be written before it read a line
    piped = subprocess.run(f"'{sys.executable}' -m ssvae predict {ROOT / 'models' / 'digits-m2'} --dataset digits "
                           f"--split train --out - --quiet 2>&- | head -1 > /dev/null; exit ${{PIPESTATUS[0]}}",
                           shell=True, executable="bash", cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert piped.returncode == 141


def test_help_and_version_into_a_closed_pipe_or_a_full_disk_end_as_other_output_does(tmp_path):
    """click printed --help and --version outside ssvae's handling: into a closed pipe it ended with status 1,
    into a full disk with a traceback."""
    for command in ("--version", "--help"):
        piped = subprocess.run(f"'{sys.executable}' -m ssvae {command} | true; exit ${{PIPESTATUS[0]}}",
                               shell=True, executable="bash", capture_output=True, text=True, cwd=tmp_path,
                               env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert (piped.returncode, piped.stderr) == (141, ""), piped.stderr
        if Path("/dev/full").exists():
            full = subprocess.run(f"'{sys.executable}' -m ssvae {command} > /dev/full", shell=True, cwd=tmp_path,
                                  capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
            assert (full.returncode, full.stderr) == (1, "Error: No space left on device (free some space, or write "
                                                         "elsewhere)\n"), full.stderr


def click_major_minor() -> tuple[int, ...]:
    """click's version: before 8.2 a CliRunner result's stdout holds stderr too."""
    from importlib.metadata import version

    return tuple(int(part) for part in version("click").split(".")[:2])


class NamedColumns:
    """What ssvae reads of a pandas DataFrame: its column names (of any type, as pandas allows), a column by
    its name, columns picked by a list of names, and the rows' names (its index; none here unless given)."""

    def __init__(self, columns: dict, index: list | tuple = ()):
        self.data, self.columns, self.index = columns, list(columns), list(index)

    def __getitem__(self, names) -> np.ndarray:
        if not isinstance(names, list):
            return np.asarray(self.data[names])
        return np.column_stack([self.data[name] for name in names])


def test_a_table_is_read_by_its_names_as_a_csv_header_gives_them():
    """pandas' DataFrame(x) names its columns 0, 1, ...; written to a CSV and trained on, they are "0", "1"."""
    from ssvae.runtime import by_name

    table = NamedColumns({1: [3.0, 4.0], 0: [1.0, 2.0], " 2": [5.0, 6.0]})
    np.testing.assert_array_equal(by_name(table, ("0", "1", "2")), [[1, 3, 5], [2, 4, 6]])
    # a model of unnamed inputs (an .npz) reads every column but the row names and classes, as predict reads a CSV
    framed = NamedColumns({"id": ["r0", "r1"], 1: [3.0, 4.0], "label ": ["a", ""], 0: [1.0, 2.0], "": [0, 1]})
    np.testing.assert_array_equal(by_name(framed, ()), [[3, 1], [4, 2]])
    assert by_name(table, ()) is table
    from ssvae.inference import _row_ids

    assert list(_row_ids(framed, 2)) == ["r0", "r1"]  # the id column names the rows, as predict's CSV ids do
    import pandas as pd

    saved = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 4.0]}, index=[7, 9]).to_csv()  # index=False left out
    read_back = pd.read_csv(io.StringIO(saved))  # the index in a column pandas names "Unnamed: 0"
    assert list(read_back.columns) == ["Unnamed: 0", "a", "b"]
    np.testing.assert_array_equal(by_name(read_back, ()), [[1, 3], [2, 4]])  # as predict reads the CSV itself
    assert list(_row_ids(read_back, 2)) == ["7", "9"]


class NullableColumns(NamedColumns):
    """A DataFrame of pandas' nullable or Arrow dtypes: numpy reads it as objects (pd.NA among them), and
    ``to_numpy(float, na_value=nan)`` gives its numbers."""

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        return np.array([[None if v is None else v for v in row] for row in zip(*self.data.values())], dtype=object)

    def to_numpy(self, dtype, na_value) -> np.ndarray:
        return np.array([[na_value if v is None else v for v in row] for row in zip(*self.data.values())], dtype)


def test_a_table_of_nullable_numbers_is_read_as_numbers_with_missing_ones_named(exported):
    model = runtime.load(exported[1])
    digits = np.random.default_rng(0).random((3, 64))
    table = NullableColumns({k: list(digits[:, k]) for k in range(64)})
    np.testing.assert_array_equal(model.classify(table), model.classify(digits))
    table.data[7][2] = None
    with pytest.raises(runtime.NonFiniteInputError, match=r"\(first in row 2\)"):
        model.classify(table)
    table.data[5][1] = "n/a"  # text: numpy reads the table as objects, and float64 refuses it
    table.data[3][0] = None  # a missing value in an earlier column is no text
    with pytest.raises(runtime.ModelError, match=r"^inputs of dtype object are not numbers \(column '5', row 1: "
                                                 r"'n/a'\): pass numbers \(uint8 images, or floats\)$"):
        model.classify(table)


def test_a_csv_model_from_before_column_names_refuses_a_table_of_named_columns(exported, tmp_path):
    """Such a model (trained on a CSV before ssvae kept its column names: no input_columns key in model.json,
    none in config.json) would read a DataFrame's columns by their place, whatever their names: it is refused
    by the runtime, by `ssvae.inference` and by the run alike, and an array is still read. Exporting such a run
    again keeps the key out. An export of unnamed inputs (an .npz) writes the key, empty, and reads a table by
    position."""
    from ssvae import inference

    refused = (r"^this model was trained on a CSV before ssvae kept its column names, so a table's columns cannot "
               r"be found by name: train it again \(ssvae train --data FILE.csv\), or pass an array of the columns in "
               r"the training CSV's order$")
    model = runtime.load(exported[1])
    info = {**{k: v for k, v in model.info.items() if k != "input_columns"}, "dataset": "wine.csv"}
    model = runtime.ExportedModel(model.model_dir, model.sessions, info)
    digits = np.random.default_rng(0).random((3, 64))
    table = NamedColumns({k: list(digits[:, k]) for k in range(64)})
    for call in (model.classify, lambda t: inference.predict(model, t, tmp_path / "p.csv", progress=False)):
        with pytest.raises(runtime.ModelError, match=refused):
            call(table)
    np.testing.assert_array_equal(model.classify(digits), runtime.load(exported[1]).classify(digits))

    rows = ["a,b,label", *(f"{k % 5},{k % 3},{k % 2}" for k in range(40))]
    (tmp_path / "old.csv").write_text("\n".join(rows) + "\n")
    ssvae.train(data=str(tmp_path / "old.csv"), model="supervised", epochs=1, out=tmp_path / "old", progress=False)
    config = json.loads((tmp_path / "old" / "config.json").read_text())
    del config["input_columns"]  # as a run written before the field
    (tmp_path / "old" / "config.json").write_text(json.dumps(config))
    old = ssvae.load(tmp_path / "old")
    assert old.config.input_columns is None
    x = np.array([[1.0, 2.0], [4.0, 0.0]])
    with pytest.raises(DataError, match=refused):
        old.classify(NamedColumns({"a": list(x[:, 0]), "b": list(x[:, 1])}))
    ssvae.export(old, tmp_path / "old-export")
    assert "input_columns" not in json.loads((tmp_path / "old-export" / "model.json").read_text())
    reexported = runtime.load(tmp_path / "old-export")
    with pytest.raises(runtime.ModelError, match=refused):
        reexported.classify(NamedColumns({"a": list(x[:, 0]), "b": list(x[:, 1])}))
    np.testing.assert_allclose(reexported.classify(x), old.classify(x), atol=1e-5)

    k = np.arange(40)
    np.savez(tmp_path / "unnamed.npz", x=np.column_stack([k % 5, k % 3, k]).astype(np.float32), y=k % 2)
    run = ssvae.train(data=str(tmp_path / "unnamed.npz"), model="supervised", epochs=1, progress=False)
    ssvae.export(run, tmp_path / "unnamed")
    by_position = runtime.load(tmp_path / "unnamed")
    assert by_position.info["input_columns"] == [] and by_position.info["dataset"] == "unnamed.npz"
    x = np.array([[1.0, 2.0, 3.0], [4.0, 0.0, 1.0]])
    renamed = NullableColumns({"p": list(x[:, 0]), "q": list(x[:, 1]), "r": list(x[:, 2])})  # names it never saw
    np.testing.assert_array_equal(by_position.classify(renamed), by_position.classify(x))


def _write_csv(path: Path, columns: dict[str, list]) -> None:
    rows = zip(*columns.values())
    path.write_text("\n".join([",".join(columns), *(",".join(map(str, row)) for row in rows)]) + "\n")


def test_a_tsv_is_read_as_a_csv_whose_fields_tabs_separate(runner, tmp_path):
    """A .tsv (as bioinformatics tools and spreadsheets' text export write tables) was refused with "rename it
    .csv": it trains as the CSV of the same rows does, and its model labels either alike, commas in its fields
    and all."""
    import csv

    rng = np.random.default_rng(0)
    y = np.arange(120) % 2
    rows = [["name", "a", "b", "kind"], *([f"plant {i}, pot {i % 7}", round(rng.normal() + 4 * k, 3),
                                           round(rng.normal(), 3), ("iris", "rose")[k] if i < 40 else ""]
                                          for i, k in enumerate(y))]
    for table, separator in (("t.tsv", "\t"), ("t.csv", ",")):
        with open(tmp_path / table, "w", newline="") as f:
            csv.writer(f, delimiter=separator, lineterminator="\n").writerows(rows)
        result = runner.invoke(main, ["train", "--data", str(tmp_path / table), "--label-column", "kind",
                                      "--ignore-columns", "name", "--epochs", "5", "--hidden", "8",
                                      "--classifier-hidden", "8", "--latent-dim", "2", "--quiet", "--out",
                                      str(tmp_path / f"{table}-run")])
        assert result.exit_code == 0, result.output
    runs = [ssvae.load(tmp_path / f"{table}-run") for table in ("t.tsv", "t.csv")]
    np.testing.assert_array_equal(runs[0].partition().unlabelled.x, runs[1].partition().unlabelled.x)
    assert runs[0].config.input_columns == runs[1].config.input_columns == ("a", "b")
    assert runs[0].split == runs[1].split and runs[0].config.class_names == ("iris", "rose")
    assert runner.invoke(main, ["export", str(tmp_path / "t.tsv-run"), "--out", str(tmp_path / "m")]).exit_code == 0
    for table in ("t.tsv", "t.csv"):
        result = runner.invoke(main, ["predict", str(tmp_path / "m"), "--data", str(tmp_path / table), "--id-column",
                                      "name", "--out", str(tmp_path / f"{table}-labels.csv"), "--quiet"])
        assert result.exit_code == 0, result.output
    labels = [(tmp_path / f"{table}-labels.csv").read_text() for table in ("t.tsv", "t.csv")]
    assert labels[0] == labels[1] and labels[0].count("\n") == 121 and '\n"plant 0, pot 0",' in labels[0]


def test_a_table_model_reads_uint8_inputs_as_the_numbers_they_are(runner, tmp_path):
    """A CSV's columns are numbers, never pixels: its model must not divide uint8 inputs by 255 as an image
    model does (it labelled every digit of a table 4)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    rows = [",".join(["id", *(f"p{k}" for k in range(64)), "label"])]
    rows += [",".join([f"r{i}", *map(str, map(int, x)), str(y)]) for i, (x, y) in enumerate(zip(digits.data, digits.target))]
    (tmp_path / "digits.csv").write_text("\n".join(rows) + "\n")
    result = runner.invoke(main, ["train", "--data", str(tmp_path / "digits.csv"), "--model", "supervised",
                                  "--labels", "200", "--epochs", "20", "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0
    model, run = runtime.load(tmp_path / "model"), ssvae.load(tmp_path / "run")
    assert model.info["uint8_divisor"] == 1 and model.info["preprocessing"].startswith("inputs, uint8 too, are used")
    x = digits.data[:300]
    for classify in (model.classify, run.classify):
        as_floats = classify(x.astype(np.float32))
        np.testing.assert_array_equal(classify(x.astype(np.uint8)), as_floats)
        assert (as_floats.argmax(1) == digits.target[:300]).mean() > 0.8


def test_a_csv_as_it_comes_trains_with_its_label_column_named_and_its_text_columns_left_out(runner, tmp_path):
    """Classes in 'species', names and dates beside the numbers: --label-column and --ignore-columns (given
    once a column, which kept the last alone) train on the file as it is. The run keeps them (the model card's
    command says them), its model reads its labels from 'species' in evaluate, generate writes that column,
    and predict --unlabelled-only labels the rows without one there."""
    rng = np.random.default_rng(0)

    def table(n: int, labelled: int) -> dict[str, list]:
        y = np.arange(n) % 2
        return {"name": [f"plant {i}" for i in range(n)], "a": (rng.normal(size=n) + 4 * y).tolist(),
                "species": [("iris", "rose")[k] if i < labelled else "" for i, k in enumerate(y)],
                "date": [f"2026-05-{1 + i % 28:02d}" for i in range(n)], "b": rng.normal(size=n).tolist()}

    _write_csv(tmp_path / "train.csv", table(200, 12))
    _write_csv(tmp_path / "test.csv", table(40, 40))
    run, model = tmp_path / "run", tmp_path / "model"
    result = runner.invoke(main, ["train", "--data", str(tmp_path / "train.csv"), "--label-column", "species",
                                  "--ignore-columns", "name", "--ignore-columns", "date",  # as name,date
                                  "--test-data", str(tmp_path / "test.csv"),
                                  "--labels", "all", "--epochs", "30", "--lr", "0.01", "--hidden", "8",
                                  "--classifier-hidden", "8", "--latent-dim", "2", "--quiet", "--out", str(run)])
    assert result.exit_code == 0, result.output
    config = json.loads((run / "config.json").read_text())
    assert (config["label_column"], config["ignore_columns"], config["input_columns"]) == ("species", ["name", "date"],
                                                                                           ["a", "b"])
    assert "on 40 examples of test.csv  |  labels seen 12" in result.output
    accuracy = json.loads(runner.invoke(main, ["evaluate", str(run), "--json"]).stdout)["accuracy"]
    assert accuracy > 0.75  # it learnt (chance: 0.5)
    assert runner.invoke(main, ["export", str(run), "--out", str(model)]).exit_code == 0
    assert json.loads((model / "model.json").read_text())["label_column"] == "species"
    assert "--label-column species --ignore-columns name,date" in (model / "model_card.md").read_text()
    report = json.loads(runner.invoke(main, ["evaluate", str(model), "--data", str(tmp_path / "test.csv"),
                                             "--json"]).stdout)
    assert (report["n_test"], report["accuracy"]) == (40, accuracy)
    result = runner.invoke(main, ["generate", str(model), "--per-class", "2", "--out", str(tmp_path / "new.csv")])
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "new.csv").read_text().splitlines()
    assert lines[0] == "id,species,a,b" and [line.split(",")[1] for line in lines[1:]] == ["iris"] * 2 + ["rose"] * 2
    for flags, out in (([], "all.csv"), (["--unlabelled-only"], "unlabelled.csv")):  # labels for the 188 without
        result = runner.invoke(main, ["predict", str(model), "--data", str(tmp_path / "train.csv"), *flags,
                                      "--out", str(tmp_path / out)])
        assert result.exit_code == 0, result.output
    every, unlabelled = ((tmp_path / out).read_text().splitlines() for out in ("all.csv", "unlabelled.csv"))
    assert [line.split(",")[0] for line in unlabelled[1:]] == [str(k) for k in range(12, 200)]  # ids among all rows
    assert unlabelled == every[:1] + every[13:]
    with pytest.raises(ssvae.DataError, match=r"^unlabelled_only reads the labels of a file"):
        ssvae.inference.predict(model, np.zeros((2, 2), np.float32), tmp_path / "p.csv", unlabelled_only=True)
    for command, out in (("predict", "named.csv"), ("score", "named-scores.csv")):  # the rows named by 'name'
        result = runner.invoke(main, [command, str(model), "--data", str(tmp_path / "train.csv"), "--id-column",
                                      "name", "--out", str(tmp_path / out), "--quiet"])
        assert result.exit_code == 0, result.output
    named = (tmp_path / "named.csv").read_text().splitlines()
    assert [line.split(",", 1)[1] for line in named] == [line.split(",", 1)[1] for line in every]
    assert [line.split(",")[0] for line in named[1:]] == [f"plant {i}" for i in range(200)]
    scored = (tmp_path / "named-scores.csv").read_text().splitlines()
    assert sorted(line.split(",")[0] for line in scored[1:]) == sorted(f"plant {i}" for i in range(200))
    for args, message in ((["--data", str(tmp_path / "train.csv"), "--id-column", "Name"],
                           f"Error: {tmp_path / 'train.csv'}: has no column 'Name' to name the rows by (--id-column, "
                           f"id_column= in Python): its columns are name, a, species, date, b\n"),
                          (["--data", str(tmp_path / "x.npy"), "--id-column", "name"],
                           f"Error: {tmp_path / 'x.npy'}: --id-column name (id_column= in Python) names a column of a "
                           f"CSV, and these inputs are none: leave it out (images are named by their files, other "
                           f"rows by their number)\n")):
        np.save(tmp_path / "x.npy", np.zeros((2, 2), np.float32))
        result = runner.invoke(main, ["predict", str(model), *args, "--out", str(tmp_path / "p.csv"), "--force"])
        assert (result.exit_code, result.output) == (1, message)
    with pytest.raises(ssvae.DataError, match=r"^id_column names a column of a CSV file: give the path"):
        ssvae.inference.score(model, np.zeros((2, 2), np.float32), tmp_path / "s.csv", id_column="name")


def test_a_csv_trains_on_every_label_and_is_tested_on_test_data_of_its_own(runner, tmp_path):
    """--test-data: no label of train.csv is held out, and the run, its report and its export are tested on
    test.csv; evaluate --data tests on any labelled file, here the same rows with the columns shuffled."""
    rng = np.random.default_rng(0)

    def table(n: int, labelled: int) -> dict[str, list]:
        y = np.arange(n) % 2
        return {"a": (rng.normal(size=n) + 4 * y).tolist(), "b": rng.normal(size=n).tolist(),
                "label": [("no", "yes")[k] if i < labelled else "" for i, k in enumerate(y)]}

    _write_csv(tmp_path / "train.csv", table(200, 12))
    test = table(41, 40)
    _write_csv(tmp_path / "test.csv", test)
    _write_csv(tmp_path / "shuffled.csv", {"label": test["label"], "id": list(range(41)), "b": test["b"],
                                           "a": test["a"]})
    result = runner.invoke(main, ["train", "--data", str(tmp_path / "train.csv"), "--test-data",
                                  str(tmp_path / "test.csv"), "--labels", "all", "--epochs", "30", "--lr", "0.01", "--hidden", "8",
                                  "--classifier-hidden", "8", "--latent-dim", "2", "--quiet", "--out",
                                  str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "on 40 examples of test.csv  |  labels seen 12" in result.output  # its labelled rows; every label trains
    run = ssvae.load(tmp_path / "run")
    expected = float((run.classify(np.column_stack([test["a"], test["b"]])[:40]).argmax(1)
                      == np.arange(40) % 2).mean())
    reports = [json.loads(runner.invoke(main, ["evaluate", str(tmp_path / "run"), *data, "--json"]).stdout)
               for data in ([], ["--data", str(tmp_path / "shuffled.csv")])]
    assert [(r["n_test"], r["accuracy"], Path(r["test_data"]).name) for r in reports] == [
        (40, expected, "test.csv"), (40, expected, "shuffled.csv")]
    assert expected > 0.75  # it learnt (chance: 0.5)
    text = runner.invoke(main, ["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "shuffled.csv")]).stdout
    assert "test examples  40 (shuffled.csv)\n" in text
    assert runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0
    card = (tmp_path / "model" / "model_card.md").read_text()
    assert f"--test-data {tmp_path / 'test.csv'} --labels all" in card and f"| {100 * expected:.2f} % |" in card
    result = runner.invoke(main, ["evaluate", str(tmp_path / "run"), "--data", str(tmp_path / "missing.csv")])
    assert result.exit_code == 1 and "missing.csv: no such file or folder" in result.output


@pytest.mark.filterwarnings("ignore:--test-data .* fewer than 5 a class:UserWarning")  # tiny test data, as meant
def test_a_model_tested_on_data_of_its_own_has_no_test_split_of_its_data_set(runner, tmp_path, monkeypatch):
    """A digits run with --test-data trained on every digit: predict --dataset digits used to give 450 of
    them as "the test split the model was evaluated on", some of them labelled in training."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    for k in range(3):
        (tmp_path / "scans" / str(k)).mkdir(parents=True)
        Image.fromarray((digits.images[k] * 255 / 16).round().astype(np.uint8)).save(tmp_path / "scans" / f"{k}/a.png")
    result = runner.invoke(main, ["train", *TINY_ARGS, "--test-data", str(tmp_path / "scans"), "--out",
                                  str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert "on 3 examples of scans  |" in result.output
    monkeypatch.chdir(tmp_path / "scans")
    result = runner.invoke(main, ["evaluate", str(tmp_path / "run"), "--data", "."])
    assert "test examples  3 (scans)\n" in result.output  # the folder's name, not "."
    (tmp_path / "scans").rename(tmp_path / "moved")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["evaluate", str(tmp_path / "run")])
    assert result.output == (f"Error: {tmp_path / 'scans'}: no such file or folder, and the run was trained on it: "
                             f"put it back, or set \"test_data\" in {tmp_path / 'run' / 'config.json'} to where it "
                             f"is now\n")
    (tmp_path / "moved").rename(tmp_path / "scans")
    assert runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["test_data"] == "scans" and "test_fraction" not in meta  # nothing was held out
    result = runner.invoke(main, ["predict", str(tmp_path / "model"), "--dataset", "digits", "--out", "-"])
    assert result.exit_code == 1
    assert result.output == ("Error: the model was tested on scans, not on a test split of digits: pass those data "
                             "with --data (--split train gives every example of digits, all of which it trained on)\n")
    result = runner.invoke(main, ["predict", str(tmp_path / "model"), "--dataset", "digits", "--split", "train",
                                  "--out", "-", "--quiet"])
    rows = [line for line in result.stdout.splitlines() if not line.startswith("wrote to")]  # click < 8.2 mixes
    assert result.exit_code == 0 and len(rows) == 1 + 1797  # stderr's line in
    result = runner.invoke(main, ["generate", str(tmp_path / "model"), "--analogies", "digits", "--out",
                                  str(tmp_path / "a.png")])  # any of the digits will do
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["generate", str(tmp_path / "model"), "--analogies", str(tmp_path / "scans"),
                                  "--out", str(tmp_path / "b.png")])  # a folder: no split of its own to choose
    assert result.exit_code == 0, result.output
    (tmp_path / "models").mkdir()
    (tmp_path / "model").rename(tmp_path / "models" / "digits")
    result = runner.invoke(main, ["evaluate", str(tmp_path / "models"), "--data", str(tmp_path / "scans")])
    assert result.output == (f"Error: {tmp_path / 'models'} holds model folders (digits), not a model's files: pass "
                             f"one of them, e.g. {tmp_path / 'models' / 'digits'}\n")
    np.savez(tmp_path / "bright.npz", x=digits.images[:3] * 16, y=np.arange(3))  # 0..256, not [0, 1]
    result = runner.invoke(main, ["train", *TINY_ARGS, "--test-data", str(tmp_path / "bright.npz"), "--out",
                                  str(tmp_path / "run2")])
    assert result.output.endswith("bright.npz: inputs range over [0, 256] but the bernoulli likelihood needs [0, 1]: "
                                  "scale them as the training data are\n")  # not: change the model's likelihood


def test_predict_reads_a_csv_by_the_column_names_the_model_was_trained_on(runner, tmp_path):
    """Columns in another order, or with one more, are found by name; a missing one is named."""
    from ssvae.inference import predict

    rng = np.random.default_rng(0)
    y = np.arange(60) % 3
    table = {"id": [f"r{k}" for k in range(60)], "a": rng.normal(size=60) + 3 * y, "b": 10 * rng.normal(size=60),
             "c": 100 * rng.normal(size=60) - 300 * y, "label": y.tolist()}
    _write_csv(tmp_path / "train.csv", table)
    result = runner.invoke(main, ["train", "--data", str(tmp_path / "train.csv"), "--model", "supervised", "--labels",
                                  "30", "--epochs", "100", "--lr", "0.01", "--classifier-hidden", "8", "--out",
                                  str(tmp_path / "run")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "run" / "config.json").read_text())["input_columns"] == ["a", "b", "c"]
    assert runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0
    info = runner.invoke(main, ["info", str(tmp_path / "model")]).output
    assert re.search(r"\n  input_columns +a, b, c\n", info) and re.search(r"\n  input_range +-\n", info)  # standardised
    assert "(columns a, b, c, read by name)" in (tmp_path / "model" / "model_card.md").read_text()
    shuffled = {"c": table["c"], "extra": [0] * 60, "id": table["id"], "b": table["b"], "a": table["a"]}
    _write_csv(tmp_path / "shuffled.csv", shuffled)
    for name in ("train", "shuffled"):
        result = runner.invoke(main, ["predict", str(tmp_path / "model"), "--data", str(tmp_path / f"{name}.csv"),
                                      "--out", str(tmp_path / f"{name}-predictions.csv"), "--quiet"])
        assert result.exit_code == 0, result.output
    predictions = (tmp_path / "train-predictions.csv").read_text()
    assert (tmp_path / "shuffled-predictions.csv").read_text() == predictions
    assert len(set(line.split(",")[1] for line in predictions.splitlines()[1:])) == 3  # it learnt every class
    model = runtime.load(tmp_path / "model")  # a table with named columns (a DataFrame) is read by name
    in_order = np.column_stack([table[name] for name in "abc"])
    np.testing.assert_array_equal(model.classify(NamedColumns(shuffled)), model.classify(in_order))
    predict(model, NamedColumns(shuffled), tmp_path / "table-predictions.csv", progress=False)  # so does inference,
    assert (tmp_path / "table-predictions.csv").read_text() == predictions  # with the id column's ids, as from a CSV
    indexed = NamedColumns({name: shuffled[name] for name in "cab"}, index=table["id"])  # no id column: the index's
    predict(model, indexed, tmp_path / "indexed-predictions.csv", progress=False)
    assert (tmp_path / "indexed-predictions.csv").read_text() == predictions
    spaced = {f" {name} " if name in "abc" else name: values for name, values in shuffled.items()}
    np.testing.assert_array_equal(model.classify(NamedColumns(spaced)), model.classify(in_order))  # as a CSV reads it
    with pytest.raises(runtime.ModelError, match="^the table has column 'a' more than once: give each "
                                                       "column its own name, so that it is clear which the model reads$"):
        model.classify(NamedColumns({**spaced, "a": table["a"]}))
    run = ssvae.load(tmp_path / "run")
    np.testing.assert_allclose(run.classify(NamedColumns(shuffled)), run.classify(in_order), rtol=1e-6)
    with pytest.raises(runtime.ModelError, match=r"^the table has no column 'b': the model reads columns "
                                                       r"a, b, c, found by name in any order$"):
        model.classify(NamedColumns({"a": table["a"], "c": table["c"]}))
    with pytest.raises(runtime.ModelError, match=r"^the table has none of the model's 3 input columns \(a, b, c\): is "
                                                       r"it data of another model\? The model reads its columns by "
                                                       r"name, in any order$"):  # it listed them twice
        model.classify(NamedColumns({"x": table["a"], "y": table["c"]}))
    with pytest.raises(runtime.ModelError, match=r"it takes \(N, 3\)$"):  # a table's shape, once
        model.classify(np.zeros((2, 4)))
    _write_csv(tmp_path / "no_b.csv", {"a": table["a"], "c": table["c"]})
    result = runner.invoke(main, ["predict", str(tmp_path / "model"), "--data", str(tmp_path / "no_b.csv")])
    assert result.exit_code == 1
    assert result.output.strip().endswith("no_b.csv has no column 'b': the model reads columns a, b, c, "
                                          "found by name in any order")


def test_predict_and_score_warn_of_ids_a_spreadsheet_takes_for_formulas(exported, tmp_path):
    """A file named `=1+1.png` went into the CSV as a formula a spreadsheet computes (so would `-1.png`); a CSV's
    id -1 is a number there, and rows numbered from 0 need no look."""
    from PIL import Image

    from ssvae.inference import predict, score

    (tmp_path / "images").mkdir()
    for name in ("=1+1.png", "@SUM(A1).png", "-1.png", "a.png"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "images" / name)
    model = runtime.load(exported[1])
    for write in (predict, score):
        with pytest.warns(UserWarning, match=r"^3 input id\(s\) begin with =, \+, - or @ \(e.g. '-1.png'\), which a "
                                             r"spreadsheet opening the CSV takes for a formula: rename those inputs if "
                                             r"the CSV goes to a spreadsheet$"):
            write(model, tmp_path / "images", tmp_path / f"{write.__name__}.csv", progress=False)
    columns = ",".join(f"x{k}" for k in range(64))
    (tmp_path / "rows.csv").write_text(f"id,{columns}\n" + "".join(f"{i},{','.join(['0'] * 64)}\n"
                                                                  for i in ("-1", "2", "=A1")))
    with pytest.warns(UserWarning, match=r"^1 input id\(s\) begin with .* \(e.g. '=A1'\)"):
        predict(model, tmp_path / "rows.csv", tmp_path / "p.csv", progress=False)
    np.save(tmp_path / "x.npy", np.zeros((3, 64), np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        predict(model, tmp_path / "x.npy", tmp_path / "rows.csv", progress=False, replace=True)


def test_predict_a_folder_of_images_names_rows_by_file(runner, exported, tmp_path):
    """Images of the model's size are kept whatever the first file's; 16-bit grey counts as its top 8 bits
    (PIL's conversion clipped it to white); transparent pixels count as black, whatever colour lies under
    them (here white, which PIL's conversion kept); a file name that is not UTF-8 becomes an id with escapes
    (it was a traceback)."""
    from PIL import Image

    inbox = tmp_path / "inbox"
    (inbox / "day2").mkdir(parents=True)
    pixels = np.random.default_rng(0).integers(0, 256, (8, 8), dtype=np.uint8)
    for name in ("b.png", "a.png", "day2/c.png"):
        Image.fromarray(pixels).save(inbox / name)
    Image.fromarray(pixels.astype(np.uint16) * 257).save(inbox / "a16.png")
    assert Image.open(inbox / "a16.png").mode in ("I;16", "I")  # I in Pillow 10
    white = np.full_like(pixels, 255)
    Image.fromarray(np.dstack([pixels] * 3 + [white])).save(inbox / "opaque.png")
    Image.fromarray(np.dstack([white] * 3 + [pixels])).save(inbox / "see-through.png")  # white under a.png
    Image.new("L", (16, 16)).save(inbox / "0_big.png")  # the first file: its size is not the model's
    Image.fromarray(pixels).save(os.fsencode(inbox) + b"/caf\xe9.png", format="PNG")  # Pillow 10 reads no suffix of bytes
    out = tmp_path / "p.csv"
    with pytest.warns(UserWarning, match=r"skipped 1 image\(s\): 0_big.png \(16x16, not 8x8\); resize them to 8x8, "
                                         r"the model's size, to use them$"):
        result = runner.invoke(main, ["predict", str(exported[1]), "--data", str(inbox), "--out", str(out)])
    assert result.exit_code == 0, result.output
    rows = {line.split(",")[0]: line.split(",")[1:] for line in out.read_text(encoding="utf-8").splitlines()[1:]}
    assert list(rows) == ["a.png", "a16.png", "b.png", "caf\\xe9.png", "day2/c.png", "opaque.png", "see-through.png"]
    assert all(rows[name] == rows["a.png"] for name in rows)  # the same pixels, read alike
    one = tmp_path / "one.csv"  # a single image is read as a folder's are ("cannot read .png" before)
    result = runner.invoke(main, ["predict", str(exported[1]), "--data", str(inbox / "day2/c.png"), "--out", str(one)])
    assert result.exit_code == 0, result.output
    assert one.read_text().splitlines()[1:] == [",".join(["c.png", *rows["a.png"]])]
    result = runner.invoke(main, ["predict", str(exported[1]), "--data", str(inbox / "0_big.png"), "--out", str(one),
                                  "--force"])  # the error names the image, not the folder that holds it
    assert result.exit_code == 1 and f"Error: {inbox / '0_big.png'}: none of its 1 readable image(s) is 8x8" in \
        result.output


def test_score_lists_the_most_anomalous_first(runner, exported, tmp_path):
    real = load_digits_test()
    noise = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    np.savez(tmp_path / "mixed.npz", x=np.concatenate([real[:45], noise]))
    out = tmp_path / "scores.csv"
    result = runner.invoke(main, ["score", str(exported[1]), "--data", str(tmp_path / "mixed.npz"), "--out", str(out),
                                  "--quiet"])
    assert result.exit_code == 0, result.output
    rows = [line.split(",") for line in out.read_text().splitlines()]
    assert rows[0] == ["id", "score", "entropy"] and len(rows) == 51
    scores = [float(r[1]) for r in rows[1:]]
    assert scores == sorted(scores, reverse=True)
    assert {r[0] for r in rows[1:6]} == {"45", "46", "47", "48", "49"}  # the noise images
    reference = runtime.load(exported[1]).test_scores  # the export's test examples' 99th percentiles
    q99, h99 = reference["quantiles"]["0.99"], reference["entropy"]["quantiles"]["0.99"]
    above = {r[0] for r in rows[1:] if float(r[1]) > q99}
    unsure = {r[0] for r in rows[1:] if float(r[2]) > h99}
    assert result.output.strip() == (f"saved {out}: 50 scores in nats, median {np.median(scores):.2f}, highest "
                                     f"{scores[0]:.2f} (id {rows[1][0]}); {len(above)} above the 99th percentile "
                                     f"of the model's test examples' scores ({q99:.2f}); {len(unsure)} above the "
                                     f"99th percentile of their entropies ({h99:.2f}); {len(above | unsure)} above "
                                     f"either")
    assert len(above) >= 5  # the noise images at least
    np.savez(tmp_path / "one.npz", x=real[:1])
    reached = runtime.load(exported[1]).classify(real[:1]).max() >= np.array([0.999, 0.99, 0.9])
    shares = [" (none as confident)" if row["accuracy"] is None else f" ({100 * row['accuracy']:.2f} %)"
              if row["n"] >= 100 else f" ({round(row['accuracy'] * row['n'])} of {row['n']} right)"
              for row in runtime.load(exported[1]).test_confidence["levels"]]
    predict_confidence = ("by confidence, with the share of the model's test examples as confident that were right: "
                          + ", ".join(f"{int(r)} at least {level}{share}"
                                      for r, level, share in zip(reached, ("0.999", "0.99", "0.9"), shares)))
    first, first_entropy = (float(v) for v in next(r[1:] for r in rows[1:] if r[0] == "0"))  # noise drawn first
    flags = first > q99, first_entropy > h99
    for command, line in (("score", f"1 score in nats, median {first:.2f}, highest {first:.2f} (id 0); "
                                    f"{int(flags[0])} above the 99th percentile of the model's test examples' "
                                    f"scores ({q99:.2f}); {int(flags[1])} above the 99th percentile of their "
                                    f"entropies ({h99:.2f}); {int(any(flags))} above either"),
                          ("predict", f"1 prediction; {predict_confidence}")):
        result = runner.invoke(main, [command, str(exported[1]), "--data", str(tmp_path / "one.npz"), "--out",
                                      str(tmp_path / f"one-{command}.csv"), "--quiet"])
        assert result.output.strip() == f"saved {tmp_path / f'one-{command}.csv'}: {line}", result.output
    int8 = tmp_path / "int8.csv"  # the export's int8 encoder and decoder, with the same noise
    result = runner.invoke(main, ["score", str(exported[1]), "--data", str(tmp_path / "mixed.npz"), "--out", str(int8),
                                  "--quiet", "--precision", "int8"])
    assert result.exit_code == 0, result.output
    approximate, exact = read_scores(int8), read_scores(out)
    assert approximate != exact and approximate.keys() == exact.keys()
    np.testing.assert_allclose([approximate[i] for i in exact], list(exact.values()), rtol=0.05)


@pytest.mark.parametrize("command, options", [("predict", []), ("score", []), ("score", ["--samples", "3"])])
def test_predict_and_score_in_small_batches_write_what_one_batch_writes(runner, exported, tmp_path, command,
                                                                        options):
    """450 rows in batches of 7: every row once, and each score drawn with the noise a single batch gives
    its row (the scores once depended on the batch size, and with them the ranking)."""
    outs = {}
    for size in ("1024", "7"):
        outs[size] = tmp_path / f"{command}{size}.csv"
        args = [command, str(exported[1]), "--dataset", "digits", "--out", str(outs[size]), "--quiet",
                "--batch-size", size, *options]
        assert runner.invoke(main, args).exit_code == 0
    if command == "predict":
        assert outs["7"].read_text() == outs["1024"].read_text()
        return
    one, small = read_scores(outs["1024"]), read_scores(outs["7"])
    assert len(one) == 450 and small.keys() == one.keys()
    np.testing.assert_allclose([small[i] for i in one], list(one.values()), rtol=1e-5)


def read_scores(path: Path) -> dict[str, float]:
    """A scores CSV as id -> score."""
    return {id_: float(value) for id_, value, _ in (line.split(",") for line in path.read_text().splitlines()[1:])}


def load_digits_test():
    from ssvae.data.inputs import read_inputs

    return read_inputs(dataset="digits").x


def test_generate_writes_a_png_grid_of_the_right_size(runner, exported, tmp_path, monkeypatch):
    """Cells of 8 pixels with 1-pixel lines, times the scale; beside the rows, their class names in Pillow's
    font (4 pixels either side); above the analogies' columns, a line of their names, which fit upright."""
    from PIL import Image, ImageFont

    font = ImageFont.load_default()
    digit, word = font.getbbox("0")[2] + 8, font.getbbox("Ag/|")[3] + 8  # a line above: "input" fits its column
    out = tmp_path / "grid.png"
    result = runner.invoke(main, ["generate", str(exported[1]), "--per-class", "6", "--scale", "3", "--out", str(out)])
    assert result.output == f"saved {out}: {(6 * 9 + 1) * 3 + digit}x273 pixels; rows: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"
    with Image.open(out) as image:  # 10 rows of 6 cells of 8 pixels, 1-pixel lines, times 3
        assert image.size == ((6 * 9 + 1) * 3 + digit, (10 * 9 + 1) * 3) and image.mode == "L"
    result = runner.invoke(main, ["generate", str(exported[1]), "--class", "8", "--class", "1", "--out", str(out),
                                  "--force"])
    assert result.output == f"saved {out}: {292 + digit}x76 pixels; rows: 8, 1\n"  # 2 rows of 8 cells, scale 4
    result = runner.invoke(main, ["generate", str(exported[1]), "--analogies", "digits", "--class", "4", "--out",
                                  str(out), "--force"])
    assert result.output == f"saved {out}: 76x{292 + word} pixels; columns: the input, then 4; rows: 8 inputs (the " \
                            f"first of 450: --rows for more)\n"
    result = runner.invoke(main, ["generate", str(exported[1]), "--per-class", "6", "--scale", "1", "--out", str(out),
                                  "--force"])
    assert result.output == f"saved {out}: 55x91 pixels; rows: 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\n"  # no line fits
    out = tmp_path / "analogies.png"
    result = runner.invoke(main, ["generate", str(exported[1]), "--analogies", "digits", "--rows", "4", "--out", str(out)])
    assert result.exit_code == 0, result.output
    with Image.open(out) as image:  # 4 inputs, each with its 10 classes; 8x8 cells scaled 4x
        assert image.size == ((11 * 9 + 1) * 4, (4 * 9 + 1) * 4 + word)
    (tmp_path / "digits").mkdir()  # a folder of one's own named as the built-in set is read as the folder
    for name in ("a.png", "b.png"):
        Image.fromarray(np.full((8, 8), 200, np.uint8)).save(tmp_path / "digits" / name)
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["generate", str(exported[1]), "--analogies", "digits", "--rows", "4", "--out",
                                  "own.png"])
    assert result.exit_code == 0, result.output
    with Image.open(tmp_path / "own.png") as image:  # its 2 images, not 4 of the built-in set
        assert image.size == ((11 * 9 + 1) * 4, (2 * 9 + 1) * 4 + word)


def test_generate_writes_samples_and_analogies_as_csv_rows_that_evaluate_reads(runner, exported, tmp_path):
    """``--out NAME.csv``: one row an example, its id, class name and pixels (x0 ... x63, as the model
    flattens them) at six significant digits; ``ssvae evaluate`` reads the file back as labelled data."""
    import csv

    from ssvae.inference import model_inputs, sample_grid

    model = runtime.load(exported[1])
    out = tmp_path / "s.csv"
    result = runner.invoke(main, ["generate", str(exported[1]), "--per-class", "3", "--seed", "5", "--out", str(out)])
    assert result.exit_code == 0 and result.output == f"saved {out}: 30 examples, 3 of each class\n", result.output
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["id", "label", *(f"x{i}" for i in range(64))]
    assert [row[:2] for row in rows[1:]] == [[str(i), str(i // 3)] for i in range(30)]
    expected = sample_grid(model, 3, 5).reshape(30, 64)
    np.testing.assert_allclose(np.array([row[2:] for row in rows[1:]], float), expected, rtol=5e-6, atol=1e-30)
    report = json.loads(runner.invoke(main, ["evaluate", str(exported[1]), "--data", str(out), "--json"]).stdout)
    assert report["n_test"] == 30 and [sum(row) for row in report["confusion"]] == [3] * 10
    assert report["accuracy"] == float((model.classify(expected).argmax(1) == np.arange(30) // 3).mean())

    out = tmp_path / "a.csv"
    result = runner.invoke(main, ["generate", str(exported[1]), "--analogies", "digits", "--rows", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    inputs = model_inputs(model, dataset="digits")
    rows = list(csv.reader(out.open()))
    assert [row[:2] for row in rows[1:]] == [[f"{inputs.ids[i]} as {k}", str(k)] for i in range(2) for k in range(10)]
    np.testing.assert_allclose(np.array([row[2:] for row in rows[1:]], float),
                               model.analogies(inputs.x[:2]).reshape(20, 64), rtol=5e-6, atol=1e-30)
    assert result.output == f"saved {out}: 20 examples: 2 inputs (the first of 450: --rows for more), each drawn in " \
                            f"the 10 classes\n"
    result = runner.invoke(main, ["predict", str(exported[1]), "--data", str(out), "--out", "-", "--quiet"])
    assert result.exit_code == 0 and "Warning" not in result.output  # an id a row: no repeated ids to warn of
    assert [row[0] for row in csv.reader(result.stdout.splitlines()[1:])] == [row[0] for row in rows[1:]]

    result = runner.invoke(main, ["generate", str(exported[1]), "--per-class", "3", "--seed", "5", "--class", "9",
                                  "--class", "3", "--out", "-"])
    rows = list(csv.reader(result.stdout.splitlines()))
    assert [row[:2] for row in rows[1:]] == [[str(i), "93"[i // 3]] for i in range(6)]
    np.testing.assert_allclose(np.array([row[2:] for row in rows[1:]], float), expected.reshape(10, 3, 64)[[9, 3]]
                               .reshape(6, 64), rtol=5e-6, atol=1e-30)  # the rows of the whole grid
    result = runner.invoke(main, ["generate", str(exported[1]), "--class", "9", "--class", "3", "--out", str(out),
                                  "--force"])
    assert result.output == f"saved {out}: 16 examples, 8 of each of classes 9, 3\n"
    result = runner.invoke(main, ["generate", str(exported[1]), "--class", "4", "--per-class", "5", "--out", str(out),
                                  "--force"])
    assert result.output == f"saved {out}: 5 examples, 5 of class 4\n"
    every = [arg for k in reversed(range(10)) for arg in ("--class", str(k))]  # all ten, in another order: named
    result = runner.invoke(main, ["generate", str(exported[1]), *every, "--per-class", "1", "--out", str(out),
                                  "--force"])
    assert result.output == f"saved {out}: 10 examples, 1 of each of classes 9, 8, 7, 6, 5, 4, 3, 2, 1, 0\n"
    result = runner.invoke(main, ["generate", str(exported[1]), "--analogies", "digits", "--rows", "2", "--class",
                                  "4", "--out", str(out), "--force"])
    assert result.output == f"saved {out}: 2 examples: 2 inputs (the first of 450: --rows for more), each drawn in " \
                            f"class 4\n"
    result = runner.invoke(main, ["generate", str(exported[1]), "--class", "nine", "--out", str(out), "--force"])
    assert result.exit_code == 1 and result.output == ("Error: class 'nine' is not one of 0, 1, 2, 3, 4, 5, 6, 7, 8, "
                                                       "9: give --class (classes= in Python) the classes as ssvae "
                                                       "info lists them\n")
    assert len(list(csv.reader(out.open()))) == 3  # the file written before is kept


def test_generate_draws_a_table_models_examples_in_its_columns_and_units(runner, tmp_path, monkeypatch):
    """A model of a CSV has no picture: its samples are rows under its own column names, in the units of
    the data (not standardised), each class's near that class's data; a PNG is refused with the fix."""
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    names = np.array(["cat", "dog", "eel"])
    table = {"a": rng.normal(size=90) + 3 * y, "c": 100 + 10 * rng.normal(size=90) - 300 * y,
             "label": [names[y[i]] if i < 30 else "" for i in range(90)]}  # 30 labelled, 60 not
    _write_csv(tmp_path / "train.csv", table)
    with pytest.warns(UserWarning, match="the test set is 8 of the 30 labelled examples"):  # a small table's lot
        result = runner.invoke(main, ["train", "--data", str(tmp_path / "train.csv"), "--labels", "12", "--epochs",
                                      "60", "--out", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(main, ["generate", "model", "--per-class", "20"])
    assert result.exit_code == 0 and result.output == "saved samples.csv: 60 examples, 20 of each class\n"
    lines = (tmp_path / "samples.csv").read_text().splitlines()
    assert lines[0] == "id,label,a,c"
    assert [line.split(",")[1] for line in lines[1:]] == ["cat"] * 20 + ["dog"] * 20 + ["eel"] * 20
    drawn = np.array([line.split(",")[2:] for line in lines[1:]], float).reshape(3, 20, 2).mean(1)
    data = np.array([[np.mean(np.array(table[column])[y == k]) for column in "ac"] for k in range(3)])
    assert (np.abs(drawn - data) < [1.0, 60.0]).all()  # the classes' means lie 3 and 300 apart
    spreads = {}
    for noise in ([], ["--noise"]):  # draws from p(x|y,z), around the means: more spread (the recipe's test is exact)
        result = runner.invoke(main, ["generate", "model", "--per-class", "200", "--out", "s.csv", "--force", *noise])
        assert result.exit_code == 0, result.output
        rows = [line.split(",") for line in (tmp_path / "s.csv").read_text().splitlines()[1:]]
        spreads[bool(noise)] = np.array([row[2:] for row in rows], float).reshape(3, 200, 2).std(1)
    assert (spreads[True] > 1.5 * spreads[False]).all()
    for more in ([], ["--analogies", "no-such-folder"]):  # said before any input is read
        result = runner.invoke(main, ["generate", "model", "--out", "s.png", *more])
        assert result.exit_code == 1 and result.output == (
            "Error: this model's inputs have shape (2,), not (channels, height, width) with 1 or 3 channels: there is "
            "no picture to draw; give --out a name ending in .csv (or - for standard output) to have the examples as "
            "rows of numbers\n")
    assert not (tmp_path / "s.png").exists()


def test_a_folder_shipped_with_its_int8_graphs_alone_is_shown_and_named(runner, exported, tmp_path):
    """The README suggests shipping the int8 copy: info shows it, and the other commands say which
    --precision the folder takes, where they said only that it was incomplete."""
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    for file in exported[1].iterdir():
        if file.name.endswith(".int8.onnx") or file.name == "model.json":
            shutil.copy(file, shipped / file.name)
    result = runner.invoke(main, ["info", str(shipped), "--json"])
    assert result.exit_code == 0, result.output
    description = json.loads(result.output)
    assert description["precisions"] == ["int8"] and description["graphs"]["classifier"]["file"] == "classifier.int8.onnx"
    result = runner.invoke(main, ["predict", str(shipped), "--dataset", "digits", "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 1 and result.output == (
        f"Error: {shipped / 'classifier.onnx'}: missing; {shipped} holds the int8 graphs only: pass --precision int8 "
        f"(precision='int8' in Python)\n")
    result = runner.invoke(main, ["predict", str(shipped), "--dataset", "digits", "--out", str(tmp_path / "p.csv"),
                                  "--precision", "int8", "--quiet"])
    assert result.exit_code == 0 and len((tmp_path / "p.csv").read_text().splitlines()) == 451
    shutil.copy(exported[1] / "encoder.onnx", shipped)  # a float32 graph there: an incomplete folder, not int8 alone
    result = runner.invoke(main, ["predict", str(shipped), "--dataset", "digits", "--out", str(tmp_path / "q.csv")])
    assert result.exit_code == 1 and result.output == (
        f"Error: {shipped / 'classifier.onnx'}: missing; {shipped} is not a complete model folder: export the run "
        f"again, or pass --precision int8 (precision='int8' in Python), whose graphs it holds\n")


def test_info_keeps_list_items_apart_where_one_holds_a_comma():
    assert plain(["2", "class,1", "class_0"]) == '2, "class,1", class_0'
    assert plain(["a", "b"]) == "a, b" and plain(None) == "-" and plain(0.5) == "0.5"
    from ssvae.report_text import _info_value

    assert _info_value("test_accuracy", 0.6) == "0.6000" and _info_value("test_accuracy", None) == "-"


def test_info_shows_metadata_and_graphs(runner, exported, tmp_path):
    result = runner.invoke(main, ["info", str(exported[1]), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["metadata"]["class_names"] == [str(k) for k in range(10)] and info["metadata"]["labels_seen"] == 100
    assert [i["name"] for i in info["graphs"]["decoder"]["inputs"]] == ["z", "y"]
    assert "role" not in info["metadata"] and re.fullmatch(r"[0-9a-f]{16}", info["metadata"]["weights"])
    assert info["precisions"] == ["float32", "int8"]  # exported with --quantize int8
    text = runner.invoke(main, ["info", str(exported[1])]).output
    assert "input  x              tensor(float)  [batch, 1, 8, 8]" in text
    scores = info["metadata"]["test_scores"]  # in words, in the order of the card
    assert re.search(rf"^  test_accuracy +0\.\d{{4}}\n  test_confidence +450 test examples by confidence, with the "
                     rf"share of them right: \d+ at least 0\.999 .*\n"
                     rf"  test_scores +450 test examples \(seed 0, one sample\): median "
                     rf"{scores['quantiles']['0.5']:.2f}, 90th percentile [\d.]+, 95th [\d.]+, 99th "
                     rf"{scores['quantiles']['0.99']:.2f}, highest {scores['max']:.2f} nats; entropies median "
                     rf"{scores['entropy']['quantiles']['0.5']:.3f}, 99th percentile [\d.]+, highest [\d.]+ nats\n"
                     rf"  precisions +float32, int8\n", text, re.MULTILINE)
    assert info["metadata"]["input_columns"] == [] and "input_columns" not in text  # an empty list, no line
    shutil.copytree(exported[1], tmp_path / "model", ignore=shutil.ignore_patterns("*.int8.onnx"))
    assert json.loads(runner.invoke(main, ["info", str(tmp_path / "model"), "--json"]).output)["precisions"] == [
        "float32"]


def test_info_and_evaluate_read_a_folder_of_bare_graphs_and_name_a_missing_folder(runner, exported, tmp_path):
    """Graphs copied without model.json still carry their metadata, so info reads them and evaluate tests them
    (it took the folder for a run: "bare/config.json: missing"); a mistyped folder is named as a model or run
    folder (info reads both; it said "no such model folder; make one with 'ssvae export'")."""
    shutil.copytree(exported[1], tmp_path / "bare", ignore=shutil.ignore_patterns("model.json", "model_card.md"))
    result = runner.invoke(main, ["info", str(tmp_path / "bare")])
    assert result.exit_code == 0 and re.search(r"^  class_names +0, 1, 2, 3, 4, 5, 6, 7, 8, 9$", result.output,
                                               re.MULTILINE), result.output
    reports = [json.loads(runner.invoke(main, ["evaluate", str(folder), "--dataset", "digits", "--json"]).stdout)
               for folder in (exported[1], tmp_path / "bare")]
    assert reports[1] == reports[0] and reports[0]["n_test"] == 450
    (tmp_path / "bare" / "classifier.onnx").unlink()  # evaluate said "bare/config.json: missing": a run's file
    assert runner.invoke(main, ["evaluate", str(tmp_path / "bare"), "--dataset", "digits"]).output == (
        f"Error: {tmp_path / 'bare' / 'classifier.onnx'}: missing; {tmp_path / 'bare'} is not a complete model "
        f"folder: export the run again, or pass --precision int8 (precision='int8' in Python), whose graphs it holds\n")
    missing = tmp_path / "nothere"
    result = runner.invoke(main, ["info", str(missing)])
    assert (result.exit_code, result.output) == (1, f"Error: {missing}: no such model or run folder; give the --out "
                                                    f"folder of 'ssvae export' or of 'ssvae train'\n")


def test_force_exports_over_a_model_folder_whose_name_ends_like_a_file(runner, exported, tmp_path):
    """--out wine.onnx is refused as a file's name, but a model folder already so named (made before that check)
    is a folder: --force writes the export over it."""
    run, model = exported
    shutil.copytree(model, tmp_path / "wine.onnx")
    (tmp_path / "wine.onnx" / "model.json").write_text("{}")
    result = runner.invoke(main, ["export", str(run), "--out", str(tmp_path / "wine.onnx"), "--force"])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "wine.onnx" / "model.json").read_text())["weights"] == json.loads(
        (model / "model.json").read_text())["weights"]


@pytest.mark.parametrize("links", [True, False])  # False: a file system without hard links (FAT)
def test_a_file_written_without_replace_never_lands_on_one_that_appeared(tmp_path, monkeypatch, links):
    if not links:
        monkeypatch.setattr(os, "link", lambda *args: (_ for _ in ()).throw(PermissionError(1, "Operation not "
                                                                                                "permitted")))
    path = tmp_path / "out.csv"
    with pytest.raises(RunError, match="out.csv already exists"):
        with files.atomic_open(path, replace=False) as f:
            f.write("mine")
            path.write_text("theirs")
    assert path.read_text() == "theirs" and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]
    path.unlink()
    with files.atomic_open(path, replace=False) as f:
        f.write("mine")
    assert path.read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_export_and_outputs_refuse_to_overwrite(runner, exported, tmp_path):
    run, model = exported
    result = runner.invoke(main, ["export", str(run), "--out", str(model)])
    assert result.exit_code == 1 and f"Error: {model} already exists" in result.output
    (tmp_path / "p.csv").write_text("mine")
    result = runner.invoke(main, ["predict", str(model), "--dataset", "digits", "--out", str(tmp_path / "p.csv")])
    assert result.exit_code == 1 and (tmp_path / "p.csv").read_text() == "mine"


def test_force_replaces_only_what_ssvae_wrote(runner, exported, tmp_path):
    """--force over a folder that is not a run directory or a model folder (a mistyped --out, such as '.'),
    or one that holds anything else beside ssvae's files (a config.json among a user's own files), deletes
    nothing; over a model folder it swaps the new one in and leaves no staging folder behind."""
    run, model = exported
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    commands = {"train": (["train", *TINY_ARGS], "run folder", "config.json"),
                "export": (["export", str(run)], "model folder", "model.json")}
    for command, kind, marker in commands.values():
        result = runner.invoke(main, [*command, "--out", str(mine), "--force"])
        assert result.exit_code == 1, result.output
        assert result.output.strip() == (f"Error: {mine} is not a {kind} written by ssvae (it has no {marker}), so "
                                         f"--force (replace=True) leaves it alone: choose another --out")
        assert (mine / "notes.txt").read_text() == "keep"
    (mine / "src").mkdir()
    for command, kind, marker in commands.values():  # the marker alone does not make the folder ssvae's
        (mine / marker).write_text("{}")
        result = runner.invoke(main, [*command, "--out", str(mine), "--force"])
        assert result.exit_code == 1, result.output
        assert result.output.strip() == (f"Error: {mine} holds what ssvae does not write in a {kind} (notes.txt, "
                                         f"src/), so --force (replace=True) leaves it alone: move those out or "
                                         f"choose another --out")
        assert (mine / "notes.txt").read_text() == "keep" and (mine / "src").is_dir()
        (mine / marker).unlink()
    with pytest.raises(RunError, match="is a folder: give --out the name of the file to write"):
        check_output(mine, replace=True)  # the API's file outputs (the command line's --out rejects folders)
    for command in (["predict", str(model), "--dataset", "digits"], ["export", str(run)]):  # a file, a folder
        result = runner.invoke(main, [*command, "--out", str(mine / "notes.txt" / "out" / "x.csv")])
        assert result.exit_code == 1, result.output
        assert result.output == (f"Error: {mine / 'notes.txt'} is a file, so it cannot hold "
                                 f"{mine / 'notes.txt' / 'out' / 'x.csv'}: give --out a path through folders\n")
    again = tmp_path / "again"
    shutil.copytree(model, again)  # an export of run with int8 copies, as `exported` made it
    (again / "my-finetuned.onnx").write_text("a user's graph")  # named like ssvae's, but not one ssvae writes
    result = runner.invoke(main, ["export", str(run), "--out", str(again), "--force"])
    assert result.exit_code == 1 and "holds what ssvae does not write in a model folder (my-finetuned.onnx)" in \
        result.output
    (again / "my-finetuned.onnx").unlink()
    assert runner.invoke(main, ["export", str(run), "--out", str(again), "--force"]).exit_code == 0
    assert not (again / "classifier.int8.onnx").exists() and (again / "model.json").is_file()  # no stale copies
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".again")]
    retrained = tmp_path / "retrained"
    for _ in range(2):  # a run folder, interrupted writes' temporary files included, is replaced whole
        assert runner.invoke(main, ["train", *TINY_ARGS, "--out", str(retrained), "--force"]).exit_code == 0
        (retrained / ".weights.safetensors.abc.tmp").write_text("left by a crash")
    assert sorted(p.name for p in retrained.iterdir()) == [".weights.safetensors.abc.tmp", "config.json",
                                                           "labels.json", "metrics.csv", "weights.safetensors"]


@pytest.mark.parametrize("args, message", [
    (["predict", "nowhere", "--dataset", "digits"], "Error: nowhere: no such model folder"),
    (["predict", "MODEL"], "Error: no inputs given: pass --data FILE_OR_FOLDER or --dataset NAME"),
    (["predict", "MODEL", "--data", "missing.npz"], "Error: missing.npz: no such file or folder"),
    (["score", "MODEL", "--data", "bad.npz"],
     "Error: bad.npz: inputs range over [255, 255] but this model takes [0, 1] (first in row 0): pass 8-bit"),  # the file
    (["export", "nowhere"], "Error: nowhere: no such run directory"),
])
def test_bad_inference_input_is_one_clear_line(runner, exported, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    np.savez(tmp_path / "bad.npz", x=np.full((3, 1, 8, 8), 255.0))
    result = runner.invoke(main, [a.replace("MODEL", str(exported[1])) for a in args])
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("module, name, args, error, message", [
    ("ssvae.api", "train", ["train", "--hidden", "100000000"],
     RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you tried "
                  "to allocate 25600000000 bytes. Error code 12 (Cannot allocate memory)"),
     "Error: out of memory (one allocation of 25.6 GB): lower --batch-size, --labelled-batch-size, --hidden or "
     "--latent-dim"),
    ("ssvae.inference", "score", ["score", str(ROOT / "models" / "digits-m2"), "--dataset", "digits", "--samples",
                                  "100000"],
     MemoryError("Unable to allocate 149. GiB for an array with shape (100000, 450, 8) and data type float32"),
     "Error: out of memory (one allocation of 149.0 GiB): lower --batch-size or --samples"),
])
def test_running_out_of_memory_is_one_line_that_names_the_commands_sizes(runner, monkeypatch, module, name, args,
                                                                       error, message):
    """An allocation torch or numpy cannot make was their traceback; the kernel's answer to a huge one varies
    (overcommit), so the failure is made here as they raise it."""
    def exhausted(*args, **kwargs):
        raise error

    monkeypatch.setattr(importlib.import_module(module), name, exhausted)
    result = runner.invoke(main, args)
    assert result.exit_code == 1 and result.output == message + "\n"


@pytest.mark.parametrize("raised, status, stderr", [
    ("raise KeyboardInterrupt", 130, "Interrupted\n"),
    ("interrupted()", 130, "Interrupted\n"),  # in an extension's initialisation: an ImportError after Ctrl-C
    ("raise ImportError('initialization failed')", 1, "ImportError: initialization failed"),  # a real one shows
])
def test_ctrl_c_while_the_command_line_loads_is_one_line(raised, status, stderr):
    """Ctrl-C in the first half second, while onnxruntime loads, was a traceback of some 15 lines: here the
    import of onnxruntime raises as Ctrl-C would make it."""
    script = ("import sys\n"
              "def interrupted():\n"
              "    try:\n"
              "        raise KeyboardInterrupt\n"
              "    except KeyboardInterrupt:\n"
              "        raise ImportError('initialization failed')\n"
              "class Interrupting:\n"
              "    def find_spec(self, name, path=None, target=None):\n"
              f"        if name == 'onnxruntime': {raised}\n"
              "sys.meta_path.insert(0, Interrupting())\n"
              "sys.argv = ['ssvae', '--version']\n"
              "from ssvae.__main__ import main\n"
              "main()\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                            cwd=ROOT)
    assert result.returncode == status
    assert result.stderr == stderr if status == 130 else result.stderr.rstrip().endswith(stderr)


def _few_labels_csv(path: Path) -> Path:
    """A table of 3 well-apart classes, 2 rows of each labelled and 60 unlabelled: too few labels to hold a
    class-balanced test quarter out of (as iris with 6 labels)."""
    rng = np.random.default_rng(0)
    centres = np.array([[5.0, -3.0, 10.0], [-5.0, 3.0, 0.0], [0.0, 8.0, -6.0]])
    y = np.r_[np.repeat(np.arange(3), 2), rng.integers(0, 3, 60)]
    x = centres[y] + rng.normal(size=(len(y), 3))
    labels = [str(k) if i < 6 else "" for i, k in enumerate(y)]
    path.write_text("\n".join(["a,b,c,label", *(",".join([*map(str, row), k]) for row, k in zip(x, labels))]) + "\n")
    return path


def test_test_fraction_0_trains_on_every_label_and_every_command_says_there_is_no_test_set(runner, tmp_path,
                                                                                         monkeypatch):
    """6 labels, 2 a class: the default test quarter is refused with the fractions that work; --test-fraction 0
    trains on all 6, and train, evaluate (--baseline too), info, export, predict and score of the export say
    that no test set was held out, or leave out the test figures, where they printed a made-up accuracy."""
    monkeypatch.chdir(tmp_path)
    _few_labels_csv(tmp_path / "few.csv")
    args = ["train", "--data", "few.csv", *TINY_ARGS, "--out", "run"]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 1 and "Error: cannot hold out a class-balanced test share of 0.25 from 6 labelled " \
        "examples (the 2 to test cannot hold one of each of the 3 classes): --test-fraction 0.34 (test_fraction=0.34 " \
        "in Python) holds out 3 of them and trains on 3, and --test-fraction 0 (test_fraction=0 in Python) holds out " \
        "no test set and trains on every label;" in refused.output
    result = runner.invoke(main, [*args, "--test-fraction", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("saved run  |  test accuracy not measured (--test-fraction 0: no test set "
                                          "held out)  |  labels seen 6")
    assert json.loads((tmp_path / "run" / "labels.json").read_text())["labelled"] == list(range(6))
    assert json.loads((tmp_path / "run" / "labels.json").read_text())["test"] == []
    for extra in ([], ["--baseline"]):
        result = runner.invoke(main, ["evaluate", "run", *extra])
        assert result.exit_code == 1 and result.output.startswith("Error: run was trained with --test-fraction 0 ")
        assert "test it on labelled data of your own, which it did not train on, with --data FILE" in result.output
    with pytest.warns(UserWarning, match=r"the accuracy measured on them is not held out \(the run held out no test "
                                         r"set: give labelled data it did not train on\)"):
        tested = runner.invoke(main, ["evaluate", "run", "--data", "few.csv", "--baseline", "--json"])
    assert tested.exit_code == 0
    assert json.loads(tested.output.splitlines()[-1])["n_test"] == 6
    assert "  test         none held out (--test-fraction 0): 'ssvae evaluate RUN_DIR --data FILE' tests it" \
        in runner.invoke(main, ["info", "run"]).output
    exported = runner.invoke(main, ["export", "run", "--out", "model"])
    assert exported.exit_code == 0, exported.output
    assert "float32  test accuracy not measured (no test set: --test-fraction 0)" in exported.output
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["test_fraction"] == 0 and "training_range" in meta and "data_digest" in meta  # the data were there
    assert meta["test_accuracy"] is meta["test_confidence"] is meta["test_scores"] is None
    assert "- Test accuracy: not measured, as no test set was held out (`--test-fraction 0`); the graphs were " \
           "checked on the run's training inputs." in (tmp_path / "model" / "model_card.md").read_text()
    assert "test_accuracy    not measured: no test set held out (test_fraction 0)" \
        in runner.invoke(main, ["info", "model"]).output
    refused = runner.invoke(main, ["evaluate", "model"])
    assert refused.exit_code == 1 and "model is an exported model whose run held out no test set " \
        "(--test-fraction 0): pass labelled data of your own" in refused.output
    predicted = runner.invoke(main, ["predict", "model", "--data", "few.csv"])
    assert predicted.exit_code == 0 and re.search(r"saved predictions.csv: 66 predictions; by confidence: \d+ at "
                                                  r"least 0.999, \d+ at least 0.99, \d+ at least 0.9\n$",
                                                  predicted.output)
    scored = runner.invoke(main, ["score", "model", "--data", "few.csv"])
    assert scored.exit_code == 0 and "percentile" not in scored.output, scored.output


def test_a_run_without_a_test_set_resumes_and_says_it_has_no_test_accuracy(runner, tmp_path, interrupted_run):
    """--resume of a run trained with --test-fraction 0 ends with the line that says so, its kept epoch too,
    where it would have printed the accuracy of a test set it never held out."""
    interrupted_run(tmp_path / "run", 2, epochs=3, hidden=(16,), latent_dim=2, labels=30, val_labels=10,
                    test_fraction=0, progress=False)
    described = runner.invoke(main, ["info", str(tmp_path / "run")]).output
    assert "  test         none held out (--test-fraction 0)" in described
    result = runner.invoke(main, ["train", "--resume", str(tmp_path / "run"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert re.fullmatch(rf"resumed and finished {re.escape(str(tmp_path / 'run'))}  \|  test accuracy not measured "
                        r"\(--test-fraction 0: no test set held out\)  \|  labels seen 30  \|  kept epoch \d of 3 "
                        r"\(the best validation accuracy, [\d.]+\)\n", result.output)
