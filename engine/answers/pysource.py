"""Python source questions that code extraction asks, answered with ``ast``.

Does this code parse, which names does it bind at top level and which does it read
without binding (``defines``, ``missing_names``); where in a stretch of prose is the
longest parseable code around ``def <name>`` (``longest_parseable_region``); which
top-level statements only exercise the solution and would run at import
(``strip_run_at_import``). ``gradebench.engine.answers.extract`` puts these together.
"""

from __future__ import annotations

import ast
import builtins
import re
import textwrap

from gradebench.engine.answers.fences import strip_indent

_BUILTINS = frozenset(dir(builtins)) | {"__name__", "__file__", "__doc__"}
_RUN_AT_IMPORT_CALLS = {"print", "input", "pprint", "exit", "quit", "breakpoint"}
"""Calls that, at the top level of an answer, only exercise or show the solution."""
_RUN_AT_IMPORT_ATTRS = {("doctest", "testmod"), ("unittest", "main"), ("pytest", "main")}


def parse(code: str) -> ast.Module | None:
    """The module's tree, or ``None`` when the code is empty or does not parse."""
    if not code.strip():
        return None
    try:
        return ast.parse(code)
    except (SyntaxError, ValueError):
        return None


def top_level_names(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds (def, class, import, assignment)."""
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
        elif entry_point in top_level_names(node) and not isinstance(
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


def node_lines(code_lines: list[str], node: ast.stmt) -> list[str]:
    start = node.lineno
    for decorator in getattr(node, "decorator_list", []):
        start = min(start, decorator.lineno)
    return code_lines[start - 1 : node.end_lineno]


def def_line_pattern(entry_point: str | None) -> re.Pattern[str]:
    name = re.escape(entry_point) if entry_point else r"[A-Za-z_]\w*"
    return re.compile(rf"^(?P<indent>[ \t]*)(?:async[ \t]+def|def|class)[ \t]+{name}\b", re.M)


def _dedent_lines(lines: list[str], indent: int) -> list[str]:
    return [strip_indent(line, indent) for line in lines]


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
    """The longest parseable run of lines holding ``def entry_point``.

    Among several such lines the least indented wins, then the last one.

    Grows downwards from the ``def`` line one top-level statement at a time while each
    parses, then upwards over imports, decorators, functions, classes, assignments and
    example calls (comments and blank lines between them come along). Each step parses
    only the new statement, so the search stays linear in the answer's length.
    ``None`` when no such region parses.
    """
    lines = text.split("\n")
    pattern = def_line_pattern(entry_point)
    starts = [i for i, line in enumerate(lines) if pattern.match(line)]
    if entry_point is None and starts:
        # any name: only the outermost definitions (a function nested in a broken one
        # is not the answer's code; the broken outer one is, and will not parse)
        outermost = min(_indent_of(lines[i]) for i in starts)
        starts = [i for i in starts if _indent_of(lines[i]) == outermost]
    # outermost first (a class before its methods), then the last one (models revise)
    for start in sorted(starts, key=lambda i: (_indent_of(lines[i]), -i)):
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
            if defines(parse(code), entry_point):
                return code
    return None


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


def strip_run_at_import(code: str) -> tuple[str, int]:
    """Remove top-level statements that only exercise the solution; returns (code, count)."""
    tree = parse(code)
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
            has_call = any(isinstance(sub, ast.Call | ast.Await) for sub in ast.walk(node))
            if not is_docstring and (_calls_any(node, exercised) or not has_call):
                drop.append(node)  # an example call, or an expression that does nothing
        elif isinstance(node, ast.Assert | ast.For | ast.While | ast.With | ast.Try):
            if _calls_any(node, exercised):
                drop.append(node)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = top_level_names(node)
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
    if result.strip() and parse(result) is None:
        return code, 0
    return result, len(drop)


def has_statements(code: str) -> bool:
    """Something is left once example calls are removed (comments alone do not count)."""
    stripped, _ = strip_run_at_import(code)
    tree = parse(stripped)
    return tree is not None and bool(tree.body)


_CODE_LINE = re.compile(
    r"^(?:[ \t]|$|#|@|(?:async|def|class|import|from|if|elif|else|for|while|try|except|finally"
    r"|with|return|raise|print|assert|pass)\b|[A-Za-z_][\w.]*\s*(?:=|\(|\[))"
)


def unparsed_definition(text: str, entry_point: str | None) -> str | None:
    """Code that will not parse: from a ``def``/``class`` line to the last line that looks like code.

    The entry point's last ``def`` line is the start when there is one, else the first
    ``def``/``class`` of any name (a wrongly named function is still code, and the
    sandbox reports it). Import lines right above come along; the code ends at the
    first line that does not look like code (prose).
    """
    lines = text.split("\n")
    starts = [i for i, line in enumerate(lines) if def_line_pattern(entry_point).match(line)]
    if starts:
        start = starts[-1]
    else:
        starts = [i for i, line in enumerate(lines) if def_line_pattern(None).match(line)]
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
