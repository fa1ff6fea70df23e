"""Consistency training of q(y|x) (FixMatch, Sohn et al. 2020) with distribution alignment (ReMixMatch,
Berthelot et al. 2020).

Where q(y|x) is confident about a weak view of an unlabelled image, a strong view of the same image is trained
towards that class. Left alone, the few classes q(y|x) favours early on collect more and more of the confident
targets and the classifier talks itself into its own mistakes. Alignment scales each weak prediction by
(class frequency among the labels) / (class frequency among q(y|x)'s recent predictions) before the confidence
test, so over-predicted classes become harder to make a target of and under-predicted ones easier. Both
frequencies are running means over training steps, kept as buffers: they travel in checkpoints, so a resumed
run goes on exactly where it stopped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ssvae.objectives import aligned_distribution, consistency_loss


class Consistency(nn.Module):
    """The alignment's running class frequencies and the per-example loss. The strong views themselves are
    drawn by the training loop (`ssvae.augment.STRONG`), from the images rather than from their weak views.

    ``threshold``: confidence (after alignment) from which a weak view's class becomes a target;
    ``momentum``: of the running frequencies, per step."""

    def __init__(self, n_classes: int, threshold: float, momentum: float = 0.999):
        super().__init__()
        self.threshold = threshold
        self.momentum = momentum
        self.register_buffer("label_frequency", torch.full((n_classes,), 1.0 / n_classes))
        self.register_buffer("prediction_frequency", torch.full((n_classes,), 1.0 / n_classes))

    def loss(self, weak_logits: Tensor, strong_logits: Tensor, labels: Tensor) -> Tensor:
        """Per unlabelled example; ``labels`` are the step's labelled classes, which track the label frequency.
        In training mode the running frequencies move towards this step's before the targets are chosen."""
        probs = torch.softmax(weak_logits.detach().to(self.label_frequency.dtype), dim=-1)  # like the running means
        if self.training:
            seen = F.one_hot(labels, len(self.label_frequency)).to(probs.dtype).mean(0)
            self.label_frequency.lerp_(seen, 1.0 - self.momentum)
            self.prediction_frequency.lerp_(probs.mean(0), 1.0 - self.momentum)
        aligned = aligned_distribution(probs, self.label_frequency, self.prediction_frequency)
        return consistency_loss(aligned, strong_logits, self.threshold)


__all__ = ["Consistency"]
