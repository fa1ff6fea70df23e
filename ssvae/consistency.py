"""Consistency training of q(y|x) (FixMatch, Sohn et al. 2020) with distribution alignment (ReMixMatch,
Berthelot et al. 2020) and, optionally, self-adaptive thresholds (FreeMatch, Wang et al. 2023).

Where q(y|x) is confident about a weak view of an unlabelled image, a strong view of the same image is trained
towards that class. Left alone, the few classes q(y|x) favours early on collect more and more of the confident
targets and the classifier talks itself into its own mistakes. Alignment scales each weak prediction by
(class frequency among the labels) / (class frequency among q(y|x)'s recent predictions) before the confidence
test, so over-predicted classes become harder to make a target of and under-predicted ones easier.

The confidence test uses one fixed threshold, or, with ``adaptive``, FreeMatch's: a global level that is the
running mean of q(y|x)'s largest (aligned) probability, starting at 1/classes and rising as q(y|x) learns,
scaled per class by that class's running mean probability over its maximum. A class q(y|x) is still unsure of
gets a lower bar, so it is not left without targets while the easy classes take them all. FreeMatch reports
its largest gains over a fixed threshold with the fewest labels (a handful per class).

Every running mean moves once per training step and is kept as a buffer: they travel in checkpoints, so a
resumed run goes on exactly where it stopped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssvae.objectives import aligned_distribution, consistency_loss


class Consistency(nn.Module):
    """The running means and the per-example loss. The strong views themselves are drawn by the training
    loop (`ssvae.augment.STRONG`), from the images rather than from their weak views.

    ``threshold``: confidence (after alignment) from which a weak view's class becomes a target, unless
    ``adaptive``; ``momentum``: of the running means, per step."""

    def __init__(self, n_classes: int, threshold: float, momentum: float = 0.999, adaptive: bool = False):
        super().__init__()
        self.threshold = threshold
        self.momentum = momentum
        self.adaptive = adaptive
        uniform = torch.full((n_classes,), 1.0 / n_classes)
        self.register_buffer("label_frequency", uniform.clone())
        self.register_buffer("prediction_frequency", uniform.clone())
        if adaptive:
            self.register_buffer("mean_confidence", torch.tensor(1.0 / n_classes))
            self.register_buffer("class_confidence", uniform.clone())

    def thresholds(self) -> float | Tensor:
        """The fixed threshold, or the adaptive one of each class (shape (classes,))."""
        if not self.adaptive:
            return self.threshold
        return self.mean_confidence * self.class_confidence / self.class_confidence.max()

    def loss(self, weak_logits: Tensor, strong_logits: Tensor, labels: Tensor) -> Tensor:
        """Per unlabelled example; ``labels`` are the step's labelled classes, which track the label frequency.
        In training mode the running means move towards this step's before the targets are chosen."""
        probs = torch.softmax(weak_logits.detach().to(self.label_frequency.dtype), dim=-1)  # like the running means
        step = 1.0 - self.momentum
        if self.training:
            seen = F.one_hot(labels, len(self.label_frequency)).to(probs.dtype).mean(0)
            self.label_frequency.lerp_(seen, step)
            self.prediction_frequency.lerp_(probs.mean(0), step)
        aligned = aligned_distribution(probs, self.label_frequency, self.prediction_frequency)
        if self.training and self.adaptive:
            self.mean_confidence.lerp_(aligned.max(-1).values.mean(), step)
            self.class_confidence.lerp_(aligned.mean(0), step)
        return consistency_loss(aligned, strong_logits, self.thresholds())


__all__ = ["Consistency"]
