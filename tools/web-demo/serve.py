"""Serve the browser demo for an exported model on localhost; everything it loads is local (no CDN).

    python tools/web-demo/serve.py models/digits-m2            # then open http://127.0.0.1:8000
    python tools/web-demo/serve.py models/fashion-mnist-m2 --data-dir ../shared/datasets/fashion-mnist
    python tools/web-demo/serve.py MODEL_DIR --data my-images/      # a model of your own data: its images
    python tools/web-demo/serve.py MODEL_DIR --data penguins.csv    # a model of a table: rows of it

Needs `npm ci --ignore-scripts` once in tools/web-demo (onnxruntime-web's JavaScript and WebAssembly).
The page's test images are the model's own test split, read with ssvae's loaders; for a model trained on
your own data (`ssvae train --data`), inputs spread over `--data` (a file or folder `ssvae predict` reads):
images, or a table's rows, which the page shows in a form of the model's columns.
"""

from __future__ import annotations

import argparse
import json
import math
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "node_modules" / "onnxruntime-web" / "dist"
NODE = HERE.parent / "examples" / "node"  # the modules the page shares with Node's examples
SHARED = {f"/{name}": NODE / name for name in ("records.mjs", "scoring.mjs")}  # a table's records; the score's steps
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".json": "application/json",
         ".html": "text/html", ".onnx": "application/octet-stream"}


def sample_inputs(model_dir: str | Path, data_dir: str | None, data: str | None = None, n: int = 20) -> bytes:
    """As JSON, the page's samples.json: ``inputs``, the first ``n`` images of the model's test split or ``n``
    inputs spread over ``data`` (`spread`), flat, in the model's units, a missing input (a table's gap) as
    null; ``captions``, how the page names them ("test image 3 (Dress)", or an id of ``data``); ``range``, the
    values an image is shown from black to white (`shown_range`; null for a table's rows)."""
    from ssvae import runtime
    from ssvae.data import BUILTIN
    from ssvae.inference import model_inputs

    model_dir = runtime.user_path(model_dir)  # ~ the home folder, as runtime.load reads it
    model = runtime.load(model_dir)
    meta = model.info
    if not (model_dir / "model.json").is_file():
        raise SystemExit(f"{model_dir}: no model.json in it (exports before ssvae wrote one), and the page reads "
                         f"it: export the run again with 'ssvae export'")
    table = len(model.input_shape) == 1
    if data is not None:
        x, captions = spread(model_inputs(model, data=data), n)
    elif meta["dataset"] not in BUILTIN:
        raise SystemExit(f"{model_dir} was trained on {meta['dataset']}, not a built-in data set: pass --data "
                         f"FILE_OR_FOLDER with {'rows of its table' if table else 'images'} for the page")
    else:
        x, captions = first_test_images(model, data_dir, n)
    x = model.prepare(x)  # the model's layout and units, as predict feeds it
    values = [[None if math.isnan(v) else float(str(v)) for v in row.reshape(-1)] for row in x]  # float32's digits
    return json.dumps({"inputs": values, "captions": captions,
                       "range": None if table else shown_range(model, x)}).encode()


def spread(inputs: Any, n: int) -> tuple[Any, list[str]]:
    """``n`` of ``inputs`` (`ssvae.data.Inputs`) spread evenly over them, the first and the last among them (a
    file sorted by class shows each), and their ids."""
    import numpy as np

    rows = np.linspace(0, len(inputs) - 1, min(n, len(inputs))).round().astype(int)
    x = np.concatenate([inputs.x[i:i + 1] for i in rows])  # a slice each: a big .npy is read only where sliced
    return x, [str(inputs.ids[i]) for i in rows]


def first_test_images(model: Any, data_dir: str | None, n: int) -> tuple[Any, list[str]]:
    """The first ``n`` images of the built-in data set ``model`` was trained on, of the test split its run
    made, and their names ("test image 3 (Dress)")."""
    from ssvae.data import load_source
    from ssvae.inference import model_inputs

    inputs = model_inputs(model, dataset=model.info["dataset"], data_dir=data_dir)
    source = load_source(model.info["dataset"], None, data_dir)
    labels = (source.test if source.test is not None else source.train).y
    names = model.class_names
    return inputs.x[:n], [f"test image {k} ({names[labels[int(i)]]})" for k, i in enumerate(inputs.ids[:n])]


def shown_range(model: Any, x: Any) -> list[float]:
    """The values the page shows images ``x`` from black to white: the model's input range; [0, 1] for pixels,
    whose uint8 it divides by 255; else the images' own."""
    if model.input_range:
        return list(model.input_range)
    if model.uint8_divisor == 255 or not len(x):
        return [0.0, 1.0]
    return [float(x.min()), max(float(x.max()), float(x.min()) + 1.0)]


class DemoHandler(SimpleHTTPRequestHandler):
    def __init__(self, *args, routes: dict[str, Path], samples: bytes, **kwargs):
        self.routes, self.samples = routes, samples
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/samples.json":
            return self._send(self.samples, ".json")
        name = "/index.html" if path == "/" else path
        for prefix, target in self.routes.items():  # a folder, or a file named by the whole path
            if name.startswith(prefix):
                file = (target / name[len(prefix):]).resolve()
                if file.is_relative_to(target.resolve()) and file.is_file():
                    return self._send(file.read_bytes(), file.suffix)
        self.send_error(404)

    def _send(self, data: bytes, suffix: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:  # quiet: the page's own status line says what happened
        pass


def make_server(model_dir: str | Path, port: int = 8000, data_dir: str | None = None,
                data: str | None = None) -> ThreadingHTTPServer:
    """A server (not yet started) for ``model_dir``; port 0 picks a free port."""
    from ssvae.runtime import user_path

    model_dir = user_path(model_dir)
    samples = sample_inputs(model_dir, data_dir, data)  # the model and its inputs first: the user's arguments
    if not VENDOR.is_dir():
        raise SystemExit(f"{VENDOR} is missing: run 'npm ci --ignore-scripts' in {HERE}")
    routes = {"/vendor/": VENDOR, "/model/": model_dir, **SHARED, "/": HERE}  # a folder or a file
    handler = partial(DemoHandler, routes=routes, samples=samples)
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as error:  # the port is taken, or not ours to take
        raise SystemExit(f"port {port}: {error.strerror}: pass another --port") from None


def serve_in_background(model_dir: str | Path, data_dir: str | None = None,
                        data: str | None = None) -> tuple[ThreadingHTTPServer, str]:
    server = make_server(model_dir, 0, data_dir, data)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model_dir")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", help="where the model's data set lives (Fashion-MNIST and the like)")
    parser.add_argument("--data", help="images or a table's rows to show, for a model trained on your own data")
    args = parser.parse_args()
    try:
        server = make_server(args.model_dir, args.port, args.data_dir, args.data)
    except ValueError as error:  # ssvae's own errors (a folder that is no model, unreadable data) say what to do
        raise SystemExit(str(error)) from None
    except ImportError as error:  # the page needs none of ssvae; this server reads the inputs it shows with it
        raise SystemExit(f"this server reads the inputs the page shows with ssvae, which cannot be imported here "
                         f"({error}): run it in ssvae's environment (pip install -e . in the repository)") from None
    print(f"serving the ssvae demo of {args.model_dir} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)")
    server.serve_forever()


if __name__ == "__main__":
    main()
