"""Monte Carlo composition of quantities given as ranges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas.errors import InputError
from survatlas.estimate import Quantity, compose


def test_one_in_twenty_comes_out_as_an_interval_with_sources() -> None:
    inputs = [
        Quantity("population", 25.5e6, 26.2e6, source="UN WPP 2024"),
        Quantity("enrolled", 1.1e6, 1.5e6, "triangular", source="programme report"),
    ]
    est = compose("enrolled / population", inputs, seed=1)
    assert 0.04 < est.ci_low < est.n_hat < est.ci_high < 0.06
    one_in = est.details["one_in"]
    assert one_in["low"] < one_in["one_in"] < one_in["high"]
    assert one_in["one_in"] == pytest.approx(1 / est.n_hat)
    assert [q["source"] for q in est.details["inputs"]] == ["UN WPP 2024", "programme report"]
    assert any("independent" in a for a in est.assumptions)
    assert est.warnings == []


def test_product_of_uniforms_matches_analytic_median() -> None:
    # median of U(0,1)·U(0,1) solves m(1 − ln m) = 1/2 → m ≈ 0.1867
    est = compose("a * b", [Quantity("a", 0, 1, source="s"), Quantity("b", 0, 1, source="s")])
    assert est.n_hat == pytest.approx(0.1867, abs=0.003)


def test_seeded_and_reproducible() -> None:
    q = [Quantity("x", 1, 2, "lognormal", source="s")]
    assert compose("x * 3", q, seed=4).ci_high == compose("x * 3", q, seed=4).ci_high


@settings(max_examples=30, deadline=None)
@given(low=st.floats(1, 1e6), width=st.floats(0, 1e6), k=st.floats(0.1, 100))
def test_scaling_a_fixed_range_stays_inside_it(low: float, width: float, k: float) -> None:
    est = compose(f"{k} * v", [Quantity("v", low, low + width, source="s")], n_draws=2000)
    assert (
        k * low * (1 - 1e-9)
        <= est.ci_low
        <= est.n_hat
        <= est.ci_high
        <= k * (low + width) * (1 + 1e-9)
    )


def test_missing_source_is_warned() -> None:
    est = compose("v", [Quantity("v", 1, 2)])
    assert any("no source" in w for w in est.warnings)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("v + w", "not a given quantity"),
        ("__import__('os')", "may only use"),
        ("v +", "cannot read"),
    ],
)
def test_only_arithmetic_is_evaluated(expr: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        compose(expr, [Quantity("v", 1, 2)])


def test_division_by_a_range_through_zero_is_refused() -> None:
    with pytest.raises(InputError, match="undefined"):
        compose("1 / v", [Quantity("v", 0, 0)])
    assert np.isfinite(compose("1 / v", [Quantity("v", 1, 2)]).n_hat)
