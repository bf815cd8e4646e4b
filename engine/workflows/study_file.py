"""The study file (``study.toml``): what a study compares, read and checked in one place.

A study is contenders x suites x samples, graded by a plan. Its file::

    [study]
    name = "lowcost-cpu"
    samples = 1                  # answers per (problem, contender); pass@k needs k <= samples
    seed = 7                     # draws the suites' samples and the report's bootstrap
    temperatures = [0.2, 0.8]    # optional sweep: one contender per temperature
    ks = [1, 5]                  # optional: the pass@k figures (default [1])

    [[contenders]]               # inline: a model x prompt styles x sampling parameters
    model = "smollm2-135m"       # a model of gradebench.toml or a built-in one
    prompt_styles = ["plain", "cot"]
    max_tokens = 192

    [[contenders]]
    use = "mistral-plain"        # a contender of gradebench.toml, as it is

    [[suites]]
    name = "lowcost60"
    sample = 6                   # subset keys as on the command line: ids, difficulty, tag, sample
    difficulty = ["easy", "medium"]

    [grading]
    by_hand = ["lowcost60"]      # suites graded by hand (default: every suite)
    reviewers = 1                # reviewers per answer

Every mistake is one ``UserError`` naming the file and the key. An inline contender is
named ``MODEL-STYLE`` (``name`` overrides it for a single style); a temperature sweep adds
``@tT``. Contenders are identified in the database by what shapes their answers, not by
name, so a study reuses answers its contenders already have.
"""

from __future__ import annotations

import hashlib
import math
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from gradebench.engine.errors import UserError
from gradebench.engine.generation.registry import (
    PARAM_KEYS,
    Contender,
    Registry,
    read_params,
)
from gradebench.engine.problems.subsets import Subset

TOP_KEYS = {"study", "contenders", "suites", "grading"}
STUDY_KEYS = {"name", "description", "samples", "seed", "temperatures", "ks"}
INLINE_KEYS = {"model", "prompt_styles", "prompt_style", "name", *PARAM_KEYS}
SUITE_KEYS = {"name", "ids", "difficulty", "tag", "sample"}
GRADING_KEYS = {"by_hand", "reviewers"}


@dataclass(frozen=True)
class StudyContender:
    contender: Contender
    temperature: float

    @property
    def name(self) -> str:
        return self.contender.name


@dataclass(frozen=True)
class StudySuite:
    name: str
    subset: Subset


@dataclass(frozen=True)
class GradingPlan:
    by_hand: tuple[str, ...]
    """Suites whose answers are graded by hand."""
    reviewers: int
    """Reviewers per answer."""


@dataclass(frozen=True)
class Study:
    path: Path
    text: str
    sha256: str
    name: str
    description: str
    samples: int
    seed: int
    ks: tuple[int, ...]
    swept: bool
    """Whether ``temperatures`` made one contender per temperature."""
    contenders: tuple[StudyContender, ...]
    suites: tuple[StudySuite, ...]
    grading: GradingPlan


def _int(value: Any, where: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{where}: must be an integer, got {value!r}")
    if value < minimum:
        raise UserError(f"{where}: must be >= {minimum}, got {value}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise UserError(f"{where}: must be a string or a list of strings")
    return tuple(value)


def _table(value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UserError(f"{where}: must be a table")
    for key in value:
        if key not in allowed:
            raise UserError(f"{where}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")
    return value


def _tables(document: dict[str, Any], key: str, where: str) -> list[Any]:
    value = document.get(key)
    if value is None:
        raise UserError(f"{where}: [[{key}]] missing: a study needs at least one")
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: {key}: must be an array of tables ([[{key}]])")
    return value


def _temperatures(value: Any, where: str) -> tuple[float, ...]:
    if not isinstance(value, list) or not value:
        raise UserError(f"{where}: must be a non-empty list of numbers")
    temperatures = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 <= item < math.inf:
            raise UserError(f"{where}: {item!r} is not a temperature >= 0")
        temperatures.append(float(item))
    if len(set(temperatures)) != len(temperatures):
        raise UserError(f"{where}: a temperature is listed twice")
    return tuple(temperatures)


def _contenders(
    entries: list[Any], registry: Registry, styles: tuple[str, ...], where: str
) -> list[Contender]:
    found: list[Contender] = []
    for index, entry in enumerate(entries):
        key = f"{where}: contenders[{index}]"
        if isinstance(entry, dict) and "use" in entry:
            _table(entry, key, {"use"})
            name = entry["use"]
            if not isinstance(name, str) or name not in registry.contenders:
                known = ", ".join(sorted(registry.contenders))
                raise UserError(f"{key}.use: unknown contender {name!r} (known: {known})")
            found.append(registry.contenders[name])
            continue
        table = _table(entry, key, INLINE_KEYS)
        model_name = table.get("model")
        if not isinstance(model_name, str) or model_name not in registry.models:
            known = ", ".join(sorted(registry.models))
            raise UserError(f"{key}.model: unknown model {model_name!r} (known: {known})")
        if "prompt_style" in table and "prompt_styles" in table:
            raise UserError(f"{key}: give prompt_style or prompt_styles, not both")
        style_key = "prompt_style" if "prompt_style" in table else "prompt_styles"
        chosen = _strings(table.get(style_key, "plain"), f"{key}.{style_key}")
        for style in chosen:
            if style not in styles:
                raise UserError(
                    f"{key}.{style_key}: unknown style {style!r} (known: {', '.join(styles)})"
                )
        name = table.get("name")
        if name is not None and (not isinstance(name, str) or not name or len(chosen) > 1):
            raise UserError(f"{key}.name: a non-empty string, and only with one prompt style")
        model = registry.models[model_name]
        params = read_params(table, model.params, key)
        for style in chosen:
            found.append(Contender(name or f"{model_name}-{style}", model, style, params))
    return found


def _suite(entry: Any, where: str, seed: int) -> StudySuite:
    table = _table(entry, where, SUITE_KEYS)
    name = table.get("name")
    if not isinstance(name, str) or not name:
        raise UserError(f"{where}.name: missing (the suite's name, see `gradebench suites`)")
    sample = table.get("sample")
    return StudySuite(
        name,
        Subset(
            ids=_strings(table["ids"], f"{where}.ids") if "ids" in table else (),
            difficulties=(
                _strings(table["difficulty"], f"{where}.difficulty")
                if "difficulty" in table
                else ()
            ),
            tags=_strings(table["tag"], f"{where}.tag") if "tag" in table else (),
            sample=None if sample is None else _int(sample, f"{where}.sample", 1),
            seed=seed,
        ),
    )


def parse_study(path: Path, text: str, registry: Registry, styles: tuple[str, ...]) -> Study:
    """The study ``text`` (read from ``path``), checked against the config's models,
    contenders and prompt styles."""
    where = str(path)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{where}: not valid TOML: {exc}") from None
    for key in document:
        if key not in TOP_KEYS:
            allowed = ", ".join(sorted(TOP_KEYS))
            raise UserError(f"{where}: {key}: unknown key (allowed: {allowed})")
    head = _table(document.get("study", {}), f"{where}: study", STUDY_KEYS)
    name = head.get("name", path.stem)
    if not isinstance(name, str) or not name:
        raise UserError(f"{where}: study.name: must be a non-empty string")
    description = head.get("description", "")
    if not isinstance(description, str):
        raise UserError(f"{where}: study.description: must be a string")
    samples = _int(head.get("samples", 1), f"{where}: study.samples", 1)
    seed = _int(head.get("seed", 0), f"{where}: study.seed", 0)
    ks_value = head.get("ks", [1])
    if not isinstance(ks_value, list) or not ks_value:
        raise UserError(f"{where}: study.ks: must be a non-empty list of integers")
    ks = tuple(sorted({_int(k, f"{where}: study.ks", 1) for k in ks_value}))
    for k in ks:
        if k > samples:
            raise UserError(
                f"{where}: study.ks: pass@{k} needs samples >= {k} (study.samples = {samples})"
            )
    contenders = _contenders(_tables(document, "contenders", where), registry, styles, where)
    temperatures = (
        _temperatures(head["temperatures"], f"{where}: study.temperatures")
        if "temperatures" in head
        else None
    )
    expanded: list[StudyContender] = []
    for contender in contenders:
        if temperatures is None:
            expanded.append(StudyContender(contender, contender.params.temperature))
            continue
        for temperature in temperatures:
            swept = replace(
                contender,
                name=f"{contender.name}@t{temperature:g}",
                params=replace(contender.params, temperature=temperature),
            )
            expanded.append(StudyContender(swept, temperature))
    names = [c.name for c in expanded]
    for contender_name in names:
        if names.count(contender_name) > 1:
            raise UserError(f"{where}: contenders: {contender_name!r} appears twice")
    suite_entries = _tables(document, "suites", where)
    suites = tuple(
        _suite(entry, f"{where}: suites[{i}]", seed) for i, entry in enumerate(suite_entries)
    )
    suite_names = [s.name for s in suites]
    for suite in suite_names:
        if suite_names.count(suite) > 1:
            raise UserError(f"{where}: suites: {suite!r} appears twice (one subset per suite)")
    grading = _table(document.get("grading", {}), f"{where}: grading", GRADING_KEYS)
    by_hand = (
        _strings(grading["by_hand"], f"{where}: grading.by_hand")
        if "by_hand" in grading
        else tuple(suite_names)
    )
    for suite in by_hand:
        if suite not in suite_names:
            raise UserError(
                f"{where}: grading.by_hand: {suite!r} is not one of the study's suites"
                f" ({', '.join(suite_names)})"
            )
    reviewers = _int(grading.get("reviewers", 1), f"{where}: grading.reviewers", 1)
    return Study(
        path=path,
        text=text,
        sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(),
        name=name,
        description=description,
        samples=samples,
        seed=seed,
        ks=ks,
        swept=temperatures is not None,
        contenders=tuple(expanded),
        suites=suites,
        grading=GradingPlan(by_hand, reviewers),
    )


def read_study(path: Path, registry: Registry, styles: tuple[str, ...]) -> Study:
    """``parse_study`` on the file at ``path`` (one-line error when it cannot be read)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise UserError(f"{path}: no such study file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read the study file: {exc}") from None
    return parse_study(path, text, registry, styles)
