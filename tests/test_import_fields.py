"""Field camera lists: column detection, validation with row numbers, idempotency, sensitivity."""

from __future__ import annotations

import pytest

from builders import table_counts, write_csv, write_points_geojson
from survatlas.errors import CorruptFileError, InputError
from survatlas.ingest import import_cameras
from survatlas.store import Store

ROWS = [
    {"id": "c1", "lat": "60.170", "lng": "24.940", "camera:direction": "90", "surveillance:type": "camera"},
    {"id": "c2", "lat": "60.171", "lng": "24.941", "direction": "180", "fov_deg": "60", "range_m": "40"},
    {"id": "c3", "lat": "60.172", "lng": "24.942", "surveillance:type": "ALPR", "height_m": "4.5"},
]


@pytest.mark.parametrize(("lat", "lon"), [("lat", "lon"), ("Latitude", "Longitude"), ("y", "x"), ("lat", "lng")])
def test_coordinate_columns_are_detected(tmp_path, lat, lon):
    rows = [{lat: "60.17", lon: "24.94", "id": "a"}]
    with Store(tmp_path / "s.db") as store:
        summary = import_cameras(store, write_csv(tmp_path / "c.csv", rows))
        assert summary.layers["devices"].added == 1
        assert store.query("SELECT lon, lat FROM devices")[0][:] == (24.94, 60.17)


def test_explicit_geometry_columns_are_stored(tmp_path):
    with Store(tmp_path / "s.db") as store:
        import_cameras(store, write_csv(tmp_path / "c.csv", ROWS))
        rows = {r["origin"].split(":")[-1]: r for r in store.query("SELECT * FROM devices")}
    assert rows["c2"]["fov_deg"] == 60 and rows["c2"]["range_m"] == 40
    assert rows["c3"]["height_m"] == 4.5 and rows["c3"]["device_type"] == "alpr"


def test_semicolon_csv_is_sniffed(tmp_path):
    with Store(tmp_path / "s.db") as store:
        summary = import_cameras(store, write_csv(tmp_path / "c.csv", ROWS, delimiter=";"))
    assert summary.layers["devices"].added == 3


def test_same_file_twice_adds_nothing(tmp_path):
    path = write_csv(tmp_path / "c.csv", ROWS)
    with Store(tmp_path / "s.db") as store:
        import_cameras(store, path)
        again = import_cameras(store, path)
    assert again.layers["devices"].added == 0 and again.layers["devices"].unchanged == 3


def test_swapped_coordinates_are_reported_with_row_numbers_and_nothing_is_written(tmp_path):
    rows = [*ROWS, {"id": "bad", "lat": "124.9", "lng": "60.1"}]
    with Store(tmp_path / "s.db") as store, pytest.raises(InputError, match=r"row 5: latitude 124.9 .*swapped"):
        import_cameras(store, write_csv(tmp_path / "c.csv", rows))
    assert table_counts(tmp_path / "s.db")["devices"] == 0


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        ("name,operator\nA,police\n", "no latitude/longitude columns"),
        ("", "no rows"),
        ("lat,lon\nabc,24.9\n", "row 2: latitude 'abc' is not a number"),
        ("lat,lon\n0,0\n", "Null Island"),
        ("lat,lon,fov_deg\n60,24,400\n", "fov_deg '400' is outside"),
        ("lat,lon,sensitivity\n60,24,secret\n", "sensitivity 'secret'"),
    ],
)
def test_bad_csv_gives_clear_errors(tmp_path, content, pattern):
    path = tmp_path / "c.csv"
    path.write_text(content)
    with Store(tmp_path / "s.db") as store, pytest.raises(InputError, match=pattern):
        import_cameras(store, path)


def test_wrong_delimiter_hint(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("lat:lon:name\n60:24:a\n")
    with Store(tmp_path / "s.db") as store, pytest.raises(InputError, match="no latitude/longitude"):
        import_cameras(store, path)


def test_geojson_points_with_sensitivity_column(tmp_path):
    path = write_points_geojson(tmp_path / "c.geojson", [
        (24.94, 60.17, {"camera:type": "dome", "sensitivity": "restricted"}),
        (24.95, 60.18, {"camera:type": "fixed"}),
    ])
    with Store(tmp_path / "s.db") as store:
        import_cameras(store, path)
        rows = dict(store.query("SELECT camera_type, sensitivity FROM devices"))
    assert rows == {"dome": "restricted", "fixed": "public"}


def test_geojson_non_point_and_corrupt(tmp_path):
    lines = tmp_path / "l.geojson"
    lines.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","geometry":'
                     '{"type":"LineString","coordinates":[[0,0],[1,1]]},"properties":{}}]}')
    corrupt = tmp_path / "c.geojson"
    corrupt.write_text('{"type": "FeatureCollection", "features": [')
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(InputError, match="row 1: geometry is 'LineString'"):
            import_cameras(store, lines)
        with pytest.raises(CorruptFileError):
            import_cameras(store, corrupt)


def test_camera_height_and_tilt_columns(tmp_path):
    rows = [{"id": "p", "lat": "60.17", "lon": "24.94", "height_m": "6", "tilt_deg": "25"}]
    with Store(tmp_path / "s.db") as store:
        import_cameras(store, write_csv(tmp_path / "c.csv", rows))
        row = store.query("SELECT height_m, tilt_down_deg FROM devices")[0]
    assert (row["height_m"], row["tilt_down_deg"]) == (6.0, 25.0)
    bad = [{"id": "q", "lat": "60.17", "lon": "24.94", "tilt_deg": "120"}]
    with Store(tmp_path / "t.db") as store, pytest.raises(InputError, match="tilt_deg '120'"):
        import_cameras(store, write_csv(tmp_path / "d.csv", bad))
