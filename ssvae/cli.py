"""The `ssvae` command: a thin click layer over `ssvae.api`.

Errors the user can fix (bad data, a broken run directory, an impossible setting) print one line naming the
problem and the fix and exit with status 1; ``ssvae --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import signal
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, NoReturn

import click
import numpy as np

from ssvae import __version__
from ssvae.config import CHOICES, EDITABLE_FOR_RESUME, SETTING_HELP, Config, ConfigError, option_flag, shown_default
from ssvae.settings import RECIPES, config_for
from ssvae.data.images import is_image_file
from ssvae.data.inputs import SPLITS
from ssvae.data.sources import BUILTIN
from ssvae.errors import DataError, ExportError, RunError, TrainingError, terminal_text
from ssvae.files import ENDING_SIGNALS
from ssvae.model_card import FEW_FOR_Q99, difference_text, rarity_text
from ssvae.progress import redrawable
from ssvae.report_text import confident_text, count, evaluation_text, model_info_text, run_info_text, trained_line
from ssvae.runtime import (BATCH, DEVICES, MIN_OPSET, MODEL_FILES, MODEL_JSON, OPSET, PRECISIONS, RUN_CONFIG,
                           ExportedModel, ModelError, folder_of_folders, held_precisions, is_model_folder,
                           load as load_model)

if TYPE_CHECKING:  # at run time, imported where a command needs it: the CLI starts faster
    from ssvae.api import Run
    from ssvae.inference import Scores

USER_ERRORS = (DataError, RunError, ConfigError, ModelError, TrainingError, ExportError)


class TextType(click.ParamType):
    """A click type parsed by ``parse`` (a ValueError becomes a usage error with ``problem``), and shown in
    --help as ``metavar``."""

    def __init__(self, metavar: str, parse: Callable[[str], Any], problem: str) -> None:
        self.name, self.metavar, self.parse, self.problem = metavar.lower(), metavar, parse, problem

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return self.metavar

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        try:
            return self.parse(value) if isinstance(value, str) else value
        except ValueError:
            self.fail(f"{value!r} {self.problem}", param, ctx)


class UserPath(click.Path):
    """A path whose leading ~ is the home folder, even where the shell leaves it as it is (``--out=~/x``),
    rather than a new folder named ~. Refused: an empty one (``--out "$UNSET"`` would fall back on the
    default), "-" for a folder, which standard output cannot be, a name ending in "/" for a file (written as
    a file of that name), and a file for a folder (classifier.onnx for its model folder)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if value == "":
            self.fail("an empty path: give the name of a file or folder", param, ctx)
        if value == "-" and not self.file_okay:
            self.fail("- (standard output) cannot take a folder: give the folder's name", param, ctx)
        if isinstance(value, str) and value.endswith(("/", os.sep)) and not self.dir_okay:
            default = param.default if param is not None and isinstance(param.default, str) else None
            self.fail(f"{value} ends in '/', as a folder's name does: give a file's name"
                      + (f", e.g. {value}{default}" if default else ""), param, ctx)
        path = os.path.expanduser(value) if isinstance(value, str) else value
        if not self.file_okay and os.path.isfile(path):
            self.fail(f"{value} is a file: {_folder_instead(path, param)}", param, ctx)
        return super().convert(path, param, ctx)


def _folder_instead(file: str, param: click.Parameter | None) -> str:
    """What to give for a folder instead of ``file``: a new one for --out; the folder that holds it for a file of
    a run or model folder (classifier.onnx, config.json) or of a data set (--data-dir); else a folder that ssvae
    wrote, since ``file`` (a CSV given for the model, say) belongs in another argument."""
    from ssvae.run import RUN_FOLDER  # torch, for this message only

    option = param.name if param is not None else None
    if option == "out":
        return "give a new folder's name"
    if option == "data_dir" or Path(file).name in (*RUN_FOLDER.files, *MODEL_FILES):
        return f"give the folder that holds it ({os.path.dirname(file) or '.'})"
    return "give a folder that 'ssvae train' or 'ssvae export' wrote"


def _utf8_stdout() -> None:
    """Standard output to a pipe or file in UTF-8, as ssvae's files are: where Python took another encoding
    (a pipe on Windows takes the ANSI code page), a class name or file name outside it failed part-way
    through a CSV. A terminal keeps its encoding, for it shows that one, and shows '?' for what it lacks."""
    stream = sys.stdout
    encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "").replace("_", "")
    if encoding == "utf8" or not hasattr(stream, "reconfigure"):
        return
    if stream.isatty():
        stream.reconfigure(errors="replace" if stream.errors == "strict" else stream.errors)
    else:
        stream.reconfigure(encoding="utf-8", errors=stream.errors)


SIZES = TextType("N,N,...", lambda text: tuple(int(v) for v in text.split(",")),
                 "is not a comma-separated list of layer sizes, e.g. 500 or 600,600")
COLUMN_NAMES = TextType("NAME,NAME,...", lambda text: tuple(text.split(",")), "")  # Config checks the names
LABELS = TextType("N|all", lambda text: text if text == "all" else int(text), "is neither a number of labels nor 'all'")
TRAINING_DEVICE = TextType("auto|cpu|cuda|cuda:N", str, "")  # Config checks the name (cuda:N too)


def _image_size(text: str) -> tuple[int, int] | None:
    """--image-size: N for N x N, or WIDTH,HEIGHT (as the command a run prints writes it), or WIDTHxHEIGHT; auto,
    as --help shows the default, for none (the size most images have)."""
    if text == "auto":
        return None
    sizes = tuple(int(v) for v in re.split(r"[,x]", text))
    if len(sizes) not in (1, 2):
        raise ValueError(text)
    return sizes * 2 if len(sizes) == 1 else sizes


IMAGE_SIZE = TextType("N|W,H", _image_size, "is neither a size N (N x N pixels) nor a width and height, e.g. 32,24")


def _thread_count(text: str) -> int | None:
    """--threads: a count of at least 1, or "auto" (None: the library's own count, torch's or onnxruntime's),
    as --help shows the default."""
    if text == "auto":
        return None
    if (count := int(text)) < 1:
        raise ValueError(text)
    return count


THREADS = TextType("auto|N", _thread_count, "is neither 'auto' nor a number of threads from 1 up")


WORKFLOW = ("train", "evaluate", "export", "info", "predict", "score", "generate")  # as `ssvae --help` lists them
# the dependencies that a machine which only applies exported models can go without (README: "Without torch"),
# by the name Python imports and the name pip installs, and what to do when one is missing
OPTIONAL_PACKAGES = {"torch": "torch", "torchvision": "torchvision", "onnx": "onnx", "onnxscript": "onnxscript",
                     "safetensors": "safetensors", "sklearn": "scikit-learn"}
TRAINING_REMEDY = ("install ssvae with its dependencies, as the README's set-up does (pip install -c constraints.txt "
                   "-e . in its source folder); predict, score, generate, and info and evaluate of an exported model "
                   "run without them")
MISSING_REMEDY = {"scikit-learn": "pip install scikit-learn (the built-in digits are scikit-learn's)"}


NO_BREAK_HYPHEN = "\u2011"  # a hyphen that Python's textwrap, which click wraps help with, does not break at


class HelpFormatter(click.HelpFormatter):
    """click's, but a help line never ends at a hyphen inside a word: at 80 columns "--test-fraction" and
    "fashion-mnist" broke in two, their halves read as another option or value."""

    def write_dl(self, rows: Iterable[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, _unbreakable(text)) for term, text in rows], col_max, col_spacing)

    def write_text(self, text: str) -> None:
        super().write_text(_unbreakable(text))

    def getvalue(self) -> str:
        return super().getvalue().replace(NO_BREAK_HYPHEN, "-")


def _unbreakable(text: str) -> str:
    """``text`` with each hyphen inside a word (--test-fraction, fashion-mnist) one that textwrap keeps whole."""
    return re.sub(r"(?<=\S)-(?=\S)", NO_BREAK_HYPHEN, text)


class Context(click.Context):
    """A command's context, whose --help `HelpFormatter` writes."""
    formatter_class = HelpFormatter


class Command(click.Command):
    """Each `ssvae` command: its --help as `HelpFormatter` wraps it."""
    context_class = Context


class Group(click.Group):
    """Turns the errors a user can fix into one line on stderr, unless --debug is given: exit status 1 for
    input that cannot be used, 2 for a command's mistyped option or value (click's usage errors, which it
    prints as four lines with the usage)."""

    context_class = Context
    command_class = Command

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        _check_working_folder(args)
        given = bool(args)  # parsing consumes the list
        try:  # the group's own options (a mistyped --debug), and --help and --version, which print here
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as error:
            if not given:  # plain `ssvae`: click >= 8.2 shows the help by way of a usage error
                raise
            _usage_error(error)
        except BrokenPipeError:  # ssvae --version | true
            _end_for_a_closed_pipe()
        except OSError as error:  # ssvae --help > /dev/full
            _echo(f"Error: {_one_line(error)}", err=True)
            sys.exit(1)

    def list_commands(self, ctx: click.Context) -> list[str]:
        """The commands in the order of the work (`WORKFLOW`), not alphabetical: train first, generate last."""
        return sorted(self.commands, key=lambda name: WORKFLOW.index(name) if name in WORKFLOW else len(WORKFLOW))

    def invoke(self, ctx: click.Context) -> Any:
        _utf8_stdout()
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as error:  # Ctrl-C or SIGTERM outside training, which says how to resume
            _say_interrupted("Interrupted: outputs not finished were discarded")
            sys.exit(_interrupted_status(error))
        except BrokenPipeError:  # the reader of stdout or stderr (head, less) has gone
            _end_for_a_closed_pipe()
        except (*USER_ERRORS, OSError) as error:  # OSError: a path that cannot be read or written, a full disk
            if ctx.params.get("debug"):
                raise
            _echo(f"Error: {_one_line(error)}", err=True)
            sys.exit(1)
        except click.UsageError as error:  # a command's options, or the command's name
            if ctx.params.get("debug"):
                raise
            _usage_error(error, " ".join(filter(None, (ctx.command_path, ctx.invoked_subcommand))))
        except ModuleNotFoundError as error:  # a machine set up to apply models alone (README: without torch)
            if ctx.params.get("debug") or (package := OPTIONAL_PACKAGES.get((error.name or "").split(".")[0])) is None:
                raise
            _echo(f"Error: ssvae {ctx.invoked_subcommand} needs {package}, which is not installed here: "
                       f"{MISSING_REMEDY.get(package, TRAINING_REMEDY)}", err=True)
            sys.exit(1)
        except (MemoryError, RuntimeError) as error:
            if ctx.params.get("debug") or not _out_of_memory(error):
                raise
            sizes = MEMORY_SIZES.get(ctx.invoked_subcommand, "the sizes its options give")
            _echo(f"Error: out of memory{_memory_asked(error)}: lower {sizes}", err=True)
            sys.exit(1)


# the options of a command whose sizes fill the memory, as its out-of-memory error names them
MEMORY_SIZES = {"train": "--batch-size, --labelled-batch-size, --hidden or --latent-dim",
                "predict": "--batch-size", "score": "--batch-size or --samples",
                "generate": "--per-class, --rows or --scale"}


def _out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed: Python's, torch's on the CPU (a RuntimeError that says
    so) or on a GPU (torch.OutOfMemoryError)."""
    return (isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError"
            or "you tried to allocate" in str(error))


def _memory_asked(error: BaseException) -> str:
    """What a failed allocation asked for, as torch (bytes on the CPU, GiB on a GPU) or numpy (GiB) says it:
    " (one allocation of 25.6 GB)"."""
    if found := re.search(r"allocate (\d+) bytes", str(error)):
        return f" (one allocation of {int(found.group(1)) / 1e9:.1f} GB)"
    found = re.search(r"allocate ([\d.]+) ([KMGT]iB)", str(error))
    return f" (one allocation of {float(found.group(1)):.1f} {found.group(2)})" if found else ""


WORKING_FOLDER_GONE = ("the current folder no longer exists (deleted since the shell entered it): cd to one that "
                       "does, then run the command again")
TORCH_COMMANDS = ("train", "evaluate", "export")  # those that load torch, which a deleted working folder stops


def _working_folder_gone() -> bool:
    try:
        os.getcwd()
    except FileNotFoundError:
        return True
    return False


def _check_working_folder(args: list[str]) -> None:
    """Refuse, before any work, a command that loads torch in a working folder deleted since the shell entered
    it: torch ends the process there with a fatal error of its own and status 2, as if the command line were
    wrong. Other commands run (absolute paths still name their files; a relative one gets `_one_line`'s word)."""
    command = next((word for word in args if not word.startswith("-")), None)
    if command in TORCH_COMMANDS and _working_folder_gone():
        _echo(f"Error: {WORKING_FOLDER_GONE}", err=True)
        sys.exit(1)


def _require_stdout() -> None:
    """A RunError where standard output is closed (``>&-``, as cron or a daemon may start a job): a command whose
    results print there (evaluate's report, info) would otherwise end with status 0 and nothing shown. Commands
    that write files work on; their line saying so is lost."""
    if sys.stdout is None:
        raise RunError("standard output is closed (>&-), where this command prints its results: redirect it to a "
                       "file or to /dev/null instead")


def _echo(message: str, err: bool = False) -> None:
    """``message`` printed as click prints it, its control characters escaped (`terminal_text`): the names and
    metadata it shows may come from a model folder or data someone else made."""
    click.echo(terminal_text(message), err=err)


class Terminated(KeyboardInterrupt):
    """SIGTERM (docker stop, SLURM, systemd) or SIGHUP (a closed terminal or ssh session), ``signum``, taken as
    Ctrl-C is: files being written are discarded, and an interrupted training says how to resume, where the
    signal's default would end the process on the spot."""

    def __init__(self, signum: int = signal.SIGTERM):
        super().__init__()
        self.signum = signum


def _terminate(signum: int, frame: Any) -> NoReturn:
    raise Terminated(signum)


def _say_interrupted(message: str) -> None:
    """``message`` on stderr, on a line of its own after a progress bar's (in a log, right after the last line)."""
    _echo(("\n" if redrawable() else "") + message, err=True)


def _interrupted_status(error: KeyboardInterrupt) -> int:
    """The shell's status of a process ended by the signal: 128 + SIGTERM's 15, SIGHUP's 1 or SIGINT's 2."""
    return 128 + (error.signum if isinstance(error, Terminated) else signal.SIGINT)


def _end_for_a_closed_pipe() -> NoReturn:
    """End quietly with the status of a process that SIGPIPE ended (141), as `cat file | head` does, not with
    an error that no one can read. Both streams then point at /dev/null, so that Python's last flush does not
    meet the closed pipe again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in filter(None, (sys.stdout, sys.stderr)):  # None: a stream closed as the process started
        with contextlib.suppress(OSError, ValueError):  # a stream with no file descriptor (a test's capture)
            os.dup2(devnull, stream.fileno())
    sys.exit(128 + getattr(signal, "SIGPIPE", 13))  # 13: POSIX's number; Windows has none


# where the words of a command line given as one argument too many belong: a path given without its option
EXTRA_ARGUMENT = {"train": "give the data with --data FILE_OR_FOLDER",
                  "evaluate": "give labelled test data with --data FILE_OR_FOLDER",
                  "export": "name the model folder with --out MODEL_DIR",
                  "predict": "give the inputs with --data FILE_OR_FOLDER",
                  "score": "give the inputs with --data FILE_OR_FOLDER",
                  "generate": "give inputs to draw with --analogies, the file to write with --out"}


def _usage_error(error: click.UsageError, command: str = "ssvae") -> NoReturn:
    """Click's usage error as one line that points to the help of its command (``command`` where click names
    none: an option missing its value), with click's exit status (2); a path given without its option says
    which option takes it."""
    where = error.ctx.command_path if error.ctx else command
    message = error.format_message().rstrip(".")
    extra = re.fullmatch(r"Got unexpected extra arguments? \((.*)\)", message)
    if extra and error.ctx and error.ctx.info_name in EXTRA_ARGUMENT and any(map(_looks_like_a_path,
                                                                                 extra[1].split())):
        hint = _pattern_hint(error.ctx.params.get("data"), extra[1].split())
        message += f": {EXTRA_ARGUMENT[error.ctx.info_name]}{hint}"
    if isinstance(error, click.NoSuchOption) and error.option_name == "--debug" and error.ctx:
        message += f": --debug goes before the command, as in 'ssvae --debug {error.ctx.info_name} ...'"
    _echo(f"Error: {message} (see '{where} --help')", err=True)
    sys.exit(error.exit_code)


def _pattern_hint(data: str | None, words: list[str]) -> str:
    """Where --data ``data`` and the extra ``words`` are images of one folder, as a shell pattern (``--data
    new/*.png``) gives them: that ssvae takes their folder instead; else ""."""
    given = [data, *words] if data is not None else []
    if not given or not all(is_image_file(Path(word), Path(word).parent) for word in given):
        return ""
    folders = {os.path.dirname(word) for word in given}
    suffixes = {Path(word).suffix for word in given}
    if len(folders) != 1:
        return ""
    folder = folders.pop() or "."
    pattern = os.path.join(folder, f"*{suffixes.pop() if len(suffixes) == 1 else ''}")
    return f" (a shell pattern such as {pattern} gives each file apart: give their folder, {folder})"


def _looks_like_a_path(word: str) -> bool:
    """Whether a word of a command line reads as a path (one that is there, or has a folder or a suffix), not
    as one more value of an option (``--hidden 256 512``)."""
    try:
        float(word)
        return False
    except ValueError:
        return os.path.exists(word) or os.sep in word or "/" in word or bool(Path(word).suffix)


def _one_line(error: Exception) -> str:
    """The message of a user's error; for an OSError the path and the system's reason, without the errno (a
    relative path in a deleted working folder, which the system names no path of, the folder's absence)."""
    if isinstance(error, FileNotFoundError) and error.filename is None and _working_folder_gone():
        return WORKING_FOLDER_GONE
    if isinstance(error, OSError) and error.strerror:
        where = f"{error.filename}: " if error.filename else ""
        fix = {errno.ENOSPC: "free some space, or write elsewhere", errno.EROFS: "write elsewhere",
               errno.ENAMETOOLONG: "give a shorter name"}.get(error.errno, "check the path and its permissions")
        return f"{where}{error.strerror} ({fix})"
    return str(error)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(__version__, prog_name="ssvae")
def main(debug: bool) -> None:
    """Semi-supervised VAEs: train a classifier and a generative model from a few labels and many
    unlabelled examples, evaluate it, export it to ONNX and use the export to label, generate and score.

    \b
    Start with (8x8 digits, 100 labels, offline):
      ssvae train
      ssvae evaluate runs/digits-m2
      ssvae export runs/digits-m2 --out models/digits
      ssvae predict models/digits --dataset digits
    """
    warnings.formatwarning = lambda message, *args, **kwargs: f"Warning: {terminal_text(str(message))}\n"
    for signum in ENDING_SIGNALS:
        if signal.getsignal(signum) is not signal.SIG_IGN:  # nohup's SIGHUP stays ignored
            signal.signal(signum, _terminate)


# (Config field, click type): the options of `ssvae train`, each named by `option_flag`, described by SETTING_HELP
TRAINING_OPTIONS = [
    ("labels", LABELS),
    ("val_labels", int),
    ("test_fraction", float),
    ("image_size", IMAGE_SIZE),
    ("label_column", TextType("NAME", str, "")),
    ("ignore_columns", COLUMN_NAMES),
    ("model", click.Choice(CHOICES["model"])),
    ("epochs", int),
    ("m1_epochs", int),
    ("batch_size", int),
    ("labelled_batch_size", int),
    ("lr", float),
    ("lr_schedule", click.Choice(CHOICES["lr_schedule"])),
    ("weight_decay", float),
    ("alpha", float),
    ("labelled_bound", click.Choice(CHOICES["labelled_bound"])),
    ("vat", float),
    ("vat_epsilon", float),
    ("latent_dim", int),
    ("hidden", SIZES),
    ("classifier", click.Choice(CHOICES["classifier"])),
    ("classifier_hidden", SIZES),
    ("classifier_channels", SIZES),
    ("augment", click.Choice(CHOICES["augment"])),
    ("consistency", float),
    ("consistency_threshold", float),
    ("adaptive_threshold", bool),
    ("ema", float),
    ("kl_warmup_epochs", int),
    ("likelihood", click.Choice(CHOICES["likelihood"])),
    ("seed", int),
    ("checkpoint_every", int),
    ("device", TRAINING_DEVICE),
    ("threads", THREADS),
    ("precision", click.Choice(CHOICES["precision"])),
    ("compile", bool),
]


# options of lists that, given again, add to the list (--ignore-columns name --ignore-columns date); any other
# option given twice takes its last value, as in most tools
ADDED_UP = ("ignore_columns",)


def training_options(command: Callable) -> Callable:
    """Add every TRAINING_OPTIONS entry; an option left out stays None, so presets and Config fill it."""
    for field, kind in reversed(TRAINING_OPTIONS):
        flag = option_flag(field)
        typed = {"type": kind, "multiple": field in ADDED_UP}
        again = " Give it again to add more." if field in ADDED_UP else ""
        if kind is bool:
            flag, typed = f"{flag}/--no-{flag[2:]}", {}  # an on/off pair, e.g. --compile/--no-compile
        command = click.option(flag, field, default=None,
                               help=f"{SETTING_HELP[field]}{again}  [default: {shown_default(field)}]",
                               **typed)(command)
    return command


def config_from_options(options: dict[str, Any]) -> Config:
    """The Config of `ssvae train`'s data and training options: the data set's preset, then what was given."""
    options = {k: ((sum(v, ()) or None) if k in ADDED_UP else v) for k, v in options.items()}  # () when not given
    given = {k: v for k, v in options.items() if v is not None}
    with _as_option_errors(given):
        return config_for(**given)


@contextlib.contextmanager
def _as_option_errors(given: Iterable[str]) -> Iterator[None]:
    """A ConfigError of a setting the user gave as an option, as click's error naming that option; others (of
    a preset, a recipe or several settings together) as they are."""
    try:
        yield
    except ConfigError as error:
        if error.field not in given:
            raise
        raise click.BadParameter(str(error), click.get_current_context(silent=True),
                                 param_hint=f"'{option_flag(error.field)}'") from None


@main.command(short_help="Train on a few labels plus unlabelled data; writes a run folder.")
@click.option("--dataset", type=click.Choice(BUILTIN), help=SETTING_HELP["dataset"])
@click.option("--data", type=UserPath(), help=SETTING_HELP["data"])
@click.option("--data-dir", type=UserPath(), help=SETTING_HELP["data_dir"])
@click.option("--test-data", type=UserPath(), help=SETTING_HELP["test_data"])
@click.option("--recipe", type=click.Choice(list(RECIPES)),
              help="Settings measured together on a data set, applied over its preset (the options you give still "
                   "win). " + "; ".join(f"{name}: {r.summary}" for name, r in RECIPES.items()) + ".")
@training_options
@click.option("--out", type=UserPath(file_okay=False), help="Run directory to write [default: runs/DATA-MODEL].")
@click.option("--force", is_flag=True,
              help="Replace an existing run directory (only one that holds nothing but ssvae train's files).")
@click.option("--resume", type=UserPath(file_okay=False),
              help="Continue this interrupted run directory from its last checkpoint, with its own settings. With "
                   "--epochs, end it at another epoch: later, to train longer, or as early as its checkpoint's, to "
                   "end it there.")
@click.option("--quiet", is_flag=True, help="No progress bar (nor, where stderr is not a terminal, its line an epoch).")
def train(out: str | None, force: bool, resume: str | None, quiet: bool, **options) -> None:
    """Train a model on a few labels plus unlabelled data and write a run directory:
    config.json, weights.safetensors, labels.json (the chosen examples), metrics.csv, and while it
    trains checkpoint.safetensors (every --checkpoint-every epochs; --resume continues from it).
    In the options below, q(y|x) is the classifier, q(z|x,y) the encoder and p(x|y,z) the decoder.

    Example: ssvae train --labels 100 --out runs/digits-m2

    \b
    The most accurate on Fashion-MNIST:
      ssvae train --dataset fashion-mnist --data-dir DIR --recipe accurate
    """
    from ssvae.api import default_run_folder, resume as resume_run, train as train_run

    if resume is not None:
        _check_resume_alone(click.get_current_context())
        given = ["epochs"] if options["epochs"] is not None else []
        with _resumable(Path(resume), options["epochs"], resuming=True), _as_option_errors(given):
            run = resume_run(resume, progress=not quiet, epochs=options["epochs"])
        with _finished(Path(resume)):
            _echo(trained_line(f"resumed and finished {resume}", _summary(run), tuple(run.config.categories)))
        return
    config = config_from_options(options)
    out_dir = Path(out) if out else default_run_folder(config)
    with _resumable(out_dir):
        run = train_run(config, out=out_dir, progress=not quiet, replace=force)
    with _finished(out_dir):
        _echo(trained_line(f"saved {out_dir}", _summary(run), tuple(run.config.categories)))


def _summary(run: Run) -> dict[str, Any]:
    """What `train` ends with of a finished ``run``: its test report, or the figures of one that held out no
    test set, which has no accuracy to report (`untested_summary`)."""
    from ssvae.api import untested_summary
    from ssvae.evaluation import evaluate

    return untested_summary(run) if run.split.untested else evaluate(run)


@contextlib.contextmanager
def _finished(run_dir: Path) -> Iterator[None]:
    """Ctrl-C during the summary of a run that has finished training: the run is whole, and the summary is
    one command away (it said that outputs not finished were discarded)."""
    try:
        yield
    except KeyboardInterrupt as error:
        _say_interrupted(f"Interrupted after training: {run_dir} is finished; 'ssvae evaluate {run_dir}' shows its "
                         f"summary")
        sys.exit(_interrupted_status(error))


@contextlib.contextmanager
def _resumable(run_dir: Path, epochs: int | None = None, resuming: bool = False) -> Iterator[None]:
    """Ctrl-C while training: say how to go on from the last checkpoint (click alone prints "Aborted!"), with
    the ``epochs`` a resume was given (config.json takes them only with the resume's first checkpoint); so
    does a file that cannot be written (a full disk), once the problem is mended. Only a checkpoint of this
    run counts: the one a resume goes on from, or one this training wrote, not that of an unfinished run a
    training with --force stopped before its first checkpoint put back."""
    from ssvae.run import CHECKPOINT, WEIGHTS

    resume = f"'ssvae train --resume {run_dir}{'' if epochs is None else f' --epochs {epochs}'}'"
    before = _file_stamp(run_dir / CHECKPOINT)

    def own_checkpoint() -> bool:
        now = _file_stamp(run_dir / CHECKPOINT)
        return now is not None and (resuming or now != before)

    try:
        yield
    except OSError as error:
        if isinstance(error, BrokenPipeError) or not own_checkpoint():  # a closed pipe ends quietly (`invoke`)
            raise
        where = f"{error.filename}: " if error.filename else ""
        raise RunError(f"{where}{error.strerror}; the last checkpoint stands: once that is mended (free some "
                       f"space, or check permissions), continue from it with {resume}") from error
    except KeyboardInterrupt as error:
        if own_checkpoint():
            _say_interrupted(f"Interrupted: continue from the last checkpoint with {resume}")
        elif (run_dir / WEIGHTS).is_file() or before is not None:
            _say_interrupted(f"Interrupted before the first checkpoint: {run_dir} holds the run it held before, "
                             f"as it was")
        else:
            _say_interrupted(f"Interrupted before the first checkpoint: nothing of the run was kept in {run_dir}")
        sys.exit(_interrupted_status(error))


@contextlib.contextmanager
def _streamed(out: str | None) -> Iterator[None]:
    """Ctrl-C while a table goes to standard output (--out -), a batch at a time: the rows written before it
    are there (in the file a shell's > names, say), so the line says so, not that outputs were discarded."""
    from ssvae.inference import STDOUT

    try:
        yield
    except KeyboardInterrupt as error:
        if out != STDOUT:
            raise
        _say_interrupted("Interrupted: standard output holds the rows written before it, not the rest")
        sys.exit(_interrupted_status(error))


def _file_stamp(path: Path) -> tuple[int, int] | None:
    """A file's inode and modification time, which a file written anew (`atomic_open`: renamed over it)
    changes; None where there is none, also where a file or device stands for a folder above it (--out
    notes.txt/run, --resume /dev/null): the training's own checks name that in one line, not this stat."""
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    return status.st_ino, status.st_mtime_ns


def _check_resume_alone(ctx: click.Context) -> None:
    """--resume takes every setting from the run it continues but its length (--epochs): any other option
    given beside it is a mistake."""
    given = [option_flag(name) for name in ctx.params if name not in ("resume", "quiet", "epochs")
             and ctx.get_parameter_source(name) is not click.core.ParameterSource.DEFAULT]
    if given:
        editable = [name for name in EDITABLE_FOR_RESUME if option_flag(name) in given]
        how = (f"; {' and '.join(map(option_flag, editable))} may change: edit {' and '.join(editable)} in "
               f"{Path(ctx.params['resume']) / RUN_CONFIG}" if editable else "")
        raise click.UsageError(f"--resume continues a run with its own settings: give no other options than "
                               f"--epochs (leave out {', '.join(given)}){how}")


def stacked(*options: Callable) -> Callable:
    """One decorator that adds ``options`` in the order given, as that many decorators written above a
    command would: a group of options several commands share."""
    def add(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command
    return add


split_option = click.option("--split", type=click.Choice(SPLITS), default="test", show_default=True,
                            help="Which part of --dataset: the test split the model was evaluated on, or the rest.")
data_dir_option = click.option("--data-dir", type=UserPath(), help="Where Fashion-MNIST/MNIST/KMNIST files are.")

input_options = stacked(  # where the inputs of predict, score and generate --analogies come from
    click.option("--data", type=UserPath(), help="Inputs: an .npz (array x), an .npy, a .csv of the model's "
                 "columns (numbers, or the text of its columns of categories; an 'id' column names rows; the label "
                 "column is ignored), an image or a folder of images. "
                 "The output's id: the row number, the CSV's id, or the image's path in the folder (its name)."),
    click.option("--dataset", type=click.Choice(BUILTIN), help="Or a built-in data set's --split (ids: each "
                 "example's index in the data set, or in its own test file where it has one)."),
    split_option,
    data_dir_option,
)

def model_options(applies: str = "") -> Callable:
    """Which graphs predict, score, generate and evaluate run, and where; ``applies`` says to what, where the
    command takes other things too (evaluate: a run)."""
    return stacked(
        click.option("--device", type=click.Choice(DEVICES), default="auto", show_default=True,
                     help=f"onnxruntime device{applies}: auto uses a CUDA GPU when there is one."),
        click.option("--precision", type=click.Choice(PRECISIONS), default="float32", show_default=True,
                     help=f"Which copy of the graphs{applies} to run (int8/float16 need export --quantize/--fp16)."),
        click.option("--threads", type=THREADS, default="auto", show_default=True,
                     help=f"CPU threads onnxruntime runs the graphs{applies} on: auto (every core it sees; it reads "
                          f"no OMP_NUM_THREADS) or N, for a shared machine or a container's CPU limit."),
    )


force_option = click.option("--force", is_flag=True, help="Replace an existing --out file.")
id_option = click.option("--id-column", metavar="NAME",
                         help="The column of a --data CSV whose values name the rows in the output (names, sample "
                              "codes); default: its 'id' column, else the unnamed first column pandas writes, else "
                              "the row number from 0.")

run_options = stacked(  # how predict and score run the model, after their own options
    click.option("--batch-size", type=click.IntRange(min=1), default=BATCH, show_default=True,
                 help="Inputs per batch."),
    model_options(),
    force_option,
    click.option("--quiet", is_flag=True, help="No progress bar."),
)


@main.command(short_help="Accuracy, per-class recall and precision, confusion: a run or model.")
@click.argument("run_dir", metavar="RUN_DIR|MODEL_DIR", type=UserPath(file_okay=False))
@click.option("--data", type=UserPath(),
              help="Test on the labelled examples of this file or folder instead (as train's --data takes them: an "
                   ".npz, its x_test and y_test where it has them, a .csv with a 'label' column, or class sub-folders "
                   "of images), their classes matched to the run's by name (numbered labels of named classes by "
                   "number, with a warning). An exported model of data of your own needs this (or --dataset); "
                   "one of a built-in set is tested on its test split without it.")
@click.option("--dataset", type=click.Choice(BUILTIN), help="An exported model: test its graphs on a built-in data "
              "set's --split, as its run split the set (the test split gives its model card's accuracy).")
@split_option
@data_dir_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON line instead (for jq or a "
              "script).")
@click.option("--baseline", "with_baseline", is_flag=True,
              help="Also train the supervised baseline (the same classifier and settings on the run's labels alone; "
                   "not saved) and show what the unlabelled data added. Seconds on digits, about 4 minutes for "
                   "Fashion-MNIST's 200 epochs on a 2-core CPU.")
@click.option("--quiet", is_flag=True, help="No progress bar for --baseline's training (nor, where stderr is not a "
              "terminal, its line an epoch).")
@model_options(" of an exported model (not a run)")
def evaluate(run_dir: str, data: str | None, dataset: str | None, split: str, data_dir: str | None, as_json: bool,
             with_baseline: bool, quiet: bool, device: str, precision: str, threads: int | None) -> None:
    """Test a trained run on its held-out test set (or on labelled data of your own, --data): accuracy,
    per-class recall and precision, confusion matrix, how many predictions are at least 0.999, 0.99 and 0.9
    confident and how right those are (what a threshold on predict's confidence keeps), test ELBO (the
    evidence lower bound on log p(x), in nats an example: higher, the data more alike), and with --val-labels
    the epoch they kept. Or test an exported
    model's graphs (--precision: its int8 or float16 copies) on labelled data of your own, or on a built-in
    data set's test split as its run made it (--dataset; by default the one it was trained on).

    Example: ssvae evaluate runs/digits-m2 --baseline --json

    \b
    An export's int8 graphs:
      ssvae evaluate models/digits-m2 --dataset digits --precision int8
    """
    from ssvae.evaluation import evaluate as evaluate_folder

    _require_stdout()
    report = evaluate_folder(run_dir, data=data, dataset=dataset, split=split, data_dir=data_dir, device=device,
                             precision=precision, threads=threads, baseline=with_baseline, progress=not quiet)
    _echo(json.dumps(_json_ready(report), allow_nan=False) if as_json else evaluation_text(report))


def _json_ready(value: Any) -> Any:
    """``value`` with NaN and infinities as null: strict JSON (jq, JavaScript) has no such numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_ready(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_ready(item) for item in value]
    return value


@main.command(short_help="Export a run as ONNX graphs for onnxruntime apps.")
@click.argument("run_dir", type=UserPath(file_okay=False))
@click.option("--out", type=UserPath(file_okay=False), help="Model folder to write [default: models/RUN_NAME].")
@click.option("--quantize", type=click.Choice(["int8"]), help="Also write int8 copies (smaller, faster on CPU).")
@click.option("--fp16", is_flag=True, help="Also write float16 copies (for GPUs; their accuracy here is onnxruntime's "
              "on CPU, which computes most of a float16 graph in float32).")
@click.option("--opset", type=click.IntRange(min=MIN_OPSET), default=OPSET, show_default=True,
              help=f"ONNX opset version of the graphs ({MIN_OPSET} or above: torch's exporter writes no older).")
@click.option("--force", is_flag=True,
              help="Replace an existing model folder (only one that holds nothing but ssvae export's files).")
def export(run_dir: str, out: str | None, quantize: str | None, fp16: bool, opset: int, force: bool) -> None:
    """Export a trained run as ONNX graphs (classifier.onnx, encoder.onnx, decoder.onnx) plus model.json
    (what an app needs to feed them) and model_card.md, checked against torch on real test inputs, for
    `ssvae.runtime` or any onnxruntime app. A run whose data are gone is exported with a warning, checked on
    stand-in inputs and without a test accuracy (--quantize int8 needs the data).

    Example: ssvae export runs/digits-m2 --out models/digits --quantize int8
    """
    from ssvae.onnx_export import export as export_run

    report = export_run(run_dir, out, opset=opset, quantize=quantize == "int8", fp16=fp16, replace=force)
    _echo(f"saved {report.model_dir}: {', '.join(report.files)}")
    _echo(difference_text(report))
    for precision, accuracy in report.accuracy.items():
        agreement = f"  (same class as float32: {report.agreement[precision]:.4f})" if precision != "float32" else ""
        shown = f"{accuracy:.4f}" if accuracy is not None else "not measured (" + (
            "the run's data are missing or changed" if report.held_out else "no test set: --test-fraction 0") + ")"
        _echo(f"{precision:<8} test accuracy {shown}{agreement}")


def _say_written(out: str, what: str) -> None:
    """What a table holds, after the table: on stderr where the table itself went to standard output."""
    from ssvae.inference import STDOUT

    _echo(f"wrote to standard output: {what}" if out == STDOUT else f"saved {out}: {what}", err=out == STDOUT)


@main.command(short_help="Label inputs with an exported model: a CSV of classes.")
@click.argument("model_dir", type=UserPath(file_okay=False))
@input_options
@click.option("--out", type=UserPath(dir_okay=False), default="predictions.csv", show_default=True,
              help="CSV to write ('-': standard output, a batch at a time: an input refused part-way ends the "
                   "rows there, with status 1): id, predicted, confidence, entropy, p_<class> for every class.")
@click.option("--uncertain-first", is_flag=True,
              help="Rows by entropy, highest first (ties in input order): the inputs the model is least sure of, "
                   "the ones to label next. Written once the last input is predicted.")
@click.option("--unlabelled-only", is_flag=True,
              help="Only the inputs without a label, each with its id among all: a CSV's rows whose label column "
                   "is empty (or NA, -1), an .npz's whose y is -1, a training folder's unlabelled/ images.")
@id_option
@run_options
def predict(model_dir: str, data: str | None, dataset: str | None, split: str, data_dir: str | None, out: str,
            uncertain_first: bool, unlabelled_only: bool, id_column: str | None, batch_size: int, device: str,
            precision: str, threads: int | None, force: bool, quiet: bool) -> None:
    """Label data with an exported model: one CSV row an input with the predicted class, its probability,
    the entropy of the prediction and every class's probability.

    Example: ssvae predict models/digits --dataset digits --out predictions.csv

    \b
    What to label next:
      ssvae predict models/mine --data DIR/unlabelled --uncertain-first --out next.csv
    Labels for the rows of a table that have none, each named by its column 'name':
      ssvae predict models/mine --data table.csv --unlabelled-only --id-column name --out labels.csv
    """
    from ssvae.inference import checked_inputs, predict as predict_rows

    model = load_model(model_dir, device, precision, threads)
    inputs = checked_inputs(model, out, force, data, dataset, split, data_dir, unlabelled_only=unlabelled_only,
                            id_column=id_column)
    with _streamed(out):
        done = predict_rows(model, inputs, out, batch_size=batch_size, progress=not quiet, replace=force,
                            uncertain_first=uncertain_first)
    _say_written(out, f"{count(done.rows, 'prediction')}; {confident_text(done.confident, model.test_confidence)}")


@main.command(short_help="Anomaly scores of inputs (negative ELBO, nats): a CSV.")
@click.argument("model_dir", type=UserPath(file_okay=False))
@input_options
@click.option("--out", type=UserPath(dir_okay=False), default="scores.csv", show_default=True,
              help="CSV to write ('-': standard output): id, score, entropy (of q(y|x), as predict writes it); "
                   "highest score (most anomalous) first (join it with predict's CSV on id).")
@click.option("--samples", type=click.IntRange(min=1), default=None,
              help="Importance samples a class, for a bound on -log p(x) tighter on average over seeds; default: "
                   "the ELBO, whose single draw of noise moves an image's score between seeds (standard deviation "
                   "1.2 nats on the shipped digits model, 2.6 on Fashion-MNIST's): for rankings, 8 (4 times the "
                   "time; the model's test-score threshold holds for the ELBO alone).")
@click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
              help="Seed of the noise the bound draws: every input gets the same draws, so an input's score "
                   "is its own, whatever its row or batch.")
@id_option
@run_options
def score(model_dir: str, data: str | None, dataset: str | None, split: str, data_dir: str | None, out: str,
          samples: int | None, seed: int, id_column: str | None, batch_size: int, device: str, precision: str,
          threads: int | None, force: bool, quiet: bool) -> None:
    """Anomaly scores: the negative ELBO (evidence lower bound on log p(x)) of each input in nats, a bound on
    -log p(x) (higher: less like the training data). For m1+m2 models, whose graphs hold M1's codes at their
    means, a score but not a bound on -log p(x). Each row has the classifier's entropy too: an input plainer
    than the training data (a blank image, another data set's) can score as usual but leave the classifier
    unsure. The last line counts the inputs above the 99th percentile of the model's test examples' scores (with
    the default --seed and --samples, as those were scored), of their entropies, and of either.

    Example: ssvae score models/digits --data new_images/ --out scores.csv
    """
    from ssvae.inference import checked_inputs, score as score_rows

    model = load_model(model_dir, device, precision, threads)
    inputs = checked_inputs(model, out, force, data, dataset, split, data_dir, id_column=id_column)
    with _streamed(out):
        scores = score_rows(model, inputs, out, samples=samples, seed=seed, batch_size=batch_size,
                            progress=not quiet, replace=force)
    top = int(scores.score.argmax()) if len(scores.score) else None
    rare = "" if top is None else _threshold_text(model.test_scores, scores, model.precision)
    _say_written(out, count(len(scores.score), "score") + (
        f" in nats, median {float(np.median(scores.score)):.2f}, highest {scores.score[top]:.2f} (id "
        f"{inputs.ids[top]}){rare}" if top is not None else ""))


def _threshold_text(reference: dict[str, Any] | None, scores: Scores, precision: str) -> str:
    """How many ``scores`` lie above the 99th percentile of the model's test examples' scores (``reference``),
    where they were scored alike (seed 0, one sample; where not, that the threshold does not hold for them:
    the count went without a word, as users followed --samples' advice); above that of their entropies, which
    draw no noise; and, where both hold, above either. Those percentiles are the float32 graphs', which the
    line says where the scores are another ``precision``'s (int8's move a score by a fraction of a percent)."""
    if reference is None:
        return ""
    q99, own = reference["quantiles"]["0.99"], "" if precision == "float32" else "float32 "
    above, unsure = scores.above_score, scores.above_entropy
    text = (f"; {int(above.sum())} above the 99th percentile of the model's test examples' {own}scores ({q99:.2f})"
            if above is not None else
            f"; no count above the model's test examples' 99th percentile of scores ({q99:.2f}): those were scored "
            f"by the ELBO (no --samples) with seed 0, as a threshold needs")
    if unsure is not None:
        h99 = reference["entropy"]["quantiles"]["0.99"]
        text += f"; {int(unsure.sum())} above the 99th percentile of their {own}entropies ({h99:.2f})"
        text += f"; {int((above | unsure).sum())} above either" if above is not None else ""
    return text + ("" if reference["n"] >= FEW_FOR_Q99 else f" (the test examples: {rarity_text(reference['n'])})")


@main.command(short_help="New examples of every class, or analogies: a PNG grid or a CSV.")
@click.argument("model_dir", type=UserPath(file_okay=False))
@click.option("--per-class", type=click.IntRange(min=1),
              help="Samples in each class's row (not with --analogies) [default: 8].")
@click.option("--class", "classes", metavar="NAME", multiple=True,
              help="Draw this class alone (its row of samples, or its column of analogies): a class name as ssvae "
                   "info lists them; repeat it for more, in the order wanted [default: every class].")
@click.option("--analogies", "analogies", metavar="INPUTS",
              help="Instead: render the style of these inputs in every class. A path (as --data of predict) or a "
                   "built-in data set name (its test split; all of it for a model tested on data of its own).")
@click.option("--rows", type=click.IntRange(min=1), help="Inputs shown with --analogies [default: 8].")
@click.option("--data-dir", type=UserPath(),
              help="With --analogies NAME: where the Fashion-MNIST/MNIST/KMNIST files are.")
@click.option("--out", type=UserPath(dir_okay=False),
              help="A .png grid (image models), or a .csv ('-': standard output) of rows id, label, inputs, which "
                   "train, predict and evaluate read. [default: samples.png; samples.csv for a model of tables]")
@click.option("--scale", type=click.IntRange(min=1), default=None,
              help="Output pixels per model pixel [default: cells at least 32 pixels high].")
@click.option("--seed", type=click.IntRange(min=0),
              help="Seed of the latent draws (not with --analogies) [default: 0].")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), metavar="T",
              help="Spread of the latent draws, z ~ N(0, T² I): below 1 (such as 0.7) less varied samples, nearer "
                   "each class's example at z = 0; above 1 more varied ones (not with --analogies) [default: 1].")
@click.option("--noise", is_flag=True,
              help="Draw each sample from p(x|y,z) around the decoder's mean, not the mean itself: a table's rows "
                   "as spread as its data (the means are smoother), an image's pixels speckled (not with "
                   "--analogies).")
@model_options()
@force_option
@click.option("--quiet", is_flag=True, help="No progress bar while CSV rows are written.")
def generate(model_dir: str, per_class: int | None, classes: tuple[str, ...], analogies: str | None, rows: int | None,
             data_dir: str | None, out: str | None, scale: int | None, seed: int | None, temperature: float | None,
             noise: bool, device: str, precision: str, threads: int | None, force: bool, quiet: bool) -> None:
    """New examples of each class as a PNG grid, one row a class in the model's order of classes, its name at
    its left; every row decodes the same latent draws, so a column shows one style in every class. Or, with
    --analogies, each input's style (first column) drawn in every class, in that order. --class draws the
    classes named alone, in the order given. With --out NAME.csv (or -), the same examples as rows of numbers:
    a model of tables has no picture.

    Example: ssvae generate models/digits --per-class 8 --out samples.png

    Example: ssvae generate models/digits --class 3 --per-class 500 --out 3s.csv
    """
    from ssvae.inference import check_generate_options, generate as generate_examples

    try:  # a usage error, before the model is loaded
        check_generate_options(analogies is not None, per_class=per_class, seed=seed, temperature=temperature,
                               noise=noise or None, rows=rows, data_dir=data_dir)
    except DataError as error:
        raise click.UsageError(str(error)) from None
    model = load_model(model_dir, device, precision, threads)
    inputs, dataset = None, None
    if analogies is not None:  # a path (as UserPath takes one) or a built-in data set's name
        inputs = os.path.expanduser(analogies)
        if inputs in BUILTIN and not Path(inputs).exists():
            inputs, dataset = None, inputs
    with _streamed(out):
        done = generate_examples(model, out, per_class=per_class, analogies=inputs, dataset=dataset, rows=rows,
                                 seed=seed, scale=scale, replace=force, data_dir=data_dir, classes=classes or None,
                                 temperature=temperature, noise=noise, progress=not quiet)
    shown = done.examples // max(len(done.classes), 1)  # inputs drawn in analogies
    left_out = f" (the first of {done.given}: --rows for more)" if done.given > shown else ""
    if done.pixels is not None:
        named = ", ".join(done.classes)
        order = "" if not done.classes else (f"; columns: the input, then {named}" if analogies else f"; rows: {named}")
        rows = f"; rows: {count(shown, 'input')}{left_out}" if analogies else ""
        _echo(f"saved {done.out}: {done.pixels[0]}x{done.pixels[1]} pixels{order}{rows}")
    elif analogies is None:
        drawn = ""
        if done.classes:  # an m1 model's examples have none
            drawn = f", {done.examples // len(done.classes)} of {_classes_text(model, done.classes, 'each class')}"
        _say_written(done.out, count(done.examples, "example") + drawn)
    else:
        _say_written(done.out, f"{count(done.examples, 'example')}: {count(shown, 'input')}{left_out}, each drawn in "
                               f"{_classes_text(model, done.classes, f'the {model.n_classes} classes')}")


def _classes_text(model: ExportedModel, classes: tuple[str, ...], every: str) -> str:
    """The classes `generate` drew, as its last line names them: ``every`` where they are all the model's in its
    order, else "class 3" or "each of classes 3, 8"."""
    if list(classes) == list(model.class_names):
        return every
    return f"class {classes[0]}" if len(classes) == 1 else f"each of classes {', '.join(classes)}"


@main.command(short_help="A model's metadata and graphs, or how far a run has trained.")
@click.argument("model_dir", metavar="RUN_DIR|MODEL_DIR", type=UserPath(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
def info(model_dir: str, as_json: bool) -> None:
    """What an exported model is: its metadata (classes, input shape and preprocessing, labels used,
    accuracy, versions; latent size and likelihood for a generative model), the precisions it holds graphs of
    (float32, and int8 or float16 where exported: --precision of predict, score, generate and evaluate) and the float32
    graphs' inputs and outputs (the first other precision's, in a folder shipped without them).

    Given a run folder (ssvae train's --out): whether it is finished and, if not, where its checkpoint
    stands; its model, data, labels and epochs; the last epoch's record; the command that trains it again.

    Example: ssvae info models/digits
    """
    _require_stdout()
    if (Path(model_dir) / RUN_CONFIG).is_file() and not is_model_folder(Path(model_dir)):
        from ssvae.api import describe_run

        run = describe_run(model_dir)
        _echo(json.dumps(_json_ready(run), allow_nan=False) if as_json else run_info_text(model_dir, run))
        return
    _check_info_folder(Path(model_dir))
    held = held_precisions(Path(model_dir))  # a folder shipped with its int8 graphs alone: those
    description = load_model(model_dir, "cpu", held[0] if held else "float32").describe()
    _echo(json.dumps(_json_ready(description), allow_nan=False) if as_json else model_info_text(description))


def _check_info_folder(folder: Path) -> None:
    """A RunError where ``folder`` is no folder info reads: missing, one of run or model folders (``runs/``
    given for ``runs/digits-m2``), or neither kind (a folder of data); a file is load's to name."""
    if not folder.exists():
        raise RunError(f"{folder}: no such model or run folder; give the --out folder of 'ssvae export' or of "
                       f"'ssvae train'")
    if not folder.is_dir():
        return
    for name, kind in ((MODEL_JSON, "model"), (RUN_CONFIG, "run")):
        if parent := folder_of_folders(folder, name, kind):
            raise RunError(parent)
    if not is_model_folder(folder):
        raise RunError(f"{folder} is neither a model folder nor a run folder (it holds no {MODEL_JSON}, no .onnx "
                       f"graph and no {RUN_CONFIG}): pass the --out folder of 'ssvae export' or of 'ssvae train'")
