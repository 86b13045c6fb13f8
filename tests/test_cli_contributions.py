"""CLI: moderate contributions, export them as osmChange, and field-file templates."""

from __future__ import annotations

import csv
import json

from click.testing import CliRunner

from survatlas.cli import main
from survatlas.contribute.moderation import submit_contribution
from survatlas.store import Store
from survatlas.store.gate import read_layer

FIELDS = {"lat": "60.17", "lon": "24.94", "direction": "90", "camera:mount": "pole",
          "note": "by the kiosk"}


def _run(db, *args):
    return CliRunner().invoke(main, ["--db", str(db), *args])


def test_moderate_and_export_osmchange(tmp_path):
    db = tmp_path / "c.db"
    with Store(db) as store:
        first = submit_contribution(store, FIELDS)
        second = submit_contribution(store, {**FIELDS, "lat": "60.18"})
    listed = _run(db, "contributions", "list", "--json")
    assert listed.exit_code == 0 and [c["id"] for c in json.loads(listed.output)] == [2, 1]
    out = _run(db, "contributions", "accept", str(first), "--actor", "ed", "--json")
    assert out.exit_code == 0, out.output
    device_id = json.loads(out.output)["device_id"]
    assert _run(db, "contributions", "reject", str(second), "--reason", "dup").exit_code == 0
    again = _run(db, "contributions", "accept", str(second))
    assert again.exit_code == 2 and "final" in again.output
    osc = tmp_path / "out.osc"
    res = _run(db, "export", "--layer", "contributions", "--format", "osc", str(osc), "--json")
    assert res.exit_code == 0 and json.loads(res.output)["features"] == 1
    assert 'k="camera:mount" v="pole"' in osc.read_text() and "kiosk" not in osc.read_text()
    wrong = _run(db, "export", "--layer", "devices", "--format", "osc", str(tmp_path / "d.osc"))
    assert wrong.exit_code == 2 and "contributions only" in wrong.output
    with Store(db) as store:
        assert read_layer(store, "devices")["id"].tolist() == [device_id]
        decided_by = store.scalar("SELECT decided_by FROM contributions WHERE id = ?", (first,))
    assert decided_by == "ed"


def test_the_template_imports_back_with_the_same_fields(tmp_path):
    template = tmp_path / "cams.csv"
    assert CliRunner().invoke(main, ["template", "cameras", str(template)]).exit_code == 0
    with template.open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    row = {"id": "a1", "latitude": "60.17", "longitude": "24.94", "camera:direction": "45",
           "surveillance:type": "camera", "camera:mount": "wall", "camera:type": "dome",
           "operator": "City", "height": "3", "sensitivity": "public"}
    assert set(row) <= set(header)
    with template.open("a", encoding="utf-8", newline="") as fh:
        csv.DictWriter(fh, header).writerow(row)
    db = tmp_path / "t.db"
    res = _run(db, "import", "cameras", str(template), "--json")
    assert res.exit_code == 0, res.output
    with Store(db) as store:
        dev = read_layer(store, "devices").iloc[0]
    assert (dev["mount"], dev["camera_type"], dev["height_m"]) == ("wall", "dome", 3.0)
    geojson = tmp_path / "cams.geojson"
    assert CliRunner().invoke(main, ["template", "cameras", str(geojson)]).exit_code == 0
    doc = json.loads(geojson.read_text(encoding="utf-8"))
    assert doc["features"] == [] and "wall" in doc["survatlas:values"]["camera:mount"]
    exists = CliRunner().invoke(main, ["template", "cameras", str(template)])
    assert exists.exit_code == 2 and "exists" in exists.output
