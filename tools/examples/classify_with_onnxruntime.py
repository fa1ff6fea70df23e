"""Classify inputs with an ssvae export using numpy and onnxruntime only (Pillow too, for a folder).

    python classify_with_onnxruntime.py models/digits-m2 inputs.npz      # array x: uint8 0..255 or floats in [0, 1]
    python classify_with_onnxruntime.py models/digits-m2 photos/         # the images in a folder

Prints one CSV line an input: id,predicted class,confidence. Nothing here comes from ssvae: copy it into
your app. Images are read upright, as viewers show them (a camera's EXIF orientation applied), as ssvae
reads them. Kept short: a folder's images (hidden files aside) must all have the model's size (a model
trained with --image-size has them resized, as ssvae does) and be 8-bit without transparency (`ssvae predict`
skips other sizes, scales 16-bit grey and lays transparent pixels onto black); others are refused. A problem
with the model or the inputs (rows that overflow float32 inside the model among them) is one line on stderr
and exit status 1; uint8 inputs of a few grey levels (0..16) a warning there; a reader that stops early (| head)
ends it quietly.
"""

import csv
import json
import os
import signal
import sys
import zipfile
from pathlib import Path

import numpy as np

os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")  # before onnxruntime loads: no usage events sent to Microsoft
import onnxruntime as ort  # noqa: E402

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".jfif", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm",
                  ".pnm"}
EIGHT_BIT_MODES = {"1", "L", "P", "RGB", "CMYK", "YCbCr"}  # Pillow's modes of 8-bit images (or 1-bit)
FEW_LEVELS = 64  # uint8 inputs below this are grey levels 0..L more likely than 8-bit images (ssvae warns alike)
USAGE = "usage: python classify_with_onnxruntime.py MODEL_DIR INPUTS (an .npz of array x, an .npy or a folder of images)"


def load_inputs(path: Path, shape: list[int], resize: bool) -> tuple[list[str], np.ndarray]:
    """(ids, inputs as stored) of an .npz (array x), an .npy or a folder of images (of the model's size, or
    ``resize``d to it)."""
    if path.is_dir():
        if len(shape) != 3:
            sys.exit(f"{path}: a folder of images, but the model takes rows of {shape[0]} numbers: pass an .npz or .npy")
        files = sorted(f for f in path.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES
                       and not any(part.startswith(".") for part in f.relative_to(path).parts))
        if not files:
            sys.exit(f"{path}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it")
        size = (shape[2], shape[1]) if resize else None  # (width, height), as Pillow takes it
        images = [read_image(f, "L" if shape[0] == 1 else "RGB", size) for f in files]
        for f, image in zip(files, images):
            if image.shape[:2] != tuple(shape[1:]):
                sys.exit(f"{f}: {image.shape[1]}x{image.shape[0]} pixels, the model takes {shape[2]}x{shape[1]}")
        return [str(f.relative_to(path)) for f in files], np.stack(images)
    if path.suffix.lower() not in (".npz", ".npy"):
        sys.exit(f"{path}: pass an .npz (array x), an .npy (numpy.save) or a folder of images")
    try:
        loaded = np.load(path, allow_pickle=False)
        if path.suffix.lower() == ".npz" and "x" not in loaded.files:
            sys.exit(f"{path}: no array x in it (it has {', '.join(loaded.files) or 'none'}): save the inputs with "
                     f"numpy.savez(path, x=inputs)")
        x = loaded["x"] if path.suffix.lower() == ".npz" else loaded
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:  # missing, cut short, not numpy's format
        sys.exit(f"{path}: cannot be read as an {path.suffix.lower()} file ({error})")
    if x.ndim == 0:
        sys.exit(f"{path}: holds a single number, not an array of inputs")
    return [str(i) for i in range(len(x))], x


def read_image(file: Path, mode: str, size: tuple[int, int] | None = None) -> np.ndarray:
    """The pixels of ``file`` upright, as viewers show it, in ``mode`` ("L" or "RGB"), resized to ``size``
    (width, height; bilinear) where given: an 8-bit (or 1-bit) image without transparency, which Pillow converts
    as it is; others would be clipped to 0..255 or lose their alpha channel without a word."""
    try:
        from PIL import Image, ImageOps
    except ImportError:
        sys.exit(f"{file}: reading images needs Pillow: pip install Pillow, or pass an .npz or .npy")
    try:
        with Image.open(file) as image:
            if image.mode not in EIGHT_BIT_MODES or "transparency" in image.info:
                sys.exit(f"{file}: an image of mode {image.mode}"
                         f"{' with transparency' if 'transparency' in image.info else ''}, and this example reads "
                         f"8-bit images without transparency only: convert it, or label it with 'ssvae predict'")
            pixels = ImageOps.exif_transpose(image).convert(mode)
            return np.asarray(pixels if size in (None, pixels.size) else pixels.resize(size, Image.Resampling.BILINEAR))
    except OSError as error:  # not an image, or cut short
        sys.exit(f"{file}: cannot be read as an image ({error})")


def prepare(x: np.ndarray, meta: dict) -> np.ndarray:
    """The preprocessing the metadata states: uint8 / uint8_divisor, other numbers as they are, in the model's
    layout (N, C, H, W) and input_range."""
    shape = tuple(meta["input_shape"])
    if x.dtype.kind not in "uif":
        sys.exit(f"inputs of dtype {x.dtype} are not numbers: pass uint8 images or floats")
    if x.dtype == np.uint8 and meta["uint8_divisor"] == 255 and 0 < x.max(initial=0) < FEW_LEVELS:
        print(f"warning: uint8 inputs that stay below {FEW_LEVELS} are divided by 255 as 8-bit images are, and read "
              f"as nearly black images: if they are images of grey levels 0..L (such as sklearn's digits, 0..16), "
              f"pass them as floats x / L", file=sys.stderr)
    with np.errstate(over="ignore"):  # beyond float32's range becomes inf, which the check below refuses
        x = x.astype(np.float32) / meta["uint8_divisor"] if x.dtype == np.uint8 else x.astype(np.float32)
    if len(shape) == 3 and x.shape[1:] != shape and x.shape[1:] == (*shape[1:], shape[0]):
        x = np.moveaxis(x, -1, 1)  # images channel-last, as image libraries give them
    elif x.shape[1:] not in (layouts := (shape, (int(np.prod(shape)),), shape[1:] if shape[0] == 1 else None)):
        one = "; add a batch axis for a single example (x[None])" if x.shape in layouts else ""
        sys.exit(f"inputs of shape {x.shape} do not fit the model: it takes (N, {', '.join(map(str, shape))}), "
                 f"channel-last images or flat rows of {np.prod(shape)} numbers{one}")
    x = x.reshape(len(x), *shape)
    if meta.get("fills_missing"):  # NaN is a missing input, which the graphs fill with its training mean
        if np.isinf(x).any():
            sys.exit("inputs must hold no inf: drop or mend the rows with inf")
    elif not np.isfinite(x).all():
        sys.exit("inputs must be finite: drop or mend the rows with NaN or inf")
    for column, known in meta.get("categories", {}).items():  # its one-hot inputs, side by side
        start = meta["input_columns"].index(f"{column}={known[0]}")
        block = x[:, start:start + len(known)]  # in [0, 1] summing to 1 (or to 0, or NaN: a missing category)
        total = block.sum(-1, dtype=np.float64)
        sound = ((block >= 0) & (block <= 1)).all(-1) & ((np.abs(total - 1) < 1e-3) | (total == 0))
        if len(bad := np.flatnonzero(~sound & ~np.isnan(block).all(-1))):
            sys.exit(f"row {bad[0]}: the one-hot inputs of {column!r} hold other than a category: give each row a 1 "
                     f"in its category's column and 0 in the others, or 0s or NaN in them all for a missing category")
    low, high = meta.get("input_range") or (-np.inf, np.inf)
    if x.size and meta.get("input_range") and not (low <= x.min() and x.max() <= high):
        sys.exit(f"inputs must be within [{low}, {high}], as the model was trained: pass uint8 images 0..255 or "
                 f"floats scaled to that range")
    return x


def missing_classifier(model_dir: Path) -> str:
    """Why ``model_dir`` cannot be used: it holds other precisions' graphs alone (``export --quantize int8``,
    then the float32 files removed), or it is no export."""
    held = sorted(f.name for f in model_dir.glob("classifier.*.onnx"))
    if held:
        return (f"{model_dir}: no classifier.onnx in it, only {', '.join(held)}: this example loads the float32 "
                f"graphs (classifier.onnx); ship them too, or change the file names in your copy of it")
    return f"{model_dir}: no classifier.onnx in it: pass a folder written by 'ssvae export'"


def classify(session: ort.InferenceSession, x: np.ndarray, ids: list[str], classes: int) -> np.ndarray:
    """The class probabilities of ``x``, 1,024 rows a run, all before a line is printed: a row whose
    probabilities come out NaN or inf (finite inputs so far from the training data that float32 overflows
    inside the graph) is refused, as `ssvae predict` refuses it."""
    batches = [session.run(None, {"x": x[start:start + 1024]})[0] for start in range(0, len(x), 1024)]
    probabilities = np.concatenate(batches) if batches else np.zeros((0, classes), np.float32)
    bad = np.flatnonzero(~np.isfinite(probabilities).all(1))
    if bad.size:
        row = int(bad[0])
        where = f"row {row}" if ids[row] == str(row) else f"row {row}, id {ids[row]}"
        sys.exit(f"inputs overflow float32 inside the model (numbers far too large for it) (first in {where}): "
                 f"clean or drop those rows")
    return probabilities


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(USAGE)
    model_dir, data = Path(sys.argv[1]), Path(sys.argv[2])
    if not (model_dir / "classifier.onnx").is_file():
        sys.exit(missing_classifier(model_dir))
    if not data.exists():
        sys.exit(f"{data}: no such file or folder")
    try:
        session = ort.InferenceSession(str(model_dir / "classifier.onnx"), providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime's own kinds: cut short, not ONNX, an opset it does not know
        sys.exit(f"{model_dir / 'classifier.onnx'}: onnxruntime {ort.__version__} cannot load it "
                 f"({str(error).splitlines()[0]}): upgrade onnxruntime, or export the model again with 'ssvae export'")
    meta = {k.removeprefix("ssvae."): json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()
            if k.startswith("ssvae.")}  # another tool's keys may hold plain text
    if not {"input_shape", "class_names", "uint8_divisor"} <= meta.keys():
        sys.exit(f"{model_dir / 'classifier.onnx'}: no ssvae metadata in it: pass a folder written by 'ssvae export'")
    ids, x = load_inputs(data, meta["input_shape"], meta.get("resize_images", False))
    x = prepare(x, meta)
    probabilities = classify(session, x, ids, len(meta["class_names"]))
    out = csv.writer(sys.stdout, lineterminator="\n")  # quotes an id or a class name that holds a comma
    for i, p in zip(ids, probabilities):
        out.writerow([i, meta["class_names"][int(p.argmax())], f"{p.max():.6f}"])


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # the reader of the lines (head) has gone: end quietly, as a shell command does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's last flush meets no pipe
        sys.exit(128 + getattr(signal, "SIGPIPE", 13))  # 13: POSIX's number; Windows has none
