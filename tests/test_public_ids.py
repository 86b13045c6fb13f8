"""Issue 15, finding 4: public ids never count hidden records.

Row ids shift by the number of hidden rows written before a public one, so a public export
whose ids were row ids would say how many restricted devices and sources exist. Here the
hidden records come first, between every two public writes and last
(``build_pair(order="interleaved")``): every id a public output shows — exports in every format,
every printing command, every web route, the profile's source references — must be 1…n without
gaps and equal to the output of a store that never held the hidden records.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from security_builders import CANARY, build_pair, leaks, raw_leaks, set_key, without_times
from survatlas.provenance.sources import cite_source
from survatlas.publish import export
from survatlas.publish.browse import feature_page
from survatlas.publish.profile import country_profile
from survatlas.store import Store, gate
from survatlas.supply import ClaimInput, record_claim
from test_canary import FORMATS, LAYERS, PUBLIC_OUTPUT, _export, _normalise, _run
from test_canary_web import _decode, _requests, endpoints, make_app, moderation_paths

NUMBERED = ("devices", "buildings", "streets", "sites", "sources", "claims")
WORLD = (-180.0, -90.0, 180.0, 90.0)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    set_key(mp)
    try:
        yield build_pair(tmp_path_factory.mktemp("public-ids"), order="interleaved")
    finally:
        mp.undo()


def _ids(store: Store, table: str, where: str) -> list[int]:
    return [r[0] for r in store.query(f"SELECT id FROM {table} WHERE {where} ORDER BY id")]


def test_hidden_rows_come_first_between_and_last(pair):
    """Guard: in the canary store the hidden rows really surround and split the public ones."""
    _, canary, _ = pair
    with Store(canary, create=False) as store:
        for table in NUMBERED:
            public = _ids(store, table, gate.audience_clause("public"))
            hidden = _ids(store, table, "sensitivity != 'public'")
            assert public and hidden, table
            assert min(hidden) < min(public), table
            assert max(hidden) > max(public), table
            if table not in ("sources", "claims"):  # sources: two public, claims: one
                assert any(min(public) < h < max(public) for h in hidden), table
            assert public != list(range(1, len(public) + 1)), f"{table}: row ids have no gaps"


def test_gate_reads_number_the_visible_rows_densely(pair):
    plain, canary, _ = pair
    seen = []
    for db in (plain, canary):
        with Store(db, create=False) as store:
            out = {}
            for layer in ("devices", "buildings", "streets", "sites"):
                ids = gate.read_layer(store, layer)["id"].tolist()
                assert ids == list(range(1, len(ids) + 1)), layer
                page = feature_page(store, layer, WORLD)
                assert [f["id"] for f in page["features"]] == ids, layer
                out[layer] = ids
            out["sources"] = [s["id"] for s in gate.read_sources(store)]
            out["claims"] = [(c["id"], c["source_id"], c["subject_id"])
                             for c in gate.read_claims(store)]
            assert out["sources"] == list(range(1, len(out["sources"]) + 1))
            seen.append(out)
    assert seen[0] == seen[1]


def test_public_numbers_and_rows_convert_both_ways(pair):
    _, canary, _ = pair
    with Store(canary, create=False) as store:
        for table in NUMBERED:
            rows = _ids(store, table, gate.audience_clause("public"))
            if table == "claims":
                rows = [r for r in rows if gate.public_id(store, "claims", r) is not None]
            for number, row in enumerate(rows, start=1):
                assert gate.public_id(store, table, row) == number
                assert gate.row_id(store, table, number) == row
            assert gate.row_id(store, table, len(rows) + 1) is None
            hidden = _ids(store, table, "sensitivity != 'public'")
            assert all(gate.public_id(store, table, h) is None for h in hidden)
            # the custodian (confidential audience) sees the store's own ids
            assert gate.public_id(store, table, hidden[0], "confidential") == hidden[0]


@pytest.mark.parametrize(
    ("layer", "fmt"), [(la, f) for la in LAYERS for f in FORMATS if export.supports(la, f)]
)
def test_every_export_has_the_ids_of_a_store_without_hidden_records(pair, tmp_path, layer, fmt):
    plain, canary, _ = pair
    with_hidden = _export(canary, layer, fmt, tmp_path / "with")
    without = _export(plain, layer, fmt, tmp_path / "without")
    assert leaks(with_hidden) == []
    assert with_hidden.canonical() == without.canonical()


def test_the_device_export_numbers_devices_one_to_n(pair, tmp_path):
    _, canary, _ = pair
    with Store(canary, create=False) as store:
        export.export_layer(store, "devices", "geojson", tmp_path / "d.geojson")
    props = [f["properties"] for f in json.loads((tmp_path / "d.geojson").read_text())["features"]]
    ids = [p["survatlas:device_id"] for p in props]
    assert ids == list(range(1, len(ids) + 1))
    assert {p["survatlas:source_id"] for p in props} <= set(range(1, 10))


@pytest.mark.parametrize("name", sorted(PUBLIC_OUTPUT))
def test_every_public_command_prints_the_ids_of_a_store_without_hidden_records(
    pair, tmp_path, name
):
    plain, canary, _ = pair
    for args in PUBLIC_OUTPUT[name]:
        (tmp_path / "a").mkdir(exist_ok=True)
        (tmp_path / "b").mkdir(exist_ok=True)
        out_c, files_c = _run(canary, args, tmp_path / "a")
        out_p, files_p = _run(plain, args, tmp_path / "b")
        assert CANARY not in out_c
        out_c = out_c.replace(canary.name, plain.name)
        assert _normalise(out_c) == _normalise(out_p), args
        assert files_c == files_p, args


def test_every_web_route_shows_the_ids_of_a_store_without_hidden_records(pair):
    plain, canary, ids = pair
    apps = {db: TestClient(make_app(db, private=False)) for db in (plain, canary)}
    moderation = moderation_paths(apps[canary].app)
    routes = [e for e in endpoints(apps[canary].app) if e[0] == "GET" and e[1] not in moderation]
    checked = 0
    for _, route_path, query_names in routes:
        for path, query in _requests(route_path, query_names, ids):
            got, ref = apps[canary].get(path, params=query), apps[plain].get(path, params=query)
            assert not raw_leaks(got.content), (path, query)
            assert got.status_code == ref.status_code, (path, query)
            assert _decode(got).canonical() == _decode(ref).canonical(), (path, query)
            checked += 1
    assert checked >= len(routes)
    for number in (1, 2, 3):  # the public numbers of the three public cameras
        detail = apps[canary].get(f"/api/devices/{number}").json()
        assert detail["id"] == number
        assert without_times(detail) == without_times(apps[plain].get(f"/api/devices/{number}").json())
    assert apps[canary].get("/api/devices/4").status_code == 404


def _profile_store(path, hidden_first: bool) -> dict:
    with Store(path) as store, store.transaction() as conn:
        if hidden_first:
            cite_source(conn, title="Witness W-7", kind="testimony", sensitivity="restricted")
        for i in (1, 2):
            source = cite_source(conn, title=f"Public source {i}", url=f"https://example.org/{i}")
            if hidden_first:
                cite_source(conn, title=f"Witness {i}", kind="testimony", sensitivity="restricted")
            record_claim(conn, ClaimInput(source_id=source, statement=f"CLAIM {i}",
                                          subject_key="KP", country="KP"))
    with Store(path) as store:
        return country_profile(store, "KP")


def test_profile_references_do_not_count_hidden_sources(tmp_path):
    with_hidden = _profile_store(tmp_path / "h.db", hidden_first=True)
    without = _profile_store(tmp_path / "p.db", hidden_first=False)
    assert [s["ref"] for s in with_hidden["sources"] if s["ref"][0] == "S"] == ["S1", "S2"]
    text = json.dumps(with_hidden, sort_keys=True, default=str)
    assert "Witness" not in text
    assert json.loads(text)["sources"] == json.loads(
        json.dumps(without, sort_keys=True, default=str)
    )["sources"]


@pytest.mark.parametrize("fmt", [f for f in FORMATS if export.supports("devices", f)])
def test_a_restricted_export_writes_a_hidden_source_as_missing(pair, tmp_path, fmt):
    """A restricted device whose source is confidential: its source id is left empty (the
    restricted audience does not know that source), in every format."""
    _, canary, _ = pair
    with Store(canary, create=False) as store:
        out = export.export_layer(
            store, "devices", fmt, tmp_path / f"d.{fmt}", audience="restricted"
        )
        numbers = gate.numbering(store, "sources", "restricted")
        hidden = store.scalar(
            "SELECT count(*) FROM devices d JOIN sources s ON s.id = d.source_id "
            "WHERE d.sensitivity = 'restricted' AND s.sensitivity = 'confidential'"
        )
    assert hidden and out["features"] >= 3
    assert numbers.public(None) is None
    if fmt == "geojson":
        feats = json.loads((tmp_path / "d.geojson").read_text())["features"]
        sources = [f["properties"].get("survatlas:source_id") for f in feats]
        assert None in sources
        assert {s for s in sources if s is not None} <= set(range(1, len(numbers.ids) + 1))
