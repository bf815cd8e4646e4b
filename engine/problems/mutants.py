"""Automatic mutants of a reference solution, for measuring how strong a problem's tests are.

A mutant is the reference with one small, plausible bug put in by an AST rewrite:
a flipped comparison, an off-by-one constant, index or ``range`` bound, a dropped
branch or comprehension filter, a negated condition, a changed constant,
``and``/``or`` swapped, ``+``/``-`` (``*``/``//``...) swapped, a dropped update
statement, or a call changed (``min``/``max`` swapped, a keyword argument dropped,
``sorted`` reversed). Good tests
fail ("kill") most mutants; a mutant that survives is either a gap in the tests or
an equivalent program (it behaves like the reference on every input).

``mutants(source)`` lists every single-site mutant in a fixed order (source order
of the sites, then operator order), without duplicates, each one compiling and
different from the original after ``ast.unparse``.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_COMPARE_FLIPS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type[ast.operator], type[ast.operator]] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.BitXor: ast.BitOr,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}
_BOOLOP_SWAPS: dict[type[ast.boolop], type[ast.boolop]] = {ast.And: ast.Or, ast.Or: ast.And}
_FUNCTION_SWAPS = {
    "min": "max",
    "max": "min",
    "any": "all",
    "all": "any",
    "bisect_left": "bisect_right",
    "bisect_right": "bisect_left",
}
_METHOD_SWAPS = {
    "upper": "lower",
    "lower": "upper",
    "startswith": "endswith",
    "endswith": "startswith",
    "popleft": "pop",
    "appendleft": "append",
    "lstrip": "rstrip",
    "rstrip": "lstrip",
}


@dataclass(frozen=True)
class Mutant:
    """One mutated program and what was changed."""

    source: str
    operator: str
    """Kind of change: ``compare``, ``constant``, ``off-by-one``, ``branch``, ``negate``,
    ``boolop``, ``arith``, ``statement`` or ``call``."""
    line: int
    description: str


_Edit = tuple[str, str, Callable[[ast.AST], ast.AST | None]]
"""(operator, description, function returning the replacement node; None removes a branch)."""


def _edits_for(node: ast.AST) -> list[_Edit]:
    """The single-site changes possible at ``node`` (without touching its children)."""
    return _operator_edits(node) + _extra_edits(node)


def _negated(n: ast.AST, field: str) -> ast.AST:
    setattr(n, field, ast.UnaryOp(op=ast.Not(), operand=getattr(n, field)))
    return n


def _extra_edits(node: ast.AST) -> list[_Edit]:
    """Negated conditions, dropped statements and filters, changed calls."""
    edits: list[_Edit] = []
    if isinstance(node, ast.If | ast.While | ast.IfExp):
        edits.append(("negate", "condition -> not condition", lambda n: _negated(n, "test")))
    elif isinstance(node, ast.AugAssign) or (
        isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    ):
        edits.append(("statement", "statement -> pass", lambda n: ast.Pass()))
    elif isinstance(node, ast.comprehension):
        for i in range(len(node.ifs)):

            def drop_filter(n: ast.AST, i: int = i) -> ast.AST:
                assert isinstance(n, ast.comprehension)
                n.ifs = n.ifs[:i] + n.ifs[i + 1 :]
                return n

            def negate_filter(n: ast.AST, i: int = i) -> ast.AST:
                assert isinstance(n, ast.comprehension)
                n.ifs[i] = ast.UnaryOp(op=ast.Not(), operand=n.ifs[i])
                return n

            edits.append(("branch", "drop comprehension filter", drop_filter))
            edits.append(("negate", "comprehension filter -> not filter", negate_filter))
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.Not):
        edits.append(("arith", f"drop unary {type(node.op).__name__}", lambda n: n.operand))
    elif isinstance(node, ast.Call):
        edits.extend(_call_edits(node))
    return edits


def _call_edits(node: ast.Call) -> list[_Edit]:
    edits: list[_Edit] = []
    func = node.func
    if isinstance(func, ast.Name) and func.id in _FUNCTION_SWAPS:
        other = _FUNCTION_SWAPS[func.id]
        edits.append(("call", f"{func.id} -> {other}", lambda n: _renamed(n, other)))
    if isinstance(func, ast.Attribute) and func.attr in _METHOD_SWAPS:
        other = _METHOD_SWAPS[func.attr]
        edits.append(("call", f".{func.attr} -> .{other}", lambda n: _renamed(n, other)))
    names = [k.arg for k in node.keywords]
    if isinstance(func, ast.Name) and func.id == "sorted" and "reverse" not in names:

        def reverse(n: ast.AST) -> ast.AST:
            assert isinstance(n, ast.Call)
            n.keywords = [*n.keywords, ast.keyword(arg="reverse", value=ast.Constant(True))]
            return n

        edits.append(("call", "sorted(...) -> sorted(..., reverse=True)", reverse))
    for i, name in enumerate(names):
        if name is None:
            continue

        def drop_keyword(n: ast.AST, i: int = i) -> ast.AST:
            assert isinstance(n, ast.Call)
            n.keywords = n.keywords[:i] + n.keywords[i + 1 :]
            return n

        edits.append(("call", f"drop {name}= argument", drop_keyword))
    return edits


def _renamed(n: ast.AST, name: str) -> ast.AST:
    assert isinstance(n, ast.Call)
    if isinstance(n.func, ast.Name):
        n.func = ast.Name(id=name, ctx=ast.Load())
    elif isinstance(n.func, ast.Attribute):
        n.func = ast.Attribute(value=n.func.value, attr=name, ctx=ast.Load())
    return n


def _operator_edits(node: ast.AST) -> list[_Edit]:
    """Flipped comparisons and operators, changed constants, off-by-one, dropped branches."""
    edits: list[_Edit] = []
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            new_op = _COMPARE_FLIPS.get(type(op))
            if new_op is None:
                continue

            def flip(n: ast.AST, i: int = i, new_op: type[ast.cmpop] = new_op) -> ast.AST:
                assert isinstance(n, ast.Compare)
                n.ops[i] = new_op()
                return n

            edits.append(("compare", f"{type(op).__name__} -> {new_op.__name__}", flip))
    elif isinstance(node, ast.BinOp):
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is not None:

            def arith(n: ast.AST, swap: type[ast.operator] = swap) -> ast.AST:
                assert isinstance(n, ast.BinOp)
                n.op = swap()
                return n

            edits.append(("arith", f"{type(node.op).__name__} -> {swap.__name__}", arith))
    elif isinstance(node, ast.AugAssign):
        swap = _BINOP_SWAPS.get(type(node.op))
        if swap is not None:

            def aug(n: ast.AST, swap: type[ast.operator] = swap) -> ast.AST:
                assert isinstance(n, ast.AugAssign)
                n.op = swap()
                return n

            edits.append(("arith", f"{type(node.op).__name__}= -> {swap.__name__}=", aug))
    elif isinstance(node, ast.BoolOp):
        new_bool = _BOOLOP_SWAPS[type(node.op)]

        def boolop(n: ast.AST, new_bool: type[ast.boolop] = new_bool) -> ast.AST:
            assert isinstance(n, ast.BoolOp)
            n.op = new_bool()
            return n

        edits.append(("boolop", f"{type(node.op).__name__} -> {new_bool.__name__}", boolop))
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            edits.append(("constant", f"{value} -> {not value}", lambda n: ast.Constant(not value)))
        elif isinstance(value, int):
            edits.append(
                ("off-by-one", f"{value} -> {value + 1}", lambda n: ast.Constant(value + 1))
            )
            edits.append(
                ("off-by-one", f"{value} -> {value - 1}", lambda n: ast.Constant(value - 1))
            )
        elif isinstance(value, float):
            edits.append(
                ("constant", f"{value} -> {value + 1}", lambda n: ast.Constant(value + 1.0))
            )
        elif isinstance(value, str):
            changed = value[:-1] if value else "x"
            edits.append(("constant", f"{value!r} -> {changed!r}", lambda n: ast.Constant(changed)))
    elif isinstance(node, ast.If):
        edits.append(("branch", "if body -> pass", lambda n: _replace_body(n, "body")))
        if node.orelse:
            edits.append(("branch", "drop else/elif", lambda n: _replace_body(n, "orelse")))
    elif isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
        # An index off by one: xs[i] -> xs[i + 1] / xs[i - 1].
        for op_type, label in ((ast.Add, "+ 1"), (ast.Sub, "- 1")):

            def shift(n: ast.AST, op_type: type[ast.operator] = op_type) -> ast.AST:
                assert isinstance(n, ast.Subscript)
                n.slice = ast.BinOp(left=n.slice, op=op_type(), right=ast.Constant(1))
                return n

            if not isinstance(node.slice, ast.Constant | ast.Tuple) and isinstance(
                node.ctx, ast.Load
            ):
                edits.append(("off-by-one", f"index {label}", shift))
    elif isinstance(node, ast.Call) and _is_range_call(node):
        for i in range(len(node.args)):
            for op_type, label in ((ast.Add, "+ 1"), (ast.Sub, "- 1")):
                if isinstance(node.args[i], ast.Constant):
                    continue  # constants are already mutated on their own

                def bound(n: ast.AST, i: int = i, op_type: type[ast.operator] = op_type) -> ast.AST:
                    assert isinstance(n, ast.Call)
                    n.args[i] = ast.BinOp(left=n.args[i], op=op_type(), right=ast.Constant(1))
                    return n

                edits.append(("off-by-one", f"range argument {i} {label}", bound))
    return edits


def _is_range_call(node: ast.Call) -> bool:
    return isinstance(node.func, ast.Name) and node.func.id == "range" and bool(node.args)


def _replace_body(node: ast.AST, which: str) -> ast.AST:
    assert isinstance(node, ast.If)
    if which == "body":
        node.body = [ast.Pass()]
    else:
        node.orelse = []
    return node


def _skip(node: ast.AST, parent: ast.AST | None) -> bool:
    """Sites not worth mutating: docstrings, annotations, type hints."""
    # A docstring or a bare string statement.
    return isinstance(node, ast.Constant) and isinstance(parent, ast.Expr)


def _sites(tree: ast.AST) -> Iterator[tuple[int, ast.AST]]:
    """(index in ast.walk order, node) for every node that may be mutated, in source order."""
    annotation_ids: set[int] = set()
    for node in ast.walk(tree):
        for ann in _annotations(node):
            annotation_ids.update(id(n) for n in ast.walk(ann))
    parents: dict[int, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[id(child)] = node
    ordered = sorted(
        enumerate(ast.walk(tree)),
        key=lambda item: (
            getattr(item[1], "lineno", 0),
            getattr(item[1], "col_offset", 0),
            item[0],
        ),
    )
    for index, node in ordered:
        if id(node) in annotation_ids or _skip(node, parents.get(id(node))):
            continue
        yield index, node


def _annotations(node: ast.AST) -> list[ast.AST]:
    found: list[ast.AST] = []
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns is not None:
        found.append(node.returns)
    if isinstance(node, ast.arg) and node.annotation is not None:
        found.append(node.annotation)
    if isinstance(node, ast.AnnAssign):
        found.append(node.annotation)
    return found


class _ReplaceAt(ast.NodeTransformer):
    """Apply one edit to the node at a given position of ``ast.walk`` order."""

    def __init__(self, target: ast.AST, edit: Callable[[ast.AST], ast.AST | None]) -> None:
        self.target = target
        self.edit = edit

    def visit(self, node: ast.AST) -> ast.AST | None:
        if node is self.target:
            return self.edit(node)
        return super().visit(node)


def mutants(source: str, limit: int | None = None) -> list[Mutant]:
    """Distinct single-change mutants of ``source``, in deterministic order.

    Each returned mutant compiles and its ``ast.unparse`` differs from the original's.
    ``limit`` caps how many are returned (the first ones in order).
    """
    tree = ast.parse(source)
    original = ast.unparse(tree)
    seen = {original}
    found: list[Mutant] = []
    site_count = sum(1 for _ in ast.walk(tree))
    for index, node in _sites(tree):
        for operator, description, edit in _edits_for(node):
            copy_tree = copy.deepcopy(tree)
            target = _nth(copy_tree, index, site_count)
            mutated = _ReplaceAt(target, edit).visit(copy_tree)
            ast.fix_missing_locations(mutated)
            try:
                text = ast.unparse(mutated)
                compile(text, "<mutant>", "exec")
            except (SyntaxError, ValueError, TypeError):
                continue
            if text in seen:
                continue
            seen.add(text)
            found.append(Mutant(text, operator, _line_of(node), description))
            if limit is not None and len(found) >= limit:
                return found
    return found


def _line_of(node: ast.AST) -> int:
    """The node's line; a comprehension has none, so its target's."""
    if isinstance(node, ast.comprehension):
        node = node.target
    return getattr(node, "lineno", 0)


def _nth(tree: ast.AST, index: int, expected_count: int) -> ast.AST:
    nodes = list(ast.walk(tree))
    assert len(nodes) == expected_count
    return nodes[index]


def spread(all_mutants: list[Mutant], count: int) -> list[Mutant]:
    """Up to ``count`` mutants chosen evenly across the list and across operator kinds.

    Taking the first ``count`` would test only the top of the function; this takes
    one of each operator kind in turn (round robin), each kind's picks spread over
    its mutants, so the sample covers the whole reference. Deterministic.
    """
    if len(all_mutants) <= count:
        return list(all_mutants)
    by_kind: dict[str, list[Mutant]] = {}
    for mutant in all_mutants:
        by_kind.setdefault(mutant.operator, []).append(mutant)
    quota = {kind: 0 for kind in by_kind}
    kinds = sorted(by_kind)
    remaining = count
    while remaining:
        for kind in kinds:
            if remaining and quota[kind] < len(by_kind[kind]):
                quota[kind] += 1
                remaining -= 1
    chosen: list[Mutant] = []
    for kind in kinds:
        items, take = by_kind[kind], quota[kind]
        step = len(items) / take if take else 0
        chosen.extend(items[int(i * step)] for i in range(take))
    order = {id(m): i for i, m in enumerate(all_mutants)}
    return sorted(chosen, key=lambda m: order[id(m)])
