"""The baseline: the same classifier as M2's q(y|x), trained on the labelled examples alone."""

from __future__ import annotations

from torch import Tensor, nn

from ssvae.models.base import Model
from ssvae.objectives import LossWeights, classification_loss


class Supervised(Model):
    uses_unlabelled = False
    generative = False

    def __init__(self, input_dim: int, classifier: nn.Module, standardise: bool):
        super().__init__(input_dim, standardise)
        self.classifier = classifier

    def classify(self, x: Tensor) -> Tensor:
        return self.classifier(self.prepare(x))

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights) -> dict[str, Tensor]:
        ce = classification_loss(self.classify(x_l), y_l).mean()
        return {"loss": ce, "classification": ce}
