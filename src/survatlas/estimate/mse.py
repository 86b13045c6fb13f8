"""Multiple systems estimation (three or more lists): Poisson log-linear models.

For ``J`` lists each of the ``2**J − 1`` observable capture patterns has a count; a Poisson
log-linear model with main effects (independence) and optionally two-way interaction terms (list
dependence) is fitted to those cells and extrapolated to the missing all-zero cell:
``N̂ = n_observed + exp(intercept)`` (Fienberg 1972; Bishop, Fienberg & Holland 1975).

Model selection is a bidirectional stepwise search by AIC or BIC starting from independence, as in
Silverman (2014); interaction terms whose maximum-likelihood estimate does not exist (lists that
share no record, or sparser patterns) are never entered. The interval is the multinomial profile
likelihood interval for ``N`` (Cormack 1992), or a parametric bootstrap on request.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from survatlas.errors import EstimationError, InputError
from survatlas.estimate._glm import PoissonFit, deviance, fit_poisson, mle_exists
from survatlas.estimate.histories import CaptureTable
from survatlas.estimate.result import (
    CLOSED_POPULATION,
    HOMOGENEITY,
    LIST_INDEPENDENCE,
    PERFECT_MATCHING,
    Estimate,
)

Pair = tuple[int, int]

SPARSE_CELL = 5  # cells below this count make the table "sparse"
SMALL_OVERLAP = 5  # pairs of lists sharing fewer records "barely overlap"
DISAGREEMENT_RATIO = 1.5  # max/min n_hat across examined models that triggers a warning
SUPPORTED_DELTA = 4.0  # models within this many criterion units of the best are "supported"
SUPPORTED_RATIO = 1.2  # max/min n_hat across supported models that triggers a warning
SELECTIONS = ("independence", "aic", "bic", "pairwise")


@dataclass(frozen=True)
class ModelFit:
    """One fitted log-linear model.

    Attributes
    ----------
    pairs : tuple of (int, int)
        Two-way interaction terms (list column indexes).
    terms : list of str
        Human-readable terms: main effects then ``"A:B"`` interactions.
    n0 : float
        Estimated records seen by no list.
    n_hat : float
        Estimated total ``n_observed + n0``.
    loglik, aic, bic, deviance : float
        Fit statistics on the observed cells (BIC uses ``log(n_observed)``).
    df : int
        Residual degrees of freedom (observable cells minus parameters).
    p_value : float
        Deviance goodness-of-fit p-value (χ² on ``df``; unreliable in sparse tables).
    """

    pairs: tuple[Pair, ...]
    terms: list[str]
    n0: float
    n_hat: float
    loglik: float
    aic: float
    bic: float
    deviance: float
    df: int
    p_value: float
    fit: PoissonFit

    def summary(self) -> dict[str, object]:
        """Plain dictionary of the model's terms and figures."""
        return {
            "terms": self.terms,
            "n_hat": self.n_hat,
            "aic": self.aic,
            "bic": self.bic,
            "deviance": self.deviance,
            "df": self.df,
        }


def design(patterns: np.ndarray, pairs: Sequence[Pair]) -> np.ndarray:
    """Design matrix: intercept, one main effect per list, one column per interaction pair."""
    p = np.asarray(patterns, dtype=float)
    cols = [np.ones(len(p)), *p.T, *(p[:, a] * p[:, b] for a, b in pairs)]
    return np.column_stack(cols)


def term_names(lists: Sequence[str], pairs: Sequence[Pair]) -> list[str]:
    """Main effects then ``"A:B"`` interaction names."""
    return [*lists, *(f"{lists[a]}:{lists[b]}" for a, b in pairs)]


def fit_model(table: CaptureTable, pairs: Sequence[Pair] = ()) -> ModelFit | None:
    """Fit the log-linear model with main effects and ``pairs``; ``None`` if it has no finite MLE.

    Parameters
    ----------
    table : CaptureTable
        Observed capture-pattern counts.
    pairs : sequence of (int, int)
        Two-way interaction terms to include.
    """
    pairs = tuple(sorted((min(a, b), max(a, b)) for a, b in pairs))
    x = design(table.patterns, pairs)
    y = table.counts.astype(float)
    if x.shape[1] > len(y) or not mle_exists(x, y):
        return None
    fit = fit_poisson(x, y)
    if not fit.converged:
        return None
    n0 = float(math.exp(fit.beta[0]))
    k = x.shape[1]
    dev = deviance(y, fit.mu)
    df = len(y) - k
    return ModelFit(
        pairs=pairs,
        terms=term_names(table.lists, pairs),
        n0=n0,
        n_hat=table.n_observed + n0,
        loglik=fit.loglik,
        aic=-2 * fit.loglik + 2 * k,
        bic=-2 * fit.loglik + math.log(max(table.n_observed, 2)) * k,
        deviance=dev,
        df=df,
        p_value=float(stats.chi2.sf(dev, df)),
        fit=fit,
    )


def estimable_pairs(table: CaptureTable, min_overlap: int = 1) -> tuple[list[Pair], list[str]]:
    """Pairs of lists that share at least ``min_overlap`` records (others cannot be estimated)."""
    ok, excluded = [], []
    for a, b in itertools.combinations(range(table.n_lists), 2):
        if table.overlap(a, b) >= min_overlap:
            ok.append((a, b))
        else:
            excluded.append(f"{table.lists[a]}:{table.lists[b]}")
    return ok, excluded


def stepwise(
    table: CaptureTable,
    criterion: str = "aic",
    candidates: Sequence[Pair] | None = None,
) -> tuple[ModelFit, list[ModelFit]]:
    """Bidirectional stepwise search over two-way interactions, starting from independence.

    At each step the single addition or removal that lowers the criterion most is made; the search
    stops when no move lowers it. Models without a finite MLE are skipped.

    Returns
    -------
    tuple
        The selected model and every model examined (for the spread of estimates).
    """
    key = _criterion(criterion)
    cands = set(estimable_pairs(table)[0] if candidates is None else candidates)
    cache: dict[frozenset[Pair], ModelFit | None] = {}

    def get(pairs: frozenset[Pair]) -> ModelFit | None:
        if pairs not in cache:
            cache[pairs] = fit_model(table, sorted(pairs))
        return cache[pairs]

    current = get(frozenset())
    if current is None:
        raise EstimationError(
            "even the independence model cannot be fitted: a list may be empty or contain every "
            "record; check the capture histories"
        )
    while True:
        now = frozenset(current.pairs)
        moves = [now | {p} for p in cands - now] + [now - {p} for p in now]
        fits = [f for f in map(get, moves) if f is not None]
        best = min(fits, key=key, default=None)
        if best is None or key(best) >= key(current) - 1e-9:
            break
        current = best
    return current, [f for f in cache.values() if f is not None]


def mse(
    table: CaptureTable,
    model: str | Sequence[Pair] = "aic",
    level: float = 0.95,
    interval: str = "profile",
    n_boot: int = 1000,
    seed: int = 0,
) -> Estimate:
    """Estimate the total from three or more lists with a Poisson log-linear model.

    Parameters
    ----------
    table : CaptureTable
        Capture-pattern counts (at least three lists).
    model : str or sequence of (int, int)
        ``"independence"``, ``"aic"`` / ``"bic"`` (stepwise selection), ``"pairwise"`` (every
        estimable two-way term), a comma-separated string of terms such as ``"A:B,B:C"``, or
        explicit pairs of column indexes.
    level : float
        Confidence level.
    interval : {"profile", "bootstrap"}
        Multinomial profile likelihood (Cormack 1992) or parametric bootstrap (the model is held
        fixed in the bootstrap, so selection uncertainty is not included).
    n_boot : int
        Bootstrap replicates (``interval="bootstrap"`` only).
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    Estimate
        ``details["models"]`` lists every model examined in the stepwise search with its estimate;
        ``details["spread"]`` their range: never read ``n_hat`` without it.

    Examples
    --------
    >>> from survatlas.estimate import published_table
    >>> e = mse(published_table("kosovo"), model="aic")
    >>> e.details["spread"]["min"] <= e.n_hat <= e.details["spread"]["max"]
    True
    """
    _check_mse_inputs(table, level, interval)
    candidates, excluded = estimable_pairs(table)
    criterion = "bic" if model == "bic" else "aic"
    selected, examined = stepwise(table, criterion, candidates)
    chosen = _choose(table, model, selected, candidates)
    examined = _with(examined, chosen, fit_model(table, candidates), fit_model(table, ()))
    if interval == "profile":
        low, high = profile_interval(table, chosen.pairs, level)
        how = "multinomial profile likelihood for N (Cormack 1992)"
    else:
        low, high = bootstrap_interval(table, chosen, level, n_boot, seed)
        how = (
            f"parametric bootstrap of the error N̂* − N* (basic interval), model fixed, "
            f"{n_boot} replicates, seed {seed}"
        )
    return Estimate(
        method="Poisson log-linear multiple systems estimation",
        n_observed=table.n_observed,
        n_hat=chosen.n_hat,
        ci_low=low,
        ci_high=high,
        level=level,
        model=chosen.terms,
        assumptions=_assumptions(table, chosen),
        warnings=_warnings(table, chosen, examined, excluded, high, criterion),
        details=_details(table, model, criterion, chosen, examined, excluded, how),
    )


def profile_interval(
    table: CaptureTable, pairs: Sequence[Pair], level: float = 0.95
) -> tuple[float, float]:
    """Multinomial profile likelihood interval for ``N`` under a fixed model (Cormack 1992).

    For each candidate ``N`` the model is refitted to the complete table whose unobserved cell
    holds ``N − n``; the interval is where twice the drop in log-likelihood stays below the χ²₁
    quantile. The upper bound is ``inf`` when the likelihood never falls that far.
    """
    n = table.n_observed
    prof = _Profile(table, pairs)
    crit = float(stats.chi2.ppf(level, 1))
    fitted = fit_model(table, pairs)
    if fitted is None:
        raise EstimationError("the model has no finite estimate for these capture histories")
    top = optimize.minimize_scalar(
        lambda v: -prof(v), bounds=(n, n + 4 * fitted.n0 + 10), method="bounded"
    )
    n_max, l_max = float(top.x), max(-float(top.fun), prof(fitted.n_hat))

    def gap(v: float) -> float:
        return 2 * (l_max - prof(v)) - crit

    low = float(n) if gap(n) <= 0 else optimize.brentq(gap, n, n_max, xtol=1e-6)
    step = max(fitted.n0, 10.0)
    while gap(n_max + step) < 0:
        step *= 2
        if step > 1e4 * max(n, 1):
            return low, math.inf
    high = optimize.brentq(gap, n_max, n_max + step, xtol=1e-6)
    return low, high


def bootstrap_interval(
    table: CaptureTable, fitted: ModelFit, level: float, n_boot: int, seed: int
) -> tuple[float, float]:
    """Parametric bootstrap interval for ``N`` with the model held fixed.

    Complete tables (observed cells and the unseen cell) are drawn from the fitted model; the
    model is refitted to each draw's observed cells and the error ``N̂* − N*`` recorded; the
    interval is ``N̂`` minus the error's upper and lower quantiles (basic bootstrap).
    """
    rng = np.random.default_rng(seed)
    mu = fitted.fit.mu
    errors = []
    for _ in range(n_boot):
        y = rng.poisson(mu)
        unseen = rng.poisson(fitted.n0)
        refit = fit_model(CaptureTable(table.lists, table.patterns, y), fitted.pairs)
        if refit is not None:
            errors.append(refit.n0 - unseen)  # N̂* − N*: the estimate's error in that world
    if len(errors) < 0.9 * n_boot:
        raise EstimationError(
            f"the model could not be refitted in {n_boot - len(errors)} of {n_boot} bootstrap "
            "samples (too sparse); use the profile interval or a simpler model"
        )
    q_hi, q_lo = np.quantile(errors, [0.5 + level / 2, 0.5 - level / 2])
    return float(max(fitted.n_hat - q_hi, table.n_observed)), float(fitted.n_hat - q_lo)


class _Profile:
    """Profile multinomial log-likelihood of ``N`` for one model.

    Every fit starts cold: IRLS warm-started from a distant ``N`` can overshoot and stall.
    """

    def __init__(self, table: CaptureTable, pairs: Sequence[Pair]) -> None:
        full = np.vstack([np.zeros((1, table.n_lists), dtype=np.int8), table.patterns])
        self.x = design(full, pairs)
        self.y_obs = table.counts.astype(float)
        self.n = table.n_observed
        self.const = float(np.sum(special.gammaln(self.y_obs + 1)))

    def __call__(self, total: float) -> float:
        unseen = max(total - self.n, 0.0)
        y = np.concatenate([[unseen], self.y_obs])
        fit = fit_poisson(self.x, y)
        if not fit.converged:
            raise EstimationError(
                f"the profile likelihood cannot be evaluated at N = {total:,.0f} (the fit does not "
                "converge); use a simpler model or --interval bootstrap"
            )
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(y > 0, y * np.log(fit.mu / total), 0.0)
        return float(
            special.gammaln(total + 1) - special.gammaln(unseen + 1) - self.const + terms.sum()
        )


def parse_model(table: CaptureTable, spec: str | Sequence[Pair]) -> tuple[Pair, ...]:
    """Turn ``"A:B,C:D"`` (or index pairs) into column-index pairs, checking the names."""
    if not isinstance(spec, str):
        return tuple((int(a), int(b)) for a, b in spec)
    index = {n: i for i, n in enumerate(table.lists)}
    pairs = []
    for term in filter(None, (t.strip() for t in spec.split(","))):
        names = term.split(":")
        if len(names) != 2 or any(n not in index for n in names) or names[0] == names[1]:
            raise InputError(
                f"model term {term!r} is not a pair of list names; use one of "
                f"{', '.join(SELECTIONS)} or terms like {table.lists[0]}:{table.lists[1]}"
            )
        pairs.append((index[names[0]], index[names[1]]))
    return tuple(pairs)


def _choose(
    table: CaptureTable, model: str | Sequence[Pair], selected: ModelFit, candidates: list[Pair]
) -> ModelFit:
    if model in ("aic", "bic"):
        return selected
    pairs = {"independence": (), "pairwise": tuple(candidates)}.get(model)  # type: ignore[call-overload]
    if pairs is None:
        pairs = parse_model(table, model)
    fitted = fit_model(table, pairs)
    if fitted is None:
        raise EstimationError(
            f"the model {term_names(table.lists, pairs)} has no finite estimate for these data "
            "(an interaction between lists that barely overlap, or too many terms); "
            "choose fewer interaction terms or use --model aic"
        )
    return fitted


def _with(examined: list[ModelFit], *extra: ModelFit | None) -> list[ModelFit]:
    seen = {m.pairs: m for m in examined}
    for m in extra:
        if m is not None:
            seen.setdefault(m.pairs, m)
    return list(seen.values())


def _criterion(name: str) -> Callable[[ModelFit], float]:
    if name not in ("aic", "bic"):
        raise InputError(f"criterion must be 'aic' or 'bic', got {name!r}")
    return (lambda m: m.aic) if name == "aic" else (lambda m: m.bic)


def _assumptions(table: CaptureTable, chosen: ModelFit) -> list[str]:
    inter = chosen.terms[table.n_lists :]
    dependence = (
        LIST_INDEPENDENCE
        if not inter
        else "lists are independent apart from the modelled two-way interactions "
        f"({', '.join(inter)}); no three-way or higher dependence"
    )
    return [
        CLOSED_POPULATION,
        dependence,
        HOMOGENEITY + " (heterogeneity not captured by the interactions biases N̂, usually down)",
        PERFECT_MATCHING,
    ]


def _supported(examined: list[ModelFit], criterion: str) -> list[ModelFit]:
    """Models within :data:`SUPPORTED_DELTA` of the best criterion value."""
    key = _criterion(criterion)
    best = min(map(key, examined))
    return [m for m in examined if key(m) <= best + SUPPORTED_DELTA]


def _warnings(
    table: CaptureTable,
    chosen: ModelFit,
    examined: list[ModelFit],
    excluded: list[str],
    high: float,
    criterion: str,
) -> list[str]:
    out = []
    small = {k: v for k, v in table.pair_overlaps().items() if v < SMALL_OVERLAP}
    if small:
        pairs = ", ".join(f"{k} ({v})" for k, v in small.items())
        out.append(f"lists barely overlap (records in common): {pairs}")
    sparse = int((table.counts < SPARSE_CELL).sum())
    if sparse > len(table.counts) / 2:
        out.append(
            f"sparse table: {sparse} of {len(table.counts)} capture patterns have fewer than "
            f"{SPARSE_CELL} records; interaction estimates and the interval are unstable"
        )
    if excluded:
        out.append(f"interactions not estimable (lists share no record): {', '.join(excluded)}")
    lo, hi = min(m.n_hat for m in examined), max(m.n_hat for m in examined)
    if hi > DISAGREEMENT_RATIO * lo:
        out.append(
            f"models disagree widely: the {len(examined)} models examined give N̂ from "
            f"{lo:,.0f} to {hi:,.0f}"
        )
    near = _supported(examined, criterion)
    s_lo, s_hi = min(m.n_hat for m in near), max(m.n_hat for m in near)
    if s_hi > SUPPORTED_RATIO * s_lo:
        out.append(
            f"models the data support almost equally (within {SUPPORTED_DELTA:g} {criterion.upper()}"
            f" of the best) give N̂ from {s_lo:,.0f} to {s_hi:,.0f}: model uncertainty is not "
            "in the interval"
        )
    if chosen.df > 0 and chosen.p_value < 0.05:
        out.append(
            f"the model does not fit the observed patterns (G² = {chosen.deviance:.1f} on "
            f"{chosen.df} df, p = {chosen.p_value:.2g}): dependence or heterogeneity is left "
            "unmodelled"
        )
    if chosen.n0 > 2 * table.n_observed:
        out.append(
            "the estimated unseen records exceed twice those seen: the estimate extrapolates "
            "far beyond the data"
        )
    if not math.isfinite(high):
        out.append("the interval has no finite upper bound: the data cannot bound the total")
    return out


def _details(
    table: CaptureTable,
    model: str | Sequence[Pair],
    criterion: str,
    chosen: ModelFit,
    examined: list[ModelFit],
    excluded: list[str],
    how: str,
) -> dict[str, object]:
    key = _criterion(criterion)
    ranked = sorted(examined, key=key)
    return {
        "selection": model if isinstance(model, str) else "explicit",
        "criterion": criterion,
        "interval_method": how,
        "n_unseen": chosen.n0,
        "n_parameters": len(chosen.fit.beta),
        "aic": chosen.aic,
        "bic": chosen.bic,
        "deviance": chosen.deviance,
        "df": chosen.df,
        "gof_p_value": chosen.p_value,
        "lists": list(table.lists),
        "list_sizes": table.list_sizes(),
        "pair_overlaps": table.pair_overlaps(),
        "excluded_terms": excluded,
        "spread": _spread(ranked),
        "spread_supported": {**_spread(_supported(ranked, criterion)), "delta": SUPPORTED_DELTA},
        "models": [m.summary() for m in ranked],
    }


def _spread(models: list[ModelFit]) -> dict[str, float]:
    return {
        "min": min(m.n_hat for m in models),
        "max": max(m.n_hat for m in models),
        "n_models": len(models),
    }


def _check_mse_inputs(table: CaptureTable, level: float, interval: str) -> None:
    if table.n_lists < 3:
        raise InputError(
            "multiple systems estimation needs three or more lists; for two lists use the "
            "Chapman estimator (survatlas estimate two-list)"
        )
    if not 0 < level < 1:
        raise InputError(f"level must lie between 0 and 1 (e.g. 0.95), got {level}")
    if interval not in ("profile", "bootstrap"):
        raise InputError(f"interval must be 'profile' or 'bootstrap', got {interval!r}")
    if table.n_observed == 0:
        raise EstimationError("no records were observed on any list")
