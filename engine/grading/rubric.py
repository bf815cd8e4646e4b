"""The rubric: the score levels a reviewer chooses from (value, label, meaning), read from the
config's ``[rubric]`` table or the default three levels.
"""

from __future__ import annotations

from dataclasses import dataclass

from gradebench.engine.config import Config
from gradebench.engine.errors import UserError


@dataclass(frozen=True)
class ScoreLevel:
    value: float
    label: str


@dataclass(frozen=True)
class Rubric:
    """The scores a reviewer can give, plus whether the format flag is asked."""

    levels: tuple[ScoreLevel, ...] = (
        ScoreLevel(0.0, "incorrect"),
        ScoreLevel(0.5, "partially correct"),
        ScoreLevel(1.0, "correct"),
    )
    format_flag: bool = True

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(level.value for level in self.levels)

    def label(self, value: float | None) -> str:
        if value is None:
            return "-"
        for level in self.levels:
            if abs(level.value - value) < 1e-9:
                return level.label
        return f"{value:g}"

    def nearest(self, value: float) -> float:
        """The rubric level closest to ``value`` (a suggested score may be a share)."""
        return min(self.values, key=lambda level: (abs(level - value), -level))


def rubric_from_config(config: Config) -> Rubric:
    """``[rubric] scores = [0, 0.5, 1]``, ``labels = [...]``, ``format_flag = true``."""
    section = config.section("rubric")
    if not section:
        return Rubric()
    unknown = set(section) - {"scores", "labels", "format_flag"}
    if unknown:
        raise UserError(f"{config.where}: rubric.{sorted(unknown)[0]}: unknown key")
    scores = section.get("scores", [0, 0.5, 1])
    if (
        not isinstance(scores, list)
        or not 2 <= len(scores) <= 9
        or not all(isinstance(s, int | float) and not isinstance(s, bool) for s in scores)
    ):
        raise UserError(f"{config.where}: rubric.scores must be a list of 2 to 9 numbers")
    if len(set(scores)) != len(scores) or any(not 0 <= s <= 1 for s in scores):
        raise UserError(f"{config.where}: rubric.scores must be distinct numbers from 0 to 1")
    labels = section.get("labels", [f"{s:g}" for s in scores])
    if (
        not isinstance(labels, list)
        or len(labels) != len(scores)
        or not all(isinstance(x, str) and x for x in labels)
    ):
        raise UserError(f"{config.where}: rubric.labels must be one non-empty string per score")
    flag = section.get("format_flag", True)
    if not isinstance(flag, bool):
        raise UserError(f"{config.where}: rubric.format_flag must be true or false")
    levels = tuple(
        ScoreLevel(float(s), label) for s, label in sorted(zip(scores, labels, strict=True))
    )
    return Rubric(levels=levels, format_flag=flag)
