"""Sample-based extrapolation and audit correction."""

from __future__ import annotations

import numpy as np
import pytest

from survatlas.errors import EstimationError, InputError
from survatlas.estimate import Estimate, audit_correct, stratified_total


def _city(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """2,000 intersections: a dense centre (mean 4 cameras) and a sparse rest (mean 0.5)."""
    strata = np.array(["centre"] * 400 + ["rest"] * 1600)
    counts = np.where(strata == "centre", rng.poisson(4, 2000), rng.poisson(0.5, 2000))
    return counts, strata


def test_census_gives_exact_total() -> None:
    counts = np.array([0, 3, 1, 2, 5])
    est = stratified_total(counts, 5)
    assert est.n_hat == pytest.approx(11)
    assert est.details["standard_error"] == pytest.approx(0)


def test_stratified_total_matches_hand_formula() -> None:
    est = stratified_total([1, 3, 0, 0, 2], {"a": 10, "b": 100}, ["a", "a", "b", "b", "b"])
    assert est.n_hat == pytest.approx(10 * 2 + 100 * (2 / 3))
    assert est.ci_low <= est.n_hat <= est.ci_high
    assert est.details["strata"]["a"] == {"units": 10, "sampled": 2, "mean": 2.0}


def test_stratified_intervals_cover_true_city_total() -> None:
    rng = np.random.default_rng(5)
    covered, runs = 0, 100
    for _ in range(runs):
        counts, strata = _city(rng)
        pick = np.r_[rng.choice(400, 60, replace=False), 400 + rng.choice(1600, 60, replace=False)]
        est = stratified_total(
            counts[pick], {"centre": 400, "rest": 1600}, strata[pick], n_boot=500, seed=1
        )
        covered += est.ci_low <= counts.sum() <= est.ci_high
    assert covered >= 0.88 * runs


def test_audit_correction_scales_by_expert_ratio() -> None:
    rng = np.random.default_rng(2)
    survey = stratified_total(rng.poisson(2, 300), 3000, n_boot=500)
    volunteer = rng.poisson(3, 104)
    expert = volunteer * 2 + rng.poisson(1, 104)
    est = audit_correct(survey, volunteer, expert, n_boot=500)
    ratio = expert.sum() / volunteer.sum()
    assert est.n_hat == pytest.approx(survey.n_hat * ratio)
    assert est.ci_low < est.n_hat < est.ci_high
    assert est.details["ratio_interval"][0] < ratio < est.details["ratio_interval"][1]
    assert (est.ci_high - est.ci_low) / est.n_hat > (survey.ci_high - survey.ci_low) / survey.n_hat
    assert any("expert counts" in a for a in est.assumptions)


def test_audit_weights_change_the_ratio() -> None:
    total = Estimate("given", 100, 100.0, 90.0, 110.0, 0.95)
    plain = audit_correct(total, [1, 1], [1, 3], n_boot=200)
    weighted = audit_correct(total, [1, 1], [1, 3], weights=[3, 1], n_boot=200)
    assert plain.n_hat == pytest.approx(200)
    assert weighted.n_hat == pytest.approx(100 * (3 + 3) / 4)
    assert any("fragile" in w for w in plain.warnings)


def test_sampling_errors_say_what_to_do() -> None:
    with pytest.raises(EstimationError, match="no sampled unit"):
        stratified_total([1, 2], {"a": 5, "b": 5}, ["a", "a"])
    with pytest.raises(InputError, match="no population size"):
        stratified_total([1, 2], {"a": 5}, ["a", "c"])
    with pytest.raises(InputError, match="more sampled units"):
        stratified_total([1, 2, 3], 2)
    total = Estimate("given", 10, 10.0, 9.0, 11.0, 0.95)
    with pytest.raises(EstimationError, match="ratio is undefined"):
        audit_correct(total, [0, 0], [1, 1])
