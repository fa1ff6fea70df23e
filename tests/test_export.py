"""ONNX export and the onnxruntime runtime: graphs, metadata, agreement with torch, the bound, bad input."""

import copy
import dataclasses
import errno
import json
import math
import re
import os
import shlex
import shutil
import stat
import subprocess
import sys
import textwrap
import types
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from sklearn.metrics import roc_auc_score
from torch.distributions import Normal

import ssvae
from ssvae import runtime
from ssvae import api, inference, model_card, onnx_export, precisions
from ssvae.config import FIELDS_WITHOUT_OPTION, MODEL_KINDS, Config, ConfigError
from ssvae.report_text import confident_text
from ssvae.settings import config_for, train_command
from ssvae.onnx_export import CHECK_BATCH
from ssvae.errors import DataError, RunError, type_name
from ssvae.inference import check_drawable, predict
from ssvae.runtime import ModelError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def digits_run():
    """An M2 on digits trained long enough to mean something (about 3 s)."""
    return ssvae.train(epochs=15, hidden=(64,), classifier_hidden=(64,), progress=False)


@pytest.fixture(scope="module")
def digits_model(digits_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "digits"
    ssvae.export(digits_run, out, quantize=True, fp16=True)
    return runtime.load(out, device="cpu")


@pytest.fixture(scope="module")
def digits_export(digits_run, tmp_path_factory) -> Path:
    """digits_run exported once with no options: a test that edits or replaces an export works on a copy."""
    out = tmp_path_factory.mktemp("export") / "plain"
    ssvae.export(digits_run, out)
    return out


def _dims(value_info):
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_model_kind_exports_checked_graphs(tmp_path, tiny_config, settings_for, kind, monkeypatch):
    run = ssvae.train(tiny_config, progress=False, **settings_for(kind))
    report = ssvae.export(run, tmp_path / "model", quantize=True)
    roles = ["classifier", "encoder", "decoder"] if run.model.generative else ["classifier"]
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == sorted(  # weights inside: no .onnx.data
        [f"{r}.onnx" for r in roles] + [f"{r}.int8.onnx" for r in roles] + ["model.json", "model_card.md"])
    for role in roles:
        proto = onnx.load(str(tmp_path / "model" / f"{role}.onnx"))
        onnx.checker.check_model(proto, full_check=True)
        assert all(_dims(v)[0] == "batch" for v in [*proto.graph.input, *proto.graph.output])
        assert not [n.op_type for n in proto.graph.node if n.op_type.startswith("Random")]
        assert not [t.name for t in proto.graph.initializer if t.data_location == onnx.TensorProto.EXTERNAL]
        # no second record of a weight's shape, which goes stale when onnxruntime < 1.32 transposes it for int8
        assert not {v.name for v in proto.graph.value_info} & {t.name for t in proto.graph.initializer}
        assert proto.graph.value_info  # the shapes of the computed values stay
        meta = {p.key: p.value for p in proto.metadata_props}
        assert meta["ssvae.role"] == f'"{role}"' and meta["ssvae.model"] == f'"{kind}"'
        assert report.max_difference[role] < 1e-4
    names = {"encoder": ["x"] + (["y"] if kind not in ("m1",) else []),
             "decoder": ["z"] + (["y"] if kind not in ("m1",) else [])}
    model = runtime.load(tmp_path / "model")
    for role, inputs in names.items():
        if role in model.sessions:
            assert [i.name for i in model.sessions[role].get_inputs()] == inputs
    x = run.partition().test.x[:CHECK_BATCH]
    np.testing.assert_allclose(model.classify(x), run.classify(x), atol=1e-5)
    int8 = runtime.load(tmp_path / "model", precision="int8")  # calibrated for every kind: rows of their own
    np.testing.assert_allclose(np.concatenate([int8.classify(row[None]) for row in x[:5]]), int8.classify(x)[:5],
                               atol=1e-6)
    if model.generative:
        np.testing.assert_allclose(int8.score(x[:1]), int8.score(x)[:1], rtol=1e-6)
    if kind == "m1":  # its score is minus torch's bound with the same noise (M2's: test_score_is_torchs_...)
        _shared_noise(monkeypatch, len(x), 1, model.latent_dim)
        with torch.no_grad():
            want = -run.model.elbo(torch.as_tensor(x)).numpy()
        np.testing.assert_allclose(model.score(x, seed=0), want, rtol=1e-4, atol=1e-3)
    if not model.generative:  # nothing said of a latent space or a likelihood it does not have
        with pytest.raises(ModelError, match=f"has no encoder and decoder \\({kind} model\\): score needs a "):
            model.score(x)
        for call, what in ((lambda: model.generate(0), "generate"), (lambda: model.analogies(x), "analogies"),
                           (lambda: check_drawable(model), "generate"),
                           (lambda: check_drawable(model, analogies=True), "analogies"),
                           (lambda: model.latent_dim, "a latent size")):
            models = "m2, adgm or m1\\+m2, whose decoder takes the class" if what == "analogies" else \
                "m2, adgm, m1\\+m2 or m1"  # m1 draws samples, but no analogies: its decoder takes no class
            with pytest.raises(ModelError, match=f"{what} needs a generative model \\({models}\\)$"):
                call()
        assert not {"latent_dim", "likelihood", "conditional"} & set(model.info)
        assert model.likelihood is None and not model.conditional
        assert "inputs of shape (1, 8, 8); classes: " in (tmp_path / "model" / "model_card.md").read_text()
    else:
        assert model.encode(x)[1].shape == (len(x), model.latent_dim) and model.likelihood == run.model.likelihood
        assert f"{model.likelihood} likelihood; " in (tmp_path / "model" / "model_card.md").read_text()
    if model.generative and not model.conditional:
        for call in (lambda: model.analogies(x[:2]), lambda: check_drawable(model, analogies=True)):
            with pytest.raises(ModelError, match="analogies need a model whose decoder takes the class"):
                call()
        for call, what in ((lambda: model.encode(x, 3), "encode"), (lambda: model.generate("1"), "generate"),
                           (lambda: model.decode(np.zeros((1, model.latent_dim)), [1]), "decode")):
            with pytest.raises(ModelError, match=f"this m1 model's encoder and decoder take no class: call {what} "):
                call()
        drawn = inference.generate(model, tmp_path / "m1.csv", per_class=3, seed=2)  # one row of samples, no class
        rows = [line.split(",") for line in (tmp_path / "m1.csv").read_text().splitlines()[1:]]
        assert drawn.examples == 3 and [row[:2] for row in rows] == [["0", ""], ["1", ""], ["2", ""]]
        np.testing.assert_array_equal(np.array([row[2:] for row in rows], np.float32),
                                      model.generate(None, 3, 2).reshape(3, -1))
        width, height = inference.generate(model, tmp_path / "m1.png", per_class=3, seed=2).pixels
        assert width > 2 * height  # three cells across, one row (a conditional model's grid has a row a class)
        with pytest.raises(ModelError, match=r"^an m1 model draws from no class: leave --class \(classes= in "):
            inference.generate(model, tmp_path / "m1-class.csv", classes=["1"])
        assert not (tmp_path / "m1-class.csv").exists()


def test_exports_build_torchs_table_of_onnx_functions_once_and_write_the_graphs_torch_does(tmp_path, tiny_config,
                                                                                           monkeypatch):
    """torch's exporter builds its table of ONNX functions for every graph it exports, about as long as a small
    graph's export: two exports of three graphs build it once and write the bytes of an export that builds it
    per graph, as torch does; an export of another thread meanwhile builds its own; torch's builder is back
    in place after."""
    import contextlib
    import threading

    from torch.onnx._internal.exporter._registration import ONNXRegistry

    build = ONNXRegistry.__dict__["from_torchlib"].__func__
    builds = []

    def counted(cls, *args, **kwargs):
        builds.append(kwargs)
        return build(cls, *args, **kwargs)

    monkeypatch.setattr(ONNXRegistry, "from_torchlib", classmethod(counted))
    monkeypatch.setattr(onnx_export, "_TORCHLIB_TABLES", {})
    run = ssvae.train(tiny_config, progress=False)
    once = onnx_export._torchlib_built_once
    monkeypatch.setattr(onnx_export, "_torchlib_built_once", contextlib.nullcontext)
    graphs = [name for name in ssvae.export(run, tmp_path / "torchs").files if name.endswith(".onnx")]
    assert len(graphs) == len(builds) == 3
    monkeypatch.setattr(onnx_export, "_torchlib_built_once", once)
    for name in ("a", "b"):
        ssvae.export(run, tmp_path / name)
    assert len(builds) == 4
    for name in graphs:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes() == \
               (tmp_path / "torchs" / name).read_bytes()
    with once():
        mine = ONNXRegistry.from_torchlib(opset_version=onnx_export.OPSET)
        theirs = []
        other = threading.Thread(target=lambda: theirs.append(ONNXRegistry.from_torchlib(
            opset_version=onnx_export.OPSET)))
        other.start()
        other.join()
        assert ONNXRegistry.from_torchlib(opset_version=onnx_export.OPSET) is mine and theirs[0] is not mine
    assert ONNXRegistry.__dict__["from_torchlib"].__func__ is counted


def test_conv_classifier_exports_with_its_convolutions(tmp_path, tiny_config):
    run = ssvae.train(tiny_config, progress=False, classifier="conv", classifier_channels=(4, 8), augment="shift",
                      consistency=1.0)
    report = ssvae.export(run, tmp_path / "model", quantize=True)
    proto = onnx.load(str(tmp_path / "model" / "classifier.onnx"))
    assert [n.op_type for n in proto.graph.node].count("Conv") == 2
    assert report.max_difference["classifier"] < 1e-4 and report.agreement["int8"] > 0.9
    x = run.partition().test.x[:CHECK_BATCH]
    np.testing.assert_allclose(runtime.load(tmp_path / "model").classify(x), run.classify(x), atol=1e-5)
    card = (tmp_path / "model" / "model_card.md").read_text()
    assert "--classifier conv --classifier-hidden 32 --classifier-channels 4,8 " in card
    assert "--augment shift --consistency 1.0 " in card


def test_metadata_round_trips(digits_run, digits_model):
    c = digits_run.config
    assert digits_model.class_names == c.class_names and digits_model.input_shape == c.input_shape
    assert digits_model.info["latent_dim"] == c.latent_dim and digits_model.info["likelihood"] == "bernoulli"
    assert digits_model.info["labels_seen"] == 100 and digits_model.info["model"] == "m2"
    assert digits_model.info["opset"] == 20 and digits_model.info["ssvae_version"] == ssvae.__version__
    assert digits_model.info["test_fraction"] == 0.25 and digits_model.info["split_seed"] == 0  # digits' held out
    card = (digits_model.model_dir / "model_card.md").read_text()
    assert "Labels used in training: 100" in card and "ssvae train --dataset digits --labels 100" in card
    encoder = onnx.load(digits_model.model_dir / "encoder.onnx", load_external_data=False)
    assert "A row of y that is all zeros means the predicted class" in encoder.doc_string  # for apps, not the README
    noise = json.loads((digits_model.model_dir / "model.json").read_text())["score_noise"]  # the draws of score()
    np.testing.assert_array_equal(np.float32(noise), np.random.default_rng(0).standard_normal((10, c.latent_dim),
                                                                                               dtype=np.float32))


def test_the_model_card_tables_every_graphs_inputs_and_outputs_for_apps_in_any_language(digits_model):
    """The card gave no tensor names, shapes or meanings (only `ssvae info`, which needs ssvae, printed them), and
    said nothing of what the graphs leave unchecked nor of the images' polarity (digits inverted, dark ink on
    light, all lie in [0, 1] and are classified wrong)."""
    card = (digits_model.model_dir / "model_card.md").read_text()
    section = card[card.index("## Using the graphs"):]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| graph")]
    x, y, k, z = "batch x 1 x 8 x 8", "batch x 10", "batch x 10", "batch x 8"
    assert [row.split(" | ")[:4] for row in rows] == [
        ["| classifier.onnx", "input", "x", x], ["| classifier.onnx", "output", "probabilities", k],
        ["| encoder.onnx", "input", "x", x], ["| encoder.onnx", "input", "y", y],
        ["| encoder.onnx", "output", "probabilities", k], ["| encoder.onnx", "output", "z_mean", z],
        ["| encoder.onnx", "output", "z_logvar", z], ["| decoder.onnx", "input", "z", z],
        ["| decoder.onnx", "input", "y", y], ["| decoder.onnx", "output", "x_mean", x],
        ["| decoder.onnx", "output", "x_logits", x]]
    assert "| z_mean | batch x 8 | mean of q(z\\|x,y) |" in section and "sums to 1 |" in section  # the decoder's y
    assert all(re.sub(r"\\\|", "", row).count("|") == 6 and row.split(" | ")[4] for row in rows)  # q(y\|x) escaped
    assert "as in digits: a bright object on a black (0) background" in section
    assert "a NaN gives NaN probabilities in the float32 graphs" in section and "OrtSession.getMetadata()" in section
    nan = np.full((1, 1, 8, 8), np.nan, np.float32)
    float32 = ort.InferenceSession(digits_model.model_dir / "classifier.onnx").run(None, {"x": nan})[0]
    int8 = ort.InferenceSession(digits_model.model_dir / "classifier.int8.onnx").run(None, {"x": nan})[0]
    assert np.isnan(float32).all() and np.isfinite(int8).all()  # as the card says


@pytest.mark.parametrize("info, builtin, expected", [
    ({"input_shape": [3], "input_columns": ["a", "b"]}, False, "Each row's values in the order of `input_columns`: a, b."),
    ({"input_shape": [5], "dataset": "rows.npz"}, False, "Each row's 5 values in the order the training data had them."),
    ({"input_shape": [1, 28, 28], "dataset": "fashion-mnist"}, True,
     "Images of 1 x 28 x 28 (channels, height, width) as in fashion-mnist: a bright object on a black (0) background"),
    ({"input_shape": [1, 28, 28], "dataset": "fashion-mnist"}, False,  # a folder of one's own of that name
     "Images of 1 x 28 x 28 (channels, height, width), as the training images were: the same polarity"),
])
def test_the_model_card_says_how_inputs_are_laid_out(info, builtin, expected):
    from ssvae.model_card import layout_text

    assert layout_text(info, builtin).startswith(expected)


def test_the_model_card_of_an_m1_model_gives_no_class_to_q_nor_p():
    from ssvae.model_card import usage_lines

    interfaces = {"encoder": [("output", "z_mean", "batch x 4")], "decoder": [("output", "x_mean", "batch x 64")]}
    info = {"preprocessing": "as given", "input_shape": [64], "dataset": "rows.npz"}
    rows = [line for line in usage_lines({**info, "conditional": False}, interfaces, builtin=False) if "batch" in line]
    assert rows == ["| encoder.onnx | output | z_mean | batch x 4 | mean of q(z\\|x) |",
                    "| decoder.onnx | output | x_mean | batch x 64 | mean of p(x\\|z), shaped like the inputs, in their "
                    "units |"]


def test_a_model_of_data_with_a_test_split_of_their_own_names_no_share_held_out(tmp_path):
    """An .npz with x_test and y_test (as Fashion-MNIST has its test split) holds nothing of x out: model.json
    said test_fraction 0.25 all the same."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    x = (rng.random((60, 4)) + y[:, None]).astype(np.float32) / 2
    np.savez(tmp_path / "own.npz", x=x[:40], y=y[:40], x_test=x[40:], y_test=y[40:])
    run = ssvae.train(data=str(tmp_path / "own.npz"), model="supervised", labels=None, epochs=1,
                      classifier_hidden=(8,), progress=False)
    assert run.split.test is None and len(run.partition().test) == 20
    ssvae.export(run, tmp_path / "model")
    info = json.loads((tmp_path / "model" / "model.json").read_text())
    assert "test_fraction" not in info and "test_data" not in info and info["split_seed"] == 0


def test_onnxruntime_matches_torch_at_batch_1_and_257(digits_run, digits_model):
    x = digits_run.partition().test.x[:CHECK_BATCH]
    for n in (1, CHECK_BATCH):
        np.testing.assert_allclose(digits_model.classify(x[:n]), digits_run.classify(x[:n]), atol=1e-5)
    with torch.no_grad():
        probabilities, mu, logvar = digits_model.encode(x)
        want_mu, want_logvar = digits_run.model.encode(torch.as_tensor(x), torch.as_tensor(
            np.eye(10, dtype=np.float32)[probabilities.argmax(-1)]))
        np.testing.assert_allclose(mu, want_mu.numpy(), atol=1e-4)
        np.testing.assert_allclose(logvar, want_logvar.numpy(), atol=1e-4)
        y = np.arange(CHECK_BATCH) % 10
        want = torch.sigmoid(digits_run.model.decode(torch.as_tensor(mu), torch.eye(10)[y])).numpy()
    np.testing.assert_allclose(digits_model.decode(mu, y).reshape(CHECK_BATCH, -1), want, atol=1e-5)


def test_int8_copy_agrees_with_float_on_held_out_data(digits_run, digits_model):
    int8 = runtime.load(digits_model.model_dir, precision="int8")
    x = digits_run.partition().test.x
    agreement = (int8.classify(x).argmax(-1) == digits_model.classify(x).argmax(-1)).mean()
    assert agreement >= 0.97
    assert (digits_model.model_dir / "classifier.int8.onnx").stat().st_size < (
        digits_model.model_dir / "classifier.onnx").stat().st_size


def _is_static_int8(model_dir: Path) -> bool:
    ops = {n.op_type for path in model_dir.glob("*.int8.onnx") for n in onnx.load(str(path)).graph.node}
    return "QuantizeLinear" in ops and not ops & {"DynamicQuantizeLinear", "MatMulInteger", "ConvInteger"}


def test_int8_copies_hold_uint8_weights_which_no_cpu_saturates(digits_model):
    """An export's int8 copies and the shipped ones quantise weights to uint8, as the activations are: onnxruntime
    multiplies uint8 by int8 weights with saturating pairs on CPUs without VNNI (the int8 initialisers of the
    earlier copies); of the integer weights only the int32 biases are not uint8."""
    def integers(graph: onnx.ModelProto) -> set[str]:
        return {onnx.TensorProto.DataType.Name(t.data_type) for t in graph.initializer
                if t.data_type in (onnx.TensorProto.INT8, onnx.TensorProto.UINT8, onnx.TensorProto.INT32)}

    folders = [digits_model.model_dir, *(ROOT / "models").iterdir()]
    for path in (p for folder in folders if folder.is_dir() for p in folder.glob("*.int8.onnx")):
        assert integers(onnx.load(str(path)).graph) == {"UINT8", "INT32"}, path
    float32 = {"classifier": (digits_model.model_dir / "classifier.onnx").read_bytes()}  # signed, as bench_int8_weights
    x = digits_model.prepare(np.random.default_rng(0).integers(0, 256, (50, 8, 8), dtype=np.uint8))  # asks
    signed = onnx.load_from_string(precisions.quantize_int8(float32, x, weights="int8")["classifier"])
    assert integers(signed.graph) == {"INT8", "UINT8", "INT32"}  # int8 weights beside uint8 activations' zero points


def test_int8_rows_do_not_depend_on_the_batch_they_come_in(digits_run, digits_model):
    """Activation ranges calibrated at export, not measured on each call's batch (dynamic quantisation): a row
    classified or scored alone gives what it gives among 200 others."""
    assert _is_static_int8(digits_model.model_dir)
    int8 = runtime.load(digits_model.model_dir, precision="int8")
    x = digits_run.partition().test.x[:200]
    alone = np.concatenate([int8.classify(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(alone, int8.classify(x), rtol=0, atol=1e-6)
    alone = np.concatenate([int8.score(x[i:i + 1]) for i in range(len(x))])
    np.testing.assert_allclose(alone, int8.score(x), rtol=1e-6)


@pytest.mark.parametrize("samples", [None, 3])
def test_a_rows_score_is_its_own_alone_in_any_batch_at_any_position_and_for_its_copies(digits_run, digits_model,
                                                                                        samples):
    """Every row takes the same noise: four copies of one image scored 26.28, 25.58, 24.81 and 24.72 when the
    noise was drawn row after row, so identical inputs were ranked in an arbitrary order."""
    x = digits_run.partition().test.x[:50]
    whole = digits_model.score(x, samples=samples)
    alone = np.concatenate([digits_model.score(x[i:i + 1], samples=samples) for i in range(len(x))])
    np.testing.assert_allclose(alone, whole, rtol=1e-6)
    np.testing.assert_allclose(digits_model.score(x[::-1], samples=samples)[::-1], whole, rtol=1e-6)
    copies = digits_model.score(np.repeat(x[:1], 4, axis=0), samples=samples)
    np.testing.assert_allclose(copies, np.full(4, whole[0]), rtol=1e-6)
    other = digits_model.score(x, samples=samples, seed=1)
    assert np.abs(other - whole).min() > 0  # another seed: other draws, for every row


def test_an_outlier_in_a_batch_changes_no_other_rows_int8_result(digits_run, digits_model):
    """An app's row 255 times too large (0..255 given as [0, 1], past ssvae's checks) changed a third of the
    other rows' classes under dynamic quantisation, which scaled every row by the batch's range."""
    session = runtime.load(digits_model.model_dir, precision="int8").sessions["classifier"]
    x = digits_run.partition().test.x
    outlier = np.full((1, *x.shape[1:]), 255, np.float32)
    clean = session.run(None, {"x": x})[0]
    spoilt = session.run(None, {"x": np.concatenate([x, outlier])})[0][:-1]
    np.testing.assert_array_equal(spoilt.argmax(-1), clean.argmax(-1))
    np.testing.assert_allclose(spoilt, clean, rtol=0, atol=1e-6)


def test_int8_calibration_takes_training_inputs_not_test_ones(digits_run, tmp_path, monkeypatch):
    """Up to CALIBRATION_ROWS of the labelled and unlabelled training inputs, the same each export; no test input
    sets an activation range."""
    given = []

    def spy(graphs, x):
        given.append(x)
        return graphs

    monkeypatch.setattr(onnx_export, "quantize_int8", spy)
    ssvae.export(digits_run, tmp_path / "model", quantize=True)
    partition = digits_run.partition()
    training = {row.tobytes() for row in np.concatenate([partition.labelled.x, partition.unlabelled.x])}
    test = {row.tobytes() for row in partition.test.x} - training
    (x,) = given
    rows = {row.tobytes() for row in x}
    assert x.dtype == np.float32 and len(x) == min(precisions.CALIBRATION_ROWS, len(training))
    assert rows <= training and not rows & test
    np.testing.assert_array_equal(precisions.calibration_inputs(digits_run), x)


def test_requantize_rewrites_a_folders_int8_graphs_and_its_cards_row(digits_model, tmp_path):
    from tools.requantize import requantize

    model_dir = tmp_path / "model"
    shutil.copytree(digits_model.model_dir, model_dir)
    for role in ("classifier", "encoder", "decoder"):  # float32 stand-ins for int8 copies, which requantize replaces
        shutil.copy(model_dir / f"{role}.onnx", model_dir / f"{role}.int8.onnx")
    card = model_dir / "model_card.md"
    card.write_text(re.sub(r"^\| int8 \|.*$", "| int8 | classifier.int8.onnx | 12.34 % | 56.78 % |", card.read_text(),
                           flags=re.MULTILINE))
    row = requantize(model_dir, None)
    assert _is_static_int8(model_dir) and row in card.read_text() and "12.34 %" not in card.read_text()
    report = inference.evaluate(runtime.load(model_dir, precision="int8"), dataset="digits")
    assert row.startswith(f"| int8 | classifier.int8.onnx | {100 * report['accuracy']:.2f} % | ")


def test_runtime_runs_where_torch_cannot_be_imported(digits_run, digits_model, tmp_path):
    x = digits_run.partition().test.x[:50]
    np.save(tmp_path / "x.npy", x)
    script = textwrap.dedent(f"""
        import sys
        sys.modules["torch"] = None  # any 'import torch' now fails
        sys.modules["onnx"] = None
        import numpy as np
        import ssvae  # as the package's docstring shows: ssvae.runtime after a plain import
        model = ssvae.runtime.load({str(digits_model.model_dir)!r})
        p = model.classify(np.load({str(tmp_path / 'x.npy')!r}))
        model.score(np.load({str(tmp_path / 'x.npy')!r}))
        np.save({str(tmp_path / 'p.npy')!r}, p)
        print(sorted(m for m, mod in sys.modules.items() if mod is not None and m.split('.')[0] in ('torch', 'onnx', 'sklearn', 'click')))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), digits_run.classify(x), atol=1e-5)


def test_the_commands_of_an_exported_model_run_where_torch_cannot_be_imported(digits_model, tmp_path):
    """info, predict, score and generate of an export read it with the runtime alone, so each starts in a
    fraction of torch's import (info imported torch for the name of a run's config.json), nor onnx's (a
    second here: the model card's table of a graph's inputs once imported it for every command)."""
    model, inputs = str(digits_model.model_dir), str(tmp_path / "x.npy")
    np.save(inputs, np.zeros((5, 1, 8, 8), np.float32))  # a file: scipy (the built-in digits) probes for torch
    script = "import sys; sys.modules['torch'] = sys.modules['onnx'] = None; from ssvae.cli import main; main()"
    for args in (["info", model], ["predict", model, "--data", inputs, "--out", str(tmp_path / "p.csv")],
                 ["score", model, "--data", inputs, "--out", str(tmp_path / "s.csv")],
                 ["generate", model, "--out", str(tmp_path / "g.png")]):
        quiet = ["--quiet"] if args[0] in ("predict", "score") else []
        result = subprocess.run([sys.executable, "-c", script, *args, *quiet], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0, f"{args[0]}: {result.stderr}"
    assert (tmp_path / "p.csv").is_file() and (tmp_path / "s.csv").is_file() and (tmp_path / "g.png").is_file()


def test_onnxruntimes_telemetry_is_off_unless_the_environment_says_otherwise(tmp_path):
    """onnxruntime's official builds send usage events to Microsoft and keep a device id under ~/.cache, and
    every command warned where that could not be written (a container's user): ssvae turns it off, and leaves
    a setting of the user's as it is."""
    env = {key: value for key, value in os.environ.items() if key != "ORT_DISABLE_TELEMETRY"}
    for module, given, expected in (("ssvae.runtime", None, "1"), ("ssvae.onnx_export", None, "1"),
                                    ("ssvae.precisions", None, "1"), ("ssvae.runtime", "0", "0")):
        home = tmp_path / f"home-{module}-{given}"  # the exporter's modules load onnxruntime before the runtime
        home.mkdir()
        script = f"import os, {module}; print(os.environ['ORT_DISABLE_TELEMETRY'])"
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT,
                              env={**env, "HOME": str(home),
                                   **({} if given is None else {"ORT_DISABLE_TELEMETRY": given})})
        assert (done.returncode, done.stdout, done.stderr) == (0, f"{expected}\n", ""), done.stderr
        if given is None:
            assert list(home.iterdir()) == [], module  # no ~/.cache/Microsoft


def test_the_package_offers_its_lazy_names_and_modules_to_a_repl():
    import ssvae

    assert {"train", "evaluate", "export", "load", "Config", "runtime", "inference", "config", "settings", "data",
            "training", "__version__", "__name__", "__path__"} <= set(dir(ssvae))
    assert not {"importlib", "Any", "annotations"} & set(dir(ssvae))
    reached = subprocess.run([sys.executable, "-c", "import ssvae; print(ssvae.training.accuracy.__name__)"],
                             capture_output=True, text=True, timeout=120)  # the README's, before anything imports it
    assert (reached.returncode, reached.stdout) == (0, "accuracy\n"), reached.stderr
    assert ssvae.inference.predict is inference.predict and ssvae.runtime is runtime
    with pytest.raises(AttributeError, match="module 'ssvae' has no attribute 'trian'"):
        ssvae.trian
    # the errors to catch, from one place (ssvae.DataError was an AttributeError): what the API raises
    errors = {ssvae.ConfigError, ssvae.DataError, ssvae.RunError, ssvae.TrainingError, ssvae.ExportError,
              ssvae.ModelError}
    assert {name.__name__ for name in errors} <= set(dir(ssvae)) and ssvae.ModelError is runtime.ModelError
    assert ssvae.describe_run is api.describe_run  # ssvae info RUN_DIR, as ExportedModel.describe is of a model
    for call, error, message in (
            (lambda: ssvae.train(labels=0), ssvae.ConfigError, r"^labels must be at least 1 \(or 'all'\), got 0$"),
            (lambda: ssvae.load(5), ssvae.RunError, r"^run_dir must be a path, got int$"),
            (lambda: runtime.load("nowhere"), ssvae.ModelError, r"^nowhere: no such model folder; make one with "),
            (lambda: inference.as_inputs(inference.loaded(ROOT / "models" / "digits-m2"), "missing.npy"),
             ssvae.DataError, r"^missing.npy: no such file or folder; check the path of the inputs$"),
            (lambda: ssvae.export(5, "m"), ssvae.RunError, r"^run_dir must be a path, got int$")):
        with pytest.raises(error, match=message):
            call()


def test_a_generative_models_classifier_shipped_alone_predicts_and_evaluates(digits_model, tmp_path):
    """A folder shipped with classifier.onnx (and model.json) alone, to label data, was "not a complete model
    folder"; score and generate name the graphs they need. The encoder without its decoder is still refused."""
    alone = tmp_path / "alone"
    alone.mkdir()
    for name in ("classifier.onnx", "model.json"):
        shutil.copy(digits_model.model_dir / name, alone / name)
    model = runtime.load(alone)
    x = np.asarray(inference.model_inputs(digits_model, dataset="digits").x[:20])
    np.testing.assert_array_equal(model.classify(x), digits_model.classify(x))
    assert inference.evaluate(model, dataset="digits")["accuracy"] == \
        inference.evaluate(digits_model, dataset="digits")["accuracy"]
    for call, what in ((lambda: model.score(x), "score"), (lambda: inference.generate(model, tmp_path / "g.png"),
                                                          "generate")):
        with pytest.raises(ModelError, match=f"^{re.escape(str(alone))} holds the classifier of an m2 model without "
                                             f"its encoder.onnx and decoder.onnx: {what} needs them: copy them in from "
                                             f"its export, or export the run again$"):
            call()
    m1 = runtime.ExportedModel(alone, {"classifier": model.sessions["classifier"]}, {**model.info, "model": "m1"})
    with pytest.raises(ModelError, match="is an m1 model, whose decoder takes no class"):  # not "copy them in"
        m1.require_analogies()
    shutil.copy(digits_model.model_dir / "encoder.onnx", alone)
    with pytest.raises(ModelError, match="decoder.onnx: missing; .* is not a complete model folder"):
        runtime.load(alone)


def test_a_run_an_exported_model_and_inputs_show_themselves_in_a_line(digits_run, digits_model, tmp_path):
    """A run's repr was 49 lines (every index of its split, every layer); a model's an address; inputs' every
    id and value (5,844 characters for digits' 450 test rows)."""
    test = inference.model_inputs(digits_model, dataset="digits")
    assert repr(test) == f"Inputs(450 rows of shape (1, 8, 8), float32, ids {test.ids[0]!r}..{test.ids[-1]!r}, " \
                         f"source=None)"
    np.save(tmp_path / "x.npy", np.zeros((3, 8, 8), np.uint8))
    assert repr(inference.model_inputs(digits_model, tmp_path / "x.npy")) == \
        f"Inputs(3 rows of shape (8, 8), uint8, ids '0'..'2', source={str(tmp_path / 'x.npy')!r})"
    assert repr(digits_run) == "Run(model='m2', data='digits', labels_seen=100, classes=10, run_dir=None)"
    int8 = runtime.load(digits_model.model_dir, precision="int8")
    assert repr(int8) == (f"ExportedModel({str(digits_model.model_dir)!r}, model='m2', precision='int8', "
                          f"input_shape=(1, 8, 8), classes=10)")


def test_inference_takes_a_model_folder_for_its_model_and_names_what_else_it_got(digits_run, digits_model,
                                                                                  tmp_path):
    """A path was read as a model (AttributeError: 'str' object has no attribute 'input_columns'); the report
    ssvae.export returns names its folder, and a training run is told to be exported first."""
    x = np.asarray(inference.model_inputs(digits_model, dataset="digits").x[:5])
    assert inference.predict(str(digits_model.model_dir), x, tmp_path / "p.csv", progress=False).rows == 5
    inference.predict(digits_model, x, tmp_path / "q.csv", progress=False)
    assert (tmp_path / "p.csv").read_bytes() == (tmp_path / "q.csv").read_bytes()
    report = ssvae.export(digits_run, tmp_path / "model")
    inference.predict(report, x, tmp_path / "r.csv", progress=False)
    assert (tmp_path / "r.csv").read_bytes() == (tmp_path / "q.csv").read_bytes()
    assert len(inference.model_inputs(digits_model.model_dir, dataset="digits").x) == 450
    with pytest.raises(ModelError, match=r"^model must be an exported model \(ssvae.runtime.load\(MODEL_DIR\)\) or "
                                         r"its folder, got int$"):
        inference.score(5, x, tmp_path / "s.csv")
    with pytest.raises(ModelError, match=r"^model must be an exported model \(ssvae.runtime.load\(MODEL_DIR\)\) or "
                                         r"its folder, got ssvae.api.Run \(a training run: export it first, "
                                         r"ssvae.export\(run, MODEL_DIR\)\)$"):
        inference.predict(digits_run, x, tmp_path / "s.csv")
    with pytest.raises(RunError, match=r"^out must be a file name, got None: give a name ending in .csv, or - for "
                                       r"standard output$"):
        inference.predict(digits_model, x, None)


def test_ssvae_evaluate_takes_the_report_ssvae_export_returns(digits_run, tmp_path):
    """ssvae.evaluate(ssvae.export(run, DIR)) said "run_dir must be a path, got
    ssvae.onnx_export.ExportReport", where ssvae.inference and ssvae.runtime.load take the report for its folder."""
    report = ssvae.export(digits_run, tmp_path / "model")
    evaluated = ssvae.evaluate(report)
    assert evaluated == ssvae.evaluate(tmp_path / "model")
    assert evaluated["accuracy"] == report.accuracy["float32"] and evaluated["test_data"] == "digits test split"
    with pytest.raises(RunError, match=r"^--baseline \(baseline= in Python\) trains on a run's data, which "
                                       rf"{re.escape(str(tmp_path / 'model'))}, an exported model, does not keep"):
        ssvae.evaluate(report, baseline=True)


def _shared_noise(monkeypatch, n, k, z_dim):
    """The standard normals the runtime draws with seed 0, a row of them a class, the same for each of the ``n``
    rows, handed to torch's reparameterisation (rows repeated once a class, classes fastest)."""
    eps = np.tile(np.random.default_rng(0).standard_normal((k, z_dim), dtype=np.float32), (n, 1))
    monkeypatch.setattr(torch, "randn_like", lambda t: torch.from_numpy(eps).reshape(t.shape))


def test_score_is_torchs_negative_elbo_with_the_same_noise(digits_run, digits_model, monkeypatch):
    x = digits_run.partition().test.x[:40]
    _shared_noise(monkeypatch, 40, 10, digits_run.config.latent_dim)
    with torch.no_grad():
        want = -digits_run.model.elbo(torch.as_tensor(x)).numpy()
    np.testing.assert_allclose(digits_model.score(x, seed=0), want, rtol=1e-4, atol=1e-3)


def test_the_reported_test_elbo_is_the_mean_of_the_bounds_the_graphs_score(digits_run, digits_model, monkeypatch):
    """evaluate's test_elbo, given the noise the runtime draws, is minus the mean score of the test set: a mean
    over its 450 examples, each bounded once (a sum would be another number)."""
    test = digits_run.partition().labelled_test
    _shared_noise(monkeypatch, len(test), 10, digits_run.config.latent_dim)
    report = ssvae.evaluate(digits_run)
    assert report["n_test"] == len(test) == 450
    assert report["test_elbo"] == pytest.approx(-digits_model.score(test.x, seed=0).mean(), rel=1e-5)


def test_gaussian_score_is_a_density_of_the_raw_inputs(tmp_path, monkeypatch):
    """For real-valued data the decoder un-standardises, so the score is -ELBO of x itself, as torch's
    bound is (the bound on standardised inputs less sum(log scale))."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 40)
    x = (rng.normal(size=(120, 5)) * [1, 10, 100, 0.1, 1] + y[:, None] * 3).astype(np.float32)
    np.savez(tmp_path / "blobs.npz", x=x, y=y)
    run = ssvae.train(data=str(tmp_path / "blobs.npz"), labels=12, epochs=3, hidden=(16,), classifier_hidden=(16,),
                      latent_dim=2, progress=False)
    assert run.config.likelihood == "gaussian"
    ssvae.export(run, tmp_path / "model")
    model = runtime.load(tmp_path / "model")
    _shared_noise(monkeypatch, 30, 3, 2)
    with torch.no_grad():
        want = -run.model.elbo(torch.as_tensor(x[:30])).numpy()
    np.testing.assert_allclose(model.score(x[:30]), want, rtol=1e-4, atol=1e-2)
    assert model.generate(1, n=4).shape == (4, 5)
    far = x[:3].copy()
    far[1, 2] = 1e30  # finite in float32, its square is not
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warnings were lines of output
        scores = model.score(far)
        weighted = model.score(far, samples=4)
    assert scores[1] == weighted[1] == np.inf  # the least likely of all ranks first (weighted was NaN)
    np.testing.assert_allclose(scores[[0, 2]], model.score(x[:3])[[0, 2]], rtol=1e-6)  # the others as they were
    np.testing.assert_allclose(weighted[[0, 2]], model.score(x[:3], samples=4)[[0, 2]], rtol=1e-6)


def test_inputs_a_graph_overflows_on_are_refused_by_classify_encode_and_decode_and_score_inf(tmp_path):
    """-3.4e38, a common "no data" mark, is finite, but standardised (wine's alcohol varies by 0.8) it is -inf,
    and the layers after give NaN: classify gave NaN probabilities and score NaN, ranked last. Latent codes as
    large overflow the decoder, which gave NaN examples."""
    from sklearn.datasets import load_wine

    wine = load_wine()
    x = wine.data.astype(np.float32)
    np.savez(tmp_path / "wine.npz", x=x, y=wine.target)
    ssvae.export(ssvae.train(data=str(tmp_path / "wine.npz"), labels=30, epochs=1, progress=False), tmp_path / "model")
    model = runtime.load(tmp_path / "model")
    marked = x[:3].copy()
    marked[1, 0] = np.finfo(np.float32).min
    with pytest.raises(runtime.NonFiniteInputError, match=r"^inputs overflow float32 inside the model \(numbers far "
                                                          r"too large for it\) \(first in row 1\): clean or drop "
                                                          r"those rows; if they are sound, the model's graphs may be "
                                                          r"damaged: export them again$"):
        model.classify(marked)
    with pytest.raises(runtime.NonFiniteInputError, match=r"\(first in row 1\)"):
        model.encode(marked)
    codes = np.zeros((3, model.latent_dim), np.float32)
    codes[2] = 3e38
    assert np.isfinite(model.decode(codes[:2], 0)).all()
    with pytest.raises(runtime.NonFiniteInputError, match=r"^inputs overflow float32 inside the model .* \(first in "
                                                          r"row 2\)"):
        model.decode(codes, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores, weighted = model.score(marked), model.score(marked, samples=4)
    assert scores[1] == weighted[1] == np.inf
    np.testing.assert_allclose(scores[[0, 2]], model.score(x[:3])[[0, 2]], rtol=1e-6)  # the others as they were
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        entropies = model.entropy(marked)  # as unsure as can be: log K, where classify refuses the row
    assert entropies.dtype == np.float64 and entropies[1] == pytest.approx(math.log(3))
    np.testing.assert_allclose(entropies[[0, 2]], runtime.entropy(model.classify(x[[0, 2]])), rtol=1e-6)
    with pytest.warns(UserWarning, match=r"^the inputs: 1 row\(s\) hold values far outside those the model was "
                                         r"trained on \(first in row 1: input 0 -3.40282e\+38"):
        written = inference.score(model, marked, tmp_path / "s.csv", progress=False)  # ranked first, not refused
    assert (tmp_path / "s.csv").read_text().splitlines()[1] == f"1,inf,{math.log(3):.6g}"
    np.testing.assert_array_equal(written.score, scores)
    np.savez(tmp_path / "marked.npz", x=x, y=wine.target, x_test=marked, y_test=wine.target[:3])
    ssvae.export(ssvae.train(data=str(tmp_path / "marked.npz"), labels=30, epochs=1, progress=False),
                 tmp_path / "marked")  # its test set holds the row: the export keeps inf, and log K
    kept = runtime.load(tmp_path / "marked").test_scores  # 3 test rows: the 90th percentile lies next to inf
    assert kept["max"] == kept["quantiles"]["0.9"] == math.inf and math.isfinite(kept["quantiles"]["0.5"])
    assert kept["entropy"]["max"] == pytest.approx(math.log(3), abs=1e-4)


def test_log_sum_exp_is_minus_infinity_where_every_term_is():
    values = np.array([[-np.inf, -np.inf], [0.0, np.log(3.0)], [1000.0, 1000.0], [np.inf, 0.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = runtime.log_sum_exp(values, 1)
    np.testing.assert_allclose(result, [-np.inf, np.log(4.0), 1000.0 + np.log(2.0), np.inf], rtol=1e-15)


def test_importance_weighted_score_is_tighter_than_the_elbo(digits_run, digits_model):
    x = digits_run.partition().test.x[:100]
    elbo = np.mean([digits_model.score(x, seed=s) for s in range(10)], 0)
    iw = digits_model.score(x, samples=64)
    assert iw.mean() < elbo.mean()  # a tighter bound: a smaller -log p(x) estimate
    assert abs(iw.mean() - elbo.mean()) < 0.1 * abs(elbo.mean())


def test_importance_weighted_score_is_the_bound_worked_out_in_float64(digits_run, digits_model, monkeypatch):
    """-log(1/K sum_y 1/S sum_s p(x|y,z_s) p(z_s) / q(z_s|x,y)) with z_s = mu + sigma * eps_s and the runtime's
    normals (seed 0, one (S, K, D) draw, the same for every row), from torch's encoder and decoder in float64."""
    n, k, s = 5, 10, 4
    x = digits_run.partition().test.x[:n]
    model = copy.deepcopy(digits_run.model).double()
    xs = torch.as_tensor(x, dtype=torch.float64).repeat_interleave(k, 0)  # every example once a class
    ys = torch.eye(k, dtype=torch.float64).repeat(n, 1)
    with torch.no_grad():
        mu, logvar = model.encode(xs, ys)
        noise = np.random.default_rng(0).standard_normal((s, k, mu.shape[1]), dtype=np.float32)
        log_w = []
        for j in range(s):
            z = mu + (0.5 * logvar).exp() * torch.from_numpy(np.tile(noise[j], (n, 1)))
            logits = model.decode(z, ys)
            log_px = (xs.flatten(1) * logits - torch.nn.functional.softplus(logits)).sum(-1)  # Bernoulli
            log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)
            log_qz = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1)
            log_w.append(log_px + log_pz - log_qz)
        per_class = torch.logsumexp(torch.stack(log_w), 0).reshape(n, k) - math.log(s) - math.log(k)
        want = -torch.logsumexp(per_class, -1).numpy()
    np.testing.assert_allclose(digits_model.score(x, samples=s), want, rtol=1e-5, atol=1e-3)
    calls, run = [], digits_model._run

    def counted(role, feeds):
        calls.append((role, len(feeds["z" if role == "decoder" else "x"])))
        return run(role, feeds)

    monkeypatch.setattr(digits_model, "_run", counted)
    monkeypatch.setattr(digits_model, "batch_size", 15)  # an example's 4 samples of 10 classes: 40 rows, so
    np.testing.assert_allclose(digits_model.score(x, samples=s), want, rtol=1e-5, atol=1e-3)
    assert calls == [("encoder", 10), *[("decoder", 10)] * s] * n  # one sample (10 rows) a decoder call


def test_noise_scores_above_real_images(digits_run, digits_model):
    real = digits_run.partition().test.x[:200]
    noise = np.random.default_rng(1).random(real.shape, dtype=np.float32)
    scores = digits_model.score(np.concatenate([real, noise]))
    assert roc_auc_score(np.r_[np.zeros(200), np.ones(200)], scores) > 0.99


def test_generate_and_analogies_decode_the_classes_asked_for(digits_model, digits_run):
    m = digits_model
    assert m.generate("3", n=5, seed=1).shape == (5, 1, 8, 8)
    np.testing.assert_array_equal(m.generate(3, n=2, seed=1), m.generate("3", n=2, seed=1))
    assert not np.array_equal(m.generate(3, n=2, seed=1), m.generate(3, n=2, seed=2))
    z = np.random.default_rng(1).standard_normal((2, m.latent_dim)).astype(np.float32)  # generate's own draw
    np.testing.assert_array_equal(m.generate(3, n=2, seed=1), m.decode(z, 3))
    assert not np.allclose(m.decode(z, 3), m.decode(z, 4))  # the class matters, so the line above says which
    x = digits_run.partition().test.x[:3]
    analogies, codes = m.analogies(x), m.encode(x)[1]  # each input's z (its predicted class) in every class
    assert analogies.shape == (3, 10, 1, 8, 8)
    for k in range(10):
        np.testing.assert_allclose(analogies[:, k], m.decode(codes, k), atol=1e-6)


def test_no_rows_give_empty_outputs_of_the_right_shapes(digits_model):
    none, m = np.zeros((0, 1, 8, 8), np.float32), digits_model
    assert m.classify(none).shape == (0, 10) and m.score(none).shape == m.score(none, samples=4).shape == (0,)
    assert [part.shape for part in m.encode(none)] == [(0, 10), (0, m.latent_dim), (0, m.latent_dim)]
    assert m.decode(np.zeros((0, m.latent_dim)), []).shape == m.generate(3, n=0).shape == (0, 1, 8, 8)
    assert m.analogies(none).shape == (0, 10, 1, 8, 8)


def test_raw_inputs_are_prepared_like_training(digits_model):
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8), dtype=np.uint8)
    as_float = images[:, None].astype(np.float32) / 255
    np.testing.assert_allclose(digits_model.classify(images), digits_model.classify(as_float), atol=1e-6)
    np.testing.assert_allclose(digits_model.classify(as_float.reshape(4, 64)), digits_model.classify(as_float))
    assert digits_model.classify(np.stack([np.zeros(64), np.ones(64)])).shape == (2, 10)  # both ends belong to [0, 1]


@pytest.mark.parametrize("x, message", [
    (np.zeros((2, 9, 9), np.float32), "inputs of shape (2, 9, 9) do not fit this model: it takes (N, 1, 8, 8), "
                                      "(N, 8, 8), (N, 8, 8, 1) or (N, 64)"),
    (np.zeros((1, 8, 8), np.float32)[0], "add a batch axis"),
    (np.zeros(64, np.float32), "inputs of shape (64,) do not fit this model: it takes (N, 1, 8, 8), (N, 8, 8), "
                               "(N, 8, 8, 1) or (N, 64); add a batch axis for a single example, e.g. x[None]"),
    (np.full((2, 64), 3.0), "inputs range over [3, 3] but this model takes [0, 1] (first in row 0): pass them as "
                            "floats scaled to that range"),
    (np.arange(128.0).reshape(2, 64) % 17, "inputs range over [0, 16] but this model takes [0, 1] (first in row 0): "
                                           "pass them as floats scaled to that range (images of grey levels 0..L as "
                                           "x / L; these reach 16)"),  # sklearn's digits, whose uint8 reach 0.063
    (np.concatenate([np.zeros((1, 64)), np.full((1, 64), 1.5)]), "inputs range over [0, 1.5] but this model takes "
                                                                 "[0, 1] (first in row 1)"),
    (np.concatenate([np.ones((1, 64)), np.full((1, 64), -0.5)]), "inputs range over [-0.5, 1] but this model takes "
                                                                 "[0, 1] (first in row 1)"),
    (np.full((1, 64), 1.0000001, np.float32), "inputs range over [1.0000001, 1.0000001] but this model takes [0, 1] "
                                              "(first in row 0): clip them to it (np.clip(x, 0, 1))"),  # :g showed
                                              # "[1, 1]", within [0, 1]; past it by rounding alone: clip
    (np.full((1, 64), -0.0001, np.float32), "inputs range over [-0.0001, -0.0001]"),
    (np.full((2, 64), np.nan), "inputs contain NaN or inf, or numbers too large for float32 (first in row 0)"),
    (np.array([["a"] * 64]), "inputs of dtype <U1 are not numbers"),
    (np.zeros((1, 8, 8, 3), np.uint8), "inputs of shape (1, 8, 8, 3) do not fit this model: it takes (N, 1, 8, 8), "
                                       "(N, 8, 8), (N, 8, 8, 1) or (N, 64); this model takes grey images: convert "
                                       "yours first (Pillow: image.convert('L'))"),  # PIL's RGB, as np.asarray gives
    (np.zeros((2, 4, 8, 8), np.float32), "or (N, 64); this model takes grey images: convert yours first"),
    (np.zeros((8, 8, 3), np.uint8), "or (N, 64); this model takes grey images: convert yours first (Pillow: "
                                    "image.convert('L')); add a batch axis for a single image, e.g. x[None]"),
])
def test_bad_runtime_input_is_a_clear_error(digits_model, x, message):
    with pytest.raises(ModelError) as error:
        digits_model.classify(x)
    assert message in str(error.value)


def test_the_runtime_advises_dividing_by_the_top_level_only_for_a_few_grey_levels(digits_model):
    """Whole numbers below 64 are images of a few levels (sklearn's digits: 0..16), to be divided by their top
    level (the batch's highest is shown, not put in the fix: a batch may lack the top level); 200 is a dark
    8-bit image's level (pass uint8), 16.5 no level at all. uint8 of 64 levels or more are 8-bit images, and
    so is a batch of black ones. Values past the range by no more than rounding (-1e-12) are to be clipped."""
    eight_bit = "pass 8-bit images (0..255) as uint8 (x.astype(np.uint8)), 16-bit ones as (x >> 8).astype(np.uint8), "
    for x, advice in ((np.arange(128.0).reshape(2, 64) % 16, "pass them as floats scaled to that range (images of "
                                                             "grey levels 0..L as x / L; these reach 15)"),
                      (np.full((2, 64), 200.0), eight_bit + "or floats scaled to that range"),
                      (np.full((2, 64), 64.0), eight_bit + "or floats scaled to that range"),  # 64 levels: 8-bit
                      (np.full((2, 64), 16.5), eight_bit + "or floats scaled to that range"),
                      (np.full((2, 64), 1.002), eight_bit + "or floats scaled to that range"),  # past the slack
                      *((np.full((2, 64), v), "clip them to it (np.clip(x, 0, 1)): they pass it by no more than "
                                              "rounding, as resampling or normalising leaves images")
                        for v in (-1e-12, 1 + 1e-7, 1.0009, -0.0009))):  # a resampled image's rounding
        with pytest.raises(ModelError) as error:
            digits_model.classify(x)
        assert str(error.value).endswith(advice)
    few = np.stack([np.zeros(64), np.arange(64) % 17]).astype(np.uint8)  # as uint8: nearly black images, said so
    with pytest.warns(UserWarning, match=r"^uint8 inputs that stay below 64 are divided by 255 as 8-bit images "
                                         r"are, and read as nearly black images: if they are images of grey levels "
                                         r"0..L \(such as sklearn's digits, 0..16\), pass them as floats x / L$"):
        np.testing.assert_array_equal(digits_model.classify(few), digits_model.classify(few / 255.0))
    for quiet in (np.full((2, 64), 64, np.uint8), np.zeros((2, 64), np.uint8), np.zeros((0, 64), np.uint8)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            np.testing.assert_array_equal(digits_model.classify(quiet), digits_model.classify(quiet / 255.0))


def test_uint8_inputs_of_a_model_of_numbers_are_numbers_and_warn_not(tmp_path):
    """A model of numbers outside [0, 1] reads uint8 as the numbers they are: levels 0..9 are no dark image."""
    x = np.random.default_rng(0).integers(0, 10, (60, 4)).astype(np.float64)
    np.savez(tmp_path / "numbers.npz", x=x, y=np.arange(60) % 2)
    run = ssvae.train(data=str(tmp_path / "numbers.npz"), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(run.classify(x.astype(np.uint8)), run.classify(x), rtol=1e-6)


@pytest.mark.parametrize("call, message", [
    (lambda m: m.decode(np.zeros((2, m.latent_dim)), y="cat"), "class 'cat' is not one of 0, 1, 2"),
    (lambda m: m.decode(np.zeros((2, m.latent_dim)), y=10), "class 10 is outside 0..9"),
    (lambda m: m.decode(np.zeros((2, m.latent_dim)), y=np.zeros((2, 9))),
     "one-hot classes of shape (2, 9) do not fit: need (2, 10)"),
    (lambda m: m.decode(np.zeros((2, m.latent_dim))), "decode needs the class y, as an index or a name (0, 1, 2 and "
                                                      "7 more), or one-hot rows: this model's decoder takes one"),
    (lambda m: m.decode(np.zeros((2, m.latent_dim + 1)), y=0), "latent codes of shape (2, 9) do not fit: need (N, 8)"),
    (lambda m: m.score(np.zeros((2, 64)), samples=0), "samples must be a whole number of at least 1, got 0"),
    (lambda m: m.score(np.zeros((2, 64)), samples=2.0), "samples must be a whole number of at least 1, got 2.0 (a "
                                                        "float: pass an int)"),
    (lambda m: m.score(np.zeros((2, 64)), seed=-1), "seed must be a whole number of at least 0, got -1"),
    (lambda m: m.decode(np.zeros((20, m.latent_dim)), y=[1, 2, 3]),
     "classes of shape (3,) do not fit 20 rows: give one class for all of them, 20 indices or names, or (20, 10)"),
    (lambda m: m.decode(np.zeros((2, m.latent_dim)), y=np.zeros((2, 10, 1))), "classes of shape (2, 10, 1) do not fit"),
    (lambda m: m.decode(np.zeros((10, m.latent_dim)), y=np.eye(10)[3]),  # not ten rows' classes 0, 0, 0, 1, 0, ...
     "classes [0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0] could be 10 indices or one one-hot row (class 3): "
     "give that class as 3 or '3' for every row, or a class a row as names or as one-hot rows of shape (10, 10)"),
    (lambda m: m.generate(np.eye(10, dtype=np.uint8)[3], n=10),  # its integer copy read so without a word
     "classes [0, 0, 0, 1, 0, 0, 0, 0, 0, 0] could be 10 indices or one one-hot row (class 3)"),
    (lambda m: m.encode(np.zeros((10, 64)), y=np.arange(10) == 2), "classes given as booleans of shape (10,) could "
                                                                   "be indices or a one-hot row: give indices or names"),
    (lambda m: m.encode(np.zeros((2, 64)), y=np.array([True, False])), "classes given as booleans of shape (2,)"),
    (lambda m: m.encode(np.zeros((2, 64)), y=np.array([1.0, 2.5])),
     "class 2.5 is not a whole number: give an index (0..9) or a name"),
    (lambda m: m.encode(np.zeros((2, 64)), y=np.array([1.0, np.nan])), "class nan is not a whole number"),
    (lambda m: m.encode(np.zeros((2, 64)), y=[3, None]), "class None is neither an index (0..9) nor a name (0, 1, 2,"),
    (lambda m: m.decode(np.zeros((1, m.latent_dim)), y={"a": 1}), "class {'a': 1} is neither an index (0..9) nor"),
    (lambda m: m.generate(True), "class True is neither an index (0..9) nor a name"),
    (lambda m: m.generate(0, n=-1), "n must be a whole number of at least 0, got -1"),
    (lambda m: m.generate(0, n=True), "n must be a whole number of at least 0, got True (a bool: pass an int)"),
    (lambda m: m.generate(0, seed=-1), "seed must be a whole number of at least 0, got -1"),
    (lambda m: m.score(np.zeros((1, 64)), seed=np.random.SeedSequence(3)), "seed must be a whole number of at least "
     "0, got a SeedSequence: pass an int"),  # one line, not numpy's repr of three
    (lambda m: m.decode(np.full((2, m.latent_dim), 7.0), y=np.full((2, 10), 7.0)),
     "class rows must be one-hot (a 1 and 0s) or class weights of at least 0 that sum to 1"),
    (lambda m: m.encode(np.zeros((1, 64)), y=np.full((1, 10), np.nan)), "sum to 1, or all 0 for the predicted class"),
    (lambda m: m.decode([[0.0] * 7 + [np.nan]], y=0), "latent codes contain NaN or inf, or numbers too large for "
                                                      "float32 (first in row 0): pass finite codes"),
    (lambda m: m.decode(np.array([[0.0] * 8, [1e40] * 8]), y=0), "latent codes contain NaN or inf, or numbers too "
                                                                 "large for float32 (first in row 1)"),
    (lambda m: m.decode([["a"] * 8], y=0), "latent codes of dtype <U1 are not numbers"),
    (lambda m: m.classify([[0.0] * 64, [0.0]]), "inputs cannot be read as an array ("),
    (lambda m: m.generate([1, 2], n=3), "classes of shape (2,) do not fit 3 rows"),
    (lambda m: runtime.load(m.model_dir, precision="int4"), "precision 'int4' is not one of float32, int8, float16"),
    (lambda m: m.generate(n=3), "generate needs the class y, as an index or a name (0, 1, 2 and 7 more), or "
                                "one-hot rows: this model's decoder takes one"),
])
def test_bad_runtime_arguments_are_clear_errors(digits_model, call, message):
    with pytest.raises(ModelError) as error:
        call(digits_model)
    assert message in str(error.value)


def test_class_rows_may_blend_classes_and_only_the_encoder_takes_none(digits_model):
    z = np.random.default_rng(0).standard_normal((3, digits_model.latent_dim))
    blend = digits_model.decode(z, y=np.tile([0.5, 0.5] + [0.0] * 8, (3, 1)))  # a mixture of classes 0 and 1
    for pure in (digits_model.decode(z, y=0), digits_model.decode(z, y=1)):
        assert np.abs(blend - pure).max() > 1e-3
    x = digits_model.generate(4, n=3)
    for blank, predicted in zip(digits_model.encode(x, y=np.zeros((3, 10))), digits_model.encode(x)):
        np.testing.assert_array_equal(blank, predicted)
    with pytest.raises(ModelError, match=r"class weights of at least 0 that sum to 1$"):  # no "predicted class"
        digits_model.decode(z, y=np.zeros((3, 10)))


def test_run_classify_takes_tensors_as_torch_users_hold_them(digits_run, digits_model, tmp_path):
    x = digits_run.partition().test.x[:5]
    images = np.round(x * 255).astype(np.uint8)
    for tensor, same in ((torch.tensor(x, requires_grad=True), x), (torch.tensor(images), images),
                         (torch.tensor(x).bfloat16(), torch.tensor(x).bfloat16().float().numpy())):
        np.testing.assert_array_equal(digits_run.classify(tensor), digits_run.classify(same))
    with pytest.raises(ModelError, match=r"^inputs cannot be read as an array \(.*\): pass a numpy array, rows of "
                                         r"equal length or a pandas DataFrame \(a torch tensor as "
                                         r"t.detach\(\).cpu\(\).float\(\).numpy\(\)\)$"):
        digits_model.classify(torch.tensor(x, requires_grad=True))
    halves = torch.tensor(x).bfloat16()  # the hint's own cast works for bfloat16, which .numpy() alone refuses
    np.testing.assert_allclose(digits_model.classify(halves.detach().cpu().float().numpy()),
                               digits_run.classify(halves), atol=1e-5)
    with pytest.raises(DataError, match="^batch_size must be a whole number of at least 1, got 0$"):
        digits_run.classify(x, batch_size=0)
    with pytest.raises(ModelError, match="^batch_size must be a whole number of at least 1, got 0$"):
        predict(digits_model, x, tmp_path / "p.csv", batch_size=0, progress=False)
    assert not (tmp_path / "p.csv").exists()
    with pytest.raises(ModelError, match="^threads must be a whole number of at least 1, got -1$"):
        runtime.load(digits_model.model_dir, threads=-1)
    with pytest.raises(ModelError, match=f"^{digits_model.model_dir / 'classifier.onnx'} is a file: pass the model "
                                         f"folder that holds it \\({digits_model.model_dir}\\)$"):
        runtime.load(digits_model.model_dir / "classifier.onnx")
    (tmp_path / "wine.csv").write_text("a,label\n1,0\n")
    with pytest.raises(ModelError, match=f"^{tmp_path / 'wine.csv'} is a file, not a model folder: pass a folder "
                                         f"written by 'ssvae export'$"):
        runtime.load(tmp_path / "wine.csv")


def test_analogies_of_an_empty_array_ask_for_one_input_and_write_nothing(digits_model, tmp_path):
    """An array of no rows from Python (a file of none is refused where it is read, naming the file)."""
    for name in ("a.png", "a.csv"):
        with pytest.raises(DataError, match="^no inputs to draw analogies of: give at least one$"):
            inference.generate(digits_model, tmp_path / name, analogies=np.zeros((0, 1, 8, 8), np.float32))
    assert list(tmp_path.iterdir()) == []


def test_threads_set_each_graphs_own_threads_and_the_default_leaves_onnxruntimes(digits_model):
    """threads=2: two threads inside each operator, none running operators side by side (0: onnxruntime's
    default, one a core)."""
    for threads, inside, beside in ((2, 2, 1), (None, 0, 0)):
        model = runtime.load(digits_model.model_dir, threads=threads)
        assert {role: (session.get_session_options().intra_op_num_threads,
                       session.get_session_options().inter_op_num_threads)
                for role, session in model.sessions.items()} == {role: (inside, beside) for role in model.sessions}


def test_the_preprocessing_text_says_how_uint8_is_scaled_and_what_range_floats_need():
    from ssvae.model_card import preprocessing

    texts = {(data, likelihood): preprocessing(Config(data=data, likelihood=likelihood))
             for data in ("x.csv", "x.npz") for likelihood in ("bernoulli", "gaussian")}
    assert texts == {
        ("x.csv", "bernoulli"): "inputs, uint8 too, are used as the numbers they are and must lie in [0, 1]; no "
                                "binarisation",
        ("x.csv", "gaussian"): "inputs, uint8 too, are used as the numbers they are (the graph standardises them)",
        ("x.npz", "bernoulli"): "uint8 inputs are divided by 255; float inputs are used as given and must lie in "
                                "[0, 1]; no binarisation",
        ("x.npz", "gaussian"): "uint8 inputs are divided by 255; float inputs are used as given (the graph "
                               "standardises them)"}


def test_inference_score_takes_the_seeds_the_runtime_takes(digits_model, tmp_path):
    x = digits_model.generate(3, n=6)
    by_number = inference.score(digits_model, x, tmp_path / "a.csv", seed=4, progress=False)
    by_generator = inference.score(digits_model, x, tmp_path / "b.csv", seed=np.random.default_rng(4), progress=False)
    np.testing.assert_array_equal(by_generator.score, by_number.score)
    np.testing.assert_array_equal(by_number.score, digits_model.score(x, seed=4))
    assert inference.score(digits_model, x, tmp_path / "c.csv", seed=None, progress=False).score.shape == (6,)
    with pytest.raises(ModelError, match="^seed must be a whole number of at least 0, got -1$"):
        inference.score(digits_model, x, tmp_path / "d.csv", seed=-1, progress=False)


def _set_test_scores(folder: Path, value: object, key: str = "test_scores") -> None:
    """``folder``'s test_scores (or another ``key``) set to ``value`` in every graph's metadata and in
    model.json alike."""
    for path in folder.glob("*.onnx"):
        graph = onnx.load(path)
        values = {p.key: p.value for p in graph.metadata_props}
        values[f"ssvae.{key}"] = json.dumps(value)
        del graph.metadata_props[:]
        onnx.helper.set_model_props(graph, values)
        onnx.save(graph, path)
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, key: value}))


@pytest.mark.parametrize("n", [2, 25, 100, 194, 195, 450])
def test_how_often_an_example_lies_above_a_99th_percentile_of_n_is_its_share_of_the_gaps(n):
    """`above_q99`, which the card and `ssvae score` state where it is well above 1 in 100 (from 25 test
    examples, 1 in 21), against a count of the places of a new example among ``n`` others, in float64: it lies
    in any of the n + 1 gaps alike, and in the gap that holds the interpolated percentile, above it by the share
    of the gap above it."""
    from ssvae.model_card import FEW_FOR_Q99, above_q99

    h = (n - 1) * 0.99  # numpy's linear 99th percentile sits h of the way up the sorted values (0-based places)
    below, share = math.floor(h), h - math.floor(h)
    exact = (n - 1 - below + (1 - share)) / (n + 1)  # the gaps above place below + 1, and that above h in its own
    assert above_q99(n) == pytest.approx(exact, rel=1e-12)
    assert (above_q99(n) > 0.015) == (n < FEW_FOR_Q99)


def test_runtime_entropy_is_that_of_each_row_of_probabilities_in_nats():
    got = runtime.entropy(np.array([[1.0, 0.0], [0.5, 0.5], [0.25, 0.75]]))
    np.testing.assert_allclose(got, [0.0, math.log(2), -0.25 * math.log(0.25) - 0.75 * math.log(0.75)])
    assert str(got[0]) == "0.0"  # not -0.0, which a CSV would show


def test_score_writes_each_inputs_entropy_as_predict_does_beside_its_score(digits_model, tmp_path):
    """The score CSV's third column is the entropy of q(y|x) in nats (worked out here in float64), the same
    as predict's; rows go highest score first, and `score` returns both in input order."""
    x = np.asarray(inference.model_inputs(digits_model, dataset="digits").x[:7])
    x[3] = 0.0  # a blank image: a plain input, which the classifier is unsure of
    got = inference.score(digits_model, x, tmp_path / "s.csv", progress=False)
    p = digits_model.classify(x).astype(np.float64)
    np.testing.assert_allclose(got.entropy, -(p * np.log(p)).sum(1), rtol=1e-6)
    assert got.entropy.argmax() == 3 and got.entropy[3] > 0.5
    rows = [line.split(",") for line in (tmp_path / "s.csv").read_text().splitlines()]
    assert rows[0] == ["id", "score", "entropy"]
    order = np.argsort(-got.score, kind="stable")
    assert [int(row[0]) for row in rows[1:]] == order.tolist()
    np.testing.assert_allclose(np.float64([row[1:] for row in rows[1:]]), np.c_[got.score, got.entropy][order],
                               rtol=1e-5)
    inference.predict(digits_model, x, tmp_path / "p.csv", progress=False)
    predicted = {row[0]: row[3] for row in (line.split(",") for line in (tmp_path / "p.csv").read_text().splitlines())}
    assert all(predicted[row[0]] == row[2] for row in rows[1:])  # the same text


def test_settings_take_paths_and_numpy_numbers_as_python_gives_them(tmp_path):
    config = Config(data=tmp_path / "x.csv", data_dir=tmp_path, epochs=np.int64(5), lr=np.float32(0.5),
                    hidden=[np.int64(3)])
    assert (config.data, config.data_dir) == (str(tmp_path / "x.csv"), str(tmp_path))
    assert (config.epochs, config.hidden) == (5, (3,))
    assert type(config.epochs) is int and type(config.lr) is float and type(config.hidden[0]) is int
    with pytest.raises(ConfigError, match=r"^config must be an ssvae.Config, got dict: give settings as keywords"):
        ssvae.train({"epochs": 1})


def test_bad_model_folders_are_clear_errors(tmp_path, digits_model):
    with pytest.raises(ModelError, match="no such model folder"):
        runtime.load(tmp_path / "nowhere")
    broken = tmp_path / "broken"
    broken.mkdir()
    data = (digits_model.model_dir / "classifier.onnx").read_bytes()
    (broken / "classifier.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="not a readable ONNX model"):
        runtime.load(broken)
    newer = onnx.load(str(digits_model.model_dir / "classifier.onnx"))
    next(p for p in newer.metadata_props if p.key == "ssvae.format").value = "2"
    onnx.save(newer, str(broken / "classifier.onnx"))
    with pytest.raises(ModelError, match="model format 2, written by a newer ssvae, but this one reads format 1: "
                                         "upgrade ssvae"):
        runtime.load(broken)
    for written, shown in (("0", "0"), ("null", "missing")):
        next(p for p in newer.metadata_props if p.key == "ssvae.format").value = written
        onnx.save(newer, str(broken / "classifier.onnx"))
        with pytest.raises(ModelError, match=f"model format {shown} but this ssvae reads format 1: export the run "
                                             f"again with this version"):
            runtime.load(broken)
    newer.ir_version = 99
    onnx.save(newer, str(broken / "classifier.onnx"))
    with pytest.raises(ModelError, match=re.escape(
            f"classifier.onnx: onnxruntime {ort.__version__} is older than this graph needs (Unsupported model IR "
            f"version: 99, max supported IR version: ") + r"\d+\): upgrade onnxruntime \(pip install -U onnxruntime\), "
                                                           r"or export the run again with this ssvae, whose graphs "
                                                           r"onnxruntime 1.17 loads \(1.16 with ssvae export --opset "
                                                           r"18\)$"):
        runtime.load(broken)
    newer.ir_version = 9
    newer.opset_import[0].version = 99  # an opset this onnxruntime has not heard of
    onnx.save(newer, str(broken / "classifier.onnx"))
    with pytest.raises(ModelError, match=r"classifier.onnx: onnxruntime \S+ is older than this graph needs \(opset 99; "
                                         r"it knows opsets up to \d+\): upgrade onnxruntime"):
        runtime.load(broken)
    foreign = onnx.load(str(digits_model.model_dir / "classifier.onnx"))
    del foreign.metadata_props[:]
    onnx.save(foreign, str(broken / "classifier.onnx"))
    with pytest.raises(ModelError, match="has no ssvae metadata"):
        runtime.load(broken)
    with pytest.raises(ModelError, match=r"holds no float16 copies of its graphs \(export with --fp16 to add them"):
        runtime.load(broken, precision="float16")
    with pytest.raises(ModelError, match=r"holds no int8 copies of its graphs \(export with --quantize int8 to add"):
        runtime.load(broken, precision="int8")
    (tmp_path / "empty").mkdir()  # no graph of any precision: not a folder without int8 copies alone
    with pytest.raises(ModelError, match=r"empty is no model folder \(it holds no model.json and no .onnx graph\): "
                                         r"pass the --out folder of 'ssvae export'$"):
        runtime.load(tmp_path / "empty", precision="int8")
    (tmp_path / "empty" / "model.json").write_text("{}")  # a model's file, its graphs gone
    with pytest.raises(ModelError, match=r"empty is not a complete model folder: export the run again$"):
        runtime.load(tmp_path / "empty", precision="int8")


NEWEST = onnx.defs.onnx_opset_version()


@pytest.mark.parametrize("opset, newest, message", [
    (17, NEWEST, "opset 17 is older than torch's exporter writes: choose 18 or above"),
    (NEWEST + 1, NEWEST, f"opset {NEWEST + 1} is newer than this onnx knows: choose one from 18 to {NEWEST}"),
    # an onnx that knows an opset the exporter cannot convert to: it falls back to its own 18, quietly
    (99, 99, "opset 99 cannot be written by this torch's exporter (it wrote 18): choose one from 18 to 99"),
    ("20", NEWEST, "opset must be a whole number, e.g. 20, got '20' (a str)"),  # was a TypeError of '<'
    (20.0, NEWEST, "opset must be a whole number, e.g. 20, got 20.0 (a float)"),
])
def test_an_opset_the_exporter_cannot_write_is_refused_not_recorded(digits_run, tmp_path, monkeypatch, opset, newest,
                                                                    message):
    monkeypatch.setattr(onnx.defs, "onnx_opset_version", lambda: newest)
    with pytest.raises(onnx_export.ExportError, match=re.escape(message)):
        ssvae.export(digits_run, tmp_path / "model", opset=opset)
    monkeypatch.undo()
    assert not (tmp_path / "model").exists()
    ssvae.export(digits_run, tmp_path / "model", opset=19)
    assert {o.version for o in onnx.load(str(tmp_path / "model" / "classifier.onnx")).opset_import if not o.domain} \
        == {19} == {json.loads((tmp_path / "model" / "model.json").read_text())["opset"]}


def test_an_opset_of_numpy_s_integers_is_taken_as_the_int_it_is():
    assert onnx_export._check_opset(np.int64(19)) == 19 and type(onnx_export._check_opset(np.int32(19))) is int
    with pytest.raises(onnx_export.ExportError, match=r"opset must be a whole number, e.g. 20, got np.True_"):
        onnx_export._check_opset(np.bool_(True))


def test_a_model_tested_on_data_of_its_own_is_refused_a_built_in_set_for_the_right_reason():
    """The message said a model of 13 table columns had trained on every digit, and was refused for that, not
    for the shape that rules the digits out at any split."""
    table = types.SimpleNamespace(info={"dataset": "wine.csv", "test_data": "wine-test.csv"}, input_shape=(13,))
    with pytest.raises(DataError, match=r"^digits holds 8x8 grey images but the model takes inputs of shape \(13,\)"):
        inference._check_dataset(table, "digits", "test")
    scans = types.SimpleNamespace(info={"dataset": "scans", "test_data": "more-scans"}, input_shape=(1, 8, 8))
    with pytest.raises(DataError, match=r"\(--split train gives every example of digits, none of which it trained "
                                        r"on\)$"):
        inference._check_dataset(scans, "digits", "test")


def test_every_graph_carries_the_oldest_ir_version_of_its_opset(digits_model):
    """Opset 20 (the default) needs IR version 9 (onnx's table: opset 18 needs 8, 21 needs 10), not the
    exporter's newest, which older onnxruntimes refuse even where they know the opset."""
    protos = {path.name: onnx.load(str(path)) for path in digits_model.model_dir.glob("*.onnx")}
    assert len(protos) == 9 and {proto.ir_version for proto in protos.values()} == {9}
    for proto in protos.values():  # valid for that IR version: no field of IR 10 (metadata on nodes and values)
        onnx.checker.check_model(proto, full_check=True)  # the float16 copies' nodes in order too
        graph = proto.graph
        assert not any(item.metadata_props for item in (graph, *graph.node, *graph.input, *graph.output,
                                                         *graph.value_info, *graph.initializer))


def test_one_class_given_as_a_list_applies_to_every_row(digits_model):
    np.testing.assert_array_equal(digits_model.generate([3], n=4), digits_model.generate(3, n=4))
    np.testing.assert_array_equal(digits_model.generate(["3"], n=4), digits_model.generate(3, n=4))


def test_graphs_of_another_export_or_role_in_a_model_folder_are_refused(tmp_path, digits_model):
    mixed = tmp_path / "mixed"
    shutil.copytree(digits_model.model_dir, mixed)
    shutil.copy(ROOT / "models" / "fashion-mnist-m2" / "decoder.onnx", mixed / "decoder.onnx")
    with pytest.raises(ModelError, match=re.escape(f"{mixed / 'decoder.onnx'}: not from the export classifier.onnx is "
                                                   f"from (they differ in class_names, dataset, fills_missing, "
                                                   f"input_columns, input_shape, ")):
        runtime.load(mixed)
    assert runtime.load(mixed, precision="int8").generative  # the int8 copies are still one export's
    shutil.copy(mixed / "encoder.int8.onnx", mixed / "decoder.int8.onnx")
    with pytest.raises(ModelError, match=re.escape(f"{mixed / 'decoder.int8.onnx'}: holds the encoder graph, not the "
                                                   f"decoder: export the run again")):
        runtime.load(mixed, precision="int8")


@pytest.fixture(scope="module")
def far_from_zero_run(tmp_path_factory):
    """A run of real-valued inputs near 1e5 that vary by 2e3: past float16's 65,504, and with its steps of 64
    there a thirtieth of their spread."""
    folder = tmp_path_factory.mktemp("far")
    rng = np.random.default_rng(0)
    x = (1e5 + 2e3 * rng.standard_normal((60, 6))).astype(np.float32)
    np.savez(folder / "big.npz", x=x, y=np.arange(60) % 2)
    run = ssvae.train(data=str(folder / "big.npz"), labels=20, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=folder / "run")
    return run, x


def test_float16_copy_standardises_in_float32(tmp_path, far_from_zero_run):
    """The float16 copies standardised such inputs in float16, where they are inf: the export refused them.
    Standardised in float32 (and the decoder's mean put back in float32), the copy follows float32 closely."""
    run, x = far_from_zero_run
    ssvae.export(run, tmp_path / "model", fp16=True)
    full, half = runtime.load(tmp_path / "model"), runtime.load(tmp_path / "model", precision="float16")
    assert holds_float16_weights(tmp_path / "model", "encoder") and holds_float16_weights(tmp_path / "model", "decoder")
    probabilities, z, _ = full.encode(x)
    y = probabilities.argmax(-1)
    np.testing.assert_allclose(half.encode(x)[1], z, atol=0.01 * z.std())
    np.testing.assert_allclose(half.decode(z, y), full.decode(z, y), rtol=0, atol=0.01 * 2e3)
    np.testing.assert_allclose(half.score(x), full.score(x), rtol=0, atol=0.05)
    assert ("rounds the weights to float16 but computes most operations in float32; a GPU computes in float16: "
            "`ssvae evaluate MODEL_DIR --data FILE --precision float16 --device cuda` measures it there.\n") \
        in (tmp_path / "model" / "model_card.md").read_text()
    assert "`ssvae evaluate MODEL_DIR --dataset fashion-mnist --data-dir DIR --precision" in \
        model_card.float16_note(config_for("fashion-mnist"))


def test_standardisation_nodes_are_those_reading_shift_or_scale_and_the_reshapes_joined_to_them():
    def node(op, inputs, output):
        return onnx.helper.make_node(op, inputs, [output], name=output)

    shift = onnx.numpy_helper.from_array(np.zeros(4, np.float32), "model.m1.input_shift")
    scale = onnx.numpy_helper.from_array(np.ones(4, np.float32), "model.m1.input_scale")
    weight = onnx.numpy_helper.from_array(np.ones((4, 4), np.float32), "model.weight")
    nodes = [node("Flatten", ["x"], "flat"), node("Sub", ["flat", "model.m1.input_shift"], "sub"),
             node("Div", ["sub", "model.m1.input_scale"], "div"), node("MatMul", ["div", "model.weight"], "hidden"),
             node("Reshape", ["hidden", "shape"], "image"), node("Mul", ["image", "model.m1.input_scale"], "mul"),
             node("Add", ["mul", "model.m1.input_shift"], "add"), node("Reshape", ["add", "shape"], "x_mean"),
             node("Relu", ["hidden"], "other")]
    graph = onnx.helper.make_graph(nodes, "g", [], [], [shift, scale, weight])
    assert precisions.standardisation_nodes(graph) == ["flat", "sub", "div", "image", "mul", "add", "x_mean"]


def test_a_copy_that_overflows_is_refused_and_the_card_names_the_export_options(tmp_path, far_from_zero_run):
    """An encoder whose z means pass 65,504 gives inf in float16: the export is refused, where only the
    classifier's accuracy would have shown it. The card's export line names the options of an export made in
    Python too (it said `ssvae export RUN_DIR --out DIR` whatever they were)."""
    run, _ = far_from_zero_run
    loud = copy.deepcopy(run)
    with torch.no_grad():
        [layer for layer in loud.model.encoder.modules() if isinstance(layer, torch.nn.Linear)][-1].weight.mul_(1e6)
    with pytest.raises(onnx_export.ExportError, match=r"^the float16 encoder graph gives inf or NaN in z_mean where "
                                                      r"float32 does not \(its activations pass float16's largest "
                                                      r"number, 65,504\): export without --fp16$"):
        ssvae.export(loud, tmp_path / "model", fp16=True)
    assert not (tmp_path / "model").exists()
    ssvae.export(run.run_dir, tmp_path / "model", quantize=True, opset=19)
    card = (tmp_path / "model" / "model_card.md").read_text()
    assert f"- Exported with: `ssvae export {run.run_dir} --out {tmp_path / 'model'} --quantize int8 --opset 19`" \
        in card
    assert "float16" not in card


def holds_float16_weights(model_dir: str | Path, role: str) -> bool:
    """Whether the float16 copy of graph ``role`` holds float16 weights: a copy of the float32 graph under that
    name would agree with float32 in every test."""
    graph = onnx.load(str(Path(model_dir) / runtime.graph_file(role, "float16"))).graph
    return onnx.TensorProto.FLOAT16 in {weight.data_type for weight in graph.initializer}


def test_float16_copy_agrees_with_float(digits_run, digits_model):
    half = runtime.load(digits_model.model_dir, precision="float16")
    x = digits_run.partition().test.x
    assert holds_float16_weights(digits_model.model_dir, "classifier")
    assert not np.array_equal(half.classify(x), digits_model.classify(x))  # rounded: close, not the same
    assert (half.classify(x).argmax(-1) == digits_model.classify(x).argmax(-1)).mean() >= 0.99
    np.testing.assert_allclose(half.classify(x[:5]), digits_model.classify(x[:5]), atol=1e-2)


def test_device_choice_names_the_providers():
    import onnxruntime as ort

    assert runtime.providers_for("cpu") == ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in ort.get_available_providers():
        assert runtime.providers_for("auto")[0] == "CUDAExecutionProvider"
    else:
        assert runtime.providers_for("auto") == ["CPUExecutionProvider"]
        with pytest.raises(ModelError, match="install onnxruntime-gpu"):
            runtime.providers_for("cuda")
    with pytest.raises(ModelError, match="is not one of auto, cpu, cuda"):
        runtime.providers_for("tpu")


def test_a_cuda_provider_that_does_not_start_is_an_error_not_a_silent_cpu_run(digits_model, monkeypatch):
    """onnxruntime-gpu without its CUDA libraries lists the CUDA provider, but its sessions fall back to the CPU
    (with a warning of its own): device cuda must say so, where auto goes on with the CPU."""
    session = runtime.ort.InferenceSession

    def without_cuda(path, sess_options=None, providers=()):
        return session(path, sess_options=sess_options, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(runtime.ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(runtime.ort, "InferenceSession", without_cuda)
    with pytest.raises(ModelError, match="device cuda was asked for but onnxruntime's CUDA provider did not start"):
        runtime.load(digits_model.model_dir, device="cuda")
    fallen_back = runtime.load(digits_model.model_dir, device="auto")
    assert fallen_back.describe()["graphs"]["classifier"]["providers"] == ["CPUExecutionProvider"]


def test_model_json_repeats_the_metadata_for_javascript_apps(digits_model):
    sidecar = json.loads((digits_model.model_dir / "model.json").read_text())
    assert {k: v for k, v in sidecar.items() if k not in ("graphs", "docs", "score_noise")} == {
        k: v for k, v in digits_model.info.items() if k != "role"}
    assert sidecar["graphs"]["classifier"] == {"float32": "classifier.onnx", "int8": "classifier.int8.onnx",
                                               "float16": "classifier.float16.onnx"}
    assert sidecar["docs"] == {role: onnx.load(digits_model.model_dir / f"{role}.onnx").doc_string
                               for role in ("classifier", "encoder", "decoder")}  # what Netron shows of each
    assert "A row of y that is all zeros means the predicted class" in sidecar["docs"]["encoder"]


def test_an_export_keeps_its_test_examples_scores_to_set_a_score_against(digits_run, digits_model, tmp_path):
    """An app had nothing to set an anomaly score against: the export now keeps the quantiles of its test
    examples' scores (seed 0, one sample) and of their entropies in every graph's metadata, model.json and the
    model card, and `ssvae score` counts the inputs above each 99th percentile, and above either (the score's
    only when it scores as they were scored; an export from before the entropies gets the score's alone)."""
    from click.testing import CliRunner

    from ssvae.cli import main

    x = digits_run.partition().labelled_test.x
    scores = digits_model.score(x).astype(np.float64)
    p = digits_model.classify(x).astype(np.float64)
    entropies = -(p * np.log(np.maximum(p, 1e-30))).sum(1)
    quantiles = (("0.5", 0.5), ("0.9", 0.9), ("0.95", 0.95), ("0.99", 0.99))
    expected = {"n": 450, "seed": 0, "samples": None, "max": round(float(scores.max()), 4),
                "quantiles": {key: round(float(np.quantile(scores, q)), 4) for key, q in quantiles}}
    assert {k: v for k, v in digits_model.test_scores.items() if k != "entropy"} == expected
    got = digits_model.test_scores["entropy"]
    assert got.keys() == {"quantiles", "max"} and got["max"] == pytest.approx(entropies.max(), abs=2e-4)
    assert got["quantiles"] == pytest.approx({key: np.quantile(entropies, q) for key, q in quantiles}, abs=2e-4)
    expected["entropy"] = got
    assert json.loads((digits_model.model_dir / "model.json").read_text())["test_scores"] == expected
    assert runtime.load(digits_model.model_dir, precision="int8").test_scores == expected  # float32's, for all
    card = (digits_model.model_dir / "model_card.md").read_text()
    q, h = expected["quantiles"], got["quantiles"]
    assert (f"- Anomaly scores (`ssvae score`, seed 0, one sample) of the 450 test examples: median {q['0.5']:.2f}, "
            f"90th percentile {q['0.9']:.2f}, 95th {q['0.95']:.2f}, 99th {q['0.99']:.2f}, highest "
            f"{expected['max']:.2f} nats") in card
    assert (f" Their classifier's entropies (`ssvae score`'s and `predict`'s `entropy`): median {h['0.5']:.3f}, "
            f"99th percentile {h['0.99']:.3f}, highest {got['max']:.3f} nats; ") in card
    above, unsure = scores > q["0.99"], entropies > h["0.99"]
    assert 1 <= above.sum() <= 5 and 1 <= unsure.sum() <= 5  # the top 1 % of 450, less ties and float32 rounding
    said = CliRunner().invoke(main, ["score", str(digits_model.model_dir), "--dataset", "digits", "--out", "-"])
    assert said.exit_code == 0 and said.output.splitlines()[-1].endswith(
        f"; {above.sum()} above the 99th percentile of the model's test examples' scores ({q['0.99']:.2f}); "
        f"{unsure.sum()} above the 99th percentile of their entropies ({h['0.99']:.2f}); {(above | unsure).sum()} "
        f"above either"), \
        said.output
    flagged = inference.score(  # in Python: which inputs lie above, in input order
        digits_model, x, tmp_path / "s.csv", progress=False)
    np.testing.assert_array_equal(flagged.above_score, above)
    np.testing.assert_array_equal(flagged.above_entropy, unsure)
    other = inference.score(digits_model, x, tmp_path / "s.csv", seed=1, progress=False, replace=True)
    assert other.above_score is None and (other.above_entropy == unsure).all()
    int8 = runtime.load(digits_model.model_dir, precision="int8")
    int8_scores, int8_entropies = int8.score(x), int8.entropy(x)
    said = CliRunner().invoke(main, ["score", str(digits_model.model_dir), "--dataset", "digits", "--out", "-",
                                     "--precision", "int8"])  # counted against the float32 graphs' percentiles
    assert said.exit_code == 0 and said.output.splitlines()[-1].endswith(
        f"; {(int8_scores > q['0.99']).sum()} above the 99th percentile of the model's test examples' float32 scores "
        f"({q['0.99']:.2f}); {(int8_entropies > h['0.99']).sum()} above the 99th percentile of their float32 "
        f"entropies ({h['0.99']:.2f}); {((int8_scores > q['0.99']) | (int8_entropies > h['0.99'])).sum()} above "
        f"either"), said.output
    for other in (["--seed", "1"], ["--samples", "2"]):  # scored otherwise: no count of scores, and a word why
        said = CliRunner().invoke(main, ["score", str(digits_model.model_dir), "--dataset", "digits", "--out", "-",
                                         *other])
        assert said.exit_code == 0 and said.output.splitlines()[-1].endswith(
            f"; no count above the model's test examples' 99th percentile of scores ({q['0.99']:.2f}): those were "
            f"scored by the ELBO (no --samples) with seed 0, as a threshold needs; {unsure.sum()} above the 99th "
            f"percentile of their entropies ({h['0.99']:.2f})"), said.output
    older = tmp_path / "older"
    shutil.copytree(digits_model.model_dir, older)
    _set_test_scores(older, {**expected, "entropy": None})
    with pytest.raises(ModelError, match="test_scores is not null or scores in short"):
        runtime.load(older)
    _set_test_scores(older, {k: v for k, v in expected.items() if k != "entropy"})  # as an export before wrote it
    assert inference.score(older, x, tmp_path / "s.csv", progress=False, replace=True).above_entropy is None
    said = CliRunner().invoke(main, ["score", str(older), "--dataset", "digits", "--out", "-"])
    assert said.exit_code == 0 and said.output.splitlines()[-1].endswith(
        f"; {above.sum()} above the 99th percentile of the model's test examples' scores ({q['0.99']:.2f})"), \
        said.output
    _set_test_scores(older, {**expected, "n": 25})  # as few as a folder of 100 labelled images holds out
    said = CliRunner().invoke(main, ["score", str(older), "--dataset", "digits", "--out", "-"])
    assert said.exit_code == 0 and said.output.splitlines()[-1].endswith(
        f"{(above | unsure).sum()} above either (the test examples: 25 are few for a 99th percentile: an example "
        f"like them lies above it about 1 time in 21, not 1 in 100)"), said.output
    run = ssvae.train(model="supervised", epochs=1, classifier_hidden=(8,), progress=False)
    ssvae.export(run, tmp_path / "classifier")  # scores nothing: no such key
    assert "test_scores" not in json.loads((tmp_path / "classifier" / "model.json").read_text())
    assert runtime.load(tmp_path / "classifier").test_scores is None
    assert runtime.load(tmp_path / "classifier").test_confidence["n"] == 450  # but it classifies


def test_an_export_keeps_its_test_examples_predictions_by_confidence(digits_run, digits_model, tmp_path):
    """How many test predictions are at least 0.999, 0.99 and 0.9 confident and how many of those are right,
    worked out here in float64 from the run's probabilities: in model.json, every graph's metadata, the card,
    `ssvae info`, and as what `ssvae predict` sets its own counts against."""
    from click.testing import CliRunner

    from ssvae.cli import main

    test = digits_run.partition().labelled_test
    p = digits_run.classify(test.x).astype(np.float64)
    confidence, right = p.max(1), p.argmax(1) == test.y
    levels = [{"confidence": level, "n": int((confidence >= level).sum()),
               "accuracy": round(float(right[confidence >= level].mean()), 4) if (confidence >= level).any() else None}
              for level in (0.999, 0.99, 0.9)]
    assert levels[0]["n"] == 0 < levels[1]["n"] < levels[2]["n"] < 450  # a short training: none 0.999 confident
    expected = {"n": 450, "levels": levels}
    assert digits_model.test_confidence == expected
    assert json.loads((digits_model.model_dir / "model.json").read_text())["test_confidence"] == expected
    assert runtime.load(digits_model.model_dir, precision="int8").test_confidence == expected  # float32's, for all
    assert [{**row, "accuracy": row["accuracy"] and round(row["accuracy"], 4)}
            for row in ssvae.evaluate(digits_run)["by_confidence"]] == levels
    reached = [confidence >= level for level in (0.99, 0.9)]  # fewer than 100 test examples: how many right
    shares = [f"{int(right[kept].sum())} of {int(kept.sum())} right" if kept.sum() < 100 else
              f"{100 * row['accuracy']:.2f} %" for kept, row in zip(reached, levels[1:])]
    words = f"0 at least 0.999 (none as confident), {levels[1]['n']} at least 0.99 ({shares[0]}), " \
            f"{levels[2]['n']} at least 0.9 ({shares[1]})"
    card = (digits_model.model_dir / "model_card.md").read_text()
    assert (f"\n- Predictions of the 450 test examples by confidence (`test_confidence` in model.json), what a "
            f"threshold on `ssvae predict`'s confidence keeps, with the share of them right: {words}.\n") in card
    info = CliRunner().invoke(main, ["info", str(digits_model.model_dir)]).output
    assert f"\n  test_confidence  450 test examples by confidence, with the share of them right: {words}\n" in info
    predicted = CliRunner().invoke(main, ["predict", str(digits_model.model_dir), "--dataset", "digits", "--out",
                                          str(tmp_path / "p.csv"), "--quiet"])
    assert predicted.output == (f"saved {tmp_path / 'p.csv'}: 450 predictions; by confidence, with the share of the "
                                f"model's test examples as confident that were right: {words}\n")
    bare = tmp_path / "bare"  # another model's figures: a level no test example reached, one none was right at
    shutil.copytree(digits_model.model_dir, bare)
    _set_test_scores(bare, {"n": 3, "levels": [{"confidence": 0.999, "n": 0, "accuracy": None},
                                               {"confidence": 0.99, "n": 1, "accuracy": 0.0},
                                               {"confidence": 0.9, "n": 2, "accuracy": 0.5}]}, "test_confidence")
    x = test.x[:2]
    model = runtime.load(bare)
    made = inference.predict(model, x, tmp_path / "q.csv", progress=False)
    n = [int((digits_model.classify(x).max(1) >= level).sum()) for level in (0.999, 0.99, 0.9)]
    assert made == inference.Predictions(2, {0.999: n[0], 0.99: n[1], 0.9: n[2]})
    assert confident_text(made.confident, model.test_confidence) == (
        f"by confidence, with the share of the model's test examples as confident that were right: {n[0]} at least "
        f"0.999 (none as confident), {n[1]} at least 0.99 (0 of 1 right), {n[2]} at least 0.9 (1 of 2 right)")
    assert confident_text(made.confident, None) == (
        f"by confidence: {n[0]} at least 0.999, {n[1]} at least 0.99, {n[2]} at least 0.9")
    _set_test_scores(bare, {"n": 3, "levels": [{"confidence": 0.9, "n": 2, "accuracy": 1.5}]}, "test_confidence")
    with pytest.raises(ModelError, match="its metadata's test_confidence is not null or predictions by confidence"):
        runtime.load(bare)


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
@pytest.mark.filterwarnings("ignore:.* holds the examples this:UserWarning")  # tested on its training folder
@pytest.mark.filterwarnings("ignore:--test-data .* holds 2 labelled:UserWarning")  # one image a class, as meant
def test_image_size_reads_every_image_resized_and_so_do_the_models_readers(tmp_path):
    """--image-size 8,6 (width, height): images of three sizes all train, where most-common-size reading
    skipped two thirds; the model takes (1, 6, 8), and its run's and its export's readers (evaluate --data,
    predict) resize image files as training did; the card says so, and the run's command repeats it."""
    from PIL import Image

    rng = np.random.default_rng(0)
    data = tmp_path / "images"
    for folder in ("cat", "dog", "unlabelled"):
        (data / folder).mkdir(parents=True)
        for k, shape in enumerate([(5, 7), (6, 8), (12, 16)] * 2):  # (height, width)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(data / folder / f"{k}.png")
    run = ssvae.train(data=str(data), image_size=(8, 6), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    part = run.partition()
    assert run.config.input_shape == (1, 6, 8) and len(part.labelled) + len(part.test) + len(part.unlabelled) == 18
    assert "--image-size 8,6" in train_command(run.config)
    ssvae.export(run, tmp_path / "model")
    model = runtime.load(tmp_path / "model")
    assert model.info["resize_images"] is True and "resized to 8x6" in model.info["preprocessing"]
    files = sorted((data / "unlabelled").iterdir())
    resized = np.stack([np.asarray(Image.open(f).convert("L").resize((8, 6), Image.Resampling.BILINEAR))
                        for f in files])
    assert inference.predict(model, data / "unlabelled", tmp_path / "p.csv", progress=False).rows == 6
    rows = [line.split(",") for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert [r[0] for r in rows] == [f.name for f in files]
    np.testing.assert_allclose([[float(v) for v in r[4:]] for r in rows], model.classify(resized), atol=1e-5)
    assert ssvae.evaluate(tmp_path / "model", data=data)["n_test"] == 12  # every labelled image, resized
    assert ssvae.evaluate(run, data=str(data))["n_test"] == 12
    scores = inference.score(model, data / "unlabelled", tmp_path / "s.csv", progress=False)
    np.testing.assert_allclose(scores.score, model.score(resized, seed=0), rtol=1e-6)
    assert inference.generate(model, tmp_path / "a.csv", analogies=data / "unlabelled", rows=2).examples == 4
    tests = tmp_path / "tests"  # --test-data of yet other sizes, read as the model reads its inputs
    for folder, shape in (("cat", (4, 4)), ("dog", (10, 12))):
        (tests / folder).mkdir(parents=True)
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(tests / folder / "0.png")
    square = ssvae.train(data=str(data), test_data=str(tests), image_size=8, labels=None, epochs=1, hidden=(8,),
                         classifier_hidden=(8,), latent_dim=2, progress=False)  # N, as --image-size N
    assert square.config.image_size == (8, 8) and square.config.input_shape == (1, 8, 8)
    assert ssvae.evaluate(square)["n_test"] == 2
    with pytest.raises(DataError, match=r"^--image-size \(image_size= in Python\) reads a folder of images, and "
                                        r"digits is not one: leave it out$"):
        ssvae.train(image_size=(8, 8), epochs=1, progress=False)


def test_an_export_that_differs_from_torch_fails_and_writes_nothing(tmp_path, tiny_config, monkeypatch):
    import ssvae.onnx_export
    from ssvae.errors import ExportError

    run = ssvae.train(tiny_config, progress=False)
    monkeypatch.setattr(ssvae.onnx_export, "TOLERANCE", -1.0)  # now any difference at all is too much
    with pytest.raises(ExportError, match=r"classifier.onnx output probabilities differs from torch by .* at batch 1"):
        ssvae.export(run, tmp_path / "model")
    assert not (tmp_path / "model").exists() and list(tmp_path.iterdir()) == []


def test_model_card_command_repeats_the_settings_off_the_preset():
    """The card's `ssvae train` line names what differs from the data set's preset, and only that."""
    assert train_command(config_for("digits", labels=50, seed=2)) == (
        "ssvae train --dataset digits --labels 50 --model m2 --seed 2")
    assert train_command(config_for("digits", model="supervised")) == (
        "ssvae train --dataset digits --labels 100 --model supervised --seed 0")
    # fixmatch's preset alone is no whole model (it has no consistency): the line still names what is set
    assert train_command(config_for("digits", model="fixmatch", consistency=1.0, augment="shift")) == (
        "ssvae train --dataset digits --labels 100 --model fixmatch --augment shift --consistency 1.0 --seed 0")
    assert train_command(config_for("fashion-mnist", vat=1.0, vat_epsilon=2.0, hidden=(300, 200))) == (
        "ssvae train --dataset fashion-mnist --labels 100 --model m2 --hidden 300,200 --vat 1.0 --vat-epsilon 2.0 "
        "--seed 0")
    assert train_command(config_for("digits", precision="bfloat16", compile=True)) == (
        "ssvae train --dataset digits --labels 100 --model m2 --seed 0 --precision bfloat16 --compile")
    assert train_command(config_for("mnist", data_dir="/data dir")) == (
        "ssvae train --dataset mnist --data-dir '/data dir' --labels 100 --model m2 --seed 0")
    # a run from before a fixed threshold beside the adaptive one was refused: the command would refuse it too
    older = config_for("fashion-mnist").replace(consistency_threshold=0.9)
    assert older.adaptive_threshold and "--consistency-threshold" not in train_command(older)
    # own data keep every label by default; an old Python run's data_dir beside data would be refused
    assert train_command(Config(data="x.npz", data_dir="/d", labels=None)) == (
        "ssvae train --data x.npz --labels all --model m2 --seed 0")


@pytest.mark.filterwarnings("ignore:.*does nothing for this:UserWarning")  # every option, read or not
def test_model_card_command_makes_the_same_config_again():
    """Parsed by `ssvae train` itself, the card's line gives back the config: every option of the command is on
    it when changed, under its real name, and paths with spaces are quoted."""
    from ssvae.cli import TRAINING_OPTIONS, config_from_options, train

    fields = {field.name for field in dataclasses.fields(Config)}
    assert {field for field, *_ in TRAINING_OPTIONS} == fields - set(FIELDS_WITHOUT_OPTION)
    for threshold in ({"consistency_threshold": 0.9}, {"adaptive_threshold": True}):  # the one replaces the other
        config = config_for(
            data="/data/my images/x.npz", labels=None, val_labels=5, test_fraction=0.3,
            likelihood="gaussian", latent_dim=7, hidden=(30, 20), classifier="conv", classifier_hidden=(40,),
            classifier_channels=(4, 8), epochs=3, m1_epochs=2, batch_size=50, labelled_batch_size=20, lr=0.002,
            lr_schedule="one-cycle", weight_decay=0.03, alpha=0.5, labelled_bound="share", vat=2.0, vat_epsilon=0.3,
            augment="shift",
            consistency=1.5, ema=0.99, kl_warmup_epochs=2, seed=7, device="cuda:1", precision="bfloat16",
            compile=True, checkpoint_every=2, threads=3, **threshold)
        words = shlex.split(train_command(config))
        assert words[:4] == ["ssvae", "train", "--data", "/data/my images/x.npz"]
        options = train.make_context("train", words[2:]).params
        again = config_from_options({k: v for k, v in options.items() if k not in ("out", "force", "resume", "quiet")})
        assert again == config


def test_graphs_of_two_trainings_alike_in_all_else_do_not_mix(digits_run, digits_model, tmp_path):
    """The weights' digest tells apart graphs whose other metadata (settings, data, even accuracy) agree: all
    but the test examples' scores, which a decoder of other weights changes too."""
    other = dataclasses.replace(digits_run, model=copy.deepcopy(digits_run.model))
    with torch.no_grad():
        next(other.model.decoder.parameters()).view(-1)[0] += 1.0  # another training, in one weight
    ssvae.export(other, tmp_path / "other")
    same, changed = (onnx_export.weights_digest(run.model) for run in (digits_run, other))
    assert digits_model.info["weights"] == same != changed == runtime.load(tmp_path / "other").info["weights"]
    assert re.fullmatch(r"[0-9a-f]{16}", same)
    shutil.copytree(digits_model.model_dir, tmp_path / "mixed")
    shutil.copy(tmp_path / "other" / "decoder.onnx", tmp_path / "mixed" / "decoder.onnx")
    with pytest.raises(ModelError, match=r"mixed/decoder.onnx: not from the export classifier.onnx is from \(they "
                                         r"differ in test_scores, weights\)"):
        runtime.load(tmp_path / "mixed")


def test_model_inputs_are_the_test_split_the_models_training_held_out(tmp_path):
    """`ssvae.inference.model_inputs` takes the test fraction and split seed from the export's metadata: a run
    that held out 40 % gets those 719 digits back, in the run's order, as its test set holds them."""
    from ssvae.inference import model_inputs

    run = ssvae.train(epochs=1, hidden=(16,), classifier_hidden=(16,), test_fraction=0.4, progress=False)
    ssvae.export(run, tmp_path / "model")
    inputs = model_inputs(runtime.load(tmp_path / "model", device="cpu"), dataset="digits")
    test = run.partition().labelled_test
    assert [int(i) for i in inputs.ids] == list(run.split.test) and len(inputs) == len(test) == 719
    np.testing.assert_array_equal(np.asarray(inputs.x).reshape(test.x.shape), test.x)


def test_inference_takes_an_array_or_a_path_as_well_as_model_inputs(digits_model, tmp_path):
    """`ssvae.inference.predict`, `score` and `generate` (analogies) given an array write what they write for the
    same rows saved as an .npz (ids: the row numbers), and predict the runtime's own probabilities."""
    from ssvae.inference import generate, model_inputs, predict, score

    x = np.asarray(model_inputs(digits_model, dataset="digits").x[:30])
    np.savez(tmp_path / "x.npz", x=x)
    for given, name in ((x, "array"), (str(tmp_path / "x.npz"), "path")):
        predict(digits_model, given, tmp_path / f"{name}.csv", progress=False)
        score(digits_model, given, tmp_path / f"{name}-scores.csv", progress=False)
        generate(digits_model, tmp_path / f"{name}.png", analogies=given, rows=3)
    for suffix in (".csv", "-scores.csv", ".png"):
        assert (tmp_path / f"array{suffix}").read_bytes() == (tmp_path / f"path{suffix}").read_bytes()
    rows = (tmp_path / "array.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == [str(i) for i in range(30)]
    written = np.array([[float(v) for v in row.split(",")[4:]] for row in rows])
    np.testing.assert_allclose(written, digits_model.classify(x), rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("write", ["predict", "score"])
def test_inference_refuses_to_write_over_its_own_input_file(digits_model, tmp_path, write):
    """Given the input file as ``out`` with ``replace``, as a path or as the inputs read from it, the Python
    API refuses as the command line does: the inputs are kept byte for byte."""
    from ssvae import inference
    from ssvae.inference import model_inputs

    path = tmp_path / "x.npy"
    np.save(path, np.asarray(model_inputs(digits_model, dataset="digits").x[:5]))
    before = path.read_bytes()
    for given in (path, model_inputs(digits_model, data=path)):
        with pytest.raises(RunError, match=f"^{re.escape(str(path))} is the input file itself: write the output "
                                           f"elsewhere"):
            getattr(inference, write)(digits_model, given, path, progress=False, replace=True)
        assert path.read_bytes() == before


@pytest.mark.parametrize("write", ["predict", "score", "generate"])
def test_inference_refuses_to_write_over_an_image_of_its_input_folder_before_reading_it(digits_model, tmp_path,
                                                                                         monkeypatch, write):
    """An image of the folder, a link in it to an image elsewhere (an input), or a link outside it to one of
    its images (a write goes through a link): refused before the folder is read."""
    from PIL import Image

    from ssvae import inference

    folder, store = tmp_path / "in", tmp_path / "store"
    folder.mkdir(), store.mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(folder / "0.png")
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(store / "1.png")
    (folder / "1.png").symlink_to(store / "1.png")
    (tmp_path / "outside.png").symlink_to(folder / "0.png")
    before = {path: path.read_bytes() for path in (folder / "0.png", store / "1.png")}
    with monkeypatch.context() as patched:
        patched.setattr(inference, "model_inputs", lambda *args, **kwargs: pytest.fail("the inputs were read"))
        for out in (folder / "0.png", folder / "1.png", tmp_path / "outside.png"):
            with pytest.raises(RunError, match=f"^{re.escape(str(out))} is one of the input images in "
                                               f"{re.escape(str(folder))}: write the output elsewhere"):
                if write == "generate":
                    inference.generate(digits_model, out, analogies=folder, replace=True)
                else:
                    getattr(inference, write)(digits_model, folder, out, replace=True, progress=False)
    assert {path: path.read_bytes() for path in before} == before


def test_the_export_counts_validation_labels_among_the_labels_seen(tiny_config, tmp_path):
    """60 labels of which 20 pick the epoch: the model has seen 60, and its graphs, model.json and card say so."""
    run = ssvae.train(tiny_config, progress=False, labels=60, val_labels=20)
    assert len(run.split.labelled) == 40
    ssvae.export(run, tmp_path / "model")
    assert runtime.load(tmp_path / "model").info["labels_seen"] == 60
    assert json.loads((tmp_path / "model" / "model.json").read_text())["labels_seen"] == 60
    assert "Labels used in training: 60 (20 of them for validation)" in (tmp_path / "model" / "model_card.md").read_text()


def test_the_analogy_grid_shows_each_input_first_then_every_class_in_order(tmp_path, monkeypatch):
    from ssvae import inference

    x = np.full((2, 1, 2, 2), 0.5, np.float32)
    model = types.SimpleNamespace(input_shape=(1, 2, 2), n_classes=3, class_names=("0", "1", "2"), info={},
                                  conditional=True, input_range=(0.0, 1.0), require_analogies=lambda: None,
                                  prepare=lambda a: np.asarray(a, np.float32),
                                  analogies=lambda a: np.stack([np.full((len(a), 1, 2, 2), k / 4, np.float32)
                                                                for k in range(3)], 1))
    drawn = []
    monkeypatch.setattr(inference, "grid_png", lambda *grid: drawn.append(grid) or b"")
    inference.generate(model, tmp_path / "g.png", analogies=inference.Inputs(["a", "b"], x), rows=2)
    ((images, _, rows, columns),) = drawn
    assert rows == () and columns == ("input", "0", "1", "2")  # the columns named, upwards above them
    assert images.shape == (2, 4, 1, 2, 2)
    np.testing.assert_array_equal(images[:, 0], x)
    np.testing.assert_array_equal(images[0, 1:, 0, 0, 0], [0.0, 0.25, 0.5])


def test_a_sample_grid_is_the_generate_of_each_class_in_turn_and_stretches_real_values_to_show_them(tmp_path,
                                                                                                     monkeypatch):
    """Row k of the grid is ``model.generate(k, per_class, seed, temperature)``, as given; a model of real-valued
    images (no input range) has its grid stretched from its lowest value to its highest."""
    from ssvae import inference

    calls = []

    def generate(y, n, seed, temperature, noise):
        calls.append((y, n, seed, temperature, noise))
        return (y - 1.0) * np.ones((n, 1, 2, 2))  # class k's value: k - 1

    model = types.SimpleNamespace(input_shape=(1, 2, 2), n_classes=3, class_names=("0", "1", "2"), conditional=True,
                                  info={}, input_range=None, require_generative=lambda what: None, generate=generate,
                                  class_index=int)
    drawn = []
    monkeypatch.setattr(inference, "grid_png", lambda *grid: drawn.append(grid) or b"")
    assert inference.generate(model, tmp_path / "g.png", per_class=2, seed=5, temperature=0.5).classes == \
        ("0", "1", "2")
    ((images, _, rows, columns),) = drawn
    assert rows == ("0", "1", "2") and columns == ()  # each row named by its class
    assert calls == [(0, 2, 5, 0.5, False), (1, 2, 5, 0.5, False), (2, 2, 5, 0.5, False)]
    assert images.shape == (3, 2, 1, 2, 2)
    np.testing.assert_allclose(images[:, :, 0, 0, 0], [[0.0, 0.0], [0.5, 0.5], [1.0, 1.0]])  # -1, 0, 1 stretched


def test_a_sample_grids_columns_share_their_latent_draws_and_a_class_drawn_alone_keeps_its_row(digits_model):
    """Column j of every row decodes the same z_j ~ N(0, I) (the seed's first draws), so a column shows one style
    in every class; the rows of classes asked for alone, in any order, are those of the whole grid."""
    from ssvae.inference import sample_grid

    grid = sample_grid(digits_model, 3, seed=7)
    assert grid.shape == (10, 3, 1, 8, 8)
    z = np.random.default_rng(7).standard_normal((3, digits_model.latent_dim)).astype(np.float32)
    for k in range(10):
        np.testing.assert_array_equal(grid[k], digits_model.generate(k, 3, seed=7))
        np.testing.assert_allclose(grid[k], digits_model.decode(z, np.full(3, k)), rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(sample_grid(digits_model, 3, seed=7, classes=[7, "2"]), grid[[7, 2]])
    cooler = sample_grid(digits_model, 3, seed=7, classes=[5], temperature=0.5)  # z ~ N(0, 0.25 I): the same draws
    np.testing.assert_allclose(cooler[0], digits_model.decode(0.5 * z, np.full(3, 5)), rtol=1e-6, atol=1e-7)
    for temperature in (-1.0, math.inf, math.nan, True, "0.5"):
        with pytest.raises(ModelError, match=r"^temperature must be a number above 0, such as 0.7 or 1 \(the "
                                             r"default\), got "):
            digits_model.generate(5, 2, temperature=temperature)
    with warnings.catch_warnings(), pytest.raises(ModelError, match=r"^temperature 1e\+300 draws latent codes beyond "
                                                                    r"float32's range: use a temperature such as 0.7 "
                                                                    r"or 1 \(the default\)$"):
        warnings.simplefilter("error")  # numpy's overflow warning was raised in its place
        digits_model.generate(5, 2, temperature=1e300)
    with pytest.raises(ModelError, match="names no class"):
        sample_grid(digits_model, 3, classes=[])
    assert not np.array_equal(sample_grid(digits_model, 3, seed=8), grid)


def test_generate_draws_the_classes_named_alone_in_the_order_given(digits_model, tmp_path):
    """``classes`` (names or indices; --class NAME on the command line): their rows of samples, or their columns
    of analogies, in the order given, the same examples as in the whole grid; CSV labels name them."""
    from PIL import ImageFont

    from ssvae import inference

    done = inference.generate(digits_model, tmp_path / "s.csv", per_class=2, seed=4, classes=["7", 2])
    assert done == inference.Generated(str(tmp_path / "s.csv"), 4, classes=("7", "2"))
    rows = [line.split(",") for line in (tmp_path / "s.csv").read_text().splitlines()[1:]]
    assert [row[:2] for row in rows] == [["0", "7"], ["1", "7"], ["2", "2"], ["3", "2"]]
    np.testing.assert_array_equal(np.array([row[2:] for row in rows], np.float32),
                                  inference.sample_grid(digits_model, 2, seed=4)[[7, 2]].reshape(4, 64))
    width, height = inference.generate(digits_model, tmp_path / "s.png", per_class=2, classes="3").pixels
    # one row of two cells at scale 4, and its class's name: as wide as "3", and 4 pixels either side
    assert (width, height) == (2 * 32 + 3 * 4 + ImageFont.load_default().getbbox("3")[2] + 8, 32 + 2 * 4)

    x = np.asarray(inference.model_inputs(digits_model, dataset="digits").x[:2])
    done = inference.generate(digits_model, tmp_path / "a.csv", analogies=x, classes=["9", "0"])
    assert done.examples == 4 and done.classes == ("9", "0")
    rows = [line.split(",") for line in (tmp_path / "a.csv").read_text().splitlines()[1:]]
    assert [row[:2] for row in rows] == [["0 as 9", "9"], ["0 as 0", "0"], ["1 as 9", "9"], ["1 as 0", "0"]]
    np.testing.assert_array_equal(np.array([row[2:] for row in rows], np.float32),
                                  digits_model.analogies(x)[:, [9, 0]].reshape(4, 64))


def test_a_class_named_in_another_case_is_refused_with_the_name_it_meant(tmp_path):
    """`--class "ankle boot"` was refused with every name listed; the name that differs in case alone is said."""
    from ssvae import inference

    model = runtime.load(ROOT / "models" / "fashion-mnist-m2")
    names = ", ".join(model.class_names)
    with pytest.raises(ModelError, match=re.escape(f"class 'ankle boot' is not one of {names} (did you mean 'Ankle "
                                                   f"boot'? names are matched case by case): give --class")):
        inference.generate(model, tmp_path / "s.png", classes=["ankle boot"])
    with pytest.raises(ModelError, match=re.escape(f"class 'boot' is not one of {names}") + "$"):
        model.class_index("boot")
    assert model.class_index("Ankle boot") == 9


@pytest.mark.parametrize("classes, message", [
    (["7", "ten"], r"^class 'ten' is not one of 0, 1, 2, 3, 4, 5, 6, 7, 8, 9: give --class \(classes= in Python\) "
                   "the classes as ssvae info lists them$"),
    (3.5, "^class 3.5 is not a whole number"),
    ({3, 4}, r"^class \{3, 4\} is neither an index"),
    ([3, "3"], r"class '3' is named twice in --class \(classes= in Python\): name each class once$"),
    ([], r"--class \(classes= in Python\) names no class: name one, or leave it out for every class$"),
    ([10], "class 10 is outside 0..9: ")])
def test_generate_refuses_classes_it_cannot_draw_before_writing(digits_model, tmp_path, classes, message):
    from ssvae import inference

    (tmp_path / "s.csv").write_text("kept\n")
    with pytest.raises(ModelError, match=message):
        inference.generate(digits_model, tmp_path / "s.csv", classes=classes, replace=True)
    assert (tmp_path / "s.csv").read_text() == "kept\n"


def test_generate_writes_the_runtimes_samples_and_analogies_as_a_grid_or_rows(digits_model, tmp_path, monkeypatch):
    """`ssvae.inference.generate` is `ssvae generate` in Python: samples or analogies (inputs, or a built-in
    set's name), a PNG grid or CSV rows by the name of ``out`` (samples.png where none is named), each of the
    runtime's examples, with the examples and pixels counted."""
    from PIL import ImageFont

    from ssvae import inference
    from ssvae.grids import grid_png

    monkeypatch.chdir(tmp_path)
    x = np.asarray(inference.model_inputs(digits_model, dataset="digits").x[:5])
    # 32-pixel cells (scale 4) with 4 pixels between and around them: 3 * 32 + 4 * 4 wide, 10 * 32 + 11 * 4 high,
    # and the captions' margins: the widest class name, or a line of the columns' names, and 4 pixels either side
    digits = tuple(str(k) for k in range(10))
    font = ImageFont.load_default()
    digit, word = font.getbbox("0")[2] + 8, font.getbbox("Ag/|")[3] + 8  # "input" and the digits fit upright
    assert inference.generate(digits_model, per_class=3, seed=4) == inference.Generated("samples.png", 30,
                                                                                        (112 + digit, 364), digits)
    samples = inference.sample_grid(digits_model, 3, seed=4)
    assert Path("samples.png").read_bytes() == grid_png(samples, 4, digits)
    assert inference.generate(digits_model, "s.csv", per_class=3, seed=4) == inference.Generated("s.csv", 30,
                                                                                                 classes=digits)
    rows = np.loadtxt("s.csv", delimiter=",", skiprows=1, usecols=range(2, 66), dtype=np.float32)
    np.testing.assert_array_equal(rows, samples.reshape(30, 64))  # exactly
    assert [row.split(",")[:2] for row in Path("s.csv").read_text().splitlines()[1:]] == \
        [[str(i), str(i // 3)] for i in range(30)]  # ids count the rows, labels name the classes
    assert inference.generate(digits_model, "a.png", analogies=x, rows=3) == \
        inference.Generated("a.png", 30, (400, 112 + word), digits, given=5)  # 3 of the 5 inputs drawn
    drawn = digits_model.analogies(x[:3])
    assert Path("a.png").read_bytes() == grid_png(np.concatenate([x[:3, None], drawn], 1), 4, (), ("input", *digits))
    assert inference.generate(digits_model, "a.csv", dataset="digits", rows=2) == \
        inference.Generated("a.csv", 20, classes=digits, given=450)
    by_name = Path("a.csv").read_text().splitlines()
    np.testing.assert_array_equal(np.loadtxt("a.csv", delimiter=",", skiprows=1, usecols=range(2, 66),
                                             dtype=np.float32), drawn[:2].reshape(20, 64))
    test_ids = inference.model_inputs(digits_model, dataset="digits").ids[:2]
    assert [row.split(",")[:2] for row in by_name[1:]] == [[f"{i} as {k}", str(k)] for i in test_ids for k in range(10)]
    with pytest.raises(RunError, match=r"^a\.txt: the grid is a PNG image: give --out a name ending in \.png"):
        inference.generate(digits_model, "a.txt")
    for settings, message in (({"per_class": 0}, "per_class must be a whole number of at least 1, got 0"),
                              ({"rows": -1, "analogies": x}, "rows must be a whole number of at least 1, got -1"),
                              ({"rows": 2.0, "analogies": x}, "rows must be a whole number of at least 1, got 2.0 (a "
                                                              "float: pass an int)"),
                              ({"analogies": "digits"}, "analogies='digits' names no file or folder: for the "
                                                        "built-in data set, pass dataset='digits'"),
                              ({"scale": 0}, "scale must be a whole number of at least 1, got 0"),
                              ({"scale": -2}, "scale must be a whole number of at least 1, got -2"),
                              ({"scale": 1.5}, "scale must be a whole number of at least 1, got 1.5"),
                              ({"seed": 3, "analogies": x}, "--seed (seed= in Python) does nothing with --analogies"),
                              ({"temperature": 0}, "temperature must be a number above 0, such as 0.7 or 1 (the "
                                                   "default), got 0"),  # not taken for the default
                              ({"per_class": 8, "dataset": "digits"}, "--per-class (per_class= in Python) does "
                                                                      "nothing with --analogies"),
                              ({"rows": 8, "data_dir": "."}, "--rows (rows= in Python) and --data-dir (data_dir= in "
                                                             "Python) do nothing without --analogies")):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}"):  # ModelError, DataError: ValueErrors
            inference.generate(digits_model, "checked.png", **settings)
    assert not Path("checked.png").exists()
    with pytest.raises(DataError, match=r"^--scale \(scale= in Python\) sets a PNG grid's pixels, and t\.csv gets CSV "
                                        r"rows: leave it out, or give a \.png$"):  # it was ignored
        inference.generate(digits_model, "t.csv", scale=3)
    assert not Path("t.csv").exists()


def test_a_grid_too_large_to_open_is_refused_before_any_drawing(digits_model, tmp_path):
    from ssvae import inference

    with pytest.raises(RunError, match=r"the grid would be 360018x364 pixels, more than 80,000,000: lower"):
        inference.generate(digits_model, tmp_path / "big.png", per_class=10_000)  # 131 million pixels
    assert not (tmp_path / "big.png").exists()


def test_an_export_report_shows_itself_in_a_line():
    """Its dataclass repr ran to 2,000 characters in a notebook: every graph's interface, the test scores'
    quantiles; the line keeps the files and the measures, short, and the fields keep everything."""
    report = onnx_export.ExportReport(Path("models/d"), ["classifier.onnx", "model.json"],
                                      max_difference={"classifier": 2.384185791015625e-07},
                                      accuracy={"float32": 0.7044444444444444, "int8": None},
                                      agreement={"float32": 1.0, "int8": 0.9866666666666667},
                                      test_scores={"quantiles": {"0.5": 27.6}}, interfaces={"classifier": []})
    assert repr(report) == ("ExportReport(model_dir='models/d', files=['classifier.onnx', 'model.json'], "
                            "accuracy={'float32': 0.7044, 'int8': None}, agreement={'float32': 1.0, 'int8': 0.9867}, "
                            "max_difference={'classifier': 2.4e-07})")
    assert report.accuracy["float32"] == 0.7044444444444444 and report.test_scores == {"quantiles": {"0.5": 27.6}}


def test_the_model_card_shows_each_precisions_accuracy_and_agreement():
    from ssvae.model_card import model_card

    run = types.SimpleNamespace(config=Config(), model=types.SimpleNamespace(generative=False),
                                split=types.SimpleNamespace(labels_seen=100, validation=[]))
    report = onnx_export.ExportReport(Path("m"), max_difference={"classifier": 1e-6},
                                      accuracy={"float32": 0.9, "int8": 0.8}, agreement={"float32": 1.0, "int8": 0.95})
    card = model_card(run, report, "ssvae export RUN --out m")
    assert "| int8 | classifier.int8.onnx | 80.00 % | 95.00 % |" in card
    assert "| float32 | classifier.onnx | 90.00 % | 100.00 % |" in card


def test_the_model_card_names_data_below_the_export_folder_relatively_and_others_as_they_are(tmp_path, monkeypatch):
    from ssvae.model_card import model_card

    monkeypatch.chdir(tmp_path)
    report = onnx_export.ExportReport(Path("m"), max_difference={"classifier": 1e-6}, accuracy={"float32": 0.9},
                                      agreement={"float32": 1.0})
    for data, data_dir, shown in ((tmp_path / "data" / "mine.csv", None, "--data data/mine.csv"),
                                  (Path("/elsewhere/mine.csv"), None, "--data /elsewhere/mine.csv"),
                                  (None, tmp_path / "fashion", "--dataset fashion-mnist --data-dir fashion")):
        config = Config(dataset="fashion-mnist" if data_dir else "digits", data=data and str(data),
                        data_dir=data_dir and str(data_dir))
        run = types.SimpleNamespace(config=config, model=types.SimpleNamespace(generative=False),
                                    split=types.SimpleNamespace(labels_seen=100, validation=[]))
        card = model_card(run, report, "ssvae export RUN --out m")
        assert f"- Trained with: `ssvae train {shown} --labels 100 " in card
        name = "mine.csv" if data else "fashion-mnist"
        assert card.startswith(f"# ssvae model: m2 on {name}\n") and f"- Data: {name}; inputs of shape" in card


def test_an_export_refuses_a_folder_another_export_wrote_while_it_worked(digits_run, digits_export, tmp_path,
                                                                          monkeypatch):
    """The folder was checked only before the minutes of work: two exports to one --out both said "saved",
    and the last one's files stood."""
    other = shutil.copytree(digits_export, tmp_path / "other")
    check_variants = onnx_export._check_variants

    def another_export_meanwhile(*args, **kwargs) -> None:
        shutil.copytree(other, tmp_path / "model")
        check_variants(*args, **kwargs)

    monkeypatch.setattr(onnx_export, "_check_variants", another_export_meanwhile)
    with pytest.raises(RunError, match=re.escape(f"{tmp_path / 'model'} already exists: choose another --out")):
        ssvae.export(digits_run, tmp_path / "model", quantize=True)
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == sorted(p.name for p in other.iterdir())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "other"]  # no staging folder, no lock left


def _graph(nodes: list) -> bytes:
    """An ONNX graph of ``nodes`` from x (batch, 3) to probabilities (batch, 3)."""
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, ["batch", 3])
    y = onnx.helper.make_tensor_value_info("probabilities", onnx.TensorProto.FLOAT, ["batch", 3])
    model = onnx.helper.make_model(onnx.helper.make_graph(nodes, "g", [x], [y]),
                                   opset_imports=[onnx.helper.make_opsetid("", 20)])
    model.ir_version = 9
    return model.SerializeToString()


class _Shifted(torch.nn.Module):
    """x + delta: every value, or only the one at ``where`` (row, column) where the batch has that row."""

    def __init__(self, delta: float, where: tuple[int, int] | None = None):
        super().__init__()
        self.delta, self.where = delta, where

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.where is None:
            return x + self.delta
        shifted = x.clone()
        if len(x) > self.where[0]:
            shifted[self.where] += self.delta
        return shifted


def test_the_export_refuses_a_graph_off_by_more_than_its_tolerance_or_not_finite():
    """The identity graph against torch's x + delta, |x| < 1: the tolerance 1e-4 (1 + |torch|) passes a delta of
    2e-5 and refuses 1e-3, in every value or in one; a graph of NaN where torch is finite is refused too."""
    from ssvae.onnx_export import GraphSpec, max_difference

    x = torch.rand(257, 3)
    identity = _graph([onnx.helper.make_node("Identity", ["x"], ["probabilities"])])
    spec = lambda delta: GraphSpec("classifier", _Shifted(delta), {"x": x}, ("probabilities",))  # noqa: E731
    assert max_difference(spec(0.0), identity) == 0.0
    assert max_difference(spec(2e-5), identity) == pytest.approx(2e-5, rel=1e-2)
    with pytest.raises(onnx_export.ExportError, match="classifier.onnx output probabilities differs from torch by "
                                                      "1.00e-03 at batch 1"):
        max_difference(spec(1e-3), identity)
    one_value = GraphSpec("classifier", _Shifted(1e-3, where=(200, 1)), {"x": x}, ("probabilities",))
    with pytest.raises(onnx_export.ExportError, match="differs from torch by 1.00e-03 at batch 257"):
        max_difference(one_value, identity)  # one value of 771 off, in a row the batch of 1 does not hold
    square_root_of_minus = _graph([onnx.helper.make_node("Neg", ["x"], ["n"]),
                                   onnx.helper.make_node("Sqrt", ["n"], ["probabilities"])])
    with pytest.raises(onnx_export.ExportError, match="classifier.onnx output probabilities differs from torch"):
        max_difference(GraphSpec("classifier", _Shifted(0.0), {"x": x + 0.5}, ("probabilities",)),
                       square_root_of_minus)


def test_export_over_a_link_swaps_the_folder_it_names_and_keeps_its_permissions(digits_run, digits_export,
                                                                                 tmp_path):
    """--force over a link to a model folder swaps the folder (a new one, by its inode) and keeps the link, and
    the new folder has the permissions of the one it replaced; a mount point, which cannot be swapped, is
    refused before any work."""
    shutil.copytree(digits_export, tmp_path / "real")
    (tmp_path / "real").chmod(0o750)
    before = (tmp_path / "real").stat().st_ino
    (tmp_path / "link").symlink_to("real")
    ssvae.export(digits_run, tmp_path / "link", replace=True)
    assert (tmp_path / "link").is_symlink() and os.readlink(tmp_path / "link") == "real"
    assert (tmp_path / "real").stat().st_ino != before and (tmp_path / "real" / "classifier.onnx").is_file()
    assert stat.S_IMODE((tmp_path / "real").stat().st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]  # nothing left of the swap
    with pytest.raises(RunError, match="--out / is a mount point, which cannot be swapped"):
        ssvae.export(digits_run, "/", replace=True)


def test_a_swap_that_fails_midway_puts_the_old_model_folder_back(digits_run, digits_export, tmp_path, monkeypatch):
    """--force moves the old folder aside, then the new one in: where the second move fails (a full disk, a
    permission), the old folder returns to its name and nothing of the attempt is left."""
    shutil.copytree(digits_export, tmp_path / "m")
    before = (tmp_path / "m" / "classifier.onnx").read_bytes()
    moves, replace = [], os.replace

    def second_move_fails(source, target):
        moves.append(Path(target).name)
        if len(moves) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        replace(source, target)

    monkeypatch.setattr(onnx_export.os, "replace", second_move_fails)
    with pytest.raises(OSError, match="No space left on device"):
        ssvae.export(digits_run, tmp_path / "m", replace=True)
    assert moves == ["m", "m", "m"]  # aside, in (fails), back
    assert (tmp_path / "m" / "classifier.onnx").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_the_runtime_takes_integer_arrays_and_refuses_a_colourless_shape_for_colour_images(digits_model):
    """Integer inputs (0/1 images as int64, say) are numbers like any other; an (N, H, W) array fits only a
    model of one channel."""
    masks = (np.random.default_rng(0).random((2, 64)) < 0.5).astype(np.float32)  # 0/1 images: 1 stays 1, not 1/255
    np.testing.assert_array_equal(digits_model.classify(masks.astype(np.int64)), digits_model.classify(masks))
    with pytest.raises(ModelError, match=r"^inputs of shape \(2, 6, 6\) do not fit this model: it takes "
                                         r"\(N, 3, 6, 6\), \(N, 6, 6, 3\) or \(N, 108\)"):
        runtime.arrange(np.zeros((2, 6, 6), np.uint8), (3, 6, 6))
    colour = "; this model takes colour images: convert yours first (Pillow: image.convert('RGB'))"
    one = "; add a batch axis for a single image, e.g. x[None]"
    for shape, hint in (((2, 6, 6), colour), ((2, 6, 6, 4), colour), ((2, 1, 6, 6), colour),  # grey, RGBA
                        ((6, 6), colour + one), ((6, 6, 4), colour + one),  # one image of them, as Pillow gives it
                        ((2, 6, 6, 5), ""), ((2, 7, 6, 3), ""), ((2, 5, 5), "")):  # no image library's, or too small
        with pytest.raises(ModelError) as error:
            runtime.arrange(np.zeros(shape, np.uint8), (3, 6, 6))
        assert str(error.value).endswith(f"or (N, 108){hint}")


def test_a_class_index_must_be_a_whole_number_of_the_models(digits_model):
    z = np.zeros((2, digits_model.latent_dim), np.float32)
    for label in (10, -1, 10.0):
        with pytest.raises(ModelError, match=f"^class {label} is outside 0..9$"):
            digits_model.decode(z, y=label)
    with pytest.raises(ModelError, match=r"^class 2.5 is not a whole number: give an index \(0..9\) or a name$"):
        digits_model.decode(z, y=2.5)
    np.testing.assert_array_equal(digits_model.decode(z, y=2.0), digits_model.decode(z, y="2"))
    z = np.zeros((10, digits_model.latent_dim), np.float32)  # whole floats (labels with gaps, as pandas reads
    labels = np.array([0.0, 1, 2, 3, 4, 5, 6, 7, 9, 9])        # them) are indices where no one-hot row reads so
    np.testing.assert_array_equal(digits_model.decode(z, y=labels), digits_model.decode(z, y=labels.astype(int)))


def test_an_export_of_ones_own_file_names_the_file_not_where_it_lay(tmp_path):
    """The graphs and model.json name the data by file name: a model shared with others carries no path of
    the machine it was trained on."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", x=rng.random((60, 4)).astype(np.float32), y=np.arange(60) % 2)
    run = ssvae.train(data=str(tmp_path / "t.npz"), labels=10, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False)
    ssvae.export(run, tmp_path / "model")
    assert json.loads((tmp_path / "model" / "model.json").read_text())["dataset"] == "t.npz"
    assert runtime.load(tmp_path / "model").info["dataset"] == "t.npz"


@pytest.mark.parametrize("edit, message", [
    ({"classifier": {"ssvae.input_shape": None}}, "classifier.onnx: has no ssvae metadata"),
    ({"encoder": {"ssvae.weights": None}}, "encoder.onnx: not from the export classifier.onnx is from \\(they differ "
                                           "in weights\\)"),
    ({role: {"ssvae.latent_dim": "9"} for role in ("classifier", "encoder", "decoder")},
     "encoder.onnx: its z_mean is \\(N, 8\\) but the metadata says \\(N, 9\\): export the run again"),
    *(({role: {f"ssvae.{key}": value} for role in ("classifier", "encoder", "decoder")},
       f"classifier.onnx: its metadata's {key} is not {re.escape(kind)} \\(it is {re.escape(value[:60])}\\): "
       f"export the run again$")  # each was a TypeError deep inside, or a message that contradicted itself
      for key, value, kind in (("input_columns", "5", "a list of column names"),
                               ("input_range", '"x"', "null or [low, high]"),
                               ("input_range", "[1, 0]", "null or [low, high]"),
                               ("input_range", "[1, 1]", "null or [low, high]"),
                               ("input_range", '["a", "b"]', "null or [low, high]"),
                               ("test_scores", '{"n": 3, "quantiles": {}, "max": 1}',
                                "null or scores in short (n, quantiles 0.5 to 0.99, max; entropy, likewise)"),
                               ("conditional", '"no"', "true or false"),
                               ("likelihood", '"poisson"', "bernoulli or gaussian"),
                               ("test_scores", '{"n": 3}',
                                "null or scores in short (n, quantiles 0.5 to 0.99, max; entropy, likewise)"),
                               ("test_confidence", '{"n": 3, "levels": [{"confidence": 0.9, "n": 4}]}',
                                "null or predictions by confidence (n; levels, each of confidence, n and accuracy)"),
                               ("test_confidence", '{"n": 3, "levels": [{"confidence": 0, "n": 1}]}',
                                "null or predictions by confidence (n; levels, each of confidence, n and accuracy)"),
                               ("test_confidence", '[0.9]',
                                "null or predictions by confidence (n; levels, each of confidence, n and accuracy)"),
                               ("class_names", "[1, 2]", "a list of two or more one-line names"),
                               ("class_names", '["cat\\nnine", "dog"]', "a list of two or more one-line names"),
                               ("latent_dim", '"8"', "a size"),
                               ("uint8_divisor", "16", "1 or 255"),
                               ("dataset", "7", "a data set's name or file name"),
                               ("test_data", "null", "a file name"),
                               ("test_fraction", '"0.25"', "a share from 0 to below 1"),
                               ("test_fraction", "1", "a share from 0 to below 1"),
                               ("split_seed", "-1", "a seed (a whole number 0..4294967295)"),
                               ("split_seed", str(2**62), "a seed (a whole number 0..4294967295)"))),
    ({role: {"ssvae.test_scores": '{"n": "many", "quantiles": {"0.5": 1, "0.9": 2, "0.95": 3, "0.99": 4}, '
                                  '"max": 5}'} for role in ("classifier", "encoder", "decoder")},
     r"classifier.onnx: its metadata's test_scores is not null or scores in short \(n, quantiles 0.5 to 0.99, max; "
     r"entropy, likewise\) \(it is an object of keys n, quantiles, max\): export the run again$"),  # a TypeError
    ({role: {"ssvae.categories": '{"colour": []}'} for role in ("classifier", "encoder", "decoder")},
     "classifier.onnx: its metadata's categories is not an object of column names, each with a list of its "
     "categories"),  # a column of no category at all
    ({role: {"ssvae.categories": '{"colour": ["red", "blue"]}'} for role in ("classifier", "encoder", "decoder")},
     "classifier.onnx: its metadata's input_columns do not hold the one-hot columns of its categories colour side "
     "by side: export the run again$"),  # a ValueError inside category_spans
    ({"classifier": {"ssvae.dataset": "[" * 100_000 + "]" * 100_000}},  # a RecursionError in json
     "classifier.onnx: its ssvae metadata is not valid JSON \\(maximum recursion depth"),
])
def test_metadata_that_does_not_fit_the_graphs_or_each_other_is_refused(digits_export, tmp_path, edit, message):
    """A key taken out of one graph, a latent size edited alike in all three, or a value of the wrong kind, is
    named, not left to onnxruntime or a TypeError."""
    shutil.copytree(digits_export, tmp_path / "m")
    for role, changes in edit.items():
        graph = onnx.load(tmp_path / "m" / f"{role}.onnx")
        values = {**{p.key: p.value for p in graph.metadata_props}, **changes}
        del graph.metadata_props[:]
        onnx.helper.set_model_props(graph, {key: value for key, value in values.items() if value is not None})
        onnx.save(graph, tmp_path / "m" / f"{role}.onnx")
    with pytest.raises(ModelError, match=message):
        runtime.load(tmp_path / "m")


def test_the_few_grey_levels_warning_names_the_callers_line_however_it_is_reached(digits_run, digits_model,
                                                                                  tmp_path, monkeypatch):
    """The warning named the line of a fixed depth (classify's caller): through prepare or a run's inputs it
    named sys:1 or ssvae's own lines, and Python then hid its later copies as warned there already. Where an
    app copied runtime.py in beside its own files, the app's lines are the user's."""
    few = np.full((2, 1, 8, 8), 9, np.uint8)
    shutil.copyfile(ROOT / "ssvae" / "runtime.py", tmp_path / "copied_runtime.py")
    alone = _module_at(tmp_path / "copied_runtime.py").load(digits_model.model_dir, device="cpu")
    for call in (digits_model.prepare, digits_model.classify, digits_model.score, digits_run.inputs, alone.classify):
        with pytest.warns(UserWarning, match="uint8 inputs that stay below 64") as warned:
            call(few)
        assert [w.filename for w in warned] == [__file__], call
    (tmp_path / "app_helper.py").write_text("def classify(model, x):\n    return model.classify(x)\n")
    helper = _module_at(tmp_path / "app_helper.py")  # the app's own file beside the copy: the user's line
    with pytest.warns(UserWarning, match="uint8 inputs that stay below 64") as warned:
        helper.classify(alone, few)
    assert [w.filename for w in warned] == [str(tmp_path / "app_helper.py")]
    (tmp_path / "alias").symlink_to(tmp_path)  # the copy imported through a link: still ssvae's own code
    linked = _module_at(tmp_path / "alias" / "copied_runtime.py").load(digits_model.model_dir, device="cpu")
    with pytest.warns(UserWarning, match="uint8 inputs that stay below 64") as warned:
        linked.classify(few)
    assert [w.filename for w in warned] == [__file__]


def _module_at(path: Path) -> types.ModuleType:
    """The module of the Python file ``path``, imported under its file's name."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_exported_model_goes_to_another_process_by_loading_its_folder_again(digits_model, tmp_path, monkeypatch):
    """joblib and multiprocessing pickle what they send: onnxruntime's sessions cannot be, so a model was a
    TypeError there. A copy loads the folder again, with the original's precision and threads."""
    import copy
    import pickle

    x = np.random.default_rng(0).random((5, 64), np.float32)
    relative = runtime.load(os.path.relpath(digits_model.model_dir), device="cpu", precision="int8", threads=1)
    relative.batch_size = 7
    folder = digits_model.model_dir.absolute()
    monkeypatch.chdir(tmp_path)  # a worker that works in another folder: the copy loads by the absolute path
    for model in (digits_model, relative):
        for copied in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
            assert copied is not model and copied.batch_size == model.batch_size
            assert (copied.model_dir.resolve(), copied.precision) == (folder.resolve(), model.precision)
            assert [s.get_session_options().intra_op_num_threads for s in copied.sessions.values()] == [
                s.get_session_options().intra_op_num_threads for s in model.sessions.values()]
            np.testing.assert_array_equal(copied.classify(x), model.classify(x))
    for wrong in (0, 2000.0):  # 0 was taken as 1 without a word, 2000.0 a TypeError inside range()
        relative.batch_size = wrong
        for call in (relative.classify, relative.score):
            with pytest.raises(ModelError, match=f"^batch_size must be a whole number of at least 1, got {wrong}"):
                call(x)


def test_a_graph_that_fails_as_it_runs_is_named_in_one_line(digits_model, monkeypatch, tmp_path):
    """onnxruntime's own errors while a graph runs (a graph edited to allocate petabytes, say) were a traceback
    of onnxruntime's: they name the graph and what to do."""
    from click.testing import CliRunner

    from ssvae.cli import main

    def fails(self, *args, **kwargs):
        raise ort.capi.onnxruntime_pybind11_state.Fail("bad allocation\nand more lines")

    folder = digits_model.model_dir
    monkeypatch.setattr(ort.InferenceSession, "run", fails)
    message = (f"{folder / 'classifier.onnx'}: onnxruntime could not run it (bad allocation): for a batch too large "
               f"for memory, lower the batch size (--batch-size, ExportedModel.batch_size); else the graph is not as "
               f"ssvae exported it: export the run again")
    with pytest.raises(ModelError, match=f"^{re.escape(message)}$"):
        runtime.load(folder).classify(np.zeros((2, 64), np.float32))
    result = CliRunner().invoke(main, ["predict", str(folder), "--dataset", "digits", "--out", str(tmp_path / "p.csv")])
    assert (result.exit_code, result.output) == (1, f"Error: {message}\n")
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize("error, reason", [
    (ort.capi.onnxruntime_pybind11_state.InvalidArgument("Got invalid dimensions for input: x"),
     "Got invalid dimensions for input: x"),
    (ort.capi.onnxruntime_pybind11_state.RuntimeException(""), "RuntimeException"),  # no words: its kind
])
def test_each_kind_of_onnxruntime_error_while_a_graph_runs_is_named(digits_model, monkeypatch, error, reason):
    def fails(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(ort.InferenceSession, "run", fails)
    with pytest.raises(ModelError, match=f"^{re.escape(str(digits_model.model_dir / 'encoder.onnx'))}: onnxruntime "
                                         f"could not run it \\({reason}\\): for a batch too large"):
        runtime.load(digits_model.model_dir).encode(np.zeros((2, 64), np.float32))


def test_an_export_whose_test_scores_reach_inf_loads_and_nan_is_refused(digits_export, tmp_path):
    """A test input that overflows float32 scores inf, so an export keeps inf in its test_scores: the check of
    the metadata's kinds refused such a folder, which no command could then load. NaN is no score."""
    shutil.copytree(digits_export, tmp_path / "m")

    exported = runtime.load(tmp_path / "m").test_scores

    def with_top_score(top: float) -> None:
        _set_test_scores(tmp_path / "m", {**exported, "max": top, "quantiles": {**exported["quantiles"], "0.99": top}})

    with_top_score(math.inf)
    assert runtime.load(tmp_path / "m").test_scores["max"] == math.inf
    from click.testing import CliRunner

    from ssvae.cli import main

    shown = CliRunner().invoke(main, ["info", str(tmp_path / "m"), "--json"]).output  # strict JSON, as jq reads it
    assert json.loads(shown, parse_constant=pytest.fail)["metadata"]["test_scores"]["max"] is None
    info = {k: v for k, v in runtime.load(tmp_path / "m").info.items() if k != "role"}
    text = onnx_export.model_json(info, {role: {"float32": f"{role}.onnx"} for role in ("classifier", "encoder",
                                                                                          "decoder")})
    assert '"max": 1e999' in text  # which JSON.parse reads as Infinity, where Python's Infinity is refused
    assert json.loads(text, parse_constant=pytest.fail)["test_scores"]["max"] == math.inf
    (tmp_path / "m" / "model.json").write_text(text)
    assert runtime.load(tmp_path / "m").test_scores["max"] == math.inf  # model.json agrees with the graphs
    with_top_score(math.nan)
    with pytest.raises(ModelError, match=r"classifier.onnx: its metadata's test_scores is not null or scores in short "
                                         r"\(n, quantiles 0.5 to 0.99, max; entropy, likewise\) \(it is an object of "
                                         r"keys n, seed, "):
        runtime.load(tmp_path / "m")


def test_graphs_whose_inner_dims_are_symbolic_load_and_give_the_same_answers(digits_export, tmp_path):
    """The shape check compares only the dims a graph fixes: a graph edited (or written by another tool) to
    take (N, C, H, W) with named H and W still fits the metadata, so the runtime must not refuse it."""
    shutil.copytree(digits_export, tmp_path / "m")
    expected = runtime.load(tmp_path / "m").classify(np.zeros((2, 1, 8, 8), np.float32))
    graph = onnx.load(tmp_path / "m" / "classifier.onnx")
    for dim, name in zip(graph.graph.input[0].type.tensor_type.shape.dim[1:], ("c", "h", "w")):
        dim.dim_param = name
    onnx.save(graph, tmp_path / "m" / "classifier.onnx")
    assert _dims(onnx.load(tmp_path / "m" / "classifier.onnx").graph.input[0])[1:] == ["c", "h", "w"]
    np.testing.assert_array_equal(
        runtime.load(tmp_path / "m").classify(np.zeros((2, 1, 8, 8), np.float32)), expected)


def test_model_json_must_agree_with_the_graphs_where_it_is_there(digits_export, tmp_path):
    """Apps without ONNX metadata (onnxruntime-web, -node) read model.json: one edited or of another export is
    refused; the graphs alone (model.json left out) load as before."""
    shutil.copytree(digits_export, tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    values = json.loads(path.read_text())
    expected = runtime.load(tmp_path / "m").classify(np.zeros((1, 64), np.float32))
    path.write_text(json.dumps({**values, "class_names": [*values["class_names"][:-1], "nine"]}))
    with pytest.raises(ModelError, match=r"model.json: does not match the graphs \(they differ in class_names\): "
                                         r"export the run again \(--force\)"):
        runtime.load(tmp_path / "m")
    path.write_text(json.dumps({key: value for key, value in values.items() if key != "latent_dim"}))
    with pytest.raises(ModelError, match=r"they differ in latent_dim\)"):
        runtime.load(tmp_path / "m")
    path.write_text(json.dumps({**values, "notes": "an app's own"}))
    np.testing.assert_array_equal(runtime.load(tmp_path / "m").classify(np.zeros((1, 64), np.float32)), expected)
    path.write_text(json.dumps({**values, "class_names": values["class_names"][::-1], "dataset": "mnist"}))
    with pytest.raises(ModelError, match=r"they differ in class_names, dataset\)"):  # sorted: the same each run
        runtime.load(tmp_path / "m")
    path.write_bytes(b"\xff\xfe{")
    with pytest.raises(ModelError, match="model.json: not readable JSON"):
        runtime.load(tmp_path / "m")
    path.write_text(json.dumps([values]))
    with pytest.raises(ModelError, match="model.json: holds no object of metadata; export the run again"):
        runtime.load(tmp_path / "m")
    path.unlink()
    np.testing.assert_array_equal(runtime.load(tmp_path / "m").classify(np.zeros((1, 64), np.float32)), expected)


def test_a_certain_prediction_has_an_entropy_of_zero_not_minus_zero():
    import io

    from ssvae.inference import _write_predictions

    text = io.StringIO()
    model = types.SimpleNamespace(class_names=("a", "b"))
    _write_predictions(text, model, ["x", "y"], np.array([[1.0, 0.0], [0.5, 0.5]], np.float32))
    assert text.getvalue().splitlines() == ["x,a,1,0,1,0", f"y,a,0.5,{np.log(2):.6g},0.5,0.5"]


def test_data_held_in_memory_is_refused_with_the_way_to_save_it(digits_run, digits_model):
    """evaluate took arrays to a traceback from pathlib, train to a message holding the array's whole repr.
    Arrays without their labels cannot be tested on (evaluate takes (x, y), as train does); the inputs of
    predict are arrays given as inputs, not as data."""
    x = np.zeros((3, 64), np.float32)
    hint = "give a path to a file or folder (save arrays with np.savez('data.npz', x=x, y=y))"
    for call in (lambda: ssvae.evaluate(digits_run, data=x), lambda: inference.evaluate(digits_model, data=x)):
        with pytest.raises(DataError, match=r"^data must be a path or labelled arrays, got a numpy.ndarray: give a "
                                            r"path to a file or folder, or arrays as data=\(x, y\)"):
            call()
    for data in (x, (x, np.zeros(3, int))):
        with pytest.raises(DataError, match=re.escape(f"data must be a path, got a {type_name(data)}: {hint}")):
            inference.model_inputs(digits_model, data=data)
    with pytest.raises(ConfigError, match=re.escape(f"data must be of type str | None, got a numpy.ndarray: {hint}, "
                                                    f"or arrays as data=(x, y) with out= to ssvae.train")):
        ssvae.train(data=np.zeros((50, 64)), epochs=1)
    with pytest.raises(ConfigError, match=re.escape(f"test_data must be of type str | None, got a tuple: {hint}, or "
                                                    f"test arrays with the data's, as data={{'x': x, 'y': y, 'x_test': "
                                                    f"x_test, 'y_test': y_test}}")):
        ssvae.train(data="d.npz", test_data=(x, np.zeros(3, int)), epochs=1)  # a notebook's test arrays


def test_export_without_out_writes_models_and_the_run_folders_name_as_the_command_does(digits_run, tmp_path,
                                                                                         monkeypatch):
    """ssvae.export(run) was a TypeError (out was required) where `ssvae export RUN` writes models/RUN's name; a
    run held in memory has no folder to name it after."""
    from click.testing import CliRunner

    from ssvae.cli import main

    ssvae.train(epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, labels=20, progress=False,
                out=tmp_path / "runs" / "tiny")
    monkeypatch.chdir(tmp_path)
    report = ssvae.export(tmp_path / "runs" / "tiny")
    assert report.model_dir == Path("models/tiny") and runtime.load("models/tiny").info["labels_seen"] == 20
    result = CliRunner().invoke(main, ["export", "runs/tiny", "--force"])
    assert result.exit_code == 0 and result.output.startswith("saved models/tiny: classifier.onnx, "), result.output
    with pytest.raises(ssvae.RunError, match=r"^this run was trained without out=, so it has no folder to name its "
                                             r"model folder after: give out= the model folder to write$"):
        ssvae.export(digits_run)


def test_flags_of_the_api_are_true_or_false_and_paths_are_paths(digits_run, digits_model, tmp_path):
    """quantize="none" wrote the int8 copies, baseline="no" trained the baseline: any string is true. A number
    given for a run's folder raised a TypeError from pathlib."""
    for options, message in (({"quantize": "int8"}, "quantize must be True or False, got 'int8' (write "
                                                     "quantize=True or quantize=False)"),
                             ({"fp16": 1}, "fp16 must be True or False, got 1")):
        with pytest.raises(onnx_export.ExportError, match=f"^{re.escape(message)}$"):
            ssvae.export(digits_run, tmp_path / "model", **options)
    assert not (tmp_path / "model").exists()
    with pytest.raises(RunError, match=r"^baseline must be True or False, got 'no' \(write baseline=True or "
                                       r"baseline=False\)$"):
        ssvae.evaluate(digits_run, baseline="no")
    (tmp_path / "p.csv").write_text("mine\n")  # replace="no" replaced it, and progress="no" drew a bar
    x = digits_run.partition().test.x[:5]
    no = "got 'no' (write {0}=True or {0}=False)"  # a string is told how Python spells a flag
    for call, message in (
            (lambda: ssvae.train(out=tmp_path / "run", replace="no"), "replace must be True or False, " + no),
            (lambda: ssvae.train(progress="no"), "progress must be True or False, " + no),
            (lambda: ssvae.train(on_epoch=5, out=tmp_path / "run"), "on_epoch must be a function of an epoch's "
                                                                    "record and network, got int"),
            (lambda: ssvae.train(on_epoch=lambda record: None, out=tmp_path / "run"),  # failed after an epoch
             "on_epoch must take two arguments, an epoch's record and the network (def on_epoch(record, network): "
             "...), and <lambda> does not"),
            (lambda: ssvae.resume(tmp_path / "run", progress=0), "progress must be True or False, got 0"),
            (lambda: ssvae.baseline(digits_run, progress="yes"), "progress must be True or False, got 'yes' "
                                                                 "(write progress=True or progress=False)"),
            (lambda: ssvae.export(digits_run, tmp_path / "model", replace="no"), "replace must be True or False, "
                                                                                + no),
            (lambda: inference.predict(digits_model, x, tmp_path / "p.csv", replace="no"),
             "replace must be True or False, " + no),
            (lambda: inference.score(digits_model, x, tmp_path / "s.csv", progress="no"),
             "progress must be True or False, " + no),
            (lambda: inference.generate(digits_model, tmp_path / "g.png", replace=1),
             "replace must be True or False, got 1"),
            (lambda: inference.generate(digits_model, tmp_path / "g.csv", progress="no"),
             "progress must be True or False, " + no)):
        message = message.format(message.split()[0])
        with pytest.raises((RunError, onnx_export.ExportError), match=f"^{re.escape(message)}$"):
            call()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"] and (tmp_path / "p.csv").read_text() == "mine\n"
    for call in (lambda: ssvae.load(5), lambda: ssvae.export(5, tmp_path / "model")):
        with pytest.raises(RunError, match="^run_dir must be a path, got int$"):
            call()


def test_generate_without_a_count_draws_one_example_a_class_given(digits_model):
    """generate([1, 2, 3]) asked for 3 classes of the default 1 row: "classes of shape (3,) do not fit 1 rows"."""
    three = digits_model.generate([1, 2, 3], seed=4)
    np.testing.assert_array_equal(three, digits_model.generate([1, 2, 3], n=3, seed=4))
    assert digits_model.generate("7").shape == (1, 1, 8, 8) and digits_model.generate(np.eye(10)[[1, 2]]).shape[0] == 2
    assert digits_model.generate(7, n=5).shape == (5, 1, 8, 8)


def test_the_exporter_loads_torchs_export_modules_before_it_exports():
    """A Ctrl-C while torch.onnx.export first loads torch._dynamo could come back as torch's own
    TorchExportError ("module 'torch._dynamo' has no attribute 'exc'") and a page of traceback, where one
    while ssvae's exporter loads is a plain KeyboardInterrupt: it loads with the exporter."""
    code = "import sys, ssvae.onnx_export; print('torch._dynamo' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    assert result.stdout.split() == ["True"]


def test_a_masked_arrays_masked_values_are_missing_inputs_not_the_numbers_under_the_mask(digits_model):
    """numpy's masked array: what its mask hides is no input (NaN: a gap for a model that fills them, refused,
    naming its row, by one that does not); with nothing masked, its data as they are (uint8 images scaled)."""
    table = np.ma.masked_array([[1.0, 2.0], [3.0, 4.0]], mask=[[False, False], [False, True]])
    filled = runtime.prepare_inputs(table, (2,), ("a", "b"), None, 1, True)
    np.testing.assert_array_equal(filled, np.array([[1, 2], [3, np.nan]], np.float32))
    images = np.ma.masked_array(np.full((3, 8, 8), 255, np.uint8))
    np.testing.assert_array_equal(digits_model.classify(images), digits_model.classify(np.ones((3, 8, 8))))
    images[1, 4, 4] = np.ma.masked
    with pytest.raises(runtime.NonFiniteInputError, match=r"\(first in row 1\)"):
        digits_model.classify(images)


def test_predict_to_standard_output_streams_its_batches_and_stops_at_a_refused_one(digits_model, capsys):
    """Rows on standard output go a batch at a time (a file is written whole or not at all): an input refused
    in a later batch ends them there, with the error naming its row in the whole input."""
    from ssvae import inference

    x = np.zeros((5, 8, 8), np.float32)
    x[3] = np.nan
    with pytest.raises(runtime.NonFiniteInputError, match=r"\(first in row 3\)"):
        inference.predict(digits_model, x, "-", batch_size=2, progress=False)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("id,predicted,") and [line.split(",")[0] for line in lines[1:]] == ["0", "1"]


def test_an_empty_path_is_refused_not_read_as_the_current_folder(digits_run, digits_model, tmp_path, monkeypatch):
    """pathlib reads "" as ".": ssvae.evaluate(run, data="") read the working folder as a folder of images, and
    ssvae.train(out="") trained into it."""
    for folder in (digits_run, digits_model.model_dir):
        with pytest.raises(DataError, match="^data is an empty path: give the name of a file or folder$"):
            ssvae.evaluate(folder, data="")
    monkeypatch.chdir(tmp_path)
    for call, name in ((lambda: ssvae.train(out="", epochs=1), "out"), (lambda: ssvae.export(digits_run, ""), "out"),
                       (lambda: ssvae.load(""), "run_dir"), (lambda: ssvae.resume(""), "run_dir"),
                       (lambda: ssvae.evaluate(""), "run")):
        with pytest.raises(RunError, match=f"^{name} is an empty path: give the name of a folder$"):
            call()
    assert list(tmp_path.iterdir()) == []


def test_the_model_card_names_the_settings_only_python_sets():
    """Run as written, the card's `ssvae train` line built aux_dim 50 on another test split: the settings no
    option sets are named beside it where they are off the preset, and only then."""
    from ssvae.settings import python_only_changes
    from ssvae.model_card import model_card

    report = onnx_export.ExportReport(Path("m"), max_difference={"classifier": 1e-6}, accuracy={"float32": 0.9},
                                      agreement={"float32": 1.0})

    def trained_with(config: Config) -> str:
        run = types.SimpleNamespace(config=config, model=types.SimpleNamespace(generative=False),
                                    split=types.SimpleNamespace(labels_seen=100, validation=[]))
        return next(line for line in model_card(run, report, "ssvae export RUN --out m").splitlines()
                    if line.startswith("- Trained with: "))

    adgm = config_for("digits", model="adgm", aux_dim=7, split_seed=5)
    assert python_only_changes(adgm) == {"split_seed": 5, "aux_dim": 7}
    assert trained_with(adgm).endswith("--seed 0`, and in Python split_seed=5, aux_dim=7 (no option of `ssvae "
                                       "train` sets them)")
    preset = config_for("digits", model="m1+m2")  # the digits preset's m1_features is no change
    flipped = "sample" if preset.m1_features == "mean" else "mean"
    assert python_only_changes(preset) == {} and trained_with(preset).endswith("`")
    assert trained_with(preset.replace(m1_features=flipped)).endswith(
        f"`, and in Python m1_features={flipped!r} (no option of `ssvae train` sets it)")


def test_a_grid_of_images_wider_than_high_puts_each_cell_in_its_place():
    """Two 4-high, 3-wide cells in a row, black and grey, 1 pixel of white around and between them: 6 x 9
    pixels, the grey cell in columns 5-7 and the white line between them in column 4; twice as large at
    scale 2, as `grid_size` says."""
    import io

    from PIL import Image

    from ssvae.grids import grid_png, grid_size

    images = np.stack([np.zeros((1, 4, 3)), np.full((1, 4, 3), 0.5)])[None].astype(np.float32)  # (1, 2, 1, 4, 3)
    expected = np.full((6, 9), 255, dtype=np.uint8)
    expected[1:5, 1:4], expected[1:5, 5:8] = 0, 128
    for scale in (1, 2):
        pixels = np.asarray(Image.open(io.BytesIO(grid_png(images, scale))))
        np.testing.assert_array_equal(pixels, expected.repeat(scale, axis=0).repeat(scale, axis=1))
        assert pixels.shape[::-1] == grid_size(images.shape, scale)


def test_a_grid_names_each_row_at_its_left_and_each_column_above_it_where_a_line_fits():
    """Grey 8x8 cells at scale 4 (32 pixels, 4 between): the captioned grid is the plain one with margins as
    wide as the longest row name, and as high as a line where every column name fits its column (upright), else
    as the longest (read upwards), 4 pixels either side; each name's dark pixels lie beside (or above) the
    cells it names, in its margin, and nowhere else. Colour grids take black captions; at scale 1 a line of
    text is higher than a cell, so the grid has none; a character the font lacks (é, a no-break space) is a "?",
    and where that leaves a name no letter (猫) or two names alike, the grid has none; a name longer than 24
    characters is cut; at scale 12 the font is a quarter of a cell."""
    import io

    from PIL import Image, ImageFont

    from ssvae.grids import grid_png, grid_size

    def pixels(png):
        return np.asarray(Image.open(io.BytesIO(png)))

    font = ImageFont.load_default()
    line = font.getbbox("Ag/|")[3]
    images = np.full((2, 3, 1, 8, 8), 0.75, np.float32)
    rows = ("a", "Ankle boot")
    left = font.getbbox("Ankle boot")[2] + 8
    plain = pixels(grid_png(images, 4))
    for columns, top in ((("x", "input", "z"), line + 8), (("x", "Ankle boot", "z"), left)):  # upright, upwards
        named = pixels(grid_png(images, 4, rows, columns))
        assert named.shape == (plain.shape[0] + top, plain.shape[1] + left)
        assert named.shape[::-1] == grid_size(images.shape, 4, rows, columns)
        np.testing.assert_array_equal(named[top:, left:], plain)  # the cells, moved
        dark_y, dark_x = np.nonzero(named < 128)
        beside = dark_x < left
        for r in range(2):  # row r's cells span y = top + 4 + 36 r ... + 32
            in_row = beside & (dark_y >= top + 4 + 36 * r) & (dark_y < top + 36 + 36 * r)
            assert in_row.any() and (dark_x[in_row] >= 4).all() and (dark_x[in_row] < left - 4).all()
        above = dark_y < top
        for c in range(3):
            in_column = above & (dark_x >= left + 4 + 36 * c) & (dark_x < left + 36 + 36 * c)
            assert in_column.any() and (dark_y[in_column] >= 4).all() and (dark_y[in_column] < top - 4).all()
        in_a_row = (dark_y - top - 4) % 36 < 32
        in_a_column = (dark_x - left - 4) % 36 < 32
        assert (beside & ~above & in_a_row | above & ~beside & in_a_column | ~beside & ~above).all()  # nothing else
        colour = pixels(grid_png(np.repeat(images, 3, axis=2), 4, rows, columns))
        np.testing.assert_array_equal(colour, np.repeat(named[..., None], 3, axis=-1))  # grey cells, black names
    assert grid_png(images, 1, rows, columns) == grid_png(images, 1)  # 9-pixel rows: no line of text fits
    for names, drawn in ((("a", "Café"), ("a", "Caf?")), (("a", "T-shirt\u00a0top"), ("a", "T-shirt?top"))):
        assert grid_png(images, 4, names) == grid_png(images, 4, drawn) != grid_png(images, 4, ("a", "b"))
    for names in (("猫", "犬"), ("Café", "Cafè")):  # no letter left, or two names alike: no names
        assert grid_png(images, 4, names) == grid_png(images, 4, (), columns=()) != grid_png(images, 4, ("a", "b"))
    for names in (("?", "yes"), ("a" * 30, "a" * 31)):  # a class named "?"; two names alike once cut: as ever
        assert grid_png(images, 4, names) != grid_png(images, 4, (), columns=())
    assert grid_size(images.shape, 4, ("b" * 30,)) == grid_size(images.shape, 4, ("b" * 22 + "..",))
    if hasattr(font, "getmetrics"):  # Pillow's FreeType font, of any size (10.0's bitmap font has one)
        large = ImageFont.load_default(size=108 // 4)  # cells of 9 x 12 pixels
        assert grid_size(images.shape, 12, rows) == (3 * 108 + 12 + large.getbbox("Ankle boot")[2] + 8, 2 * 108 + 12)


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_a_run_whose_data_are_gone_or_changed_exports_without_an_accuracy(tmp_path):
    """A run copied to another machine without its data could never be exported ("put it back"): it is now,
    checked against torch on stand-in inputs, its classes those of an export made with the data, its test
    accuracy not measured (and said so); int8 copies, calibrated on the data, are refused without them."""
    rng = np.random.default_rng(0)
    rows = [f"{a:.3f},{b:.3f},{k % 2}" for k, (a, b) in enumerate(rng.standard_normal((40, 2)))]
    (tmp_path / "t.csv").write_text("\n".join(["a,b,label", *rows]) + "\n")
    run = ssvae.train(data=str(tmp_path / "t.csv"), labels=None, epochs=2, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    with_data = ssvae.export(tmp_path / "run", tmp_path / "with")
    assert with_data.accuracy["float32"] == ssvae.evaluate(run)["accuracy"]
    (tmp_path / "t.csv").rename(tmp_path / "moved.csv")
    with pytest.raises(DataError, match=r"t.csv: no such file or folder, and the run was trained on it: .*; "
                                        r"--quantize int8 \(quantize=True in Python\) calibrates on the run's training "
                                        r"inputs, so it needs them: export without it$"):
        ssvae.export(tmp_path / "run", tmp_path / "int8", quantize=True)
    with pytest.warns(UserWarning, match=r"t.csv: no such file or folder, and the run was trained on it: .*; exported "
                                         r"without them: the graphs are checked against torch on 257 stand-in inputs"):
        report = ssvae.export(tmp_path / "run", tmp_path / "without", fp16=True)
    assert report.accuracy == {"float32": None, "float16": None} and report.agreement["float16"] > 0.9
    assert max(report.max_difference.values()) < 1e-3
    x = np.loadtxt(tmp_path / "moved.csv", delimiter=",", skiprows=1, usecols=(0, 1), dtype=np.float32)
    without = runtime.load(tmp_path / "without")
    np.testing.assert_allclose(without.classify(x), runtime.load(tmp_path / "with").classify(x), atol=1e-6)
    assert without.info["test_accuracy"] is None and "data_digest" not in without.info
    assert without.test_confidence is None and without.test_scores is None  # nothing measured: no such keys
    card = (tmp_path / "without" / "model_card.md").read_text()
    assert "- Test accuracy: not measured, as the run's data were missing or changed when it was exported" in card
    assert "| float32 | classifier.onnx | not measured | 100.00 % |" in card
    (tmp_path / "t.csv").write_text("\n".join(["a,b,label", *rows[:-1]]) + "\n")  # back, a row short: changed
    with pytest.warns(UserWarning, match=r"not the data this run was trained on .*; exported without them"):
        assert ssvae.export(tmp_path / "run", tmp_path / "changed").accuracy == {"float32": None}
    assert "data_digest" not in runtime.load(tmp_path / "changed").info  # it would name data it did not train on
    from click.testing import CliRunner

    from ssvae.cli import main

    with pytest.warns(UserWarning, match="exported without them"):
        result = CliRunner().invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "cli")])
    assert result.exit_code == 0 and result.output.endswith(
        "\nfloat32  test accuracy not measured (the run's data are missing or changed)\n"), result.output


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # 20 labels: a tiny test set, as meant
def test_a_table_models_generated_rows_are_whole_numbers_where_its_data_were(tmp_path):
    """Counts, 0/1 flags and years came out of generate as 2.73 children and a flag of 0.4: the export lists the
    inputs whose training values were whole numbers alone, and generate's CSV rounds them (halves to even),
    holds them within their training range and writes them without a decimal point; the rest are untouched.
    ssvae info says which; a list that names an input beyond the inputs is refused at load."""
    from click.testing import CliRunner

    from ssvae.cli import main

    rng = np.random.default_rng(0)
    y = np.arange(80) % 2
    table = {"a": np.round(rng.normal(size=80) + 3 * y, 3), "count": rng.poisson(3 + 5 * y), "flag": y,
             "year": 2000 + rng.integers(0, 20, 80), "x": np.arange(80) * 0.5 + 0.25,
             "stamp": 1_700_000_000 + 1000 * np.arange(80)}  # whole, as every float32 from 2^24 up is: not listed
    rows = [",".join(map(str, [*(table[c][k] for c in table), y[k] if k < 40 else ""])) for k in range(80)]
    (tmp_path / "t.csv").write_text("\n".join([",".join([*table, "label"]), *rows]) + "\n")
    run = ssvae.train(data=str(tmp_path / "t.csv"), epochs=2, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                      progress=False, out=tmp_path / "run")
    ssvae.export(run, tmp_path / "model")
    model = runtime.load(tmp_path / "model")
    assert json.loads((tmp_path / "model" / "model.json").read_text())["whole_inputs"] == [1, 2, 3]
    assert model.whole_inputs == (1, 2, 3)
    low, high = model.training_range
    assert (low[2], high[2]) == (0, 1)
    x = np.array([[[0.5, 2.5, 1.7, 1990.2, 0.3, 5e8]], [[-1.25, 3.5, -0.4, 2019.5, 7.75, 2e9]]], np.float32)
    np.testing.assert_array_equal(model.as_data(x), np.array([[[0.5, 2, 1, low[3], 0.3, 5e8]],  # (2, 1, 6)
                                                             [[-1.25, 4, 0, high[3], 7.75, 2e9]]], np.float32))
    assert x[0, 0, 1] == 2.5  # a copy: the draws are left as they were
    inference.generate(model, tmp_path / "new.csv", per_class=50, noise=True)  # as ssvae generate --noise
    lines = (tmp_path / "new.csv").read_text().splitlines()
    cells = np.array([line.split(",")[2:] for line in lines[1:]])
    assert all(text.lstrip("-").isdigit() for text in cells[:, 1:4].ravel())
    values = cells.astype(np.float32)
    assert ((values[:, 1:4] >= low[1:4]) & (values[:, 1:4] <= high[1:4])).all()
    assert not np.all(values[:, [0, 4]] == np.round(values[:, [0, 4]]))  # the others keep their fractions
    assert all("e+" in text for text in cells[:, 5])  # the stamps as float32 writes them, not as exact integers
    assert set(values[:, 2]) == {0, 1}  # a flag is 0 or 1, both drawn
    info = CliRunner().invoke(main, ["info", str(tmp_path / "model")]).output
    assert "\n  whole_inputs     inputs 1, 2, 3 (0 first) held whole numbers alone in training, as generate writes " \
           "them\n" in info
    for wrong, message in (([6], "its metadata's whole_inputs names an input beyond the 6 there are, or comes "
                                 "without training_range"), ([-1], "its metadata's whole_inputs is not a list of "
                                                                   "input indices")):
        _set_test_scores(tmp_path / "model", wrong, "whole_inputs")
        with pytest.raises(ModelError, match=message):
            runtime.load(tmp_path / "model")


def test_a_table_model_keeps_its_training_range_and_flags_inputs_far_outside_it(tmp_path):
    """A "no data" mark (-9999) in a column of 70 to 162 gave a confident class without a word: the export keeps
    each column's least and greatest training value, `far_outside` flags values beyond them by more than their
    width, and predict and score say how many rows hold one, naming the first."""
    from click.testing import CliRunner

    from ssvae.cli import main

    rng = np.random.default_rng(0)
    x = np.column_stack([rng.uniform(70, 162, 60), rng.normal(0, 1, 60), np.full(60, 5.0)])  # the last constant
    rows = [f"r{k},{a},{b},{c},{'' if k % 3 else k % 2}" for k, (a, b, c) in enumerate(x.tolist())]
    (tmp_path / "t.csv").write_text("\n".join(["id,magnesium,b,c,label", *rows]) + "\n")
    with pytest.warns(UserWarning, match="the test set is 5 of the 20 labelled examples"):  # a small table's lot
        run = ssvae.train(data=str(tmp_path / "t.csv"), epochs=2, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                          progress=False, out=tmp_path / "run")
    ssvae.export(run, tmp_path / "model")
    model = runtime.load(tmp_path / "model")
    trained = np.concatenate([run.partition().labelled.x, run.partition().unlabelled.x]).astype(np.float32)
    low, high = trained.min(0), trained.max(0)
    assert len(trained) < 60  # the test rows are held out: training saw the others alone
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["training_range"] == {"low": [float(str(v)) for v in low], "high": [float(str(v)) for v in high]}
    np.testing.assert_array_equal(model.training_range[0], low)
    np.testing.assert_array_equal(model.training_range[1], high)
    margin = np.maximum(high - low, np.maximum(np.maximum(abs(low), abs(high)), 1))  # width or size, the larger
    assert margin[0] == high[0] and margin[2] == 5  # magnesium's size; the constant column's value: 0 to 10
    probes = np.array([low, high + 0.99 * margin, low - 1.01 * margin, [100.0, 0.0, 9.9], [100.0, 0.0, 10.1]],
                      np.float32)
    assert model.far_outside(probes).tolist() == [[False] * 3, [False] * 3, [True] * 3, [False] * 3,
                                                  [False, False, True]]
    bad = tmp_path / "bad.csv"  # two rows with a mark: the first named, with its column's training range
    lines = ["id,magnesium,b,c", "a,100,0,5", "b,-9999,0,5", "c,120,0.5,5", "d,100,-3.4e38,5"]
    bad.write_text("\n".join(lines) + "\n")
    for command, what in (("predict", "The classifier gives them a class all the same, often a confident one"),
                          ("score", "Their scores rank them as unlike the training data, whatever the cause")):
        for rows, status in ((lines, 0), ([*lines, "e,100,0,inf"], 1)):  # a later row refused: said all the same
            bad.write_text("\n".join(rows) + "\n")
            with pytest.warns(UserWarning) as warned:
                result = CliRunner().invoke(main, [command, str(tmp_path / "model"), "--data", str(bad), "--out",
                                                   str(tmp_path / f"{command}.csv"), "--quiet", "--batch-size", "2",
                                                   "--force"])
            assert result.exit_code == status, result.output
            assert not status or result.output.endswith(  # a table's column named, as for a missing cell
                "inputs contain inf, or numbers too large for float32, in column 'c' (first in row 4, id e): "
                "clean or drop those rows\n")  # a table's model takes NaN, a gap, and no inf
            assert [str(w.message) for w in warned if "far outside" in str(w.message)] == [
                f"{bad}: 2 row(s) hold values far outside those the model was trained on (first in row 1, id b: "
                f"'magnesium' -9999, where training saw {low[0]:g} to {high[0]:g}): a 'no data' mark such as -9999? "
                f"{what}: check or drop those rows"]
    with warnings.catch_warnings(), pytest.raises(runtime.NonFiniteInputError, match="in column 'c'"):
        warnings.simplefilter("error")  # warnings made errors: the error that stopped the job is the one raised
        inference.predict(model, str(bad), tmp_path / "stopped.csv", progress=False, batch_size=2)
    bad.write_text("\n".join(lines) + "\n")  # where else inputs are read: analogies, and labelled data to test on
    with pytest.warns(UserWarning, match=r"bad.csv: 2 row\(s\) hold values far outside those "
                                         r"the model was trained on \(first in row 1, id b: 'magnesium' -9999, .*"
                                         r"Their styles are drawn all the same"):
        inference.generate(model, tmp_path / "analogies.csv", analogies=str(bad))
    (tmp_path / "labelled.csv").write_text("magnesium,b,c,label\n100,0,5,0\n100,0,-9999,1\n")
    with pytest.warns(UserWarning, match=r"/labelled.csv: 1 row\(s\) hold values far outside those the model was "
                                         r"trained on \(first in labelled example 1: 'c' -9999, where training saw 5 "
                                         r"alone\): .*often a confident one, and the accuracy counts it: check or "
                                         r"drop those rows$"):
        inference.evaluate(model, str(tmp_path / "labelled.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # inputs within range: no word
        inference.predict(model, x[:5], tmp_path / "fine.csv", progress=False)
    with pytest.raises(ModelError, match=r"^inputs of dtype object are not numbers: pass numbers \(an array \(N, 3\) "
                                         r"of floats, the columns in the model's order, or a pandas DataFrame\)$"):
        model.classify(np.array([["1", 2.0, None]], dtype=object))  # a table's words, not an image's

    class Series(list):  # pandas' row of a DataFrame, df.iloc[k], its id among its cells
        pass

    with pytest.raises(ModelError, match=r"not numbers: pass numbers \(a row as a DataFrame, df.iloc\[\[k\]\], not "
                                         r"a Series, df.iloc\[k\]\)$"):
        model.classify(Series(["r1", 100.0, 0.0, 5.0]))
    for path in ("img.png", tmp_path / "img.png"):  # a path is no input of the runtime's: said so, with the fix
        with pytest.raises(ModelError, match=r"^inputs are a path \('.*img.png'\), not numbers: pass them as an "
                                             r"array \(a file read as ssvae predict reads it: "
                                             r"ssvae.inference.model_inputs\(MODEL_DIR, data=PATH\).x\)$"):
            model.classify(path)
    info = CliRunner().invoke(main, ["info", str(tmp_path / "model")]).output
    assert ("\n  training_range   the least and greatest value of each of the 3 inputs in training (--json has "
            "them), to flag inputs far outside them\n") in info
    digits = ssvae.export(ssvae.train(epochs=1, hidden=(8,), classifier_hidden=(8,), progress=False),
                          tmp_path / "digits").model_dir  # images: a range of their own, [0, 1]
    assert "training_range" not in json.loads((digits / "model.json").read_text())
    assert not runtime.load(digits).far_outside(np.ones((2, 1, 8, 8), np.float32)).any()
    _set_test_scores(digits, [0], "whole_inputs")  # no range to round within
    with pytest.raises(ModelError, match=r"its metadata's whole_inputs names an input beyond the 64 there are, or "
                                         r"comes without training_range: export the run again$"):
        runtime.load(digits)
    _set_test_scores(tmp_path / "model", {"low": low.tolist()[:2], "high": high.tolist()[:2]}, "training_range")
    with pytest.raises(ModelError, match=r"classifier.onnx: its metadata's training_range holds 2 values a bound, "
                                         r"but the inputs have 3: export the run again$"):
        runtime.load(tmp_path / "model")
    _set_test_scores(tmp_path / "model", {"low": [0, 0, "x"], "high": [1, 1, 1]}, "training_range")
    with pytest.raises(ModelError, match=r"its metadata's training_range is not an object of low and high"):
        runtime.load(tmp_path / "model")


def test_an_export_of_a_run_without_a_test_set_says_so_and_has_no_test_split_of_its_data_set(tmp_path):
    """A digits run with test_fraction 0 held out none of digits: its export is checked on the training inputs,
    its test figures are null (as an older export's may be, which the runtime reads), and a test split of
    digits, which would be training examples, is refused by evaluate and predict; --split train is all of it."""
    run = ssvae.train(epochs=1, hidden=(16,), classifier_hidden=(16,), latent_dim=2, labels=30, test_fraction=0,
                      progress=False, out=tmp_path / "run")
    report = ssvae.export(run, tmp_path / "model")
    assert report.accuracy == {"float32": None} and not report.held_out and report.test_confidence is None
    model = runtime.load(tmp_path / "model")
    assert model.info["test_fraction"] == 0 and model.info["test_accuracy"] is None
    assert model.test_confidence is None and model.test_scores is None and "data_digest" not in model.info
    assert inference.default_split(model) == "train"
    no_split = r"^the model's run held out no test split of digits \(--test-fraction 0\): pass labelled data it did "
    for call in (lambda: ssvae.evaluate(tmp_path / "model"), lambda: inference.model_inputs(model, dataset="digits")):
        with pytest.raises(DataError, match=no_split):
            call()
    with pytest.warns(UserWarning, match=r"not held out \(it held out no test split\)"):
        assert ssvae.evaluate(model, dataset="digits", split="train")["n_test"] == 1797
    assert "(`--test-fraction 0`)" in (tmp_path / "model" / "model_card.md").read_text()
