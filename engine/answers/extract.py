"""Code out of a chat answer: which part of a model's answer is the program to run.

(One module of ~460 lines on purpose: the candidates, their ranking and the repairs are one
decision that reads top to bottom; fences and Python-source questions are already apart.)

``extract_code(answer, entry_point=..., signature=...)`` returns an ``Extraction``:
the code to run (``""`` when there is none), how it was found (``method``) and
whether the answer followed the requested format. The raw answer is stored by the
caller next to the extracted code; nothing here loses it. Fenced blocks are found by
``gradebench.engine.answers.fences``; parsing, name and region questions are answered by ``gradebench.engine.answers.pysource``.

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
   A stretch only ends where a top-level statement could start: code cut off
   mid-function by the token limit is kept whole, so the verdict is ``syntax``
   rather than a shorter function that parses.
   When no block defines the entry point but code outside the fences does (the
   fences hold output or a usage example), that code wins (method ``unfenced``).
3. No usable fence: the longest parseable stretch of lines that contains
   ``def <entry_point>`` (or ``class``), grown upwards over imports, decorators,
   helper functions and constants (method ``unfenced``).
4. A body without its ``def`` line (a HumanEval-style completion, indented) is
   completed by putting ``signature`` in front of it (method
   ``signature-completion``); pass HumanEval's whole prompt as ``signature`` and
   its imports and docstring come along. An indented run that follows a line
   ending in ``:`` belongs to that statement and is never taken as the body.
5. Still nothing: a parseable function or class of another name, then code that
   does not parse, from its ``def`` line to the last line that looks like code
   (method ``unfenced``, note "does not parse"): the sandbox reports what is wrong.
6. Otherwise, or when what is left is only comments (``# your code here``) or
   example calls, there is no code (method ``none``).

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
import re
import textwrap
from dataclasses import dataclass

from gradebench.engine.answers.fences import (
    FencedBlock,
    blank_out_blocks,
    doctest_source,
    find_fenced_blocks,
    is_python_lang,
    normalise,
)
from gradebench.engine.answers.pysource import (
    def_line_pattern,
    defines,
    has_statements,
    longest_parseable_region,
    missing_names,
    node_lines,
    parse,
    strip_run_at_import,
    top_level_names,
    unparsed_definition,
)
from gradebench.engine.problems.model import Problem

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


@dataclass(frozen=True)
class _Candidate:
    code: str
    tree: ast.Module | None
    block: FencedBlock | None
    completed: bool = False
    repaired: bool = False


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
        tree = parse(code)
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
    tree = parse(code)
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
    doctest = doctest_source(code)
    repaired = False
    if doctest is not None:
        code, repaired = doctest, True
    tree = parse(code)
    if tree is not None:
        return _Candidate(code.strip("\n"), tree, block, repaired=repaired)
    if not block.closed:
        region = longest_parseable_region(code, entry_point)
        if region is not None:
            return _Candidate(region, parse(region), block, repaired=True)
    completed = _signature_completion(code, signature, entry_point)
    if completed is not None:
        return _Candidate(completed, parse(completed), block, completed=True)
    dedented = textwrap.dedent(code)
    tree = parse(dedented)
    if tree is not None and defines(tree, entry_point):
        return _Candidate(dedented.strip("\n"), tree, block, repaired=True)
    return _Candidate(code.strip("\n"), None, block)


def _mentions_entry_point(code: str, entry_point: str | None) -> bool:
    return bool(def_line_pattern(entry_point).search(code))


def _join_helpers(chosen: _Candidate, others: list[_Candidate]) -> tuple[str, list[str]]:
    """Put definitions the chosen code needs, found in other blocks, in front of it."""
    assert chosen.tree is not None
    providers: dict[str, tuple[int, ast.stmt, list[str]]] = {}
    for order, other in enumerate(others):
        if other.tree is None:
            continue
        other_lines = other.code.split("\n")
        for node in other.tree.body:
            for name in top_level_names(node):
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
        taken.append((order, node.lineno, node_lines(other_lines, node), node))
        need |= missing_names(ast.Module(body=[node], type_ignores=[])) - seen
    if not taken:
        return chosen.code, []
    imports = [t for t in taken if isinstance(t[3], ast.Import | ast.ImportFrom)]
    rest = [t for t in taken if not isinstance(t[3], ast.Import | ast.ImportFrom)]
    sections = ["\n".join("\n".join(t[2]) for t in sorted(imports, key=lambda t: t[:2]))]
    sections += ["\n".join(t[2]) for t in sorted(rest, key=lambda t: t[:2])]
    names = sorted(n for t in taken for n in top_level_names(t[3]))
    head = "\n\n\n".join(section.strip("\n") for section in sections if section.strip())
    return head + "\n\n\n" + chosen.code, [f"joined {', '.join(names)} from other code blocks"]


def _from_blocks(
    blocks: list[FencedBlock], entry_point: str | None, signature: str | None
) -> tuple[str, str, bool, list[str]] | None:
    candidates: list[_Candidate] = []
    for block in blocks:
        candidate = _block_candidate(block, entry_point, signature)
        if is_python_lang(block.lang) or defines(candidate.tree, entry_point):
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
        useful = [c for c in candidates if c.tree is not None and has_statements(c.code)]
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
        if doctest_source(chosen.block.code) is not None:
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


def _prompt_imports(signature: str | None) -> list[ast.stmt]:
    if not signature:
        return []
    tree = parse(signature)
    if tree is None:
        import_lines = [
            line for line in signature.split("\n") if re.match(r"(?:from\s+\S+\s+)?import\s+", line)
        ]
        tree = parse("\n".join(import_lines))
    if tree is None:
        return []
    return [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


def _add_prompt_imports(code: str, signature: str | None) -> tuple[str, list[str]]:
    tree = parse(code)
    if tree is None:
        return code, []
    missing = missing_names(tree)
    wanted = [node for node in _prompt_imports(signature) if top_level_names(node) & missing]
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
    code, removed = strip_run_at_import(code)
    if removed:
        followed = False  # the prompt asks for no tests or example usage
        notes.append(
            f"removed {removed} top-level statement{'s' if removed > 1 else ''} "
            "that would run at import (example calls, prints, asserts, __main__ block)"
        )
    code, import_notes = _add_prompt_imports(code, signature)
    notes += import_notes
    tree = parse(code)
    if not code.strip() or (tree is not None and not tree.body):
        return NO_CODE  # nothing, or only comments ("# your code here")
    return Extraction(
        code=code.strip("\n") + "\n",
        method=method,
        followed_format=followed,
        defines_entry_point=defines(tree, entry_point),
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
        outside = blank_out_blocks(text, blocks)
        if found is not None:
            code, method, followed, notes = found
            if entry_point is None or defines(parse(code), entry_point):
                return _finish(code, method, followed, notes, entry_point, signature)
            # no block defines the entry point: code outside the fences may (the
            # fences then hold output or a usage example)
            region = longest_parseable_region(outside, entry_point)
            if region is not None:
                return _finish(region, "unfenced", False, [], entry_point, signature)
            return _finish(code, method, followed, notes, entry_point, signature)
        text = outside
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
    unparsed = unparsed_definition(text, entry_point)
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


def extract_for_problem(answer: str, problem: Problem) -> Extraction:
    """``extract_code`` with a problem's entry point and its prompt code as the signature.

    HumanEval problems pass their whole prompt (imports, ``def`` line, docstring) so a
    body-only completion runs exactly as HumanEval's own harness would run it.
    """
    signature = problem.code_prompt or problem.signature
    return extract_code(answer, entry_point=problem.entry_point, signature=signature)
