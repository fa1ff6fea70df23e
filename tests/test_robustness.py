"""Robustness: bad input is one clear line, a killed run resumes to the same weights, a NaN step is never
applied, and the runtime is safe from many threads."""

import dataclasses
import errno
import io
import json
import os
import re
import shutil
import signal
import subprocess
import stat
import sys
import threading
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file, save_file
from sklearn.datasets import load_digits

import ssvae
from ssvae import files, runtime
from ssvae.cli import main
from ssvae.config import Config, ConfigError
from ssvae.data.images import ColourImages
from ssvae.data.inputs import read_inputs
from ssvae.data.sources import load_source
from ssvae.errors import DataError, RunError
from ssvae.run import CHECKPOINT, WEIGHTS, load_checkpoint, read_metrics, save_checkpoint
from ssvae.runtime import ExportedModel
from ssvae.training import Checkpoint, TrainingError, training_device

ROOT = Path(__file__).resolve().parents[1]

TINY = ["--epochs", "1", "--hidden", "16", "--classifier-hidden", "16", "--latent-dim", "2", "--quiet"]


def _write_cases(root: Path) -> None:
    """The files the bad-input cases below hand to ssvae; one is a copy of the trained ``root/run``."""
    rng = np.random.default_rng(0)
    x = rng.random((40, 4, 4)).astype(np.float32)
    y = np.repeat(np.arange(2), 20)
    (root / "corrupt.npz").write_bytes(b"PK\x03\x04 not really a zip")
    (root / "text.npz").write_text("x,y\n1,0\n")  # numpy takes it for a pickle
    with zipfile.ZipFile(root / "raw_members.npz", "w") as archive:  # raw bytes, no .npy: numpy gives them as bytes
        for name, array in (("x", x), ("y", y)):
            archive.writestr(name, array.tobytes())
    np.savez(root / "bool.npz", x=x > 0.5, y=y)
    with open(root / "npy_named.npz", "wb") as f:  # an .npy renamed
        np.save(f, np.zeros((4, 8, 8)))
    (root / "text.csv").write_text("a,b,label\n1,x,0\n2,3,1\n")
    (root / "latin1.csv").write_bytes("a,label\n1,caf\xe9\n2,th\xe9\n".encode("latin-1"))
    (root / "header_only.csv").write_text("a,b,label\n")
    np.savez(root / "empty.npz", x=np.zeros((0, 4, 4), np.float32), y=np.zeros(0, np.int64))
    np.savez(root / "float_labels.npz", x=x, y=y + 0.5)
    np.savez(root / "short_y.npz", x=x, y=y[:-1])
    (root / "four_labels.csv").write_text("a,label\n1,0\n2,0\n3,1\n4,1\n5,\n6,\n")
    np.savez(root / "label_7.npz", x=x, y=np.where(np.arange(40) == 3, 7, y), class_names=np.array(["a", "b"]))
    np.savez(root / "unlabelled.npz", x=x, y=np.full(40, -1))
    np.savez(root / "one_class_labelled.npz", x=x, y=y, class_names=np.array(["a", "b", "c"]))  # no example of c
    np.savez(root / "nan.npz", x=np.where(np.arange(40)[:, None, None] == 5, np.nan, x), y=y)
    np.savez(root / "inf.npz", x=np.where(np.arange(40)[:, None, None] == 3, np.inf, x * 3), y=y)  # gaussian
    np.savez(root / "above_one.npz", x=x * 3, y=y)
    np.save(root / "nan_digits.npy", np.where(np.arange(4)[:, None, None, None] == 2, np.nan, np.zeros((4, 1, 8, 8))))
    np.save(root / "bright_row.npy", np.where(np.arange(4)[:, None, None, None] == 3, 2.0, np.zeros((4, 1, 8, 8))))
    np.save(root / "objects.npy", np.array([[0.5, "a"]], dtype=object), allow_pickle=True)  # as pandas' to_numpy()
    np.savez(root / "wrong_shape.npz", x=rng.random((5, 9, 9)).astype(np.float32))
    np.savez(root / "unlabelled_test.npz", x=x, y=y, x_test=x[:4], y_test=np.full(4, -1))
    (root / "short_id.csv").write_text("a,b,id\n1,2,first\n3,4\n")
    os.mkfifo(root / "pipe.csv")
    (root / "gap.csv").write_text(",".join(f"p{k}" for k in range(64)) + "\n" + "0," * 63 + "0\n" + "0," * 63 + "\n")
    (root / "text_p.csv").write_text("p0,p1,p2,p3\n0,0,0,0\n0,0,high,0\n")
    (root / "na.csv").write_text("a,b,label\n1,2,0\n3, NA ,1\n")  # R's and pandas' missing value, spaced
    (root / "inf.csv").write_text("a,b,label\n1,2,0\n3,4,1\n5,-inf,0\n1e39,1,1\n")  # 1e39: beyond float32
    (root / "hollow.csv").write_text("a,b,label\n1,,0\n2,NA,1\n3,,\n1,nan,0\n")  # b: a column of gaps alone
    (root / "tabs.tsv").write_text("a\tb\tlabel\n0,029\t1\t0\n1\t2\t1\n")  # Excel's tab-separated text, decimal commas
    (root / "tabs.csv").write_text((root / "tabs.tsv").read_text())
    (root / "tabs.tab").write_text((root / "tabs.tsv").read_text())
    (root / "named.csv").write_text("ID,a,label\nflower-0,1,0\nflower-1,2,1\n")  # row names, named in capitals
    (root / "table.csv.gz").write_bytes(b"\x1f\x8b")  # compressed, as downloads come
    (root / "table.xlsx").write_bytes(b"PK")  # a spreadsheet
    digit_rows = [("a", "0"), ("b", "0"), ("c", "nan")]  # an id and one value for all 64 pixels
    (root / "nan_ids.csv").write_text("\n".join(["id," + ",".join(f"p{k}" for k in range(64)),
                                                 *(f"{name}," + ",".join([value] * 64) for name, value in digit_rows)]))
    run_config = json.loads((root / "run" / "config.json").read_text())
    shutil.copytree(root / "run", root / "typo_run")
    (root / "typo_run" / "config.json").write_text(json.dumps({**run_config, "epochs": "10"}))
    shutil.copytree(root / "run", root / "torn_json_run")
    (root / "torn_json_run" / "config.json").write_text('{"model": "m2", "epochs": ')  # cut short
    shutil.copytree(root / "run", root / "torn_weights_run")
    (root / "torn_weights_run" / WEIGHTS).write_bytes((root / "run" / WEIGHTS).read_bytes()[:500])
    shutil.copytree(root / "run", root / "other_weights_run")  # the weights of hidden 16, a config of 17
    (root / "other_weights_run" / "config.json").write_text(json.dumps({**run_config, "hidden": [17]}))
    (root / "notes.txt").write_text("hi\n")
    np.savez(root / "no_x.npz", z=np.zeros(3))
    shutil.copytree(root / "run", root / "some_runs" / "run")
    with zipfile.ZipFile(root / "lying.npz", "w") as archive:  # 800 bytes whose header declares 51 GB
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                      "shape": (200_000_000, 8, 8)})
        archive.writestr("x.npy", header.getvalue() + np.zeros(64, np.float32).tobytes())
        labels = io.BytesIO()
        np.lib.format.write_array(labels, np.zeros(1, np.int64))
        archive.writestr("y.npy", labels.getvalue())
    np.savez(root / "no_y.npz", x=x)
    (root / "only_label.csv").write_text("label\n0\n1\n")
    np.save(root / "no_digits.npy", np.zeros((0, 1, 8, 8), np.float32))
    np.savez(root / "twice_named.npz", x=x, y=y, class_names=np.array(["cat", "cat"]))
    shutil.copytree(root / "model", root / "no_decoder_model")
    (root / "no_decoder_model" / "decoder.onnx").unlink()
    np.savez(root / "small.npz", x=rng.random((100, 1, 8, 8)).astype(np.float32), y=np.arange(100) % 10)
    shrunk = root / "shrunk_run"  # a run whose data file was cut short after training
    shutil.copytree(root / "run", shrunk)
    (shrunk / "config.json").write_text(json.dumps({**run_config, "data": str(root / "small.npz")}))
    unfinished = root / "unfinished_run"  # as a killed `ssvae train` leaves it
    shutil.copytree(root / "run", unfinished)
    (unfinished / "weights.safetensors").rename(unfinished / "checkpoint.safetensors")
    early = root / "early_run"  # killed before its first checkpoint: config and labels, no weights
    shutil.copytree(root / "run", early)
    (early / "weights.safetensors").unlink()
    stopped = root / "stopped_run"  # interrupted in its third epoch: a real checkpoint of the second

    def stop(record: dict, network: object) -> None:
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ssvae.train(out=stopped, epochs=3, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False,
                    on_epoch=stop)
    stopped_config = json.loads((stopped / "config.json").read_text())
    shutil.copytree(stopped, root / "refit_run")  # config.json edited after the checkpoint was written
    (root / "refit_run" / "config.json").write_text(json.dumps({**stopped_config, "hidden": [17]}))
    shutil.copytree(stopped, root / "fewer_epochs_run")
    (root / "fewer_epochs_run" / "config.json").write_text(json.dumps({**stopped_config, "epochs": 1}))
    shutil.copytree(stopped, root / "binary_metrics_run")
    with open(root / "binary_metrics_run" / "metrics.csv", "ab") as f:
        f.write(b"\xff\xfe")
    shutil.copytree(stopped, root / "bad_metrics_run")
    metrics = (stopped / "metrics.csv").read_text().splitlines()
    (root / "bad_metrics_run" / "metrics.csv").write_text("\n".join([metrics[0], metrics[1].replace(",", ",oops", 1)]))
    for name, labelled in (("word_labels_run", ["a"]), ("negative_labels_run", [-3])):
        shutil.copytree(root / "run", root / name)
        split = json.loads((root / "run" / "labels.json").read_text())
        (root / name / "labels.json").write_text(json.dumps({**split, "labelled": labelled}))
    shutil.copytree(stopped, root / "foreign_checkpoint_run")  # a safetensors file of another program's
    save_file({"w": torch.zeros(2)}, root / "foreign_checkpoint_run" / CHECKPOINT, metadata={"format": "pt"})
    shutil.copytree(root / "run", root / "list_config_run")
    (root / "list_config_run" / "config.json").write_text("[]")
    deep = "[" * 100_000 + "]" * 100_000  # json.loads: a RecursionError, not a ValueError
    for name, file, text in (("deep_config_run", "config.json", deep), ("deep_labels_run", "labels.json", deep),
                             ("two_line_class_run", "config.json",
                              json.dumps({**run_config, "class_names": ["0\n=1+1", *run_config["class_names"][1:]]}))):
        shutil.copytree(root / "run", root / name)
        (root / name / file).write_text(text)
    shutil.copytree(root / "run", root / "no_layers_run")
    (root / "no_layers_run" / "config.json").write_text(json.dumps({**run_config, "hidden": []}))
    shutil.copytree(root / "run", root / "tmp_of_mine_run")
    (root / "tmp_of_mine_run" / ".mydata.tmp").write_text("a user's")
    shutil.copytree(root / "run", root / "notes_run")  # a folder of the user's named as a file ssvae writes
    (root / "notes_run" / "metrics.csv").unlink()
    (root / "notes_run" / "metrics.csv").mkdir()
    (root / "notes_run" / "metrics.csv" / "notes.txt").write_text("a user's")
    shutil.copytree(root / "model", root / "classifier_only_model")  # an m2 whose encoder and decoder are gone
    for role in ("encoder", "decoder"):
        (root / "classifier_only_model" / f"{role}.onnx").unlink()
    shutil.copytree(root / "model", root / "eleven_classes_model")  # metadata edited alike in every graph
    for role in ("classifier", "encoder", "decoder"):
        graph = onnx.load(root / "eleven_classes_model" / f"{role}.onnx")
        for prop in graph.metadata_props:
            if prop.key == "ssvae.class_names":
                prop.value = json.dumps([str(k) for k in range(11)])
        onnx.save(graph, root / "eleven_classes_model" / f"{role}.onnx")
    shutil.copytree(root / "model", root / "torn_metadata_model")
    graph = onnx.load(root / "model" / "classifier.onnx")
    next(prop for prop in graph.metadata_props if prop.key == "ssvae.dataset").value = '"dig'  # cut short
    onnx.save(graph, root / "torn_metadata_model" / "classifier.onnx")
    shutil.copytree(root / "model", root / "no_logits_model")  # the decoder's x_logits renamed
    graph = onnx.load(root / "model" / "decoder.onnx")
    for value in [*graph.graph.output, *graph.graph.node]:
        if isinstance(value, onnx.NodeProto):
            value.output[:] = ["pixels" if name == "x_logits" else name for name in value.output]
        elif value.name == "x_logits":
            value.name = "pixels"
    onnx.save(graph, root / "no_logits_model" / "decoder.onnx")
    for name, graph in (("mixed_model", ROOT / "models" / "fashion-mnist-m2" / "decoder.onnx"),
                        ("renamed_model", root / "model" / "encoder.onnx")):
        shutil.copytree(root / "model", root / name)
        shutil.copy(graph, root / name / "decoder.onnx")
    np.savez(root / "object_labels.npz", x=x, y=np.array(list(y), dtype=object), allow_pickle=True)  # as pandas
    folder = root / "images"
    for name, label in [("a", 0), ("b", 1)]:
        (folder / name).mkdir(parents=True)
        for k in range(6):
            Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)).save(folder / name / f"{k}.png")
    (folder / "a" / "broken.png").write_bytes(b"\x89PNG truncated")
    for name, size in (("digit_pngs", 8), ("small_pngs", 6)):  # the model's 8x8 digits, and smaller ones
        (root / name).mkdir()
        for k in range(2):
            Image.fromarray(rng.integers(0, 17, (size, size), dtype=np.uint8) * 15).save(root / name / f"{k}.png")
    shutil.copytree(root / "run", root / "headless_run")  # its config.json deleted by hand
    (root / "headless_run" / "config.json").unlink()
    shutil.copytree(root / "model", root / "headless_model")
    (root / "headless_model" / "model.json").unlink()
    (root / "userdir").mkdir()
    (root / "userdir" / "notes.txt").write_text("a user's")
    shutil.copytree(root / "model", root / "other_json_model")  # model.json of another export
    shutil.copy(ROOT / "models" / "digits-m2" / "model.json", root / "other_json_model" / "model.json")
    shutil.copytree(root / "model", root / "bad_json_model")
    (root / "bad_json_model" / "model.json").write_text("{not json")
    Image.new("L", (5, 5)).save(folder / "b" / "big.png")
    Image.new("RGB", (4, 4), (0, 90, 0)).save(folder / "b" / "colour.png")  # green: colour, not grey


# (arguments, the line expected on stderr): every case exits with status 1 and no traceback
BAD_INPUT = [
    (["train", "--data", "missing.npz"], "Error: missing.npz: no such file or folder; check the path given to --data"),
    (["train", "--data", "nowhere/"], "Error: nowhere: no such file or folder"),
    (["train", "--data", "corrupt.npz"], "Error: corrupt.npz: not a readable .npz file"),
    (["train", "--data", "text.npz"], "Error: text.npz: not a readable .npz file (neither a zip archive of arrays nor "
     "an .npy array); save it with numpy.savez"),  # not numpy's "allow_pickle" advice
    (["train", "--data", "raw_members.npz"], "Error: raw_members.npz: 'x' is no .npy array in the archive (its member "
     "is no .npy file): save the arrays with numpy.savez"),
    (["predict", "MODEL", "--data", "raw_members.npz"], "Error: raw_members.npz: 'x' is no .npy array in the archive"),
    (["predict", "MODEL", "--data", "-", "--out", "-"], "Error: - (standard input) is no data ssvae reads: save the "
     "inputs to a file (.csv, .npz or .npy) and give its path"),  # it said "no such file"
    (["train", "--data", "pipe.csv"], "Error: pipe.csv is a pipe or a device, which ssvae cannot read twice: save the "
     "inputs to a file (.csv, .npz or .npy) and give its path"),  # it said "underlying stream is not seekable"
    (["train", "--data", "bool.npz"], "Error: bool.npz: x holds bool, not numbers: save uint8 images or floats "
     "(True/False as x.astype('float32'))"),
    (["train", "--data", "npy_named.npz"], "Error: npy_named.npz: holds one .npy array, not an .npz archive: save "
     "inputs and labels together with numpy.savez('npy_named.npz', x=x, y=y)"),
    (["train", "--data", "latin1.csv"], "Error: latin1.csv: not a readable UTF-8 CSV file ('utf-8' codec can't "
     "decode byte 0xe9 in position 13: invalid continuation byte); save it as UTF-8 text (Excel: \"CSV UTF-8\")"),
    (["train", "--data", "text.csv"], "Error: text.csv: row 0 (line 2), column 'b' holds 'x': the column holds numbers "
     "in at least half its rows: correct the value (empty where it is unknown), or if it is no input, leave it out "
     "with --ignore-columns b (ignore_columns=['b'] in Python)"),
    (["train", "--data", "text.csv", "--ignore-columns", "B"], "Error: text.csv: has no column 'B' to ignore "
     "(--ignore-columns, ignore_columns= in Python): its columns are a, b, label"),
    (["train", "--data", "text.csv", "--label-column", "Label"], "Error: text.csv: needs a header row with a 'Label' "
     "column (found 'label': if it holds the classes, pass --label-column label (label_column='label' in Python))"),
    (["train", "--label-column", "kind"], "Error: --label-column (label_column= in Python) names a column of a CSV, "
     "and digits is not one: leave it out"),
    (["predict", "MODEL", "--data", "text_p.csv"], "Error: text_p.csv: row 1 (line 3), column 'p2' holds 'high': every "
     "column but 'id' and 'label' must be numeric"),  # a model of arrays, which reads every column: no option to give
    (["predict", "MODEL", "--data", "text_p.csv", "--unlabelled-only"], "Error: text_p.csv: has no 'label' column, the "
     "model's column of classes, so --unlabelled-only (unlabelled_only= in Python) finds no input known to lack a "
     "label: leave it out to predict every input"),
    (["predict", "MODEL", "--data", "gap.csv"], "Error: gap.csv: inputs contain NaN or inf, or numbers too large for "
     "float32 (first in row 1): clean or drop those rows"),  # an empty cell, which a model of images takes as no gap
    (["train", "--data", "tabs.tab"], "Error: tabs.tab: cannot read .tab; give an .npz, a .csv or a folder (a table "
     "separated by tabs is read as a .csv: rename it tabs.csv)"),
    (["predict", "MODEL", "--data", "tabs.tab"], "Error: tabs.tab: cannot read .tab; give an .npz, .npy, .csv, an "
     "image or a folder of images (a table separated by tabs is read as a .csv: rename it tabs.csv)"),
    (["train", "--data", "tabs.tsv"], "Error: tabs.tsv: row 0 (line 2), column 'a' holds '0,029': a decimal comma is "
     "read only where semicolons separate the fields"),  # a .tsv is read as a CSV is
    (["train", "--data", "tabs.csv"], "Error: tabs.csv: row 0 (line 2), column 'a' holds '0,029': a decimal comma is "
     "read only where semicolons separate the fields (Excel's CSV where the decimal mark is a comma): write a decimal "
     "point, or separate the fields by semicolons"),
    (["train", "--data", "named.csv"], "Error: named.csv: row 0 (line 2), column 'ID' holds 'flower-0', and most rows "
     "a text of their own, as names and dates have, not categories that rows share: name a column of row names 'id', "
     "which is no input, or leave it out with --ignore-columns ID (ignore_columns=['ID'] in Python)"),
    (["train", "--data", "table.csv.gz"], "Error: table.csv.gz: cannot read .gz; give an .npz, a .csv or a folder (a "
     "compressed file: unpack it first, and give what it holds, such as table.csv)"),
    (["predict", "MODEL", "--data", "table.xlsx"], "Error: table.xlsx: cannot read .xlsx; give an .npz, .npy, .csv, an "
     "image or a folder of images (a spreadsheet: save it from its program as CSV UTF-8, and give that)"),
    (["train", "--data", "na.csv", "--likelihood", "bernoulli"], "Error: na.csv: 1 input row(s) hold NaN, a missing "
     "value (first: row 1, column 'b'): a model of inputs in [0, 1] (the bernoulli likelihood) takes none: fill or "
     "drop them, or train with --likelihood gaussian (likelihood='gaussian' in Python), whose model fills each with "
     "its mean"),
    (["evaluate", "MODEL", "--data", "digit_pngs"], "Error: digit_pngs: needs one sub-folder of images per class (at "
     "least one): its images lie directly inside, with no class folder to label them: put them in one folder a class "
     "to test on them (ssvae predict labels images that have none)"),
    (["train", "--data", "inf.csv"], "Error: inf.csv: 2 input row(s) contain inf, or numbers too large for float32 "
     "(first: row 2, column 'b'): clean or drop them"),  # a table's rows name their column
    (["train", "--data", "hollow.csv", "--test-fraction", "0"], "Error: hollow.csv: column 'b' holds fewer than two "
     "values in the training rows (those the test set leaves), too few for a mean and spread to fill gaps by: leave it "
     "out with --ignore-columns b (ignore_columns=['b'] in Python)"),
    (["train", "--data", "header_only.csv"], "Error: header_only.csv: has a header but no rows"),
    (["train", "--data", "empty.npz"], "Error: empty.npz: the data set is empty"),
    (["train", "--data", "float_labels.npz"], "Error: float_labels.npz: y holds fractions (first: 0.5), not class "
     "indices: number the classes 0..K-1, -1 for unlabelled examples"),
    (["train", "--data", "short_y.npz"], "Error: short_y.npz: x and y differ in length ("),  # it named no file
    (["train", "--data", "four_labels.csv"], "Error: cannot hold out a class-balanced test share of 0.25 from 4 "
     "labelled examples (the 1 to test cannot hold one of each of the 2 classes): --test-fraction 0.26 "
     "(test_fraction=0.26 in Python) holds out 2 of them and trains on 2, and --test-fraction 0 (test_fraction=0 in "
     "Python) holds out no test set and trains on every label; else label more"),
    (["train", "--data", "label_7.npz"], "Error: label_7.npz: label 7 needs 8 classes but class_names names 2: correct "
     "the label (-1 for unlabelled examples) or give class_names a name for every class"),
    (["predict", "MODEL", "--data", "digit_pngs", "--out", "digit_pngs/0.png", "--force"],
     "Error: digit_pngs/0.png is one of the input images in digit_pngs: write the output elsewhere (another --out), "
     "so as to keep the inputs"),
    (["generate", "MODEL", "--analogies", "digit_pngs", "--out", "digit_pngs/1.png", "--force"],
     "Error: digit_pngs/1.png is one of the input images in digit_pngs: write the output elsewhere"),
    (["score", "MODEL", "--data", "small_pngs"], "Error: small_pngs: none of its 2 readable image(s) is 8x8 pixels, "
     "the model's size: resize them to it"),
    (["train", "--out", "headless_run", "--force"], "Error: headless_run holds files of a run folder (labels.json, "
     "metrics.csv, weights.safetensors) but not its config.json, so --force (replace=True) leaves it alone: restore "
     "config.json, delete the folder, or choose another --out"),
    (["export", "RUN", "--out", "headless_model", "--force"], "Error: headless_model holds files of a model folder "
     "(classifier.onnx, decoder.onnx, encoder.onnx and 1 more) but not its model.json, so --force"),
    (["train", "--out", "userdir"], "Error: userdir is not a run folder written by ssvae (it has no config.json), and "
     "--force (replace=True) would keep it: choose another --out"),  # said as what --force would do: not given
    (["train", "--out", "userdir", "--force"], "Error: userdir is not a run folder written by ssvae (it has no "
     "config.json), so --force (replace=True) leaves it alone: choose another --out"),
    (["export", "RUN", "--out", "RUN"], "run is not a model folder written by ssvae (it has no model.json), and "
     "--force (replace=True) would keep it: choose another --out"),  # a run folder given for the model's
    (["predict", "other_json_model", "--dataset", "digits"], "Error: other_json_model/model.json: does not match the "
     "graphs (they differ in "),
    (["info", "bad_json_model"], "Error: bad_json_model/model.json: not readable JSON (Expecting property name "),
    (["train", "--data", "unlabelled.npz"], "Error: unlabelled.npz: has no labelled example (every y is -1)"),
    (["train", "--data", "one_class_labelled.npz", "--labels", "4"], "Error: one_class_labelled.npz: class 'c' has no "
     "labelled example: number the classes 0..K-1 with no gap (labels numbered from 1: subtract 1; -1 marks an "
     "unlabelled example, so classes -1 and 1 are written 0 and 1), or label"),
    (["train", "--data", "float_labels.npz", "--labels", "4"], "y holds fractions (first: 0.5), not class indices"),
    (["train", "--labels", "2000"], "Error: --labels 2000 (labels=2000 in Python) asks for more labels "
     "than the 1347 available"),
    (["train", "--data", "nan.npz"], "Error: nan.npz: 1 input row(s) hold NaN, a missing value (first: row 5): a "
     "model of images takes none: fill or drop them"),
    (["train", "--data", "inf.npz"], "Error: inf.npz: 1 input row(s) contain inf, or numbers too large for float32 "
     "(first: row 3): clean or drop them"),
    (["train", "--data", "above_one.npz", "--likelihood", "bernoulli"],
     "but the bernoulli likelihood needs [0, 1]: scale them"),
    (["evaluate", "nowhere"], "Error: nowhere: no such run or model folder"),
    (["predict", "nowhere", "--dataset", "digits"], "Error: nowhere: no such model folder"),
    (["predict", "MODEL", "--data", "wrong_shape.npz"], "do not fit this model: it takes (N, 1, 8, 8)"),
    (["predict", "MODEL", "--data", "corrupt.npz"], "Error: corrupt.npz: not a readable .npz file"),
    (["predict", "MODEL", "--data", "nan_digits.npy"], "Error: nan_digits.npy: inputs contain NaN or inf, or numbers "
     "too large for float32 (first in row 2): clean or drop those rows"),
    (["predict", "MODEL", "--data", "nan_digits.npy", "--out", "./nan_digits.npy", "--force"],
     "Error: ./nan_digits.npy is the input file itself: write the output elsewhere (another --out), so as to keep "
     "the inputs"),
    (["score", "MODEL", "--data", "gap.csv", "--out", "gap.csv", "--force"], "Error: gap.csv is the input file itself"),
    (["predict", "MODEL", "--data", "objects.npy"], "Error: objects.npy: the array holds Python objects; save numbers "
     "(pickles are never loaded)"),
    (["predict", "MODEL", "--data", "nan_digits.npy", "--batch-size", "2"], "(first in row 2): clean or drop those rows"),
    (["score", "MODEL", "--data", "nan_ids.csv", "--batch-size", "2"], "(first in row 2, id c): clean or drop"),
    (["score", "MODEL", "--data", "bright_row.npy", "--batch-size", "2"], "Error: bright_row.npy: inputs range over "
     "[0, 2] but this model takes [0, 1] (first in row 3): pass them as floats"),  # the row in the whole input
    (["score", "MODEL", "--data", "wrong_shape.npz"], "Error: wrong_shape.npz: inputs of shape (5, 9, 9) do not fit "
     "this model"),
    (["train", "--resume", "RUN"], "the run is finished (its weights.safetensors is there, and no checkpoint): "
     "there is nothing to resume or lengthen; evaluate or export it"),
    (["train", "--resume", "early_run"], "early_run/checkpoint.safetensors: missing; there is nothing to resume (the "
     "run stopped before its first checkpoint): train it again"),
    (["score", "MODEL", "--dataset", "digits", "--out", "taken.csv"], "Error: taken.csv already exists: choose another"),
    (["train", "--data", "object_labels.npz"], "Error: object_labels.npz: array 'y' cannot be read (Object arrays "
     "cannot be loaded when allow_pickle=False); save it as integer class indices, -1 for unlabelled rows, with the "
     "names in class_names (np.unique(labels.astype(str), return_inverse=True) gives both for labels with none "
     "missing), never as Python objects"),
    (["train", "--data", "unlabelled_test.npz"], "Error: unlabelled_test.npz: y_test has no label (every entry is -1)"),
    (["predict", "MODEL", "--data", "short_id.csv"], "Error: short_id.csv: row 1 (line 3) has 2 fields but the header names 3"),
    (["evaluate", "typo_run"], "typo_run/config.json: epochs must be of type int, got '10'; correct the file as "
     "'ssvae train' wrote it, or train the run again"),
    (["train", "--resume", "refit_run"], "refit_run/checkpoint.safetensors: taken after epoch 2 of stage 1 of a run "
     "that config.json (hidden (16,) then, (17,) now) no longer describes"),  # was torch's size mismatch
    (["train", "--resume", "fewer_epochs_run"], "Error: fewer_epochs_run/checkpoint.safetensors: taken after epoch "
     "2 of 3: the run can end there or later, not at epoch 1 (epochs in config.json): resume it with --epochs 2 or "
     "more (epochs= in Python); 2 ends it at once"),  # config.json's epochs edited below the checkpoint's
    (["train", "--resume", "binary_metrics_run"], "binary_metrics_run/metrics.csv: not a CSV file as training wrote "
     "it ('utf-8' codec can't decode byte 0xff"),
    (["train", "--resume", "bad_metrics_run"], "bad_metrics_run/metrics.csv: row 1 is not as training wrote it "
     "(column epoch holds 'oops1', not a number): restore the file, or delete it"),
    (["evaluate", "word_labels_run"], "word_labels_run/labels.json: not as training wrote it (labelled must be a "
     "list of example indices (whole numbers from 0))"),
    (["evaluate", "negative_labels_run"], "labels.json: not as training wrote it (labelled must be a list of "
     "example indices"),
    (["evaluate", "no_layers_run"], "no_layers_run/config.json: hidden needs at least one layer size"),
    (["evaluate", "deep_config_run"], "Error: deep_config_run/config.json: config is not valid JSON (maximum "
     "recursion depth exceeded"),
    (["evaluate", "deep_labels_run"], "Error: deep_labels_run/labels.json: not as training wrote it (maximum "
     "recursion depth exceeded"),
    (["export", "two_line_class_run", "--out", "m"], "Error: two_line_class_run/config.json: class_names must be "
     "names on one line, got '0\\n=1+1'"),
    (["evaluate", "torn_json_run"], "Error: torn_json_run/config.json: config is not valid JSON (Expecting value: "
     "line 1 column 27 (char 26)); correct the file as 'ssvae train' wrote it, or train the run "
     "again with this version of ssvae"),
    (["evaluate", "torn_weights_run"], "Error: torn_weights_run/weights.safetensors: unreadable, corrupt or cut "
     "short (Error while deserializing: invalid header length); restore the file or train the run again"),
    (["export", "other_weights_run", "--out", "m"], "Error: other_weights_run/weights.safetensors: does not fit the "
     "model in config.json (size mismatch for "),
    (["train", "--test-data", "missing.npz"], "Error: missing.npz: no such file or folder; check the path given to "
     "--test-data"),
    (["predict", "MODEL", "--data", "notes.txt", "--out", "-"], "Error: notes.txt: cannot read .txt; give an .npz, "
     ".npy, .csv, an image or a folder of images"),
    (["predict", "MODEL", "--data", "no_x.npz", "--out", "-"], "Error: no_x.npz: needs an array 'x' (found z)"),
    (["train", "--data", "no_y.npz"], "Error: no_y.npz: needs arrays 'x' and 'y' (found x)"),
    (["train", "--data", "lying.npz"], "Error: lying.npz: array 'x' ends early: its header declares (200000000, 8, "
     "8) (51,200,000,000 bytes) but the archive holds 256 after it (truncated?): save it again with numpy.savez"),
    # was out of memory ("lower --batch-size"), or "never as Python objects"
    (["evaluate", "list_config_run"], "Error: list_config_run/config.json: config must be a JSON object; correct "
     "the file as 'ssvae train' wrote it"),
    (["train", "--resume", "foreign_checkpoint_run"], "Error: foreign_checkpoint_run/checkpoint.safetensors: "
     "a safetensors file, but not a checkpoint 'ssvae train' wrote (it holds no ssvae_checkpoint metadata)"),
    (["train", "--out", "notes_run", "--force"], "Error: notes_run holds what ssvae does not write in a run folder "
     "(metrics.csv/)"),
    (["train", "--out", "tmp_of_mine_run", "--force"], "Error: tmp_of_mine_run holds what ssvae does not write in a "
     "run folder (.mydata.tmp)"),
    (["predict", "MODEL", "--dataset", "digits", "--out", "taken.csv/p.csv"],
     "Error: taken.csv is a file, so it cannot hold taken.csv/p.csv: give --out a path through folders"),
    # a file or device where a run folder's parent or the run folder is: the check of a checkpoint's stamp said
    # "taken.csv/run/checkpoint.safetensors: Not a directory (check the path and its permissions)"
    (["train", "--out", "taken.csv/run"], "Error: taken.csv is a file, so it cannot hold taken.csv/run: give --out a "
     "path through folders"),
    (["train", "--resume", "taken.csv/run"], "Error: taken.csv/run: no such run directory"),
    (["train", "--resume", "/dev/null"], "Error: /dev/null: a file, not a run directory"),
    (["train", "--data", "only_label.csv"], "Error: only_label.csv: the examples have no input values (shape (0,)): "
     "give at least one input column or pixel beside the labels"),
    (["evaluate", "shrunk_run"], "small.npz: not the data this run was trained on (the run's split names example "),
    (["export", "early_run", "--out", "m"], "Error: early_run: holds no weights.safetensors (the training that "
     "wrote it stopped before its first checkpoint, or the file was removed): train the run again, with --force"),
    (["predict", "unfinished_run"], "Error: unfinished_run is a training run, not an exported model, and an "
     "unfinished one: finish it with 'ssvae train --resume unfinished_run' (adding --epochs N ends its last stage "
     "at epoch N), then export it"),
    (["evaluate", "unfinished_run"], "Error: unfinished_run: the run is unfinished (a checkpoint, no "
     "weights.safetensors yet): continue it with 'ssvae train --resume unfinished_run', adding --epochs N to end "
     "its last stage at epoch N, as early as its checkpoint's"),
    (["train", "--out", "unfinished_run"], "Error: unfinished_run holds an unfinished run: continue it with "
     "'ssvae train --resume unfinished_run', or pass --force"),
    (["score", "mixed_model", "--dataset", "digits"], "Error: mixed_model/decoder.onnx: not from the export "
     "classifier.onnx is from (they differ in class_names, dataset, fills_missing, input_columns, input_shape, "),
    (["info", "torn_metadata_model"], "Error: torn_metadata_model/classifier.onnx: its ssvae metadata is not valid "
     "JSON (Unterminated string starting at: line 1 column 1 (char 0)); export it again"),
    (["info", "digit_pngs"], "Error: digit_pngs is neither a model folder nor a run folder (it holds no model.json, "
     "no .onnx graph and no config.json): pass the --out folder of 'ssvae export' or of 'ssvae train'"),  # images
    (["info", "some_runs"], "Error: some_runs holds run folders (run), not a run's files: pass one of them, e.g. "
     "some_runs/run"),  # it said to pass an export's folder
    (["score", "no_logits_model", "--dataset", "digits"], "Error: no_logits_model/decoder.onnx: has no output "
     "x_logits, which the metadata's bernoulli likelihood needs: export the run again"),
    (["score", "renamed_model", "--dataset", "digits"], "Error: renamed_model/decoder.onnx: holds the encoder graph, "
     "not the decoder: export the run again"),
    (["train", "--data", "twice_named.npz"], "Error: twice_named.npz: class_names repeats 'cat': give each class its "
     "own name"),
    (["score", "no_decoder_model", "--dataset", "digits"], "Error: no_decoder_model/decoder.onnx: missing; "
     "no_decoder_model is not a complete model folder: export the run again"),
    (["generate", "MODEL", "--out", "s.jpg"], "Error: s.jpg: the grid is a PNG image: give --out a name ending in .png"),
    (["generate", "MODEL", "--analogies", "no_digits.npy"], "Error: no_digits.npy: holds no inputs (an array of "
     "shape (0, 1, 8, 8)): give at least one"),
    (["predict", "MODEL", "--data", "no_digits.npy", "--out", "-"], "Error: no_digits.npy: holds no inputs"),
    # the inputs are named rightly before an existing --out is refused: not --force first, then the real error
    (["predict", "MODEL", "--data", "missing.npz", "--out", "taken.csv"], "Error: missing.npz: no such file or "
     "folder; check the path of the inputs"),
    (["score", "MODEL", "--out", "taken.csv"], "Error: no inputs given: pass --data FILE_OR_FOLDER or --dataset NAME"),
    (["evaluate", "MODEL", "--data", "missing.csv"], "Error: missing.csv: no such file or folder; check the path of "
     "the test data (--data)"),
    (["predict", "MODEL", "--data", "small.npz", "--split", "train"], "Error: --split (split= in Python) chooses a "
     "built-in data set's examples, and small.npz is a file or folder of your own: leave it out"),
    (["evaluate", "MODEL", "--data", "small.npz", "--data-dir", ".", "--split", "train"], "Error: --split (split= in "
     "Python) and --data-dir (data_dir= in Python) choose a built-in data set's examples, and small.npz is a file or "
     "folder of your own: leave them out"),
    (["generate", "MODEL", "--analogies", "small.npz", "--data-dir", "."], "Error: --data-dir (data_dir= in Python) "
     "chooses a built-in data set's examples, and small.npz is a file or folder of your own: leave it out"),
    (["generate", "MODEL", "--analogies", "missing.npy"],
     "Error: missing.npy: no such file or folder; check the path of the inputs"),
    (["predict", "MODEL", "--data", "small.npz", "--dataset", "digits"],
     "Error: both --data small.npz and --dataset digits (data=, dataset= in Python) name inputs: pass "
     "one of them"),
    (["predict", "MODEL", "--dataset", "digits", "--out", "p.json"], "Error: p.json: the rows are written as CSV: give "
     "--out (out= in Python) a name ending in .csv (spreadsheets and pandas go by the name), or - for standard "
     "output"),
    (["predict", "MODEL", "--dataset", "digits", "--out", "pipe.csv", "--force"],  # a FIFO: never a device here
     "Error: pipe.csv is not a regular file (a device, pipe or socket): give --out the name of a file to write, or - "
     "for standard output (then > pipe.csv or | a reader)"),
    (["generate", "MODEL", "--per-class", "100000"], "Error: the grid would be 3600018x364 pixels, more than "
     "80,000,000: lower --per-class, --rows or --scale"),
    (["generate", "MODEL", "--analogies", "digits", "--scale", "5000"], "Error: the grid would be 500000x365093"),
    (["predict", "run", "--dataset", "digits"], "Error: run is a training run, not an exported model: export it with "
     "'ssvae export run --out MODEL_DIR' (ssvae.export(RUN_DIR, MODEL_DIR) in Python) and pass MODEL_DIR"),
    (["export", "model"], "Error: model is an exported model, not a training run: pass the run folder it was exported "
     "from ('ssvae info model' shows its test accuracy)"),
    (["evaluate", "model", "--data", "small.npz", "--dataset", "digits"],
     "Error: both --data small.npz and --dataset digits (data=, dataset= in Python) name inputs: pass "
     "one of them"),
    (["evaluate", "RUN", "--dataset", "digits"], "Error: --dataset, --split and --data-dir (dataset=, split=, "
     "data_dir= in Python) test an exported model, and "),
    (["evaluate", "model", "--data", "small.npz", "--baseline"], "Error: --baseline (baseline= in Python) trains on a "
     "run's data, which model, an exported model, does not keep: evaluate the run folder it was exported from"),
    (["evaluate", "RUN", "--precision", "int8"], "Error: --device, --precision and --threads (device=, precision=, "
     "threads= in Python) choose how an exported model's graphs run, and"),
    (["evaluate", "RUN", "--threads", "2"], "Error: --device, --precision and --threads (device=, precision=, "
     "threads= in Python) choose how an exported model's graphs run, and"),
    (["info", "."], "Error: . holds model folders (bad_json_model, classifier_only_model, eleven_classes_model, "
     "mixed_model, model and 5 more), not a model's files: pass one of them, e.g. bad_json_model"),
    (["evaluate", "model/..", "--data", "small.npz"], "Error: model/.. holds run folders (bad_metrics_run"),
    (["export", "RUN", "--out", "model.onnx"], "Error: --out model.onnx names a file, but an export writes a folder "
     "(its graphs, model.json and model_card.md): give a folder's name, e.g. --out model"),  # made a folder model.onnx
    (["export", "RUN", "--out", "model.ONNX"], "Error: --out model.ONNX names a file, but an export writes a folder "
     "(its graphs, model.json and model_card.md): give a folder's name, e.g. --out model"),  # any case of suffix
    (["export", "."], "Error: . holds run folders (bad_metrics_run, binary_metrics_run, deep_config_run, "
     "deep_labels_run, early_run and 18 more), not a run's files: pass one of them, e.g. bad_metrics_run"),
    (["score", "classifier_only_model", "--dataset", "digits"], "Error: classifier_only_model holds the classifier "
     "of an m2 model without its encoder.onnx and decoder.onnx: score needs them: copy them in from its export, or "
     "export the run again"),  # predict and evaluate take it: tests/test_export.py
    (["predict", "eleven_classes_model", "--dataset", "digits"], "Error: eleven_classes_model/classifier.onnx: its "
     "probabilities is (N, 10) but the metadata says (N, 11): export the run again"),
    (["export", "RUN", "--out", "/proc/ssvae/model"], "Error: --out /proc/ssvae/model: /proc takes no new folder ("),
    # a folder that takes no file: the lock beside the run could not be made, and was taken for another writer's
    (["predict", "MODEL", "--dataset", "digits", "--out", "/proc/ssvae.csv"], "Error: --out /proc/ssvae.csv: /proc "
     "takes no new file ("),  # said before the inputs are read and predicted, not after
    (["train", "--out", "/proc/sys/run"], "Error: --out /proc/sys/run: /proc/sys takes no new folder ("),
    (["train", "--out", "/proc/ssvae/run"], "Error: --out /proc/ssvae/run: /proc takes no new folder ("),
    (["export", "RUN", "--out", "."], "Error: --out . is the current folder, which cannot be swapped for the model "
     "folder: give --out the name of a folder to write, e.g. --out models/"),
]


@pytest.fixture(scope="module")
def cases(tmp_path_factory):
    root = tmp_path_factory.mktemp("cases")
    runner = CliRunner()
    run, model = root / "run", root / "model"
    assert runner.invoke(main, ["train", *TINY, "--out", str(run)]).exit_code == 0
    assert runner.invoke(main, ["export", str(run), "--out", str(model)]).exit_code == 0
    _write_cases(root)
    (root / "taken.csv").write_text("mine")
    return root


@pytest.mark.parametrize("args, message", BAD_INPUT, ids=[" ".join(a[:3]) for a, _ in BAD_INPUT])
def test_bad_input_is_one_line_with_status_1(cases, monkeypatch, args, message):
    monkeypatch.chdir(cases)
    args = [a.replace("MODEL", str(cases / "model")).replace("RUN", str(cases / "run")) for a in args]
    result = CliRunner().invoke(main, [*args[:1], *(TINY if args[0] == "train" and "--resume" not in args else []),
                                       *args[1:]])
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], result.output
    assert (cases / "taken.csv").read_text() == "mine" and stat.S_ISFIFO((cases / "pipe.csv").stat().st_mode)
    for k in range(2):  # the input images an --out named, as they were
        assert np.asarray(Image.open(cases / "digit_pngs" / f"{k}.png")).shape == (8, 8)


def test_a_pipe_named_for_a_png_is_refused_without_a_word_of_standard_output(cases, monkeypatch):
    """--out - streams CSV rows only: a grid's PNG has no such way, so its refusal does not offer one."""
    monkeypatch.chdir(cases)
    os.mkfifo("grid.png")
    result = CliRunner().invoke(main, ["generate", str(cases / "model"), "--out", "grid.png", "--force"])
    assert (result.exit_code, result.output) == (1, "Error: grid.png is not a regular file (a device, pipe or "
                                                    "socket): give --out the name of a file to write\n")


def test_a_run_folder_that_is_a_link_is_trained_into_where_the_folder_it_names_lies_in_a_closed_one(tmp_path,
                                                                                                    monkeypatch):
    """runs/alice -> /data/alice, where /data takes no new folder: the run is written inside alice and its lock
    beside the link, so it trains; a --out whose own folder takes nothing is refused before the data load."""
    import tempfile

    closed = tmp_path / "data"
    (closed / "alice").mkdir(parents=True)
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "alice").symlink_to(closed / "alice")
    made = tempfile.mkdtemp

    def mkdtemp(dir=None, prefix=None):
        if Path(dir) in (closed, tmp_path / "shut"):
            raise PermissionError(13, "Permission denied")
        return made(dir=dir, prefix=prefix)

    monkeypatch.setattr(files.tempfile, "mkdtemp", mkdtemp)
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(tmp_path / "runs" / "alice")])
    assert result.exit_code == 0, result.output
    assert (closed / "alice" / "weights.safetensors").is_file()
    (tmp_path / "shut").mkdir()
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(tmp_path / "shut" / "run")])
    assert (result.exit_code, result.output) == (1, f"Error: --out {tmp_path / 'shut' / 'run'}: {tmp_path / 'shut'} "
                                                    f"takes no new folder (Permission denied): give --out a place "
                                                    f"you may write to\n")


def test_a_folder_of_ones_own_in_a_closed_one_is_trained_resumed_and_locked_inside(tmp_path, monkeypatch,
                                                                                   interrupted_run):
    """docker run -v out:/out, or a folder of one's own in another user's: the folder takes files, its parent
    none. The lock beside it was refused ("/shared/.mine.lock: Permission denied"), so nothing trained or
    resumed there; the lock now goes inside, and no trace of it stays. An export into such a folder is told
    to name one inside it, as an export is swapped in beside its folder."""
    import tempfile

    closed, made, lock_class = tmp_path / "shared", tempfile.mkdtemp, files.FileLock
    (closed / "mine").mkdir(parents=True)

    def mkdtemp(dir=None, prefix=None):
        if Path(dir) == closed:
            raise PermissionError(13, "Permission denied")
        return made(dir=dir, prefix=prefix)

    class ClosedParentLock(lock_class):
        def acquire(self, *args, **kwargs):
            if Path(self.lock_file).parent in (closed, closed / "shut"):
                raise PermissionError(13, "Permission denied", self.lock_file)
            return super().acquire(*args, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(files, "FileLock", ClosedParentLock)
    mine = closed / "mine"
    for force in ([], ["--force"]):
        result = CliRunner().invoke(main, ["train", *TINY, "--out", str(mine), *force])
        assert result.exit_code == 0, result.output
        assert sorted(p.name for p in mine.iterdir()) == ["config.json", "labels.json", "metrics.csv",
                                                         "weights.safetensors"]
    (closed / "models").mkdir()
    result = CliRunner().invoke(main, ["export", str(mine), "--out", str(closed / "models")])
    assert (result.exit_code, result.output) == (1, f"Error: --out {closed / 'models'}: {closed} takes no new folder "
                                                    f"(Permission denied): give --out a new folder inside it, such as "
                                                    f"{closed / 'models' / 'model'} (an export is written beside its "
                                                    f"folder, then swapped in)\n")
    (closed / "st").mkdir()
    interrupted_run(closed / "st", 2, epochs=3, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False)
    result = CliRunner().invoke(main, ["train", "--resume", str(closed / "st"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert len(read_metrics(closed / "st")) == 3 and not (closed / "st" / files.LOCK_INSIDE).exists()
    (closed / "shut").mkdir()  # and a folder that takes no file either
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(closed / "shut")])
    assert (result.exit_code, result.output) == (1, f"Error: {closed / 'shut'}: ssvae keeps a lock file beside the "
                                                    f"folder it writes or in it, and none of those places takes one "
                                                    f"(Permission denied): make the folder writable, or give "
                                                    f"another\n")


def test_writers_meet_at_the_lock_inside_a_folder_and_a_path_through_a_linked_folder_locks_once(tmp_path):
    """A writer that could lock beside a run folder did not see one that could lock only inside it (a
    container's user in a -v mount, beside the host's): both trained, and mixed their files. And --out
    through a linked folder (/home -> /mnt/home, macOS's /tmp) locked one file by two names, and refused
    itself as "being written by another ssvae process"."""
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    run = tmp_path / "alias" / "run"
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(run)])
    assert result.exit_code == 0 and (tmp_path / "real" / "run" / "weights.safetensors").is_file(), result.output
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["run"]  # no lock file stays
    (tmp_path / "model").mkdir()
    assert CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "alias" / "model")]).exit_code == 0
    with files.FileLock(tmp_path / "real" / "run" / files.LOCK_INSIDE):  # another process's, through another open
        assert files.being_written(run) and files.being_written(tmp_path / "real" / "run")
        result = CliRunner().invoke(main, ["train", *TINY, "--out", str(run), "--force"])
    assert (result.exit_code, result.output) == (1, f"Error: {run} is being written by another ssvae process now (a "
                                                    f"training, a --resume of it, or an export): let it finish, or "
                                                    f"choose another --out\n")
    assert not files.being_written(run) and ssvae.evaluate(run)["n_test"] == 450  # the run as it was


def test_a_link_by_a_lock_files_name_is_refused_and_what_it_names_kept(tmp_path):
    """A run or model folder unpacked from someone else's archive (tar keeps links) with a link where ssvae keeps
    its lock file: the lock opened, truncated and at its end deleted the file the link named, even where the
    command itself was refused. It is now refused first, naming the link."""
    victim = tmp_path / "victim.txt"
    victim.write_text("secret")
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["train", *TINY, "--out", str(run)]).exit_code == 0
    model = tmp_path / "model"
    for link, folder, command in ((run / files.LOCK_INSIDE, run, ["train", *TINY, "--out", str(run), "--force"]),
                                  (run / files.LOCK_INSIDE, run, ["train", *TINY, "--out", str(run)]),
                                  (tmp_path / ".run.lock", run, ["train", *TINY, "--out", str(run), "--force"]),
                                  (tmp_path / ".model.lock", model, ["export", str(run), "--out", str(model)])):
        link.symlink_to(victim)
        result = CliRunner().invoke(main, command)
        assert (result.exit_code, result.output) == (1, f"Error: {link} is a link where ssvae keeps a lock file of "
                                                        f"{folder} (ssvae makes no such thing): remove it, then run "
                                                        f"the command again\n")
        assert victim.read_text() == "secret" and link.is_symlink()
        link.unlink()
    assert ssvae.evaluate(run)["n_test"] == 450  # the run as it was


def test_a_resume_replaces_links_among_a_runs_files_and_writes_nothing_through_them(tmp_path, interrupted_run):
    """A run's files are written in place as it resumes: links put among them (to a copy of the checkpoint and
    of metrics.csv, say, or to ~/.bashrc) were written through, overwriting the files they named. The links are
    replaced by the run's own files; what they named stays as it was."""
    run = tmp_path / "run"
    interrupted_run(run, 2, epochs=3, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False)
    named = {}
    for name in ("checkpoint.safetensors", "metrics.csv"):
        named[name] = tmp_path / f"elsewhere-{name}"
        shutil.copyfile(run / name, named[name])
        (run / name).unlink()
        (run / name).symlink_to(named[name])
    before = {name: path.read_bytes() for name, path in named.items()}
    ssvae.resume(run, progress=False)
    assert {name: path.read_bytes() for name, path in named.items()} == before
    assert all(not (run / name).is_symlink() for name in named) and (run / "weights.safetensors").is_file()
    assert len(read_metrics(run)) == 3


def test_a_folder_being_trained_is_said_to_be_so_not_killed_nor_resumable(tmp_path, interrupted_run):
    """While a training held a run's lock, evaluate said it had been killed (and to move its files back, which
    would mix two runs) or was unfinished, and info said to resume it."""
    run = tmp_path / "run"
    interrupted_run(run, 2, epochs=3, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False)
    held = files.FileLock(tmp_path / ".run.lock")
    with held:  # another process's lock: a lock file held through another descriptor refuses this one
        evaluated = CliRunner().invoke(main, ["evaluate", str(run)])
        info = CliRunner().invoke(main, ["info", str(run)])
        resumed = CliRunner().invoke(main, ["train", "--resume", str(run), "--quiet"])
    assert (evaluated.exit_code, evaluated.output) == (1, f"Error: {run}: being trained by another ssvae process "
                                                          f"now, which has not written its weights.safetensors yet: "
                                                          f"let it finish\n")
    assert info.exit_code == 0 and "  state        being trained now: its checkpoint is after epoch 1 of 3\n" in \
        info.output, info.output
    assert resumed.output.startswith(f"Error: {run} is being written by another ssvae process now"), resumed.output
    assert "the run is unfinished" in CliRunner().invoke(main, ["evaluate", str(run)]).output  # once it is free
    assert "('ssvae train --resume" in CliRunner().invoke(main, ["info", str(run)]).output
    (run / "checkpoint.safetensors").rename(tmp_path / "checkpoint")  # a --force training before its checkpoint:
    shutil.copytree(run, run / ".set-aside")  # the files it set aside are no killed training's while it runs
    with held:
        described = ssvae.api.describe_run(run)
    assert (described["state"], described["problems"]) == ("being trained now", [])
    assert ssvae.api.describe_run(run)["problems"] == [
        f"a training over the run there was killed before its first checkpoint, and that run's files wait in "
        f"{run / '.set-aside'}: move them back, or train there again with --force"]


def test_a_resume_that_cannot_write_says_so_before_training_and_a_full_disk_says_how_to_go_on(tmp_path, monkeypatch,
                                                                                              interrupted_run):
    """A resume of a folder that takes no file trained an epoch before its metrics.csv was refused; a disk
    that fills up after a checkpoint said to write elsewhere, not that the checkpoint stands to resume from."""
    import tempfile

    run, made = tmp_path / "run", tempfile.mkdtemp
    interrupted_run(run, 2, epochs=3, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False)
    before = (run / "metrics.csv").read_bytes()

    def mkdtemp(dir=None, prefix=None):
        if Path(dir) == run:
            raise PermissionError(13, "Permission denied")
        return made(dir=dir, prefix=prefix)

    with monkeypatch.context() as patched:
        patched.setattr(files.tempfile, "mkdtemp", mkdtemp)
        result = CliRunner().invoke(main, ["train", "--resume", str(run), "--quiet"])
    assert (result.exit_code, result.output) == (1, f"Error: --resume {run}: {run} takes no new folder (Permission "
                                                    f"denied): make it writable: a resume writes its checkpoints, "
                                                    f"metrics and weights there\n")
    assert (run / "metrics.csv").read_bytes() == before

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(ssvae.api, "save_checkpoint", lambda path, state: full(path, b""))
    result = CliRunner().invoke(main, ["train", "--resume", str(run), "--quiet", "--epochs", "3"])
    assert (result.exit_code, result.output) == (1, f"Error: {run / CHECKPOINT}: No space left on device; the last "
                                                    f"checkpoint stands: once that is mended (free some space, or "
                                                    f"check permissions), continue from it with 'ssvae train "
                                                    f"--resume {run} --epochs 3'\n")
    assert load_checkpoint(run / CHECKPOINT).epoch == 1
    # a training with --force over that unfinished run, stopped before a checkpoint of its own, puts the run
    # back: its checkpoint is not this training's, to be resumed with this training's settings
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(run), "--force", "--labels", "50"])
    assert (result.exit_code, result.output) == (1, f"Error: {run / CHECKPOINT}: No space left on device (free some "
                                                    f"space, or write elsewhere)\n")

    def stop(path, state):
        raise KeyboardInterrupt

    monkeypatch.setattr(ssvae.api, "save_checkpoint", stop)
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(run), "--force", "--labels", "50"])
    assert (result.exit_code, result.output) == (130, f"Interrupted before the first checkpoint: {run} holds the run "
                                                      f"it held before, as it was\n")
    assert load_checkpoint(run / CHECKPOINT).epoch == 1

    def closed(path, state):
        raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(ssvae.api, "save_checkpoint", closed)  # a reader that stopped early: | head
    assert CliRunner().invoke(main, ["train", "--resume", str(run), "--quiet"]).exit_code == 141


def test_a_run_whose_data_moved_says_how_to_point_it_at_them(tmp_path):
    """The weights of a run whose data file was renamed need no new training: the error said to check --data,
    which evaluate has not; it names config.json's "data", and the run works once that names the new place
    (export does without them: tests/test_export.py)."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", x=rng.random((80, 4, 4)).astype(np.float32), y=np.arange(80) % 2)
    ssvae.train(data=str(tmp_path / "d.npz"), labels=20, epochs=1, hidden=(8,), classifier_hidden=(8,),
                latent_dim=2, progress=False, out=tmp_path / "run")
    trained = ssvae.evaluate(tmp_path / "run")["accuracy"]
    (tmp_path / "d.npz").rename(tmp_path / "e.npz")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run")])
    assert (result.exit_code, result.output) == (1, f"Error: {tmp_path / 'd.npz'}: no such file or folder, and the "
                                                    f"run was trained on it: put it back, or set \"data\" in "
                                                    f"{tmp_path / 'run' / 'config.json'} to where it is now\n")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "e.npz")}))
    assert ssvae.evaluate(tmp_path / "run")["accuracy"] == trained
    assert CliRunner().invoke(main, ["export", str(tmp_path / "run"), "--out", str(tmp_path / "model")]).exit_code == 0

    def stop(record: dict, network: object) -> None:
        if record["epoch"] == 2:  # after the first epoch's checkpoint
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # so an interrupted run: a checkpoint, from which it resumes
        ssvae.train(data=str(tmp_path / "e.npz"), labels=20, epochs=3, hidden=(8,), classifier_hidden=(8,),
                    latent_dim=2, progress=False, out=tmp_path / "stopped", on_epoch=stop)
    (tmp_path / "e.npz").rename(tmp_path / "f.npz")
    config = json.loads((tmp_path / "stopped" / "config.json").read_text())
    (tmp_path / "stopped" / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "f.npz")}))
    assert [row["epoch"] for row in ssvae.resume(tmp_path / "stopped", progress=False).history] == [1, 2, 3]


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_a_run_finds_its_images_by_name_and_refuses_data_that_changed_since_it_trained(tmp_path):
    """One image added to a class folder shifts every index after it: the split would name other images,
    and test images the model trained on (the checks of count, shape and classes all passed). The run finds
    the images it named by their file names at their new places (an image labelled since, in an active-learning
    loop, is one such), and refuses the folder where one of them is gone or in another class folder. A
    folder's fingerprint is its files' names and labels, so that an image decoded a little differently (another
    Pillow) is still the same example."""
    data = tmp_path / "images"
    for name in ("a", "b"):
        (data / name).mkdir(parents=True)
        for k in range(6):
            Image.fromarray(np.full((4, 4), 40 * k, np.uint8)).save(data / name / f"{k}.png")
    ssvae.train(data=str(data), labels=4, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                progress=False, out=tmp_path / "run")
    Image.fromarray(np.full((4, 4), 41, np.uint8)).save(data / "a" / "1.png")  # 40 before
    assert CliRunner().invoke(main, ["evaluate", str(tmp_path / "run")]).exit_code == 0
    before = ssvae.evaluate(tmp_path / "run")
    split = json.loads((tmp_path / "run" / "labels.json").read_text())
    files = [f"{name}/{k}.png" for name in "ab" for k in range(6)]  # the folder's order
    assert split["files"] == {role: [files[i] for i in split[role]] for role in ("labelled", "validation", "test")}
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(data / "a" / "00.png")  # first in the folder's order
    for _ in range(2):  # by evaluate, and by export, which measures the same test accuracy
        with pytest.warns(UserWarning, match=rf"^{re.escape(str(data))}: examples the run trained on without labels "
                                             rf"changed since \(added, removed, or labelled since; 13 examples now\)"):
            assert ssvae.evaluate(tmp_path / "run") == before
            assert ssvae.export(tmp_path / "run", tmp_path / "model", replace=True).accuracy["float32"] == \
                before["accuracy"]
    named = [*split["files"]["labelled"], *split["files"]["test"]]
    (data / named[-1]).rename(data / ("a" if named[-1].startswith("b") else "b") / "relabelled.png")
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run")])
    assert result.exit_code == 1 and result.output.splitlines()[-1] == (
        f"Error: {data}: not the data this run was trained on (examples added, removed, changed or relabelled since; "
        f"13 now; 1 of the labelled images it trained or was tested on is gone or not read, e.g. {named[-1]}): "
        f"restore them, or train a new run on the data as they are")


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_a_run_tested_on_data_of_its_own_is_still_evaluated_once_unlabelled_images_are_labelled(tmp_path):
    """An active-learning loop moves images of unlabelled/ into class folders after each round: the earlier
    rounds' runs refused `evaluate`. They find the images they named by name, and are evaluated as before (the
    baseline too, trained on their labels), with a warning. Where one of those images is gone, a run with test
    data of its own is tested on those alone (the same report as --data TESTDIR gives); without them, or with
    those gone too, it refuses, and the baseline, trained on the run's labels, refuses."""
    data, tests = tmp_path / "images", tmp_path / "tests"
    for root, names in ((data, ("a", "b", "unlabelled")), (tests, ("a", "b"))):
        for name in names:
            (root / name).mkdir(parents=True)
            for k in range(6):
                Image.fromarray(np.full((4, 4), 40 * k + (name == "b") * 20, np.uint8)).save(root / name / f"{k}.png")
    settings = dict(data=str(data), labels=None, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                    progress=False)
    ssvae.train(test_data=str(tests), out=tmp_path / "run", **settings)
    ssvae.train(out=tmp_path / "split_run", **settings)
    files = json.loads((tmp_path / "run" / "labels.json").read_text())["files"]
    assert files == {"labelled": [f"{name}/{k}.png" for name in "ab" for k in range(6)], "validation": []}  # no test
    before, split_before = ssvae.evaluate(tmp_path / "run"), ssvae.evaluate(tmp_path / "split_run")
    with_baseline = ssvae.evaluate(tmp_path / "run", baseline=True)
    (data / "unlabelled" / "0.png").rename(data / "a" / "labelled-since.png")  # b's images all move one on
    for run, report in (("run", before), ("split_run", split_before)):  # found by name: the same test examples
        with pytest.warns(UserWarning, match="examples the run trained on without labels changed since"):
            assert ssvae.evaluate(tmp_path / run) == report
    with pytest.warns(UserWarning, match="examples the run trained on without labels changed since"):
        assert ssvae.evaluate(tmp_path / "run", baseline=True) == with_baseline  # trained on the run's labels
    assert ssvae.evaluate(tmp_path / "run", data=tests) == before
    (data / "a" / "0.png").unlink()  # an image it trained on with its label, gone: its test data alone
    given = re.escape(str(tests))
    with pytest.warns(UserWarning, match=rf"^{re.escape(str(data))}: not the data this run was trained on \(examples "
                                         rf"added, removed, changed or relabelled since; 17 now; 1 of the labelled "
                                         rf"images it trained or was tested on is gone or not read, e\.g\. a/0\.png\): "
                                         rf"restore them, or train a new run on the data as they are; tested on its "
                                         rf"--test-data {given} alone, as --data {given} tests it$"):
        assert ssvae.evaluate(tmp_path / "run") == before
    with pytest.raises(DataError, match="not the data this run was trained on"):
        ssvae.evaluate(tmp_path / "split_run")  # no test data of its own
    with warnings.catch_warnings(), pytest.raises(DataError, match="not the data this run was trained on"):
        warnings.simplefilter("error")  # refused at once, not tested first
        ssvae.evaluate(tmp_path / "run", baseline=True)
    shutil.rmtree(data)
    with pytest.warns(UserWarning, match=r"no such file or folder, and the run was trained on it: .*; tested on its "
                                         r"--test-data"):
        assert ssvae.evaluate(tmp_path / "run") == before
    shutil.rmtree(tests)
    with pytest.raises(DataError, match="no such file or folder, and the run was trained on it"):
        ssvae.evaluate(tmp_path / "run")


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_images_added_to_unlabelled_leave_a_run_tested_and_exported_but_not_resumed(tmp_path, interrupted_run):
    """A folder's labelled images come first in its order, so images added to unlabelled/ (where a user puts
    new ones) leave the split naming the same examples: the run is evaluated and exported as before, with a
    warning, where both refused it; a resume, which would train on other unlabelled images, is refused."""
    data = tmp_path / "images"
    for name in ("a", "b", "unlabelled"):
        (data / name).mkdir(parents=True)
        for k in range(6):
            Image.fromarray(np.full((4, 4), 40 * k + (name == "b"), np.uint8)).save(data / name / f"{k}.png")
    settings = dict(data=str(data), labels=4, epochs=2, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                    progress=False)
    ssvae.train(out=tmp_path / "run", **settings)
    interrupted_run(tmp_path / "stopped", 2, **settings)
    before = ssvae.evaluate(tmp_path / "run")
    Image.fromarray(np.full((4, 4), 7, np.uint8)).save(data / "unlabelled" / "new.png")
    warned = (f"^{re.escape(str(data))}: examples the run trained on without labels changed since \\(added, "
              f"removed, or labelled since; 19 examples now\\), and those it trained or was tested on with their "
              f"labels did not: train a new run to learn from the new ones$")
    with pytest.warns(UserWarning, match=warned):
        assert ssvae.evaluate(tmp_path / "run") == before
    with pytest.warns(UserWarning, match=warned):
        assert ssvae.export(tmp_path / "run", tmp_path / "model").accuracy == {"float32": before["accuracy"]}
    with warnings.catch_warnings(), pytest.raises(DataError) as error:
        warnings.simplefilter("error")  # the error alone, not the warning before it too
        ssvae.resume(tmp_path / "stopped", progress=False)
    assert str(error.value) == (f"{data}: examples the run trained on without labels changed since it began (added, "
                                f"removed, or labelled since), and a resume must train on the same ones: restore "
                                f"them, or train a new run on the data as they are")
    for name in ("a", "b", "c"):  # a new most common size: the run still reads its own, and its grey
        Image.new("L", (5, 5)).save(data / "unlabelled" / f"other-size-{name}.png")
    Image.new("RGB", (4, 4), (200, 0, 0)).save(data / "unlabelled" / "colour.png")
    with pytest.warns(UserWarning) as seen:
        assert ssvae.evaluate(tmp_path / "run") == before
    said = [str(w.message) for w in seen]
    assert len(said) == 2 and said[0].startswith(f"{data}: skipped 3 image(s): unlabelled/other-size-a.png (5x5, "
                                                  f"not 4x4)") and "; 20 examples now)" in said[1]
    assert "resize" not in said[0]  # a run's own images, resized, would be other data: no advice to


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
def test_rows_added_to_a_table_leave_a_run_tested_unless_its_own_test_set_changed(tmp_path):
    """Unlabelled rows added at the end of an .npz keep the split's rows in place: the run is still evaluated,
    with a warning; where its own test set (x_test) changed too, it is refused, since its accuracy would be
    another one."""
    rng = np.random.default_rng(0)
    x, y = rng.random((24, 3)).astype(np.float32), np.arange(24) % 2
    xt, yt = rng.random((8, 3)).astype(np.float32), np.arange(8) % 2
    np.savez(tmp_path / "d.npz", x=x, y=y, x_test=xt, y_test=yt)
    ssvae.train(data=str(tmp_path / "d.npz"), labels=4, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                progress=False, out=tmp_path / "run")
    before = ssvae.evaluate(tmp_path / "run")
    more = dict(x=np.concatenate([x, x[:2]]), y=np.concatenate([y, [-1, -1]]))
    np.savez(tmp_path / "d.npz", **more, x_test=xt, y_test=yt)
    with pytest.warns(UserWarning, match="examples the run trained on without labels changed since"):
        assert ssvae.evaluate(tmp_path / "run") == before
    np.savez(tmp_path / "d.npz", **more, x_test=xt, y_test=1 - yt)
    with pytest.raises(DataError, match=r"not the data this run was trained on \(examples added, removed, changed or "
                                        r"relabelled since; 26 now\)"):
        ssvae.evaluate(tmp_path / "run")


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
@pytest.mark.parametrize("changed, reason", [
    ({"x": np.zeros((12, 5), np.float32)}, "examples of shape (5,), the run's were (4,)"),
    ({"class_names": np.array(["cat", "cow"])}, "classes cat, cow, the run's were cat, dog"),
])
def test_a_run_names_the_shape_or_the_classes_its_data_changed_to(tmp_path, changed, reason):
    """As many examples as before, so the split's indices still fit: the shape or the class names tell."""
    x, y = np.random.default_rng(0).random((12, 4)).astype(np.float32), np.arange(12) % 2
    np.savez(tmp_path / "d.npz", x=x, y=y, class_names=np.array(["cat", "dog"]))
    ssvae.train(data=str(tmp_path / "d.npz"), labels=4, epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2,
                progress=False, out=tmp_path / "run")
    np.savez(tmp_path / "d.npz", **{"x": x, "y": y, "class_names": np.array(["cat", "dog"]), **changed})
    result = CliRunner().invoke(main, ["evaluate", str(tmp_path / "run")])
    assert result.exit_code == 1 and result.output.splitlines()[-1] == (
        f"Error: {tmp_path / 'd.npz'}: not the data this run was trained on ({reason}): restore them, or train a new "
        f"run on the data as they are")


def test_score_stops_before_its_work_where_its_output_cannot_be_written(cases, monkeypatch):
    """The folder refuses the temporary file: the error names the file asked for, before any scoring (it
    came after the whole input was scored, and named the temporary file)."""
    def refused(*args, **kwargs):
        raise PermissionError(errno.EPERM, "Operation not permitted")

    scored = []
    monkeypatch.setattr(files.tempfile, "mkstemp", refused)
    monkeypatch.setattr(ExportedModel, "score", lambda *args, **kwargs: scored.append(1))
    out = cases / "locked" / "s.csv"
    result = CliRunner().invoke(main, ["score", str(cases / "model"), "--dataset", "digits", "--out", str(out)])
    assert result.exit_code == 1 and not scored
    assert result.output.splitlines()[-1] == f"Error: {out}: Operation not permitted (check the path and its permissions)"


def test_inputs_read_capital_suffixes_pandas_index_columns_and_numbers_beyond_float32_without_a_warning(cases):
    with open(cases / "upper.NPY", "wb") as f:
        np.save(f, np.zeros((2, 64), np.float32))
    assert read_inputs(str(cases / "upper.NPY")).x.shape == (2, 64)
    pixels = ",".join(f"p{k}" for k in range(64))
    (cases / "pandas.csv").write_text(f",{pixels},label\n7,{','.join(['0'] * 64)},3\n9,{','.join(['1'] * 64)},\n")
    from_pandas = read_inputs(str(cases / "pandas.csv"))  # its unnamed first column is the index: the ids
    assert list(from_pandas.ids) == ["7", "9"] and from_pandas.x.tolist() == [[0.0] * 64, [1.0] * 64]
    (cases / "huge.csv").write_text("a,b\n1,1e40\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "overflow encountered in cast" was a second line of output
        assert np.isinf(read_inputs(str(cases / "huge.csv")).x[0, 1])


def _with_class_name(model: Path, first: str) -> Path:
    """``model`` (a model folder) with its first class renamed ``first`` in every float32 graph and model.json,
    as someone who shares a model folder may name it."""
    for role in ("classifier", "encoder", "decoder"):
        graph = onnx.load(model / f"{role}.onnx")
        values = {p.key: p.value for p in graph.metadata_props}
        values["ssvae.class_names"] = json.dumps([first, *json.loads(values["ssvae.class_names"])[1:]])
        del graph.metadata_props[:]
        onnx.helper.set_model_props(graph, values)
        onnx.save(graph, model / f"{role}.onnx")
    written = json.loads((model / "model.json").read_text())
    (model / "model.json").write_text(json.dumps({**written, "class_names": [first, *written["class_names"][1:]]}))
    return model


def test_control_characters_of_a_model_or_a_file_name_are_printed_escaped_not_sent_to_the_terminal(tmp_path):
    """A class name or a file name holding ESC sequences (clear the screen, set the window's title) was
    printed raw by info, and by the warning that names a skipped image: a model folder or images from someone
    else commanded the terminal. They are printed as escapes."""
    model = _with_class_name(shutil.copytree(ROOT / "models" / "digits-m2", tmp_path / "model", ignore=shutil
                                             .ignore_patterns("*.int8.onnx")), "zero\x1b]0;owned\x07\x1b[2J")
    shown = CliRunner().invoke(main, ["info", str(model)])
    assert shown.exit_code == 0 and "\x1b" not in shown.output and "\x07" not in shown.output, shown.output
    assert "class_names      zero\\x1b]0;owned\\x07\\x1b[2J, 1, 2" in shown.output
    (tmp_path / "scans").mkdir()
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "scans" / "blank.png")
    (tmp_path / "scans" / "a\x1b[2J.png").write_bytes(b"no image")
    warned = subprocess.run([sys.executable, "-m", "ssvae", "predict", str(model), "--data", str(tmp_path / "scans"),
                             "--out", "-", "--quiet"], capture_output=True, text=True, timeout=120, cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # this checkout's ssvae
    assert warned.returncode == 0 and "\x1b" not in warned.stderr, warned.stderr
    assert "skipped 1 image(s): a\\x1b[2J.png (unreadable)" in warned.stderr


def test_a_models_class_name_that_a_spreadsheet_computes_is_warned_of_where_predict_writes_it(tmp_path):
    """A model folder whose class is named =HYPERLINK(...) had predict write that into its predicted column
    without a word, where a spreadsheet computes it; names of one's own data were warned of, a model's not."""
    from ssvae.inference import predict

    model = _with_class_name(shutil.copytree(ROOT / "models" / "digits-m2", tmp_path / "model", ignore=shutil
                                             .ignore_patterns("*.int8.onnx")), '=HYPERLINK("http://x","y")')
    with pytest.warns(UserWarning, match=r"model: class name '=HYPERLINK\(\"http://x\",\"y\"\)' begins with '=', "
                                         r"which a spreadsheet opening the CSV takes for a formula \(the predicted "
                                         r"column holds it\): open the CSV in a spreadsheet as text only \(an import "
                                         r"that reads every column as text\)$"):
        predict(model, np.zeros((2, 1, 8, 8), np.float32), tmp_path / "p.csv", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the shipped model's classes, 0 to 9, are numbers: no warning
        predict(ROOT / "models" / "digits-m2", np.zeros((2, 1, 8, 8), np.float32), tmp_path / "q.csv", progress=False)


def test_a_class_named_in_either_unicode_form_is_the_models_class_of_that_name(tmp_path):
    """A class folder named on macOS holds "café" as "e" and a combining accent (NFD), where a keyboard types
    "é" (NFC): the model's class was "not one of café, ..." to --class, and so was a test folder's."""
    decomposed, composed = "cafe\u0301", "caf\u00e9"
    model = _with_class_name(shutil.copytree(ROOT / "models" / "digits-m2", tmp_path / "model", ignore=shutil
                                             .ignore_patterns("*.int8.onnx")), decomposed)
    assert runtime.load(model).class_index(composed) == runtime.load(model).class_index(decomposed) == 0
    result = CliRunner().invoke(main, ["generate", str(model), "--class", composed, "--out", str(tmp_path / "g.png")])
    assert result.exit_code == 0, result.output
    digits = load_digits()
    for k, name in ((0, composed), (1, "1")):
        (tmp_path / "test" / name).mkdir(parents=True)
        for i in np.flatnonzero(digits.target == k)[:5]:
            Image.fromarray((digits.images[i] * 255 / 16).astype(np.uint8)).save(tmp_path / "test" / name / f"{i}.png")
    report = ssvae.evaluate(model, data=str(tmp_path / "test"))
    assert report["n_test"] == 10 and report["accuracy"] > 0.8


def _npy_declaring(shape: tuple[int, ...], fortran: bool = False) -> bytes:
    """An .npy file whose header declares ``shape`` of float32 and which holds 256 bytes after it."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": fortran, "shape": shape})
    return header.getvalue() + bytes(256)


@pytest.mark.parametrize("name, shape, fortran", [("row.npy", (1, 10 ** 12), False), ("square.npy", (10 ** 5,) * 2,
                                                  True), ("row.npz", (1, 10 ** 12), False)])
def test_inputs_whose_header_declares_more_than_the_file_holds_are_refused_before_any_allocation(tmp_path, name,
                                                                                                  shape, fortran):
    """An .npy (or an .npz's uncompressed x) whose header declares a row of 4 TB, or a column-major array of
    40 GB, in a file of a few hundred bytes: numpy was asked for all of it before the file's end was found
    ("out of memory (one allocation of 3.6 TiB): lower --batch-size"); refused from the header instead."""
    data = _npy_declaring(shape, fortran)
    if name.endswith(".npz"):
        with zipfile.ZipFile(tmp_path / name, "w") as archive:  # stored, as numpy.savez writes
            archive.writestr("x.npy", data)
    else:
        (tmp_path / name).write_bytes(data)
    with pytest.raises(DataError, match=rf"{name}: (the array|array 'x') ends early: its header declares "
                                        rf"\({shape[0]}, {shape[1]}\) \({4 * shape[0] * shape[1]:,} bytes\)"):
        read_inputs(str(tmp_path / name))


def test_an_npy_whose_header_declares_a_size_below_0_is_one_line_not_a_traceback(tmp_path):
    (tmp_path / "negative.npy").write_bytes(_npy_declaring((-5, 64)))
    with pytest.raises(DataError, match=r"negative.npy: the array declares the shape \(-5, 64\) in its header, "
                                        r"with a size below 0, which no array has: save it again with numpy$"):
        read_inputs(str(tmp_path / "negative.npy"))  # was numpy's ValueError, a traceback
    with zipfile.ZipFile(tmp_path / "negative.npz", "w") as archive:  # the same check of an .npz to train on
        archive.writestr("x.npy", _npy_declaring((-5, 64)))
        archive.writestr("y.npy", _npy_declaring((5,)))
    with pytest.raises(DataError, match=r"negative.npz: array 'x' declares the shape \(-5, 64\) in its header, "
                                        r"with a size below 0, which no array has: save it again with numpy.savez$"):
        load_source(data=str(tmp_path / "negative.npz"))


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
@pytest.mark.filterwarnings("ignore:.*(in colour|skipped 2 image):UserWarning")  # asserted below, then read again
def test_a_folder_with_broken_and_odd_images_trains_and_says_once_what_it_skipped(cases, tmp_path):
    with pytest.warns(UserWarning, match=r"skipped 2 image\(s\): a/broken.png \(unreadable\), b/big.png \(5x5, not "
                                         r"4x4\)") as seen:
        run = ssvae.train(data=str(cases / "images"), labels=4, epochs=1, hidden=(8,), classifier_hidden=(8,),
                          latent_dim=2, progress=False, out=tmp_path / "run")
        report = ssvae.evaluate(run)  # as `ssvae train` does: the data it read, not read again
    assert run.config.input_shape == (3, 4, 4)  # one colour image: every image is read as RGB, and said so
    assert report["n_test"] > 0
    assert [str(w.message) for w in seen if "skipped" in str(w.message)][0].endswith(
        "; --image-size 4,4 (image_size= in Python) reads every image, resized")  # the size read, for all
    assert sum("skipped" in str(w.message) for w in seen) == 1
    assert [str(w.message) for w in seen if "colour" in str(w.message)] == [
        f"{cases / 'images'}: 1 of 13 images is in colour (e.g. b/colour.png), so all are read in colour (RGB, 3 "
        f"channels): to train on grey images, save these in grey first"]  # 13: big.png is skipped for its size
    with warnings.catch_warnings():
        warnings.simplefilter("error", ColourImages)  # a saved run reads its data again: no advice then
        assert ssvae.evaluate(tmp_path / "run")["n_test"] == report["n_test"]


@pytest.mark.filterwarnings("ignore:the test set is:UserWarning")  # tiny data: a tiny test set, as meant
@pytest.mark.filterwarnings("ignore:.*in colour:UserWarning")  # the odd images of the folder, as above
def test_a_run_on_the_current_folder_is_named_after_that_folder(cases, tmp_path, monkeypatch):
    shutil.copytree(cases / "images", tmp_path / "pics")
    monkeypatch.chdir(tmp_path / "pics")
    with pytest.warns(UserWarning, match="skipped 2 image"):  # the odd images of the folder, as above
        result = CliRunner().invoke(main, ["train", "--data", ".", "--labels", "4", *TINY])
    assert result.exit_code == 0 and "saved runs/pics-m2  |" in result.output, result.output  # not runs/-m2


def test_a_built_in_sets_name_given_as_data_says_to_pass_it_as_dataset(tmp_path, monkeypatch):
    """ssvae.train(data="digits"), a notebook's first guess, said only "no such file or folder; check the path";
    so did predict, score and evaluate of --data digits."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError, match=r"^digits: no such file or folder; check the path given to --data \(data= "
                                        r"in Python\), or pass --dataset digits \(dataset='digits' in Python\) for "
                                        r"the built-in set$"):
        ssvae.train(data="digits", epochs=1, progress=False)
    with pytest.raises(DataError, match=r"^mnist.npz: no such file or folder; check the path given to --data "
                                        r"\(data= in Python\)$"):
        ssvae.train(data="mnist.npz", epochs=1, progress=False)
    hint = r", or pass --dataset digits \(dataset='digits' in Python\) for the built-in set$"
    commands = (("predict", "the inputs"), ("score", "the inputs"), ("evaluate", r"the test data \(--data\)"))
    for command, what in commands:
        result = CliRunner().invoke(main, [command, str(ROOT / "models" / "digits-m2"), "--data", "digits"])
        assert result.exit_code == 1 and re.search(rf"^Error: digits: no such file or folder; check the path of "
                                                   rf"{what}{hint}", result.output), result.output
    result = CliRunner().invoke(main, ["predict", str(ROOT / "models" / "digits-m2"), "--data", "./digits"])
    assert result.output == "Error: ./digits: no such file or folder; check the path of the inputs\n"  # a path


def test_debug_shows_the_traceback(cases, monkeypatch):
    """--debug prints Python's traceback of the error, ending in its message; without it, the one line alone."""
    monkeypatch.chdir(cases)
    result = CliRunner().invoke(main, ["--debug", "train", "--data", "missing.npz"])
    assert result.exit_code == 1 and isinstance(result.exception, ssvae.api.DataError)
    message = "missing.npz: no such file or folder; check the path given to --data (data= in Python)"
    for debug in (["--debug"], []):
        shown = subprocess.run([sys.executable, "-m", "ssvae", *debug, "train", "--data", "missing.npz"], cwd=cases,
                               capture_output=True, text=True, timeout=120)
        assert shown.returncode == 1 and shown.stdout == ""
        if debug:
            assert shown.stderr.startswith("Traceback (most recent call last):\n")
            assert shown.stderr.endswith(f"ssvae.errors.DataError: {message}\n"), shown.stderr[-300:]
        else:
            assert shown.stderr == f"Error: {message}\n"


KILL_SCRIPT = """
import json, os, signal, sys
import torch
torch.set_num_threads(1)
import ssvae
from ssvae.models.base import Model
steps = {"n": 0}
kill_at = int(sys.argv[3])
if kill_at:
    for cls in Model.__subclasses__() + [c for m in Model.__subclasses__() for c in m.__subclasses__()]:
        original = cls.loss
        def loss(self, *args, _original=original, **kwargs):
            steps["n"] += 1
            if steps["n"] == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no flush: as a killed job dies
            return _original(self, *args, **kwargs)
        cls.loss = loss
if sys.argv[1] == "resume":
    ssvae.resume(sys.argv[2], progress=False)
else:
    ssvae.train(out=sys.argv[2], progress=False, **json.loads({json_settings}))
"""


@pytest.mark.parametrize("settings, kill_at", [
    ({"model": "m2", "epochs": 4, "val_labels": 20, "lr_schedule": "cosine"}, 35),  # epoch 3 of 4, 14 steps each
    # consistency training draws its views from torch's generator; the weight average, Adam's two groups
    # (with weight decay) and the adaptive threshold's running means are in the checkpoint
    # (two conv blocks: the second's kernels are channels-last in memory, unlike the checkpoint's Adam moments)
    ({"model": "m2", "epochs": 4, "val_labels": 20, "classifier": "conv", "classifier_channels": [4, 8],
      "augment": "shift", "consistency": 1.0, "ema": 0.9, "lr_schedule": "one-cycle", "weight_decay": 0.05}, 35),
    ({"model": "m2", "epochs": 4, "val_labels": 20, "classifier": "conv", "classifier_channels": [4],
      "augment": "shift", "consistency": 1.0, "adaptive_threshold": True}, 35),
    # 28 steps of M1, then each M2-stage step counts twice (M1M2.loss calls M2.loss): the m2 stage's 2nd epoch
    ({"model": "m1+m2", "m1_epochs": 2, "epochs": 2, "m1_hidden": [16]}, 70),
])
def test_killed_training_resumes_to_the_same_weights(tmp_path, settings, kill_at):
    settings = {"hidden": [16], "classifier_hidden": [16], "latent_dim": 2, "batch_size": 100, **settings}
    script = tmp_path / "job.py"
    script.write_text(KILL_SCRIPT.replace("{json_settings}", repr(json.dumps(settings))))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def job(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True, text=True,
                              timeout=300)

    assert job("train", str(tmp_path / "whole"), "0").returncode == 0
    killed = job("train", str(tmp_path / "killed"), str(kill_at))
    assert killed.returncode == -9, killed.stderr
    assert not (tmp_path / "killed" / "weights.safetensors").exists()
    stopped = load_checkpoint(tmp_path / "killed" / CHECKPOINT)
    assert (stopped.stage, stopped.epoch) == ((0, 2) if settings["model"] == "m2" else (1, 1))
    assert job("resume", str(tmp_path / "killed"), "0").returncode == 0
    whole = load_file(tmp_path / "whole" / "weights.safetensors")
    resumed = load_file(tmp_path / "killed" / "weights.safetensors")
    assert whole.keys() == resumed.keys()
    for name in whole:
        torch.testing.assert_close(resumed[name], whole[name], rtol=0, atol=0, msg=name)
    rows = read_metrics(tmp_path / "killed")
    assert [(r["stage"], r["epoch"]) for r in rows] == [(r["stage"], r["epoch"]) for r in read_metrics(
        tmp_path / "whole")]
    assert not (tmp_path / "killed" / CHECKPOINT).exists()


def test_a_folder_being_replaced_is_put_right_after_a_writer_killed_at_any_point(tmp_path):
    """`OutputFolder.replacing` moves the earlier files into a hidden subfolder whose name says whether the
    files beside it are earlier ones (being set aside, or put back) or a new writer's. A writer killed at any
    point leaves a state that the next one puts right before it starts: the earlier files whole."""
    folder = files.OutputFolder("run folder", ("config.json", "weights.safetensors", "metrics.csv"), sets_aside=True)
    out, earlier = tmp_path / "run", {"config.json": b"old config", "weights.safetensors": b"old weights"}

    def contents(path: Path) -> dict[str, bytes]:
        return {p.name: p.read_bytes() for p in path.iterdir() if p.is_file()}

    def state(aside: str, moved: tuple[str, ...], new: dict[str, bytes]) -> None:
        shutil.rmtree(out, ignore_errors=True)
        (out / aside).mkdir(parents=True)
        for name, data in earlier.items():
            (out / aside / name if name in moved else out / name).write_bytes(data)
        for name, data in new.items():
            (out / name).write_bytes(data)
        folder.check(out, replace=True)  # such a folder is still one --force takes

    for aside, moved, new in ((".setting-aside", ("config.json",), {}),  # killed setting aside
                              (".setting-aside", ("weights.safetensors",), {}),  # killed putting back
                              (".set-aside", tuple(earlier), {}),  # killed before writing
                              (".set-aside", tuple(earlier), {"config.json": b"new", "metrics.csv": b"new"})):
        state(aside, moved, new)
        with pytest.raises(ValueError, match="stopped"):
            with folder.replacing(out):
                assert [p.name for p in out.iterdir()] == [".set-aside"]
                assert contents(out / ".set-aside") == earlier
                (out / "config.json").write_bytes(b"newer")
                raise ValueError("stopped")
        assert contents(out) == earlier and [p.name for p in out.iterdir() if p.is_dir()] == []
    with folder.replacing(out) as keep_new:
        (out / "config.json").write_bytes(b"newer")
        keep_new()
        assert not (out / ".set-aside").exists()
        (out / "metrics.csv").write_bytes(b"newer")
    assert contents(out) == {"config.json": b"newer", "metrics.csv": b"newer"}
    with pytest.raises(ValueError):
        with folder.replacing(out) as keep_new:
            keep_new()
            raise ValueError  # after keep_new, the new files stay: they stand in for the earlier ones
    assert contents(out) == {}


def test_a_signal_while_the_earlier_files_are_deleted_keeps_the_new_ones(tmp_path, monkeypatch):
    """keep_new first renames the set-aside folder, then deletes it: Ctrl-C in the deletion leaves the new
    files (the run's first checkpoint) and a folder of leftovers that the next writer removes."""
    folder = files.OutputFolder("run folder", ("config.json", "weights.safetensors"), sets_aside=True)
    (tmp_path / "config.json").write_text("old")
    (tmp_path / "weights.safetensors").write_text("old")
    rmtree = shutil.rmtree

    def interrupted(path, *args, **kwargs):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        with folder.replacing(tmp_path) as keep_new:
            (tmp_path / "config.json").write_text("new")
            monkeypatch.setattr(files.shutil, "rmtree", interrupted)
            keep_new()
    monkeypatch.setattr(files.shutil, "rmtree", rmtree)
    assert (tmp_path / "config.json").read_text() == "new" and not (tmp_path / "weights.safetensors").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".discarded", "config.json"]
    folder.check(tmp_path, replace=True)
    with folder.replacing(tmp_path):
        assert sorted(p.name for p in tmp_path.iterdir()) == [".set-aside"]  # the leftovers gone
    assert list(tmp_path.iterdir()) == []


def test_a_signal_while_the_earlier_files_are_set_aside_puts_them_all_back(tmp_path, monkeypatch):
    """Ctrl-C between two files' moves into the set-aside folder: those not yet moved are the earlier run's, not
    a new run's files to remove (a training stopped before its first checkpoint removes its own)."""
    folder = files.OutputFolder("run folder", ("config.json", "labels.json", "weights.safetensors"), sets_aside=True)
    earlier = {name: f"old {name}".encode() for name in folder.files}
    for name, data in earlier.items():
        (tmp_path / name).write_bytes(data)
    rename, moves = Path.rename, []

    def interrupted(self, target):
        moves.append(self.name)
        if len(moves) == 2:
            raise KeyboardInterrupt
        return rename(self, target)

    monkeypatch.setattr(Path, "rename", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with folder.replacing(tmp_path):
            pass
    monkeypatch.setattr(Path, "rename", rename)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == earlier


def test_a_second_ctrl_c_while_the_earlier_files_are_put_back_waits_for_them(tmp_path, monkeypatch):
    """Ctrl-C pressed again while a stopped writer puts the earlier files back: they all go back first, then
    the second Ctrl-C ends the process (it used to stop the putting back halfway)."""
    folder = files.OutputFolder("run folder", ("config.json", "labels.json", "weights.safetensors"), sets_aside=True)
    earlier = {name: f"old {name}".encode() for name in folder.files}
    for name, data in earlier.items():
        (tmp_path / name).write_bytes(data)
    rename, handler = Path.rename, signal.getsignal(signal.SIGINT)

    def pressed_again(self, target):
        if self.parent.name == ".setting-aside":  # putting back: Ctrl-C arrives now, not after the block
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        return rename(self, target)

    with pytest.raises(KeyboardInterrupt) as stopped:
        with folder.replacing(tmp_path):
            (tmp_path / "config.json").write_bytes(b"new")
            monkeypatch.setattr(Path, "rename", pressed_again)
            raise KeyboardInterrupt("first")
    monkeypatch.setattr(Path, "rename", rename)
    assert str(stopped.value) == ""  # the second, delivered once the files were back
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == earlier
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_second_ctrl_c_while_an_export_is_swapped_back_keeps_the_model_folder(tmp_path, monkeypatch):
    """Ctrl-C between an export's two moves (the old folder aside, the new one in), then again while the old
    one is moved back: the old model folder stands, and no staging folder is left beside it."""
    from ssvae import onnx_export

    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model.json").write_text("old")
    replace, moves = os.replace, []

    def stopped(source, target):
        moves.append(Path(source).name)
        if len(moves) == 2:
            raise KeyboardInterrupt("first")
        if len(moves) == 3:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)
        return replace(source, target)

    monkeypatch.setattr(onnx_export.os, "replace", stopped)
    with pytest.raises(KeyboardInterrupt) as interrupted:
        onnx_export._write_folder(tmp_path / "model", {"model.json": b"new"})
    assert str(interrupted.value) == "" and len(moves) == 3
    assert [p.name for p in tmp_path.iterdir()] == ["model"]
    assert (tmp_path / "model" / "model.json").read_text() == "old"


def test_signals_held_back_by_uninterrupted_arrive_after_it_each_kind_once():
    """`uninterrupted` delivers each kind of signal held (SIGTERM and SIGINT: it delivered the first alone) to
    the handler set before, once, and gives that handler back; its own handler, were it left in place by a
    signal that arrived while the handlers were put back, passes signals on instead of swallowing them."""
    received = []

    def record(signum, frame):
        received.append(signum)

    previous = {signum: signal.signal(signum, record) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with files.uninterrupted():
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGTERM):
                os.kill(os.getpid(), signum)
                time.sleep(0.01)
            assert received == []
            hold = signal.getsignal(signal.SIGTERM)
        assert received == [signal.SIGTERM, signal.SIGINT]
        assert signal.getsignal(signal.SIGINT) is record and signal.getsignal(signal.SIGTERM) is record
        hold(signal.SIGTERM, None)
        assert received == [signal.SIGTERM, signal.SIGINT, signal.SIGTERM]
        with files.uninterrupted():
            pass
        assert len(received) == 3
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize("body", [
    "os.kill(os.getpid(), signal.SIGTERM)",  # held, then the system's default: the process ends
    "os.kill(os.getpid(), signal.SIGINT); os.kill(os.getpid(), signal.SIGTERM)",  # KeyboardInterrupt first
    "hold = signal.getsignal(signal.SIGTERM)",  # its own handler, were it left in place: passes SIGTERM on
])
def test_a_sigterm_held_by_uninterrupted_ends_the_process_as_it_would_have(body):
    """SIGTERM at the system's default (a process manager stopping ssvae) is held while files are put back, and
    then ends the process with its usual status 143 (-15 here), even where a Ctrl-C held with it raised first;
    and the hold handler, were it left behind, passes SIGTERM on to that default instead of swallowing it."""
    script = (f"import os, signal, time\nfrom ssvae import files\nwith files.uninterrupted():\n    {body}\n"
              f"    time.sleep(0.05)\n    print('held', flush=True)\n"
              f"if 'hold' in dir():\n    hold(signal.SIGTERM, None)\nprint('not ended', flush=True)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert (result.returncode, result.stdout) == (-signal.SIGTERM, "held\n"), result.stderr


def test_uninterrupted_leaves_signals_alone_where_a_handler_was_not_set_from_python(monkeypatch):
    """`signal.getsignal` gives None for a handler set outside Python (an embedding app's): it cannot be put
    back, so none is set over it and the block runs as it is."""
    real = signal.getsignal
    before = real(signal.SIGINT)
    monkeypatch.setattr(signal, "getsignal", lambda signum: None if signum == signal.SIGTERM else real(signum))
    with files.uninterrupted():
        assert real(signal.SIGINT) is before
    assert real(signal.SIGINT) is before


def test_a_replaced_link_among_a_runs_files_takes_the_usual_mode_not_that_of_what_it_named(tmp_path):
    """A file written in place of a link (`atomic_open`) is a new file: it takes a new file's permissions, not
    those of the file the link named (someone else's, private or world-writable)."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.write_text("theirs")
    elsewhere.chmod(0o700)  # an executable bit no umask gives a new file
    (tmp_path / "metrics.csv").symlink_to(elsewhere)
    files.write_atomic(tmp_path / "metrics.csv", "ours")
    assert not (tmp_path / "metrics.csv").is_symlink() and elsewhere.read_text() == "theirs"
    assert stat.S_IMODE((tmp_path / "metrics.csv").stat().st_mode) == files.usual_mode(directory=False)


def test_a_linked_lock_file_is_not_taken_for_a_writer_and_a_folder_there_is_refused(tmp_path):
    """A link at a lock file's place, naming a lock another process holds, is no sign that this folder is being
    written (it is not opened through); a folder there is refused as a link is."""
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["train", *TINY, "--out", str(run)]).exit_code == 0
    held = tmp_path / "held.lock"
    (run / files.LOCK_INSIDE).symlink_to(held)
    with files.FileLock(held):
        assert not files.being_written(run)
    (run / files.LOCK_INSIDE).unlink()
    (run / files.LOCK_INSIDE).mkdir()
    result = CliRunner().invoke(main, ["train", *TINY, "--out", str(run), "--force"])
    assert (result.exit_code, result.output) == (1, f"Error: {run / files.LOCK_INSIDE} is a folder where ssvae keeps "
                                                    f"a lock file of {run} (ssvae makes no such thing): remove it, "
                                                    f"then run the command again\n")
    assert ssvae.evaluate(run)["n_test"] == 450


def test_only_a_run_folder_takes_a_set_aside_folder_and_only_one_of_its_files(tmp_path):
    """A model folder never sets files aside, and a link or a user's file in such a folder is no sign of
    ssvae's: each makes --force leave the folder alone."""
    run = files.OutputFolder("run folder", ("config.json",), sets_aside=True)
    model = files.OutputFolder("model folder", ("config.json",))
    (tmp_path / "config.json").write_text("x")
    (tmp_path / ".set-aside").mkdir()
    (tmp_path / ".set-aside" / "config.json").write_text("x")
    assert run.foreign(tmp_path) == [] and model.foreign(tmp_path) == [".set-aside/"]
    (tmp_path / ".set-aside" / "mine.txt").write_text("x")
    assert run.foreign(tmp_path) == [".set-aside/"]
    shutil.rmtree(tmp_path / ".set-aside")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / ".set-aside").symlink_to(tmp_path / "elsewhere")
    assert run.foreign(tmp_path) == [".set-aside/", "elsewhere/"]


@pytest.mark.parametrize("cuda_rng", [None, torch.arange(16, dtype=torch.uint8)])
def test_a_checkpoint_keeps_every_generator_state(tmp_path, cuda_rng):
    """A run on a GPU draws its noise and views from the GPU's generator: its state must survive the file
    too (this CPU has none, so an arbitrary state stands in for it)."""
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])
    saved = Checkpoint(0, 3, {"w": torch.ones(2)}, optimizer.state_dict(), None,
                       torch.Generator().manual_seed(1).get_state(), torch.get_rng_state(), 0.5, None,
                       cuda_rng=cuda_rng)
    save_checkpoint(tmp_path / CHECKPOINT, saved)
    loaded = load_checkpoint(tmp_path / CHECKPOINT)
    assert (loaded.stage, loaded.epoch, loaded.best_val) == (0, 3, 0.5)
    assert torch.equal(loaded.generator, saved.generator) and torch.equal(loaded.torch_rng, saved.torch_rng)
    assert loaded.cuda_rng is None if cuda_rng is None else torch.equal(loaded.cuda_rng, cuda_rng)


def _stopped_run(out: Path, seed: int = 0, **settings) -> Path:
    """A tiny digits run (of ``settings``) interrupted in its third epoch: it holds the checkpoint of its second."""
    def stop(record: dict, network: object) -> None:
        if record["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ssvae.train(out=out, epochs=4, seed=seed, hidden=(16,), classifier_hidden=(16,), latent_dim=2,
                    progress=False, on_epoch=stop, **settings)
    return out


def _edit_checkpoint(path: Path, info: dict | None = None, tensors: dict | None = None) -> None:
    """Rewrite the checkpoint file ``path`` with ``info`` merged into its metadata and ``tensors`` into its
    tensors (a value of ... drops a key), as a damaged or hand-edited file would be; without the digest of its
    tensors, as an older ssvae wrote it, which would refuse any edit before the checks these edits meet."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        saved, held = json.loads(f.metadata()["ssvae_checkpoint"]), {k: f.get_tensor(k) for k in f.keys()}
    saved = {k: v for k, v in {**saved, **(info or {}), "tensors": ...}.items() if v is not ...}
    held = {k: v for k, v in {**held, **(tensors or {})}.items() if v is not ...}
    save_file(held, path, metadata={"ssvae_checkpoint": json.dumps(saved)})


def test_changed_bytes_in_a_run_file_and_another_runs_weights_are_refused(tmp_path):
    """Flipped bits in a checkpoint resumed without a word, and a weights file copied in from another run
    (another seed, or other labels) evaluated as this run, with that run's accuracy. Files an older ssvae
    wrote, without a digest or the run they are of, still load."""
    stopped = _stopped_run(tmp_path / "stopped")
    flipped = bytearray((stopped / CHECKPOINT).read_bytes())
    flipped[-100] ^= 1  # a tensor's byte: the header lies at the start
    (stopped / CHECKPOINT).write_bytes(bytes(flipped))
    with pytest.raises(RunError, match=rf"^{re.escape(str(stopped / CHECKPOINT))}: damaged \(its tensors no longer "
                                       rf"match the digest written with them\): restore it as training wrote it, or "
                                       rf"train the run again$"):
        ssvae.resume(stopped, progress=False)
    settings = dict(epochs=1, hidden=(16,), classifier_hidden=(16,), latent_dim=2, progress=False)
    for name, seed, labels in (("a", 1, 100), ("b", 2, 100), ("c", 1, 50)):
        ssvae.train(out=tmp_path / name, seed=seed, labels=labels, **settings)
    own = {name: (tmp_path / name / WEIGHTS).read_bytes() for name in "bc"}
    for name, which in (("b", "seed 1"), ("c", "other labels")):
        shutil.copy(tmp_path / "a" / WEIGHTS, tmp_path / name / WEIGHTS)
        with pytest.raises(RunError, match=rf"{WEIGHTS}: the weights of another run \({which}\) than config.json and "
                                           rf"labels.json describe: restore this run's own, or the files of the run "
                                           rf"they are of$"):
            ssvae.load(tmp_path / name)
        (tmp_path / name / WEIGHTS).write_bytes(own[name])
    flipped = bytearray(own["b"])
    flipped[-100] ^= 1
    (tmp_path / "b" / WEIGHTS).write_bytes(bytes(flipped))
    with pytest.raises(RunError, match=rf"{WEIGHTS}: damaged \(its tensors no longer match the digest") as refused:
        ssvae.evaluate(tmp_path / "b")
    assert ssvae.api.describe_run(tmp_path / "b")["problems"] == [str(refused.value)]  # info says so too
    for marks in ("[1]", '{"tensors": "0", "sied": 2}'):  # damaged marks: no traceback, no "seed None"
        save_file(load_file(tmp_path / "b" / WEIGHTS), tmp_path / "b" / WEIGHTS, metadata={"ssvae_weights": marks})
        with pytest.raises(RunError, match=rf"{WEIGHTS}: unreadable, corrupt or cut short \(its ssvae_weights "
                                           rf"metadata is not as training wrote it\)"):
            ssvae.evaluate(tmp_path / "b")
    (tmp_path / "b" / WEIGHTS).write_bytes(own["b"])
    expected = ssvae.evaluate(tmp_path / "b")["accuracy"]
    save_file(load_file(tmp_path / "b" / WEIGHTS), tmp_path / "b" / WEIGHTS)  # as an older ssvae wrote them
    assert ssvae.evaluate(tmp_path / "b")["accuracy"] == expected


def test_resume_refuses_a_damaged_or_edited_checkpoint_in_one_line(tmp_path):
    """Each was a traceback, a segmentation fault (a smaller Adam moment: the fused Adam walks it by its
    parameter's size), or a "finished" run that never trained (a position past its last epoch). The
    checkpoint is left as it was; the run, its own restored, still resumes."""
    stopped = _stopped_run(tmp_path / "stopped")
    original = (stopped / CHECKPOINT).read_bytes()
    moment = next(k for k in load_file(stopped / CHECKPOINT) if k.endswith(".exp_avg"))
    for info, tensors, message in (
            ({"scheduler": ...}, None, r"unreadable checkpoint \(KeyError: 'scheduler'\)"),
            ({"epoch": "2"}, None, r"unreadable checkpoint \(TypeError: stage and epoch must be whole numbers"),
            (None, {"rng.torch": torch.zeros(3)}, r"\(TypeError: random generator states must be bytes\)"),
            (None, {moment: torch.zeros(3, 3)}, rf"does not fit the stage's optimiser, schedule, weight average and "
                                                rf"best weights \(ValueError: optimiser state {moment[10:]} of shape "
                                                rf"\(3, 3\), for a parameter of shape \(\d+, \d+\)\)"),
            (None, {"rng.generator": torch.zeros(3, dtype=torch.uint8)},
             r"does not fit the model and its random generators \(RuntimeError: "),
            ({"epoch": 99}, None, r"says it was taken after epoch 99 of stage 1, which the run has not"),
            ({"stage": 1}, None, r"says it was taken after epoch 2 of stage 2, which the run has not")):
        _edit_checkpoint(stopped / CHECKPOINT, info, tensors)
        edited = (stopped / CHECKPOINT).read_bytes()
        with pytest.raises(RunError, match=message + r".*: restore it as training wrote it, or train the run again$"):
            ssvae.resume(stopped, progress=False)
        assert (stopped / CHECKPOINT).read_bytes() == edited
        (stopped / CHECKPOINT).write_bytes(original)
    result = CliRunner().invoke(main, ["train", "--resume", str(stopped)])  # the last edit, restored: it resumes
    assert result.exit_code == 0 and not (stopped / CHECKPOINT).exists(), result.output
    validated = _stopped_run(tmp_path / "validated", val_labels=20)  # it keeps its best epoch's weights
    best = next(k for k in load_file(validated / CHECKPOINT) if k.startswith("best.") and k.endswith(".weight"))
    _edit_checkpoint(validated / CHECKPOINT, tensors={best: torch.zeros(2, 2)})
    with pytest.raises(RunError, match=rf"\(ValueError: best weights' {best[5:]} of shape \(2, 2\) and type "
                                       rf"torch.float32, for \(\d+, \d+\) and torch.float32\)"):
        ssvae.resume(validated, progress=False)  # was torch's error after the stage's last epoch


def test_a_run_checks_that_labels_json_names_its_labels_and_tests_apart(tmp_path):
    """labels.json edited or replaced: an example both trained and tested on (its accuracy was inflated), one
    named twice, none to test or train on (torch's and numpy's errors), or another run's labels under a
    checkpoint (the run went on training on other labels with no word) are each refused in one line."""
    stopped = _stopped_run(tmp_path / "stopped")
    other = _stopped_run(tmp_path / "other", seed=1)
    split = json.loads((stopped / "labels.json").read_text())
    labelled, test = split["labelled"], split["test"]
    for edit, message in (({"test": test + labelled[:1]}, "labelled and test share examples"),
                          ({"labelled": labelled + labelled[:1]}, "labelled names an example twice"),
                          ({"test": []}, "test names no example"),
                          ({"labelled": []}, "labelled names no example")):
        (stopped / "labels.json").write_text(json.dumps({**split, **edit}))
        with pytest.raises(RunError, match=rf"labels.json: not as training wrote it \({message}\): restore it, or "
                                           rf"train the run again$"):
            ssvae.resume(stopped, progress=False)
    for edit, seen in (({"labelled": labelled[1:]}, "99 labels, 0 of them"),  # one fewer, or one moved
                       ({"labelled": labelled[1:], "validation": labelled[:1]}, "100 labels, 1 of them")):
        (stopped / "labels.json").write_text(json.dumps({**split, **edit}))
        with pytest.raises(RunError, match=rf"stopped: labels.json names {seen} for validation, where config.json "
                                           rf"says 100 and 0: restore both files as training wrote them, or train "
                                           rf"the run again$"):
            ssvae.resume(stopped, progress=False)
    shutil.copy(other / "labels.json", stopped / "labels.json")
    with pytest.raises(RunError, match=r"checkpoint.safetensors: taken by a run that trained on other labels than "
                                       r"labels.json names \(edited or replaced since\?\): restore labels.json"):
        ssvae.resume(stopped, progress=False)


def test_weights_of_another_type_or_not_finite_are_refused(tmp_path):
    """Loading converted integer weights silently (an accuracy of 0.10, and an export of them), and NaN
    weights, which training never keeps, were evaluated and exported as they were."""
    run = ssvae.train(out=tmp_path / "run", epochs=1, hidden=(16,), classifier_hidden=(16,), latent_dim=2,
                      progress=False)
    weights = load_file(run.run_dir / "weights.safetensors")
    name = next(iter(weights))
    for value, message in ((weights[name].int(), rf"does not fit the model in config.json \({name} is torch.int32, "
                                                 rf"not torch.float32\); restore both files"),
                           (weights[name] * np.nan, rf": {name} holds NaN or inf, which training never keeps: "
                                                    rf"restore the file as training wrote it")):
        save_file({**weights, name: value}, run.run_dir / "weights.safetensors")
        for call in (ssvae.evaluate, lambda folder: ssvae.export(folder, tmp_path / "model")):
            with pytest.raises(RunError, match=message):
                call(run.run_dir)
    assert not (tmp_path / "model").exists()


def test_resume_refuses_a_checkpoint_of_settings_config_json_no_longer_describes(tmp_path):
    """An m1+m2 run stopped in M1, config.json edited since: its M1 epochs to 0 (M2 would have taken M1's
    checkpoint: torch's raw optimiser error), alpha (training would go on with another objective) or ema (the
    average the checkpoint lacks: an AttributeError). Each edit is named. Checkpoints of older versions record
    no settings, or no stages either: the first are checked by their stages, the others still resume."""
    out = tmp_path / "run"

    def stop(record: dict, network: object) -> None:
        if (record["stage"], record["epoch"]) == ("m1", 2):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        ssvae.train(out=out, model="m1+m2", epochs=2, m1_epochs=3, hidden=(16,), m1_hidden=(16,),
                    classifier_hidden=(16,), latent_dim=2, m1_latent_dim=4, progress=False, on_epoch=stop)
    config = json.loads((out / "config.json").read_text())
    for edit, named in (({"m1_epochs": 0}, "m1_epochs 3 then, 0 now"),
                        ({"alpha": 50.0, "lr": 0.1}, "lr 0.003 then, 0.1 now; alpha 0.3 then, 50.0 now"),
                        ({"ema": 0.5}, "ema 0.0 then, 0.5 now")):
        (out / "config.json").write_text(json.dumps({**config, **edit}))
        with pytest.raises(RunError, match=rf"checkpoint.safetensors: taken after epoch 1 of stage 1 of a run that "
                                           rf"config.json \({named}\) no longer describes \(edited since\?\): "
                                           rf"restore config.json as training wrote it, or train the run again$"):
            ssvae.resume(out, progress=False)
    checkpoint = load_checkpoint(out / CHECKPOINT)
    assert checkpoint.plan == (("m1", 3), ("m2", 2)) and checkpoint.config == Config.from_dict(config)
    for edit in ({"checkpoint_every": 5}, {"device": "cpu"}, {"epochs": 9}):  # a resume may take them (epochs
        # is checked against the checkpoint's place by _check_length)
        assert ssvae.api._edits_since(checkpoint, Config.from_dict({**config, **edit}), []) == ""
    (out / "config.json").write_text(json.dumps({**config, "m1_epochs": 0}))
    save_checkpoint(out / CHECKPOINT, dataclasses.replace(checkpoint, config=None))  # as older versions wrote it
    with pytest.raises(RunError, match=r"config.json \(m2 2 epochs\) no longer describes \(edited since\?\)"):
        ssvae.resume(out, progress=False)
    (out / "config.json").write_text(json.dumps(config))
    save_checkpoint(out / CHECKPOINT, dataclasses.replace(checkpoint, config=None, plan=None))  # older still
    run = ssvae.resume(out, progress=False)
    assert [(r["stage"], r["epoch"]) for r in run.history] == [("m1", 1), ("m1", 2), ("m1", 3), ("m2", 1), ("m2", 2)]


# a run of 3 epochs stopped in its third, after the second's checkpoint (the interrupted_run fixture)
RESUMED = dict(hidden=(16,), classifier_hidden=(16,), latent_dim=2, val_labels=10, ema=0.5, progress=False, epochs=3)


@pytest.mark.parametrize("epochs", [2, 5])
def test_a_resume_with_other_epochs_ends_as_a_run_trained_that_long(tmp_path, interrupted_run, epochs):
    """A 3-epoch run stopped after epoch 2, resumed to end at once (2) or later (5), ends with the weights,
    records and config.json of a run trained for that many epochs from the start: the best validation
    epoch's weights of a weight average, on the CPU bit for bit."""
    interrupted_run(tmp_path / "run", 3, **RESUMED)
    whole = ssvae.train(out=tmp_path / "whole", **{**RESUMED, "epochs": epochs})
    resumed = ssvae.resume(tmp_path / "run", progress=False, epochs=epochs)
    assert resumed.config == whole.config == ssvae.load(tmp_path / "run").config and whole.config.epochs == epochs
    assert [row["epoch"] for row in read_metrics(tmp_path / "run")] == list(range(1, epochs + 1))
    assert ([{**row, "seconds": None} for row in read_metrics(tmp_path / "run")] ==
            [{**row, "seconds": None} for row in read_metrics(tmp_path / "whole")])
    assert not (tmp_path / "run" / CHECKPOINT).exists()
    mine, theirs = (load_file(tmp_path / name / WEIGHTS) for name in ("run", "whole"))
    for name, value in theirs.items():
        torch.testing.assert_close(mine[name], value, rtol=0, atol=0, msg=name)


def test_a_resume_refuses_a_length_its_checkpoint_or_schedule_cannot_take(tmp_path, monkeypatch, interrupted_run):
    """Fewer epochs than the checkpoint has trained; any but the planned ones under a cosine learning rate
    (whose weights would be no run's of that length; a run stopped before the last stage takes any); a
    plan-less checkpoint of an older ssvae; a finished run. Each is refused in one line naming what works,
    before anything is written, and so is a resume that fails as training starts (no GPU for a device edited
    to cuda): config.json and metrics.csv stay as they were."""
    constant, cosine = tmp_path / "constant", tmp_path / "cosine"
    interrupted_run(constant, 3, **RESUMED)
    interrupted_run(cosine, 3, lr_schedule="cosine", **RESUMED)
    before = {run: {path.name: path.read_bytes() for path in run.iterdir()} for run in (constant, cosine)}
    plan_less = tmp_path / "plan_less"
    shutil.copytree(constant, plan_less)
    checkpoint = load_checkpoint(plan_less / CHECKPOINT)
    save_checkpoint(plan_less / CHECKPOINT, dataclasses.replace(checkpoint, config=None, plan=None))
    for run, epochs, message in (
            (constant, 1, f"{constant / CHECKPOINT}: taken after epoch 2 of 3: the run can end there or later, not "
                          f"at epoch 1 (--epochs): resume it with --epochs 2 or more (epochs= in Python); 2 ends it "
                          f"at once"),
            (cosine, 2, f"{cosine / CHECKPOINT}: taken after epoch 2 of 3, with its cosine learning rate planned "
                        f"over those 3: it cannot end at epoch 2 (--epochs), which would leave the weights of no run "
                        f"of that length: resume it with --epochs 3 (epochs=3 in Python), or train a new run of 2 "
                        f"epochs"),
            (cosine, 4, f"{cosine / CHECKPOINT}: taken after epoch 2 of 3, with its cosine learning rate planned "
                        f"over those 3: it cannot end at epoch 4 (--epochs), which would leave the weights of no run "
                        f"of that length: resume it with --epochs 3 (epochs=3 in Python), or train a new run of 4 "
                        f"epochs"),
            (plan_less, 5, f"{plan_less / CHECKPOINT}: taken after epoch 2, by an older ssvae that recorded no plan "
                           f"of the run's epochs to change: resume it without --epochs (epochs= in Python)")):
        with pytest.raises(RunError) as caught:
            ssvae.resume(run, progress=False, epochs=epochs)
        assert str(caught.value) == message
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    config = json.loads((constant / "config.json").read_text())
    (constant / "config.json").write_text(json.dumps({**config, "device": "cuda"}))
    with pytest.raises(ConfigError, match="device cuda was asked for but no CUDA GPU is visible"):
        ssvae.resume(constant, progress=False, epochs=5)
    (constant / "config.json").write_bytes(before[constant]["config.json"])
    assert {run: {path.name: path.read_bytes() for path in run.iterdir()} for run in (constant, cosine)} == before
    assert ssvae.resume(cosine, progress=False, epochs=3).config.epochs == 3  # as planned
    with pytest.raises(RunError, match=r"cosine: the run is finished \(its weights.safetensors is there, and no "
                                       r"checkpoint\): there is nothing to resume or lengthen; evaluate or export "
                                       r"it, or train a new, longer run \(more --epochs, with another --out or "
                                       r"--force; epochs=, out=, replace=True in Python\)$"):
        ssvae.resume(cosine, progress=False, epochs=6)


def test_a_resume_with_more_epochs_stopped_again_goes_on_from_its_last_checkpoint(tmp_path, interrupted_run):
    """config.json takes a resume's epochs with the resume's first checkpoint: a resume stopped after it
    leaves a run that a plain resume takes on to the new length, one stopped before it the run as it was;
    m1+m2's last stage is M2's."""
    settings = dict(RESUMED, model="m1+m2", m1_epochs=1, m1_hidden=(16,), m1_latent_dim=4)
    for stopped, epochs in ((3, 3), (4, 5)):  # in M2's epoch 3, before its checkpoint; in epoch 4, after 3's
        out = tmp_path / f"run{stopped}"
        interrupted_run(out, 3, **settings)

        def stop(record: dict, network: object) -> None:
            if record["epoch"] == stopped:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            ssvae.resume(out, progress=False, epochs=5, on_epoch=stop)
        assert json.loads((out / "config.json").read_text())["epochs"] == epochs
        assert [(r["stage"], r["epoch"]) for r in ssvae.resume(out, progress=False).history] == [
            ("m1", 1), *(("m2", e) for e in range(1, epochs + 1))]


def test_a_checkpoint_resumes_on_the_kind_of_device_that_wrote_it(tmp_path, monkeypatch):
    """Its generators' states are that device's alone: a GPU's fed to the CPU was torch's raw error, and a CPU
    run resumed on a GPU that appeared since (device auto) would not go on as it began."""
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.ones(2))])
    on_cpu = Checkpoint(0, 1, {}, optimizer.state_dict(), None, torch.Generator().get_state(),
                        torch.get_rng_state(), 0.5, None)
    on_gpu = dataclasses.replace(on_cpu, generator=torch.zeros(16, dtype=torch.uint8),
                                 cuda_rng=torch.zeros(16, dtype=torch.uint8))
    for written in (on_cpu, on_gpu):
        save_checkpoint(tmp_path / CHECKPOINT, written)
        assert load_checkpoint(tmp_path / CHECKPOINT).device == written.device
    assert (on_cpu.device, on_gpu.device) == ("cpu", "cuda")
    auto = Config(device="auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert training_device(auto, None).type == "cuda" and training_device(auto, on_cpu).type == "cpu"
    assert training_device(auto, on_gpu).type == "cuda"
    assert training_device(Config(device="cuda:1"), on_gpu) == torch.device("cuda:1")  # the run's own GPU
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RunError, match="^the checkpoint was written by training on a CUDA GPU and none is visible "
                                       "here: resume it on a machine with one, or train the run again$"):
        training_device(auto, on_gpu)


def test_outputs_get_the_usual_permissions_not_owner_only(tmp_path):
    """Written under owner-only temporary names, files and model folders still end with the permissions the
    umask gives, so that other users and services can read them."""

    from ssvae.files import write_atomic
    from ssvae.onnx_export import _write_folder

    old = os.umask(0o027)
    try:
        write_atomic(tmp_path / "p.csv", "id,predicted\n")
        _write_folder(tmp_path / "model", {"model.json": b"{}"})
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "p.csv").stat().st_mode) == 0o640
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o750
    (tmp_path / "p.csv").chmod(0o604)  # a file replaced keeps its permissions, as after the shell's >
    write_atomic(tmp_path / "p.csv", "id,predicted\n1,cat\n")
    assert stat.S_IMODE((tmp_path / "p.csv").stat().st_mode) == 0o604


def test_a_failed_swap_over_a_read_only_model_folder_leaves_no_hidden_copy(tmp_path, monkeypatch):
    """--force over a read-only model folder, which the system will not let a user other than root move: the
    staging folder had taken its read-only permissions for the swap, and could then not be emptied (but by
    root), so each try left a whole hidden copy of the model. It is made writable again before removal."""
    from ssvae import onnx_export

    onnx_export._write_folder(tmp_path / "model", {"model.json": b"old"})
    (tmp_path / "model").chmod(0o555)
    replace, rmtree, removed = os.replace, shutil.rmtree, []

    def refused(source, target):  # the system's answer to moving a read-only folder to another parent
        if Path(source) == tmp_path / "model":
            raise PermissionError(errno.EACCES, "Permission denied", str(source))
        replace(source, target)

    def remove(path, **kwargs):
        if Path(path).exists():
            removed.append(stat.S_IMODE(os.stat(path).st_mode))
        rmtree(path, **kwargs)

    monkeypatch.setattr(os, "replace", refused)
    monkeypatch.setattr(onnx_export.shutil, "rmtree", remove)
    with pytest.raises(PermissionError):
        onnx_export._write_folder(tmp_path / "model", {"model.json": b"new"})
    assert removed and all(mode & stat.S_IWUSR for mode in removed)  # each folder removed was writable
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]
    assert (tmp_path / "model" / "model.json").read_bytes() == b"old"


def test_a_replaced_file_keeps_its_group_and_drops_setuid(tmp_path):
    """A file shared with one group (chgrp staff; chmod 640) stays readable by that group alone once
    replaced, not by the user's own group; no setuid bit passes to new contents."""
    from ssvae.files import write_atomic

    path = tmp_path / "p.csv"
    path.write_text("old")
    own = path.stat().st_gid
    settable = range(1, 100) if os.geteuid() == 0 else os.getgroups()  # root may set any group
    group = next((g for g in settable if g != own), own)
    os.chown(path, -1, group)
    path.chmod(0o4640)
    write_atomic(path, "new")
    assert (path.read_text(), path.stat().st_gid, stat.S_IMODE(path.stat().st_mode)) == ("new", group, 0o640)


def test_a_file_is_replaced_where_the_system_has_no_chown_as_on_windows(tmp_path, monkeypatch):
    """Windows has no os.chown: every file ssvae replaced (metrics.csv after a training's first epoch, an --out
    with --force) raised AttributeError there."""
    from ssvae.files import write_atomic

    path = tmp_path / "metrics.csv"
    path.write_text("old")
    path.chmod(0o600)
    monkeypatch.delattr(os, "chown")
    write_atomic(path, "new")
    assert (path.read_text(), stat.S_IMODE(path.stat().st_mode)) == ("new", 0o600)


LR_CAUSE = r"Likely cause: a learning rate too high for these data \(try --lr 0.0001 \(lr=0.0001 in Python\)\)"


@pytest.mark.parametrize("precision, fault, call, what, cause", [
    ("float32", "loss", 10, r"the loss was NaN or infinite in 1 step\(s\); those steps were not applied",
     LR_CAUSE + "$"),
    ("bfloat16", "loss", 10, r"the loss was NaN or infinite in 1 step\(s\); those steps were not applied",
     LR_CAUSE + r", or bfloat16's coarse rounding \(try --precision float32 \(precision='float32' in Python\)\)$"),
    # the epoch's last step: no later loss turns NaN, so only the weights tell
    ("float32", "gradient", 14, r"a step with a finite loss had NaN or infinite gradients, which made the weights so",
     LR_CAUSE + "$")])
def test_a_nan_loss_is_never_applied_and_stops_the_run(tmp_path, monkeypatch, tiny_config, precision, fault, call,
                                                       what, cause):
    from ssvae.models.m2 import M2

    original, calls = M2.loss, {"n": 0}

    def loss(self, *args, **kwargs):
        terms = original(self, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == call and fault == "loss":  # in the second epoch (7 steps an epoch)
            terms["loss"] = terms["loss"] * float("nan")
        if calls["n"] == call and fault == "gradient":  # sqrt(0) is 0, its gradient inf: inf * 0 is NaN
            terms["loss"] = terms["loss"] + torch.sqrt(next(self.parameters()).sum() * 0)
        return terms

    monkeypatch.setattr(M2, "loss", loss)
    with pytest.raises(TrainingError, match=r"train epoch 2: " + what + r" and training stopped .*intact\). " + cause):
        ssvae.train(tiny_config, out=tmp_path / "run", progress=False, epochs=2, batch_size=200, precision=precision)
    saved = load_checkpoint(tmp_path / "run" / CHECKPOINT)
    assert saved.epoch == 1 and all(torch.isfinite(t).all() for t in saved.model.values())
    assert len(read_metrics(tmp_path / "run")) == 1


def test_a_run_stopped_before_its_first_checkpoint_leaves_its_folder_as_it_found_it(tmp_path, monkeypatch,
                                                                                      tiny_config):
    """A NaN loss in the first epoch left config.json, labels.json and metrics.csv in the folder it had made,
    and training there again was told the folder 'already exists: pass --force'. A folder it made is now
    removed, with the folders above it that it made (new/ stayed), and one it found empty is left empty."""
    from ssvae.models.m2 import M2

    original = M2.loss
    monkeypatch.setattr(M2, "loss", lambda self, *a, **k: {**(t := original(self, *a, **k)),
                                                            "loss": t["loss"] * float("nan")})
    (tmp_path / "mine").mkdir()
    for out in (tmp_path / "new" / "run", tmp_path / "mine"):
        with pytest.raises(TrainingError, match="train epoch 1: the loss was NaN"):
            ssvae.train(tiny_config, out=out, progress=False)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")) == ["mine"]
    monkeypatch.setattr(M2, "loss", original)
    assert ssvae.train(tiny_config, out=tmp_path / "new" / "run", progress=False).run_dir == tmp_path / "new" / "run"


def test_runtime_is_safe_from_eight_threads(cases):
    from ssvae import runtime

    model = runtime.load(cases / "model")
    x = ssvae.load(cases / "run").partition().test.x

    def work(k: int | None = None) -> list[np.ndarray]:
        if k is not None:
            start.wait()  # every thread calls at once
        results[k] = [out for _ in range(3) for i in range(0, len(x), 37)
                      for out in (model.classify(x[i: i + 37]), *model.encode(x[i: i + 37]))]
        return results[k]

    results: dict[int | None, list[np.ndarray]] = {}
    start = threading.Barrier(8, timeout=60)
    expected = work()  # single-threaded, the same batches

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 9
    for parts in results.values():
        assert len(parts) == len(expected)
        for part, same in zip(parts, expected):
            np.testing.assert_array_equal(part, same)


def test_metrics_keep_their_types_and_keys_through_a_round_trip(tmp_path):
    """A record read back is the record training wrote: a column the run does not measure (an empty cell) has
    no key, as in the records `on_epoch` gets and a trained Run's history holds (it read as None)."""
    from ssvae.run import METRICS, save_metrics

    save_metrics(tmp_path / METRICS, [{"stage": "m2", "epoch": 3, "loss": 1.5}])
    (row,) = read_metrics(tmp_path)
    assert type(row["epoch"]) is int and row == {"stage": "m2", "epoch": 3, "loss": 1.5}


def test_a_metrics_row_with_too_few_fields_is_a_run_error(tmp_path):
    (tmp_path / "metrics.csv").write_text("stage,epoch,loss\nm2,1\n")
    with pytest.raises(RunError, match=r"row 1 is not as training wrote it \(a field too many or too few\)"):
        read_metrics(tmp_path)


def test_replacing_a_folder_sets_aside_only_what_ssvae_wrote_there(tmp_path):
    """The temporary file of a write cut short goes with ssvae's files; a file of the user's own stays."""
    folder = files.OutputFolder("run folder", ("config.json", "weights.safetensors", "labels.json"))
    for name in ("weights.safetensors", "config.json", "labels.json", ".labels.json.x.tmp", "mine.txt"):
        (tmp_path / name).write_text("x")
    with folder.replacing(tmp_path):
        assert sorted(p.name for p in (tmp_path / ".set-aside").iterdir()) == [
            ".labels.json.x.tmp", "config.json", "labels.json", "weights.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def test_a_name_of_up_to_255_bytes_is_written_though_its_temporary_name_is_longer(tmp_path, monkeypatch):
    """A temporary name adds 14 bytes to the name it stands for, and a lock file 6: an --out of 242 to 255
    bytes, which the shell's > takes, was refused as "File name too long" or as a place that "takes no new
    file". Those names keep its first 183 bytes and a digest of it (`hidden_prefix`), not within a character."""
    monkeypatch.chdir(tmp_path)
    model = str(ROOT / "models" / "digits-m2")
    csv, png, run = "p" * 251 + ".csv", "é" * 125 + ".png", "r" * 255  # é: two bytes
    runner = CliRunner()
    for args in (["predict", model, "--dataset", "digits", "--out", csv, "--quiet"], ["generate", model, "--out", png],
                 ["train", *TINY, "--out", run], ["export", run, "--out", run[:-1]]):
        result = runner.invoke(main, args)
        assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([csv, png, run, run[:-1]])
    assert files.hidden_prefix(png).startswith("." + "é" * 91 + "~") and len(files.hidden_prefix(png).encode()) == 201
    assert files.hidden_prefix("a.csv") == ".a.csv."


def test_folders_alike_in_their_first_bytes_or_but_for_bytes_of_no_utf_8_keep_locks_of_their_own(tmp_path):
    """Lock files beside a folder kept the first 200 bytes of its name and dropped bytes that are no UTF-8: a
    training into one of two such folders (r * 210 + "-a" and "-b"; run and run\\xe9) refused one into the other
    as "being written by another ssvae process", and `being_written` took the one for the other."""
    pairs = [("r" * 210 + "-a", "r" * 210 + "-b"), ("run", os.fsdecode(b"run\xe9")), ("run\udce8", "run\udce9")]
    for first, second in pairs:
        with files.sole_writer(tmp_path / first), files.sole_writer(tmp_path / second):
            pass
        assert list(tmp_path.iterdir()) == []
        with files.FileLock(tmp_path / f"{files.hidden_prefix(first)}lock"):  # another process's training
            assert files.being_written(tmp_path / first) and not files.being_written(tmp_path / second)
        (tmp_path / f"{files.hidden_prefix(first)}lock").unlink(missing_ok=True)
    assert files.hidden_prefix(os.fsdecode(b"run\xe9")) == os.fsdecode(b".run\xe9.")


def test_an_error_while_writing_leaves_the_old_file_and_no_temporary_one(tmp_path):
    (tmp_path / "out.csv").write_text("old")
    with pytest.raises(RuntimeError):
        with files.atomic_open(tmp_path / "out.csv") as f:
            f.write("half")
            raise RuntimeError("stopped")
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"] and (tmp_path / "out.csv").read_text() == "old"


def test_a_failed_command_leaves_no_folder_it_made_for_its_output(cases, tmp_path):
    """`score` opens its --out before the work: where the work fails, the folders made for it go again (those
    that were there before, and any a file was put in meanwhile, stay)."""
    result = CliRunner().invoke(main, ["score", str(cases / "model"), "--data", str(cases / "nan_digits.npy"),
                                       "--out", str(tmp_path / "new" / "sub" / "s.csv")])
    assert result.exit_code == 1 and "nan_digits.npy: inputs contain NaN" in result.output
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError):
        with files.atomic_open(tmp_path / "a" / "b" / "out.csv"):
            (tmp_path / "a" / "theirs.txt").write_text("another's")
            raise RuntimeError("stopped")
    assert [p.name for p in tmp_path.rglob("*")] == ["a", "theirs.txt"]
    (tmp_path / "a" / "theirs.txt").unlink()
    with pytest.raises(RuntimeError):  # "a" was there before: through "..", it is no folder this call made
        with files.atomic_open(tmp_path / "gone" / ".." / "a" / "out.csv"):
            raise RuntimeError("stopped")
    assert [p.name for p in tmp_path.rglob("*")] == ["a"]


def test_folders_that_exist_are_not_made_again_as_macos_and_windows_refuse_to(tmp_path, monkeypatch):
    """macOS answers mkdir("/") with EISDIR and Windows a drive's root with EACCES, not EEXIST: a folder that is
    there is never asked for again, so every write to an absolute path works there too; a file in the way is
    an error, as before."""
    original = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if self.is_dir():
            raise IsADirectoryError(errno.EISDIR, "Is a directory", str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    files.write_atomic(tmp_path / "new" / "out.csv", "x")
    assert (tmp_path / "new" / "out.csv").read_text() == "x"
    (tmp_path / "file").write_text("mine")
    with pytest.raises(OSError):
        files.write_atomic(tmp_path / "file" / "out.csv", "x")
    assert (tmp_path / "file").read_text() == "mine"


def test_a_second_training_into_a_run_folder_being_written_is_refused(tmp_path):
    """Two trainings given one --out would mix their files (one's config, the other's weights): while one
    writes the folder, another, or a --resume of it, even through a link, is refused; once it ends, no lock is
    left beside it."""
    from filelock import FileLock

    settings = dict(epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
    with FileLock(tmp_path / ".run.lock"):  # what another process's training holds
        with pytest.raises(RunError, match=f"{tmp_path / 'run'} is being written by another ssvae process now"):
            ssvae.train(out=tmp_path / "run", **settings)
        assert not (tmp_path / "run").exists()
    ssvae.train(out=tmp_path / "run", **settings)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]
    (tmp_path / "run" / CHECKPOINT).write_bytes(b"")  # as the other training leaves it while it trains
    with FileLock(tmp_path / ".run.lock"):
        with pytest.raises(RunError, match="is being written by another ssvae process now"):
            ssvae.resume(tmp_path / "run")
        with pytest.raises(RunError, match="is being written by another ssvae process now"):  # not "unfinished"
            ssvae.train(out=tmp_path / "run", **settings)
    (tmp_path / "link").symlink_to(tmp_path / "run")  # the same folder by another name: the same lock
    with FileLock(tmp_path / ".run.lock"):
        with pytest.raises(RunError, match=f"{tmp_path / 'link'} is being written by another ssvae process now"):
            ssvae.resume(tmp_path / "link")


def test_a_link_to_a_run_folder_in_a_folder_that_takes_no_lock_file_still_trains(tmp_path, monkeypatch):
    """The lock beside the folder a link names is taken where it can be: a parent that refuses new files
    (not the user's, or immutable) leaves the lock beside the link, which the run's writing needed before."""
    from filelock import FileLock

    closed, acquire = tmp_path / "closed", FileLock.acquire

    def refused(lock: FileLock, *args, **kwargs):
        if Path(lock.lock_file).parent == closed:
            raise PermissionError(errno.EPERM, "Operation not permitted", lock.lock_file)
        return acquire(lock, *args, **kwargs)

    monkeypatch.setattr(FileLock, "acquire", refused)
    (closed / "run").mkdir(parents=True)
    (tmp_path / "link").symlink_to(closed / "run")
    ssvae.train(out=tmp_path / "link", epochs=1, hidden=(8,), classifier_hidden=(8,), latent_dim=2, progress=False)
    assert (closed / "run" / "weights.safetensors").is_file() and sorted(os.listdir(tmp_path)) == ["closed", "link"]


def test_a_full_disk_names_the_file_and_keeps_the_old_one(tmp_path, monkeypatch):
    """The system says only "No space left on device": the message names the output and the fix, and the
    previous output is left whole with no temporary file beside it."""
    (tmp_path / "p.csv").write_text("old")

    def full(source, target):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(files.os, "replace", full)
    model = ROOT / "models" / "digits-m2"
    result = CliRunner().invoke(main, ["predict", str(model), "--dataset", "digits", "--out", str(tmp_path / "p.csv"),
                                       "--force", "--quiet"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {tmp_path / 'p.csv'}: No space left on device (free some space, or " \
                                    f"write elsewhere)"
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"] and (tmp_path / "p.csv").read_text() == "old"


def test_data_that_lost_just_their_last_example_are_named_as_too_short(tmp_path):
    """The split's highest index is one past the data's end: said in those words (a fingerprint would only say
    that the examples differ)."""
    rng = np.random.default_rng(0)
    x, y = rng.random((60, 4)).astype(np.float32), np.arange(60) % 2
    np.savez(tmp_path / "d.npz", x=x, y=y)
    run = ssvae.train(data=str(tmp_path / "d.npz"), labels=10, epochs=1, hidden=(8,), classifier_hidden=(8,),
                      latent_dim=2, progress=False, out=tmp_path / "run")
    last = max(*run.split.labelled, *run.split.test)
    np.savez(tmp_path / "d.npz", x=x[:last], y=y[:last])
    with pytest.raises(DataError, match=f"not the data this run was trained on \\(the run's split names example "
                                        f"{last} but the data have {last}\\)"):
        ssvae.evaluate(ssvae.load(tmp_path / "run"))
