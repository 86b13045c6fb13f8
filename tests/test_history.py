"""Device history: full-history files and successive snapshots (synthetic files, pyosmium)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from survatlas.ingest import import_osm
from survatlas.store import Store
from survatlas.synth.osmfile import write_history, write_osm

CAM = {"man_made": "surveillance", "surveillance:type": "camera"}
NODES = [
    # 1: added 2015, moved 2017, retagged 2019
    dict(id=1, version=1, timestamp="2015-01-01T00:00:00Z", lon=24.95, lat=60.17, tags=CAM),
    dict(id=1, version=2, timestamp="2017-06-01T00:00:00Z", lon=24.9502, lat=60.17, tags=CAM),
    dict(id=1, version=3, timestamp="2019-03-01T00:00:00Z", lon=24.9502, lat=60.17,
         tags={**CAM, "operator": "City"}),
    # 2: added 2016, deleted 2018
    dict(id=2, version=1, timestamp="2016-01-01T00:00:00Z", lon=24.951, lat=60.171, tags=CAM),
    dict(id=2, version=2, timestamp="2018-01-01T00:00:00Z", visible=False),
    # 3: a camera until 2018, then a bench (untagged)
    dict(id=3, version=1, timestamp="2016-01-01T00:00:00Z", lon=24.952, lat=60.172, tags=CAM),
    dict(id=3, version=2, timestamp="2018-05-01T00:00:00Z", lon=24.952, lat=60.172,
         tags={"amenity": "bench"}),
    # 4: an untagged node that became a camera in 2020
    dict(id=4, version=1, timestamp="2014-01-01T00:00:00Z", lon=24.953, lat=60.173, tags={}),
    dict(id=4, version=2, timestamp="2020-01-01T00:00:00Z", lon=24.953, lat=60.173, tags=CAM),
    # 5: a camera, removed, mapped again on the same node
    dict(id=5, version=1, timestamp="2015-01-01T00:00:00Z", lon=24.954, lat=60.174, tags=CAM),
    dict(id=5, version=2, timestamp="2016-01-01T00:00:00Z", lon=24.954, lat=60.174, tags={}),
    dict(id=5, version=3, timestamp="2021-01-01T00:00:00Z", lon=24.954, lat=60.174, tags=CAM),
    # 6: a version that changes a tag survatlas does not read (edited)
    dict(id=6, version=1, timestamp="2015-01-01T00:00:00Z", lon=24.955, lat=60.175, tags=CAM),
    dict(id=6, version=2, timestamp="2022-01-01T00:00:00Z", lon=24.955, lat=60.175,
         tags={**CAM, "survey:date": "2021-12-30"}),
]
STREET = [dict(id=100, version=1, timestamp="2015-01-01T00:00:00Z", lon=24.95, lat=60.18),
          dict(id=101, version=1, timestamp="2015-01-01T00:00:00Z", lon=24.96, lat=60.18)]
WAYS = [dict(id=10, version=1, timestamp="2015-01-01T00:00:00Z", nodes=[100, 101],
             tags={"highway": "residential"}),
        dict(id=10, version=2, timestamp="2019-01-01T00:00:00Z", nodes=[100, 101],
             tags={"highway": "residential", "name": "Uusi katu"})]


def _versions(store: Store) -> list[tuple]:
    return [tuple(r) for r in store.query(
        "SELECT origin, osm_version, valid_from, valid_to, change, ended FROM device_versions "
        "ORDER BY origin, valid_from")]


def _history_file(tmp_path: Path) -> Path:
    return write_history(tmp_path / "area.osh.pbf", NODES + STREET, WAYS)


def test_every_version_with_valid_from_and_to(tmp_path):
    with Store(tmp_path / "s.db") as store:
        summary = import_osm(store, _history_file(tmp_path))
        rows = _versions(store)
        current = {tuple(r) for r in store.query("SELECT origin, osm_version, operator FROM devices")}
        street = store.query("SELECT name FROM streets")[0][0]
    t = "T00:00:00+00:00"
    assert rows == [
        ("osm:node/1", 1, f"2015-01-01{t}", f"2017-06-01{t}", "added", "superseded"),
        ("osm:node/1", 2, f"2017-06-01{t}", f"2019-03-01{t}", "moved", "superseded"),
        ("osm:node/1", 3, f"2019-03-01{t}", None, "retagged", None),
        ("osm:node/2", 1, f"2016-01-01{t}", f"2018-01-01{t}", "added", "deleted"),
        ("osm:node/3", 1, f"2016-01-01{t}", f"2018-05-01{t}", "added", "untagged"),
        ("osm:node/4", 2, f"2020-01-01{t}", None, "added", None),
        ("osm:node/5", 1, f"2015-01-01{t}", f"2016-01-01{t}", "added", "untagged"),
        ("osm:node/5", 3, f"2021-01-01{t}", None, "reappeared", None),
        ("osm:node/6", 1, f"2015-01-01{t}", f"2022-01-01{t}", "added", "superseded"),
        ("osm:node/6", 2, f"2022-01-01{t}", None, "edited", None),
    ]
    # the current view is the latest state: deleted and untagged devices are not in it
    assert current == {("osm:node/1", 3, "City"), ("osm:node/4", 2, None),
                       ("osm:node/5", 3, None), ("osm:node/6", 2, None)}
    assert street == "Uusi katu"  # other layers: the latest version too
    assert summary.history["deleted"] == 1 and summary.history["untagged"] == 2


def test_history_import_is_idempotent(tmp_path):
    path = _history_file(tmp_path)
    with Store(tmp_path / "s.db") as store:
        import_osm(store, path)
        before = _versions(store)
        again = import_osm(store, path)
        assert _versions(store) == before
        assert again.changed == 0
        assert store.query("SELECT count(*) FROM snapshots")[0][0] == 1


def _snapshot(path: Path, cams: list[tuple[float, float]], tags: list[dict]) -> Path:
    write_osm(path, cameras=np.array(cams), camera_tags=tags)
    return path


def test_newer_snapshot_records_appeared_moved_retagged_disappeared(tmp_path):
    """Two extracts of one area: the second's changes are recorded, not overwritten."""
    old = _snapshot(tmp_path / "2019.osm.pbf", [(24.95, 60.17), (24.951, 60.171), (24.952, 60.172),
                                                (24.953, 60.173)], [{}, {}, {}, {}])
    with Store(tmp_path / "s.db") as store:
        first = import_osm(store, old, as_of="2019-04-21")
        assert first.history["added"] == 4
        # the newer extract: node 1 moved, node 2 retagged, node 3 gone, node 4 kept, node 5 new
        new = tmp_path / "2025.osm.pbf"
        write_osm(new, cameras=np.array([(24.9503, 60.17), (24.951, 60.171), (24.953, 60.173),
                                         (24.9525, 60.1725)]),
                  camera_tags=[{}, {"camera:mount": "pole"}, {}, {}])
        _renumber(new, {1: 1, 2: 2, 3: 4, 4: 5}, bumped={1, 2})
        second = import_osm(store, new, as_of="2025-11-01", bounds=(24.94, 60.16, 24.96, 60.18))
        rows = _versions(store)
        current = {r[0] for r in store.query("SELECT origin FROM devices")}
    assert second.history == {"added": 1, "reappeared": 0, "moved": 1, "retagged": 1,
                              "edited": 0, "kept": 1, "absent": 1, "older": 0}
    changes = {(r[0], r[4], r[5]) for r in rows}
    assert ("osm:node/3", "added", "absent") in changes
    assert ("osm:node/1", "moved", None) in changes and ("osm:node/2", "retagged", None) in changes
    assert ("osm:node/5", "added", None) in changes
    assert current == {"osm:node/1", "osm:node/2", "osm:node/4", "osm:node/5"}
    gone = next(r for r in rows if r[0] == "osm:node/3")
    assert gone[3] == "2025-11-01T00:00:00+00:00"  # known gone by the newer snapshot's date


def test_snapshot_outside_its_bounds_declares_nothing_absent(tmp_path):
    a = _snapshot(tmp_path / "a.osm.pbf", [(24.95, 60.17), (25.5, 60.5)], [{}, {}])
    b = _snapshot(tmp_path / "b.osm.pbf", [(24.95, 60.17)], [{}])
    with Store(tmp_path / "s.db") as store:
        import_osm(store, a, as_of="2019-01-01")
        summary = import_osm(store, b, as_of="2020-01-01", bounds=(24.9, 60.1, 25.0, 60.2))
        assert summary.history["absent"] == 0 and summary.history["kept"] == 1
        assert store.query("SELECT count(*) FROM devices")[0][0] == 2


def test_an_older_snapshot_after_a_newer_one_changes_no_history(tmp_path):
    a = _snapshot(tmp_path / "a.osm.pbf", [(24.95, 60.17)], [{}])
    b = _snapshot(tmp_path / "b.osm.pbf", [(24.95, 60.17), (24.951, 60.171)], [{}, {}])
    with Store(tmp_path / "s.db") as store:
        import_osm(store, b, as_of="2025-01-01")
        summary = import_osm(store, a, as_of="2019-01-01", bounds=(24.9, 60.1, 25.0, 60.2))
        assert summary.history["absent"] == 0
        assert store.query("SELECT count(*) FROM device_versions WHERE valid_to IS NULL")[0][0] == 2


def _renumber(path: Path, ids: dict[int, int], bumped: set[int]) -> None:
    """Rewrite camera node ids (and bump versions) so that two files share OSM identities."""
    import osmium
    from osmium.osm.mutable import Node

    cams = [(n.id, n.location.lon, n.location.lat, {t.k: t.v for t in n.tags})
            for n in osmium.FileProcessor(str(path), osmium.osm.NODE) if "man_made" in n.tags]
    path.unlink()
    with osmium.SimpleWriter(str(path)) as writer:
        for k, (_, lon, lat, tags) in enumerate(cams, start=1):
            new = ids[k]
            writer.add_node(Node(id=new, version=2 if new in bumped else 1,
                                 timestamp="2025-10-01T00:00:00Z" if new in bumped
                                 else "2019-01-01T00:00:00Z", location=(lon, lat), tags=tags))


def test_past_versions_follow_the_level_of_the_stored_device(tmp_path):
    """Issue 15: a history file imported as public never makes public the past versions of
    a device the store holds as restricted (the sensitivity rule of current rows)."""
    from survatlas.store.gate import read_layer

    path = _history_file(tmp_path)
    current = write_history(tmp_path / "now.osh.pbf", [NODES[2]])  # node 1, its latest version
    with Store(tmp_path / "s.db") as store:
        import_osm(store, current, sensitivity="restricted")
        import_osm(store, path)  # the whole history, as public
        levels = {tuple(r) for r in store.query(
            "SELECT origin, sensitivity FROM device_versions WHERE origin = 'osm:node/1'")}
        assert levels == {("osm:node/1", "restricted")}
        others = {r[0] for r in store.query(
            "SELECT sensitivity FROM device_versions WHERE origin != 'osm:node/1'")}
        assert others == {"public"}
        then = read_layer(store, "devices", as_of="2018-01-01")  # public audience
        assert "osm:node/1" not in set(then["origin"])
        assert "osm:node/1" in set(
            read_layer(store, "devices", as_of="2018-01-01", audience="restricted")["origin"]
        )
