"""Promise 4 (continued): one gate; aggregates coarsen sensitive locations to a grid."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from security_builders import CANARY_LAT, CANARY_LON, build_pair, set_key
from survatlas.errors import InputError
from survatlas.geo import haversine_m
from survatlas.store import Store
from survatlas.store.gate import DEFAULT_GRID_M, grid_counts, read_layer, snap_to_grid, visible


@settings(max_examples=200)
@given(
    lon=st.floats(-179.9, 179.9),
    lat=st.floats(-80, 80),
    grid=st.sampled_from([50.0, 250.0, 1000.0]),
)
def test_snapping_moves_a_point_at_most_half_a_cell_diagonal(lon, lat, grid):
    x, y = snap_to_grid(lon, lat, grid)
    moved = float(haversine_m(np.array(lon), np.array(lat), x, y))
    assert moved <= grid / math.sqrt(2) * 1.01 + 0.5


@given(lon=st.floats(-179, 179), lat=st.floats(-80, 80))
def test_snapping_is_deterministic_and_idempotent(lon, lat):
    x, y = snap_to_grid(lon, lat)
    x2, y2 = snap_to_grid(x, y)
    assert (float(x), float(y)) == pytest.approx((float(x2), float(y2)), abs=1e-9)


def test_nearby_points_in_one_cell_become_indistinguishable():
    lons = CANARY_LON + np.array([0.0, 0.00001, -0.00001])
    lats = CANARY_LAT + np.array([0.0, 0.00001, 0.0])
    x, y = snap_to_grid(lons, lats, DEFAULT_GRID_M)
    assert len(set(zip(x.round(9), y.round(9), strict=True))) == 1


def test_grid_must_be_positive():
    with pytest.raises(InputError):
        snap_to_grid(0.0, 0.0, 0.0)


@pytest.fixture(scope="module")
def canary_db(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    set_key(mp)
    try:
        yield build_pair(tmp_path_factory.mktemp("gate"))[1]
    finally:
        mp.undo()


def test_public_aggregates_count_only_public_records(canary_db):
    with Store(canary_db) as store:
        public = grid_counts(store)
        restricted = grid_counts(store, audience="restricted")
    assert public["total"] == 3
    assert restricted["total"] == 5  # + the canary contribution accepted as restricted


def test_restricted_aggregates_never_show_the_exact_place(canary_db):
    with Store(canary_db) as store:
        cells = grid_counts(store, audience="confidential", grid_m=250)["cells"]
    for cell in cells:
        assert (cell["lon"], cell["lat"]) != pytest.approx((CANARY_LON, CANARY_LAT), abs=1e-5)
    near = [
        c
        for c in cells
        if abs(c["lon"] - CANARY_LON) < 0.005 and abs(c["lat"] - CANARY_LAT) < 0.005
    ]
    # the confidential and the restricted camera, and the contribution accepted as restricted
    assert sum(c["count"] for c in near) == 3


def test_coarsened_layer_keeps_public_geometry_and_snaps_the_rest(canary_db):
    with Store(canary_db) as store:
        exact = read_layer(store, "sites", audience="confidential")
        coarse = read_layer(store, "sites", audience="confidential", coarsen_m=250)
    for sens, g_exact, g_coarse in zip(
        exact["sensitivity"], exact.geometry, coarse.geometry, strict=True
    ):
        if sens == "public":
            assert shapely.equals(g_exact, g_coarse)
        else:
            assert g_coarse.geom_type == "Point"
            assert not shapely.equals(g_exact, g_coarse)


def test_visibility_table():
    assert visible("public") and not visible("restricted") and not visible("confidential")
    assert visible("restricted", "restricted") and not visible("confidential", "restricted")
    with pytest.raises(InputError):
        visible("public", "everyone")
