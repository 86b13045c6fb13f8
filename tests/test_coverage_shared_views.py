"""Scenario-levels with identical views share one computation, and give the figures each would
give computed alone (a listed range that caps every DORI distance makes all levels alike)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from survatlas.coverage.analysis import LEVELS, SCENARIOS, Settings, analyse
from survatlas.coverage.scale import synthetic_inputs
from survatlas.synth import synth_city


@pytest.fixture(scope="module")
def city():
    return synth_city(400, 400, seed=5, n_cameras=40)


def _capped(inputs, range_m: float):
    devices = inputs.devices.copy()
    devices["range_m"] = range_m  # shorter than every level's DORI distance
    devices["fov_deg"] = 60.0
    return dataclasses.replace(inputs, devices=devices)


def _figures(lr) -> tuple:
    return (lr.street_in_view_m.tolist(), lr.street_cameras.tolist(), lr.h3,
            [s["in_view_m2"] for s in lr.sites], lr.areas)


def test_identical_views_are_computed_once_with_each_levels_figures(city):
    inputs = _capped(synthetic_inputs(city), 12.0)
    # 2-D: every scenario sees the same walls (in 2.5-D the scenarios' building heights differ)
    two_d = Settings(levels=LEVELS, scenarios=SCENARIOS, cell_m=2.0, occlusion="2d")
    full = analyse(inputs, two_d)
    first = full.levels[SCENARIOS[0], LEVELS[0]]
    assert len(full.levels) == len(LEVELS) * len(SCENARIOS)
    assert all(lr.regions is first.regions for lr in full.levels.values())
    # ... and combined once: the street and H3 figures are the same objects too
    assert all(lr.street_in_view_m is first.street_in_view_m and lr.h3 is first.h3
               for lr in full.levels.values())
    assert first.street_in_view_m.sum() > 0
    for scenario, level in [(SCENARIOS[-1], LEVELS[-1]), ("typical", "detection")]:
        alone = analyse(inputs, dataclasses.replace(two_d, levels=(level,), scenarios=(scenario,)))
        assert _figures(full.levels[scenario, level]) == _figures(alone.levels[scenario, level])
        assert full.summary["by_scenario"][scenario][level] == \
            alone.summary["by_scenario"][scenario][level]


def test_different_views_are_not_shared(city):
    inputs = synthetic_inputs(city)  # no listed range: each level its own DORI distance
    full = analyse(inputs, Settings(levels=LEVELS, scenarios=("typical",), cell_m=2.0))
    regions = [full.levels["typical", lv].regions for lv in LEVELS]
    assert len({id(r) for r in regions}) == len(LEVELS)
    radii = [float(np.max(r.radius)) for r in regions]
    assert len(set(radii)) == len(LEVELS)
