"""The kernel against the naive shapely oracle on real OSM buildings and a generated city."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from survatlas.coverage import oracle_visibility, prepare_obstacles, visibility
from survatlas.synth import synth_city
from visibility_scenes import ious, read_osm_buildings, street_points

# (direction policy, fov, range): directed narrow, directed wide and long, all-round
VIEWS = [("random", 60.0, 50.0), ("random", 90.0, 100.0), ("none", 360.0, 50.0)]


@pytest.fixture(scope="module", params=["helsinki_pbf", "monaco_pbf"])
def osm_scene(request):
    polys, cams = read_osm_buildings(request.getfixturevalue(request.param))
    obs = prepare_obstacles(polys)
    rng = np.random.default_rng(7)
    # every mapped camera (many sit on or inside footprints) plus points in the streets
    pts = np.vstack([cams[:60], street_points(obs.polygons, 60, rng)])
    return obs, pts, rng.uniform(0, 360, len(pts))


def _compare(obs, pts, bearings, policy, fov, radius):
    direction = bearings if policy == "random" else np.full(len(pts), np.nan)
    reg = visibility(obs, pts[:, 0], pts[:, 1], direction, fov, radius)
    ok = reg.status < 2
    oracle = oracle_visibility(obs, reg.x[ok], reg.y[ok], direction[ok], fov, radius)
    return reg, ious(reg.to_polygons()[ok], oracle)


@pytest.mark.parametrize(("policy", "fov", "radius"), VIEWS)
def test_kernel_matches_oracle_on_osm_buildings(osm_scene, policy, fov, radius):
    obs, pts, bearings = osm_scene
    _reg, got = _compare(obs, pts, bearings, policy, fov, radius)
    assert got.size >= 0.8 * len(pts)
    assert got.mean() >= 0.995 and got.min() >= 0.98


def test_cameras_reported_inside_really_are(osm_scene):
    obs, pts, bearings = osm_scene
    reg = visibility(obs, pts[:, 0], pts[:, 1], bearings, 60.0, 50.0)
    inside = np.flatnonzero(reg.status == 2)
    tree = shapely.STRtree(obs.polygons)
    hit = tree.query(shapely.points(pts[inside]), predicate="within")[0]
    assert np.array_equal(np.unique(hit), np.arange(inside.size))
    moved = reg.status == 1
    assert not shapely.STRtree(obs.polygons).query(
        shapely.points(reg.x[moved], reg.y[moved]), predicate="within").size


def test_kernel_matches_oracle_on_a_generated_city():
    city = synth_city(700, 700, seed=3, n_cameras=120)
    obs = prepare_obstacles(city.buildings)
    x, y = city.camera_xy()
    d = np.array([c.get("direction", np.nan) for c in city.cameras])
    for fov, radius in ((60.0, 50.0), (90.0, 100.0)):
        f = np.where(np.isnan(d), 360.0, fov)
        reg = visibility(obs, x, y, d, f, radius)
        ok = reg.status < 2
        got = ious(reg.to_polygons()[ok], oracle_visibility(obs, reg.x[ok], reg.y[ok], d[ok],
                                                            f[ok], radius))
        assert ok.all()  # generated cameras stand in front of façades
        assert got.mean() >= 0.995 and got.min() >= 0.98
