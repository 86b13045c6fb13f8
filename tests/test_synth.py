"""Synthetic city generator: densities, validity, reproducibility, camera mappings."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from survatlas import optics
from survatlas.errors import InputError
from survatlas.synth import synth_city


@pytest.fixture(scope="module")
def city():
    return synth_city(2000, 1500, seed=11)


def test_building_density_is_realistic(city):
    density = len(city.buildings) / city.area_km2
    assert 1375 * 0.85 < density < 1375 * 1.15
    rings = 1 + shapely.get_num_interior_rings(city.buildings)
    edges = shapely.get_num_coordinates(city.buildings) - rings  # closing points repeat
    assert 4.0 < edges.mean() < 5.5  # published ≈ 4.6 edges per building


def test_buildings_are_valid_and_do_not_overlap(city):
    b = city.buildings
    assert shapely.is_valid(b).all() and (shapely.area(b) > 10).all()
    a, c = shapely.STRtree(b).query(b, predicate="intersects")
    pair = a < c
    overlap = shapely.area(shapely.intersection(b[a[pair]], b[c[pair]]))
    assert overlap.max(initial=0) < 1e-6
    assert pair.sum() > 0.2 * len(b)  # many party walls (touching neighbours)
    assert (shapely.get_num_interior_rings(b) > 0).any()  # some courtyards


def test_streets_separate_buildings(city):
    assert not shapely.intersects(city.streets[:, None], city.buildings[None, :200]).any()
    assert set(city.street_highway) == {"primary", "residential"}


def test_camera_rate_per_street_km(city):
    rate = len(city.cameras) / city.street_km
    assert rate == pytest.approx(0.5, abs=0.05)
    assert len(synth_city(500, 500, seed=1, n_cameras=37).cameras) == 37


def test_cameras_stand_outside_buildings(city):
    x, y = city.camera_xy()
    inside = shapely.STRtree(city.buildings).query(shapely.points(x, y), predicate="within")
    assert inside.size == 0


def test_same_seed_same_city_other_seed_other_city():
    a, b, c = synth_city(600, 600, seed=5), synth_city(600, 600, seed=5), synth_city(600, 600,
                                                                                     seed=6)
    assert shapely.equals(a.buildings, b.buildings).all() and a.cameras == b.cameras
    assert len(a.buildings) != len(c.buildings) or not shapely.equals(a.buildings,
                                                                      c.buildings).all()


def test_cameras_feed_optics(city):
    geoms = [optics.camera_geometry(c) for c in city.cameras]
    assert any(g.direction_assumed for g in geoms)
    assert any(g.views and g.views[0].direction_deg is not None for g in geoms)
    cam, _d, _f, r = optics.expand_views(geoms, "observation")
    assert len(cam) >= len(city.cameras) and (r > 0).all()


def test_local_crs_anchor_round_trip(city):
    lon, lat = city.to_lonlat(np.array([0.0, 1000.0]), np.array([0.0, 0.0]))
    assert (lon[0], lat[0]) == pytest.approx(city.anchor_lonlat)
    assert lon[1] > lon[0] and lat[1] == pytest.approx(lat[0], abs=1e-3)


def test_bad_arguments_raise_input_error():
    with pytest.raises(InputError):
        synth_city(-1, 100)
    with pytest.raises(InputError):
        synth_city(100, 100, n_cameras=-3)
