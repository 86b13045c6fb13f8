"""Poisson log-linear regression by iteratively reweighted least squares (IRLS).

Small and dependency-free (numpy/scipy only): the tables here have at most a few thousand cells
and a few dozen parameters. Also checks whether the maximum-likelihood estimate exists at all
(Haberman 1974; the linear-programming test of Fienberg & Rinaldo 2012): with sparse tables an
interaction term can have no finite estimate, and IRLS would silently drift towards infinity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

MAX_ITER = 100
TOL = 1e-10


@dataclass(frozen=True)
class PoissonFit:
    """A fitted Poisson log-linear model."""

    beta: np.ndarray
    mu: np.ndarray
    loglik: float
    converged: bool
    iterations: int


def fit_poisson(x: np.ndarray, y: np.ndarray, start: np.ndarray | None = None) -> PoissonFit:
    """Maximum-likelihood fit of ``log E[y] = x @ beta`` by IRLS.

    Parameters
    ----------
    x : numpy.ndarray
        Design matrix ``(cells, p)`` of full column rank.
    y : numpy.ndarray
        Non-negative counts.
    start : numpy.ndarray, optional
        Starting coefficients (warm start); otherwise starts from ``log(y + 0.5)``.

    Returns
    -------
    PoissonFit
    """
    y = np.asarray(y, dtype=float)
    eta = x @ start if start is not None else np.log(y + 0.5)
    beta = np.zeros(x.shape[1]) if start is None else np.asarray(start, dtype=float)
    old = -np.inf
    for it in range(1, MAX_ITER + 1):
        mu = np.exp(np.clip(eta, -700, 700))
        z = eta + (y - mu) / mu
        w = np.sqrt(mu)
        beta = np.linalg.lstsq(x * w[:, None], z * w, rcond=None)[0]
        eta = x @ beta
        ll = loglik(y, np.exp(np.clip(eta, -700, 700)))
        if abs(ll - old) <= TOL * (abs(ll) + 1.0):
            mu = np.exp(np.clip(eta, -700, 700))
            return PoissonFit(beta, mu, ll, bool(np.isfinite(ll)), it)
        old = ll
    mu = np.exp(np.clip(eta, -700, 700))
    return PoissonFit(beta, mu, loglik(y, mu), False, MAX_ITER)


def loglik(y: np.ndarray, mu: np.ndarray) -> float:
    """Poisson log-likelihood ``Σ y·log μ − μ − log y!``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(mu), 0.0)
    return float(np.sum(term - mu - special.gammaln(y + 1)))


def deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Deviance ``G² = 2 Σ [y·log(y/μ) − (y − μ)]`` against the saturated model."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2 * np.sum(term - (y - mu)))


def full_rank(x: np.ndarray) -> bool:
    """Whether the design has full column rank (every parameter identifiable)."""
    return bool(np.linalg.matrix_rank(x) == x.shape[1])


def mle_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """Whether the Poisson log-linear MLE exists (is finite) for design ``x`` and counts ``y``.

    The MLE fails to exist exactly when some direction ``d`` keeps every positive cell fixed
    (``x_i·d = 0``) while pushing at least one zero cell towards zero (``x_i·d ≤ 0``, some
    strictly). We look for such a direction with a linear programme bounded to ``|d| ≤ 1``.
    """
    pos = y > 0
    if pos.all():
        return full_rank(x)
    if not full_rank(x):
        return False
    xz = x[~pos]
    res = optimize.linprog(
        c=xz.sum(axis=0),
        A_ub=xz,
        b_ub=np.zeros(len(xz)),
        A_eq=x[pos],
        b_eq=np.zeros(int(pos.sum())),
        bounds=[(-1, 1)] * x.shape[1],
        method="highs",
    )
    return not (res.status == 0 and res.fun < -1e-7)
