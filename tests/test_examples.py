"""The embedding examples, run as an app would run them: plain Python with onnxruntime, Node.js with
onnxruntime-node, and the browser demo in headless Chromium. Each must agree with `ssvae predict`."""

import csv
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_digits

import ssvae
from ssvae import inference, runtime
from ssvae.data import choose_split, load_source
from ssvae.cli import config_from_options, main, train
from ssvae.config import Config
from ssvae.settings import config_for

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "digits-m2"
NODE_EXAMPLE = ROOT / "tools" / "examples" / "node"
WEB_DEMO = ROOT / "tools" / "web-demo"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sys.path.insert(0, str(WEB_DEMO))  # serve.py, the demo's server, for the tests below
# the exports the repository ships; a user's own exports into models/ are neither tested nor tracked (.gitignore)
SHIPPED = [ROOT / "models" / name for name in ("digits-m2", "fashion-mnist-m2", "fashion-mnist-m2-conv")]


@pytest.mark.parametrize("model_dir", SHIPPED, ids=lambda path: path.name)
@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_every_shipped_model_loads_and_matches_its_card(model_dir, precision):
    info = json.loads((model_dir / "model.json").read_text())
    model = runtime.load(model_dir, precision=precision)
    x = np.random.default_rng(0).random((3, *info["input_shape"]), dtype=np.float32)
    probabilities = model.classify(x)
    assert probabilities.shape == (3, len(info["class_names"]))
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    card = (model_dir / "model_card.md").read_text()
    assert f"| float32 | classifier.onnx | {100 * info['test_accuracy']:.2f} % |" in card


def shipped_test_split(info: dict, request: pytest.FixtureRequest) -> tuple[np.ndarray, np.ndarray]:
    """The test inputs and labels a shipped model's card was measured on: digits' held-out share (bundled with
    scikit-learn), or Fashion-MNIST's own test set from shared/ (CI has it) or Debian's dataset package."""
    if info["dataset"] == "digits":
        source = load_source("digits")
        test = list(choose_split(source, None, 0, info["test_fraction"], info["split_seed"], 0).test)
        return source.train.x[test], source.train.y[test]
    test = load_source(info["dataset"], data_dir=str(request.getfixturevalue("fashion_mnist_dir"))).test
    return test.x, test.y


@pytest.mark.parametrize("model_dir", SHIPPED, ids=lambda path: path.name)
@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_every_shipped_model_has_the_accuracy_its_card_states(model_dir, precision, request):
    """Its test split (10,000 or 450 images) classified again gives the card's figure: float32 to the
    example, int8 within 0.1 points: the int8 copies' uint8 weights give every CPU the same integer
    products (int8 weights saturated on CPUs without VNNI, and moved the shipped M2's accuracy by 18 test
    images of 10,000 on an AMD EPYC), and the float arithmetic around them may round otherwise."""
    info = json.loads((model_dir / "model.json").read_text())
    x, y = shipped_test_split(info, request)
    predicted = runtime.load(model_dir, precision=precision).classify(x).argmax(1)
    accuracy = 100 * float((predicted == y).mean())
    card = (model_dir / "model_card.md").read_text()
    graph = f"classifier{'.int8' * (precision == 'int8')}.onnx"
    stated = re.search(rf"^\| {precision} \| {re.escape(graph)} \| ([0-9.]+) % \|", card, re.MULTILINE)
    assert len(y) == (450 if info["dataset"] == "digits" else 10_000) and stated is not None
    if precision == "float32":
        assert stated[1] == f"{accuracy:.2f}" and round(accuracy / 100, 4) == info["test_accuracy"]
    else:
        assert abs(float(stated[1]) - accuracy) <= 0.1, (stated[1], accuracy)


def _score_as_the_readme_says(model_dir: Path, x: np.ndarray) -> np.ndarray:
    """The README's "Anomaly scores in other languages", step by step, in plain onnxruntime and float64 numpy,
    with model.json's score_noise: what an app in another language would write."""
    info = json.loads((model_dir / "model.json").read_text())
    encoder, decoder = (ort.InferenceSession(model_dir / f"{role}.onnx") for role in ("encoder", "decoder"))
    k, f64 = len(info["class_names"]) if info["conditional"] else 1, np.float64
    hot = {f"{column}={value}" for column, known in info.get("categories", {}).items() for value in known}
    one_hot = np.array([name in hot for name in info["input_columns"]]) if hot else False  # a category's inputs
    scores = []
    for row in x[:, None]:
        b, q = np.zeros(k), None
        for c in range(k):
            y = {"y": np.eye(k, dtype=np.float32)[c:c + 1]} if info["conditional"] else {}
            q, mu, v = (o.astype(f64) for o in encoder.run(None, {"x": row, **y}))
            z = mu + np.exp(v / 2) * np.array(info["score_noise"][c], np.float32)
            mean, second = (o.astype(f64) for o in decoder.run(None, {"z": z.astype(np.float32), **y}))
            if info["likelihood"] == "bernoulli":
                log_px = (row * second - np.maximum(second, 0) - np.log1p(np.exp(-np.abs(second)))).sum()
            else:
                terms = -(np.log(2 * np.pi) + second + (row - mean) ** 2 / np.exp(second)) / 2
                terms = np.where(one_hot, row * np.log(np.maximum(mean, 1e-30)), terms)  # a category's x log p
                log_px = terms[~np.isnan(row)].sum()  # a missing input left out
            b[c] = log_px - ((mu ** 2 + np.exp(v) - 1 - v) / 2).sum() - np.log(k)
        q = np.maximum(q[0], 1e-30)
        scores.append(-(q * (b - np.log(q))).sum() if info["conditional"] else -b[0])
    return np.array(scores)


def _with_categories(x: np.ndarray, info: dict) -> None:
    """The one-hot columns of a model's columns of categories in ``x`` (N, D) made one-hot, a category a row in
    turn, and missing (NaN in each) in every third row."""
    columns = info.get("input_columns", [])
    for name, known in info.get("categories", {}).items():
        start = columns.index(f"{name}={known[0]}")
        x[:, start:start + len(known)] = np.eye(len(known))[np.arange(len(x)) % len(known)]
        x[::3, start:start + len(known)] = np.nan


@pytest.fixture(scope="module")
def scored_exports(tmp_path_factory) -> dict[str, Path]:
    """The shipped models, and tiny exports of the other cases the score's steps tell apart: an m1 model (no
    class: one row of noise, no y, no q), an m2 of a Gaussian likelihood (x_logvar, inputs in their units) and
    one of a table (the digits as 64 columns), whose graphs fill missing inputs, and one of a table with a
    column of categories (their parity, "even" or "odd", beside the 64 columns)."""
    from conftest import TINY

    folder = tmp_path_factory.mktemp("scored")
    digits = load_digits()
    np.savez(folder / "table.npz", x=digits.data, y=digits.target)
    with open(folder / "categories.csv", "w") as f:
        f.write(",".join([*map(str, range(64)), "parity", "label"]) + "\n")
        f.writelines(",".join([*map(str, row.astype(int)), ("even", "odd")[y % 2], str(y)]) + "\n"
                     for row, y in zip(digits.data, digits.target))
    for name, settings in (("m1", dict(model="m1")), ("gaussian", dict(model="m2", likelihood="gaussian")),
                           ("table", dict(data=str(folder / "table.npz"))),
                           ("categories", dict(data=str(folder / "categories.csv")))):
        ssvae.export(ssvae.train(Config(**TINY), progress=False, **settings), folder / name)
    return {**{path.name: path for path in SHIPPED}, **{name: folder / name for name in SCORED}}


SCORED = ("m1", "gaussian", "table", "categories")  # the tiny exports of `scored_exports`


@pytest.mark.parametrize("name", [path.name for path in SHIPPED] + list(SCORED))
def test_the_readmes_score_recipe_with_model_json_noise_gives_ssvae_scores(scored_exports, name):
    """An app in Node, C# or Java could not reproduce `ssvae score` (numpy's draws were in ssvae's source
    alone), so the shipped test_scores held there only roughly: model.json holds the draws, and the README's
    steps give the same scores."""
    model_dir = scored_exports[name]
    info = json.loads((model_dir / "model.json").read_text())
    x = np.random.default_rng(1).random((3, *info["input_shape"]), dtype=np.float32)
    x[0] = 0.0
    if info.get("fills_missing"):  # a gap in a row, which the graphs fill and the sum leaves out
        x[2].reshape(-1)[[3, 40]] = np.nan
    _with_categories(x, info)
    expected = runtime.load(model_dir).score(x)
    np.testing.assert_allclose(_score_as_the_readme_says(model_dir, x), expected, rtol=1e-6)
    classes = len(info["class_names"]) if info["conditional"] else 1
    assert np.array(info["score_noise"]).shape == (classes, info["latent_dim"])


def test_the_shipped_conv_model_was_trained_by_the_accurate_recipe():
    """Its model card's `ssvae train` line, parsed by `ssvae train` itself, is `--recipe accurate` with its seed."""
    card = (ROOT / "models" / "fashion-mnist-m2-conv" / "model_card.md").read_text()
    line = next(line for line in card.splitlines() if line.startswith("- Trained with: "))
    words = shlex.split(line.split("`")[1])
    options = train.make_context("train", words[2:]).params
    shipped = config_from_options({k: v for k, v in options.items() if k not in ("out", "force", "resume", "quiet")})
    assert shipped == config_for("fashion-mnist", data_dir=shipped.data_dir, recipe="accurate", seed=2,
                                 likelihood="bernoulli")  # "auto" resolved to bernoulli by training


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> tuple[Path, list[str]]:
    """1,000 digits as uint8 images in an .npy, and the classes `ssvae predict` gives them."""
    root = tmp_path_factory.mktemp("examples")
    x = np.round(load_digits().images[:1000] * 255 / 16).astype(np.uint8)[:, None]
    np.save(root / "digits.npy", x)
    out = root / "predictions.csv"
    result = CliRunner().invoke(main, ["predict", str(MODEL), "--data", str(root / "digits.npy"), "--out", str(out),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    return root / "digits.npy", [line.split(",")[1] for line in out.read_text().splitlines()[1:]]


def _predicted(output: str) -> list[str]:
    return [row[1] for row in csv.reader(output.strip().splitlines())]


def test_plain_python_example_agrees_with_predict(images):
    data, expected = images
    result = subprocess.run([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py"), str(MODEL),
                             str(data)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _predicted(result.stdout) == expected and len(expected) == 1000


FEW_LEVELS_WARNING = ("warning: uint8 inputs that stay below 64 are divided by 255 as 8-bit images are, and read as "
                      "nearly black images: if they are images of grey levels 0..L (such as sklearn's digits, 0..16), "
                      "{} them as floats x / L\n")


def _numbers_model(tmp_path: Path) -> Path:
    """The digits model, its metadata (the graph's for Python, model.json for Node) saying that uint8 inputs are the
    numbers they are (uint8_divisor 1, a model of a table) and admitting any range."""
    folder = tmp_path / "numbers-model"
    shutil.copytree(MODEL, folder)
    graph = onnx.load(folder / "classifier.onnx")
    for entry in graph.metadata_props:
        entry.value = {"ssvae.uint8_divisor": "1", "ssvae.input_range": "null"}.get(entry.key, entry.value)
    onnx.save(graph, folder / "classifier.onnx")
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, "uint8_divisor": 1, "input_range": None}))
    return folder


def _check_the_few_levels_warning(tmp_path: Path, command: list[str], verb: str) -> None:
    """sklearn's digits as uint8 (0..16) divided by 255 are nearly black images: `ssvae predict` warns, and the
    examples, which apps copy, said nothing. They warn too, and still classify, up to a top value of 63; 8-bit
    images (64 and up) and a model whose uint8 are numbers get no warning."""
    digits = load_digits().images[:5, None]  # grey levels 0..16
    warning = FEW_LEVELS_WARNING.format(verb)
    for model, name, top, expected in ((MODEL, "levels.npy", 16, warning), (MODEL, "below.npy", 63, warning),
                                       (MODEL, "edge.npy", 64, ""), (MODEL, "bytes.npy", 255, ""),
                                       (_numbers_model(tmp_path), "numbers.npy", 16, "")):
        x = np.round(digits * top / 16).astype(np.uint8)
        assert x.max() == top
        np.save(tmp_path / name, x)
        result = subprocess.run([*command, str(model), str(tmp_path / name)], capture_output=True, text=True,
                                timeout=120)
        assert (result.returncode, result.stderr) == (0, expected) and len(_predicted(result.stdout)) == 5, name


def test_plain_python_example_warns_of_uint8_inputs_of_a_few_grey_levels(tmp_path):
    _check_the_few_levels_warning(tmp_path, [sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py")],
                                  "pass")


def test_plain_python_example_reads_folders_as_predict_does_and_refuses_bad_inputs_in_one_line(tmp_path, images):
    from PIL import Image

    data, expected = images
    x = np.load(data)[:3, 0]
    folder = tmp_path / "photos"
    folder.mkdir()
    for name, image in (("a,b.png", x[0]), ("c.gif", x[1]), ("._a.png", x[2])):  # a comma; GIF; macOS's copy
        Image.fromarray(image).save(folder / name)
    (folder / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # not an image at all
    example = [sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py"), str(MODEL)]
    result = subprocess.run([*example, str(folder)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [row[:2] for row in csv.reader(result.stdout.splitlines())] == [["a,b.png", expected[0]], ["c.gif", expected[1]]]
    Image.fromarray(np.zeros((5, 5), np.uint8)).save(folder / "big.png")
    np.save(tmp_path / "floats.npy", np.load(data)[:4].astype(np.float32))  # 0..255 as floats
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "deep").mkdir()  # 16-bit grey: Pillow's convert("L") would clip it to 255 without a word
    Image.fromarray(np.full((8, 8), 4000, np.uint16)).save(tmp_path / "deep" / "0.png")
    np.savez(tmp_path / "images.npz", images=x)
    (tmp_path / "cut.npy").write_bytes((tmp_path / "floats.npy").read_bytes()[:100])
    np.savez(tmp_path / "whole.npz", x=x)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "whole.npz").read_bytes()[:200])
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "0.png").write_bytes(b"not an image")
    np.save(tmp_path / "bool.npy", x > 3)  # became 0s and 1s
    np.save(tmp_path / "mislaid.npy", x.reshape(3, 2, 32))  # 64 values a row, in no layout the model takes
    np.save(tmp_path / "one.npy", x.reshape(3, 8, 8)[0])  # a single image, without its batch axis
    nan = x[:, None] / 255.0
    nan[1, 0, 2, 2] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    np.save(tmp_path / "huge.npy", np.full((1, 64), 1e300))  # float64 past float32: numpy's warning took two lines
    for path, message in ((folder, f"{folder / 'big.png'}: 5x5 pixels, the model takes 8x8"),
                          (tmp_path / "empty", f"{tmp_path / 'empty'}: no images (.bmp, .gif, .jfif, .jpeg, .jpg, "),
                          (tmp_path / "floats.npy", "inputs must be within [0.0, 1.0], as the model was trained"),
                          (tmp_path / "bool.npy", "inputs of dtype bool are not numbers: pass uint8 images or floats"),
                          (tmp_path / "mislaid.npy", "inputs of shape (3, 2, 32) do not fit the model: it takes (N, 1, "
                                                     "8, 8), channel-last images or flat rows of 64 numbers\n"),
                          (tmp_path / "one.npy", "inputs of shape (8, 8) do not fit the model: it takes (N, 1, 8, 8), "
                                                 "channel-last images or flat rows of 64 numbers; add a batch axis for "
                                                 "a single example (x[None])"),
                          (tmp_path / "nan.npy", "inputs must be finite: drop or mend the rows with NaN or inf"),
                          (tmp_path / "huge.npy", "inputs must be finite: drop or mend the rows with NaN or inf"),
                          (tmp_path / "x.csv", f"{tmp_path / 'x.csv'}: pass an .npz (array x), an .npy (numpy.save) or a "
                                               f"folder of images"),
                          (tmp_path / "deep", f"{tmp_path / 'deep' / '0.png'}: an image of mode I;16, and this example "
                                              f"reads 8-bit images without transparency only"),
                          (tmp_path / "images.npz", f"{tmp_path / 'images.npz'}: no array x in it (it has images): save "
                                                    f"the inputs with numpy.savez(path, x=inputs)"),
                          (tmp_path / "cut.npy", f"{tmp_path / 'cut.npy'}: cannot be read as an .npy file ("),
                          (tmp_path / "cut.npz", f"{tmp_path / 'cut.npz'}: cannot be read as an .npz file (File is "
                                                 f"not a zip file)"),
                          (tmp_path / "broken", f"{tmp_path / 'broken' / '0.png'}: cannot be read as an image ("),
                          (tmp_path / "nowhere.npy", f"{tmp_path / 'nowhere.npy'}: no such file or folder")):
        result = subprocess.run([*example, str(path)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    cut, bare = tmp_path / "cut", tmp_path / "bare"  # a graph cut short; one without ssvae's metadata
    for folder in (cut, bare):
        shutil.copytree(MODEL, folder)
    (cut / "classifier.onnx").write_bytes((MODEL / "classifier.onnx").read_bytes()[:5000])
    graph = onnx.load(str(bare / "classifier.onnx"))
    del graph.metadata_props[:]
    onnx.save(graph, str(bare / "classifier.onnx"))
    for arguments, message in (([str(tmp_path)], f"{tmp_path}: no classifier.onnx in it: pass a folder written by "
                                                 f"'ssvae export'\n"),
                               ([str(bare)], f"{bare / 'classifier.onnx'}: no ssvae metadata in it: pass a folder "
                                             f"written by 'ssvae export'\n"),
                               ([], "usage: python classify_with_onnxruntime.py MODEL_DIR INPUTS (an .npz of array x, "
                                    "an .npy or a folder of images)\n")):
        result = subprocess.run([*example[:2], *arguments, *([str(data)] if arguments else [])], capture_output=True,
                                text=True, timeout=120)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)
    shutil.copytree(MODEL, tmp_path / "signed")  # another tool's metadata beside ssvae's: plain text, no JSON
    graph = onnx.load(str(tmp_path / "signed" / "classifier.onnx"))
    onnx.helper.set_model_props(graph, {**{p.key: p.value for p in graph.metadata_props}, "author": "me"})
    onnx.save(graph, str(tmp_path / "signed" / "classifier.onnx"))
    result = subprocess.run([*example[:2], str(tmp_path / "signed"), str(data)], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0 and _predicted(result.stdout) == expected, result.stderr
    result = subprocess.run([*example[:2], str(cut), str(data)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{cut / 'classifier.onnx'}: onnxruntime {ort.__version__} cannot load it (")
    assert result.stderr.endswith("): upgrade onnxruntime, or export the model again with 'ssvae export'\n")


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_plain_python_example_resizes_images_for_a_model_trained_with_image_size(tmp_path):
    """A model trained with --image-size 6,4 (resize_images in its metadata): the example reads a folder of
    images of other sizes as `ssvae predict` does, resized, where it refuses them for other models."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for folder in ("a", "b", "unlabelled"):
        (tmp_path / "data" / folder).mkdir(parents=True)
        for k, shape in enumerate([(3, 5), (4, 6), (9, 7)] * 2):  # (height, width)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(tmp_path / "data" / folder / f"{k}.png")
    run = ssvae.train(data=str(tmp_path / "data"), image_size=(6, 4), labels=None, epochs=2, hidden=(8,),
                      classifier_hidden=(8,), latent_dim=2, progress=False)
    ssvae.export(run, tmp_path / "model")
    inputs = tmp_path / "data" / "unlabelled"
    result = subprocess.run([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py"),
                             str(tmp_path / "model"), str(inputs)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    inference.predict(runtime.load(tmp_path / "model"), inputs, tmp_path / "p.csv", progress=False)
    predicted = [row[:3] for row in csv.reader((tmp_path / "p.csv").read_text().splitlines()[1:])]
    assert [row[:2] for row in csv.reader(result.stdout.splitlines())] == [row[:2] for row in predicted]
    assert [float(row[2]) for row in csv.reader(result.stdout.splitlines())] == pytest.approx(
        [float(row[2]) for row in predicted], abs=1e-5)


def test_plain_python_example_needs_pillow_for_images_only_and_ends_quietly_for_a_reader_that_stops(tmp_path,
                                                                                                    images):
    """Without Pillow a folder is one line naming the fix, arrays are read as ever; a reader that stops early
    (| head) ends the example with the status of a closed pipe and no traceback."""
    data, expected = images
    example = [sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py"), str(MODEL)]
    (tmp_path / "no-pillow" / "PIL").mkdir(parents=True)
    (tmp_path / "no-pillow" / "PIL" / "__init__.py").write_text("raise ImportError('No module named PIL')\n")
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "a.png").write_bytes(b"")
    without_pillow = {**os.environ, "PYTHONPATH": str(tmp_path / "no-pillow")}
    result = subprocess.run([*example, str(tmp_path / "photos")], capture_output=True, text=True, timeout=120,
                            env=without_pillow)
    assert (result.returncode, result.stdout, result.stderr) == (
        1, "", f"{tmp_path / 'photos' / 'a.png'}: reading images needs Pillow: pip install Pillow, or pass an .npz or "
               f".npy\n")
    result = subprocess.run([*example, str(data)], capture_output=True, text=True, timeout=120, env=without_pillow)
    assert result.returncode == 0 and _predicted(result.stdout) == expected, result.stderr
    np.save(tmp_path / "many.npy", np.tile(np.load(data), (20, 1, 1, 1)))  # far more lines than a pipe buffers
    reader = subprocess.Popen([*example, str(tmp_path / "many.npy")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    assert reader.stdout.readline().split(",")[:2] == ["0", expected[0]]
    reader.stdout.close()
    assert reader.wait(timeout=120) == 128 + signal.SIGPIPE
    assert reader.stderr.read() == ""
    reader.stderr.close()


@pytest.fixture(scope="module")
def overflowing_row(tmp_path_factory) -> tuple[Path, Path]:
    """A model of wine's table (no input range), and three of its rows in an .npy, row 1's alcohol -3.4e38 (a
    common "no data" mark): finite, but standardised inside the graphs it overflows float32 (NaN probabilities)."""
    from sklearn.datasets import load_wine

    root = tmp_path_factory.mktemp("overflow")
    wine = load_wine()
    np.savez(root / "wine.npz", x=wine.data.astype(np.float32), y=wine.target)
    ssvae.export(ssvae.train(data=str(root / "wine.npz"), labels=30, epochs=1, progress=False), root / "model")
    x = wine.data[:3].astype(np.float32)
    x[1, 0] = np.finfo(np.float32).min
    np.save(root / "marked.npy", x)
    return root / "model", root / "marked.npy"


OVERFLOW = ("inputs overflow float32 inside the model (numbers far too large for it) (first in row 1): clean or drop "
            "those rows")


def _check_the_overflowing_row_is_refused(command: list[str], overflowing_row: tuple[Path, Path]) -> None:
    """`ssvae predict` refuses a row that overflows float32 inside the model; the examples printed a class for it
    with the confidence NaN, and status 0. They refuse it as predict does, naming the row, and print no line."""
    model, data = overflowing_row
    predicted = CliRunner().invoke(main, ["predict", str(model), "--data", str(data), "--out", "-", "--quiet"])
    assert predicted.exit_code == 1 and f"{OVERFLOW}; if they are sound" in predicted.output
    result = subprocess.run([*command, str(model), str(data)], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"{OVERFLOW}\n")


def test_plain_python_example_refuses_a_row_that_overflows_float32_inside_the_model(overflowing_row):
    _check_the_overflowing_row_is_refused([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py")],
                                          overflowing_row)


INT8_ONLY = ("{}: no classifier.onnx in it, only classifier.int8.onnx: this example loads the float32 graphs "
             "(classifier.onnx); ship them too, or change the file names in your copy of it\n")


def _int8_only(tmp_path: Path) -> Path:
    """The digits model as an app may ship it after `export --quantize int8`: its int8 graphs and model.json."""
    folder = tmp_path / "int8-only"
    folder.mkdir()
    for file in (*MODEL.glob("*.int8.onnx"), MODEL / "model.json"):
        shutil.copy(file, folder)
    return folder


def test_plain_python_example_says_what_a_folder_of_int8_graphs_alone_holds(tmp_path):
    """It said "no classifier.onnx in it: pass a folder written by 'ssvae export'" of a folder that is one."""
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    folder = _int8_only(tmp_path)
    result = subprocess.run([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py"), str(folder),
                             str(tmp_path / "x.npy")], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", INT8_ONLY.format(folder))


def needs_npm(folder: Path, package: str):
    """Skip, saying the fix, where node or the folder's npm packages are absent (.ci/run installs both)."""
    if shutil.which("node") is None:
        return pytest.mark.skipif(True, reason="node is not installed on this machine")
    return pytest.mark.skipif(not (folder / "node_modules" / package).is_dir(),
                              reason=f"run 'npm ci --ignore-scripts' in {folder} first (.ci/run does)")


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
@pytest.mark.parametrize("name", [path.name for path in SHIPPED] + list(SCORED))
def test_the_node_score_example_gives_ssvae_scores(scored_exports, name, tmp_path):
    """score.mjs, the README's steps in Node.js with model.json's noise: `ssvae score`'s scores and entropies to
    float rounding (the 6th digit of the tiny Gaussian model's millions of nats, as JavaScript computes in float64
    what numpy computes in float32), for 300 inputs (two batches of its own, one short), in its lines (it wrote
    4 decimals, 252.5134 where the CLI writes 252.513, and 0.00000 for 0)."""
    model_dir = scored_exports[name]
    info = json.loads((model_dir / "model.json").read_text())
    x = np.random.default_rng(2).random((300, *info["input_shape"]), dtype=np.float32)
    if info.get("fills_missing"):  # gaps in some rows, which the graphs fill and the sum leaves out
        x.reshape(300, -1)[::7, 5] = np.nan
    _with_categories(x, info)
    np.save(tmp_path / "x.npy", x)
    result = subprocess.run(["node", str(NODE_EXAMPLE / "score.mjs"), str(model_dir), str(tmp_path / "x.npy")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    ids, scores, entropies = zip(*(line.split(",") for line in result.stdout.splitlines()))
    assert ids == tuple(map(str, range(300)))
    model = runtime.load(model_dir)
    np.testing.assert_allclose(np.float64(scores), model.score(x), rtol=1e-5, atol=6e-5)
    np.testing.assert_allclose(np.float64(entropies), model.entropy(x), rtol=1e-5, atol=1e-12)  # 6 digits
    if name not in ("gaussian", "table", "categories"):  # millions of nats: a few units of the 6th digit apart
        _check_as_the_cli_writes(result.stdout.splitlines(), _cli_score_lines(model_dir, tmp_path / "x.npy", tmp_path))


def _node(script: str, model_dir: Path, data: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(NODE_EXAMPLE / script), str(model_dir), str(data)], capture_output=True,
                          text=True, timeout=120)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_examples_read_a_tables_records_as_ssvae_reads_its_csv(scored_exports, tmp_path):
    """classify.mjs and score.mjs take a .json of records keyed by the model's column names (records.mjs): a
    number or its text, a category's text, "", "NA" or null for a gap. Their classes, confidences and scores
    are the runtime's of the same rows written as a CSV and read by ssvae; a category the model never trained
    on is read as missing with a warning, as ssvae reads it."""
    model_dir = scored_exports["categories"]  # the digits as columns "0".."63", and "parity": even or odd
    with open(model_dir.parent / "categories.csv") as f:
        records = [{"id": f"r{k}", **row} for row, k in zip(csv.DictReader(f), range(12))]  # and the label, ignored
    records[1]["3"], records[2]["parity"], records[3]["parity"], records[4]["5"] = "", "NA", "prime", None
    records[5]["7"] = float(records[5]["7"])  # a number, not its text
    records[6]["9"], records[7]["10"], records[8]["parity"] = "-NaN", "1_0", " odd "  # float()'s nan, 10; spaces
    records[11]["id"] = None  # an empty id, as a CSV's empty cell
    (tmp_path / "rows.json").write_text(json.dumps([records[0], {f" {k} ": v for k, v in records[1].items()},
                                                    *records[2:]]))  # keys with spaces around, as a header's
    with open(tmp_path / "rows.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(records)
    model = runtime.load(model_dir)
    with pytest.warns(UserWarning) as caught:
        x = inference.model_inputs(model, data=tmp_path / "rows.csv").x
    warned = " ".join(str(warning.message) for warning in caught)
    assert "column 'parity' holds 1 category the model never trained on ('prime'" in warned
    assert "the id column, which names the rows in the output, is empty in 1 row(s)" in warned
    assert np.isnan(x[1, 3]) and np.isnan(x[2, 64:]).all() and np.isnan(x[3, 64:]).all() and np.isnan(x[4, 5])
    assert np.isnan(x[6, 9]) and x[7, 10] == 10 and x[8, 64:].tolist() == [0, 1]
    classified, scored = _node("classify.mjs", model_dir, tmp_path / "rows.json"), _node("score.mjs", model_dir,
                                                                                       tmp_path / "rows.json")
    warning = (f"warning: {tmp_path / 'rows.json'}: 'parity' holds categories the model never trained on (first "
               f"\"prime\"; it knows even, odd): read as missing\n")
    assert (classified.returncode, classified.stderr, scored.returncode, scored.stderr) == (0, warning, 0, warning)
    probabilities = model.classify(x)
    assert _predicted(classified.stdout) == [model.class_names[k] for k in probabilities.argmax(1)]
    assert [line.split(",")[0] for line in classified.stdout.split()] == [*(f"r{k}" for k in range(11)), ""]
    confidences = [float(line.split(",")[2]) for line in classified.stdout.split()]
    np.testing.assert_allclose(confidences, probabilities.max(1), atol=1e-5)
    ids, scores = zip(*(line.split(",")[:2] for line in scored.stdout.split()))
    np.testing.assert_allclose(np.float64(scores), model.score(x), rtol=1e-5)
    assert ids == (*(f"r{k}" for k in range(11)), "")


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_example_gives_ssvae_predicts_class_of_every_penguin_given_as_a_record(tmp_path):
    """The README's figure: the penguins' 344 rows (gaps, NA, islands and sexes) as records, the CSV's rows
    less the class, get the class `ssvae predict` gives the CSV."""
    from tools.make_tables import write_penguins

    from conftest import TINY

    write_penguins(tmp_path / "penguins.csv")
    ssvae.export(ssvae.train(Config(**{**TINY, "epochs": 30}), data=str(tmp_path / "penguins.csv"),
                             label_column="species", labels=6, progress=False), tmp_path / "penguins")
    with open(tmp_path / "penguins.csv") as f:
        records = [{k: v for k, v in row.items() if k != "species"} for row in csv.DictReader(f)]
    (tmp_path / "penguins.json").write_text(json.dumps(records))
    result = _node("classify.mjs", tmp_path / "penguins", tmp_path / "penguins.json")
    predicted = CliRunner().invoke(main, ["predict", str(tmp_path / "penguins"), "--data",
                                          str(tmp_path / "penguins.csv"), "--out", str(tmp_path / "labels.csv"),
                                          "--quiet"])
    assert result.returncode == 0 and predicted.exit_code == 0, result.stderr + predicted.output
    with open(tmp_path / "labels.csv") as f:
        expected = [row["predicted"] for row in csv.DictReader(f)]
    assert len(records) == 344 and _predicted(result.stdout) == expected and len(set(expected)) == 3


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
@pytest.mark.parametrize("records, problem", [
    ([{"parity": "odd"}], "record 0: no '0' in it: give every column the model takes"),
    ([{**{str(k): 1 for k in range(64)}, "parity": "odd", "3": "three"}], "record 0: '3' is not a number: \"three\""),
    ([{**{str(k): 1 for k in range(64)}, "parity": "odd", "3": "1e39"}],
     "record 0: '3' is 1e39: too large for float32, the model's numbers"),
    ([{**{str(k): 1 for k in range(64)}, "parity": "odd", "3": [2]}],
     "record 0: '3' is [2]: give a number, a text, or null for a gap"),
    ({"0": 1}, "holds no array of records: write objects keyed by the model's column names, [{\"0\": ...}, ...]"),
    ([], "holds no array of records: write objects keyed by the model's column names, [{\"0\": ...}, ...]"),
    ([{"0": 1, " 0 ": 2}], "record 0: '0' is a key twice, spaces around aside: keep one"),
    ([{**{str(k): 1 for k in range(64)}, "parity": "odd", "id": {"a": 1}}],
     "record 0: its id is {\"a\":1}: give a text or a number")])
def test_the_node_examples_refuse_records_they_cannot_read_in_one_line(scored_exports, tmp_path, records, problem):
    (tmp_path / "rows.json").write_text(json.dumps(records))
    result = _node("classify.mjs", scored_exports["categories"], tmp_path / "rows.json")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"{tmp_path / 'rows.json'}: {problem}\n")


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_records_read_categories_as_the_runtime_reads_a_tables_text():
    """records.mjs's categories as `runtime.one_hot` reads text and what pandas makes of it: True for a model
    that knows TRUE, 2.0 as 2, spaces around aside; an unknown category a gap."""
    known = ["2", "FALSE", "TRUE"]
    values = [True, "True", " TRUE ", False, 2.0, "2", "no"]
    script = ("import { fillRow, tableFields } from './records.mjs';"
              "const meta = { input_columns: ['f=2', 'f=FALSE', 'f=TRUE'], categories: { f: %s }, input_shape: [3],"
              " fills_missing: true };"
              "const rows = %s.map((f) => { const x = new Float32Array(3);"
              " fillRow(meta, tableFields(meta), { f }, x, 0, new Map()); return Array.from(x); });"
              "console.log(JSON.stringify(rows));") % (json.dumps(known), json.dumps(values))
    result = subprocess.run(["node", "--input-type=module", "-e", script], cwd=NODE_EXAMPLE, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    with pytest.warns(UserWarning, match="never trained on \\('no'"):
        expected = runtime.one_hot([True, "True", " TRUE ", False, 2.0, "2", "no"], known, "f", "the table")
    np.testing.assert_array_equal(np.array(json.loads(result.stdout), dtype=np.float32), expected)


CELLS = ["1.", ".5", "-0", "+3", "1e5", "1E-3", "1_000", "1.5_0", "1__0", "_1", "1_", "0x10", " 2 ", "1,5", "1 000",
         "-nan", "NAN", "NA", "", "inf", "1e400", "abc", "1e", "."]


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_records_read_a_number_as_ssvae_reads_a_csv_cell():
    """records.mjs's numbers as ssvae's CSV reader takes a cell: Python's float() (1_000, 1., -nan), a missing
    value a gap; what float() refuses is no number, and so are inf and numbers beyond float32 (which predict
    refuses as inf)."""
    script = ("import { fillRow, tableFields } from './records.mjs';"
              "const meta = { input_columns: ['a'], input_shape: [1], fills_missing: true };"
              "console.log(JSON.stringify(%s.map((a) => { const x = new Float32Array(1);"
              " if (fillRow(meta, tableFields(meta), { a }, x, 0, new Map()) !== null) return null;"
              " return Number.isNaN(x[0]) ? 'gap' : x[0]; })));") % json.dumps(CELLS)
    result = subprocess.run(["node", "--input-type=module", "-e", script], cwd=NODE_EXAMPLE, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr

    def cell(text: str) -> float | str | None:
        """What ssvae makes of a cell: a float32 number, a gap, or nothing it takes (None)."""
        if text.strip() in runtime.MISSING_VALUES:
            return "gap"
        try:
            value = np.float32(float(text))
        except ValueError:
            return None
        return "gap" if np.isnan(value) else None if np.isinf(value) else float(value)

    assert json.loads(result.stdout) == [cell(text) for text in CELLS]


def test_the_javascript_keeps_the_runtimes_missing_values_and_few_test_examples():
    """records.mjs's texts of a gap are the runtime's MISSING_VALUES, and the page's count of test examples too
    few for "1 in 100" is the model card's FEW_FOR_Q99: copies in another language, held to the originals."""
    from ssvae.model_card import FEW_FOR_Q99

    records = (NODE_EXAMPLE / "records.mjs").read_text()
    missing = re.search(r"export const MISSING = new Set\((\[.*?\])\);", records)[1]
    assert set(json.loads(missing)) == runtime.MISSING_VALUES
    assert re.search(r"if \(!\(n < (\d+)\)\) return", (WEB_DEMO / "demo.js").read_text())[1] == str(FEW_FOR_Q99)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_examples_refuse_records_for_a_model_without_column_names(scored_exports, tmp_path):
    shutil.copytree(scored_exports["categories"], tmp_path / "old")
    meta = json.loads((tmp_path / "old" / "model.json").read_text())
    del meta["input_columns"]  # as an export of a CSV run too old to know its columns' names writes it
    (tmp_path / "old" / "model.json").write_text(json.dumps({**meta, "dataset": "old.csv"}))
    (tmp_path / "rows.json").write_text("[{}]")
    result = _node("classify.mjs", tmp_path / "old", tmp_path / "rows.json")
    assert (result.returncode, result.stderr) == (1, f"{tmp_path / 'rows.json'}: this model was trained on a CSV "
                                                     f"before ssvae kept its column names, so records cannot be read "
                                                     f"by name: train it again, or pass an .npy of the columns in "
                                                     f"the training CSV's order\n")


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_examples_refuse_records_for_a_model_of_images_and_unreadable_json(tmp_path):
    (tmp_path / "rows.json").write_text('[{"a": 1}')
    result = _node("classify.mjs", MODEL, tmp_path / "rows.json")
    assert (result.returncode, result.stderr) == (1, f"{tmp_path / 'rows.json'}: records are a table's rows, and the "
                                                     f"model takes images: pass an .npy of them\n")
    model_dir = tmp_path / "table"
    rows = ["a,b,label", *(f"{k % 5},{k % 3},{k % 2}" for k in range(40))]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    ssvae.export(ssvae.train(data=str(tmp_path / "t.csv"), model="supervised", labels=None, epochs=1, progress=False),
                 model_dir)
    result = _node("classify.mjs", model_dir, tmp_path / "rows.json")
    assert result.returncode == 1 and result.stderr.startswith(f"{tmp_path / 'rows.json'}: not readable JSON (")
    assert result.stderr.endswith("): write an array of records\n")


def _cli_score_lines(model_dir: Path, data: Path, tmp_path: Path) -> list[str]:
    """`ssvae score`'s lines of ``data``, less its header, in input order (it writes the highest score first)."""
    result = CliRunner().invoke(main, ["score", str(model_dir), "--data", str(data), "--out", str(tmp_path / "s.csv"),
                                       "--quiet"])
    assert result.exit_code == 0, result.output
    return sorted((tmp_path / "s.csv").read_text().splitlines()[1:], key=lambda line: int(line.split(",")[0]))


def _check_as_the_cli_writes(ours: list[str], cli: list[str]) -> None:
    """Lines of score.mjs are the CLI's byte for byte (%.6g), but for a 6th digit one apart, where its float64
    sums and numpy's float32 ones round to either side (a few lines in a hundred)."""
    assert len(ours) == len(cli)
    for line, written in zip(ours, cli):
        for field, expected in zip(line.split(","), written.split(","), strict=True):
            unit = 10.0 ** (np.floor(np.log10(abs(float(expected)) or 1)) - 5)  # one in the 6th digit
            close = field == expected or abs(float(field) - float(expected)) <= 1.01 * unit
            assert field == f"{float(field):.6g}" and close, (line, written)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_examples_take_gaps_where_the_model_fills_them_and_refuse_inf(scored_exports, tmp_path):
    """A model that fills_missing: both examples classify rows with NaN as the runtime does, and refuse inf in one
    line; a model that does not still refuses NaN."""
    model_dir = scored_exports["table"]
    x = np.random.default_rng(3).random((20, 64), dtype=np.float32)
    x.reshape(20, -1)[::3, [2, 30]] = np.nan
    np.save(tmp_path / "gaps.npy", x)
    expected = [str(k) for k in runtime.load(model_dir).classify(x).argmax(-1)]
    np.save(tmp_path / "inf.npy", np.where(np.isnan(x), np.inf, x))
    for command in ([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py")],
                    ["node", str(NODE_EXAMPLE / "classify.mjs")]):
        result = subprocess.run([*command, str(model_dir), str(tmp_path / "gaps.npy")], capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 0 and _predicted(result.stdout) == expected, result.stderr
        for model, data, message in (
                (model_dir, "inf.npy", "inputs must hold no inf: drop or mend the rows with inf\n"),
                (MODEL, "gaps.npy", "inputs must be finite: drop or mend the rows with NaN or inf\n")):
            result = subprocess.run([*command, str(model), str(tmp_path / data)], capture_output=True, text=True,
                                    timeout=120)
            assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_examples_take_a_category_as_one_1_among_0s_or_nan_and_refuse_other_one_hot_inputs(scored_exports,
                                                                                               tmp_path):
    """An .npy of a table with a column of categories: its one-hot inputs as the runtime takes them (one 1
    among 0s, or probabilities, or NaN in them all for a missing category); two 1s refused in one line, as the
    runtime does."""
    model_dir = scored_exports["categories"]
    x = np.zeros((3, 66), np.float32)
    x[:, :64] = load_digits().data[:3]
    x[0, 64], x[1, 65], x[2, 64:] = 0.3, 1, np.nan  # mostly odd (as generate gives them), odd, missing
    x[0, 65] = 0.7
    np.save(tmp_path / "rows.npy", x)
    expected = [str(k) for k in runtime.load(model_dir).classify(x).argmax(-1)]
    x[1, 64] = 1
    np.save(tmp_path / "both.npy", x)
    with pytest.raises(runtime.InputRowError, match=r"^the one-hot columns of 'parity' .* \(first in row 1\)"):
        runtime.load(model_dir).classify(x)
    message = ("row 1: the one-hot inputs of 'parity' hold other than a category: give each row a 1 in its "
               "category's column and 0 in the others, or 0s or NaN in them all for a missing category\n")
    for command in ([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py")],
                    ["node", str(NODE_EXAMPLE / "classify.mjs")]):
        result = subprocess.run([*command, str(model_dir), str(tmp_path / "rows.npy")], capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 0 and _predicted(result.stdout) == expected, result.stderr
        result = subprocess.run([*command, str(model_dir), str(tmp_path / "both.npy")], capture_output=True,
                                text=True, timeout=120)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_examples_refuse_a_model_format_they_do_not_read_and_score_no_classifier_alone(tmp_path):
    """A model.json of another format is refused, as the runtime refuses it; score.mjs of a supervised model
    says it needs a generative one, where it said to export the run again, which gives no encoder either."""
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    meta = json.loads((MODEL / "model.json").read_text())
    for name, changed, script, message in (
            ("newer", {"format": 2}, "classify.mjs", f"{tmp_path / 'newer' / 'model.json'}: model format 2, but this "
             "example reads format 1: use the examples of the ssvae that exported it, or export the run again\n"),
            ("supervised", {"model": "supervised"}, "score.mjs", f"{tmp_path / 'supervised'} has no encoder and "
             "decoder (supervised model): scores need a generative model (m2, adgm, m1+m2 or m1)\n")):
        shutil.copytree(MODEL, tmp_path / name)
        (tmp_path / name / "model.json").write_text(json.dumps({**meta, **changed}))
        result = _node(script, tmp_path / name, tmp_path / "x.npy")
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_examples_send_onnxruntime_no_usage_events_and_keep_no_device_id(tmp_path):
    """onnxruntime's official builds keep a device id and a database of usage events under ~/.cache unless
    ORT_DISABLE_TELEMETRY is set before they load: the examples an app copies set it, as ssvae.runtime does."""
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    home = tmp_path / "home"
    home.mkdir()
    env = {**{k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}, "HOME": str(home)}
    for command in ([sys.executable, str(ROOT / "tools/examples/classify_with_onnxruntime.py")],
                    ["node", str(NODE_EXAMPLE / "classify.mjs")], ["node", str(NODE_EXAMPLE / "score.mjs")]):
        result = subprocess.run([*command, str(MODEL), str(tmp_path / "x.npy")], capture_output=True, text=True,
                                timeout=120, env=env)
        assert result.returncode == 0 and len(result.stdout.splitlines()) == 2, result.stderr
    assert [path.relative_to(home) for path in home.rglob("*") if path.is_file()] == []


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_score_example_says_what_a_folder_without_score_noise_lacks(tmp_path):
    folder = tmp_path / "old"
    shutil.copytree(MODEL, folder)
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "score_noise"}))
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    result = subprocess.run(["node", str(NODE_EXAMPLE / "score.mjs"), str(folder), str(tmp_path / "x.npy")],
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (f"{folder}: model.json holds no score_noise (a classifier alone, or an export before "
                             f"ssvae wrote it): export the run again with 'ssvae export'\n")


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_the_node_score_example_scores_a_row_that_overflows_float32_inf_as_ssvae_does(overflowing_row, tmp_path):
    """The README's recipe and `ssvae score` rank such a row first: score inf, entropy log K (as unsure as can be).
    score.mjs wrote "Infinity" and "NaN"."""
    model, data = overflowing_row
    result = subprocess.run(["node", str(NODE_EXAMPLE / "score.mjs"), str(model), str(data)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    with pytest.warns(UserWarning, match=r"marked.npy: 1 row\(s\) hold values far outside those the model was "
                                         r"trained on"):  # what ssvae score says of the row, beside its score
        written = _cli_score_lines(model, data, tmp_path)
    assert result.stdout.splitlines()[1] == written[1] == f"1,inf,{np.log(3):.6g}"
    _check_as_the_cli_writes(result.stdout.splitlines(), written)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_node_example_refuses_a_row_that_overflows_float32_inside_the_model(overflowing_row):
    _check_the_overflowing_row_is_refused(["node", str(NODE_EXAMPLE / "classify.mjs")], overflowing_row)


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
@pytest.mark.parametrize("example", ["classify.mjs", "score.mjs"])
def test_node_examples_say_what_a_folder_of_int8_graphs_alone_holds(tmp_path, example):
    np.save(tmp_path / "x.npy", np.zeros((2, 1, 8, 8), np.float32))
    folder = _int8_only(tmp_path)
    result = subprocess.run(["node", str(NODE_EXAMPLE / example), str(folder), str(tmp_path / "x.npy")],
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", INT8_ONLY.format(folder))


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_node_example_warns_of_uint8_inputs_of_a_few_grey_levels(tmp_path):
    _check_the_few_levels_warning(tmp_path, ["node", str(NODE_EXAMPLE / "classify.mjs")], "save")


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_node_example_agrees_with_predict(images):
    data, expected = images
    result = subprocess.run(["node", "classify.mjs", str(MODEL), str(data)], cwd=NODE_EXAMPLE, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert _predicted(result.stdout) == expected


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_node_example_reads_float64_quotes_class_names_and_refuses_bad_inputs_in_one_line(tmp_path, images):
    data, expected = images
    model = tmp_path / "model"
    shutil.copytree(MODEL, model)
    meta = json.loads((model / "model.json").read_text())  # what the example reads of it
    (model / "model.json").write_text(json.dumps({**meta, "class_names": [f"{k}, or so" for k in range(10)]}))
    np.save(tmp_path / "float64.npy", np.load(data)[:50] / 255.0)
    result = subprocess.run(["node", "classify.mjs", str(model), str(tmp_path / "float64.npy")], cwd=NODE_EXAMPLE,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [row[1] for row in csv.reader(result.stdout.splitlines())] == [f"{k}, or so" for k in expected[:50]]
    np.save(tmp_path / "floats.npy", np.load(data)[:4].astype(np.float32))  # 0..255 as floats
    np.save(tmp_path / "int64.npy", np.load(data)[:4].astype(np.int64))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "floats.npy").read_bytes()[:300])
    (tmp_path / "header.npy").write_bytes(b"\x93NUMPY\x01\x00")  # the magic and version alone
    np.save(tmp_path / "mislaid.npy", np.load(data)[:3].reshape(3, 2, 32))
    np.save(tmp_path / "one.npy", np.load(data)[0].reshape(64))  # a single flat row, without its batch axis
    for path, message in ((tmp_path / "floats.npy", "inputs must be within [0, 1], as the model was trained"),
                          (tmp_path / "mislaid.npy", "inputs of shape (3, 2, 32) do not fit the model: it takes (N, 1, "
                                                     "8, 8), channel-last images or flat rows of 64 numbers\n"),
                          (tmp_path / "one.npy", "inputs of shape (64) do not fit the model: it takes (N, 1, 8, 8), "
                                                 "channel-last images or flat rows of 64 numbers; save a single "
                                                 "example with a batch axis (x[None])"),
                          (tmp_path, f"{tmp_path}: a folder: pass an .npy file (numpy.save)"),
                          (model / "model_card.md", f"{model / 'model_card.md'}: not an .npy file: save the array "
                                                    f"with numpy.save"),
                          (tmp_path / "nowhere.npy", f"{tmp_path / 'nowhere.npy'}: no such file: pass an .npy file"),
                          (tmp_path / "cut.npy", f"{tmp_path / 'cut.npy'}: holds 172 bytes of data where shape "
                                                 f"(4,1,8,8) needs 1024: the file is cut short; save it again"),
                          (tmp_path / "header.npy", f"{tmp_path / 'header.npy'}: its .npy header is cut short or "
                                                    f"damaged: save the array again with numpy.save"),
                          (tmp_path / "int64.npy", f"{tmp_path / 'int64.npy'}: dtype <i8 is not uint8, float32 or "
                                                   f"float64: save x.astype(\"uint8\") for images 0..255")):
        result = subprocess.run(["node", "classify.mjs", str(model), str(path)], cwd=NODE_EXAMPLE, capture_output=True,
                                text=True, timeout=120)
        assert result.returncode == 1 and result.stdout == ""
        assert result.stderr.startswith(message) and result.stderr.count("\n") == 1
    real = tmp_path / "real"  # a model of real values has no input range: inf is refused all the same
    shutil.copytree(model, real)
    (real / "model.json").write_text(json.dumps({**meta, "input_range": None, "uint8_divisor": 1}))
    np.save(tmp_path / "inf.npy", np.where(np.arange(4)[:, None, None, None] == 2, np.inf, np.zeros((4, 1, 8, 8))))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "model.json").write_text("{not json")
    (tmp_path / "broken" / "classifier.onnx").write_bytes((MODEL / "classifier.onnx").read_bytes()[:5000])
    (tmp_path / "keyless").mkdir()
    (tmp_path / "keyless" / "model.json").write_text("{}")
    shutil.copy(MODEL / "classifier.onnx", tmp_path / "keyless")
    for arguments, message in (([str(real), str(tmp_path / "inf.npy")], "inputs must be finite: drop or mend the rows "
                                                                       "with NaN or inf\n"),
                               ([str(tmp_path / "keyless"), str(data)], f"{tmp_path / 'keyless' / 'model.json'}: no "
                                                                        f"input_shape, class_names or uint8_divisor in "
                                                                        f"it: export the run again"),
                               ([str(tmp_path / "broken"), str(data)], f"{tmp_path / 'broken' / 'model.json'}: not "
                                                                      f"readable JSON (")):
        result = subprocess.run(["node", "classify.mjs", *arguments], cwd=NODE_EXAMPLE, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 1 and result.stdout == "" and result.stderr.startswith(message)
        assert result.stderr.count("\n") == 1
    (tmp_path / "broken" / "model.json").write_text(json.dumps(meta))  # the graph, cut short, is then what fails
    result = subprocess.run(["node", "classify.mjs", str(tmp_path / "broken"), str(data)], cwd=NODE_EXAMPLE,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and result.stdout == "" and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"{tmp_path / 'broken' / 'classifier.onnx'}: onnxruntime cannot load it (")
    (model / "model.json").unlink()  # an export older than model.json: the runtime loads it, this example cannot
    for arguments, message in (([str(model), str(data)], f"{model}: no model.json in it (exports before ssvae wrote "
                                                         f"one): export the run again with 'ssvae export'\n"),
                               ([str(tmp_path), str(data)], f"{tmp_path}: no classifier.onnx in it: pass a folder "
                                                            f"written by 'ssvae export'\n"),
                               ([], "usage: node classify.mjs MODEL_DIR INPUTS.npy\n")):
        result = subprocess.run(["node", "classify.mjs", *arguments], cwd=NODE_EXAMPLE, capture_output=True, text=True,
                                timeout=120)
        assert (result.returncode, result.stdout, result.stderr) == (1, "", message)
    np.save(tmp_path / "none.npy", np.zeros((0, 1, 8, 8), np.uint8))
    result = subprocess.run(["node", "classify.mjs", str(MODEL), str(tmp_path / "none.npy")], cwd=NODE_EXAMPLE,
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")  # no rows: no line, not a blank one


@pytest.fixture(scope="module")
def colour_classifier(tmp_path_factory) -> tuple[Path, Path, np.ndarray, ssvae.Run]:
    """A supervised model of 6x6 colour images of your own (an .npz, channel-first), exported: a model with
    no decoder, of no built-in data set; with the .npz, 40 of its images channel-last, as uint8, and the run."""
    root = tmp_path_factory.mktemp("colour")
    rng = np.random.default_rng(0)
    y = np.arange(90) % 3
    x = (rng.integers(0, 120, (90, 3, 6, 6)) + 120 * (np.arange(3)[None, :, None, None] == y[:, None, None, None]))
    np.savez(root / "colours.npz", x=x.astype(np.uint8), y=y)
    run = ssvae.train(Config(data=str(root / "colours.npz"), model="supervised", labels=30, epochs=20,
                             classifier_hidden=(16,)), progress=False)
    ssvae.export(run, root / "model")
    return root / "model", root / "colours.npz", np.moveaxis(x[:40].astype(np.uint8), 1, -1), run


def test_python_reads_channel_last_colour_images_as_training_does(colour_classifier):
    """Training takes an .npz of (N, H, W, C) images channel-first; so do the runtime and a run."""
    model_dir, _, channel_last, run = colour_classifier
    channel_first = np.moveaxis(channel_last, -1, 1)
    model = runtime.load(model_dir)
    np.testing.assert_array_equal(model.classify(channel_last), model.classify(channel_first))
    np.testing.assert_array_equal(run.classify(channel_last), run.classify(channel_first))
    assert len(set(model.classify(channel_last).argmax(1))) == 3
    with pytest.raises(runtime.ModelError, match=r"takes \(N, 3, 6, 6\), \(N, 6, 6, 3\) or \(N, 108\)$"):
        model.classify(channel_last[:, :5])


@needs_npm(NODE_EXAMPLE, "onnxruntime-node")
def test_node_example_reads_channel_last_colour_images(tmp_path, colour_classifier):
    model_dir, _, channel_last, _ = colour_classifier
    np.save(tmp_path / "colours.npy", channel_last)
    result = subprocess.run(["node", "classify.mjs", str(model_dir), str(tmp_path / "colours.npy")], cwd=NODE_EXAMPLE,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    probabilities = runtime.load(model_dir).classify(np.moveaxis(channel_last, -1, 1))
    classes = [json.loads((model_dir / "model.json").read_text())["class_names"][k] for k in probabilities.argmax(1)]
    assert _predicted(result.stdout) == classes and len(set(classes)) == 3  # it learnt: every class predicted
    confidences = [float(line.split(",")[2]) for line in result.stdout.split()]
    np.testing.assert_allclose(confidences, probabilities.max(1), atol=1e-5)


def drive_page(model_dir: Path, sample: int, screenshot: Path, inputs: list | None = None, edits: list | None = None,
               data: str | None = None) -> dict:
    """What the demo page of ``model_dir`` shows in headless Chromium (tools/web-demo/test/drive.mjs): of its
    input ``sample``, and given them, the class of each of ``inputs`` (flat rows) and what it shows after each
    of ``edits`` of its form (lists of [column, value])."""
    from serve import serve_in_background

    options = []
    for name, value in (("inputs", None if inputs is None else {"inputs": inputs}), ("edits", edits)):
        if value is not None:
            path = screenshot.with_name(f"{screenshot.stem}-{name}.json")
            path.write_text(json.dumps(value))
            options += [f"--{name}", str(path)]
    server, url = serve_in_background(model_dir, data=data)
    try:
        result = subprocess.run(["node", "test/drive.mjs", url, str(sample), str(screenshot), *options], cwd=WEB_DEMO,
                                capture_output=True, text=True, timeout=180, env={**os.environ, "CHROMIUM": CHROMIUM})
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


needs_a_browser = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is not installed (apt-get install "
                                                                         "chromium)")
@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_classifies_like_python_and_regenerates(tmp_path, images):
    from serve import sample_inputs

    data, expected_classes = images
    screenshot = tmp_path / "demo.png"
    page = drive_page(MODEL, 3, screenshot, (np.load(data).reshape(1000, -1) / 255).round(6).tolist())
    assert page["errors"] == []
    sample = np.array(json.loads(sample_inputs(MODEL, None))["inputs"][3], dtype=np.float32).reshape(1, 1, 8, 8)
    expected = runtime.load(MODEL).classify(sample)[0]
    assert page["top"] == str(int(expected.argmax()))
    np.testing.assert_allclose(page["probabilities"], expected, atol=1e-4)
    assert page["score"] == pytest.approx(runtime.load(MODEL).score(sample)[0], rel=1e-5)  # ssvae score's
    q99 = runtime.load(MODEL).test_scores["quantiles"]["0.99"]
    assert page["scoreLine"] == (f"Anomaly score: {page['score']:.2f} nats, below the 99th percentile of the test "
                                 f"examples' ({q99:.2f})")
    assert page["scribble"]["score"] > q99  # a cross drawn with the mouse: unlike any digit
    assert page["scribble"]["line"] == (f"Anomaly score: {page['scribble']['score']:.2f} nats, above the 99th "
                                        f"percentile of the test examples' ({q99:.2f})")
    assert page["changed"], "moving the z0 slider did not change the generated image"
    assert page["classChoice"]  # an m2 decoder draws the class picked
    assert page["batch"] == expected_classes  # the page's classifier on the same 1,000 images
    assert screenshot.stat().st_size > 10_000
    print(f"page load to first prediction: {page['loadToFirstPrediction']} ms")


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_of_a_classifier_of_your_own_data(tmp_path, colour_classifier):
    from serve import sample_inputs

    model_dir, data, _, _ = colour_classifier
    with pytest.raises(SystemExit, match="trained on colours.npz, not a built-in data set: pass --data"):
        sample_inputs(model_dir, None)
    page = drive_page(model_dir, 3, tmp_path / "demo.png", data=str(data))
    x = np.load(data)["x"]
    expected = runtime.load(model_dir).classify(x[14:15])[0]  # the page's 4th image: rows spread over 90
    assert page["errors"] == [] and page["changed"] is None  # no decoder: the Generate panel is hidden
    assert page["score"] is None  # nor a score
    np.testing.assert_allclose(page["probabilities"], expected, atol=1e-4)
    shown = json.loads(sample_inputs(model_dir, None, str(data)))
    assert shown["captions"][:4] == ["0", "5", "9", "14"] and shown["captions"][-1] == "89"  # row ids, 89/19 apart
    assert len(shown["captions"]) == 20 and shown["range"] == [0, 1]  # uint8 images


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_of_an_m1_model_offers_no_class_to_draw(tmp_path):
    from serve import sample_inputs

    ssvae.export(ssvae.train(model="m1", epochs=10, m1_hidden=(16,), m1_latent_dim=4,
                             progress=False), tmp_path / "m1")
    page = drive_page(tmp_path / "m1", 0, tmp_path / "demo.png")
    assert page["errors"] == [] and page["changed"] and not page["classChoice"]  # its decoder takes no class
    sample = np.array(json.loads(sample_inputs(tmp_path / "m1", None))["inputs"][0], np.float32).reshape(1, 1, 8, 8)
    assert page["score"] == pytest.approx(runtime.load(tmp_path / "m1").score(sample)[0], rel=1e-5)  # no y, no q


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_of_a_generative_models_classifier_shipped_alone_classifies(tmp_path):
    """A folder of classifier.onnx and model.json alone, as the README lets an app that only labels data ship
    (its model.json still lists the decoder): the page classifies and offers nothing to generate."""
    shutil.copytree(MODEL, tmp_path / "labels-only")
    for graph in [*(tmp_path / "labels-only").glob("encoder*.onnx"), *(tmp_path / "labels-only").glob("decoder*.onnx")]:
        graph.unlink()
    assert "decoder" in json.loads((tmp_path / "labels-only" / "model.json").read_text())["graphs"]
    page = drive_page(tmp_path / "labels-only", 3, tmp_path / "demo.png")
    assert page["errors"] == [] and page["changed"] is None and not page["classChoice"] and page["score"] is None
    assert page["probabilities"] == drive_page(MODEL, 3, tmp_path / "whole.png")["probabilities"]


@needs_npm(WEB_DEMO, "onnxruntime-web")
def test_the_demo_server_takes_a_model_folder_written_with_a_tilde(tmp_path, monkeypatch):
    """``~/digits`` is the folder in the home folder, as runtime.load reads it: its model.json was said to be
    missing, and the page's files were looked for in a folder named "~"."""
    from urllib.request import urlopen

    from serve import sample_inputs, serve_in_background

    monkeypatch.setenv("HOME", str(tmp_path))
    shutil.copytree(MODEL, tmp_path / "digits")
    assert sample_inputs("~/digits", None) == sample_inputs(tmp_path / "digits", None)
    server, url = serve_in_background("~/digits")
    try:
        with urlopen(f"{url}model/model.json", timeout=30) as response:
            assert response.read() == (tmp_path / "digits" / "model.json").read_bytes()
    finally:
        server.shutdown()


def _sizes_table(path: Path) -> None:
    """120 rows of three classes (small, medium, large) in turn: two numbers (weight whole) and a column of
    categories (shade) that follow the class, with gaps (row 0 has two)."""
    rng = np.random.default_rng(0)
    with open(path, "w") as f:
        f.write("length,weight,shade,label\n")
        for k in range(120):
            y = k % 3
            length = "" if k % 7 == 0 else f"{10 * y + rng.normal():.2f}"
            shade = "" if k % 11 == 0 else ("light", "mid", "dark")[y if rng.random() < 0.8 else (y + 1) % 3]
            f.write(f"{length},{-5 * y + 3 * rng.normal():.0f},{shade},{('small', 'medium', 'large')[y]}\n")


def _as_rows(inputs: list[list[float | None]]) -> np.ndarray:
    """samples.json's rows as the runtime takes them: null, a missing input, as NaN."""
    return np.array([[np.nan if v is None else v for v in row] for row in inputs], dtype=np.float32)


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_of_a_table_fills_its_form_classifies_and_scores_like_python_and_generates_rows(tmp_path):
    """A model of a table with a column of categories and gaps: the page shows rows of --data in a form of the
    model's columns (row 0 with two gaps) and classifies and scores them as the runtime does, once edited too
    (gaps filled, a number or a category left out; a number too large for float32 named); it generates rows as
    the decoder gives them, a column of categories by its likeliest category."""
    from serve import sample_inputs

    from conftest import TINY
    from ssvae.model_card import above_q99

    _sizes_table(tmp_path / "sizes.csv")
    ssvae.export(ssvae.train(Config(**{**TINY, "epochs": 30, "labels": 15}), data=str(tmp_path / "sizes.csv"),
                             progress=False),
                 tmp_path / "sizes")
    model = runtime.load(tmp_path / "sizes")
    assert model.input_columns == ("length", "weight", "shade=dark", "shade=light", "shade=mid")
    shown = json.loads(sample_inputs(tmp_path / "sizes", None, str(tmp_path / "sizes.csv")))
    assert shown["range"] is None and shown["captions"][:4] == ["0", "6", "13", "19"]  # rows 119/19 apart
    assert shown["inputs"][0][0] is None and shown["inputs"][0][2:] == [None] * 3  # row 0's gaps
    edits = [[["length", "12.5"], ["shade", "mid"]], [["length", "3"], ["shade", "(missing)"]], [["weight", "1e39"]]]
    page = drive_page(tmp_path / "sizes", 0, tmp_path / "demo.png", shown["inputs"], edits, str(tmp_path / "sizes.csv"))
    assert page["errors"] == [] and page["changed"] and page["classChoice"]
    rows = _as_rows(shown["inputs"])
    np.testing.assert_allclose(page["probabilities"], model.classify(rows[:1])[0], atol=1e-4)
    assert page["top"] == model.class_names[model.classify(rows[:1])[0].argmax()]
    assert page["score"] == pytest.approx(model.score(rows[:1])[0], rel=1e-5)  # of the values it holds
    assert page["scoreLine"] == (f"Anomaly score of the values it holds: {page['score']:.2f} nats (compare it with "
                                 f"rows of the same gaps)")
    filled, half = rows[:1].copy(), rows[:1].copy()
    filled[0, 0], filled[0, 2:] = 12.5, [0, 0, 1]  # the gaps filled: shade "mid"
    half[0, 0] = 3  # shade still missing
    q99 = model.test_scores["quantiles"]["0.99"]
    for edited, expected in zip(page["edits"], (filled, half)):
        np.testing.assert_allclose(edited["probabilities"], model.classify(expected)[0], atol=1e-4)
        assert edited["score"] == pytest.approx(model.score(expected)[0], rel=1e-5)
    n = model.test_scores["n"]  # too few for "1 in 100" (ssvae.model_card.above_q99)
    assert n == 30 and round(1 / above_q99(n)) == 24
    assert page["edits"][0]["scoreLine"] == (f"Anomaly score: {page['edits'][0]['score']:.2f} nats, "
                                             f"{'above' if page['edits'][0]['score'] > q99 else 'below'} the 99th "
                                             f"percentile of the test examples' ({q99:.2f}): from 30 test examples, "
                                             f"an example like them lies above it about 1 time in 24")
    assert page["edits"][2] == {"problem": "'weight' is 1e39: too large for float32, the model's numbers"}
    assert page["batch"] == [model.class_names[k] for k in model.classify(rows).argmax(1)]
    z = np.array([[2.5, 0, 0, 0]], dtype=np.float32)
    mean = model.decode(z, model.class_names[0])[0]  # the page's Generate panel: its first class, z0 at 2.5
    np.testing.assert_allclose(page["generated"]["values"], mean, atol=1e-4)
    names, values = zip(*(line.split("\t") for line in page["generated"]["row"]))
    assert names == ("length", "weight", "shade")
    assert float(values[0]) == pytest.approx(mean[0], rel=1e-3)  # four significant digits
    assert model.whole_inputs == (1,) and values[1] == str(int(model.as_data(mean)[1]))  # as generate writes it
    likeliest = mean[2:].argmax()
    assert values[2] == f"{('dark', 'light', 'mid')[likeliest]} ({round(100 * mean[2 + likeliest])} %)"


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_of_a_table_whose_model_takes_no_gaps_asks_for_every_value_in_its_range(tmp_path):
    from serve import sample_inputs

    rng = np.random.default_rng(0)
    rows = ["a,b,label", *(f"{v:.3f},{rng.random():.3f},{int(v > 0.5)}" for v in rng.random(60))]
    (tmp_path / "unit.csv").write_text("\n".join(rows) + "\n")
    ssvae.export(ssvae.train(data=str(tmp_path / "unit.csv"), likelihood="bernoulli", labels=None, epochs=2,
                             progress=False),
                 tmp_path / "unit")
    edits = [[["a", ""]], [["a", "2"]], [["a", "0.25"]]]
    page = drive_page(tmp_path / "unit", 1, tmp_path / "demo.png", edits=edits, data=str(tmp_path / "unit.csv"))
    assert page["errors"] == [] and page["changed"]
    shown = json.loads(sample_inputs(tmp_path / "unit", None, str(tmp_path / "unit.csv")))
    model, row = runtime.load(tmp_path / "unit"), _as_rows(shown["inputs"][1:2])
    np.testing.assert_allclose(page["probabilities"], model.classify(row)[0], atol=1e-4)
    assert page["score"] == pytest.approx(model.score(row)[0], rel=1e-5)  # of a Bernoulli likelihood
    assert page["edits"][:2] == [{"problem": "'a' is missing, and this model fills no gaps: give it a value"},
                                 {"problem": "'a' is 2, outside the model's range [0, 1]"}]
    row[0, 0] = 0.25
    np.testing.assert_allclose(page["edits"][2]["probabilities"], model.classify(row)[0], atol=1e-4)


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_of_rows_of_an_npz_names_their_columns_x0_x1_and_so_on(tmp_path):
    """Rows of an .npz have no column names (model.json's input_columns is empty): the form and the generated
    row name them as generate's CSV does."""
    rng = np.random.default_rng(0)
    y = np.arange(60) % 2
    np.savez(tmp_path / "rows.npz", x=(rng.normal(size=(60, 3)) + 2 * y[:, None]).astype(np.float32), y=y)
    ssvae.export(ssvae.train(data=str(tmp_path / "rows.npz"), labels=None, epochs=2, progress=False), tmp_path / "rows")
    model = runtime.load(tmp_path / "rows")
    assert json.loads((tmp_path / "rows" / "model.json").read_text())["input_columns"] == []
    page = drive_page(tmp_path / "rows", 5, tmp_path / "demo.png", edits=[[["x1", "0.5"]]],
                      data=str(tmp_path / "rows.npz"))
    assert page["errors"] == []
    x = np.load(tmp_path / "rows.npz")["x"]
    np.testing.assert_allclose(page["probabilities"], model.classify(x[16:17])[0], atol=1e-4)  # 59/19 apart
    x[16, 1] = 0.5
    np.testing.assert_allclose(page["edits"][0]["probabilities"], model.classify(x[16:17])[0], atol=1e-4)
    assert [line.split("\t")[0] for line in page["generated"]["row"]] == ["x0", "x1", "x2"]


@needs_npm(WEB_DEMO, "playwright-core")
@needs_a_browser
def test_browser_demo_names_an_input_that_overflows_float32_inside_the_model(overflowing_row, tmp_path):
    model, data = overflowing_row
    page = drive_page(model, 1, tmp_path / "demo.png", data=str(data))
    assert page["errors"] == [] and page["probabilities"] is None and page["score"] is None
    assert page["problem"] == "too far from the training data: the model's float32 arithmetic overflows on it"


def test_the_demo_server_asks_for_a_tables_rows_and_refuses_bad_arguments_in_one_line(tmp_path):
    from serve import sample_inputs

    rows = ["a,b,c,label", *(f"{k * 7 % 40},{k % 3},{-k},{k % 2}" for k in range(40))]  # a: no count of the rows
    (tmp_path / "table.csv").write_text("\n".join(rows) + "\n")
    ssvae.export(ssvae.train(data=str(tmp_path / "table.csv"), model="supervised", labels=None, epochs=2,
                             progress=False),
                 tmp_path / "table")
    with pytest.raises(SystemExit, match="table was trained on table.csv, not a built-in data set: pass --data "
                                         "FILE_OR_FOLDER with rows of its table for the page$"):
        sample_inputs(tmp_path / "table", None)
    result = subprocess.run([sys.executable, "serve.py", str(tmp_path / "nowhere")], cwd=WEB_DEMO,
                            capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 1
    assert result.stderr == (f"{tmp_path / 'nowhere'}: no such model folder; make one with 'ssvae export RUN_DIR "
                             f"--out {tmp_path / 'nowhere'}'\n")
    shutil.copytree(MODEL, tmp_path / "old")
    (tmp_path / "old" / "model.json").unlink()  # an export before model.json: the runtime loads it, the page cannot
    with pytest.raises(SystemExit, match=r"old: no model.json in it \(exports before ssvae wrote one\), and the page "
                                         r"reads it: export the run again with 'ssvae export'$"):
        sample_inputs(tmp_path / "old", None)
    without = ("import runpy, sys; sys.modules['filelock'] = None; sys.argv = ['serve.py', sys.argv[1]]; "
               "runpy.run_path('serve.py', run_name='__main__')")  # numpy and onnxruntime alone: a traceback
    result = subprocess.run([sys.executable, "-c", without, str(MODEL)], cwd=WEB_DEMO, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert (result.returncode, result.stderr) == (1, "this server reads the inputs the page shows with ssvae, which "
                                                     "cannot be imported here (import of filelock halted; None in "
                                                     "sys.modules): run it in ssvae's environment (pip install -e . "
                                                     "in the repository)\n")


def test_the_demo_names_its_images_and_shows_a_model_of_real_values_from_their_lowest_to_their_highest(tmp_path):
    """A built-in set's images are named by their class; a model of float images 0..240 (no input range) has
    its images shown black to white over their own values, not clipped to [0, 1]."""
    from serve import sample_inputs

    shown = json.loads(sample_inputs(MODEL, None))
    assert shown["range"] == [0, 1] and len(shown["captions"]) == 20
    assert all(re.fullmatch(rf"test image {k} \(\d\)", shown["captions"][k]) for k in range(20))
    x = np.random.default_rng(0).integers(0, 241, (60, 1, 4, 4)).astype(np.float32)
    x[0, 0, 0, :2] = 0, 240
    np.savez(tmp_path / "bright.npz", x=x, y=np.arange(60) % 2)
    with pytest.warns(UserWarning, match="holds whole numbers from 0 to 240 as float32, which are used as they are"):
        run = ssvae.train(data=str(tmp_path / "bright.npz"), model="supervised", epochs=1, progress=False)
    ssvae.export(run, tmp_path / "bright")
    shown = json.loads(sample_inputs(tmp_path / "bright", None, str(tmp_path / "bright.npz")))
    assert shown["range"] == [0.0, 240.0] and np.max(shown["inputs"]) == 240

