"""Log-linear multiple systems estimation on the published Kosovo and UK tables."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import optimize

from survatlas.errors import CorruptFileError, EstimationError, InputError
from survatlas.estimate import CaptureTable, fit_model, mse, stepwise
from survatlas.estimate.mse import design

DATA = Path(__file__).parent / "data"
KOSOVO_PUBLISHED = 10_356


@pytest.fixture(scope="module")
def kosovo() -> CaptureTable:
    return CaptureTable.from_csv(DATA / "kosovo-1999-4lists.csv")


@pytest.fixture(scope="module")
def uk() -> CaptureTable:
    return CaptureTable.from_csv(DATA / "uk-modern-slavery-2013-6lists.csv")


def test_tables_load_with_published_totals(kosovo: CaptureTable, uk: CaptureTable) -> None:
    assert kosovo.lists == ("EXH", "ABA", "OSCE", "HRW")
    assert kosovo.n_observed == 4400
    assert uk.n_observed == 2744
    assert uk.list_sizes() == {"LA": 94, "NG": 567, "PF": 1102, "GO": 807, "GP": 336, "NCA": 102}
    assert len(uk.counts) == 63 and int((uk.counts > 0).sum()) == 25


def test_irls_agrees_with_direct_likelihood_maximisation(kosovo: CaptureTable) -> None:
    pairs = [(0, 1), (0, 2), (1, 2), (2, 3)]
    fit = fit_model(kosovo, pairs)
    assert fit is not None
    x, y = design(kosovo.patterns, pairs), kosovo.counts.astype(float)

    def nll(b: np.ndarray) -> float:
        eta = x @ b
        return float(np.sum(np.exp(eta) - y * eta))

    def grad(b: np.ndarray) -> np.ndarray:
        return x.T @ (np.exp(x @ b) - y)

    start = np.r_[np.log(y.mean()), np.zeros(x.shape[1] - 1)]
    ref = optimize.minimize(nll, start, jac=grad, method="BFGS", options={"gtol": 1e-9})
    assert np.exp(ref.x[0]) == pytest.approx(fit.n0, rel=1e-4)


@pytest.mark.parametrize("model", ["independence", "aic", "bic", "pairwise"])
def test_kosovo_reports_method_model_and_interval(kosovo: CaptureTable, model: str) -> None:
    d = mse(kosovo, model=model).to_dict()
    assert "log-linear" in d["method"]
    assert d["model"][:4] == ["EXH", "ABA", "OSCE", "HRW"]
    assert d["n_observed"] == 4400
    assert 4400 <= d["ci_low"] < d["n_hat"] < d["ci_high"]
    assert "profile likelihood" in d["details"]["interval_method"]
    spread = d["details"]["spread"]
    assert spread["min"] <= d["n_hat"] <= spread["max"]


def test_kosovo_independence_falls_far_below_published(kosovo: CaptureTable) -> None:
    est = mse(kosovo, model="independence")
    assert est.ci_high < 0.8 * KOSOVO_PUBLISHED
    assert any("does not fit" in w for w in est.warnings)
    assert any("disagree" in w for w in est.warnings)
    # the spread across models examined straddles the published stratified figure
    assert est.details["spread"]["min"] < KOSOVO_PUBLISHED < est.details["spread"]["max"]


def test_uk_selected_model_lies_in_published_band(uk: CaptureTable) -> None:
    est = mse(uk, model="aic")
    assert 10_000 <= est.n_hat <= 13_000
    assert len(est.model) > 6  # interactions were selected
    assert "LA:GP" in est.details["excluded_terms"]
    assert "LA:NCA" in est.details["excluded_terms"]
    assert any("sparse" in w for w in est.warnings)
    assert any("barely overlap" in w for w in est.warnings)


def test_stepwise_choice_is_a_local_optimum(uk: CaptureTable) -> None:
    best, examined = stepwise(uk, "bic")
    now = set(best.pairs)
    for other in examined:
        if len(set(other.pairs) ^ now) == 1:
            assert other.bic >= best.bic - 1e-9


def test_profile_interval_widens_with_level(kosovo: CaptureTable) -> None:
    narrow = mse(kosovo, model="independence", level=0.8)
    wide = mse(kosovo, model="independence", level=0.99)
    assert wide.ci_low < narrow.ci_low < narrow.n_hat < narrow.ci_high < wide.ci_high


def test_bootstrap_interval_is_seeded_and_brackets(kosovo: CaptureTable) -> None:
    a = mse(kosovo, model="independence", interval="bootstrap", n_boot=200, seed=3)
    b = mse(kosovo, model="independence", interval="bootstrap", n_boot=200, seed=3)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    assert a.ci_low < a.n_hat < a.ci_high
    assert "bootstrap" in a.details["interval_method"]


def test_explicit_terms_and_unestimable_term(uk: CaptureTable) -> None:
    est = mse(uk, model="NG:PF,PF:GO")
    assert est.model[6:] == ["NG:PF", "PF:GO"]
    with pytest.raises(EstimationError, match="no finite estimate"):
        mse(uk, model="LA:GP")
    with pytest.raises(InputError, match="not a pair"):
        mse(uk, model="LA:XX")


def test_mse_needs_three_lists() -> None:
    table = CaptureTable.from_patterns(["A", "B"], [[1, 0], [0, 1], [1, 1]], [5, 6, 7])
    with pytest.raises(InputError, match="Chapman"):
        mse(table)


def test_csv_errors_say_what_is_wrong(tmp_path: Path) -> None:
    bad = tmp_path / "h.csv"
    bad.write_text("A,B,C,n\n1,0,0,3\n")
    with pytest.raises(CorruptFileError, match="count"):
        CaptureTable.from_csv(bad)
    bad.write_text("A,B,C,count\n2,0,0,3\n")
    with pytest.raises(CorruptFileError, match="0 and 1"):
        CaptureTable.from_csv(bad)
    bad.write_text("A,B,C,count\n0,0,0,3\n")
    with pytest.raises(CorruptFileError, match="no list"):
        CaptureTable.from_csv(bad)


def test_csv_round_trip(uk: CaptureTable, tmp_path: Path) -> None:
    path = tmp_path / "uk.csv"
    uk.to_csv(path)
    again = CaptureTable.from_csv(path)
    assert again.lists == uk.lists
    assert np.array_equal(again.counts, uk.counts)


@pytest.mark.parametrize("model", ["aic", "pairwise"])
def test_profile_endpoints_sit_on_the_likelihood_ratio_cutoff(uk: CaptureTable, model: str) -> None:
    from scipy import stats

    from survatlas.estimate.mse import _Profile

    est = mse(uk, model=model)
    pairs = [tuple(uk.lists.index(n) for n in t.split(":")) for t in est.model[6:]]
    prof = _Profile(uk, pairs)
    grid = np.linspace(est.ci_low, est.ci_high, 41)
    top = max(prof(v) for v in grid)
    cutoff = stats.chi2.ppf(0.95, 1)
    assert 2 * (top - prof(est.ci_low)) == pytest.approx(cutoff, abs=0.02)
    assert 2 * (top - prof(est.ci_high)) == pytest.approx(cutoff, abs=0.02)
    assert np.isfinite(est.ci_high)


def test_packaged_tables_equal_test_tables() -> None:
    from survatlas.estimate import published_table

    for name, file in [
        ("kosovo", "kosovo-1999-4lists.csv"),
        ("uk", "uk-modern-slavery-2013-6lists.csv"),
    ]:
        packaged = published_table(name)
        ours = CaptureTable.from_csv(DATA / file)
        assert packaged.lists == ours.lists
        assert np.array_equal(packaged.counts, ours.counts)
