"""docs/model-json.md stays true: every key of the shipped models' model.json and of fresh exports (a table model
with its own test file, a classifier alone, an m1 model, an export without its data) has its heading there, the
nested keys of test_scores and test_confidence their rows, and the recipe it gives for `ssvae generate`'s noise
draws the runtime's samples, number for number."""

import csv
import json
import re
import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from sklearn.datasets import load_wine

import ssvae
from ssvae import inference, runtime
from ssvae.runtime import METADATA_KINDS, SCORE_QUANTILES

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "model-json.md"
SHIPPED = sorted((ROOT / "models").glob("*/model.json"))
QUICK = dict(epochs=1, batch_size=200, classifier_hidden=(32,), progress=False)  # and each kind's own below
NESTED = ("test_scores", "test_confidence")  # the keys whose fields the doc lists by dotted path
GRAPH_ONLY = {"role"}  # in the graphs' metadata, not in model.json


def section(title: str) -> str:
    """The doc's text from the heading ``## title`` to the next heading of that level."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def documented_keys() -> set[str]:
    """The keys with a heading of their own (### `key`) under "## Keys"."""
    return set(re.findall(r"^### `([^`]+)`$", section("Keys"), re.MULTILINE))


def summary_keys() -> set[str]:
    """The keys of the table that opens "## Keys" (| `key` | type | present |)."""
    return set(re.findall(r"^\| `([a-z0-9_]+)` \|", section("Keys"), re.MULTILINE))


def documented_fields() -> set[str]:
    """The nested fields the doc's tables list by path: test_scores.quantiles, test_confidence.levels[].n, ..."""
    return set(re.findall(r"^\| `((?:%s)\.[^`]+)` \|" % "|".join(NESTED), section("Keys"), re.MULTILINE))


def field_paths(value, prefix: str) -> set[str]:
    """The dotted paths of ``value``'s fields (a list's items as ``[]``); a quantiles object counts as one."""
    paths = set()
    if isinstance(value, dict):
        for key, item in value.items():
            paths.add(f"{prefix}.{key}")
            if key != "quantiles":
                paths |= field_paths(item, f"{prefix}.{key}")
    elif isinstance(value, list):
        for item in value:
            paths |= field_paths(item, f"{prefix}[]")
    return paths


def check_documented(values: dict, where: str) -> None:
    """Every key of the model.json ``values`` has its heading, and each nested field its row."""
    missing = sorted(values.keys() - documented_keys())
    assert not missing, f"{where}: keys missing from {DOC.name}: {missing}"
    for key in NESTED:
        if values.get(key) is not None:
            missing = sorted(field_paths(values[key], key) - documented_fields())
            assert not missing, f"{where}: fields missing from {DOC.name}: {missing}"
    if "test_scores" in values:
        for summary in (values["test_scores"], values["test_scores"].get("entropy", {"quantiles": {}})):
            assert set(summary["quantiles"]) <= {f"{q:g}" for q in SCORE_QUANTILES}


def test_the_doc_lists_each_key_once_in_its_table_and_under_its_heading():
    headings = re.findall(r"^### `([^`]+)`$", section("Keys"), re.MULTILINE)
    assert len(headings) == len(set(headings))
    assert summary_keys() == documented_keys() - GRAPH_ONLY
    assert set(METADATA_KINDS) <= documented_keys()  # every key the runtime checks the type of
    for q in SCORE_QUANTILES:
        assert f'`"{q:g}"`' in DOC.read_text(encoding="utf-8")


def test_the_doc_lines_fit_120_characters():
    long = [n for n, line in enumerate(DOC.read_text(encoding="utf-8").splitlines(), 1) if len(line) > 120]
    assert not long, f"{DOC.name}: lines over 120 characters: {long}"


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.parent.name)
def test_every_key_of_a_shipped_model_json_is_documented(path):
    check_documented(json.loads(path.read_text(encoding="utf-8")), str(path.relative_to(ROOT)))


def write_wine(folder: Path) -> tuple[Path, Path]:
    """sklearn's wine as a training CSV (named columns, a label column) and a test CSV of a third of its rows."""
    wine = load_wine()
    names = wine.feature_names
    files = folder / "wine.csv", folder / "wine-test.csv"
    test = np.arange(len(wine.target)) % 3 == 0
    shade = np.array(["light", "medium", "dark"])[np.digitize(wine.data[:, 9], [3.5, 6])]  # columns of categories
    tint = np.array(["blue", "red"])[(wine.data[:, 10] > 0.9).astype(int)]
    for path, rows in zip(files, (~test, test)):
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["shade", *names, "tint", "label"])
            writer.writerows([s, *map(float, x), h, int(y)] for s, x, h, y in zip(shade[rows], wine.data[rows],
                                                                                  tint[rows], wine.target[rows]))
    return files


@pytest.fixture(scope="module")
def exports(tmp_path_factory) -> dict[str, Path]:
    """Model folders exported now: ``table`` (m2 of a CSV with a column of categories, tested on a file of its
    own, with int8 copies),
    ``classifier`` (supervised, digits), ``m1`` (digits) and ``no_data`` (the table run, its data gone)."""
    root = tmp_path_factory.mktemp("model_json_doc")
    train_csv, test_csv = write_wine(root)
    runs = {
        "table": ssvae.train(data=str(train_csv), test_data=str(test_csv), labels=12, out=root / "run-table",
                             hidden=(32,), latent_dim=4, **QUICK),
        "classifier": ssvae.train(dataset="digits", model="supervised", labels=50, out=root / "run-classifier",
                                  **QUICK),
        "m1": ssvae.train(dataset="digits", model="m1", labels=50, out=root / "run-m1", m1_hidden=(32,),
                          m1_latent_dim=8, **QUICK),
    }
    folders = {}
    for name, run in runs.items():
        folders[name] = root / name
        ssvae.export(run.run_dir, folders[name], quantize=name == "table")
    shutil.move(train_csv, root / "elsewhere.csv")
    with pytest.warns(UserWarning, match="exported without them"):
        ssvae.export(runs["table"].run_dir, root / "no_data")
    folders["no_data"] = root / "no_data"
    return folders


def model_json(folder: Path) -> dict:
    return json.loads((folder / "model.json").read_text(encoding="utf-8"))


def test_every_key_of_fresh_exports_is_documented(exports):
    for name, folder in exports.items():
        check_documented(model_json(folder), f"the {name} export")


def test_the_doc_says_when_keys_are_present(exports):
    """The presence rules the doc states, on the exports that show them."""
    table, classifier, m1, no_data = (model_json(exports[name]) for name in ("table", "classifier", "m1", "no_data"))
    assert table["test_data"] == "wine-test.csv" and "test_fraction" not in table
    assert table["input_columns"] and table["input_range"] is None and table["uint8_divisor"] == 1
    assert table["categories"] == {"shade": ["dark", "light", "medium"], "tint": ["blue", "red"]}
    assert "categories" not in classifier
    assert set(table["graphs"]["classifier"]) == {"float32", "int8"}
    assert {"latent_dim", "conditional", "likelihood", "test_scores", "score_noise"}.isdisjoint(classifier)
    assert set(classifier["graphs"]) == set(classifier["docs"]) == {"classifier"}
    assert classifier["test_fraction"] == 0.25 and "data_digest" not in classifier
    assert classifier["input_columns"] == [] and classifier["input_range"] == [0.0, 1.0]
    assert m1["conditional"] is False and m1["latent_dim"] == 8
    assert np.shape(m1["score_noise"]) == (1, 8) and np.shape(table["score_noise"]) == (3, table["latent_dim"])
    assert no_data["test_accuracy"] is None and "data_digest" in table
    assert {"data_digest", "test_scores", "test_confidence"}.isdisjoint(no_data) and "inputs_digest" in no_data
    assert len(table["training_range"]["low"]) == len(table["input_columns"])  # a table's: no range of its own
    assert "training_range" not in classifier and "training_range" not in no_data  # images; no data to measure
    for values in (table, classifier, m1, no_data):
        assert "role" not in values and values["format"] == runtime.FORMAT_VERSION
        assert "resize_images" not in values  # none of them trained with --image-size
    assert table["score_noise"] == np.random.default_rng(0).standard_normal(
        (1, 3, table["latent_dim"]), dtype=np.float32)[0].tolist()


def recipe(folder: Path, classes, n: int, seed: int, temperature: float = 1.0, noise: bool = False) -> np.ndarray:
    """The doc's recipe for generate's samples, with numpy and onnxruntime alone: (classes, n, *input_shape)."""
    meta = model_json(folder)
    generator = np.random.default_rng(seed)
    z = (generator.standard_normal((n, meta["latent_dim"])) * temperature).astype(np.float32)
    decoder = ort.InferenceSession(str(folder / "decoder.onnx"), providers=["CPUExecutionProvider"])
    feeds = [{"z": z}] if not meta["conditional"] else [
        {"z": z, "y": np.tile(np.eye(len(meta["class_names"]), dtype=np.float32)[k], (n, 1))} for k in classes]
    shape = (n, *meta["input_shape"])
    draws = (generator.random(shape) if meta["likelihood"] == "bernoulli" else generator.standard_normal(shape))
    columns = meta.get("input_columns", [])
    spans = sorted((columns.index(f"{name}={known[0]}"), columns.index(f"{name}={known[0]}") + len(known))
                   for name, known in meta.get("categories", {}).items())  # in the order they stand
    picks = generator.random((n, len(spans)))  # step 5: then a draw a row and column of categories
    samples = []
    for feed in feeds:
        mean, second = decoder.run(None, feed)
        if noise:
            drawn = ((draws < mean) if meta["likelihood"] == "bernoulli" else
                     mean + np.exp(second.astype(np.float64) / 2) * draws).astype(np.float32)
            for j, (start, end) in enumerate(spans):  # the first category whose running sum exceeds the draw
                first = np.argmax(np.cumsum(mean[:, start:end], -1) > picks[:, j:j + 1], -1)
                drawn[:, start:end] = np.eye(end - start)[np.where(
                    np.cumsum(mean[:, start:end], -1)[:, -1] > picks[:, j], first, end - start - 1)]
            mean = drawn
        samples.append(mean)
    return np.stack(samples)


@pytest.mark.parametrize("seed, n, temperature, noise", [(0, 8, 1.0, False), (7, 3, 0.7, False),
                                                          (123, 1, 2.5, False), (4, 50, 1.0, True)])
def test_the_generate_recipe_draws_the_runtimes_samples(seed, n, temperature, noise):
    folder = ROOT / "models" / "digits-m2"  # bernoulli: with noise, pixels 0 or 1, each 1 as often as its mean
    model = runtime.load(folder, device="cpu")
    expected = recipe(folder, range(model.n_classes), n, seed, temperature, noise)
    for k in range(model.n_classes):
        np.testing.assert_array_equal(model.generate(k, n=n, seed=seed, temperature=temperature, noise=noise),
                                      expected[k])
    if noise:
        means = recipe(folder, range(model.n_classes), n, seed, temperature)
        assert set(np.unique(expected)) == {0.0, 1.0}
        assert abs(expected.mean() - means.mean()) < 0.02  # 32,000 pixels: the mean's error is about 0.002


def test_the_generate_recipe_draws_the_csv_of_ssvae_generate(exports, tmp_path):
    """`ssvae generate --out s.csv` (through `inference.generate`, as the command calls it), of a table model
    and of an m1 model, against the recipe: each value the same float32."""
    drawn_otherwise = 0  # rows whose drawn category is not the most probable one
    for name, classes, labels, noise in (("table", [2, 0], ["2", "0"], False), ("table", [1], ["1"], True),
                                         ("m1", None, [""], False), ("m1", None, [""], True)):
        out, n = tmp_path / f"{name}.csv", 40 if noise else 3
        inference.generate(runtime.load(exports[name], device="cpu"), out, per_class=n, seed=5, classes=classes,
                           noise=noise, replace=True)
        with open(out, newline="") as f:
            header, *rows = list(csv.reader(f))
        expected = recipe(exports[name], classes, n, 5, noise=noise).reshape(len(labels) * n, -1)
        meta, whole = model_json(exports[name]), []
        if "whole_inputs" in meta:  # step 6: whole numbers within the training range, without a decimal point
            whole = meta["whole_inputs"]
            low, high = (np.array(meta["training_range"][end], np.float32)[whole] for end in ("low", "high"))
            expected[:, whole] = np.clip(np.rint(expected[:, whole]), low, high)
        assert [row[0] for row in rows] == [str(i) for i in range(len(rows))]
        assert [row[1] for row in rows] == [label for label in labels for _ in range(n)]
        columns, categories = meta["input_columns"] or [f"x{k}" for k in range(expected.shape[1])], \
            meta.get("categories", {})
        for j, column in enumerate(header[2:], start=2):
            cells = [row[j] for row in rows]
            if column in categories:  # step 6: the category of the largest value of its one-hot columns
                start = columns.index(f"{column}={categories[column][0]}")
                picked = expected[:, start:start + len(categories[column])].argmax(-1)
                assert cells == [categories[column][k] for k in picked]
                means = recipe(exports[name], classes, n, 5).reshape(len(rows), -1)[:, start:start + len(picked)]
                drawn_otherwise += int((means.argmax(-1) != picked).sum()) if noise else 0
            else:
                np.testing.assert_array_equal(np.array(cells, dtype=np.float32), expected[:, columns.index(column)])
        assert all(row[header.index(columns[k])].lstrip("-").isdigit() for row in rows for k in whole)
        assert ("shade" in header and "tint" in header) == (name == "table")  # columns of categories, as such
    assert model_json(exports["table"])["whole_inputs"]  # wine's magnesium and proline: the step was taken
    assert drawn_otherwise > 0  # with --noise the CSV holds the categories drawn, not the most probable


def test_the_docs_check_numbers_are_numpys_draws():
    block = section("The noise of `ssvae generate`").split("```text\n")[1].split("```")[0]
    shown = np.array([line.split() for line in block.strip().splitlines()], dtype=np.float64)
    np.testing.assert_allclose(shown, np.random.default_rng(0).standard_normal((2, 8)), rtol=0, atol=5e-9)
    assert not np.array_equal(  # the doc says generate's float64 draws are not score_noise's float32 ones
        np.random.default_rng(0).standard_normal(8).astype(np.float32),
        np.random.default_rng(0).standard_normal(8, dtype=np.float32))


def test_input_row_errors_carry_what_the_doc_says(tmp_path):
    model = runtime.load(ROOT / "models" / "digits-m2", device="cpu")
    x = np.full((4, 64), 0.5, np.float32)
    x[2, 5] = np.nan
    with pytest.raises(runtime.NonFiniteInputError) as caught:
        model.classify(x)
    error = caught.value
    assert isinstance(error, runtime.InputRowError) and isinstance(error, runtime.ModelError)
    assert isinstance(error, ValueError) and error.row == 2
    assert str(error) == f"{error.problem} (first in row 2): {error.fix}"
    x[2, 5], x[3, 1] = 0.5, 2.0
    with pytest.raises(runtime.InputRowError) as caught:
        model.classify(x)
    assert type(caught.value) is runtime.InputRowError and caught.value.row == 3
    assert caught.value.problem == "inputs range over [0.5, 2] but this model takes [0, 1]"
    rows = np.full((1500, 64), 0.5, np.float32)
    rows[1200, 3] = np.inf
    np.save(tmp_path / "bad.npy", rows)
    with pytest.raises(runtime.NonFiniteInputError) as caught:
        inference.predict(model, tmp_path / "bad.npy", tmp_path / "p.csv", progress=False)
    assert caught.value.row == 1200 and str(caught.value).startswith(f"{tmp_path / 'bad.npy'}: ")
