"""Classify images with an ssvae export using numpy and onnxruntime only (Pillow too, for a folder).

    python classify_with_onnxruntime.py models/digits-m2 inputs.npz      # array x: uint8 0..255 or floats in [0, 1]
    python classify_with_onnxruntime.py models/digits-m2 photos/         # every image in a folder

Prints one line an input: id,predicted class,confidence. Nothing here comes from ssvae: copy it into your app.
Kept short: a folder's images must all have the model's size and be 8-bit without transparency (`ssvae
predict` skips other sizes, scales 16-bit grey and lays transparent pixels onto black).
"""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort


def load_inputs(path: Path, channels: int) -> tuple[list[str], np.ndarray]:
    if path.is_dir():
        from PIL import Image

        files = sorted(f for f in path.rglob("*") if f.suffix.lower() in {".png", ".jpg", ".jpeg", ".bmp"})
        mode = "L" if channels == 1 else "RGB"
        images = np.stack([np.asarray(Image.open(f).convert(mode)) for f in files])
        return [str(f.relative_to(path)) for f in files], images
    x = np.load(path, allow_pickle=False)["x"] if path.suffix.lower() == ".npz" else np.load(path, allow_pickle=False)
    return [str(i) for i in range(len(x))], x


def main() -> None:
    model_dir, data = Path(sys.argv[1]), Path(sys.argv[2])
    session = ort.InferenceSession(str(model_dir / "classifier.onnx"), providers=["CPUExecutionProvider"])
    meta = {k.removeprefix("ssvae."): json.loads(v) for k, v in session.get_modelmeta().custom_metadata_map.items()}
    shape, names = meta["input_shape"], meta["class_names"]
    ids, x = load_inputs(data, shape[0])
    if x.dtype == np.uint8:  # the preprocessing the metadata states: uint8 / 255, floats as they are
        x = x.astype(np.float32) / meta["uint8_divisor"]
    if x.ndim == 4 and shape[0] == 3 and x.shape[-1] == 3 and x.shape[1] != 3:  # colour images channel-last
        x = np.moveaxis(x, -1, 1)
    x = np.asarray(x, dtype=np.float32).reshape(len(x), *shape)  # adds the channel axis of grey images
    for start in range(0, len(x), 1024):
        probabilities = session.run(None, {"x": x[start:start + 1024]})[0]
        for i, p in zip(ids[start:start + 1024], probabilities):
            print(f"{i},{names[int(p.argmax())]},{p.max():.6f}")


if __name__ == "__main__":
    main()
