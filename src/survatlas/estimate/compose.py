"""Composed estimates: Monte Carlo combination of quantities known only as ranges.

Claims such as "one in 20 people is in the system" are products and ratios of uncertain inputs
(a population, a share, a count). Each input is a :class:`Quantity` with a range, a distribution
over it and a source; the expression is evaluated on random draws and the result reported as a
median with a percentile interval, carrying every input's source and the assumptions.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from survatlas.errors import InputError
from survatlas.estimate.result import Estimate

DISTRIBUTIONS = ("uniform", "triangular", "normal", "lognormal", "fixed")
_Z95 = 1.959963984540054

_BINOPS: dict[type, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


@dataclass(frozen=True)
class Quantity:
    """An input known as a range.

    Attributes
    ----------
    name : str
        Identifier used in the expression.
    low, high : float
        The range. For ``uniform`` and ``triangular`` its ends; for ``normal`` and ``lognormal``
        a central 95 % interval; for ``fixed`` both equal the value.
    distribution : str
        One of ``uniform`` (default), ``triangular``, ``normal``, ``lognormal``, ``fixed``.
    mode : float, optional
        Peak of a triangular distribution (default: the midpoint).
    source : str
        Where the range comes from (citation, URL); carried into the result.
    """

    name: str
    low: float
    high: float
    distribution: str = "uniform"
    mode: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise InputError(f"quantity name {self.name!r} must be an identifier (letters, _)")
        if self.distribution not in DISTRIBUTIONS:
            raise InputError(
                f"{self.name}: distribution {self.distribution!r} is not one of {DISTRIBUTIONS}"
            )
        if not (math.isfinite(self.low) and math.isfinite(self.high)) or self.low > self.high:
            raise InputError(f"{self.name}: the range must be finite with low <= high")
        if self.distribution == "lognormal" and self.low <= 0:
            raise InputError(f"{self.name}: a log-normal range must be positive")
        if self.mode is not None and not self.low <= self.mode <= self.high:
            raise InputError(f"{self.name}: the mode must lie inside the range")

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` random draws."""
        lo, hi = self.low, self.high
        if self.distribution == "fixed" or lo == hi:
            return np.full(n, lo)
        if self.distribution == "uniform":
            return rng.uniform(lo, hi, n)
        if self.distribution == "triangular":
            return rng.triangular(lo, (lo + hi) / 2 if self.mode is None else self.mode, hi, n)
        if self.distribution == "normal":
            return rng.normal((lo + hi) / 2, (hi - lo) / (2 * _Z95), n)
        mu, sigma = (math.log(lo) + math.log(hi)) / 2, (math.log(hi) - math.log(lo)) / (2 * _Z95)
        return rng.lognormal(mu, sigma, n)


def compose(
    expression: str,
    quantities: Sequence[Quantity],
    level: float = 0.95,
    n_draws: int = 100_000,
    seed: int = 0,
    assumptions: Sequence[str] = (),
) -> Estimate:
    """Evaluate an arithmetic expression of uncertain quantities by Monte Carlo.

    Parameters
    ----------
    expression : str
        Arithmetic over the quantities' names: ``+ - * / **``, parentheses and numbers,
        e.g. ``"cameras_per_1000 * population / 1000"``.
    quantities : sequence of Quantity
        The inputs (independent of each other).
    level : float
        Level of the percentile interval.
    n_draws : int
        Monte Carlo draws.
    seed : int
        Random seed (results are reproducible).
    assumptions : sequence of str
        Extra assumptions behind the expression, carried into the result.

    Returns
    -------
    Estimate
        Median and percentile interval; ``details["inputs"]`` carries every input and its
        source; ``details["one_in"]`` re-expresses a share in (0, 1] as "one in X".
    """
    if not 0 < level < 1 or n_draws < 1000:
        raise InputError("level must lie in (0, 1) and n_draws must be at least 1,000")
    byname = {q.name: q for q in quantities}
    if len(byname) != len(quantities):
        raise InputError("quantity names must be distinct")
    tree = _parse(expression, byname)
    rng = np.random.default_rng(seed)
    draws = np.broadcast_to(
        _evaluate(tree.body, {n: q.sample(n_draws, rng) for n, q in byname.items()}), (n_draws,)
    ).astype(float)
    bad = ~np.isfinite(draws)
    if bad.mean() > 0.001:
        raise InputError(
            f"the expression is undefined (division by zero or overflow) in {bad.mean():.1%} of "
            "draws; narrow the ranges so divisors stay away from zero"
        )
    good = draws[~bad]
    low, mid, high = np.quantile(good, [0.5 - level / 2, 0.5, 0.5 + level / 2])
    return Estimate(
        method="Monte Carlo composition of ranges",
        n_observed=None,
        n_hat=float(mid),
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        model=[expression],
        assumptions=[
            "the inputs are independent of each other",
            "each input's true value lies in its range with the stated distribution",
            f"the expression {expression} describes the quantity claimed",
            *assumptions,
        ],
        warnings=[
            f"input {q.name} has no source: say where its range comes from"
            for q in quantities
            if not q.source.strip()
        ],
        details={
            "interval_method": f"percentiles of {n_draws:,} Monte Carlo draws (seed {seed}); "
            "point = median",
            "expression": expression,
            "inputs": [asdict(q) for q in quantities],
            "mean": float(good.mean()),
            "one_in": _one_in(low, mid, high),
        },
        draws=good,
    )


def _one_in(low: float, mid: float, high: float) -> dict[str, float] | None:
    """A share in (0, 1] as "one in X" with its interval (bounds swap under inversion)."""
    if not 0 < low <= high <= 1:
        return None
    return {"one_in": float(1 / mid), "low": float(1 / high), "high": float(1 / low)}


def _parse(expression: str, names: Mapping[str, Quantity]) -> ast.Expression:
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise InputError(f"cannot read the expression {expression!r}: {exc.msg}") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names:
            raise InputError(f"the expression uses {node.id!r}, which is not a given quantity")
        allowed = (
            ast.Expression,
            ast.BinOp,
            ast.UnaryOp,
            ast.Name,
            ast.Constant,
            ast.Load,
            ast.USub,
            ast.UAdd,
            *_BINOPS,
        )
        if not isinstance(node, allowed):
            raise InputError(
                f"the expression may only use + - * / ** and parentheses, not {type(node).__name__}"
            )
        if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
            raise InputError("constants in the expression must be numbers")
    return tree


def _evaluate(node: ast.AST, values: Mapping[str, np.ndarray]) -> np.ndarray:
    if isinstance(node, ast.Name):
        return values[node.id]
    if isinstance(node, ast.Constant):
        return np.asarray(float(node.value))
    if isinstance(node, ast.UnaryOp):
        inner = _evaluate(node.operand, values)
        return -inner if isinstance(node.op, ast.USub) else inner
    assert isinstance(node, ast.BinOp)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _BINOPS[type(node.op)](_evaluate(node.left, values), _evaluate(node.right, values))
