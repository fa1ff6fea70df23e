"""From the settings a user asks for to a Config, and back: `config_for` starts from a data set's preset
(`ssvae.config.PRESETS`), applies a named recipe and the user's own settings over it, and warns of settings
the model will not read; `train_command` tells a Config as the `ssvae train` line that makes it again."""

from __future__ import annotations

import dataclasses
import shlex
import warnings
from dataclasses import dataclass
from typing import Any, Callable

from ssvae.config import (CONSISTENCY_MODELS, CONV_MODELS, FIELDS_WITHOUT_OPTION, OWN_DATA_PRESET, PRESETS,
                          PYTHON_ONLY, TABLE_PRESET, VAT_MODELS, Config, ConfigError, both_spellings, check_names,
                          is_table, option_flag, option_text, switch_flag)
from ssvae.data.sources import TORCHVISION_SETS
from ssvae.errors import user_stacklevel


GENERATIVE_M2 = ("m2", "adgm", "m1+m2")  # the models with M2's z: latent_dim and hidden are theirs
# preset and recipe fields that only some models take, and those models: the others are not given them
MODEL_SPECIFIC = {"vat": VAT_MODELS, "vat_epsilon": VAT_MODELS, "classifier": CONV_MODELS,
                  "consistency": CONSISTENCY_MODELS, "adaptive_threshold": CONSISTENCY_MODELS,
                  "labelled_bound": GENERATIVE_M2}


def _for_model(settings: dict[str, Any], model: str) -> dict[str, Any]:
    """Those of ``settings`` that ``model`` takes (MODEL_SPECIFIC)."""
    return {name: value for name, value in settings.items() if model in MODEL_SPECIFIC.get(name, (model,))}


def preset_for(dataset: str | None, data: str | None, model: str) -> dict[str, Any]:
    """The preset settings a data set gives ``model`` (`OWN_DATA_PRESET` for a user's own ``data``, with
    `TABLE_PRESET` over it for a table)."""
    if data is None:
        return _for_model(PRESETS.get(dataset, {}), model)
    return _for_model({**OWN_DATA_PRESET, **(TABLE_PRESET if is_table(data) else {})}, model)


@dataclass(frozen=True)
class Recipe:
    """Settings measured together on one built-in data set, asked for by name (`ssvae train --recipe NAME`)
    and applied over its preset: one word instead of a dozen options."""
    dataset: str
    models: tuple[str, ...]  # the models it was measured with
    settings: dict[str, Any]
    summary: str  # what it gives and costs, for --help


RECIPES: dict[str, Recipe] = {
    "accurate": Recipe(
        dataset="fashion-mnist", models=("m2", "fixmatch", "supervised"),
        settings={"classifier": "conv", "classifier_channels": (32, 64, 128, 256), "augment": "shift-flip",
                  "consistency": 1.0, "adaptive_threshold": True, "lr_schedule": "one-cycle", "ema": 0.999,
                  "batch_size": 128, "labelled_batch_size": 64, "epochs": 30, "precision": "bfloat16",
                  "alpha": 10.0},  # alpha: the preset's when the recipe was measured
        summary="fashion-mnist's most accurate: a four-block conv classifier trained by consistency on shifted "
                "and mirrored views, 30 epochs in bfloat16 (with 100 labels m2 81.6 %, fixmatch 81.0 %; about "
                "27 and 18 minutes on a 2-core CPU with bfloat16 units)"),
}


def recipe_for(name: str, dataset: str, data: str | None, model: str) -> dict[str, Any]:
    """The settings recipe ``name`` gives ``model``; an error where it was not measured (another data set, a
    user's own data, another model)."""
    if name not in RECIPES:
        raise ConfigError(f"recipe {name!r} is not one of {', '.join(RECIPES)}")
    recipe = RECIPES[name]
    if data is not None or dataset != recipe.dataset:
        raise ConfigError(f"recipe {name} was measured on --dataset {recipe.dataset}, not on {data or dataset}: "
                          f"leave --recipe out, and give its settings to try them one by one: "
                          f"{shlex.join(option_words(recipe.settings))}")
    if model not in recipe.models:
        raise ConfigError(f"recipe {name} was measured with models {', '.join(recipe.models)}, not {model}: "
                          f"choose one of them with --model, or leave --recipe out")
    return _for_model(recipe.settings, model)


# preset and recipe fields that only work with another field on, and its value when off: a user who switches
# that field off (`--augment none`, `--consistency 0`) need not switch these off too. Ordered: consistency's
# turn comes before adaptive_threshold's, so that the threshold follows consistency out.
NEEDS = {"consistency": ("augment", "none"), "adaptive_threshold": ("consistency", 0.0)}


def _without_orphans(settings: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``settings`` less those (NEEDS) whose needed field ``changes`` or an earlier drop switched off."""
    kept = dict(settings)
    for name, (needed, off) in NEEDS.items():
        value = changes.get(needed, kept.get(needed, getattr(Config, needed)))
        if name in kept and name not in changes and value == off:
            del kept[name]
    return kept


def supervised_counterpart(config: Config) -> Config:
    """``config`` for its supervised baseline: model "supervised" with every other setting kept (labels, seed,
    classifier, augmentation, epochs, ...), less those only other models take (MODEL_SPECIFIC), set back to
    their defaults."""
    dropped = {name: getattr(Config, name) for name, models in MODEL_SPECIFIC.items() if "supervised" not in models}
    return config.replace(model="supervised", **dropped)


# settings that training reads only under some others: (whether it reads them, who does); given where it
# does not, a warning says so (a refusal would stop scripts that pass one set of settings to several models)
READ_WHEN: dict[str, tuple[Callable[[Config], bool], str]] = {
    "m1_epochs": (lambda c: c.model == "m1+m2", "the M1 stage of m1+m2"),
    "latent_dim": (lambda c: c.model in GENERATIVE_M2, "models m2, adgm and m1+m2 (m1's is m1_latent_dim)"),
    "hidden": (lambda c: c.model in GENERATIVE_M2, "models m2, adgm and m1+m2 (m1's is m1_hidden)"),
    "alpha": (lambda c: c.model in GENERATIVE_M2, "models m2, adgm and m1+m2 (their classification weight)"),
    "labelled_bound": (lambda c: c.model in GENERATIVE_M2, "models m2, adgm and m1+m2 (their labelled bound)"),
    "aux_dim": (lambda c: c.model == "adgm", "model adgm (its auxiliary variable's size)"),
    "m1_latent_dim": (lambda c: c.model in ("m1", "m1+m2"), "models m1 and m1+m2"),
    "m1_hidden": (lambda c: c.model in ("m1", "m1+m2"), "models m1 and m1+m2"),
    "m1_features": (lambda c: c.model == "m1+m2", "the M2 stage of m1+m2"),
    "kl_warmup_epochs": (lambda c: c.model not in ("supervised", "fixmatch"), "the models with a KL term"),
    "classifier_hidden": (lambda c: c.classifier == "mlp", "the MLP classifier (--classifier mlp)"),
    "classifier_channels": (lambda c: c.classifier == "conv", "the conv classifier (--classifier conv)"),
    "vat_epsilon": (lambda c: c.vat > 0, "virtual adversarial training (--vat above 0)"),
    "consistency_threshold": (lambda c: c.consistency > 0, "consistency training (--consistency above 0)"),
}


def _warn_unread(config: Config, changes: dict[str, Any]) -> None:
    """A warning for each of ``changes`` that training of ``config`` does not read (READ_WHEN)."""
    for name, (read, who) in READ_WHEN.items():
        if name in changes and not read(config):
            given = f"{name}= (Python only)" if name in PYTHON_ONLY else f"{option_flag(name)} ({name}= in Python)"
            warnings.warn(f"{given} does nothing for this {config.model} model: it is read only by {who}; leave it out",
                          stacklevel=user_stacklevel())


def config_for(dataset: str | None = None, data: str | None = None, recipe: str | None = None,
               **changes: Any) -> Config:
    """The Config for a data set (a built-in ``dataset``, digits unless named, or one's own ``data``): its
    preset (`OWN_DATA_PRESET` for ``data``), then the named ``recipe``'s settings, then ``changes``; preset and recipe
    settings that ``changes`` leave without purpose (NEEDS) drop out."""
    check_names(changes)
    if data is not None and (built_in := [name for name in ("dataset", "data_dir")
                                          if {"dataset": dataset, **changes}.get(name) is not None]):
        raise ConfigError(f"data (--data) names your own data, and "
                          f"{' and '.join(f'{name} ({option_flag(name)})' for name in built_in)} "
                          f"{'are' if len(built_in) > 1 else 'is'} for a built-in data set: give one or the other",
                          "data")
    if dataset is None and data is None and changes.get("data_dir") is not None:  # digits, by default, reads none
        raise ConfigError(f"data_dir (--data-dir) is read by the data sets ssvae does not bundle "
                          f"({', '.join(TORCHVISION_SETS)}), and no data set is named: name the one the folder holds, "
                          f"e.g. {both_spellings('dataset', 'fashion-mnist')}", "data_dir")
    dataset = dataset or Config.dataset
    model = changes.get("model", Config.model)
    preset = preset_for(dataset, data, model)
    measured = recipe_for(recipe, dataset, data, model) if recipe is not None else {}
    config = Config(dataset=dataset, data=data, **{**_without_orphans({**preset, **measured}, changes), **changes})
    if "consistency_threshold" in changes and config.adaptive_threshold:
        who = ("you turn" if "adaptive_threshold" in changes else
               f"the {'recipe' if measured.get('adaptive_threshold') else 'preset'} turns")
        raise ConfigError(f"consistency_threshold does nothing where adaptive_threshold is on ({who} it on), whose "
                          f"threshold replaces it: leave consistency_threshold out, or turn adaptive_threshold off: "
                          f"{both_spellings('adaptive_threshold', False)}", "consistency_threshold")
    _warn_unread(config, changes)
    _warn_of_unfinished_warm_up(config, changes)
    return config


def _warn_of_unfinished_warm_up(config: Config, changes: dict[str, Any]) -> None:
    """A warning where a KL warm-up or a length given leaves the warm-up unfinished at the last epoch of a
    stage (each stage warms up anew: M1's of m1+m2 too): the KL weight never reaches 1 there, so that stage
    trains to its end on an objective above the ELBO, no bound on log p(x) at all (as are metrics.csv's
    bounds until the weight reaches 1). A config taken as it is (`Config.for_data`) is not
    checked: its settings were chosen once already."""
    lengths = {"epochs": config.epochs, **({"m1_epochs": config.m1_epochs} if config.model == "m1+m2" else {})}
    shortest = min((name for name in lengths if lengths[name] > 0), key=lengths.get)
    given = {"epochs", "m1_epochs", "kl_warmup_epochs"} & changes.keys()
    if READ_WHEN["kl_warmup_epochs"][0](config) and config.kl_warmup_epochs > lengths[shortest] and given:
        warnings.warn(f"{both_spellings('kl_warmup_epochs', config.kl_warmup_epochs)} outlasts "
                      f"{both_spellings(shortest, lengths[shortest])}: the KL weight reaches only "
                      f"{lengths[shortest] / config.kl_warmup_epochs:.2g} by its last epoch; lower the warm-up or "
                      f"train longer", stacklevel=user_stacklevel())


def off_preset(config: Config) -> dict[str, Any]:
    """The settings of ``config`` that differ from its data set's preset (labels, model and seed always), in
    field order: what `train_command` and a model card say of how it was trained. A fixed consistency
    threshold is left out where the adaptive one replaces it (of a run from before that was refused)."""
    preset = preset_for(config.dataset, config.data, config.model)  # settings only: it need not be a whole model
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(Config)
            if (f.name in ("labels", "model", "seed") or getattr(config, f.name) != preset.get(f.name, f.default))
            and not (f.name == "consistency_threshold" and config.adaptive_threshold)}


def python_only_changes(config: Config) -> dict[str, Any]:
    """The PYTHON_ONLY settings of ``config`` off its data set's preset: what `train_command` cannot say."""
    return {name: value for name, value in off_preset(config).items() if name in PYTHON_ONLY}


def train_command(config: Config) -> str:
    """The `ssvae train` line that makes this config: the data, then every option `off_preset`, quoted for a
    POSIX shell."""
    words = ["ssvae", "train", *(["--data", config.data] if config.data else ["--dataset", config.dataset])]
    if config.data_dir and not config.data:  # a run of Python's from before data_dir was refused beside data
        words += ["--data-dir", config.data_dir]
    if config.test_data:
        words += ["--test-data", config.test_data]
    words += option_words({name: value for name, value in off_preset(config).items()
                           if name not in FIELDS_WITHOUT_OPTION})
    return shlex.join(words)


def option_words(settings: dict[str, Any]) -> list[str]:
    """``settings`` (Config fields and values) as `ssvae train`'s options: an on/off field as its flag, any
    other as its option and value."""
    words: list[str] = []
    for name, value in settings.items():
        words += [switch_flag(name, value)] if isinstance(value, bool) else [option_flag(name),
                                                                            option_text(value, none="all")]
    return words


__all__ = ["RECIPES", "Recipe", "config_for", "off_preset", "option_words", "preset_for", "python_only_changes",
           "recipe_for", "supervised_counterpart", "train_command"]
