"""Tiled coverage (in-process runner) equals the single-machine result; the tile plan's invariants."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scale_helpers import assert_same_result
from survatlas.coverage import _tiles
from survatlas.coverage._raster import Raster
from survatlas.coverage._tile_inputs import _tile_groups
from survatlas.coverage._tile_plan import H3_BLOCK, _owned_windows
from survatlas.coverage.analysis import Settings, analyse
from survatlas.coverage.scale import (
    BuildingSource,
    analyse_tiled,
    halo_factor,
    plan_tiles,
    synthetic_inputs,
    tiled_inputs,
)
from survatlas.errors import InputError
from survatlas.synth import synth_city

SETTINGS = Settings(scenarios=("best", "typical"), levels=("detection", "identification"),
                    cell_m=2.0)


@pytest.fixture(scope="module")
def inputs():
    return synthetic_inputs(synth_city(700, 600, seed=5, n_cameras=70), sites_every=25)


@pytest.fixture(scope="module")
def local(inputs):
    return analyse(inputs, SETTINGS)


def on_borders(inputs, tile_m: float):
    """The same inputs with every third camera moved exactly onto a tile border (or corner)."""
    x, y = inputs.cam_x.copy(), inputs.cam_y.copy()
    x[::3] = np.round(x[::3] / tile_m) * tile_m
    y[::6] = np.round(y[::6] / tile_m) * tile_m
    return dataclasses.replace(inputs, cam_x=x, cam_y=y)


@pytest.mark.parametrize("tile_m", [120.0, 250.0])
def test_tiles_smaller_than_the_range_give_the_local_figures(inputs, local, tile_m, tmp_path):
    plan = plan_tiles(inputs, SETTINGS, tile_m)
    assert plan.reach_m > tile_m / 2  # halos reach into neighbouring tiles
    assert len(plan.view_keys) > 4
    tiled = analyse_tiled(inputs, SETTINGS, base=tmp_path, tile_m=tile_m)
    assert_same_result(tiled, local)


def test_cameras_on_tile_borders_belong_to_one_tile_and_give_the_local_figures(inputs, tmp_path):
    tile_m = 150.0
    moved = on_borders(inputs, tile_m)
    plan = plan_tiles(moved, SETTINGS, tile_m)
    owned = np.concatenate([t.cameras for t in plan.tiles.values()])
    assert np.array_equal(np.sort(owned), np.arange(len(moved.devices)))
    border = np.flatnonzero(moved.cam_x % tile_m == 0)
    assert border.size >= 20
    for i in border:  # half-open tiles: a camera on x = k·t belongs to tile k
        key = next(k for k, t in plan.tiles.items() if i in t.cameras)
        assert int(key.split("_")[0]) == round(moved.cam_x[i] / tile_m)
    assert_same_result(analyse_tiled(moved, SETTINGS, base=tmp_path, tile_m=tile_m),
                       analyse(moved, SETTINGS))


def test_inputs_streamed_in_small_chunks_give_the_local_figures(inputs, tmp_path, monkeypatch):
    monkeypatch.setattr(_tiles, "SEGMENT_CHUNK", 7)  # streets and outlines in many parts
    geoms = inputs.buildings
    chunks = BuildingSource("50 at a time", lambda: (geoms[a:a + 50] for a in range(0, geoms.size, 50)))
    tiled = analyse_tiled(inputs, SETTINGS, base=tmp_path, tile_m=250.0, buildings=chunks)
    folder = next(p for p in tmp_path.iterdir() if p.is_dir())
    parts = list((folder / "buildings").glob("tile=*/part-*.parquet"))
    assert len({p.name for p in parts}) > 5 and len(list((folder / "streets").glob("*/part-3.parquet")))
    assert halo_factor(folder)["distinct"] == geoms.size
    assert_same_result(tiled, analyse(inputs, SETTINGS))


def test_tile_inputs_are_written_once_and_reused(inputs, tmp_path):
    folder, plan, reused = tiled_inputs(inputs, SETTINGS, tmp_path, 300.0)
    assert not reused and (folder / "manifest.json").exists()
    stamp = (folder / "manifest.json").stat().st_mtime_ns
    again, read_plan, reused = tiled_inputs(inputs, SETTINGS, tmp_path, 300.0)
    assert reused and again == folder and (folder / "manifest.json").stat().st_mtime_ns == stamp
    assert read_plan.raster == plan.raster and read_plan.tiles.keys() == plan.tiles.keys()
    for key, tile in plan.tiles.items():
        other = read_plan.tiles[key]
        assert np.array_equal(other.cameras, tile.cameras)
        assert (other.halo, other.window, other.box, other.needs) == \
            (tile.halo, tile.window, tile.box, tile.needs)
    other, _, reused = tiled_inputs(inputs, dataclasses.replace(SETTINGS, cell_m=4.0), tmp_path, 300.0)
    assert not reused and other != folder
    factor = halo_factor(folder)
    assert factor["distinct"] == len(inputs.buildings) and factor["factor"] >= 1.0
    assert (folder / "buildings" / f"tile={plan.view_keys[0]}" / "part-0.parquet").exists()


@pytest.mark.parametrize("column, value", [("focal_mm", 12.0), ("camera_type", "dome"),
                                           ("views", [(45.0, 60.0)]), ("range_m", 80.0)])
def test_a_changed_camera_field_gets_new_tiles(inputs, tmp_path, column, value):
    folder, _, _ = tiled_inputs(inputs, SETTINGS, tmp_path, 300.0)
    devices = inputs.devices.copy()
    devices[column] = devices[column].astype(object)
    devices.at[devices.index[3], column] = value
    changed = dataclasses.replace(inputs, devices=devices)
    other, _, reused = tiled_inputs(changed, SETTINGS, tmp_path, 300.0)
    assert not reused and other != folder


def test_an_interrupted_write_is_not_reused(inputs, tmp_path):
    folder, _, _ = tiled_inputs(inputs, SETTINGS, tmp_path, 300.0)
    (folder / "manifest.json").unlink()  # as if the writer died before the manifest
    _, _, reused = tiled_inputs(inputs, SETTINGS, tmp_path, 300.0)
    assert not reused and (folder / "manifest.json").exists()


def test_bad_tile_size(inputs):
    with pytest.raises(InputError, match="tile size"):
        plan_tiles(inputs, SETTINGS, -5.0)


def test_auto_tile_size_keeps_the_halo_small(inputs):
    plan = plan_tiles(inputs, SETTINGS)
    assert plan.tile_m >= 2000 and plan.tile_m >= 18 * plan.reach_m
    assert (1 + 2 * plan.reach_m / plan.tile_m) ** 2 <= 1.25


@settings(max_examples=60, deadline=None)
@given(x0=st.integers(-5000, 5000), y0=st.integers(-5000, 5000), nx=st.integers(1, 700),
       ny=st.integers(1, 700), cell=st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0]),
       tile=st.floats(7.0, 900.0))
def test_owned_windows_partition_the_raster_in_h3_groups(x0, y0, nx, ny, cell, tile):
    raster = Raster(x0 * cell, y0 * cell, cell, nx, ny)
    windows = _owned_windows(raster, tile)
    cover = np.zeros((ny, nx), np.int32)
    for key, (j0, j1, i0, i1) in windows.items():
        assert j0 % H3_BLOCK == 0 and i0 % H3_BLOCK == 0
        assert j1 - j0 > 0 and i1 - i0 > 0
        cover[j0:j1, i0:i1] += 1
        kx, ky = (int(v) for v in key.split("_"))
        # the tile owns a group iff the group's centre lies in the tile (half-open)
        cx = raster.x0 + (i0 + H3_BLOCK / 2) * cell
        assert math.floor(cx / tile) == kx
        cy = raster.y0 + (j0 + H3_BLOCK / 2) * cell
        assert math.floor(cy / tile) == ky
    assert (cover == 1).all()


def test_cli_dask_options_need_the_dask_engine(tmp_path):
    from click.testing import CliRunner

    from survatlas.cli import main

    result = CliRunner().invoke(main, ["--db", str(tmp_path / "none.db"), "coverage",
                                       "--tile-size", "500"])
    assert result.exit_code == 2 and "need --engine dask" in result.output


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), tile=st.sampled_from([90.0, 150.0, 400.0]))
def test_items_go_to_exactly_the_tiles_whose_box_they_meet(inputs, seed, tile):
    plan = plan_tiles(inputs, SETTINGS, tile)
    keys = list(plan.tiles)
    tile_boxes = np.array([plan.tiles[k].box for k in keys])
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = inputs.bounds
    lo = np.column_stack([rng.uniform(x0 - 200, x1 + 200, 300), rng.uniform(y0 - 200, y1 + 200, 300)])
    boxes = np.column_stack([lo, lo + rng.exponential(40.0, (300, 2))])
    got = {(int(i), t) for idx, t in _tile_groups(boxes, keys, tile_boxes, plan) for i in idx}
    meet = ((boxes[:, None, 0] <= tile_boxes[None, :, 2]) & (boxes[:, None, 2] >= tile_boxes[None, :, 0])
            & (boxes[:, None, 1] <= tile_boxes[None, :, 3]) & (boxes[:, None, 3] >= tile_boxes[None, :, 1]))
    assert got == {(int(i), int(t)) for i, t in zip(*np.nonzero(meet), strict=True)}
