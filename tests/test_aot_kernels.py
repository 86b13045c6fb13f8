"""The coverage kernels compiled ahead of time (``coverage._compiled``, ``scripts/build_kernels.py``):
the same results as numba's JIT kernels, no numba in a coverage process, a stale build ignored.

These tests need the build: ``make install`` (or ``make test``) runs ``scripts/build_kernels.py``.
They fail, with that instruction, when it is absent or stale.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely

from survatlas.coverage import _compiled, merge_intervals, prepare_obstacles, visibility
from survatlas.coverage.obstacle_cache import cache_dir
from survatlas.coverage.occlusion import visibility25

COVERAGE = Path(_compiled.__file__).resolve().parent


@pytest.fixture
def built():
    """The ahead-of-time build, current (the test fails with what to do when it is not)."""
    state = _compiled.status()
    if state != "current":
        pytest.fail(f"the ahead-of-time coverage kernels are {state}: run `make install` "
                    "(or `python scripts/build_kernels.py`)")
    return _compiled.extension()


@pytest.fixture
def aot_calls(monkeypatch, built):
    """Names of the kernels the coverage code took from the ahead-of-time build."""
    calls: list[str] = []
    real = _compiled.kernel

    def spy(name, jit):
        fn = real(name, jit)
        if fn is not jit:
            calls.append(name)
        return fn

    monkeypatch.setattr(_compiled, "kernel", spy)
    return calls


def _scene(seed: int):
    """Random rectangles (some rotated, some with a courtyard) and views: directed and full
    circles, short and long ranges, some cameras inside or on buildings."""
    rng = np.random.default_rng(seed)
    polys: list = []
    while len(polys) < 140:
        x, y = rng.uniform(-150, 150, 2)
        w, h = rng.uniform(3, 25, 2)
        p = shapely.box(x, y, x + w, y + h)
        if rng.random() < 0.3:
            p = shapely.affinity.rotate(p, rng.uniform(0, 90))
        if rng.random() < 0.2 and min(w, h) > 10:
            p = p.difference(shapely.box(x + 3, y + 3, x + w - 3, y + h - 3))
        if not any(p.intersects(q) for q in polys):  # footprints as mapped: apart
            polys.append(p)
    n = 700
    x, y = rng.uniform(-160, 160, (2, n))
    direction = np.where(rng.random(n) < 0.15, np.nan, rng.uniform(0, 360, n))
    fov = rng.choice([30.0, 60.0, 90.0, 360.0], n)
    radius = rng.choice([15.0, 50.0, 120.0, 400.0], n)
    top = rng.uniform(2, 30, len(polys))
    eye = rng.uniform(2, 12, n)
    return polys, top, x, y, direction, fov, radius, eye


def _same(a, b) -> None:
    for f in dataclasses.fields(a):
        va, vb = getattr(a, f.name), getattr(b, f.name)
        if isinstance(va, np.ndarray):
            assert va.dtype == vb.dtype and va.shape == vb.shape, f.name
            assert np.array_equal(va, vb, equal_nan=va.dtype.kind == "f"), f.name
        elif f.compare:
            assert va == vb, f.name


def _queries(regions, polys):
    """Area, bounds, street clipping and merging (the street path's region kernels), the count
    grid and a footprint mask (areas)."""
    from survatlas.coverage._raster import Raster, edge_mask

    rng = np.random.default_rng(7)
    m = 3000
    views = rng.integers(0, len(regions), m)
    ax, ay = rng.uniform(-160, 160, (2, m))
    bx, by = ax + rng.uniform(-80, 80, m), ay + rng.uniform(-80, 80, m)
    off, t0, t1 = regions.clip_segments(views, ax, ay, bx, by)
    group = np.repeat(np.arange(m) % 97, np.diff(off))
    grid = regions.raster_count(-170.0, -170.0, 2.0, 170, 170)
    obs = prepare_obstacles(polys)
    mask = edge_mask(Raster(-170.0, -170.0, 1.0, 340, 340), obs.ax, obs.ay, obs.bx, obs.by)
    assert 0 < mask.sum() < mask.size and grid.max() > 1
    return (regions.area(), regions.bounds(), off, t0, t1, *merge_intervals(group, t0, t1),
            grid, mask)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_2d_aot_results_equal_the_jit_results(seed, monkeypatch, aot_calls):
    polys, _, x, y, d, f, r, _ = _scene(seed)
    obs = prepare_obstacles(polys)
    aot = visibility(obs, x, y, d, f, r, threads=1)
    aot_q = _queries(aot, polys)
    assert {"view_loads", "run_views", "compact", "areas", "region_boxes", "clip_pairs",
            "merge_sorted", "raster_counts", "winding"} <= set(aot_calls)
    assert (aot.status == 1).any() and (aot.status == 2).any()  # nudged and inside views
    monkeypatch.setenv("SURVATLAS_AOT", "0")
    aot_calls.clear()
    jit = visibility(obs, x, y, d, f, r)
    jit_q = _queries(jit, polys)
    assert aot_calls == []
    _same(aot, jit)
    for a, b in zip(aot_q, jit_q, strict=True):
        assert a.dtype == b.dtype and np.array_equal(a, b)


@pytest.mark.parametrize("seed", [0, 1])
def test_25d_aot_results_equal_the_jit_results(seed, monkeypatch, aot_calls):
    polys, top, x, y, d, f, r, eye = _scene(seed)
    obs = prepare_obstacles(polys)
    aot = visibility25(obs, top, x, y, d, f, r, eye, threads=1)
    assert "run_views25" in aot_calls and aot.layers.max() > 1  # layered views compared too
    monkeypatch.setenv("SURVATLAS_AOT", "0")
    jit = visibility25(obs, top, x, y, d, f, r, eye)
    _same(aot, jit)


def test_arguments_are_converted_to_the_compiled_signature(built):
    """Compiled code reads memory as declared: a strided or int32 array must be converted (it
    read wrong values or crashed before the wrapper)."""
    from survatlas.coverage import _kernel

    phi = np.arange(16.0)[::2]  # strided
    rad = np.arange(8.0) * 2
    caps = np.array([0, 3, 8], np.int32)
    n = np.array([2, 4], np.int32)
    got = _compiled.kernel("compact", None)(phi, rad, caps, n)
    want = _kernel.compact.py_func(np.ascontiguousarray(phi), rad, caps.astype(np.int64),
                                   n.astype(np.int64))
    for a, b in zip(got, want, strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(TypeError, match="takes 4 arguments"):
        _compiled.kernel("compact", None)(phi, rad, caps)
    # an array filled in place is never copied: the wrong dtype or layout is refused
    edge = np.array([0.0, 2.0])
    for diff in (np.zeros((4, 4), np.float64), np.zeros((4, 8), np.int32)[:, ::2]):
        with pytest.raises(TypeError, match="writeable C-contiguous int32"):
            _compiled.kernel("winding", None)(diff, edge, edge, edge[::-1], edge[::-1], 0.0,
                                              0.0, 1.0)


def test_a_stale_build_is_ignored(monkeypatch, built):
    from survatlas.coverage import _kernel

    real = _compiled.source_digest()
    monkeypatch.setattr(_compiled, "source_digest", lambda root=None: real + 1)
    _compiled._load.cache_clear()
    try:
        assert _compiled.extension() is None and _compiled.status() == "stale"
        assert _compiled.kernel("compact", _kernel.compact) is _kernel.compact
        assert not _compiled.serial(10, threads=1)  # the JIT kernels run
        polys, _, x, y, d, f, r, _ = _scene(0)
        assert len(visibility(prepare_obstacles(polys), x[:20], y[:20], d[:20], f[:20],
                              r[:20], threads=1)) == 20
    finally:
        monkeypatch.undo()
        _compiled._load.cache_clear()
    assert _compiled.status() == "current"


def test_editing_any_kernel_source_changes_the_hash(tmp_path):
    for name in _compiled.SOURCES:
        shutil.copy(COVERAGE / f"{name}.py", tmp_path / f"{name}.py")
    assert _compiled.source_digest(tmp_path) == _compiled.source_digest()
    for name in _compiled.SOURCES:
        path = tmp_path / f"{name}.py"
        text = path.read_text()
        path.write_text(text + "# edited\n")
        assert _compiled.source_digest(tmp_path) != _compiled.source_digest(), name
        path.write_text(text)


def _imported_coverage_modules(module: str, seen: set[str]) -> set[str]:
    if module in seen:
        return seen
    seen.add(module)
    tree = ast.parse((COVERAGE / f"{module}.py").read_text())
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "survatlas.coverage":
                names = [a.name for a in node.names]
            elif node.module.startswith("survatlas.coverage."):
                names = [node.module.rsplit(".", 1)[1]]
        for name in names:
            if (COVERAGE / f"{name}.py").exists():
                _imported_coverage_modules(name, seen)
    return seen


def test_the_hash_covers_every_module_the_compiled_kernels_import():
    seen: set[str] = set()
    for entry in _compiled.SIGNATURES.values():
        _imported_coverage_modules(entry[0], seen)
    assert seen <= set(_compiled.SOURCES), sorted(seen - set(_compiled.SOURCES))


_NO_NUMBA_RUN = """
import json, sys
from survatlas.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    assert not exc.code, exc.code
print(json.dumps({"numba": sorted(m for m in sys.modules if m.split(".")[0] == "numba")[:3]}))
"""


@pytest.mark.parametrize("occlusion", ["2d", "2.5d"])
def test_a_street_coverage_process_imports_no_numba(helsinki_db, occlusion, built):
    args = ["--db", str(helsinki_db), "coverage", "--level", "detection", "--scenario",
            "typical", "--occlusion", occlusion, "--only", "streets", "--json"]
    env = {k: v for k, v in os.environ.items() if k != "SURVATLAS_AOT"}
    shutil.rmtree(cache_dir(helsinki_db), ignore_errors=True)
    # the first run prepares the obstacles and caches them; the second reads them back
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", _NO_NUMBA_RUN, *args], capture_output=True,
                             text=True, env=env, check=True, timeout=600).stdout
        lines = out.strip().splitlines()
        assert json.loads(lines[-1]) == {"numba": []}
        figures = json.loads("\n".join(lines[:-1]))
        assert figures["street_length_m"] > 0 and figures["by_scenario"]


def _figures(out: str) -> dict:
    """A coverage run's JSON without what differs between two runs of the same inputs."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in _RUN_FIELDS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(json.loads(out))


_RUN_FIELDS = {"run_id", "run", "created", "created_at", "elapsed_s", "seconds", "timing"}


def test_a_full_coverage_run_gives_the_same_figures_with_and_without_the_build(helsinki_db,
                                                                                 built):
    """Everything a run gives (streets, sites, areas, H3; 2.5-D) through the compiled kernels
    and through numba's: the same figures, and no numba in the first process."""
    args = ["--db", str(helsinki_db), "coverage", "--level", "detection", "--scenario",
            "typical", "--json"]
    env = {k: v for k, v in os.environ.items() if k != "SURVATLAS_AOT"}
    aot = subprocess.run([sys.executable, "-c", _NO_NUMBA_RUN, *args], capture_output=True,
                         text=True, env=env, check=True, timeout=600).stdout.strip().splitlines()
    jit = subprocess.run([sys.executable, "-c", _NO_NUMBA_RUN, *args], capture_output=True,
                         text=True, env={**env, "SURVATLAS_AOT": "0"}, check=True,
                         timeout=600).stdout.strip().splitlines()
    assert json.loads(aot[-1]) == {"numba": []}
    assert json.loads(jit[-1])["numba"]  # the JIT side did run numba
    a, j = _figures("\n".join(aot[:-1])), _figures("\n".join(jit[:-1]))
    assert set(a["outputs"]) >= {"streets", "areas"} and a == j
