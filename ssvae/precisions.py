"""The int8 and float16 copies of an export's float32 graphs, and the CPU sessions that check them.

int8: static quantisation, its activation ranges calibrated on training inputs (`calibration_inputs`), so
that a row's result does not depend on its batch. float16: weights and arithmetic in float16 with float32
inputs and outputs, the standardisation of a Gaussian model's inputs kept in float32 (`to_float16`).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import numpy as np
import onnx
import onnxruntime as ort

from ssvae.runtime import session_options

if TYPE_CHECKING:  # annotations only: quantising a graph needs no torch
    from ssvae.api import Run


def cpu_session(graph: bytes, threads: int | None = None) -> ort.InferenceSession:
    """onnxruntime's session over a graph held in memory, on the CPU: the export's checks, calibration and
    figures run alike on any machine; on ``threads`` threads (None: onnxruntime's default), as benchmarks
    pin them."""
    return ort.InferenceSession(graph, session_options(threads), providers=["CPUExecutionProvider"])


CALIBRATION_ROWS = 2_000  # training inputs that set the int8 graphs' activation ranges
CALIBRATION_BATCH = 100  # rows a calibration call: memory stays bounded whatever the inputs' size
QUANTIZED_OPS = ("Gemm", "MatMul", "Conv")  # the ops with weights; the rest stay float32


def calibration_picks(n: int) -> np.ndarray:
    """Which of ``n`` training inputs (never test ones) calibrate: up to `CALIBRATION_ROWS`, chosen with a
    fixed seed so that an export quantises alike each time."""
    if n <= CALIBRATION_ROWS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, CALIBRATION_ROWS, replace=False))


def calibration_rows(x: np.ndarray) -> np.ndarray:
    """The rows of ``x`` that `calibration_picks` chooses."""
    return x[calibration_picks(len(x))]


def calibration_inputs(run: Run) -> np.ndarray:
    """The run's training inputs (labelled and unlabelled) that calibrate its int8 graphs, as the graphs take
    them: the rows chosen are gathered alone, not the whole training set."""
    partition = run.partition()
    labelled, unlabelled = partition.labelled.x, partition.unlabelled.x
    picks = calibration_picks(len(labelled) + len(unlabelled))
    own = picks < len(labelled)
    x = np.concatenate([labelled[picks[own]], unlabelled[picks[~own] - len(labelled)]])
    return run.inputs(x).numpy()


def calibration_feeds(graphs: dict[str, bytes], x: np.ndarray) -> dict[str, dict[str, np.ndarray]]:
    """Each graph's calibration inputs from inputs ``x``: the classifier's are ``x``; the encoder's ``x`` with
    each class in turn and all zeros (the predicted class); the decoder's z drawn from the float32 encoder's
    q(z|x,y) with a class each. Classes go round the rows, so the feeds are no larger than ``x``."""
    feeds = {"classifier": {"x": x}}
    if "encoder" not in graphs:
        return feeds
    encoder = cpu_session(graphs["encoder"])
    k = encoder.get_outputs()[0].shape[-1]
    conditional = "y" in {i.name for i in encoder.get_inputs()}  # M1's encoder and decoder take no y
    rows = np.arange(len(x))
    given = {"y": np.eye(k + 1, k, dtype=np.float32)[rows % (k + 1)]} if conditional else {}  # row k: zeros
    onehot = {"y": np.eye(k, dtype=np.float32)[rows % k]} if conditional else {}
    _, z_mean, z_logvar = (np.concatenate(parts) for parts in zip(*(
        encoder.run(None, batch) for batch in _batches({"x": x, **onehot}))))
    noise = np.random.default_rng(0).standard_normal(z_mean.shape, dtype=np.float32)
    z = z_mean + np.exp(0.5 * z_logvar) * noise
    return {**feeds, "encoder": {"x": x, **given}, "decoder": {"z": z, **onehot}}


def float_output_nodes(graph: onnx.GraphProto) -> list[str]:
    """The Gemms and MatMuls whose output reaches a graph output through no other quantised op (the logits, z
    mean and log-variance, the decoder's output): left in float32, where int8 rounding would show."""
    readers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            readers.setdefault(name, []).append(node)
    outputs = {output.name for output in graph.output}

    def reaches_output(tensors: list[str]) -> bool:
        return any(name in outputs or reaches_output([out for node in readers.get(name, ())
                                                      if node.op_type not in QUANTIZED_OPS for out in node.output])
                   for name in tensors)

    return [node.name for node in graph.node if node.op_type in ("Gemm", "MatMul") and reaches_output(node.output)]


def _batches(feeds: dict[str, np.ndarray]) -> Iterator[dict[str, np.ndarray]]:
    """``feeds`` (one array an input, rows alike) `CALIBRATION_BATCH` rows at a time."""
    n = len(next(iter(feeds.values())))
    for start in range(0, n, CALIBRATION_BATCH):
        yield {name: value[start:start + CALIBRATION_BATCH] for name, value in feeds.items()}


class _Batches:
    """Calibration feeds as onnxruntime's CalibrationDataReader takes them: `_batches`, one a call."""

    def __init__(self, feeds: dict[str, np.ndarray]):
        self.batches = _batches(feeds)

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self.batches, None)


# The type of an int8 copy's weights. uint8, as the activations are, so that every CPU computes the same
# integers: onnxruntime multiplies uint8 by int8 on CPUs without VNNI instructions (AVX2 alone, as on AMD's
# before Zen 4) with an instruction that saturates pairs of products, and uint8 by uint8 on a path that never
# does, a little slower (`tools/bench_int8_weights.py` measures both; README, "export", has the figures).
WEIGHT_TYPES = ("uint8", "int8")


def quantize_int8(graphs: dict[str, bytes], x: np.ndarray, weights: str = "uint8") -> dict[str, bytes]:
    """Static int8 copies of an export's float32 graphs (role -> bytes), calibrated on inputs ``x`` (training
    inputs as the graphs take them, `calibration_inputs`), with ``weights`` of a `WEIGHT_TYPES` type.
    Activation ranges are fixed here, not measured on each call's batch as dynamic quantisation does, so that
    a row's result does not depend on the rows beside it (one outlier in a batch changed the others' classes);
    a conv model also runs faster than in float32."""
    feeds = calibration_feeds(graphs, x)
    return {role: _quantize_static(data, feeds[role], weights) for role, data in graphs.items()}


def _quantize_static(model_bytes: bytes, feeds: dict[str, np.ndarray], weights: str) -> bytes:
    """One graph in int8 (QDQ, uint8 activations, per-channel ``weights``, min-max ranges of ``feeds``), its
    last Gemms in float32 (`float_output_nodes`), with the float graph's metadata, doc string and IR version."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    source = onnx.load_from_string(model_bytes)
    quiet = logging.getLogger().level
    with tempfile.TemporaryDirectory() as tmp:
        float_path, pre, target = Path(tmp) / "float.onnx", Path(tmp) / "pre.onnx", Path(tmp) / "int8.onnx"
        float_path.write_bytes(model_bytes)
        logging.getLogger().setLevel(logging.ERROR)  # its notes on the pre-processing and each op it leaves
        try:
            # shape inference only: onnxruntime's optimisations would add their own opset domains
            quant_pre_process(float_path, pre, skip_optimization=True)
            quantize_static(pre, target, _Batches(feeds), quant_format=QuantFormat.QDQ,
                            activation_type=QuantType.QUInt8,  # int8 activations keep the first Gemm from fusing
                            weight_type=QuantType.QUInt8 if weights == "uint8" else QuantType.QInt8,
                            per_channel=True, calibrate_method=CalibrationMethod.MinMax,
                            op_types_to_quantize=list(QUANTIZED_OPS),
                            nodes_to_exclude=float_output_nodes(onnx.load(str(pre)).graph),
                            extra_options={"OpTypesToExcludeOutputQuantization": ["Gemm", "MatMul"]})
        finally:
            logging.getLogger().setLevel(quiet)
        proto = onnx.load(str(target))
    del proto.metadata_props[:]
    proto.metadata_props.extend(source.metadata_props)
    proto.doc_string, proto.ir_version = source.doc_string, source.ir_version
    return proto.SerializeToString()


STANDARDISATION = ("input_shift", "input_scale")  # the buffers of `Model.prepare`, named in the graphs' weights
LAYOUT_OPS = {"Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze"}  # move values, exact in any precision


def to_float16(model_bytes: bytes) -> bytes:
    """Weights and arithmetic in float16 with float32 inputs and outputs (for GPUs; slower on most CPUs). The
    standardisation of a Gaussian model's inputs, and its undoing on the decoder's output, stay in float32: a
    table's column far from zero for its spread (a year near 2010 that varies by 3, whose float16 step is 1)
    keeps its detail into the standardised space and back out. The converter brackets those float32 nodes
    with casts to float16 and back, which would round them all the same; the pairs are removed (the graphs
    hold no casts to integers and back, whose rounding that would drop)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16
    from onnxruntime.transformers.onnx_model import OnnxModel

    proto = onnx.load_from_string(model_bytes)
    converted = OnnxModel(convert_float_to_float16(proto, keep_io_types=True,
                                                   node_block_list=standardisation_nodes(proto.graph)))
    converted.remove_cascaded_cast_nodes()
    converted.remove_useless_cast_nodes()
    converted.topological_sort()  # the converter appends its input casts after the nodes that read them
    return converted.model.SerializeToString()


def standardisation_nodes(graph: onnx.GraphProto) -> list[str]:
    """The names of the nodes that read the standardisation's shift or scale, with the layout operations
    (flattening, reshaping) joined to them: those between them and the graph's inputs and outputs."""
    buffers = {init.name for init in graph.initializer if init.name.endswith(STANDARDISATION)}
    kept = {node.name for node in graph.node if buffers.intersection(node.input)}
    while True:
        tensors = {name for node in graph.node if node.name in kept for name in (*node.input, *node.output)}
        joined = {node.name for node in graph.node if node.op_type in LAYOUT_OPS and node.name not in kept
                  and (tensors - buffers).intersection([*node.input[:1], *node.output])}  # [:1]: not a shape
        if not joined:
            return [node.name for node in graph.node if node.name in kept]
        kept |= joined


def predicted_classes(classifier: bytes, x: np.ndarray) -> np.ndarray:
    """The classes a classifier graph gives ``x``, a batch of 1,024 rows at a time."""
    session = cpu_session(classifier)
    starts = range(0, max(1, len(x)), 1024)
    return np.concatenate([session.run(None, {"x": x[k:k + 1024]})[0].argmax(-1) for k in starts])


__all__ = ["CALIBRATION_ROWS", "calibration_inputs", "calibration_rows", "cpu_session", "predicted_classes",
           "quantize_int8", "standardisation_nodes", "to_float16", "WEIGHT_TYPES"]
