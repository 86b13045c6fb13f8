"""The result every estimator returns: a number with its method, assumptions and interval."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CLOSED_POPULATION = "closed population: no device was installed or removed between the lists"
LIST_INDEPENDENCE = "list independence: being on one list does not change the chance of another"
HOMOGENEITY = "homogeneity: every device has the same chance of being listed by a given source"
PERFECT_MATCHING = "records are matched across lists without error (no false or missed links)"


@dataclass(frozen=True)
class Estimate:
    """An estimated total with its method, assumptions and interval.

    Attributes
    ----------
    method : str
        Name of the estimator (e.g. ``"Chapman"``, ``"Poisson log-linear MSE"``).
    n_observed : int or None
        Records actually seen (union of the lists, or sampled units); ``None`` when the estimate
        is composed from other quantities.
    n_hat : float
        Point estimate.
    ci_low, ci_high : float
        Interval bounds at ``level``.
    level : float
        Confidence (or credible / Monte Carlo) level of the interval, e.g. 0.95.
    model : list of str
        Terms or model description used (e.g. ``["LA", "NG", "LA:NG"]``).
    assumptions : list of str
        What must hold for the estimate to be right.
    warnings : list of str
        Reasons to distrust the number (sparse cells, little overlap, model disagreement, ...).
    details : dict
        Method-specific extras (standard error, interval method, models examined, inputs, ...).
    draws : numpy.ndarray or None
        Bootstrap or Monte Carlo draws when the method has them (not serialised).
    """

    method: str
    n_observed: int | None
    n_hat: float
    ci_low: float
    ci_high: float
    level: float
    model: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    draws: np.ndarray | None = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (numbers as floats / ints, no numpy types, no draws)."""
        return {
            "method": self.method,
            "n_observed": self.n_observed,
            "n_hat": _plain(self.n_hat),
            "ci_low": _plain(self.ci_low),
            "ci_high": _plain(self.ci_high),
            "level": self.level,
            "model": list(self.model),
            "assumptions": list(self.assumptions),
            "warnings": list(self.warnings),
            "details": _plain(self.details),
        }


def _plain(value: Any) -> Any:
    """Convert numpy scalars/arrays and non-finite floats into JSON-safe Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        f = float(value)
        return f if math.isfinite(f) else None
    if isinstance(value, np.bool_):
        return bool(value)
    return value
