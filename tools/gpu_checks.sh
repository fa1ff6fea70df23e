#!/usr/bin/env bash
# Issue 4's GPU measurements on a lent GPU machine, in parts that each fit one call's 10-minute limit:
#   speed:  bench_train: an M2 epoch over Fashion-MNIST's 60,000 images at two batch sizes, against the
#           straightforward baseline on the same GPU (the ratio) and the GPU's matmul rate (the floor),
#           published within its --time-limit (fewer passes, or rows left out and named, where compiling
#           takes long or is interrupted);
#   run:    a whole 100-label run of the Fashion-MNIST preset at batch 500, timed (its limit is over twice
#           the 2 minutes aimed at, so that a slower run still gives its time; metrics.csv gives the epochs'
#           own seconds even where it is cut off), then its test accuracy;
#   recipe: `--recipe accurate` (the most accurate model), seeds 0-4 side by side on the GPU, mean ± std;
#   all:    speed, then run (the default: one call, for a lease with room for one).
# The timed steps run alone on the GPU, so that their times are not shared; everything runs on the GPU
# (--device cuda: a machine whose torch sees none stops at once, rather than measuring its CPU); each step
# has a time limit, and the recipe gets what is left of LIMIT seconds. Everything printed goes to $OUT/log
# as it comes, the benchmark tables to $OUT/BENCHMARKS.md (the repository's file with the new rows) and
# $OUT/recipe.md; the recipe's runs to runs/gpu-recipe. The exit status is 1 where a step failed.
#
# On this machine: copy the Fashion-MNIST .gz files into data/fashion-mnist (git ignores data/), then call the
# device tool's run with command "SSVAE_COMMIT=abc1234 bash tools/gpu_checks.sh PART", where abc1234 is what
# `git rev-parse --short HEAD` prints here, written out (the device's copy of the tree has no git history, so
# $(git ...) there gives nothing), carry ["data"], timeout_s 600.
# Settings by environment: DATA, LIMIT (seconds, default 570), POOL (bench_train's images, default 60000),
# EPOCHS (default the recipe's own 30), SEEDS (the recipe's, default 0-4), MODELS (the recipe's, default m2;
# "m2 fixmatch" adds the same classifier trained by consistency alone, as on the CPU).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=. PYTHONUNBUFFERED=1
DATA=${DATA:-data/fashion-mnist}
LIMIT=${LIMIT:-570}
POOL=${POOL:-60000}
EPOCHS=${EPOCHS:-}
SEEDS=${SEEDS:-0 1 2 3 4}
MODELS=${MODELS:-m2}
PART=${1:-all}
OUT=${OUT:-runs/gpu-checks}
case "$PART" in
    speed|run|recipe|all) ;;
    *) echo "usage: bash tools/gpu_checks.sh [speed|run|recipe|all]  (the header of this file says what each measures)" >&2
       exit 2 ;;
esac
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log") 2>&1
failed=0

step() {  # step SECONDS COMMAND...: the command under a time limit, announced and timed
    local limit=$1 status
    shift
    echo "== $(date -u +%T) [${SECONDS}s] $* (limit ${limit}s)"
    timeout -s INT -k 30 "$limit" "$@"  # INT: a benchmark still publishes what it measured (30 s to do so)
    status=$?
    echo "== exit $status after ${SECONDS}s"
    [ "$status" -eq 0 ] || failed=1
    cp BENCHMARKS.md "$OUT/BENCHMARKS.md"  # after each step: what a call cut off had measured comes back
}

nvidia-smi --query-gpu=name,memory.total,clocks.sm --format=csv || true
if ! python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"; then
    echo "== python3 cannot import torch here: nothing measured"
    exit 1
fi
if ! python3 -c "import sys, torch; sys.exit(not torch.cuda.is_available())"; then
    echo "== torch sees no CUDA GPU here: nothing measured (these checks are for a GPU machine)"
    exit 1
fi
if [ "$PART" = speed ] || [ "$PART" = all ]; then
    step 220 python3 -m tools.bench_train --data-dir "$DATA" --pool "$POOL" --batch-sizes 100 1000 \
        --device cuda --time-limit 180
fi
if [ "$PART" = run ] || [ "$PART" = all ]; then
    step 270 python3 -m ssvae train --dataset fashion-mnist --data-dir "$DATA" --batch-size 500 \
        --device cuda --out runs/gpu-m2 --force --quiet
    # the epochs' own seconds (metrics.csv): against the step's wall time, what loading, checkpoints and the
    # final evaluation cost; where the run was cut off, how far it got
    python3 -c "import csv; r = list(csv.DictReader(open('runs/gpu-m2/metrics.csv')));
print(f'== {len(r)} epochs, their own seconds summed: {sum(float(e[\"seconds\"]) for e in r):.1f}')" || failed=1
    step 30 python3 -m ssvae evaluate runs/gpu-m2
fi
if [ "$PART" = recipe ]; then
    rm -rf runs/gpu-recipe
    recipe=(--dataset fashion-mnist --data-dir "$DATA" --labels 100 --models $MODELS --baselines
            --recipe accurate ${EPOCHS:+--epochs "$EPOCHS"} --set device=cuda)  # bench_accuracy shares the cores
    # no scikit-learn baselines (--baselines with none: they run on the CPU, and their rows are measured there);
    # one process a run, every model's seeds at once: small models leave the GPU room for several side by side
    seeds=($SEEDS) models=($MODELS)
    left=$((LIMIT - SECONDS - 30))
    if [ "$left" -lt 60 ]; then  # timeout 0 would mean no limit at all; a minute trains nothing worth reading
        echo "== no time left for the recipe (${left}s of LIMIT=${LIMIT}s)"
        failed=1
    else
        step "$left" python3 -m tools.bench_accuracy "${recipe[@]}" --seeds $SEEDS \
            --jobs $((${#seeds[@]} * ${#models[@]})) --keep runs/gpu-recipe --benchmarks "$OUT/recipe.md"
    fi
fi
echo "== done after ${SECONDS}s$([ "$failed" -eq 0 ] || echo ': a step failed, see above')"
exit "$failed"
