"""The origin of a confidential record made from a file is sealed (issue 15, finding 8):
``layer:shelters.geojson:3`` names the file and the row, so a confidential row keeps
``sealed:<hmac>`` instead — the same file imported again still finds its record, at any
level, and the level rule (a re-import never lowers a record) still holds."""

from __future__ import annotations

import json

import pytest

from security_builders import set_key
from survatlas.errors import InputError
from survatlas.ingest import import_layer
from survatlas.store import Store
from survatlas.store.encryption import KEY_ENV

NAME = "womens-shelters-QX81"


def _layer(path, rows):
    feats = [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [7.40 + i * 0.01, 43.7]},
         "properties": {"id": f"{NAME}-{i}", "name": f"shelter {i}", "category": "public_space",
                        **({"sensitivity": level} if level else {})}}
        for i, level in enumerate(rows)
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": feats}))
    return path


@pytest.fixture
def store(tmp_path, monkeypatch):
    set_key(monkeypatch)
    with Store(tmp_path / "s.db") as s:
        yield s


def _rows(store):
    return [tuple(r) for r in store.query("SELECT id, origin, sensitivity FROM sites ORDER BY id")]


def test_a_confidential_file_leaves_no_name_in_the_store(store, tmp_path):
    path = _layer(tmp_path / f"{NAME}.geojson", [None, None])
    import_layer(store, path, "sites", sensitivity="confidential")
    rows = _rows(store)
    assert len(rows) == 2 and all(o.startswith("sealed:") for _, o, _ in rows)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert NAME.encode() not in store.path.read_bytes()


def test_only_the_confidential_rows_of_a_mixed_file_are_sealed(store, tmp_path):
    path = _layer(tmp_path / "mixed.geojson", [None, "confidential", "restricted"])
    import_layer(store, path, "sites")
    origins = {s: o for _, o, s in _rows(store)}
    assert origins["public"] == f"layer:mixed.geojson:{NAME}-0"
    assert origins["restricted"] == f"layer:mixed.geojson:{NAME}-2"
    assert origins["confidential"].startswith("sealed:") and NAME not in origins["confidential"]


def test_re_imports_find_the_sealed_record_at_every_level(store, tmp_path):
    path = _layer(tmp_path / f"{NAME}.geojson", [None])
    import_layer(store, path, "sites", sensitivity="confidential")
    before = _rows(store)
    again = import_layer(store, path, "sites", sensitivity="confidential")
    assert _rows(store) == before and again.counts()["added"] == 0
    # without the flag: the record keeps its level, and no public twin appears
    import_layer(store, path, "sites")
    assert _rows(store) == before
    # declassified on purpose: the same record, now public, with its clear origin
    import_layer(store, path, "sites", declassify=True)
    assert _rows(store) == [(before[0][0], f"layer:{NAME}.geojson:{NAME}-0", "public")]


def test_a_record_raised_to_confidential_is_sealed_in_place(store, tmp_path):
    path = _layer(tmp_path / f"{NAME}.geojson", [None])
    import_layer(store, path, "sites", sensitivity="restricted")
    (row_id, origin, _), = _rows(store)
    assert NAME in origin
    import_layer(store, path, "sites", sensitivity="confidential")
    (same_id, sealed, level), = _rows(store)
    assert (same_id, level) == (row_id, "confidential") and sealed.startswith("sealed:")


def test_without_the_key_a_layer_with_sealed_origins_is_not_re_imported(store, tmp_path, monkeypatch):
    path = _layer(tmp_path / f"{NAME}.geojson", [None])
    import_layer(store, path, "sites", sensitivity="confidential")
    before = _rows(store)
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(InputError, match="give the key"):
        import_layer(store, _layer(tmp_path / "other.geojson", [None, None]), "sites")
    assert _rows(store) == before
