"""Growth over time: timeline, diff, coverage as of a date, the chart, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from survatlas.cli import main
from survatlas.errors import InputError
from survatlas.ingest import import_osm
from survatlas.publish.growth import diff, timeline, timeline_chart
from survatlas.store import Store
from survatlas.store.gate import read_layer
from survatlas.synth.osmfile import write_history, write_osm
from test_history import NODES, STREET, WAYS


@pytest.fixture
def history_db(tmp_path):
    path = write_history(tmp_path / "area.osh.pbf", NODES + STREET, WAYS)
    db = tmp_path / "s.db"
    with Store(db) as store:
        import_osm(store, path)
    return db


def test_timeline_by_year(history_db):
    with Store(history_db) as store:
        result = timeline(store, by="year")
    rows = {p["period"]: (p["added"], p["removed"], p["in_place"]) for p in result["periods"]}
    assert rows == {
        "2015": (3, 0, 3),  # nodes 1, 5, 6
        "2016": (2, 1, 4),  # 2 and 3 added; 5 untagged
        "2017": (0, 0, 4),
        "2018": (0, 2, 2),  # 2 deleted, 3 untagged
        "2019": (0, 0, 2),  # 1 retagged: no add, no removal
        "2020": (1, 0, 3),  # 4 became a camera
        "2021": (1, 0, 4),  # 5 came back
        "2022": (0, 0, 4),  # 6 edited
    }
    ops = result["periods"][4]["by"]["operator"]  # 2019: node 1 now operated by the City
    assert ops == {"City": {"added": 0, "removed": 0, "in_place": 1},
                   "unknown": {"added": 0, "removed": 0, "in_place": 1}}
    assert "mapping dates" in " ".join(result["assumptions"])
    assert "OpenStreetMap" in result["attribution"]


def test_timeline_by_month_and_bbox(history_db):
    with Store(history_db) as store:
        result = timeline(store, by="month", bbox=(24.9495, 60.1695, 24.9515, 60.1715))
        with pytest.raises(InputError, match="month or year"):
            timeline(store, by="week")
    months = [p["period"] for p in result["periods"]]
    # nodes 1 and 2 only; the periods run to the history's last observation (2022-01)
    assert months[0] == "2015-01" and months[-1] == "2022-01"
    assert len(months) == 85
    assert {p["in_place"] for p in result["periods"] if p["period"] >= "2019-03"} == {1}
    removed = {p["period"]: p["removed"] for p in result["periods"] if p["removed"]}
    assert removed == {"2018-01": 1}


def test_diff_between_dates(history_db):
    with Store(history_db) as store:
        result = diff(store, "2016-06-01", "2021-06-01")
        with pytest.raises(InputError, match="after"):
            diff(store, "2021-01-01", "2016-01-01")
    changes = {d["origin"]: d["change"] for d in result["devices"]}
    assert changes == {"osm:node/1": "moved", "osm:node/2": "disappeared",
                       "osm:node/3": "disappeared", "osm:node/4": "appeared",
                       "osm:node/5": "appeared", "osm:node/6": "kept"}
    assert result["counts"] == {"appeared": 2, "disappeared": 2, "moved": 1, "retagged": 0,
                                "kept": 2}
    assert (result["in_place_from"], result["in_place_to"]) == (4, 4)


def test_devices_as_of_a_date(history_db):
    with Store(history_db) as store:
        then = read_layer(store, "devices", as_of="2017-01-01")
        now = read_layer(store, "devices")
    assert sorted(then["origin"]) == ["osm:node/1", "osm:node/2", "osm:node/3", "osm:node/6"]
    moved = then[then["origin"] == "osm:node/1"].iloc[0]
    assert moved["lon"] == pytest.approx(24.95) and moved["osm_version"] == 1
    gone = then[then["origin"] == "osm:node/2"].iloc[0]
    # no current device, so no public number (a version's row id would count hidden ones)
    assert pd.isna(gone["id"])
    assert sorted(now["origin"]) == ["osm:node/1", "osm:node/4", "osm:node/5", "osm:node/6"]


def test_public_outputs_count_public_records_only(tmp_path):
    write_osm(tmp_path / "pub.osm.pbf", cameras=np.array([(24.95, 60.17)]))
    write_osm(tmp_path / "restricted.osm.pbf", cameras=np.array([(25.5, 60.5), (25.6, 60.6)]))
    with Store(tmp_path / "s.db") as store:
        import_osm(store, tmp_path / "pub.osm.pbf")
        # other ids: a second file of the same writer would reuse node ids 1..n
        store_ids = store.query("SELECT count(*) FROM devices")[0][0]
        assert store_ids == 1
    with Store(tmp_path / "r.db") as store:
        import_osm(store, tmp_path / "restricted.osm.pbf", sensitivity="restricted")
        public = timeline(store)
        staff = timeline(store, audience="restricted")
    assert public["periods"] == []
    assert staff["periods"][-1]["in_place"] == 2


def test_chart_png(history_db, tmp_path):
    with Store(history_db) as store:
        result = timeline(store, by="year")
    png = timeline_chart(result, tmp_path / "t.png")
    with Image.open(png) as img:
        assert img.size[0] > 600 and img.size[1] > 400
        colours = img.convert("RGB").getcolors(1 << 20)
    # the added (bluish green) and removed (vermillion) bars are drawn
    assert any(c == (0, 158, 115) for _, c in colours)
    assert any(c == (213, 94, 0) for _, c in colours)
    with pytest.raises(InputError, match="no device history"):
        timeline_chart({"periods": [], "by": "year"}, tmp_path / "empty.png")


def test_cli_timeline_diff_and_coverage_as_of(history_db, tmp_path):
    runner = CliRunner()
    run = runner.invoke(main, ["--db", str(history_db), "timeline", "--json", "--chart",
                               str(tmp_path / "c.png")])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["periods"][0]["period"] == "2015"
    assert (tmp_path / "c.png").stat().st_size > 10_000
    run = runner.invoke(main, ["--db", str(history_db), "timeline", "--group", "device_type"])
    assert run.exit_code == 0 and "camera" in run.stdout and "mapping dates" in run.stdout
    run = runner.invoke(main, ["--db", str(history_db), "diff", "--from", "2016-06-01",
                               "--to", "2021-06-01"])
    assert run.exit_code == 0
    assert "2 appeared, 2 disappeared, 2 kept (1 moved, 0 retagged)" in run.stdout
    run = runner.invoke(main, ["--db", str(history_db), "diff", "--from", "yesterday",
                               "--to", "2021-06-01"])
    assert run.exit_code == 2 and "'yesterday' is not a date" in run.stderr
    run = runner.invoke(main, ["--db", str(history_db), "coverage", "--as-of", "2017-01-01",
                               "--level", "detection", "--scenario", "typical", "--json"])
    assert run.exit_code == 0, run.output
    summary = json.loads(run.stdout)
    assert summary["cameras"] == 4 and summary["cameras_as_of"] == "2017-01-01"
    run = runner.invoke(main, ["--db", str(history_db), "coverage", "--level", "detection",
                               "--scenario", "typical", "--json"])
    assert json.loads(run.stdout)["cameras"] == 4 and "cameras_as_of" not in run.stdout
