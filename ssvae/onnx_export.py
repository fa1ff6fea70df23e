"""Export a trained run as ONNX graphs that onnxruntime runs without torch.

One graph per role, each with a symbolic batch axis named ``batch`` and no random operator (callers draw
the noise):

    classifier.onnx   x -> probabilities                                  (N, K)
    encoder.onnx      x, y -> probabilities, z_mean, z_logvar              q(z|x,y); an all-zero row of y
                                                                           means "the predicted class"
    decoder.onnx      z, y -> x_mean, x_logits | x_logvar                  p(x|y,z), in the input space

M1's encoder and decoder take no y; the supervised baseline has only a classifier. Inputs ``x`` are the
model's range (floats in [0, 1] for images); every graph carries the metadata an app needs to prepare them
(`METADATA_PREFIX` keys in ``metadata_props``). Each export is checked: onnx's full checker, and
onnxruntime against torch on real test inputs at batch 1 and `CHECK_BATCH`. The int8 and float16 copies
are made by `ssvae.precisions`, the model card by `ssvae.model_card`.
"""

from __future__ import annotations

import contextlib
import json
import math
import numbers
import os
import shutil
import tempfile
import threading
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch._dynamo  # loaded here, before any output is staged, not inside torch.onnx.export, where a Ctrl-C
#                       while it loads became torch's own export error and a page of traceback
from torch import Tensor, nn

from ssvae import __version__
from ssvae.api import Run, load, run_folder
from ssvae.run import tensors_digest
from ssvae.data.digests import data_digest
from ssvae.model_card import data_name, export_command, model_card, preprocessing
from ssvae.models import Model
from ssvae.objectives import category_probabilities, split_gaussian
from ssvae.precisions import calibration_inputs, cpu_session, predicted_classes, quantize_int8, to_float16
from ssvae.report import confidence_summary
from ssvae.data import Dataset, DataError, Partition
from ssvae.errors import ExportError, RunError, check_flags, user_stacklevel
from ssvae.files import (OutputFolder, check_writable, given_path, hidden_prefix, sole_writer, take_access,
                         uninterrupted)
from ssvae.runtime import (FORMAT_VERSION, METADATA_PREFIX, MIN_OPSET, MODEL_CARD, MODEL_FILES, MODEL_JSON, OPSET,
                           SCORE_QUANTILES, ExportedModel, graph_file, score_noise)

FILE_SUFFIXES = (".onnx", ".json", ".md", ".csv", ".zip")  # of an --out meant as a file, not the model folder
CHECK_BATCH = 257  # odd and larger than any example batch: the batch axis must really be symbolic
TOLERANCE = 1e-4  # onnxruntime vs torch: |ort - torch| <= TOLERANCE * (1 + |torch|)
_TORCHLIB_TABLES: dict[tuple, Any] = {}  # (args, kwargs) -> torch's table of ONNX functions, built once
_TORCHLIB_LOCK = threading.Lock()  # held by the export that patches torch's builder of those tables
MODEL_FOLDER = OutputFolder("model folder", MODEL_FILES)


def one_hot_of_argmax(probabilities: Tensor) -> Tensor:
    """One-hot rows of each row's most probable class: the predicted y that q(z|x,y) takes when none is given."""
    classes = torch.arange(probabilities.shape[-1], device=probabilities.device)
    return (probabilities.argmax(-1, keepdim=True) == classes).to(probabilities.dtype)


class ClassifierGraph(nn.Module):
    """q(y|x) as probabilities: what apps read, so that none has to apply a softmax."""

    def __init__(self, model: Model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(self.model.classify(x), -1)


class EncoderGraph(nn.Module):
    """Class probabilities and q(z|x,y); rows of ``y`` that are all zero use the predicted class."""

    def __init__(self, model: Model):
        super().__init__()
        self.model = model

    def forward(self, x: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
        probabilities = torch.softmax(self.model.classify(x), -1)
        if y is not None:
            given = y.sum(-1, keepdim=True) > 0
            y = torch.where(given, y, one_hot_of_argmax(probabilities))
        z_mean, z_logvar = self.model.encode(x, y)
        return probabilities, z_mean, z_logvar


class DecoderGraph(nn.Module):
    """The mean of p(x|y,z) and its second parameter (logits or log-variance), shaped like the inputs."""

    def __init__(self, model: Model, input_shape: tuple[int, ...]):
        super().__init__()
        self.model = model
        self.input_shape = input_shape

    def forward(self, z: Tensor, y: Tensor | None = None) -> tuple[Tensor, Tensor]:
        params = self.model.decode(z, y)
        if self.model.likelihood == "bernoulli":
            mean, second = torch.sigmoid(params), params
        else:  # back from the standardised space to the inputs' own
            shift, scale = self.model.standardisation()
            mean, logvar = split_gaussian(params)
            mean, second = mean * scale + shift, logvar + 2.0 * torch.log(scale)
            mean = category_probabilities(mean, self.model.categories)  # of one-hot inputs: shift 0, scale 1
        shape = (-1, *self.input_shape)
        return mean.reshape(shape), second.reshape(shape)


ROLE_DOCS = {  # each graph's doc_string, which Netron and onnx.load show an app developer
    "classifier": "q(y|x): x (N, *input_shape) -> probabilities (N, K). Inputs as the ssvae.preprocessing metadata "
                  "(model.json's preprocessing) says, a table's columns in the order of ssvae.input_columns where "
                  "given; class names in ssvae.class_names (model.json's class_names).",
    "encoder": "q(z|x,y): x, y (N, K) -> probabilities, z_mean, z_logvar (N, latent_dim). A row of y that is all "
               "zeros means the predicted class; M1 takes no y.",
    "decoder": "p(x|y,z): z (N, latent_dim), y (N, K) -> x_mean and x_logits (Bernoulli) or x_logvar (Gaussian), "
               "shaped like the inputs, in their units; M1 takes no y. Draw z ~ N(0, I) to generate.",
}


@dataclass
class GraphSpec:
    """How to export one role: its torch module, names and example inputs."""

    role: str
    module: nn.Module
    inputs: dict[str, Tensor]  # name -> real example inputs (at least CHECK_BATCH rows)
    outputs: tuple[str, ...]


def graph_specs(run: Run, x: Tensor) -> list[GraphSpec]:
    """The graphs a run exports, with real inputs ``x`` (test examples) to trace and check them on."""
    model = run.model
    specs = [GraphSpec("classifier", ClassifierGraph(model), {"x": x}, ("probabilities",))]
    if not model.generative:
        return specs
    with torch.no_grad():
        probabilities = torch.softmax(model.classify(x), -1)
        y = one_hot_of_argmax(probabilities) if model.conditional else None
        z = model.encode(x, y)[0]
    second = "x_logits" if model.likelihood == "bernoulli" else "x_logvar"
    class_input = {"y": y} if model.conditional else {}
    specs.append(GraphSpec("encoder", EncoderGraph(model), {"x": x, **class_input},
                           ("probabilities", "z_mean", "z_logvar")))
    specs.append(GraphSpec("decoder", DecoderGraph(model, run.config.input_shape), {"z": z, **class_input},
                           ("x_mean", second)))
    return specs


def description(run: Run, accuracy: float | None, opset: int = OPSET, data_found: bool | None = None) -> dict[str, Any]:
    """What an app needs to use the graphs without ssvae: classes, input shape and preprocessing, labels used,
    versions, and a generative model's latent size and likelihood. Stored in every graph's metadata and in
    ``model.json``. ``accuracy`` None: not measured, as the run held out no test set or its data were missing
    or changed; ``data_found`` False (by default, where ``accuracy`` is None): the latter, so that no digest of
    the data (which would name data it did not train on) is written."""
    data_found = accuracy is not None if data_found is None else data_found
    c, model = run.config, run.model
    generative = {  # only a model with a decoder has a latent space and a likelihood
        "latent_dim": c.m1_latent_dim if c.model == "m1" else c.latent_dim,
        "conditional": model.conditional,
        "likelihood": c.likelihood,
    } if model.generative else {}
    return {
        "format": FORMAT_VERSION,
        "model": c.model,
        "class_names": list(c.class_names),
        "input_shape": list(c.input_shape),
        # empty: inputs read by position (images, arrays, some CSVs); no key for a CSV run too old to know them
        **({} if c.input_columns is None else {"input_columns": list(c.input_columns)}),
        # a CSV's columns of text, each with its categories: input column "colour=red" is 1 where colour is red
        **({"categories": {column: list(known) for column, known in c.categories.items()}} if c.categories else {}),
        "input_range": list(c.input_range) if c.input_range else None,
        "uint8_divisor": c.uint8_divisor,
        "fills_missing": c.fills_missing,  # its graphs take NaN for a missing input, filled with the training mean
        "preprocessing": preprocessing(c),
        **({"resize_images": True} if c.image_size is not None else {}),
        **({"label_column": c.label_column} if c.label_column != "label" else {}),  # the CSV column of classes
        **generative,
        "labels_seen": run.split.labels_seen,
        "test_accuracy": None if accuracy is None else round(accuracy, 4),
        "dataset": data_name(c),
        **({"data_digest": data_digest(c.data)} if c.data and data_found else {}),
        **({"inputs_digest": run.split.inputs} if run.split.inputs is not None else {}),
        **test_split(run),
        "split_seed": c.split_seed,
        "weights": weights_digest(model),
        "ssvae_version": __version__,
        "opset": opset,
    }


def weights_digest(model: nn.Module) -> str:
    """A short digest of every weight and buffer: graphs of one export share it, so the runtime can tell a
    graph copied in from another training of the same settings (whose other metadata may all agree)."""
    return tensors_digest(model.state_dict())


def metadata(values: dict[str, Any], role: str) -> dict[str, str]:
    """``values`` and the graph's role as ONNX metadata: ``ssvae.``-prefixed keys, JSON-encoded values."""
    return {METADATA_PREFIX + key: json.dumps(value) for key, value in {**values, "role": role}.items()}


@contextmanager
def _torchlib_built_once() -> Iterator[None]:
    """While graphs export, torch's exporter takes the table of ONNX functions it translates with (onnxscript's
    torchlib) from one built once per opset in this process: it builds the table anew for every graph, which
    takes about as long as exporting a small graph. It changes no table it is given but for custom
    translations, which ssvae asks for none of; an export of another thread meanwhile builds its own. One
    export at a time patches torch's builder, and puts it back after. Where a torch builds the table
    elsewhere, graphs export as they always did."""
    with _TORCHLIB_LOCK:  # torch's own builder read and put back by one export at a time
        try:
            from torch.onnx._internal.exporter._registration import ONNXRegistry
            torchs = ONNXRegistry.__dict__["from_torchlib"]
        except (ImportError, KeyError):
            torchs = None
        if not isinstance(torchs, classmethod):
            yield
            return
        build, exporting = torchs.__func__, threading.get_ident()

        def built_once(cls: type, *args: Any, **kwargs: Any) -> Any:
            key = (cls, args, tuple(sorted(kwargs.items())))
            if threading.get_ident() != exporting or not _hashable(key):  # another thread's export; new arguments
                return build(cls, *args, **kwargs)
            if key not in _TORCHLIB_TABLES:
                _TORCHLIB_TABLES[key] = build(cls, *args, **kwargs)
            return _TORCHLIB_TABLES[key]

        ONNXRegistry.from_torchlib = classmethod(built_once)
        try:
            yield
        finally:
            ONNXRegistry.from_torchlib = torchs


def _hashable(key: tuple) -> bool:
    try:
        hash(key)
    except TypeError:
        return False
    return True


def _export_graph(spec: GraphSpec, opset: int) -> onnx.ModelProto:
    """``spec``'s graph from torch's dynamo exporter at ``opset`` (an ExportError where it writes another):
    batch axis symbolic, weights inside the file, `finished`."""
    batch = torch.export.Dim("batch", min=1)
    example = tuple(t[:2] for t in spec.inputs.values())
    shapes = {name: {0: batch} for name in spec.inputs}
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings(), _torchlib_built_once():
        warnings.simplefilter("ignore")  # the exporter's notes on its own internals, not the user's concern
        path = Path(tmp) / f"{spec.role}.onnx"
        torch.onnx.export(spec.module, example, str(path), dynamo=True, dynamic_shapes=shapes,
                          input_names=list(spec.inputs), output_names=list(spec.outputs),
                          opset_version=opset, external_data=False, verbose=False)
        proto = onnx.load(str(path))
    written = next(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx"))
    if written != opset:  # the exporter falls back to its own opset where it cannot convert, and says so quietly
        raise ExportError(f"opset {opset} cannot be written by this torch's exporter (it wrote {written}): "
                          f"choose one from {MIN_OPSET} to {onnx.defs.onnx_opset_version()}")
    return finished(proto)


def finished(proto: onnx.ModelProto) -> onnx.ModelProto:
    """``proto`` as torch's exporter wrote it, made as ssvae ships graphs: without torch's debug metadata
    (`without_debug_metadata`) and the weights' value_info (`without_weight_shapes`), at its opset's oldest IR
    version: the exporter stamps its newest, which onnxruntimes before 1.18 refuse ("Unsupported model IR
    version"), those old enough to want --opset 18 too."""
    proto = without_weight_shapes(without_debug_metadata(proto))
    proto.ir_version = onnx.helper.find_min_ir_version_for(proto.opset_import, ignore_unknown=True)
    return proto


def interface(graph: bytes) -> list[tuple[str, str, str]]:
    """(``input`` or ``output``, name, shape) of each of a graph's inputs and outputs, the batch axis named: the
    model card's table (`usage_lines`)."""
    proto = onnx.load_from_string(graph)
    return [(kind, value.name, " x ".join(d.dim_param or str(d.dim_value) for d in value.type.tensor_type.shape.dim))
            for kind, values in (("input", proto.graph.input), ("output", proto.graph.output)) for value in values]


def without_debug_metadata(proto: onnx.ModelProto) -> onnx.ModelProto:
    """``proto`` without the metadata_props torch's exporter writes on the graph, its nodes and its values
    (which torch module and rewrite each came from): IR version 10 brought those fields, and the graphs carry
    their opset's oldest IR version. The model's own metadata_props (ssvae's keys) are older and stay."""
    graph = proto.graph
    for item in (graph, *graph.node, *graph.input, *graph.output, *graph.value_info, *graph.initializer):
        del item.metadata_props[:]
    return proto


def without_weight_shapes(proto: onnx.ModelProto) -> onnx.ModelProto:
    """``proto`` without the value_info entries that torch's exporter writes for weights, whose own shapes
    say the same. Tools that rewrite a weight in place go wrong on the copy: onnxruntime before 1.32
    transposes a Gemm's weight for int8 and then fails shape inference on the stale entry."""
    weights = {init.name for init in proto.graph.initializer}
    kept = [info for info in proto.graph.value_info if info.name not in weights]
    del proto.graph.value_info[:]
    proto.graph.value_info.extend(kept)
    return proto


def _outputs(spec: GraphSpec, session: ort.InferenceSession,
             rows: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, torch's value, onnxruntime's value) of every output of ``spec`` on its first ``rows`` inputs."""
    feeds = {name: t[:rows] for name, t in spec.inputs.items()}
    with torch.no_grad():
        expected = spec.module(*feeds.values())
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = session.run(None, {name: t.numpy() for name, t in feeds.items()})
    return [(name, want.numpy(), have) for name, want, have in zip(spec.outputs, expected, got)]


def max_difference(spec: GraphSpec, model_bytes: bytes) -> float:
    """Largest |onnxruntime - torch| over every output at batch 1 and CHECK_BATCH; raises past TOLERANCE."""
    session = cpu_session(model_bytes)
    worst = 0.0
    for n in (1, CHECK_BATCH):
        for name, want, have in _outputs(spec, session, n):
            if have.shape != want.shape:
                raise ExportError(f"{spec.role}.onnx output {name} has shape {have.shape}, torch {want.shape}")
            diff = np.abs(have - want)
            worst = max(worst, float(np.nanmax(diff, initial=0.0)))
            if np.any(diff > TOLERANCE * (1.0 + np.abs(want))) or np.any(np.isfinite(want) & ~np.isfinite(have)):
                raise ExportError(f"{spec.role}.onnx output {name} differs from torch by {diff.max():.2e} at "
                                  f"batch {n} (tolerance {TOLERANCE:g} relative): the export is wrong")
    return worst


def check_finite(spec: GraphSpec, model_bytes: bytes, precision: str) -> None:
    """A copy in another precision (int8, float16) gives finite outputs on the check inputs wherever torch
    does: float16 overflows past 65,504, which no accuracy figure would show for the encoder and decoder. A
    Gaussian model's inputs are standardised in float32 first (`to_float16`), so it is the network's own
    activations that can pass it."""
    session = cpu_session(model_bytes)
    for name, want, have in _outputs(spec, session, CHECK_BATCH):
        if np.any(np.isfinite(want) & ~np.isfinite(have)):
            limit = " (its activations pass float16's largest number, 65,504)" if precision == "float16" else ""
            raise ExportError(f"the {precision} {spec.role} graph gives inf or NaN in {name} where float32 does "
                              f"not{limit}: export without --{'fp16' if precision == 'float16' else 'quantize'}")


@dataclass
class ExportReport:
    """What `export` wrote and measured: the files, each graph's largest difference from torch, and each
    precision's test accuracy (and, beside float32, its agreement with float32's classes)."""

    model_dir: Path
    files: list[str] = field(default_factory=list)
    max_difference: dict[str, float] = field(default_factory=dict)  # role -> |onnxruntime - torch|
    accuracy: dict[str, float | None] = field(default_factory=dict)  # precision -> its classifier's test accuracy
    held_out: bool = True  # whether the run held out a test set (False: test_fraction 0, so no accuracy)
    agreement: dict[str, float] = field(default_factory=dict)  # precision -> argmax agreement with float32
    test_confidence: dict[str, Any] | None = None  # the test examples' predictions by confidence (`confidence_summary`)
    test_scores: dict[str, Any] | None = None  # the test examples' anomaly scores in short (`score_summary`)
    interfaces: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # role -> `interface`

    def __repr__(self) -> str:
        """What was written and how it measured, in a line to read in a notebook (a dataclass's repr ran to
        2,000 characters: every graph's inputs and outputs, the test scores' quantiles); the fields hold it all."""
        return (f"ExportReport(model_dir={str(self.model_dir)!r}, files={self.files!r}, "
                f"accuracy={_rounded(self.accuracy, 4)}, agreement={_rounded(self.agreement, 4)}, "
                f"max_difference={_rounded(self.max_difference, 2)})")


def _rounded(values: dict[str, float | None], digits: int) -> dict[str, float | None]:
    """``values`` to ``digits`` significant digits, as a repr shows them (a difference of 2.384185791015625e-07
    is 2.4e-07, an accuracy of 0.7044444444444444 is 0.7044 to 4); None stays None."""
    return {key: None if v is None else float(f"{v:.{digits}g}") for key, v in values.items()}


def trace_inputs(run: Run, x: np.ndarray) -> Tensor:
    """`CHECK_BATCH` of inputs ``x`` (real test inputs, or stand-ins; repeated if ``x`` is shorter) to trace and
    compare on."""
    return run.inputs(x[np.arange(CHECK_BATCH) % len(x)])


def test_split(run: Run) -> dict[str, Any]:
    """Where the run's test examples came from, for the metadata: its test data's file, or the share of its
    training data it held out (no key where the data set has a test split of its own, such as Fashion-MNIST's,
    which holds out nothing)."""
    if run.config.test_data:
        return {"test_data": Path(run.config.test_data).name}
    return {} if run.split.test is None else {"test_fraction": run.config.test_fraction}


def export(run: Run | str | Path, out: str | Path | None = None, opset: int = OPSET, quantize: bool = False,
           fp16: bool = False, replace: bool = False) -> ExportReport:
    """Write MODEL_DIR, ``out`` (by default models/ and the run folder's name, as `ssvae export` without --out):
    the role graphs (plus int8 / float16 copies when asked), ``model.json`` (their metadata, for apps that
    cannot read a graph's) and ``model_card.md``; return what was measured on the way. Every graph is checked
    before anything is written, so a failed export leaves no partial model."""
    check_flags(ExportError, quantize=quantize, fp16=fp16, replace=replace)
    opset = _check_opset(opset)
    out = default_model_folder(run) if out is None else out
    command = export_command(run.run_dir if isinstance(run, Run) else run, out, opset, quantize, fp16)
    run = load(run)
    out = _model_folder(out, replace)
    run.model.eval().cpu()
    partition = _run_partition(run, quantize)
    test = None if partition is None else partition.labelled_test
    x = checked_inputs(run, partition, test)
    p = None if test is None else run.classify(test.x)
    torch_accuracy = None if test is None else float((p.argmax(-1) == test.y).mean())
    report = ExportReport(out, held_out=not run.split.untested)
    values = description(run, torch_accuracy, opset, data_found=partition is not None)
    if partition is not None and run.config.input_range is None and len(run.config.input_shape) == 1:  # a table's
        values.update(training_range(run))
    if not report.held_out:  # measured on no test set: said as null, not left out as by an older export
        values = {**values, **UNTESTED_SUMMARIES}
    specs = graph_specs(run, trace_inputs(run, x))
    graphs = _checked_graphs(specs, values, opset, report)
    if test is not None:  # in every graph's metadata, as the runtime reads it: before the copies
        report.test_confidence = confidence_summary(test.y, p)
        report.test_scores = score_summary(graphs, values, test.x)
        values = {**values, **test_summaries(report.test_confidence, report.test_scores)}
        graphs = {role: with_metadata(data, values, role) for role, data in graphs.items()}
    variants = {"float32": graphs}
    if quantize:
        variants["int8"] = quantize_int8(graphs, calibration_inputs(run))
    if fp16:
        variants["float16"] = {role: to_float16(data) for role, data in graphs.items()}
    _check_variants(specs, variants, x, None if test is None else test.y, report)
    files = {graph_file(role, precision): data for precision, graphs_of in variants.items()
             for role, data in graphs_of.items()}
    report.files = [*files, MODEL_JSON, MODEL_CARD]
    roles = {role: {p: graph_file(role, p) for p in variants} for role in graphs}
    files[MODEL_JSON] = model_json(values, roles).encode()
    files[MODEL_CARD] = model_card(run, report, command).encode()
    with sole_writer(out, inside=False):  # a model folder is swapped, with what it holds
        MODEL_FOLDER.check(out, replace)  # again: another export may have written it meanwhile
        _write_folder(out, files)
    return report


def model_json(values: dict[str, Any], roles: dict[str, dict[str, str]]) -> str:
    """model.json: the graphs' metadata ``values`` for apps that cannot read it (onnxruntime-web, -node), the
    files of each role and precision (``roles``), the graphs' doc strings, and for a generative model the noise
    `ssvae score` draws with its defaults (`score_noise`), so that another language scores as it does."""
    extra: dict[str, Any] = {"docs": {role: ROLE_DOCS[role] for role in roles}}
    if {"encoder", "decoder"} <= roles.keys():  # not a classifier's alone, whose older metadata held a latent size
        classes = len(values["class_names"]) if values["conditional"] else 1
        extra["score_noise"] = score_noise(0, 1, classes, values["latent_dim"])[0].tolist()
    return json_text({**values, "graphs": roles, **extra})


INFINITY = "\x00ssvae infinity\x00"  # a string no metadata holds: where json_text writes an infinite number


def json_text(value: Any) -> str:
    """``value`` as indented JSON that strict readers take (JavaScript's JSON.parse, jq): an infinite number
    (a test example's score where float32 overflows) as 1e999, which they and Python read as infinity, where
    Python's json writes Infinity, which they refuse."""
    def marked(v: Any) -> Any:
        if isinstance(v, float) and math.isinf(v):
            return ("-" if v < 0 else "") + INFINITY
        if isinstance(v, dict):
            return {key: marked(item) for key, item in v.items()}
        return [marked(item) for item in v] if isinstance(v, (list, tuple)) else v

    text = json.dumps(marked(value), indent=2)
    return text.replace(f'"-{json.dumps(INFINITY)[1:-1]}"', "-1e999").replace(json.dumps(INFINITY), "1e999")


def with_metadata(graph: bytes, values: dict[str, Any], role: str) -> bytes:
    """``graph`` with ``values`` as its metadata (`metadata`) in place of what it held: nothing it computes
    changes, so the checks it passed still hold."""
    proto = onnx.load_from_string(graph)
    onnx.helper.set_model_props(proto, metadata(values, role))  # which replaces the metadata it held
    return proto.SerializeToString()


def training_range(run: Run) -> dict[str, Any]:
    """What a table's training inputs (labelled, validation and unlabelled; flattened) were, as metadata:
    ``training_range``, the least and greatest value of each input, each the shortest decimal that reads back
    as its float32, which `ExportedModel.far_outside` holds inputs against, to flag a "no data" mark such as
    -9999 that the classifier would give a class; and ``whole_inputs``, the inputs whose every value was a
    whole number (counts, years, 0/1 flags), which `ExportedModel.as_data` rounds generated values of; not
    those of values from 2^24 up, where every float32 is whole (timestamps, large amounts), nor one-hot inputs,
    whose generated values are their categories' probabilities. Missing values (NaN) are left out: training
    refuses an input that holds none."""
    x = run.inputs(training_inputs(run.partition())).numpy().reshape(-1, math.prod(run.config.input_shape))
    bounds = {end: [float(str(v)) for v in reduce.reduce(x, axis=0)] for end, reduce in (("low", np.fmin),
                                                                                       ("high", np.fmax))}
    whole = np.all((x == np.round(x)) | np.isnan(x), axis=0) & (np.fmax.reduce(np.abs(x), axis=0) < 2**24)
    for start, end in run.config.category_spans:
        whole[start:end] = False
    return {"training_range": bounds, "whole_inputs": np.flatnonzero(whole).tolist()}


def test_summaries(confidence: dict[str, Any], scores: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata of the test examples' summaries: their predictions by confidence and, for a model that
    scores, their scores."""
    return {"test_confidence": confidence, **({} if scores is None else {"test_scores": scores})}


def score_summary(graphs: dict[str, bytes], values: dict[str, Any], x: np.ndarray) -> dict[str, Any] | None:
    """The anomaly scores the float32 ``graphs`` give the run's test inputs ``x`` (`ExportedModel.score` with
    its defaults: seed 0, one sample), in short: their count, `SCORE_QUANTILES` and highest, and under
    ``entropy`` the same of their classifier's entropies (which flag inputs the score misses). An app sets an
    input's score and entropy against them: a threshold, or how unusual an input is. None for a classifier
    alone, which scores nothing."""
    if not {"encoder", "decoder"} <= graphs.keys():
        return None
    model = ExportedModel(Path(), {role: cpu_session(data) for role, data in graphs.items()}, values)
    return {"n": len(x), "seed": 0, "samples": None, **_summary(model.score(x)), "entropy": _summary(model.entropy(x))}


def _summary(values: np.ndarray) -> dict[str, Any]:
    """`SCORE_QUANTILES` and the highest of ``values``, to 4 decimals."""
    values = values.astype(np.float64)
    return {"quantiles": {f"{q:g}": round(_quantile(values, q), 4) for q in SCORE_QUANTILES},
            "max": round(float(values.max()), 4)}


def _quantile(values: np.ndarray, q: float) -> float:
    """numpy's quantile (linear between the two nearest values), but inf where the upper one is inf (an input
    that overflows scores inf), where numpy's arithmetic gives NaN (inf - inf, or 0 * inf)."""
    with np.errstate(invalid="ignore"):
        value = float(np.quantile(values, q))
    return float(np.quantile(values, q, method="higher")) if math.isnan(value) else value


# the test examples' summaries of a run that held out no test set: none measured
UNTESTED_SUMMARIES = {"test_confidence": None, "test_scores": None}


def checked_inputs(run: Run, partition: Partition | None, test: Dataset | None) -> np.ndarray:
    """The inputs the graphs are traced and checked against torch on: the run's labelled ``test`` examples'; its
    training inputs where it held out no test set; stand-ins (`stand_in_inputs`) where its data are missing or
    changed (``partition`` None)."""
    if test is not None:
        return test.x
    return stand_in_inputs(run) if partition is None else training_inputs(partition)


def training_inputs(partition: Partition) -> np.ndarray:
    """The run's training inputs, labelled, validation and unlabelled, as the data hold them."""
    return np.concatenate([d.x for d in (partition.labelled, partition.validation, partition.unlabelled)
                           if d is not None])


def _run_partition(run: Run, quantize: bool) -> Partition | None:
    """The run's data, to check the graphs on and measure their accuracy on its labelled test examples; None,
    with a warning, where they are gone or changed (a run copied to another machine without them): the graphs
    are then checked on stand-in inputs and no accuracy is measured. int8 copies cannot do without them: their
    ranges are calibrated on the run's training inputs."""
    try:
        return run.partition()
    except DataError as error:
        if quantize:
            raise DataError(f"{error}; --quantize int8 (quantize=True in Python) calibrates on the run's training "
                            f"inputs, so it needs them: export without it") from None
        warnings.warn(f"{error}; exported without them: the graphs are checked against torch on {CHECK_BATCH} "
                      f"stand-in inputs, and no test accuracy is measured (model.json and the model card say "
                      f"so)", stacklevel=user_stacklevel())
        return None


def stand_in_inputs(run: Run) -> np.ndarray:
    """`CHECK_BATCH` seeded inputs of the run's shape, uniform over its input range (normal where it has
    none; a category drawn for each column of categories, as its one-hot inputs): what the graphs are traced
    and compared with torch on where the run's data are missing or changed."""
    rng, c = np.random.default_rng(0), run.config
    shape = (CHECK_BATCH, *c.input_shape)
    x = rng.uniform(*c.input_range, shape) if c.input_range else rng.standard_normal(shape)
    for start, end in c.category_spans:
        x[:, start:end] = np.eye(end - start)[rng.integers(0, end - start, CHECK_BATCH)]
    return x.astype(np.float32)


def default_model_folder(run: Run | str | Path) -> Path:
    """Where a run's model goes without --out (out=): models/ and the name of the run's folder."""
    run_dir = run_folder(run, "to name its model folder after: give out= the model folder to write")
    return Path("models") / run_dir.resolve().name


def _model_folder(out: str | Path, replace: bool) -> Path:
    """``out`` as the folder an export may swap in: not a mount point nor the current folder (neither can be
    swapped), free unless ``replace`` (which takes only a model folder), and in a place one may write, tried
    before the export's minutes of work."""
    out = given_path(out, "out")
    if os.path.ismount(out):
        raise RunError(f"--out {out} is a mount point, which cannot be swapped for the model folder: give --out a "
                       f"folder inside it")
    if Path(os.path.abspath(out)) == Path.cwd():
        raise RunError(f"--out {out} is the current folder, which cannot be swapped for the model folder: give "
                       f"--out the name of a folder to write, e.g. --out models/{Path.cwd().name}")
    MODEL_FOLDER.check(out, replace)
    if out.suffix.lower() in FILE_SUFFIXES and not out.is_dir():  # a folder named wine.onnx: the graphs inside
        raise RunError(f"--out {out} names a file, but an export writes a folder (its graphs, {MODEL_JSON} and "
                       f"{MODEL_CARD}): give a folder's name, e.g. --out {out.with_suffix('')}")
    inside = (f"give --out a new folder inside it, such as {out / 'model'} (an export is written beside its "
              f"folder, then swapped in)" if out.is_dir() else "give --out a place you may write to")
    check_writable(out, fix=inside)
    return out


def _checked_graphs(specs: list[GraphSpec], values: dict[str, Any], opset: int,
                    report: ExportReport) -> dict[str, bytes]:
    """Each spec's float32 graph with its metadata, checked by onnx, free of random ops and compared with
    torch (the largest difference goes into ``report``)."""
    graphs: dict[str, bytes] = {}
    for spec in specs:
        proto = _export_graph(spec, opset)
        onnx.helper.set_model_props(proto, metadata(values, spec.role))
        proto.doc_string = ROLE_DOCS[spec.role]
        onnx.checker.check_model(proto, full_check=True)
        _check_no_randomness(proto, spec.role)
        graphs[spec.role] = proto.SerializeToString()
        report.max_difference[spec.role] = max_difference(spec, graphs[spec.role])
        report.interfaces[spec.role] = interface(graphs[spec.role])
    return graphs


def _check_variants(specs: list[GraphSpec], variants: dict[str, dict[str, bytes]], x: np.ndarray,
                    y: np.ndarray | None, report: ExportReport) -> None:
    """Every precision's graphs give finite outputs; its classifier's test accuracy on (``x``, ``y``; none
    without labels) and agreement with float32's classes go into ``report``."""
    classes = {precision: predicted_classes(graphs_of["classifier"], x) for precision, graphs_of in variants.items()}
    for precision, graphs_of in variants.items():
        for spec in specs if precision != "float32" else ():  # float32: max_difference checked it against torch
            check_finite(spec, graphs_of[spec.role], precision)
        report.accuracy[precision] = None if y is None else float((classes[precision] == y).mean())
        report.agreement[precision] = float((classes[precision] == classes["float32"]).mean())


def _write_folder(out: Path, files: dict[str, bytes]) -> None:
    """Write every file into a fresh folder beside ``out``, then swap it in: never half a model directory. A
    link to a folder keeps naming it (the folder it names is swapped), and a folder replaced passes on its
    permissions and, where the user may set it, its group (before the swap, so that readers never meet the
    new folder private; a staging folder so made read-only is made writable again before it is removed)."""
    out = out.resolve() if out.is_symlink() else out
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=out.parent, prefix=hidden_prefix(out.name)))
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f"{hidden_prefix(out.name)}old."))  # holds the folder replaced
    try:
        for name, data in files.items():
            (staging / name).write_bytes(data)
        take_access(staging, out, directory=True)  # once written: the folder replaced may be read-only
        if out.exists():
            os.replace(out, old / out.name)
        os.replace(staging, out)
    except BaseException:
        with uninterrupted():  # a second Ctrl-C would leave no model folder where there was one
            if (old / out.name).exists() and not out.exists():
                os.replace(old / out.name, out)
            with contextlib.suppress(OSError):  # a user other than root could not empty it read-only
                staging.chmod(0o700)
            shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)


def _check_no_randomness(proto: onnx.ModelProto, role: str) -> None:
    random = sorted({n.op_type for n in proto.graph.node if n.op_type.startswith("Random")})
    if random:
        raise ExportError(f"{role}.onnx contains random operators ({', '.join(random)}); callers must draw noise")


def _check_opset(opset: int) -> int:
    """``opset`` as an int (numpy's integers too), or an ExportError that says which opsets are taken."""
    if isinstance(opset, (bool, np.bool_)) or not isinstance(opset, numbers.Integral):
        raise ExportError(f"opset must be a whole number, e.g. {OPSET}, got {opset!r} (a {type(opset).__name__})")
    opset = int(opset)
    if opset < MIN_OPSET:
        raise ExportError(f"opset {opset} is older than torch's exporter writes: choose {MIN_OPSET} or above")
    if opset > onnx.defs.onnx_opset_version():
        raise ExportError(f"opset {opset} is newer than this onnx knows: choose one from {MIN_OPSET} to "
                          f"{onnx.defs.onnx_opset_version()}")
    return opset


__all__ = ["export", "ExportReport", "ExportError", "graph_file", "OPSET", "MIN_OPSET", "TOLERANCE", "METADATA_PREFIX"]
