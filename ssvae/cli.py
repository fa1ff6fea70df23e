"""The `ssvae` command: a thin click layer over `ssvae.api`.

Errors the user can fix (bad data, a broken run directory, an impossible setting) print one line naming the
problem and the fix and exit with status 1; ``ssvae --debug ...`` shows the traceback instead.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ssvae.config import LR_SCHEDULES, MODEL_KINDS, PRESETS, Config, ConfigError, config_for
from ssvae.data import BUILTIN, DataError
from ssvae.run import RunError

DEFAULTS = Config()
USER_ERRORS = (DataError, RunError, ConfigError)


def _sizes(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        return tuple(int(v) for v in value.split(","))
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of layer sizes, e.g. 500 or 600,600")


def _labels(ctx: click.Context, param: click.Parameter, value: str | None) -> int | str | None:
    if value is None:
        return None
    if value == "all":
        return "all"
    try:
        return int(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither a number of labels nor 'all'")


class Group(click.Group):
    """Turns the errors a user can fix into one line on stderr, unless --debug is given."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as error:
            if ctx.params.get("debug"):
                raise
            click.echo(f"Error: {error}", err=True)
            sys.exit(1)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.version_option(package_name="ssvae")
def main(debug: bool) -> None:
    """Semi-supervised VAEs: train a classifier and a generative model from a few labels and many
    unlabelled examples, then evaluate it.

    Start with `ssvae train` (8x8 digits, 100 labels, offline) and `ssvae evaluate runs/digits-m2`.
    """


def _shown_default(field: str) -> str:
    """The default --help shows: Config's, and any data set's preset that differs."""
    value = getattr(DEFAULTS, field)
    text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
    presets = [f"{name}: {p[field]}" for name, p in PRESETS.items() if field in p]
    return text + (f"; {', '.join(presets)}" if presets else "")


# (flag, Config field, click type or callback, help): the training settings, each with Config's default
TRAINING_OPTIONS = [
    ("--labels", "labels", _labels, "Labels to train with, class-balanced (N/K a class), or 'all'."),
    ("--val-labels", "val_labels", int,
     "Of those labels, how many to set aside to pick the best epoch (0: keep the last epoch)."),
    ("--test-fraction", "test_fraction", float, "Held-out test share for data without a test split of its own."),
    ("--model", "model", click.Choice(MODEL_KINDS),
     "m2: the semi-supervised VAE; m1+m2: M2 on a VAE's codes; m1: a VAE plus a classifier on its codes; "
     "supervised: the classifier on the labels alone (the baseline)."),
    ("--epochs", "epochs", int, "Passes over the unlabelled data."),
    ("--m1-epochs", "m1_epochs", int, "Epochs of the M1 stage of m1+m2."),
    ("--batch-size", "batch_size", int, "Unlabelled examples a step."),
    ("--labelled-batch-size", "labelled_batch_size", int, "Labelled examples a step."),
    ("--lr", "lr", float, "Adam learning rate."),
    ("--lr-schedule", "lr_schedule", click.Choice(LR_SCHEDULES), "constant, or cosine decay to 0 over training."),
    ("--alpha", "alpha", float, "Classification weight; the loss uses alpha * N_total / N_labelled."),
    ("--latent-dim", "latent_dim", int, "Size of z."),
    ("--hidden", "hidden", _sizes, "Hidden layer sizes of encoder and decoder, comma-separated."),
    ("--classifier-hidden", "classifier_hidden", _sizes, "Hidden layer sizes of the classifier q(y|x)."),
    ("--kl-warmup", "kl_warmup_epochs", int, "Epochs over which the KL weight rises from 0 to 1 (0: none)."),
    ("--seed", "seed", int, "Seed of the label choice, initialisation and batches."),
    ("--device", "device", click.Choice(["auto", "cpu", "cuda"]), "auto: a CUDA GPU when there is one."),
]


def training_options(command):
    """Add every TRAINING_OPTIONS entry; an option left out stays None, so presets and Config fill it."""
    for flag, field, kind, text in reversed(TRAINING_OPTIONS):
        typed = {"callback": kind} if callable(kind) and not isinstance(kind, (type, click.ParamType)) else {
            "type": kind}
        command = click.option(flag, field, default=None, help=f"{text}  [default: {_shown_default(field)}]",
                               **typed)(command)
    return command


@main.command()
@click.option("--dataset", type=click.Choice(BUILTIN), default="digits", show_default=True,
              help="Built-in data set (digits is bundled and works offline).")
@click.option("--data", type=click.Path(), help="Your own data instead: an .npz (x, y with -1 for unlabelled), "
              "a .csv with a 'label' column, or a folder of class sub-folders plus 'unlabelled/'.")
@click.option("--data-dir", type=click.Path(), help="Where Fashion-MNIST/MNIST/KMNIST files are, or go.")
@training_options
@click.option("--out", type=click.Path(file_okay=False), help="Run directory to write [default: runs/DATA-MODEL].")
@click.option("--force", is_flag=True, help="Replace an existing run directory.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
def train(out: str | None, force: bool, quiet: bool, **options) -> None:
    """Train a model on a few labels plus unlabelled data and write a run directory:
    config.json, weights.safetensors, labels.json (the chosen examples), metrics.csv.

    Example: ssvae train --labels 100 --out runs/digits
    """
    from ssvae.api import evaluate, train as train_run

    given = {k: v for k, v in options.items() if v is not None}
    if given.get("labels") == "all":
        given["labels"] = None  # the Config's word for "every label the source has"
    config = config_for(**given)
    name = Path(config.data).stem if config.data else config.dataset
    out_dir = Path(out or f"runs/{name}-{config.model.replace('+', '')}")
    run = train_run(config, out=out_dir, progress=not quiet, replace=force)
    report = evaluate(run)
    click.echo(f"saved {out_dir}  |  test accuracy {report['accuracy']:.4f} on {report['n_test']} examples  |  "
               f"labels seen {report['labels_seen']}")


def _format_report(report: dict) -> str:
    names = report["class_names"]
    width = max(6, *(len(n) for n in names))
    elbo = report["test_elbo"]
    lines = [
        f"model          {report['model']}",
        f"labels seen    {report['labels_seen']}",
        f"test examples  {report['n_test']}",
        f"test accuracy  {report['accuracy']:.4f}",
        f"test ELBO      {elbo:.2f} nats an example" if elbo is not None else "test ELBO      - (no generative model)",
        "",
        f"{'class':<{width}}  accuracy",
        *(f"{n:<{width}}  {report['per_class'][n]:.4f}" for n in names),
        "",
        "confusion (rows: true class, columns: predicted)",
        " " * width + " " + " ".join(f"{k:>5}" for k in range(len(names))),
        *(f"{n:<{width}} " + " ".join(f"{c:>5}" for c in row) for n, row in zip(names, report["confusion"])),
    ]
    return "\n".join(lines)


@main.command()
@click.argument("run_dir", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="End with the report as one JSON line.")
def evaluate(run_dir: str, as_json: bool) -> None:
    """Test a trained run on its held-out test set: accuracy, per-class accuracy, confusion matrix, test ELBO.

    Example: ssvae evaluate runs/digits-m2 --json
    """
    from ssvae.api import evaluate as evaluate_run

    report = evaluate_run(Path(run_dir))
    click.echo(_format_report(report))
    if as_json:
        click.echo(json.dumps(report))
