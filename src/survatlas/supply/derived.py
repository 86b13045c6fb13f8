"""Derived numbers of a case study: computed by survatlas from stated inputs, never typed.

A derived claim carries ``compute``: arithmetic expressions for ``value`` (and optionally
``low``, ``high``) over named inputs, each either a stated number with its label and source key
(``{"value": 1.46e9, "label": "population", "source": "comparitech-cities"}``) or a field of
another claim (``{"claim": "one-in-20", "field": "high"}``). :func:`derive` evaluates them
(``+ - * /`` and parentheses only) and writes the formula with every input shown; a statement
may show the results through ``{value}``, ``{low}``, ``{high}`` placeholders (Python format
specs allowed, e.g. ``{value:,.1f}``).
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Mapping
from typing import Any

from survatlas.errors import InputError

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv}
FIELDS = ("value", "low", "high")


def evaluate(expression: str, names: Mapping[str, float]) -> float:
    """The value of an arithmetic ``expression`` over ``names`` (+ - * / and parentheses)."""
    def walk(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
            return _OPS[type(node.op)](walk(node.left), walk(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -walk(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            return float(node.value)
        if isinstance(node, ast.Name) and node.id in names:
            return float(names[node.id])
        raise InputError(f"derived formula {expression!r}: only numbers, the inputs "
                         f"({', '.join(names)}) and + - * / are allowed")
    return walk(ast.parse(expression, mode="eval"))


def inputs(spec: Mapping[str, Any], claims: Mapping[str, Mapping[str, Any]]) -> dict[str, float]:
    """The numbers of a ``compute`` spec's inputs (stated, or fields of other claims)."""
    out: dict[str, float] = {}
    for name, given in spec["inputs"].items():
        if "claim" in given:
            other = claims.get(given["claim"])
            number = None if other is None else other.get(given.get("field", "value"))
            if number is None:
                raise InputError(f"derived input {name!r}: claim {given['claim']!r} has no "
                                 f"{given.get('field', 'value')}")
            out[name] = float(number)
        else:
            out[name] = float(given["value"])
    return out


def derive(claim: Mapping[str, Any], claims: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """``value``/``low``/``high``, the formula (inputs shown) and the statement of a derived
    claim, computed from its ``compute`` spec."""
    spec = claim["compute"]
    names = inputs(spec, claims)
    results = {f: evaluate(spec[f], names) for f in FIELDS if f in spec}
    digits = spec.get("round")
    if digits is not None:
        results = {f: round(v, digits) for f, v in results.items()}
    shown = "; ".join(f"{name} = {_fmt(v)} ({_label(spec['inputs'][name])})"
                      for name, v in names.items())
    formula = "; ".join(f"{f} = {spec[f]} = {_fmt(results[f])}" for f in FIELDS if f in results)
    statement = claim["statement"].format(**results) if "{" in claim["statement"] else \
        claim["statement"]
    return {**results, "formula": f"{formula}, with {shown}", "statement": statement}


def _label(given: Mapping[str, Any]) -> str:
    if "claim" in given:
        return f"{given.get('field', 'value')} of claim {given['claim']}"
    source = f", source {given['source']}" if given.get("source") else ""
    return f"{given.get('label', 'stated')}{source}"


def _fmt(v: float) -> str:
    return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
