#!/usr/bin/env bash
# Whether an older onnxruntime loads an export and gives the classes this one gives.
#   .venv/bin/ssvae export runs/digits-m2 --out /tmp/o18 --opset 18 --quantize int8
#   bash tools/old_onnxruntime.sh 1.16.3 /tmp/o18
# Installs onnxruntime==VERSION (and numpy) from PyPI into a throw-away virtual environment.
set -euo pipefail
version=${1:?usage: tools/old_onnxruntime.sh ONNXRUNTIME_VERSION MODEL_DIR [PRECISION...]}
model=${2:?usage: tools/old_onnxruntime.sh ONNXRUNTIME_VERSION MODEL_DIR [PRECISION...]}
shift 2
precisions=${*:-float32 int8}
python=${PYTHON:-.venv/bin/python}
venv=$(mktemp -d)
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q "onnxruntime==$version" "numpy<2"
classes() {  # the classes of 64 fixed random inputs, one line a precision
  PYTHONPATH=. "$1" - "$model" $precisions <<'PY'
import sys
import numpy as np
from ssvae import runtime
for precision in sys.argv[2:]:
    model = runtime.load(sys.argv[1], device="cpu", precision=precision)
    x = np.random.default_rng(0).integers(0, 256, (64, *model.input_shape), dtype=np.uint8)
    print(precision, " ".join(str(k) for k in model.classify(x).argmax(-1)))
PY
}
old=$(classes "$venv/bin/python")
new=$(classes "$python")
echo "onnxruntime $version:"; echo "$old"
if [ "$old" = "$new" ]; then echo "same classes as onnxruntime $("$python" -c 'import onnxruntime; print(onnxruntime.__version__)')"
else echo "classes differ from this environment's onnxruntime:"; echo "$new"; exit 1; fi
