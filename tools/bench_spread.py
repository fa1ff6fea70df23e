"""How spread a table model's generated rows are beside its data's, class by class: decoder means (the
default of `ssvae generate`) against draws from p(x|y,z) (`--noise`).

For each class: the median over columns of |generated mean - data mean| in the data's standard deviations, and
of the generated standard deviation over the data's (1: as varied as the data). The data are a labelled CSV
as `ssvae train --data` reads it (every labelled row of the class, whichever the run held out).

    python -m tools.make_tables tables
    ssvae train --data tables/wine.csv --labels 12 --out runs/wine && ssvae export runs/wine --out models/wine
    python -m tools.bench_spread --model models/wine --data tables/wine.csv
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ssvae import inference, runtime
from ssvae.data import load_labelled
from tools.benchlog import benchmarks_option, publish


def spread(real: np.ndarray, drawn: np.ndarray) -> tuple[float, float]:
    """(median |mean difference| in the data's SDs, median SD ratio) over the columns of ``real`` and
    ``drawn`` (rows of one class); a column constant in the data is left out, having no spread to match."""
    sd = real.std(0)
    varied = sd > 0
    return (float(np.median(np.abs(drawn.mean(0) - real.mean(0))[varied] / sd[varied])),
            float(np.median(drawn.std(0)[varied] / sd[varied])))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="a model folder of a table (ssvae export)")
    parser.add_argument("--data", required=True, help="its labelled CSV")
    parser.add_argument("--per-class", type=int, default=500, help="rows generated a class")
    benchmarks_option(parser)
    args = parser.parse_args()
    model = runtime.load(args.model, device="cpu")
    data = load_labelled(args.data, inference.model_reading(model), model.class_names)
    rows = []
    for noise in (False, True):
        grid = inference.sample_grid(model, args.per_class, seed=0, noise=noise)
        for k, name in enumerate(model.class_names):
            offset, ratio = spread(data.x[data.y == k].reshape(-1, grid.shape[-1]), grid[k])
            kind = "draws around the means (--noise)" if noise else "decoder means"
            rows.append(f"| {name} | {kind} | {offset:.2f} | {ratio:.2f} |")
    table = ["| class | generated rows | median mean offset, data SDs | median SD ratio, generated / data |",
             "|---|---|---|---|", *rows]
    publish(Path(args.benchmarks), f"Spread of generated rows, {Path(args.model).name} against {Path(args.data).name}, "
                                   f"{args.per_class} a class, seed 0", table)


if __name__ == "__main__":
    main()
