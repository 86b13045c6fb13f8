"""Growth in the area report: the same figures as ``survatlas timeline --json``; absent history
says why; a device restricted now never shows as it stood before."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

import test_growth
from survatlas.cli import main
from survatlas.ingest import import_osm
from survatlas.publish.growth import history_span, timeline
from survatlas.store import Store
from survatlas.store.gate import read_layer
from survatlas.synth.osmfile import write_osm

history_db = test_growth.history_db  # the same history store as test_growth

BBOX = "24.9490,60.1690,24.9545,60.1745"  # nodes 1 to 5 (node 6 is outside)



def _run(db, *args: str) -> str:
    result = CliRunner().invoke(main, ["--db", str(db), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_report_growth_equals_timeline_json(history_db, tmp_path):
    report = json.loads(_run(history_db, "report", "--bbox", BBOX, "--format", "json"))
    growth = report["growth"]
    assert growth["available"] and growth["reason"] is None
    assert growth["by"] == "year"  # 2015-2022: several years
    cli = json.loads(_run(history_db, "timeline", "--bbox", BBOX, "--by", "year", "--json"))
    assert growth["timeline"] == cli
    in_place = [p["in_place"] for p in cli["periods"]]
    assert in_place == [2, 3, 3, 1, 1, 2, 3, 3]  # node 6 (outside the box) is not counted
    assert growth["span"]["start"].startswith("2015-01-01")
    # every number of the section is the timeline's: the per-period table in Markdown
    md = _run(history_db, "report", "--bbox", BBOX, "--format", "md")
    section = md.split("## Growth over time", 1)[1].split("\n## ", 1)[0]
    for p in cli["periods"]:
        assert f"| {p['period']} | {p['added']} | {p['removed']} | {p['in_place']} |" in section
    added = sum(p["added"] for p in cli["periods"])
    removed = sum(p["removed"] for p in cli["periods"])
    assert f"**+{added} / −{removed}** devices added / removed in the map, 2015–2022" in md
    assert "| camera | 6 | 3 | 3 |" in section  # by type: added, removed, in place at the end
    assert "OSM mapping dates" in md


def test_report_html_carries_the_growth_chart(history_db):
    html = _run(history_db, "report", "--bbox", BBOX, "--format", "html")
    section = html.split("Growth over time", 1)[1]
    assert "data:image/svg+xml;base64," in section.split("</section>", 1)[0]


def test_report_without_history_says_why(tmp_path):
    write_osm(tmp_path / "one.osm.pbf", cameras=np.array([(24.95, 60.17), (24.951, 60.171)]))
    db = tmp_path / "one.db"
    with Store(db) as store:
        import_osm(store, tmp_path / "one.osm.pbf")
        span = history_span(store)
    assert not span["available"] and span["devices"] == 2
    report = json.loads(_run(db, "report", "--bbox", BBOX, "--format", "json"))
    assert report["growth"]["available"] is False and "timeline" not in report["growth"]
    md = _run(db, "report", "--bbox", BBOX, "--format", "md")
    section = md.split("## Growth over time", 1)[1].split("\n## ", 1)[0]
    assert "No growth figures: one snapshot only" in section
    assert "full-history file" in section and "|" not in section  # one line, no table
    run = CliRunner().invoke(main, ["--db", str(db), "timeline"])
    assert run.exit_code == 0 and "note: one snapshot only" in run.stderr


def test_a_device_restricted_now_never_shows_as_it_was(history_db):
    with Store(history_db) as store:
        before = timeline(store)["periods"][1]["in_place"]  # 2016: nodes 1, 2, 3, 6
        # node 1 reclassified (e.g. its report came from a protected source)
        store.conn.execute("UPDATE devices SET sensitivity = 'restricted' "
                           "WHERE origin = 'osm:node/1'")
        store.conn.commit()
        then = read_layer(store, "devices", as_of="2016-06-01")
        staff = read_layer(store, "devices", as_of="2016-06-01", audience="restricted")
        result = timeline(store)
    assert "osm:node/1" not in set(then["origin"])
    assert "osm:node/1" in set(staff["origin"])
    assert result["periods"][1]["in_place"] == before - 1
    assert result["periods"][0]["added"] == 2  # 2015: nodes 5 and 6 only
