"""Sensitivity is an invariant of the store (issue 15, findings 1 and 2).

One rule, kept by the writer of layers for every importer and format: a row's own
``sensitivity`` value > the file's ``--sensitivity`` > the level of the record already stored;
a re-import never lowers a record without ``--declassify`` (logged in custody), and a different
file that shares the name and row id cannot overwrite a protected record.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from security_builders import set_key
from survatlas.cli import main
from survatlas.errors import InputError
from survatlas.ingest import import_cameras
from survatlas.ingest.layers import import_layer
from survatlas.store import Store
from survatlas.store.gate import read_layer
from survatlas.vocab import SENSITIVITIES

LEVELS = list(SENSITIVITIES)
_RANK = {level: k for k, level in enumerate(LEVELS)}


def _site(i: int, level: str | None, name: str = "shelter") -> dict:
    props = {"id": f"s{i}", "category": "public_space", "name": f"{name} {i}"}
    if level is not None:
        props["sensitivity"] = level
    lon, lat = 7.42 + i * 0.001, 43.73
    return {"type": "Feature", "properties": props,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def _layer_file(folder: Path, fmt: str, levels: list[str | None], name: str = "sites",
                label: str = "shelter") -> Path:
    features = [_site(i, lvl, label) for i, lvl in enumerate(levels)]
    if fmt == "geojson":
        path = folder / f"{name}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
        return path
    frame = gpd.GeoDataFrame(
        [f["properties"] for f in features],
        geometry=[shapely.Point(f["geometry"]["coordinates"]) for f in features],
        crs="EPSG:4326",
    )
    if "sensitivity" not in frame.columns:
        frame["sensitivity"] = None
    path = folder / f"{name}.gpkg"
    frame.to_file(path, driver="GPKG")
    return path


def _camera_file(folder: Path, fmt: str, levels: list[str | None], name: str = "cams",
                 label: str = "cam") -> Path:
    if fmt == "csv":
        has = any(lvl is not None for lvl in levels)
        head = "id,latitude,longitude,name" + (",sensitivity" if has else "")
        lines = [head]
        for i, lvl in enumerate(levels):
            row = f"c{i},43.73,{7.42 + i * 0.001},{label} {i}"
            lines.append(row + (f",{lvl or ''}" if has else ""))
        path = folder / f"{name}.csv"
        path.write_text("\n".join(lines) + "\n")
        return path
    feats = []
    for i, lvl in enumerate(levels):
        props = {"id": f"c{i}", "name": f"{label} {i}"}
        if lvl is not None:
            props["sensitivity"] = lvl
        feats.append({"type": "Feature", "properties": props,
                      "geometry": {"type": "Point", "coordinates": [7.42 + i * 0.001, 43.73]}})
    path = folder / f"{name}.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


IMPORTERS = {
    ("sites", "geojson"): lambda s, p, **kw: import_layer(s, p, "sites", **kw),
    ("sites", "gpkg"): lambda s, p, **kw: import_layer(s, p, "sites", **kw),
    ("devices", "csv"): import_cameras,
    ("devices", "geojson"): import_cameras,
}


def _file(folder: Path, layer: str, fmt: str, levels: list[str | None], **kw) -> Path:
    if layer == "sites":
        return _layer_file(folder, fmt, levels, **kw)
    return _camera_file(folder, fmt, levels, **kw)


def _stored(db: Path, layer: str) -> list[tuple[str, str, str, str]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            f"SELECT origin, sensitivity, coalesce(name, ''), tags FROM {layer} ORDER BY id"
        ).fetchall()
    finally:
        conn.close()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_per_row_sensitivity_of_a_gis_layer_is_kept(tmp_path, monkeypatch, fmt):
    """Finding 1: a confidential (a shelter) and a restricted row are not stored public."""
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    path = _layer_file(tmp_path, fmt, ["confidential", "restricted", None])
    with Store(db) as store:
        import_layer(store, path, "sites")
        public = read_layer(store, "sites")
    stored = _stored(db, "sites")  # in file order
    assert [lvl for _, lvl, _, _ in stored] == ["confidential", "restricted", "public"]
    # the confidential row's origin (file name and row id) is sealed; the others are not
    assert stored[0][0].startswith("sealed:")
    assert [o.rsplit(":", 1)[1] for o, _, _, _ in stored[1:]] == ["s1", "s2"]
    assert sorted(public["name"]) == ["shelter 2"]
    conf = next(row for row in _stored(db, "sites") if row[1] == "confidential")
    assert "shelter" not in conf[2] + conf[3]  # encrypted at rest, name and tags


@pytest.mark.parametrize(("layer", "fmt"), list(IMPORTERS))
def test_a_confidential_row_under_a_restricted_file_is_confidential_and_encrypted(
    tmp_path, monkeypatch, layer, fmt
):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    path = _file(tmp_path, layer, fmt, ["confidential", None])
    with Store(db) as store:
        IMPORTERS[layer, fmt](store, path, sensitivity="restricted")
        source = store.query("SELECT sensitivity, title FROM sources")
    rows = _stored(db, layer)
    assert [r[1] for r in rows] == ["confidential", "restricted"]
    assert rows[0][2].startswith("enc:") and "survatlas:encrypted" in rows[0][3]
    # the source is as protected as its most protected row, its title sealed
    assert source[0][0] == "confidential" and source[0][1].startswith("enc:")


def test_a_bad_per_row_value_is_a_clear_error_and_nothing_is_written(tmp_path):
    db = tmp_path / "s.db"
    path = _layer_file(tmp_path, "geojson", ["secret", None])
    with Store(db) as store, pytest.raises(InputError, match="sensitivity 'secret'"):
        import_layer(store, path, "sites")
    with Store(db) as store:
        assert store.query("SELECT count(*) FROM sites")[0][0] == 0
        assert store.query("SELECT count(*) FROM sources")[0][0] == 0


def test_re_import_without_the_flag_keeps_the_camera_restricted(tmp_path):
    """Finding 2: `import cameras a.csv --sensitivity restricted`, then again without it."""
    db, path = tmp_path / "s.db", _camera_file(tmp_path, "csv", [None])
    runner = CliRunner()
    first = runner.invoke(main, ["--db", str(db), "import", "cameras", str(path),
                                 "--sensitivity", "restricted"])
    assert first.exit_code == 0, first.output
    again = runner.invoke(main, ["--db", str(db), "import", "cameras", str(path), "--json"])
    assert again.exit_code == 0, again.output
    counts = json.loads(again.output)["layers"]["devices"]
    assert counts["updated"] == 0 and counts["kept_level"] == 1
    assert [r[1] for r in _stored(db, "devices")] == ["restricted"]


def test_a_different_file_with_the_same_name_cannot_overwrite_a_restricted_record(tmp_path):
    db = tmp_path / "s.db"
    first = _camera_file(tmp_path, "csv", [None], label="real")
    with Store(db) as store:
        import_cameras(store, first, sensitivity="restricted")
    other = tmp_path / "elsewhere"
    other.mkdir()
    forged = _camera_file(other, "csv", [None], label="forged")
    before = _stored(db, "devices")
    with Store(db) as store, pytest.raises(InputError, match="--declassify"):
        import_cameras(store, forged)
    assert _stored(db, "devices") == before


def test_declassify_lowers_and_is_logged(tmp_path):
    db = tmp_path / "s.db"
    path = _camera_file(tmp_path, "csv", [None])
    runner = CliRunner()
    for extra in (["--sensitivity", "restricted"], ["--declassify"]):
        res = runner.invoke(main, ["--db", str(db), "import", "cameras", str(path), *extra])
        assert res.exit_code == 0, res.output
    assert "declassified" in res.output
    assert [r[1] for r in _stored(db, "devices")] == ["public"]
    with Store(db) as store:
        details = [json.loads(r[0]) for r in store.query(
            "SELECT details FROM custody_log WHERE action = 'import' ORDER BY seq")]
    assert details[-1]["declassified"] == 1
    assert "declassified" not in details[0]
    assert runner.invoke(main, ["--db", str(db), "verify"]).exit_code == 0


def test_raising_a_level_by_re_import_is_an_update(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    path = _layer_file(tmp_path, "geojson", [None])
    with Store(db) as store:
        import_layer(store, path, "sites")
        summary = import_layer(store, path, "sites", sensitivity="confidential")
    assert summary.layers["sites"].updated == 1
    row = _stored(db, "sites")[0]
    assert row[1] == "confidential" and row[2].startswith("enc:")


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(sorted(IMPORTERS)),
    first_flag=st.sampled_from(LEVELS),
    first_rows=st.lists(st.sampled_from([None, *LEVELS]), min_size=1, max_size=4),
    second_flag=st.sampled_from(LEVELS),
    second_rows=st.lists(st.sampled_from([None, *LEVELS]), min_size=1, max_size=4),
    declassify=st.booleans(),
    changed=st.booleans(),
)
def test_the_rule_holds_for_every_importer_and_format(
    tmp_path_factory, monkeypatch, kind, first_flag, first_rows, second_flag, second_rows,
    declassify, changed,
):
    """Per-row > file flag > stored level; lowering only with declassify; nothing half-written."""
    set_key(monkeypatch)
    folder = tmp_path_factory.mktemp("rule")
    layer, fmt = kind
    db = folder / "s.db"
    n = min(len(first_rows), len(second_rows))
    first_rows, second_rows = first_rows[:n], second_rows[:n]
    importer = IMPORTERS[kind]
    with Store(db) as store:
        importer(store, _file(folder, layer, fmt, first_rows), sensitivity=first_flag)
    first = [lvl or first_flag for lvl in first_rows]
    assert [r[1] for r in _stored(db, layer)] == first
    before = _stored(db, layer)
    second_dir = folder / "again"
    second_dir.mkdir()
    path = _file(second_dir, layer, fmt, second_rows, label="moved" if changed else
                 ("shelter" if layer == "sites" else "cam"))
    wanted = [lvl or second_flag for lvl in second_rows]
    lowered = [_RANK[w] < _RANK[f] for w, f in zip(wanted, first, strict=True)]
    # the content differs when the label changed, or (per-row column) when a stored
    # attribute appears or disappears; only then can a lower row be refused
    with Store(db) as store:
        try:
            importer(store, path, sensitivity=second_flag, declassify=declassify)
        except InputError as exc:
            assert any(lowered) and not declassify, exc
            assert _stored(db, layer) == before  # all-or-nothing
            return
    after = [r[1] for r in _stored(db, layer)]
    for got, w, f in zip(after, wanted, first, strict=True):
        if declassify:
            assert got == w
        else:
            assert _RANK[got] >= _RANK[f]  # never lowered
            assert got == max(w, f, key=_RANK.get)


def test_a_confidential_row_has_no_plain_content_hash(tmp_path, monkeypatch):
    """Finding 8: a plain SHA-1 beside an encrypted row confirms guesses of its content."""
    set_key(monkeypatch)
    db = tmp_path / "s.db"
    path = _camera_file(tmp_path, "csv", ["confidential", None])
    with Store(db) as store:
        import_cameras(store, path)
        again = import_cameras(store, path).layers["devices"]
        rows = store.query("SELECT sensitivity, content_sha FROM devices ORDER BY id")
    assert again.unchanged == 2 and again.updated == 0
    assert rows[0][1].startswith("hmac:") and not rows[1][1].startswith("hmac:")
    # the same file again at a lower level: compared through the keyed hash, left as it is
    flagged = tmp_path / "flagged"
    flagged.mkdir()
    path = _camera_file(flagged, "csv", [None])
    with Store(db) as store:
        import_cameras(store, path, sensitivity="confidential")
        counts = import_cameras(store, path).layers["devices"]
    assert counts.kept_level == 1 and counts.updated == 0
