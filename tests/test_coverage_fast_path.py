"""The user's path made fast: only the outputs asked for, prepared obstacles cached beside the
store, numba kernels loaded from their on-disk cache in a new process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import box

from survatlas.cli import main
from survatlas.coverage.analysis import load_inputs
from survatlas.coverage.obstacle_cache import cache_dir, with_obstacles
from survatlas.coverage.obstacles import prepare_obstacles
from survatlas.ingest import import_layer
from survatlas.store import Store

ONE = ["--scenario", "typical", "--level", "detection", "--cell", "5", "--json"]


def _coverage(db, *args: str) -> dict:
    result = CliRunner().invoke(main, ["--db", str(db), "coverage", *ONE, *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _rows(db, table: str) -> int:
    with Store(db) as store:
        return int(store.scalar(f"SELECT count(*) FROM {table}"))


def test_only_streets_gives_the_same_street_figures_and_nothing_else(helsinki_db):
    full = _coverage(helsinki_db)["by_scenario"]["typical"]["detection"]
    assert _rows(helsinki_db, "site_coverage") > 0 and _rows(helsinki_db, "h3_coverage") > 0
    data = _coverage(helsinki_db, "--only", "streets")
    only = data["by_scenario"]["typical"]["detection"]
    assert data["outputs"] == ["streets"]
    assert only["street_in_view_m"] == full["street_in_view_m"] > 0
    assert only["land_in_view_share"] is None and only["public_space_in_view_share"] is None
    assert full["land_in_view_share"] > 0
    assert only["sites"] == {}
    assert _rows(helsinki_db, "street_coverage") > 0
    assert _rows(helsinki_db, "site_coverage") == 0 and _rows(helsinki_db, "h3_coverage") == 0


def test_site_and_h3_readers_refuse_a_run_without_those_outputs(helsinki_db):
    """After `coverage --only streets` the site ranking and H3 cells are not read as empty."""
    from survatlas.coverage.ranking import site_ranking
    from survatlas.coverage.results import h3_layer
    from survatlas.errors import CoverageMissingError

    _coverage(helsinki_db, "--only", "streets")
    with Store(helsinki_db) as store:
        with pytest.raises(CoverageMissingError, match="sites output"):
            site_ranking(store, None, "detection", 10)
        with pytest.raises(CoverageMissingError, match="h3 output"):
            h3_layer(store, None)


def test_only_sites_keeps_the_site_figures_of_a_full_run(helsinki_db):
    full = _coverage(helsinki_db)["by_scenario"]["typical"]["detection"]
    data = _coverage(helsinki_db, "--only", "sites")
    assert data["outputs"] == ["streets", "sites"]
    assert data["by_scenario"]["typical"]["detection"]["sites"] == full["sites"]
    assert _rows(helsinki_db, "site_coverage") > 0 and _rows(helsinki_db, "h3_coverage") == 0


def test_unknown_output_is_a_usage_error(helsinki_db):
    result = CliRunner().invoke(main, ["--db", str(helsinki_db), "coverage", "--only", "roofs"])
    assert result.exit_code == 2 and "roofs" in result.output


def _same(a, b) -> None:
    for name in ("ax", "ay", "bx", "by", "edge_polygon", "polygon_offsets", "cell_start",
                 "cell_items", "source"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert (a.grid_x0, a.grid_y0, a.cell_size, a.nx, a.ny) == \
        (b.grid_x0, b.grid_y0, b.cell_size, b.nx, b.ny)
    assert len(a.polygons) == len(b.polygons)
    assert shapely.equals_exact(a.polygons, b.polygons, tolerance=0).all()


def test_obstacles_are_cached_and_prepared_again_when_buildings_change(helsinki_db, tmp_path):
    db = tmp_path / "c.db"
    db.write_bytes(helsinki_db.read_bytes())
    with Store(db) as store:
        inputs = load_inputs(store, buildings=False)
        full, first, cached = with_obstacles(store, inputs)
        assert not cached and full.buildings.size > 0
        _same(first, prepare_obstacles(full.buildings))
        _, second, cached = with_obstacles(store, inputs)
        assert cached
        _same(second, first)
    layer = tmp_path / "b.geojson"
    import geopandas as gpd

    x, y = 25.5, 60.5  # away from every Helsinki building (no overlap merge)
    gpd.GeoDataFrame({"height": [9.0]}, geometry=[box(x, y, x + 0.0002, y + 0.0001)],
                     crs="EPSG:4326").to_file(layer)
    with Store(db) as store:
        import_layer(store, layer, "buildings")
        inputs = load_inputs(store, buildings=False)
        full, third, cached = with_obstacles(store, inputs)
        assert not cached and len(third.polygons) == len(first.polygons) + 1
    (cache_dir(db) / "obstacles.npz").write_bytes(b"not an npz file")  # damaged: prepared again
    with Store(db) as store:
        _, fourth, cached = with_obstacles(store, load_inputs(store, buildings=False))
        assert not cached
        _same(fourth, third)


def test_the_obstacle_fingerprint_is_remembered_until_an_input_row_changes(
        helsinki_db, tmp_path, monkeypatch):
    """A second run reads the fingerprint back (no footprint is read); an update of one
    building's footprint by another SQLite client makes the next run digest the rows again."""
    import sqlite3

    from survatlas.coverage import obstacle_cache

    db = tmp_path / "m.db"
    db.write_bytes(helsinki_db.read_bytes())
    with Store(db) as store:
        inputs = load_inputs(store, buildings=False)
        first = obstacle_cache.building_fingerprint(store, inputs)
        with monkeypatch.context() as m:
            m.setattr(obstacle_cache, "_building_cursor", _no_rows)
            assert obstacle_cache.building_fingerprint(store, inputs) == first
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE buildings SET geom = (SELECT geom FROM buildings ORDER BY id "
                     "LIMIT 1) WHERE id = (SELECT max(id) FROM buildings)")
    conn.close()
    with Store(db) as store:
        inputs = load_inputs(store, buildings=False)
        with monkeypatch.context() as m:
            m.setattr(obstacle_cache, "_building_cursor", _no_rows)
            with pytest.raises(AssertionError, match="footprints read"):
                obstacle_cache.building_fingerprint(store, inputs)
        assert obstacle_cache.building_fingerprint(store, inputs) != first


def _no_rows(*_args):
    raise AssertionError("footprints read")


_KERNEL_CALL = """
import numpy as np
from survatlas.coverage import prepare_obstacles, visibility
from shapely.geometry import box
obstacles = prepare_obstacles([box(10, -5, 20, 5)])
regions = visibility(obstacles, np.array([0.0]), np.array([0.0]), np.array([90.0]),
                     np.array([60.0]), 30.0)
print("area", round(float(regions.area()[0]), 3))
"""


def test_numba_kernels_load_from_the_disk_cache_in_a_new_process(tmp_path):
    # the JIT kernels (the ahead-of-time build, when present, would run instead of numba)
    env = {**os.environ, "NUMBA_DEBUG_CACHE": "1", "SURVATLAS_AOT": "0"}
    runs = [subprocess.run([sys.executable, "-c", _KERNEL_CALL], capture_output=True, text=True,
                           env=env, check=True, timeout=900) for _ in range(2)]
    second = runs[1].stdout
    assert runs[0].stdout.splitlines()[-1] == second.splitlines()[-1]
    assert "data loaded from" in second  # compiled code read from the cache …
    assert "data saved to" not in second  # … and nothing compiled again


_LIGHT_RUN = _KERNEL_CALL + """
import sys
print("loaded", sorted(m for m in ("scipy.linalg", "cffi", "survatlas.coverage.oracle",
                                   "survatlas.coverage._scale_files", "pyarrow.parquet")
                       if m in sys.modules))
import scipy.linalg.cython_blas  # still importable by anything that needs it
import cffi
print("blas", scipy.linalg.cython_blas.__name__, cffi.__name__)
"""


def test_a_kernel_run_imports_no_scipy_linalg_cffi_oracle_or_tile_files():
    env = {**os.environ, "SURVATLAS_AOT": "0"}  # numba's first dispatch, the kernels' too
    out = subprocess.run([sys.executable, "-c", _LIGHT_RUN], capture_output=True, text=True,
                         env=env, check=True, timeout=900).stdout.splitlines()
    assert out[0].startswith("area ") and float(out[0].split()[1]) > 0
    assert out[1] == "loaded []"
    assert out[2] == "blas scipy.linalg.cython_blas cffi"


def test_coverage_kernels_use_no_blas():
    """numba's array math is loaded without BLAS (coverage._jit): a kernel calling np.dot,
    np.linalg or ``@`` would fail to compile, so none may."""
    import re
    from pathlib import Path

    import survatlas.coverage as cov

    blas = re.compile(r"np\.dot\b|np\.linalg\b|\.dot\(|[\w)\]][ \t]*@[ \t]*[\w(]")
    found = {p.name: m.group(0) for p in Path(cov.__file__).parent.glob("*.py")
             if p.name != "_jit.py" and "numba" in (text := p.read_text()) and (m := blas.search(text))}
    assert found == {}


def test_the_obstacle_fingerprint_does_not_depend_on_how_rows_are_read(helsinki_db, tmp_path):
    """The fingerprint digests the building rows in batches as they are read; the digest of
    the same rows read at once (a cache miss keys its file by the rows it prepared) is the
    same, and any change to a row changes it."""
    from survatlas.coverage import obstacle_cache

    with Store(helsinki_db) as store:
        inputs = load_inputs(store, buildings=False)
        rows = obstacle_cache._building_rows(store, inputs)
        batched = obstacle_cache.building_fingerprint(store, inputs)
    assert len(rows) > 3 * 100
    assert obstacle_cache._digest(inputs, [rows]) == batched
    assert obstacle_cache._digest(inputs, [rows[:100], rows[100:300], rows[300:]]) == batched
    edited = [*rows[:-1], (rows[-1][0], rows[-1][1][:-1] + b"\x00")]
    assert obstacle_cache._digest(inputs, [edited]) != batched
