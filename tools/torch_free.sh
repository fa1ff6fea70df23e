#!/usr/bin/env bash
# Set up ssvae without torch as the README's "Without torch" says, in a throw-away environment; check that the
# commands that apply a shipped model run there and that train says in one line what it needs; print the
# environment's size beside that of the full one (the README's set-up, .venv).
#
#   bash tools/torch_free.sh   # from the repository root; ENV=/tmp/ssvae-apply by default
set -euo pipefail
env=${ENV:-/tmp/ssvae-apply}
root=$(pwd)
rm -rf "$env"
python3 -m venv "$env"
"$env/bin/pip" install -q 'numpy>=1.24' 'onnxruntime>=1.24' 'click>=8.1' 'tqdm>=4.66' 'pillow>=10' 'filelock>=3.12'
"$env/bin/pip" install -q --no-deps "$root"
work=$(mktemp -d)
cd "$work"
"$env/bin/python" -c "import numpy as np; x = np.random.default_rng(0).random((20, 1, 8, 8), np.float32); \
np.save('x.npy', x); np.savez('xy.npz', x=x, y=np.arange(20) % 10)"
model="$root/models/digits-m2"
"$env/bin/ssvae" info "$model" > /dev/null
"$env/bin/ssvae" predict "$model" --data x.npy --out p.csv --quiet
"$env/bin/ssvae" score "$model" --data x.npy --out s.csv --quiet
"$env/bin/ssvae" generate "$model" --out g.png
"$env/bin/ssvae" evaluate "$model" --data xy.npz > /dev/null
if "$env/bin/ssvae" train --epochs 1 2> err.txt; then echo "train ran without torch" >&2; exit 1; fi
cat err.txt
for package in torch sklearn onnx; do
  if "$env/bin/python" -c "import $package" 2> /dev/null; then echo "$package is installed" >&2; exit 1; fi
done
echo "without torch: $(du -sh "$env" | cut -f1)  (the README's set-up, $root/.venv: $(du -sh "$root/.venv" 2> /dev/null | cut -f1))"
rm -rf "$work"
