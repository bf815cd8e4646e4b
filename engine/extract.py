"""Code out of a chat answer: which part of a model's answer is the program to run.

``extract_code(answer, entry_point=..., signature=...)`` returns an ``Extraction``:
the code to run (``""`` when there is none), how it was found (``method``) and
whether the answer followed the requested format. The raw answer is stored by the
caller next to the extracted code; nothing here loses it.

How the code is found, in order:

1. The text is normalised: CRLF/CR become LF, a BOM, non-breaking spaces and
   chat-template tokens (``<|im_end|>``, ``<|endoftext|>``, ``</s>``) are removed.
2. Fenced blocks: ```` ``` ```` or ``~~~`` fences, indented or not, with an info
   string ``python``, ``py``, ``python3``, ``Python``... or none (a bare fence).
   A block with another label (``text``, ``bash``, ``output``...) counts only when
   it parses as Python and defines the entry point. A ``>>>`` doctest block is
   turned into its source lines. A block whose first line is just ``python`` (a
   label written inside the fence) loses that line.
   Among the Python blocks the *last* one that parses and defines the entry point
   wins (models revise: "here is a better version"); failing that the last that
   defines it at all (the sandbox then reports the syntax error); failing that a
   body-only block completed with the signature; failing that, with no entry point
   known, the last block that defines any function or class.
   Names the chosen block uses but does not bind (a helper function, a constant,
   an import) are taken from the other blocks, transitively, and put in front of it
   (method ``fenced-joined``).
   A fence that is never closed runs to the end of the answer; its code is the
   longest parseable stretch that holds the entry point, so prose written after
   the code without a closing fence is dropped (method ``unterminated-fence``).
3. No usable fence: the longest parseable stretch of lines that contains
   ``def <entry_point>`` (or ``class``), grown upwards over imports, decorators,
   helper functions and constants (method ``unfenced``).
4. A body without its ``def`` line (a HumanEval-style completion, indented) is
   completed by putting ``signature`` in front of it (method
   ``signature-completion``); pass HumanEval's whole prompt as ``signature`` and
   its imports and docstring come along.
5. Otherwise there is no code (method ``none``).

Afterwards two repairs, each recorded in ``notes``:

* imports that the prompt (``signature``) has and the code uses without importing
  (HumanEval's ``from typing import List``) are put in front;
* top-level statements that would run when the module is imported and only
  exercise the solution are removed: ``if __name__ == "__main__":`` blocks,
  expression statements calling ``print``/``input`` or a function the code
  defines, ``assert``\\ s, loops and assignments that call them (an assignment a
  function needs is kept). ``sys.setrecursionlimit(...)`` and other calls of
  imported modules stay.

``followed_format`` is True exactly when the answer has one fenced block in all,
closed, labelled ``python``/``py``/``python3`` (any case), whose code parses and
defines the entry point at top level (any function or class when no entry point
is known), needs no repair, and holds no top-level example calls, prints, asserts or
``__main__`` block (the prompts ask for none). A missing import the prompt already
has (``from typing import List``) does not count against it. Prose before and after
the block is allowed (the chain-of-thought style asks for it).
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap
from dataclasses import dataclass

from engine.problems import Problem

METHODS = (
    "fenced",
    "fenced-entry-point",
    "fenced-joined",
    "unterminated-fence",
    "unfenced",
    "signature-completion",
    "none",
)


@dataclass(frozen=True)
class Extraction:
    """The code taken from one answer and how it was found."""

    code: str
    """The program to run; ``""`` when the answer has none."""
    method: str
    """One of ``METHODS``."""
    followed_format: bool
    """One closed ```` ```python ```` block that defines the entry point (see module doc)."""
    defines_entry_point: bool = False
    """The code parses and binds the entry point at top level."""
    notes: tuple[str, ...] = ()
    """Repairs made on the way, one short sentence each, for the reviewer."""

    @property
    def no_code(self) -> bool:
        return not self.code.strip()


NO_CODE = Extraction(code="", method="none", followed_format=False)

_SPECIAL_TOKENS = ("<|im_end|>", "<|im_start|>", "<|endoftext|>", "</s>", "<|eot_id|>")
_FENCE_OPEN = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*?)[ \t]*$"
)
_PYTHON_LANGS = {"", "py", "py3", "python", "python3", "pycon", "ipython", "python2", "sage"}
_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__"}
_RUN_AT_IMPORT_CALLS = {"print", "input", "pprint", "exit", "quit", "breakpoint"}
_RUN_AT_IMPORT_ATTRS = {("doctest", "testmod"), ("unittest", "main"), ("pytest", "main")}


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
        return self.lang != "" and _is_python_lang(self.lang)


@dataclass(frozen=True)
class _Candidate:
    code: str
    tree: ast.Module | None
    block: FencedBlock | None
    completed: bool = False
    repaired: bool = False


def normalise(answer: str) -> str:
    text = answer.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    for token in _SPECIAL_TOKENS:
        text = text.replace(token, "")
    return text.replace("\u00a0", " ").replace("\u200b", "")


def _is_python_lang(lang: str) -> bool:
    return lang in _PYTHON_LANGS or lang.startswith("python")


def _lang_of(info: str) -> str:
    match = re.match(r"[{.]*([\w+#-]*)", info.strip())
    word = match.group(1).lower() if match else ""
    return re.sub(r"[\d.]+$", "", word) if word.startswith("python") else word


def _strip_indent(line: str, indent: int) -> str:
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
                body.append(_strip_indent(line.rstrip()[: -len(fence)], indent))
                closed = True
                index += 1
                break
            body.append(_strip_indent(line, indent))
            index += 1
        code = "\n".join(body)
        if not closed:
            code = code.rstrip("\n")  # the answer's last newline is not part of the code
        blocks.append(FencedBlock(lang=lang, code=code, closed=closed, line=start))
    return blocks


def _parse(code: str) -> ast.Module | None:
    if not code.strip():
        return None
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def _top_level_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, ast.AnnAssign | ast.AugAssign) and getattr(node, "value", None):
        targets = [node.target]
    names: set[str] = set()
    for target in targets:
        names |= {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
    return names


def defines(tree: ast.Module | None, entry_point: str | None) -> bool:
    """Whether the module binds ``entry_point`` at top level (any def/class if ``None``)."""
    if tree is None:
        return False
    for node in tree.body:
        if entry_point is None:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                return True
        elif entry_point in _top_level_names(node) and not isinstance(
            node, ast.Import | ast.ImportFrom
        ):
            return True
    return False


def _bound_names(tree: ast.AST) -> set[str]:
    bound: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            bound |= set(node.names)
    return bound


def _loaded_names(tree: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def missing_names(tree: ast.AST) -> set[str]:
    """Names read but bound nowhere in the code and not builtins."""
    return _loaded_names(tree) - _bound_names(tree) - _BUILTINS


def _node_lines(code_lines: list[str], node: ast.stmt) -> list[str]:
    start = node.lineno
    for decorator in getattr(node, "decorator_list", []):
        start = min(start, decorator.lineno)
    return code_lines[start - 1 : node.end_lineno]


def _doctest_source(code: str) -> str | None:
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


def _def_line_pattern(entry_point: str | None) -> re.Pattern[str]:
    name = re.escape(entry_point) if entry_point else r"[A-Za-z_]\w*"
    return re.compile(rf"^(?P<indent>[ \t]*)(?:async[ \t]+def|def|class)[ \t]+{name}\b", re.M)


def _dedent_lines(lines: list[str], indent: int) -> list[str]:
    return [_strip_indent(line, indent) for line in lines]


_CHUNK_WINDOW_LINES = 60
"""How many lines past a statement boundary a multi-line statement is looked for."""
_UPWARD_NODES = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
)
_REPAIRABLE_ERRORS = ("never closed", "unterminated", "EOF", "expected an indented")


def _indent_of(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _parse_chunk(lines: list[str], indent: int) -> tuple[ast.Module | None, bool]:
    """Parse lines dedented by ``indent``: (tree, whether more lines could still fix an error).

    A syntax error before the chunk's last line that is not an unclosed bracket,
    string or block cannot be repaired by adding lines after it.
    """
    code = "\n".join(_dedent_lines(lines, indent))
    if not code.strip():
        return None, True
    try:
        return ast.parse(code), True
    except (SyntaxError, ValueError) as exc:
        last = len(code.rstrip().split("\n"))
        message = str(getattr(exc, "msg", ""))
        line = getattr(exc, "lineno", None) or last
        return None, line >= last or any(hint in message for hint in _REPAIRABLE_ERRORS)


def _statement_starts(lines: list[str], start: int, limit: int, indent: int) -> list[int]:
    """Line indexes after ``start`` where a statement at ``indent`` may begin, plus ``limit``.

    A region may only end at one of these; ending inside an indented block would turn
    code cut off mid-function (an answer truncated by the token limit) into a shorter
    function that parses, instead of the syntax error it is.
    """
    bounds = [
        j
        for j in range(start + 1, limit)
        if lines[j].strip()
        and _indent_of(lines[j]) <= indent
        and not lines[j].lstrip().startswith("#")
    ]
    return [*bounds, limit]


def _next_chunk_end(
    lines: list[str],
    position: int,
    bounds: list[int],
    indent: int,
    entry_point: str | None,
    first: bool,
) -> int | None:
    """The nearest boundary ``b`` such that ``lines[position:b]`` parses on its own."""
    window_end: int | None = None
    for bound in bounds:
        if bound <= position:
            continue
        if window_end is None:
            window_end = bound + _CHUNK_WINDOW_LINES
        elif bound > window_end:
            return None
        tree, repairable = _parse_chunk(lines[position:bound], indent)
        if tree is not None and tree.body and (not first or defines(tree, entry_point)):
            return bound
        if not repairable:
            return None
    return None


def _grow_upwards(lines: list[str], start: int, indent: int) -> int:
    """The first line of imports, helpers, constants and decorators right above ``start``."""
    top = start
    for k in range(start - 1, -1, -1):
        line = lines[k]
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if _indent_of(line) < indent or top - k > _CHUNK_WINDOW_LINES:
            break
        if _indent_of(line) > indent:
            continue  # inside a multi-line statement (a helper's body): keep going up
        if line.lstrip().startswith("@"):
            top = k  # a decorator belongs to the definition below it
            continue
        tree, _ = _parse_chunk(lines[k:top], indent)
        if tree is None or not tree.body:
            continue
        first = tree.body[0]
        is_call = isinstance(first, ast.Expr) and isinstance(first.value, ast.Call)
        if not (isinstance(first, _UPWARD_NODES) or is_call):
            break  # prose; an example call between imports and the def is passed over
        top = k
    return top


def longest_parseable_region(text: str, entry_point: str | None) -> str | None:
    """The longest parseable run of lines holding ``def entry_point`` (last such def wins).

    Grows downwards from the ``def`` line one top-level statement at a time while each
    parses, then upwards over imports, decorators, functions, classes, assignments and
    example calls (comments and blank lines between them come along). Each step parses
    only the new statement, so the search stays linear in the answer's length.
    ``None`` when no such region parses.
    """
    lines = text.split("\n")
    pattern = _def_line_pattern(entry_point)
    starts = [i for i, line in enumerate(lines) if pattern.match(line)]
    for start in reversed(starts):
        indent = _indent_of(lines[start])
        limit = next(
            (
                j
                for j in range(start + 1, len(lines))
                if lines[j].strip() and _indent_of(lines[j]) < indent
            ),
            len(lines),
        )
        bounds = _statement_starts(lines, start, limit, indent)
        end = _next_chunk_end(lines, start, bounds, indent, entry_point, first=True)
        if end is None:
            continue
        while (
            later := _next_chunk_end(lines, end, bounds, indent, entry_point, False)
        ) is not None:
            end = later
        top = _grow_upwards(lines, start, indent)
        for first_line in (top, start):
            code = "\n".join(_dedent_lines(lines[first_line:end], indent)).strip("\n")
            if defines(_parse(code), entry_point):
                return code
    return None


def _signature_completion(body: str, signature: str | None, entry_point: str | None) -> str | None:
    """``signature`` followed by an indented body, if that parses and defines the entry point."""
    if not signature or not body.strip():
        return None
    lines = body.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if first == first.lstrip():
        return None
    head = signature.rstrip()
    for candidate_body in (body, textwrap.indent(textwrap.dedent(body), "    ")):
        code = head + "\n" + candidate_body.rstrip()
        tree = _parse(code)
        if tree is not None and defines(tree, entry_point):
            return code
    return None


def _indented_body_runs(text: str) -> list[str]:
    """Maximal runs of indented lines that do not continue a statement above them.

    A run right after a line ending in ``:`` (or an open bracket, a comma, a
    backslash) belongs to that statement, e.g. another function's body, so it is
    not a body for the signature.
    """
    runs: list[str] = []
    current: list[str] = []
    previous = ""
    continues = False
    for line in text.split("\n"):
        if not line.strip():
            if current:
                current.append(line)
            continue
        if line[0] in " \t":
            if not current:
                continues = (
                    previous.split("#")[0].rstrip().endswith((":", "(", "[", "{", ",", "\\"))
                )
            current.append(line)
        else:
            if current and not continues:
                runs.append("\n".join(current))
            current = []
        previous = line
    if current and not continues:
        runs.append("\n".join(current))
    return runs


def _body_completion(text: str, signature: str | None, entry_point: str | None) -> str | None:
    for run in _indented_body_runs(text):
        code = _signature_completion(run, signature, entry_point)
        if code is not None and _has_statement(code, entry_point):
            return code
    return None


def _has_statement(code: str, entry_point: str | None) -> bool:
    """The completed function's body does something (not only a docstring or a name)."""
    tree = _parse(code)
    if tree is None:
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            entry_point is None or node.name == entry_point
        ):
            return any(
                not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant | ast.Name))
                and not isinstance(s, ast.Pass)
                for s in node.body
            )
    return False


def _block_candidate(
    block: FencedBlock, entry_point: str | None, signature: str | None
) -> _Candidate:
    code = block.code
    lines = code.split("\n")
    first_index = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first_index is not None and lines[first_index].strip().lower() in {
        "python",
        "py",
        "python3",
    }:
        code = "\n".join(lines[first_index + 1 :])
    doctest = _doctest_source(code)
    repaired = False
    if doctest is not None:
        code, repaired = doctest, True
    tree = _parse(code)
    if tree is not None:
        return _Candidate(code.strip("\n"), tree, block, repaired=repaired)
    if not block.closed:
        region = longest_parseable_region(code, entry_point)
        if region is not None:
            return _Candidate(region, _parse(region), block, repaired=True)
    completed = _signature_completion(code, signature, entry_point)
    if completed is not None:
        return _Candidate(completed, _parse(completed), block, completed=True)
    dedented = textwrap.dedent(code)
    tree = _parse(dedented)
    if tree is not None and defines(tree, entry_point):
        return _Candidate(dedented.strip("\n"), tree, block, repaired=True)
    return _Candidate(code.strip("\n"), None, block)


def _mentions_entry_point(code: str, entry_point: str | None) -> bool:
    return bool(_def_line_pattern(entry_point).search(code))


def _join_helpers(chosen: _Candidate, others: list[_Candidate]) -> tuple[str, list[str]]:
    """Put definitions the chosen code needs, found in other blocks, in front of it."""
    assert chosen.tree is not None
    providers: dict[str, tuple[int, ast.stmt, list[str]]] = {}
    for order, other in enumerate(others):
        if other.tree is None:
            continue
        other_lines = other.code.split("\n")
        for node in other.tree.body:
            for name in _top_level_names(node):
                providers[name] = (order, node, other_lines)
    taken: list[tuple[int, int, list[str], ast.stmt]] = []
    taken_ids: set[int] = set()
    need = missing_names(chosen.tree)
    seen: set[str] = set()
    while need:
        name = need.pop()
        if name in seen or name not in providers:
            seen.add(name)
            continue
        seen.add(name)
        order, node, other_lines = providers[name]
        if id(node) in taken_ids:
            continue
        taken_ids.add(id(node))
        taken.append((order, node.lineno, _node_lines(other_lines, node), node))
        need |= missing_names(ast.Module(body=[node], type_ignores=[])) - seen
    if not taken:
        return chosen.code, []
    imports = [t for t in taken if isinstance(t[3], ast.Import | ast.ImportFrom)]
    rest = [t for t in taken if not isinstance(t[3], ast.Import | ast.ImportFrom)]
    sections = ["\n".join("\n".join(t[2]) for t in sorted(imports, key=lambda t: t[:2]))]
    sections += ["\n".join(t[2]) for t in sorted(rest, key=lambda t: t[:2])]
    names = sorted(n for t in taken for n in _top_level_names(t[3]))
    head = "\n\n\n".join(section.strip("\n") for section in sections if section.strip())
    return head + "\n\n\n" + chosen.code, [f"joined {', '.join(names)} from other code blocks"]


def _from_blocks(
    blocks: list[FencedBlock], entry_point: str | None, signature: str | None
) -> tuple[str, str, bool, list[str]] | None:
    candidates: list[_Candidate] = []
    for block in blocks:
        candidate = _block_candidate(block, entry_point, signature)
        if _is_python_lang(block.lang) or defines(candidate.tree, entry_point):
            candidates.append(candidate)
    if not candidates:
        return None
    definers = [c for c in candidates if c.tree is not None and defines(c.tree, entry_point)]
    chosen: _Candidate | None = None
    if entry_point is not None:
        plain = [c for c in definers if not c.completed]
        chosen = (plain or definers or [None])[-1]
        if chosen is None:
            mentions = [c for c in candidates if _mentions_entry_point(c.code, entry_point)]
            chosen = mentions[-1] if mentions else None
    if chosen is None:
        any_def = [c for c in candidates if defines(c.tree, None)]
        if any_def:
            chosen = any_def[-1]
    if chosen is None:
        unparsed = [c for c in candidates if c.tree is None and c.code.strip()]
        useful = [c for c in candidates if c.tree is not None and _has_statements(c.code)]
        pool = useful or unparsed
        if not pool:
            return None
        chosen = pool[-1]
    notes: list[str] = []
    code = chosen.code
    joined = False
    if chosen.tree is not None:
        others = [c for c in candidates if c is not chosen]
        code, join_notes = _join_helpers(chosen, others)
        joined = bool(join_notes)
        notes += join_notes
    if chosen.repaired and chosen.block is not None and chosen.block.closed:
        if _doctest_source(chosen.block.code) is not None:
            notes.append("took the source lines of a >>> session")
        else:
            notes.append("took the parseable part of the block")
    if chosen.completed:
        method = "signature-completion"
        notes.append("the block is a function body; put the signature in front")
    elif chosen.block is not None and not chosen.block.closed:
        method = "unterminated-fence"
    elif joined:
        method = "fenced-joined"
    elif len(candidates) > 1 and defines(chosen.tree, entry_point) and entry_point is not None:
        method = "fenced-entry-point"
    else:
        method = "fenced"
    followed = (
        len(blocks) == 1
        and chosen.block is blocks[0]
        and blocks[0].closed
        and blocks[0].labelled_python
        and blocks[0].lang != "pycon"
        and chosen.tree is not None
        and not chosen.repaired
        and not chosen.completed
        and defines(chosen.tree, entry_point)
    )
    return code, method, followed, notes


def _blank_out_blocks(text: str, blocks: list[FencedBlock]) -> str:
    """The text with every fenced block (fences included) replaced by blank lines."""
    lines = text.split("\n")
    for block in blocks:
        end = block.line + block.code.count("\n") + (2 if block.closed else 1)
        for i in range(block.line, min(end, len(lines))):
            lines[i] = ""
    return "\n".join(lines)


def _calls_any(node: ast.AST, names: set[str]) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            if isinstance(func, ast.Name) and func.id in names:
                return True
            if (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and (func.value.id, func.attr) in _RUN_AT_IMPORT_ATTRS
            ):
                return True
    return False


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _strip_run_at_import(code: str) -> tuple[str, int]:
    """Remove top-level statements that only exercise the solution; returns (code, count)."""
    tree = _parse(code)
    if tree is None:
        return code, 0
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    exercised = defined | _RUN_AT_IMPORT_CALLS
    used_by_definitions: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            used_by_definitions |= _loaded_names(node)
    drop: list[ast.stmt] = []
    for index, node in enumerate(tree.body):
        if _is_main_guard(node):
            drop.append(node)
        elif isinstance(node, ast.Expr):
            is_docstring = index == 0 and isinstance(node.value, ast.Constant)
            if not is_docstring and (
                _calls_any(node, exercised)
                or isinstance(node.value, ast.Name | ast.Constant | ast.Compare)
            ):
                drop.append(node)
        elif isinstance(node, ast.Assert | ast.For | ast.While | ast.With | ast.Try):
            if _calls_any(node, exercised):
                drop.append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = _top_level_names(node)
            if node.value is None and isinstance(node, ast.AnnAssign):
                if not targets & used_by_definitions:
                    drop.append(node)
            elif _calls_any(node, exercised) and not targets & used_by_definitions:
                drop.append(node)
    if not drop:
        return code, 0
    lines = code.split("\n")
    removed: set[int] = set()
    for node in drop:
        first = node.lineno - 1
        while first > 0 and lines[first - 1].lstrip().startswith("#"):
            first -= 1  # the comment that introduces it ("# Example usage:") goes too
        removed |= set(range(first, node.end_lineno or node.lineno))
    kept = [line for i, line in enumerate(lines) if i not in removed]
    result = re.sub(r"\n{3,}", "\n\n\n", "\n".join(kept)).strip("\n")
    if result.strip() and _parse(result) is None:
        return code, 0
    return result, len(drop)


def _has_statements(code: str) -> bool:
    """Something is left once example calls are removed (comments alone do not count)."""
    stripped, _ = _strip_run_at_import(code)
    tree = _parse(stripped)
    return tree is not None and bool(tree.body)


def _prompt_imports(signature: str | None) -> list[ast.stmt]:
    if not signature:
        return []
    tree = _parse(signature)
    if tree is None:
        import_lines = [
            line for line in signature.split("\n") if re.match(r"(?:from\s+\S+\s+)?import\s+", line)
        ]
        tree = _parse("\n".join(import_lines))
    if tree is None:
        return []
    return [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


def _add_prompt_imports(code: str, signature: str | None) -> tuple[str, list[str]]:
    tree = _parse(code)
    if tree is None:
        return code, []
    missing = missing_names(tree)
    wanted = [node for node in _prompt_imports(signature) if _top_level_names(node) & missing]
    if not wanted:
        return code, []
    lines = [ast.unparse(node) for node in wanted]
    return "\n".join(lines) + "\n\n" + code, [f"added from the prompt: {'; '.join(lines)}"]


def _finish(
    code: str,
    method: str,
    followed: bool,
    notes: list[str],
    entry_point: str | None,
    signature: str | None,
) -> Extraction:
    code, removed = _strip_run_at_import(code)
    if removed:
        followed = False  # the prompt asks for no tests or example usage
        notes.append(
            f"removed {removed} top-level statement{'s' if removed > 1 else ''} "
            "that would run at import (example calls, prints, asserts, __main__ block)"
        )
    code, import_notes = _add_prompt_imports(code, signature)
    notes += import_notes
    if not code.strip() or (_parse(code) is not None and not _parse(code).body):  # type: ignore[union-attr]
        return NO_CODE  # nothing, or only comments ("# your code here")
    return Extraction(
        code=code.strip("\n") + "\n",
        method=method,
        followed_format=followed,
        defines_entry_point=defines(_parse(code), entry_point),
        notes=tuple(notes),
    )


def extract_code(
    answer: str, *, entry_point: str | None = None, signature: str | None = None
) -> Extraction:
    """The code to run from a chat answer (see the module docstring for the rules)."""
    text = normalise(answer)
    blocks = find_fenced_blocks(text)
    if blocks:
        found = _from_blocks(blocks, entry_point, signature)
        if found is not None:
            code, method, followed, notes = found
            return _finish(code, method, followed, notes, entry_point, signature)
        text = _blank_out_blocks(text, blocks)
    region = longest_parseable_region(text, entry_point)
    if region is not None:
        return _finish(region, "unfenced", False, [], entry_point, signature)
    completed = _body_completion(text, signature, entry_point)
    if completed is not None:
        notes = ["the answer is a function body; put the signature in front"]
        return _finish(completed, "signature-completion", False, notes, entry_point, signature)
    if entry_point is not None:
        other = longest_parseable_region(text, None)
        if other is not None:  # a wrongly named function is still code; the sandbox says so
            return _finish(other, "unfenced", False, [], entry_point, signature)
    unparsed = _unparsed_definition(text, entry_point)
    if unparsed is not None and unparsed.strip():
        return _finish(
            unparsed,
            "unfenced",
            False,
            ["the code does not parse; kept as written"],
            entry_point,
            signature,
        )
    return NO_CODE


_CODE_LINE = re.compile(
    r"^(?:[ \t]|$|#|@|(?:async|def|class|import|from|if|elif|else|for|while|try|except|finally"
    r"|with|return|raise|print|assert|pass)\b|[A-Za-z_][\w.]*\s*(?:=|\(|\[))"
)


def _unparsed_definition(text: str, entry_point: str | None) -> str | None:
    """Code that will not parse: from a ``def``/``class`` line to the last line that looks like code.

    The entry point's last ``def`` line is the start when there is one, else the first
    ``def``/``class`` of any name (a wrongly named function is still code, and the
    sandbox reports it). Import lines right above come along; the code ends at the
    first line that does not look like code (prose).
    """
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if _def_line_pattern(entry_point).match(line)]
    if starts:
        start = starts[-1]
    else:
        starts = [i for i, line in enumerate(lines) if _def_line_pattern(None).match(line)]
        if not starts:
            return None
        start = starts[0]
    top = start
    for k in range(start - 1, -1, -1):
        if not lines[k].strip():
            continue
        if not re.match(r"\s*(?:import|from)\s", lines[k]):
            break
        top = k
    end = start + 1
    while end < len(lines) and _CODE_LINE.match(lines[end]):
        end += 1
    return textwrap.dedent("\n".join(lines[top:end])).strip("\n")


def extract_for_problem(answer: str, problem: Problem) -> Extraction:
    """``extract_code`` with a problem's entry point and its prompt code as the signature.

    HumanEval problems pass their whole prompt (imports, ``def`` line, docstring) so a
    body-only completion runs exactly as HumanEval's own harness would run it.
    """
    signature = problem.code_prompt or problem.signature
    return extract_code(answer, entry_point=problem.entry_point, signature=signature)
