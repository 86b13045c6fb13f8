"""Coverage analysis: streets, areas and sites against shapely's union-then-intersect; store round trip."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.coverage import oracle_visibility, prepare_obstacles, visibility
from survatlas.coverage._raster import Raster, polygon_mask
from survatlas.coverage.aggregate import area_share, count_grid, line_segments, seen_intervals
from survatlas.coverage.analysis import Settings, analyse, load_inputs
from survatlas.coverage.results import latest_summary
from survatlas.coverage.scale import compute_coverage
from survatlas.errors import InputError, NotFoundError
from survatlas.ingest import import_osm
from survatlas.publish.export import export_layer
from survatlas.store import Store
from survatlas.synth import synth_city


@pytest.fixture(scope="module")
def city():
    return synth_city(500, 500, seed=11, n_cameras=50)


@pytest.fixture(scope="module")
def regions(city):
    x, y = city.camera_xy()
    d = np.array([c.get("direction", np.nan) for c in city.cameras])
    f = np.array([c.get("fov_deg", 360.0) for c in city.cameras])
    return visibility(prepare_obstacles(city.buildings), x, y, d, f, 45.0)


def test_street_metres_in_view_match_union_then_intersect(city, regions):
    seen = seen_intervals(regions, line_segments(city.streets))
    ours = seen.union_length(len(city.streets))
    union = shapely.union_all(regions.to_polygons())
    ref = shapely.length(shapely.intersection(city.streets, union))
    assert ours.sum() == pytest.approx(ref.sum(), rel=0.005)
    assert np.allclose(ours, ref, atol=0.05)


def test_street_intervals_match_the_oracle_regions(city):
    x, y = city.camera_xy()
    obstacles = prepare_obstacles(city.buildings)
    oracle = oracle_visibility(obstacles, x[:10], y[:10], np.nan, 360.0, 45.0)
    ref = shapely.length(shapely.intersection(shapely.union_all(city.streets), shapely.union_all(oracle)))
    regions = visibility(obstacles, x[:10], y[:10], np.nan, 360.0, 45.0)
    ours = seen_intervals(regions, line_segments(city.streets)).union_length(len(city.streets)).sum()
    assert ours == pytest.approx(ref, rel=0.005)


def test_land_in_view_matches_exact_area(city, regions):
    raster = Raster.covering(city.bounds, 1.0)
    land = ~polygon_mask(raster, prepare_obstacles(city.buildings).polygons)
    share = area_share(count_grid(regions, raster), land, raster.cell_area)
    frame = shapely.box(raster.x0, raster.y0, raster.x0 + raster.nx, raster.y0 + raster.ny)
    exact = shapely.area(shapely.intersection(
        shapely.difference(shapely.union_all(regions.to_polygons()), shapely.union_all(city.buildings)), frame))
    assert share["in_view_m2"] == pytest.approx(exact, rel=0.01)


def test_polygon_mask_equals_contains_xy():
    polys = np.array([shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(3, 3), (6, 3), (6, 6), (3, 6)]]),
                      shapely.Point(25, 25).buffer(7)], dtype=object)
    raster = Raster.covering((0, 0, 40, 40), 0.5)
    rows, cols = np.mgrid[0:raster.ny, 0:raster.nx]
    x, y = raster.centres(rows, cols)
    expected = shapely.contains_xy(polys[0], x, y) | shapely.contains_xy(polys[1], x, y)
    assert (polygon_mask(raster, polys) == expected).all()


@pytest.fixture(scope="module")
def helsinki(tmp_path_factory, helsinki_pbf):
    path = tmp_path_factory.mktemp("cov") / "h.db"
    with Store(path) as store:
        import_osm(store, helsinki_pbf)
        summary = compute_coverage(store, settings=Settings(cell_m=4.0))
    return path, summary


def test_helsinki_summary_has_intervals_and_assumptions(helsinki):
    _, summary = helsinki
    assert summary["cameras"] == 223
    assert summary["cameras_assumed_direction"] >= 215  # Helsinki cameras have no direction tags
    for level in ("detection", "identification"):
        street = summary["intervals"][level]["street_in_view_share"]
        assert 0 < street["low"] <= street["typical"] <= street["high"] <= 1
        for scenario in ("best", "typical", "worst"):
            fig = summary["by_scenario"][scenario][level]
            assert fig["street_in_view_m"] == pytest.approx(fig["street_in_view_share"] * summary["street_length_m"], rel=1e-4)
    det, ident = (summary["by_scenario"]["typical"][lv]["street_in_view_m"] for lv in ("detection", "identification"))
    assert det > ident  # nested DORI levels
    assert summary["assumptions"] and summary["method"]


def test_helsinki_results_are_stored_and_exported(helsinki, tmp_path):
    path, summary = helsinki
    with Store(path) as store:
        assert latest_summary(store) == json.loads(json.dumps(summary))
        seen = store.scalar("SELECT sum(in_view_m) FROM street_coverage WHERE scenario='typical' AND level='detection'")
        assert seen == pytest.approx(summary["by_scenario"]["typical"]["detection"]["street_in_view_m"], rel=1e-6)
        for layer in ("visibility", "street-coverage", "site-coverage", "h3"):
            out = tmp_path / f"{layer}.gpkg"
            result = export_layer(store, layer, "gpkg", out)
            assert result["features"] > 0 and len(gpd.read_file(out)) == result["features"]
        sites = gpd.read_file(tmp_path / "site-coverage.gpkg")
    assert set(sites["category"]) >= {"education", "transport"}
    assert sites["in_view_share"].dropna().between(0, 1).all()


def test_coverage_is_deterministic(helsinki):
    path, summary = helsinki
    with Store(path) as store:
        again = analyse(load_inputs(store), Settings(scenarios=("typical",), levels=("detection",),
                                                     cell_m=4.0)).summary
    assert again["by_scenario"]["typical"]["detection"] == summary["by_scenario"]["typical"]["detection"]


def test_bad_settings_and_missing_results(tmp_path):
    with pytest.raises(InputError, match="unknown scenario"):
        Settings(scenarios=("sunny",)).check()
    with pytest.raises(InputError, match="cell size"):
        Settings(cell_m=0).check()
    with Store(tmp_path / "e.db") as store:
        with pytest.raises(NotFoundError, match="run `survatlas coverage` first"):
            latest_summary(store)
        with pytest.raises(InputError, match="nothing to compute"):
            compute_coverage(store)


def test_cli_coverage_json_keys(helsinki):
    path, _ = helsinki
    result = CliRunner().invoke(main, ["--db", str(path), "coverage", "--scenario", "typical",
                                       "--level", "detection", "--cell", "5", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    fig = data["by_scenario"]["typical"]["detection"]
    assert {"street_in_view_m", "street_in_view_share"} <= fig.keys()
    assert {"street_length_m", "cameras", "cameras_assumed_direction"} <= data.keys()
    assert "education" in fig["sites"]


def test_cli_optics_check_values():
    result = CliRunner().invoke(main, ["optics", "--focal-mm", "4", "--sensor-width-mm", "5.37",
                                       "--width-px", "1920", "--json"])
    data = json.loads(result.output)
    published = {"hfov_deg": 68.0, "detection": 56.9, "observation": 22.6, "recognition": 11.4,
                 "identification": 5.7}
    for key, value in published.items():
        assert data[key] == pytest.approx(value, rel=0.015), key
    assert data["plate"] > 0


def test_device_rows_read_views_and_missing_numbers_as_optics_expects():
    import pandas as pd

    from survatlas.coverage.analysis import device_rows

    frame = pd.DataFrame({
        "camera_type": ["dome", None, "fixed"], "device_type": ["camera", "alpr", "camera"],
        "views": ['[[90.0, 60.0]]', [[180.0, None]], None],
        "height_m": [4.5, None, float("nan")], "tilt_down_deg": [None, 10, None],
        "fov_deg": [None, None, 75.0], "range_m": [None, "30", None],
        "focal_mm": [None, None, 6.0], "sensor_width_mm": [None, None, None],
        "width_px": [None, 1920, None],
    })
    rows = device_rows(frame)
    assert rows[0]["views"] == [(90.0, 60.0)] and rows[1]["views"] == [(180.0, None)]
    assert rows[2]["views"] == [] and rows[1]["camera_type"] is None
    assert rows[0]["height_m"] == 4.5 and rows[1]["height_m"] is None and rows[2]["height_m"] is None
    assert rows[1]["range_m"] == 30.0 and rows[1]["width_px"] == 1920.0
    assert rows[2]["fov_deg"] == 75.0 and rows[2]["focal_mm"] == 6.0
    assert set(rows[0]) == {"camera_type", "device_type", "views", "height_m", "tilt_down_deg",
                            "fov_deg", "range_m", "focal_mm", "sensor_width_mm", "width_px"}
    assert device_rows(frame.iloc[:0]) == []


def test_any_banding_of_the_area_pass_gives_the_same_figures(helsinki, monkeypatch):
    """The local run fills the land, public-space, site and H3 grids band by band
    (``analysis.BAND_CELLS``): the figures of every scenario and level equal those of one
    band over the whole raster — land and public space, sites with their cameras, every H3
    cell."""
    from survatlas.coverage import analysis

    path, _ = helsinki
    settings = Settings(scenarios=("typical", "worst"), levels=("detection",), cell_m=4.0,
                        occlusion="2d")
    with Store(path) as store:
        inputs = load_inputs(store)
    results = []
    for cells in (10**9, 20_000, 7_000):
        monkeypatch.setattr(analysis, "BAND_CELLS", cells)
        raster = Raster.covering(inputs.bounds, settings.cell_m)
        bands = analysis.band_windows(raster)
        assert (len(bands) == 1) == (cells == 10**9)
        assert all(j0 % 4 == 0 for j0, _, _, _ in bands)
        assert sum(j1 - j0 for j0, j1, _, _ in bands) == raster.ny
        results.append(analyse(inputs, settings))
    one = results[0]
    assert one.summary["by_scenario"]["typical"]["detection"]["sites"]  # sites were counted
    for other in results[1:]:
        assert json.dumps(other.summary, sort_keys=True) == json.dumps(one.summary, sort_keys=True)
        for key, level in one.levels.items():
            mine = other.levels[key]
            assert mine.areas == level.areas and mine.h3 == level.h3
            assert mine.sites == level.sites
            np.testing.assert_array_equal(mine.street_in_view_m, level.street_in_view_m)


@pytest.mark.parametrize("seed", range(6))
def test_candidate_pairs_are_the_box_pairs_an_str_tree_finds(seed, monkeypatch):
    """The grid join pairs exactly the boxes that overlap or touch (as shapely's STR tree
    does), each pair once and ordered by the first index — with points, lines, boxes much
    larger than the others and boxes with a NaN bound (they meet nothing) among them."""
    from survatlas.coverage import aggregate

    rng = np.random.default_rng(seed)

    def boxes(n: int, size: float) -> np.ndarray:
        corner = rng.random((n, 2)) * 1000
        extent = rng.random((n, 2)) * size * rng.choice([0, 0, 1, 1, 1, 30], (n, 1))
        out = np.column_stack([corner, corner + extent]).round(int(rng.integers(0, 3)))
        out[rng.random(n) < 0.03, int(rng.integers(0, 4))] = np.nan
        return out

    a, b = boxes(900, 40.0), boxes(600, 120.0)
    b[0] = [a[1, 2], a[1, 1], a[1, 2] + 5, a[1, 3]]  # touches a[1] along an edge
    i, j = aggregate.candidate_pairs(a, b)
    ka, kb = (np.flatnonzero(np.isfinite(x).all(axis=1)) for x in (a, b))
    ti, tj = shapely.STRtree(shapely.box(*b[kb].T)).query(shapely.box(*a[ka].T))
    expected = set(zip(ka[ti].tolist(), kb[tj].tolist(), strict=True))
    found = list(zip(i.tolist(), j.tolist(), strict=True))
    assert len(found) == len(set(found)) and set(found) == expected and len(expected) > 100
    assert (np.diff(i) >= 0).all()
    if np.isfinite(a[1]).all():
        assert (1, 0) in set(found)
    monkeypatch.setattr(aggregate, "GRID_JOIN_MAX_CELLS", 0)  # too many cells: the STR tree
    i2, j2 = aggregate.candidate_pairs(a, b)
    assert set(zip(i2.tolist(), j2.tolist(), strict=True)) == expected
    assert (np.diff(i2) >= 0).all()
    assert aggregate.candidate_pairs(a[:0], b)[0].size == 0


def test_candidate_pairs_of_huge_boxes_and_of_points():
    """A box spanning ~10¹⁴ grid cells (or a raster too wide for integer keys) makes the STR
    tree pair the boxes; boxes that are points pair where they coincide or touch."""
    from survatlas.coverage import aggregate

    rng = np.random.default_rng(3)
    corner = rng.random((200, 2)) * 100
    small = np.column_stack([corner, corner + 1])
    huge = np.vstack([small[:100], [[-1e7, -1e7, 1e7, 1e7]]])
    i, j = aggregate.candidate_pairs(small, huge)
    assert set(zip(i.tolist(), j.tolist(), strict=True)) >= {(k, 100) for k in range(200)}
    points = np.repeat(np.round(rng.random((50, 2)) * 5), 2, axis=1)[:, [0, 2, 1, 3]]
    i, j = aggregate.candidate_pairs(points, points)
    same = {(p, q) for p in range(50) for q in range(50)
            if (points[p] == points[q]).all()}
    assert set(zip(i.tolist(), j.tolist(), strict=True)) == same and len(same) > 50
    far = np.vstack([small, [[1e12, 1e12, 1e12 + 1, 1e12 + 1]]])  # 10¹² cells wide
    i, j = aggregate.candidate_pairs(far, far)
    assert (200, 200) in set(zip(i.tolist(), j.tolist(), strict=True)) and i.size > 200


def test_a_band_takes_its_rows_of_the_raster_h3_assignment():
    """A band's slice of the whole raster's H3 assignment is the assignment made for the band
    alone (same names where it has groups, zero-count names elsewhere); a window that is not a
    full-width band of whole H3 groups is refused."""
    from survatlas import geo
    from survatlas.coverage.aggregate import h3_assignment
    from survatlas.coverage.analysis import band_assignment

    crs = geo.local_crs(24.94, 60.17)
    x, y = geo.to_metric(crs).transform(24.94, 60.17)
    raster = Raster(x, y, 2.0, 1001, 1203)
    whole = h3_assignment(raster, crs, 10)
    for window in ((0, 400, 0, 1001), (400, 1203, 0, 1001)):
        names, hexes = band_assignment(whole, raster, window)
        own_names, own_hexes = h3_assignment(raster.sub(*window), crs, 10)
        np.testing.assert_array_equal(names[hexes], own_names[own_hexes])
    assert band_assignment(None, raster, (0, 400, 0, 1001)) is None
    for bad in ((2, 400, 0, 1001), (0, 400, 0, 500)):
        with pytest.raises(ValueError, match="not a band"):
            band_assignment(whole, raster, bad)


def test_views_computed_in_small_chunks_are_the_views_of_one_chunk(city, regions, monkeypatch):
    """The kernel runs the views in consecutive chunks of about ``CHUNK_SLOTS`` output slots;
    chunks cover every view once, in order, none empty, and any chunking gives the same
    regions."""
    import importlib

    vis = importlib.import_module("survatlas.coverage.visibility")  # the module, not the function
    slots = np.array([5, 1, 7, 2, 2, 9, 1])
    for size in (1, 3, 8, 100):
        parts = vis._slot_chunks(slots, size)
        assert [i for s in parts for i in range(s.start, s.stop)] == list(range(slots.size))
        assert all(s.stop > s.start for s in parts) and (len(parts) > 1) == (size < 27)
    assert vis._slot_chunks(slots[:0], 8) == []
    monkeypatch.setattr(vis, "CHUNK_SLOTS", 200)
    x, y = city.camera_xy()
    d = np.array([c.get("direction", np.nan) for c in city.cameras])
    f = np.array([c.get("fov_deg", 360.0) for c in city.cameras])
    assert len(vis._chunks(x, f, np.full(x.size, 45.0), 1.0)) > 5
    small = visibility(prepare_obstacles(city.buildings), x, y, d, f, 45.0)
    np.testing.assert_array_equal(small.offsets, regions.offsets)
    np.testing.assert_array_equal(small.angles, regions.angles)
    np.testing.assert_array_equal(small.radii, regions.radii)


def test_distinct_counts_are_numpys_unique_with_counts():
    from survatlas.coverage.aggregate import distinct_counts

    rng = np.random.default_rng(5)
    for values in (rng.integers(0, 30, 500), rng.integers(0, 2**62, 50, dtype=np.int64),
                   np.array([7], np.uint64), np.empty(0, np.int64)):
        got, counts = distinct_counts(values)
        want, want_counts = np.unique(values, return_counts=True)
        np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(counts, want_counts)
        assert counts.sum() == values.size
