"""Fenced code blocks in a markdown chat answer.

``normalise`` cleans an answer's text (line endings, BOM, non-breaking spaces,
chat-template tokens); ``find_fenced_blocks`` lists its ```` ``` ```` and ``~~~`` blocks
with their language and whether they were closed; ``doctest_source`` turns a ``>>>``
session into source lines. What counts as the code to run is decided in
``gradebench.engine.answers.extract``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPECIAL_TOKENS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "</s>", "<|eot_id|>")


_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$"
)


_PYTHON_LANGS = {"", "py", "py3", "python", "python3", "pycon", "ipython", "python2", "sage"}


@dataclass(frozen=True)
class FencedBlock:
    """One fenced block of an answer, its code already dedented by the fence's indent."""

    lang: str
    code: str
    closed: bool
    line: int
    """0-based line of the opening fence."""

    @property
    def labelled_python(self) -> bool:
        return self.lang != "" and is_python_lang(self.lang)


def normalise(answer: str) -> str:
    text = answer.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    for token in _SPECIAL_TOKENS:
        text = text.replace(token, "")
    return text.replace("\u00a0", " ").replace("\u200b", "")


def is_python_lang(lang: str) -> bool:
    return lang in _PYTHON_LANGS or lang.startswith("python")


def _lang_of(info: str) -> str:
    match = re.match(r"[{.]*([\w+#-]*)", info.strip())
    word = match.group(1).lower() if match else ""
    return re.sub(r"[\d.]+$", "", word) if word.startswith("python") else word


def strip_indent(line: str, indent: int) -> str:
    count = 0
    while count < indent and count < len(line) and line[count] in " \t":
        count += 1
    return line[count:]


def find_fenced_blocks(text: str) -> list[FencedBlock]:
    """Every fenced block, in order; an unclosed fence runs to the end of the text.

    A line that opens a fence with a label (```` ```python ````) while a block is
    open closes that block (unclosed) and opens a new one: models often forget
    the closing fence before starting the next block. A backtick block whose code
    line ends with the fence (``return x```​``) is closed there.
    """
    lines = text.split("\n")
    blocks: list[FencedBlock] = []
    index = 0
    while index < len(lines):
        opening = _FENCE_OPEN.match(lines[index])
        if not opening:
            index += 1
            continue
        indent = len(opening.group("indent"))
        fence = opening.group("fence")
        lang = _lang_of(opening.group("info"))
        body: list[str] = []
        closed = False
        start = index
        index += 1
        while index < len(lines):
            line = lines[index]
            stripped = line.strip()
            if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
                closed = True
                index += 1
                break
            reopening = _FENCE_OPEN.match(line)
            if (
                reopening
                and reopening.group("info").strip()
                and reopening.group("fence")[0] == fence[0]
            ):
                break
            if fence[0] == "`" and line.rstrip().endswith(fence) and stripped != fence:
                body.append(strip_indent(line.rstrip()[: -len(fence)], indent))
                closed = True
                index += 1
                break
            body.append(strip_indent(line, indent))
            index += 1
        code = "\n".join(body)
        if not closed:
            code = code.rstrip("\n")  # the answer's last newline is not part of the code
        blocks.append(FencedBlock(lang=lang, code=code, closed=closed, line=start))
    return blocks


def doctest_source(code: str) -> str | None:
    """The source lines of a ``>>>`` session block, or ``None`` if it is not one."""
    lines = code.split("\n")
    first = next((line.strip() for line in lines if line.strip()), "")
    if not first.startswith(">>>"):
        return None
    source: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        if (
            stripped.startswith(">>> ")
            or stripped == ">>>"
            or stripped.startswith("... ")
            or stripped == "..."
        ):
            source.append(stripped[4:])
    return "\n".join(source)


def blank_out_blocks(text: str, blocks: list[FencedBlock]) -> str:
    """The text with every fenced block (fences included) replaced by blank lines."""
    lines = text.split("\n")
    for block in blocks:
        end = block.line + block.code.count("\n") + (2 if block.closed else 1)
        for i in range(block.line, min(end, len(lines))):
            lines[i] = ""
    return "\n".join(lines)
