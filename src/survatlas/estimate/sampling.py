"""Sample-based extrapolation: stratified totals and correction by an expert audit.

A survey counts devices in a sample of units (intersections, blocks, H3 cells), stratum by
stratum; the total is the stratified expansion estimator ``Σ_h N_h · ȳ_h`` with a bootstrap
interval (units resampled within strata). Volunteer counts undercount (Amnesty, Decode Surveillance
NYC, 2021): an expert audit of some units gives the ratio of expert to volunteer counts, and the
corrected total is the survey total times that ratio, its interval from resampling both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from survatlas.errors import EstimationError, InputError
from survatlas.estimate.result import Estimate

MIN_AUDIT = 30  # audits smaller than this give a fragile ratio

SAMPLE_ASSUMPTIONS = [
    "units were sampled at random within each stratum (equal chance inside a stratum)",
    "the counts in sampled units are what the survey would find anywhere in the stratum",
    "stratum sizes (number of units) are known",
]


def stratified_total(
    counts: Sequence[float] | np.ndarray,
    population: int | Mapping[str, int],
    strata: Sequence[str] | np.ndarray | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Total over all units from counts in a (stratified) random sample of units.

    Parameters
    ----------
    counts : array_like
        Devices counted in each sampled unit.
    population : int or mapping
        Number of units in the population (unstratified), or stratum name → number of units.
    strata : array_like of str, optional
        Stratum of each sampled unit (required when ``population`` is a mapping).
    level : float
        Interval level.
    n_boot : int
        Bootstrap replicates (units resampled with replacement within strata).
    seed : int
        Bootstrap seed.

    Returns
    -------
    Estimate
        Percentile bootstrap interval; analytic standard error (with finite-population
        correction) in ``details``; draws in ``draws``.
    """
    y, labels, sizes = _strata_inputs(counts, population, strata)
    _check_level(level, n_boot)
    groups = {h: y[labels == h] for h in sizes}
    total = sum(sizes[h] * g.mean() for h, g in groups.items())
    rng = np.random.default_rng(seed)
    draws = np.zeros(n_boot)
    for h, g in groups.items():
        idx = rng.integers(0, len(g), size=(n_boot, len(g)))
        draws += sizes[h] * g[idx].mean(axis=1)
    low, high = np.quantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    return Estimate(
        method="stratified expansion estimator" if len(sizes) > 1 else "expansion estimator",
        n_observed=int(y.sum().round()),
        n_hat=float(total),
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        model=[f"stratum {h}: {len(groups[h])} of {sizes[h]} units" for h in sizes],
        assumptions=list(SAMPLE_ASSUMPTIONS),
        warnings=_sample_warnings(groups, sizes),
        details={
            "interval_method": f"percentile bootstrap within strata, {n_boot} replicates, "
            f"seed {seed}",
            "standard_error": _analytic_se(groups, sizes),
            "units_sampled": len(y),
            "units_total": int(sum(sizes.values())),
            "strata": {
                h: {"units": sizes[h], "sampled": len(g), "mean": float(g.mean())}
                for h, g in groups.items()
            },
        },
        draws=draws,
    )


def audit_correct(
    total: Estimate,
    volunteer: Sequence[float] | np.ndarray,
    expert: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None = None,
    strata: Sequence[str] | np.ndarray | None = None,
    level: float = 0.95,
    n_boot: int = 2000,
    seed: int = 0,
) -> Estimate:
    """Correct a survey total by an expert audit with a ratio estimator.

    Parameters
    ----------
    total : Estimate
        The survey (volunteer) total, e.g. from :func:`stratified_total`.
    volunteer, expert : array_like
        Counts in each audited unit by the survey and by the expert.
    weights : array_like, optional
        Inverse inclusion probabilities of audited units (importance or stratified sampling).
    strata : array_like of str, optional
        Audit strata: units are resampled within them.
    level, n_boot, seed
        Interval level, bootstrap replicates and seed.

    Returns
    -------
    Estimate
        ``n_hat = total × R`` with ``R = Σ w·expert / Σ w·volunteer``.
    """
    v, e, w, s = _audit_inputs(volunteer, expert, weights, strata)
    _check_level(level, n_boot)
    ratio = _ratio(v, e, w)
    rng = np.random.default_rng(seed)
    ratios = _boot_ratios(v, e, w, s, n_boot, rng)
    totals = _total_draws(total, n_boot, rng)
    draws = totals * ratios
    low, high = np.nanquantile(draws, [0.5 - level / 2, 0.5 + level / 2])
    r_low, r_high = np.nanquantile(ratios, [0.5 - level / 2, 0.5 + level / 2])
    return Estimate(
        method=f"{total.method}, corrected by an expert audit (ratio estimator)",
        n_observed=total.n_observed,
        n_hat=float(total.n_hat * ratio),
        ci_low=float(low),
        ci_high=float(high),
        level=level,
        model=[*total.model, f"audit: {len(v)} units, ratio expert/survey {ratio:.3f}"],
        assumptions=[
            *total.assumptions,
            "expert counts are the true counts in audited units",
            "the expert/survey ratio is the same in audited and unaudited units (after weighting)",
        ],
        warnings=[*total.warnings, *_audit_warnings(v, ratio, r_low, r_high)],
        details={
            "interval_method": "Monte Carlo product of the survey total's draws and bootstrap "
            f"ratios (audit units resampled within strata), {n_boot} replicates, seed {seed}",
            "uncorrected": total.to_dict(),
            "ratio_expert_to_survey": ratio,
            "ratio_interval": [float(r_low), float(r_high)],
            "ratio_survey_to_expert": 1 / ratio if ratio > 0 else math.inf,
            "audited_units": len(v),
        },
        draws=draws,
    )


def _ratio(v: np.ndarray, e: np.ndarray, w: np.ndarray) -> float:
    den = float(np.sum(w * v))
    if den <= 0:
        raise EstimationError(
            "the survey counted no device in any audited unit: the correction ratio is "
            "undefined; audit units where the survey found devices"
        )
    return float(np.sum(w * e)) / den


def _boot_ratios(
    v: np.ndarray,
    e: np.ndarray,
    w: np.ndarray,
    s: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
) -> np.ndarray:
    num, den = np.zeros(n_boot), np.zeros(n_boot)
    for h in np.unique(s):
        ix = np.flatnonzero(s == h)
        pick = ix[rng.integers(0, len(ix), size=(n_boot, len(ix)))]
        num += (w[pick] * e[pick]).sum(axis=1)
        den += (w[pick] * v[pick]).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _total_draws(total: Estimate, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Draws of the uncorrected total: its own draws, else a log-normal matched to its interval."""
    if total.draws is not None and len(total.draws):
        return rng.choice(np.asarray(total.draws, dtype=float), size=n_boot)
    if total.ci_high <= total.ci_low or total.n_hat <= 0 or total.ci_low <= 0:
        return np.full(n_boot, float(total.n_hat))
    z = float(stats.norm.ppf(0.5 + total.level / 2))
    sigma = (math.log(total.ci_high) - math.log(total.ci_low)) / (2 * z)
    return total.n_hat * np.exp(rng.normal(0, sigma, n_boot))


def _analytic_se(groups: Mapping[str, np.ndarray], sizes: Mapping[str, int]) -> float:
    var = 0.0
    for h, g in groups.items():
        n, big = len(g), sizes[h]
        if n > 1:
            var += big**2 * (1 - n / big) * g.var(ddof=1) / n
    return math.sqrt(var)


def _sample_warnings(groups: Mapping[str, np.ndarray], sizes: Mapping[str, int]) -> list[str]:
    out = []
    thin = [h for h, g in groups.items() if len(g) < 2 and len(g) < sizes[h]]
    if thin:
        out.append(
            f"strata with a single sampled unit ({', '.join(thin)}): their variability is "
            "unknown and the interval is too narrow"
        )
    if sum(len(g) for g in groups.values()) < 30:
        out.append("fewer than 30 sampled units: the bootstrap interval is rough")
    return out


def _audit_warnings(v: np.ndarray, ratio: float, r_low: float, r_high: float) -> list[str]:
    out = []
    if len(v) < MIN_AUDIT:
        out.append(
            f"only {len(v)} audited units (fewer than {MIN_AUDIT}): the correction ratio "
            f"is fragile (interval {r_low:.2f}–{r_high:.2f})"
        )
    if ratio < 1:
        out.append("experts found fewer devices than the survey: check for survey false positives")
    return out


def _strata_inputs(
    counts: Sequence[float] | np.ndarray,
    population: int | Mapping[str, int],
    strata: Sequence[str] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, dict[str, int]]:
    y = np.asarray(counts, dtype=float)
    if y.ndim != 1 or len(y) == 0 or not np.isfinite(y).all() or (y < 0).any():
        raise InputError("counts must be a non-empty list of non-negative numbers, one per unit")
    if isinstance(population, Mapping):
        if strata is None:
            raise InputError("give the stratum of every sampled unit when population is by stratum")
        sizes = {str(h): int(n) for h, n in population.items()}
    else:
        sizes = {"all": int(population)}
        strata = ["all"] * len(y)
    labels = np.asarray([str(h) for h in strata])
    if len(labels) != len(y):
        raise InputError(f"{len(y)} counts but {len(labels)} stratum labels")
    _check_strata(labels, sizes)
    return y, labels, sizes


def _check_strata(labels: np.ndarray, sizes: Mapping[str, int]) -> None:
    unknown = sorted(set(labels) - set(sizes))
    if unknown:
        raise InputError(f"strata {unknown} have sampled units but no population size; give them")
    empty = [h for h in sizes if not (labels == h).any()]
    if empty:
        raise EstimationError(
            f"strata {empty} have no sampled unit: their total cannot be extrapolated; sample "
            "them or merge them with a similar stratum"
        )
    for h, n in sizes.items():
        if int((labels == h).sum()) > n:
            raise InputError(f"stratum {h}: more sampled units than units in the population ({n})")


def _audit_inputs(
    volunteer: Sequence[float] | np.ndarray,
    expert: Sequence[float] | np.ndarray,
    weights: Sequence[float] | np.ndarray | None,
    strata: Sequence[str] | np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    v, e = np.asarray(volunteer, dtype=float), np.asarray(expert, dtype=float)
    if v.shape != e.shape or v.ndim != 1 or len(v) == 0:
        raise InputError("volunteer and expert counts must be equal-length lists, one per unit")
    if (v < 0).any() or (e < 0).any() or not (np.isfinite(v).all() and np.isfinite(e).all()):
        raise InputError("audit counts must be non-negative numbers")
    w = np.ones_like(v) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != v.shape or (w <= 0).any():
        raise InputError("audit weights must be positive, one per audited unit")
    s = np.zeros(len(v), dtype=object) if strata is None else np.asarray(strata, dtype=object)
    if len(s) != len(v):
        raise InputError(f"{len(v)} audited units but {len(s)} stratum labels")
    return v, e, w, s


def _check_level(level: float, n_boot: int) -> None:
    if not 0 < level < 1:
        raise InputError(f"level must lie between 0 and 1 (e.g. 0.95), got {level}")
    if n_boot < 100:
        raise InputError(f"use at least 100 bootstrap replicates, got {n_boot}")
