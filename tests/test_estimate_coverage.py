"""Simulation: intervals cover a known total at close to their nominal rate."""

from __future__ import annotations

import numpy as np
import pytest

from survatlas.estimate import CaptureTable, chapman, mse

RUNS = 200
TRUE_N = 400
CAPTURE = (0.3, 0.25, 0.2)


def _histories(rng: np.random.Generator) -> np.ndarray:
    h = (rng.random((TRUE_N, len(CAPTURE))) < CAPTURE).astype(np.int8)
    return h[h.any(axis=1)]


@pytest.mark.slow
def test_mse_independence_profile_intervals_cover_true_n() -> None:
    rng = np.random.default_rng(20240501)
    covered = 0
    for _ in range(RUNS):
        table = CaptureTable.from_records(["A", "B", "C"], _histories(rng))
        est = mse(table, model="independence")
        covered += est.ci_low <= TRUE_N <= est.ci_high
    assert covered >= 0.9 * RUNS, f"coverage {covered}/{RUNS}"


def test_chapman_intervals_cover_true_n() -> None:
    rng = np.random.default_rng(7)
    covered = 0
    for _ in range(RUNS):
        h = _histories(rng)
        n1, n2 = int(h[:, 0].sum()), int(h[:, 1].sum())
        m = int((h[:, 0] & h[:, 1]).sum())
        est = chapman(n1, n2, m)
        covered += est.ci_low <= TRUE_N <= est.ci_high
    assert covered >= 0.9 * RUNS, f"coverage {covered}/{RUNS}"
