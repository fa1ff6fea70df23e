"""ssvae: semi-supervised variational autoencoders that learn from few labels and export to ONNX."""

from ssvae.api import Run, evaluate, load, train
from ssvae.config import Config

__version__ = "0.1.0"
__all__ = ["Config", "Run", "evaluate", "load", "train", "__version__"]
