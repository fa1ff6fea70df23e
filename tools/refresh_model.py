"""A model folder of a built-in data set, exported before today's format, brought up to it without the run that
made it: its graphs `finished` as an export finishes them (at their opset's oldest IR version, which
onnxruntime 1.17 loads where the IR 10 of older exports needs 1.18; without torch's notes on where each node
came from, nor the weights' value_info), each with its role's doc string; its test examples' anomaly scores in
short (`test_scores`, with their entropies) and their predictions by confidence (`test_confidence`, from the
float32 graphs' probabilities, where an export takes torch's) in the graphs' metadata, model.json and the card;
the noise `ssvae score` draws (`score_noise`) in model.json; the card's "Using the graphs" section; and its int8
copies made again from the new float32 graphs (`tools.requantize`). What the graphs compute does not change:
their classes and scores on the test split are checked equal, and everything is computed before a file is
written. A digest of the weights (`weights`) needs the run, so the folder stays without one.

    python -m tools.refresh_model models/fashion-mnist-m2 --data-dir DIR
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from ssvae import runtime
from ssvae.data.sources import BUILTIN
from ssvae.model_card import confidence_text, scores_text, usage_lines
from ssvae.onnx_export import (ROLE_DOCS, finished, interface, json_text, model_json, score_summary, test_summaries,
                               with_metadata)
from ssvae.precisions import cpu_session
from ssvae.report import confidence_summary
from ssvae.runtime import METADATA_PREFIX, MODEL_CARD, MODEL_JSON, ExportedModel, graph_file
from tools.requantize import held_out_examples, int8_copies, model_folder_arguments, with_int8_row, write_files

CARD_TAILS = ("Inputs: ", "## Using the graphs")  # where a card's words on using the graphs begin, old and new
REFRESHED = "- Brought to today's export format with: "


def refreshed(graph: bytes, role: str) -> bytes:
    """``graph`` `finished` as an export finishes it, with its role's doc string, checked by onnx."""
    proto = finished(onnx.load_from_string(graph))
    proto.doc_string = ROLE_DOCS[role]
    onnx.checker.check_model(proto, full_check=True)
    return proto.SerializeToString()


def graph_metadata(graph: bytes) -> dict[str, Any]:
    """``graph``'s ``ssvae.`` metadata, in its order (an export's, which the refreshed graphs keep)."""
    return {entry.key.removeprefix(METADATA_PREFIX): json.loads(entry.value)
            for entry in onnx.load_from_string(graph).metadata_props if entry.key.startswith(METADATA_PREFIX)}


def refresh_command(model_dir: Path, dataset: str) -> str:
    """The command line that refreshes ``model_dir``, for its card (DIR: where the data set's files are)."""
    return shlex.join(["python", "-m", "tools.refresh_model", str(model_dir),
                       *(["--data-dir", "DIR"] if dataset != "digits" else [])])


def refreshed_card(card: str, command: str, summaries: dict[str, Any], usage: list[str]) -> str:
    """``card`` with the refresh's ``command`` after the export's, today's lines on the test examples'
    predictions by confidence and scores (``summaries``: `test_summaries`), and ``usage`` in place of its tail."""
    lines = card.splitlines()
    lines = [line for line in lines[:next(i for i, line in enumerate(lines) if line.startswith(CARD_TAILS))]
             if not line.startswith(("- Predictions of the", "- Anomaly scores", REFRESHED))]
    exported = next(i for i, line in enumerate(lines) if line.startswith("- Exported with: "))
    lines.insert(exported + 1, f"{REFRESHED}`{command}` (its graphs compute what they did)")
    after = next(i for i, line in enumerate(lines) if line.startswith("- onnxruntime vs torch"))
    scores = [f"- {scores_text(summaries['test_scores'])}"] if "test_scores" in summaries else []
    lines[after + 1:after + 1] = [f"- {confidence_text(summaries['test_confidence'])}", *scores]
    return "\n".join([*lines, *usage, ""])


def same_results(old: dict[str, bytes], new: dict[str, bytes], info: dict[str, Any], x: np.ndarray) -> bool:
    """Whether graphs ``old`` and ``new`` give ``x`` the same probabilities and, where they score, scores."""
    models = [ExportedModel(Path(), {role: cpu_session(data) for role, data in graphs.items()}, info)
              for graphs in (old, new)]
    if not np.array_equal(models[0].classify(x), models[1].classify(x)):
        return False
    return "decoder" not in old or np.array_equal(models[0].score(x), models[1].score(x))


def refreshed_files(model_dir: Path, data_dir: str | None) -> tuple[dict[str, bytes | str], dict[str, Any]]:
    """Every file of ``model_dir`` as the refresh writes it (name -> contents), and its test examples' summaries
    (`test_summaries`). SystemExit for a folder it cannot refresh."""
    meta = json.loads((model_dir / MODEL_JSON).read_text())
    if set(meta["graphs"]["classifier"]) != {"float32", "int8"}:
        raise SystemExit(f"{model_dir}: refreshes folders of float32 and int8 graphs alone, as models/ ships")
    if meta.get("dataset") not in BUILTIN or "data_digest" in meta:
        raise SystemExit(f"{model_dir}: refreshes models of a built-in data set ({', '.join(BUILTIN)}) alone: "
                         f"export the run of a model of your own data again with 'ssvae export'")
    model = runtime.load(model_dir, device="cpu")
    old = {role: (model_dir / graph_file(role)).read_bytes() for role in model.sessions}
    info = {key: value for key, value in graph_metadata(old["classifier"]).items()
            if key not in ("role", "test_confidence", "test_scores")}
    x, y = held_out_examples(model, data_dir)
    finished_graphs = {role: refreshed(data, role) for role, data in old.items()}
    scores = score_summary(finished_graphs, info, x)
    summaries = test_summaries(confidence_summary(y, model.classify(x)), scores)
    values = {**info, **summaries}
    new = {role: with_metadata(data, values, role) for role, data in finished_graphs.items()}
    if not same_results(old, new, info, x):
        raise SystemExit(f"{model_dir}: the refreshed graphs compute otherwise; nothing was written")
    int8, row = int8_copies(model, new, data_dir)
    card = refreshed_card((model_dir / MODEL_CARD).read_text(), refresh_command(model_dir, meta["dataset"]), summaries,
                          usage_lines(values, {role: interface(data) for role, data in new.items()}, builtin=True))
    described = json.loads(model_json(values, meta["graphs"]))
    own = {key: value for key, value in meta.items() if key not in described}  # keys an app added stay
    files: dict[str, bytes | str] = {graph_file(role): data for role, data in new.items()}
    files |= {graph_file(role, "int8"): data for role, data in int8.items()}
    files[MODEL_JSON] = json_text({**described, **own})
    files[MODEL_CARD] = with_int8_row(card, row)
    return files, summaries


def refresh(model_dir: Path, data_dir: str | None) -> dict[str, Any]:
    """Rewrite ``model_dir`` as the module says, each file whole; return its test examples' summaries
    (`test_summaries`)."""
    files, summaries = refreshed_files(model_dir, data_dir)
    write_files(model_dir, files)
    return summaries


def main() -> None:
    args = model_folder_arguments(__doc__)
    summaries = refresh(args.model_dir, args.data_dir)
    print(f"{args.model_dir}: refreshed; {confidence_text(summaries['test_confidence'])}"
          + (f" {scores_text(summaries['test_scores'])}" if "test_scores" in summaries else ""))


if __name__ == "__main__":
    main()
