"""Two-list capture–recapture: published trout example and interval invariants."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survatlas.errors import EstimationError, InputError
from survatlas.estimate import chapman, fit_model, lincoln_petersen
from survatlas.estimate.histories import CaptureTable


def test_trout_lincoln_petersen_is_1000() -> None:
    est = lincoln_petersen(100, 100, 10)
    assert est.n_hat == pytest.approx(1000)
    assert est.details["variance"] == pytest.approx(100 * 100 * 90 * 90 / 10**3)


def test_trout_chapman_is_926_36() -> None:
    est = chapman(100, 100, 10)
    assert round(est.n_hat, 2) == 926.36
    assert est.details["variance"] == pytest.approx(101 * 101 * 90 * 90 / (11**2 * 12))


def test_result_states_method_assumptions_and_interval() -> None:
    d = chapman(100, 100, 10).to_dict()
    assert d["method"] == "Chapman"
    assert d["n_observed"] == 190
    assert d["ci_low"] < d["n_hat"] < d["ci_high"]
    assert any("closed population" in a for a in d["assumptions"])
    assert any("independence" in a for a in d["assumptions"])


def test_lincoln_petersen_refuses_zero_overlap_chapman_does_not() -> None:
    with pytest.raises(EstimationError, match="Chapman"):
        lincoln_petersen(10, 12, 0)
    est = chapman(10, 12, 0)
    assert est.n_hat == pytest.approx(11 * 13 - 1)
    assert any("barely overlap" in w for w in est.warnings)


@pytest.mark.parametrize(("n1", "n2", "m"), [(5, 5, 6), (-1, 3, 0), (3.5, 3, 1)])
def test_impossible_counts_are_input_errors(n1: float, n2: float, m: float) -> None:
    with pytest.raises(InputError):
        chapman(n1, n2, m)  # type: ignore[arg-type]


@given(
    n1=st.integers(1, 2000),
    n2=st.integers(1, 2000),
    frac=st.floats(0, 1),
    level=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_interval_brackets_estimate_and_respects_observed(
    n1: int, n2: int, frac: float, level: float
) -> None:
    m = round(frac * min(n1, n2))
    est = chapman(n1, n2, m, level)
    assert est.n_observed == n1 + n2 - m
    assert est.n_observed <= est.ci_low + 1e-9
    assert est.ci_low <= max(est.n_hat, est.n_observed) + 1e-9 <= est.ci_high + 2e-9


@given(n10=st.integers(1, 500), n01=st.integers(1, 500), n11=st.integers(1, 500))
def test_log_linear_independence_on_two_lists_is_lincoln_petersen(
    n10: int, n01: int, n11: int
) -> None:
    table = CaptureTable.from_patterns(["A", "B"], [[1, 0], [0, 1], [1, 1]], [n10, n01, n11])
    fit = fit_model(table, ())
    assert fit is not None
    n1, n2 = n10 + n11, n01 + n11
    assert fit.n_hat == pytest.approx(lincoln_petersen(n1, n2, n11).n_hat, rel=1e-7)
    assert math.isclose(fit.n0, n10 * n01 / n11, rel_tol=1e-7)
