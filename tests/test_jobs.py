"""How ssvae behaves as a command in jobs, shells and pipes, and as a library beside them: the signals it
takes as Ctrl-C, closed standard streams, a deleted working folder, outputs another job writes meanwhile,
onnxruntime's telemetry and threads. Each test pins a behaviour that a mutation of the code would change."""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ssvae import files, inference, runtime
from ssvae.cli import main

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "digits-m2"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def test_an_output_taken_meanwhile_is_named_as_the_user_gave_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(files.RunError, match=r"^p\.csv already exists"):
        with files.atomic_open(Path("p.csv"), follow_link=True, replace=False) as f:
            f.write("mine")
            Path("p.csv").write_text("theirs")


def test_sigterm_and_sighup_are_the_signals_taken_as_ctrl_c():
    assert signal.SIGHUP in files.ENDING_SIGNALS and signal.SIGTERM in files.ENDING_SIGNALS


def test_uninterrupted_holds_sighup_back_too():
    received = []
    previous = signal.signal(signal.SIGHUP, lambda s, f: received.append(s))
    try:
        with files.uninterrupted():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.01)
            assert received == []
        assert received == [signal.SIGHUP]
    finally:
        signal.signal(signal.SIGHUP, previous)


@pytest.mark.parametrize("command, working, name", [
    (["predict", str(MODEL), "--dataset", "digits", "--quiet"], (inference.ExportedModel, "classify"), "o.csv"),
    (["score", str(MODEL), "--dataset", "digits", "--quiet"], (inference.ExportedModel, "score"), "o.csv"),
    (["generate", str(MODEL)], (inference, "sample_grid"), "o.csv"),
    (["generate", str(MODEL)], (inference, "sample_grid"), "o.png"),
])
def test_an_output_another_job_wrote_meanwhile_is_kept_without_force(tmp_path, monkeypatch, command, working, name):
    """Two jobs given one --out both passed the check before their work, and the second to finish replaced the
    first's file without a word. The one that finishes second now keeps the other's file and says it exists;
    with --force it replaces it, as asked."""
    out = tmp_path / name
    owner, attribute = working
    real = getattr(owner, attribute)

    def another_job_writes(*args, **kwargs):  # another process given the same --out, ending while this one works
        if not out.exists():
            out.write_text("theirs\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, attribute, another_job_writes)
    result = CliRunner().invoke(main, [*command, "--out", str(out)])
    assert (result.exit_code, result.output) == (1, f"Error: {out} already exists: choose another --out or pass "
                                                    f"--force to replace it (in Python: another out, or "
                                                    f"replace=True)\n")
    assert out.read_text() == "theirs\n" and [p.name for p in tmp_path.iterdir()] == [name]  # no .tmp left
    result = CliRunner().invoke(main, [*command, "--out", str(out), "--force"])
    assert result.exit_code == 0 and out.read_bytes() != b"theirs\n", result.output


@pytest.mark.parametrize("command", ["train --epochs 1 --out r", "export nowhere --out m",
                                     "--debug evaluate nowhere"])
def test_a_deleted_working_folder_refuses_train_export_and_evaluate_after_group_options(tmp_path, command):
    (tmp_path / "gone").mkdir()
    result = subprocess.run(f"cd gone && rmdir ../gone && '{sys.executable}' -m ssvae {command}", shell=True,
                            cwd=tmp_path, capture_output=True, text=True, env=ENV, timeout=300)
    assert (result.returncode, result.stderr) == (1, "Error: the current folder no longer exists (deleted since the "
                                                     "shell entered it): cd to one that does, then run the command "
                                                     "again\n")


def test_a_named_missing_file_is_named_even_in_a_deleted_working_folder(monkeypatch):
    from ssvae import cli
    monkeypatch.setattr(cli, "_working_folder_gone", lambda: True)
    assert cli._one_line(FileNotFoundError(2, "No such file or directory", "/abs/x.npz")).startswith("/abs/x.npz: ")


def test_the_model_commands_default_to_onnxruntimes_own_thread_count(tmp_path, monkeypatch):
    loaded = []
    load = runtime.load
    monkeypatch.setattr("ssvae.cli.load_model", lambda *a, **k: loaded.append(load(*a, **k)) or loaded[-1])
    assert CliRunner().invoke(main, ["predict", str(MODEL), "--dataset", "digits", "--out", str(tmp_path / "p.csv"),
                                     "--quiet"]).exit_code == 0
    assert loaded[0].threads is None


def _main_script(body: str) -> str:
    return ("import os, sys, tempfile, ssvae.cli\n"
            f"def probe(**kwargs):\n    {body}\n"
            "ssvae.cli.main = probe\n"
            "from ssvae.__main__ import main\nmain()\n")


@pytest.mark.parametrize("fd, close", [(2, "2>&-"), (0, "<&-")])
def test_the_entry_point_holds_closed_descriptors_on_dev_null(tmp_path, fd, close):
    body = (f"fd, _ = tempfile.mkstemp(dir={str(tmp_path)!r}); "
            f"print(fd != {fd}, os.path.realpath('/proc/self/fd/{fd}'), flush=True)")
    done = subprocess.run(f"'{sys.executable}' -c {shlex.quote(_main_script(body))} {close}", shell=True,
                          cwd=tmp_path, env=ENV, capture_output=True, text=True, timeout=120)
    assert done.stdout == "True /dev/null\n", done


SIGNAL_AFTER = ("import signal, sys\n"
                "sys.argv = ['ssvae', '--version']\n"
                "from ssvae.__main__ import main\n"
                "try:\n    main()\n"
                "except SystemExit:\n    sys.stdout.flush()\n"
                "    try:\n        signal.raise_signal(signal.SIGHUP)\n"
                "    except BaseException:\n        print('caught')\n"
                "    print('not ended')\n")


def test_nohups_sighup_stays_ignored_after_the_command():
    done = subprocess.run([sys.executable, "-c", SIGNAL_AFTER], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=ENV, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    assert done.returncode == 0 and done.stdout.endswith("not ended\n"), done


def test_a_sighup_after_the_command_ends_it_at_once_quietly():
    done = subprocess.run([sys.executable, "-c", SIGNAL_AFTER], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env=ENV, preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))
    assert (done.returncode, done.stderr) == (129, "") and "caught" not in done.stdout, done


def test_a_models_device_is_cuda_where_its_sessions_run_there(monkeypatch):
    model = runtime.load(MODEL, device="cpu")
    session = next(iter(model.sessions.values()))
    monkeypatch.setattr(type(session), "get_providers", lambda self: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    assert model.device == "cuda"


def test_a_copied_runtime_alone_turns_telemetry_off(tmp_path):
    shutil.copyfile(ROOT / "ssvae" / "runtime.py", tmp_path / "copied_runtime.py")
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "PYTHONPATH")}
    script = "import os, copied_runtime; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stdout == "1\n", done


def test_a_folder_named_dash_is_data_not_standard_input(tmp_path, monkeypatch):
    from ssvae.data.dataset import data_path
    monkeypatch.chdir(tmp_path)
    (tmp_path / "-").mkdir()
    assert data_path("-") == Path("-")


def test_an_off_switch_is_its_no_flag():
    from ssvae.settings import option_words
    assert option_words({"compile": False, "adaptive_threshold": True}) == ["--no-compile", "--adaptive-threshold"]
