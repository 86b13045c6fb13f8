"""OSM import: Helsinki and Monaco counts, idempotency, newer versions, corrupt files, kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import osmium
import pytest

from builders import table_counts
from import_helpers import slow_import_script
from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError
from survatlas.ingest import import_osm
from survatlas.store import Store

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def helsinki_store(tmp_path_factory, helsinki_pbf):
    path = tmp_path_factory.mktemp("h") / "h.db"
    with Store(path) as store:
        summary = import_osm(store, helsinki_pbf)
    return path, summary


def test_helsinki_has_221_surveillance_devices(helsinki_store):
    path, summary = helsinki_store
    with Store(path) as store:
        n = store.scalar("SELECT count(*) FROM devices WHERE json_extract(tags, '$.man_made') = 'surveillance'")
        speed = store.scalar("SELECT count(*) FROM devices WHERE device_type = 'speed_camera'")
        assert n == 221
        assert speed == store.scalar(
            "SELECT count(*) FROM devices WHERE json_extract(tags, '$.highway') = 'speed_camera'")
        assert store.scalar("SELECT count(*) FROM devices WHERE osm_version IS NULL OR osm_id IS NULL") == 0
    assert summary.layers["devices"].added == 221 + speed


def test_helsinki_buildings_streets_and_sites(helsinki_store):
    path, _ = helsinki_store
    with Store(path) as store:
        assert 400 <= store.scalar("SELECT count(*) FROM buildings") <= 600
        assert store.scalar("SELECT count(*) FROM buildings WHERE building = 'roof' AND obstacle = 1") == 0
        assert store.scalar("SELECT count(*) FROM streets") > 2000
        cats = dict(store.query("SELECT category, count(*) FROM sites GROUP BY 1"))
        types = {r[0] for r in store.query("SELECT DISTINCT osm_type FROM buildings")}
    assert cats["education"] >= 9 and cats["transport"] >= 3 and cats["workplace"] >= 200
    assert types == {"way", "relation"}  # multipolygon buildings are assembled too


def test_raw_tags_and_osm_metadata_are_kept(helsinki_store):
    path, _ = helsinki_store
    with Store(path) as store:
        row = store.query("SELECT tags, origin, osm_id, osm_type FROM devices LIMIT 1")[0]
        source = store.query("SELECT kind, licence, attribution, data_timestamp FROM sources")[0]
    tags = json.loads(row["tags"])
    assert tags.get("man_made") == "surveillance" or tags.get("highway") == "speed_camera"
    assert row["origin"] == f"osm:{row['osm_type']}/{row['osm_id']}"
    assert source["licence"] == "ODbL-1.0" and "OpenStreetMap contributors" in source["attribution"]
    assert source["data_timestamp"].startswith("2019")


def test_importing_again_changes_nothing(helsinki_store, helsinki_pbf):
    path, _ = helsinki_store
    before = table_counts(path)
    with Store(path) as store:
        summary = import_osm(store, helsinki_pbf)
    assert summary.changed == 0
    assert all(c.added == 0 and c.updated == 0 for c in summary.layers.values())
    assert table_counts(path) == before


def _write_osm(path: Path, version: int, direction: str) -> Path:
    with osmium.SimpleWriter(str(path)) as writer:
        writer.add_node(osmium.osm.mutable.Node(
            id=42, version=version, location=(24.94, 60.17), timestamp=f"2024-01-0{version}T00:00:00Z",
            tags={"man_made": "surveillance", "camera:direction": direction}))
    return path


def test_newer_version_updates_and_older_is_skipped(tmp_path):
    with Store(tmp_path / "s.db") as store:
        import_osm(store, _write_osm(tmp_path / "v1.osm", 1, "90"))
        newer = import_osm(store, _write_osm(tmp_path / "v2.osm", 2, "180"))
        assert newer.layers["devices"].updated == 1
        older = import_osm(store, _write_osm(tmp_path / "v1b.osm", 1, "270"))
        assert older.layers["devices"].skipped_older == 1
        row = store.query("SELECT osm_version, tags FROM devices")[0]
    assert row["osm_version"] == 2 and json.loads(row["tags"])["camera:direction"] == "180"


def test_truncated_pbf_is_a_clear_error_and_writes_nothing(tmp_path, helsinki_pbf):
    broken = tmp_path / "broken.osm.pbf"
    broken.write_bytes(helsinki_pbf.read_bytes()[: 300_000])
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(CorruptFileError, match="could not be read"):
            import_osm(store, broken)
        assert store.scalar("SELECT count(*) FROM devices") == 0
        assert store.scalar("SELECT count(*) FROM sources") == 0


def test_missing_and_misnamed_files(tmp_path):
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(InputFileNotFoundError):
            import_osm(store, tmp_path / "nope.osm.pbf")
        (tmp_path / "cams.csv").write_text("a,b\n")
        with pytest.raises(InputError, match="not an OSM file"):
            import_osm(store, tmp_path / "cams.csv")


_SLOW_IMPORT = slow_import_script()


def test_kill_9_mid_import_leaves_store_as_it_was(tmp_path, monaco_pbf, helsinki_pbf):
    db = tmp_path / "s.db"
    with Store(db) as store:
        import_osm(store, monaco_pbf)
    before = table_counts(db)
    marker = tmp_path / "marker"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", _SLOW_IMPORT, str(db), str(marker), str(helsinki_pbf)],
                            env=env)
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "the import ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert table_counts(db) == before
    with Store(db) as store:  # opens, and a fresh import still works
        assert store.scalar("PRAGMA integrity_check") == "ok"
        assert import_osm(store, helsinki_pbf).layers["devices"].added > 200
