"""What `ssvae evaluate` reports, of a run (`ssvae.evaluate`) or of an exported model's graphs
(`ssvae.inference.evaluate`): one report, so that both print and compare alike."""

from __future__ import annotations

import warnings
from typing import Any, Sequence

import numpy as np

from ssvae.errors import user_stacklevel


def classification_report(y: np.ndarray, predicted: np.ndarray, class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, each class's recall (``per_class``: the share of its examples predicted as it; None for a class
    without test examples) and precision (``per_class_precision``: the share of the examples predicted as it
    that are it; None for a class never predicted), and the confusion matrix (rows: the true class, columns: the
    predicted one) of ``predicted`` classes against the true ``y``."""
    k = len(class_names)
    confusion = np.bincount(np.asarray(y) * k + np.asarray(predicted), minlength=k * k).reshape(k, k)
    hits = np.diag(confusion)
    return {"accuracy": float(hits.sum() / max(1, len(y))), "n_test": int(len(y)),
            "per_class": _shares(hits, confusion.sum(1), class_names),
            "per_class_precision": _shares(hits, confusion.sum(0), class_names),
            "confusion": confusion.tolist(), "class_names": list(class_names)}


def _shares(hits: np.ndarray, totals: np.ndarray, class_names: Sequence[str]) -> dict[str, float | None]:
    """Each class's ``hits`` over its ``totals``, by name; None where a total is 0."""
    return {name: float(h / t) if t else None for name, h, t in zip(class_names, hits, totals)}


CONFIDENCE_LEVELS = (0.999, 0.99, 0.9)  # the least confidences a report counts the predictions of


def evaluation_report(model: str | None, y: np.ndarray, p: np.ndarray, class_names: Sequence[str],
                      test_data: str | None, labels_seen: int | None, test_elbo: float | None = None,
                      kept_epoch: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report of a ``model`` kind's class probabilities ``p`` (N, K) against ``y``: `classification_report`
    of its classes, `confidence_report`, what it was tested on (``test_data``: a file, a built-in set's split
    as "fashion-mnist test split", or None for a run's own test split), the labels it saw, its test ELBO and,
    with validation labels, the epoch it kept (a run's alone)."""
    return {"model": model, **classification_report(y, p.argmax(-1), class_names),
            "by_confidence": confidence_report(y, p), "test_data": test_data, "labels_seen": labels_seen,
            "test_elbo": test_elbo, "kept_epoch": kept_epoch}


def confidence_report(y: np.ndarray, p: np.ndarray) -> list[dict[str, Any]]:
    """For each of `CONFIDENCE_LEVELS`, the predictions at least that confident (``predict``'s confidence: the
    class's probability): how many, and the share of them that are right (None where there are none). How
    far a threshold on confidence can be trusted to label data: a model is often surer than it is right."""
    right = p.argmax(-1) == np.asarray(y)
    return [{"confidence": level, "n": int(kept.sum()), "accuracy": float(right[kept].mean()) if kept.any() else None}
            for level, kept in _reaching(p).items()]


def confidence_counts(p: np.ndarray) -> dict[float, int]:
    """How many rows of class probabilities ``p`` (N, K) are at least as confident as each of
    `CONFIDENCE_LEVELS`: what `ssvae predict` counts of its inputs."""
    return {level: int(kept.sum()) for level, kept in _reaching(p).items()}


def _reaching(p: np.ndarray) -> dict[float, np.ndarray]:
    """Each of `CONFIDENCE_LEVELS` -> which rows' confidence (their top class's probability) reaches it."""
    confidence = p.max(-1)
    return {level: confidence >= level for level in CONFIDENCE_LEVELS}


def confidence_summary(y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """`confidence_report` of a model's test examples as an export keeps it (``test_confidence``), accuracies to
    4 decimals, with the examples' count ``n``: what `ssvae predict` sets its own inputs' confidences against."""
    rounded = [{**row, "accuracy": None if row["accuracy"] is None else round(row["accuracy"], 4)}
               for row in confidence_report(y, p)]
    return {"n": int(len(y)), "levels": rounded}


def warn_not_held_out(tested: str, trained: str, labels_seen: int | None, fix: str) -> None:
    """The warning that ``tested`` holds the examples that the ``trained`` ("run", "model") trained on, some
    with their labels: the accuracy it is given is no held-out one, and ``fix`` says where to find one."""
    warnings.warn(f"{tested} holds the examples this {trained} trained on, {labels_seen} of them with their labels: "
                  f"the accuracy measured on them is not held out ({fix})", stacklevel=user_stacklevel())


__all__ = ["CONFIDENCE_LEVELS", "classification_report", "confidence_counts", "confidence_report", "confidence_summary",
           "evaluation_report", "warn_not_held_out"]
