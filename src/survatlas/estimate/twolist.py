"""Two-list capture–recapture: Lincoln–Petersen and Chapman estimators.

Intervals are the log-normal intervals of Chao (1987) on the number of unseen records, so the lower
bound never falls below the number actually observed.
"""

from __future__ import annotations

import math

from scipy import stats

from survatlas.errors import EstimationError, InputError
from survatlas.estimate.result import (
    CLOSED_POPULATION,
    HOMOGENEITY,
    LIST_INDEPENDENCE,
    PERFECT_MATCHING,
    Estimate,
)

MIN_OVERLAP = 7  # Robson & Regier (1964): fewer recaptures give a noticeably biased estimate

TWO_LIST_ASSUMPTIONS = [CLOSED_POPULATION, LIST_INDEPENDENCE, HOMOGENEITY, PERFECT_MATCHING]


def lincoln_petersen(n1: int, n2: int, m: int, level: float = 0.95) -> Estimate:
    """Lincoln–Petersen estimate ``N = n1·n2 / m`` with a log-normal interval.

    Parameters
    ----------
    n1, n2 : int
        Sizes of the two lists.
    m : int
        Records on both lists (must be at least 1).
    level : float
        Confidence level of the interval.

    Returns
    -------
    Estimate
        Variance ``n1·n2·(n1−m)(n2−m)/m³`` (Seber 1982) in ``details["variance"]``.
    """
    _check_counts(n1, n2, m, level)
    if m == 0:
        raise EstimationError(
            "Lincoln–Petersen needs at least one record on both lists (m = 0); "
            "use the Chapman estimator, which is defined for m = 0"
        )
    n_hat = n1 * n2 / m
    var = n1 * n2 * (n1 - m) * (n2 - m) / m**3
    return _estimate("Lincoln–Petersen", n1, n2, m, n_hat, var, level)


def chapman(n1: int, n2: int, m: int, level: float = 0.95) -> Estimate:
    """Chapman's nearly unbiased estimate ``N = (n1+1)(n2+1)/(m+1) − 1``.

    Parameters
    ----------
    n1, n2 : int
        Sizes of the two lists.
    m : int
        Records on both lists (0 allowed).
    level : float
        Confidence level of the interval.

    Returns
    -------
    Estimate
        Variance ``(n1+1)(n2+1)(n1−m)(n2−m)/((m+1)²(m+2))`` in ``details["variance"]``.

    Examples
    --------
    Two surveys of one district found 100 and 80 cameras, 20 of them on both:

    >>> e = chapman(100, 80, 20)
    >>> round(e.n_hat, 1), e.level
    (388.6, 0.95)
    """
    _check_counts(n1, n2, m, level)
    n_hat = (n1 + 1) * (n2 + 1) / (m + 1) - 1
    var = (n1 + 1) * (n2 + 1) * (n1 - m) * (n2 - m) / ((m + 1) ** 2 * (m + 2))
    return _estimate("Chapman", n1, n2, m, n_hat, var, level)


def chao_interval(
    n_observed: int, n_hat: float, variance: float, level: float = 0.95
) -> tuple[float, float]:
    """Log-normal interval of Chao (1987) for a total with ``n_observed`` records seen.

    Parameters
    ----------
    n_observed : int
        Records seen on at least one list.
    n_hat : float
        Estimated total.
    variance : float
        Estimated variance of ``n_hat``.
    level : float
        Confidence level.

    Returns
    -------
    tuple of float
        ``(low, high)``, with ``low >= n_observed``.
    """
    unseen = n_hat - n_observed
    if unseen <= 0 or variance <= 0:
        return float(max(n_hat, n_observed)), float(max(n_hat, n_observed))
    z = stats.norm.ppf(0.5 + level / 2)
    c = math.exp(z * math.sqrt(math.log1p(variance / unseen**2)))
    return n_observed + unseen / c, n_observed + unseen * c


def _estimate(
    method: str, n1: int, n2: int, m: int, n_hat: float, var: float, level: float
) -> Estimate:
    observed = n1 + n2 - m
    low, high = chao_interval(observed, n_hat, var, level)
    return Estimate(
        method=method,
        n_observed=observed,
        n_hat=n_hat,
        ci_low=low,
        ci_high=high,
        level=level,
        model=["list1", "list2"],
        assumptions=list(TWO_LIST_ASSUMPTIONS),
        warnings=_warnings(n1, n2, m),
        details={
            "n1": n1,
            "n2": n2,
            "m": m,
            "variance": var,
            "standard_error": math.sqrt(var),
            "interval_method": "log-normal interval on the unseen count (Chao 1987)",
        },
    )


def _warnings(n1: int, n2: int, m: int) -> list[str]:
    out = []
    if m < MIN_OVERLAP:
        out.append(
            f"only {m} records on both lists (fewer than {MIN_OVERLAP}): the lists barely "
            "overlap, so the estimate is biased and its interval is wide and unreliable"
        )
    if m in (n1, n2) and m > 0:
        out.append(
            "one list is entirely contained in the other: the data give no evidence of unseen "
            "records, but positive dependence between the lists would hide them"
        )
    return out


def _check_counts(n1: int, n2: int, m: int, level: float) -> None:
    for name, v in (("n1", n1), ("n2", n2), ("m", m)):
        if int(v) != v or v < 0:
            raise InputError(f"{name} must be a non-negative whole number, got {v!r}")
    if m > min(n1, n2):
        raise InputError(
            f"the overlap m = {m} cannot exceed either list size (n1 = {n1}, n2 = {n2}); "
            "check the order of the arguments: N1 N2 M"
        )
    if not 0 < level < 1:
        raise InputError(f"level must lie between 0 and 1 (e.g. 0.95), got {level}")
