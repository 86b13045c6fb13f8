"""`survatlas coverage --occlusion 2d|2.5d` end to end: a camera on a pole over a low wall."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from click.testing import CliRunner
from pyproj import Transformer
from shapely.geometry import LineString, box

from builders import write_csv
from survatlas.cli import main
from survatlas.coverage.analysis import Settings, analyse
from survatlas.coverage.results import latest_summary
from survatlas.coverage.scale import synthetic_inputs
from survatlas.errors import InputError
from survatlas.ingest import import_cameras, import_layer
from survatlas.store import Store
from survatlas.synth import synth_city

LON, LAT = 24.94, 60.17
EYE, WALL, RANGE = 6.0, 2.0, 60.0


def _lonlat(geom):
    tr = Transformer.from_crs(f"+proj=aeqd +lat_0={LAT} +lon_0={LON} +units=m", "EPSG:4326",
                              always_xy=True)
    return shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture(scope="module")
def wall_store(tmp_path_factory):
    """A camera 6 m up looking east along a footway, a 2 m wall 10–12 m away, a tower at 45 m."""
    d = tmp_path_factory.mktemp("w")
    gpd.GeoDataFrame({"height": [WALL, 30.0], "building": ["wall", "yes"]},
                     geometry=[_lonlat(box(10, -5, 12, 5)), _lonlat(box(45, -8, 60, 8))],
                     crs="EPSG:4326").to_file(d / "b.geojson")
    gpd.GeoDataFrame({"highway": ["footway"]}, geometry=[_lonlat(LineString([(0.5, 0), (80, 0)]))],
                     crs="EPSG:4326").to_file(d / "s.geojson")
    cams = [{"id": "pole", "lat": LAT, "lon": LON, "direction": "90", "fov_deg": "60",
             "range_m": str(RANGE), "height_m": str(EYE)}]
    path = d / "w.db"
    with Store(path) as store:
        import_layer(store, d / "b.geojson", "buildings")
        import_layer(store, d / "s.geojson", "streets")
        import_cameras(store, write_csv(d / "c.csv", cams))
    return path


def _run(path, *args):
    result = CliRunner().invoke(main, ["--db", str(path), "coverage", "--scenario", "typical",
                                       "--level", "detection", "--cell", "1", "--json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_pole_camera_sees_the_street_beyond_a_low_wall(wall_store):
    flat = _run(wall_store, "--occlusion", "2d")
    high = _run(wall_store, "--occlusion", "2.5d")
    seen2 = flat["by_scenario"]["typical"]["detection"]["street_in_view_m"]
    seen25 = high["by_scenario"]["typical"]["detection"]["street_in_view_m"]
    # 2-D: the footway up to the wall; 2.5-D: also from the wall's shadow end 12·6/(6−2) = 18 m
    # to the tower at 45 m (the slant range 60 m reaches 59.7 m on the ground, beyond the tower)
    assert seen2 == pytest.approx(10 - 0.5, abs=0.1)
    assert seen25 == pytest.approx((10 - 0.5) + (45 - 18), abs=0.2)
    assert (flat["occlusion"], high["occlusion"]) == ("2d", "2.5d")
    assert high["heights"]["buildings_height_tagged"] == 2
    assert high["heights"]["cameras_height_assumed"] == 0
    assert "2.5-D" in high["method"] and any("2.5-D" in a for a in high["assumptions"])
    with Store(wall_store) as store:
        assert latest_summary(store)["occlusion"] == "2.5d"


def test_dask_engine_gives_the_local_2_5d_figures(wall_store):
    local = _run(wall_store, "--occlusion", "2.5d")
    result = CliRunner().invoke(main, ["--db", str(wall_store), "coverage", "--engine", "dask",
                                       "--workers", "1", "--scenario", "typical", "--level",
                                       "detection", "--cell", "1", "--json", "--occlusion",
                                       "2.5d"])
    assert result.exit_code == 0, result.output
    tiled = json.loads(result.stdout)
    a, b = (s["by_scenario"]["typical"]["detection"] for s in (local, tiled))
    assert b["street_in_view_m"] == pytest.approx(a["street_in_view_m"], abs=1e-6)
    assert b["land_in_view_share"] == pytest.approx(a["land_in_view_share"], abs=1e-9)
    flat = _run(wall_store, "--occlusion", "2d")["by_scenario"]["typical"]["detection"]
    assert b["street_in_view_m"] > flat["street_in_view_m"]  # the street beyond the wall
    with pytest.raises(InputError, match="occlusion"):
        Settings(occlusion="3d").check()


def test_tiled_2_5d_equals_local_on_a_city(tmp_path):
    from survatlas.coverage.scale import analyse_tiled

    city = synth_city(600, 600, seed=4, n_cameras=120)
    inputs = synthetic_inputs(city)
    n = len(inputs.buildings)
    inputs.building_attrs = pd.DataFrame({
        "building": ["yes"] * n, "height_m": np.nan,
        "levels": np.random.default_rng(4).choice([1.0, 2.0, 5.0], n), "min_height_m": np.nan})
    settings = Settings(scenarios=("typical",), levels=("detection",), cell_m=2.0,
                        occlusion="2.5d")
    local = analyse(inputs, settings).summary["by_scenario"]["typical"]["detection"]
    tiled = analyse_tiled(inputs, settings, base=tmp_path, tile_m=200.0).summary[
        "by_scenario"]["typical"]["detection"]
    for k in ("street_in_view_m", "land_in_view_share", "public_space_in_view_share"):
        assert tiled[k] == pytest.approx(local[k], rel=1e-9, abs=1e-9), k


def test_low_buildings_hide_less_than_tall_ones_in_a_city():
    city = synth_city(400, 400, seed=5, n_cameras=150)
    inputs = synthetic_inputs(city)
    n = len(inputs.buildings)
    settings = Settings(scenarios=("best", "worst"), levels=("detection",), cell_m=2.0,
                        occlusion="2.5d")
    figures = {}
    for name, levels in (("tall", 40.0), ("low", 1.0)):
        inputs.building_attrs = pd.DataFrame({"building": ["yes"] * n, "height_m": np.nan,
                                              "levels": levels, "min_height_m": np.nan})
        result = analyse(inputs, settings)
        figures[name] = result.summary["by_scenario"]
        layered = result.levels["worst", "detection"].regions.layers
        assert (layered > 1).any() == (name == "low")
    for scenario in ("best", "worst"):
        tall, low = (figures[k][scenario]["detection"] for k in ("tall", "low"))
        assert low["street_in_view_m"] >= tall["street_in_view_m"]
        assert low["land_in_view_share"] > tall["land_in_view_share"]
    # unknown camera heights: low cameras for the low end, high ones for the high end
    assert figures["low"]["best"]["detection"]["land_in_view_share"] <= \
        figures["low"]["worst"]["detection"]["land_in_view_share"]


def test_helsinki_2_5d_regions_stay_out_of_buildings(helsinki_pbf, tmp_path):
    # the defect of the first 2.5-D kernel: about 6,100 m² of its Helsinki regions (typical,
    # detection) lay inside five buildings (low ones running past the range); now ~0 — only
    # slivers of the arc chords and of footprints merged from overlapping parts are left
    from survatlas.coverage.analysis import load_inputs
    from survatlas.ingest import import_osm

    with Store(tmp_path / "h.db") as store:
        import_osm(store, helsinki_pbf)
        inputs = load_inputs(store)
    result = analyse(inputs, Settings(scenarios=("typical",), levels=("detection",), cell_m=2.0,
                                      occlusion="2.5d"))
    regions = result.levels["typical", "detection"].regions
    assert (regions.layers > 1).any()  # some views do see past low buildings
    polys = regions.to_polygons()
    seen = shapely.union_all([p for p in polys if p is not None and not p.is_empty])
    inside = shapely.intersection(seen, shapely.union_all(inputs.buildings)).area
    assert inside < 5.0, f"{inside:.0f} m² of the 2.5-D regions lie inside buildings"
