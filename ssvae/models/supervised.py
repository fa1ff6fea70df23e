"""The classifier q(y|x) alone, with no generative model: the baselines that show what M2's adds.

``supervised`` trains it on the labelled examples alone. ``fixmatch`` trains it on the labels and, by
consistency (`ssvae.consistency`), on strong views of unlabelled images: M2's consistency recipe with the
encoder, the decoder and the unlabelled bound taken away."""

from __future__ import annotations

from torch import Tensor, nn

from ssvae.consistency import Consistency
from ssvae.models.base import Model
from ssvae.models.networks import classify_together
from ssvae.objectives import LossWeights, classification_loss


class Supervised(Model):
    """``consistency``: the state of consistency training (model fixmatch), else None (model supervised)."""

    generative = False

    def __init__(self, input_dim: int, classifier: nn.Module, standardise: bool,
                 consistency: Consistency | None = None, categories: tuple[tuple[int, int], ...] = ()):
        super().__init__(input_dim, standardise, categories)
        self.classifier = classifier
        self.consistency = consistency
        self.uses_unlabelled = consistency is not None

    def classify(self, x: Tensor) -> Tensor:
        return self.classifier(self.prepare(x))

    def loss(self, x_l: Tensor, y_l: Tensor, x_u: Tensor | None, weights: LossWeights,
             strong_u: Tensor | None = None) -> dict[str, Tensor]:
        """Cross-entropy on the labels, plus ``weights.consistency`` times the consistency loss on ``x_u`` and
        its strong views ``strong_u`` when the model trains by consistency."""
        if self.consistency is None or weights.consistency == 0:
            ce = classification_loss(self.classify(x_l), y_l).mean()
            return {"loss": ce, "classification": ce}
        if x_u is None or strong_u is None:
            raise ValueError("consistency training needs unlabelled images and their strong views")
        views = [self.prepare(x_l), self.prepare(x_u), self.prepare(strong_u)]
        logits_l, logits_u, logits_strong = classify_together(self.classifier, views)
        ce = classification_loss(logits_l, y_l).mean()
        consistency = self.consistency.loss(logits_u, logits_strong, y_l).mean()
        return {"loss": ce + weights.consistency * consistency, "classification": ce, "consistency": consistency}
