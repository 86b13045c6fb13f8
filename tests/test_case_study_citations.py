"""The North Korea case study's citations and derived numbers (issue 14, finding 6)."""

from __future__ import annotations

import pytest

from survatlas.store import Store
from survatlas.supply.case_studies import import_case_study, load_case_study
from survatlas.supply.derived import derive, evaluate, inputs


@pytest.fixture(scope="module")
def data() -> dict:
    return load_case_study("dprk")


def _claims(data: dict) -> dict:
    return {c["key"]: c for c in data["claims"]}


def test_every_derived_number_recomputes_from_its_inputs(data: dict, tmp_path_factory) -> None:
    derived = [c for c in data["claims"] if c.get("derived") or c.get("compute")]
    assert derived and all("compute" in c for c in derived)  # none typed
    for c in derived:
        assert not any(f in c for f in ("value", "low", "high")), c["key"]  # computed only
    db = tmp_path_factory.mktemp("cs") / "kp.db"
    with Store(db) as store:
        import_case_study(store, "dprk")
        stored = {r["key"]: r for r in store.query(
            "SELECT d.key, c.value, c.low, c.high, c.statement, d.formula FROM claims c "
            "JOIN claim_details d ON d.claim_id = c.id")}
    given = _claims(data)
    for c in derived:
        names = inputs(c["compute"], given)
        row = stored[c["key"]]
        for field in ("value", "low", "high"):
            if field in c["compute"]:
                expected = evaluate(c["compute"][field], names)
                assert row[field] == pytest.approx(expected, abs=10 ** -c["compute"].get("round", 6))
                assert c["compute"][field] in row["formula"]
        assert "{" not in row["statement"]
        for name in names:
            assert name in row["formula"]  # every input is shown


def test_china_per_1000_is_computed_not_typed(data: dict) -> None:
    got = derive(_claims(data)["cmp-china-2021"], _claims(data))
    assert got["value"] == pytest.approx(369.9, abs=0.05)  # 540 M / 1.46 bn, not 372.8
    assert "369.9 per 1,000" in got["statement"]


def test_one_in_20_keeps_its_qualifier_and_source(data: dict) -> None:
    claims = _claims(data)
    one = claims["one-in-20"]
    assert one.get("value") is None and one["high"] == 0.05  # "as many as": ≤ 0.05
    src = {s["key"]: s for s in data["sources"]}[one["source"]]
    assert src["author"] == "Rafia Tasleem" and src["url"]
    assert "Imported and Domestic Technology" in src["title"]
    assert "not in the AP coverage" in one["attribution"]
    people = claims["one-in-20-people"]
    # the population is a secondary citation of UN WPP, and says so
    sources = {s["key"]: s for s in data["sources"]}
    assert sources[people["source"]]["original"] == "un-wpp-2024"
    assert "secondary citation" in people["attribution"]
    assert all("secondary citation" in i["label"] and i["source"] == people["source"]
               for i in people["compute"]["inputs"].values() if "value" in i)
    assert sources["un-wpp-2024"]["url"] is None  # not retrieved: no URL from memory
    assert "secondary citation" in sources["un-wpp-2024"]["note"]
    assert all(i.get("source") != "wikimili-demographics"
               for i in people["compute"]["inputs"].values())
    statements = " ".join(c["statement"] for c in data["claims"])
    assert "private business" in statements and "COVID-19 closure" in statements


def test_cctv_programme_cites_each_field_to_its_source(data: dict, tmp_path) -> None:
    prog = {p["key"]: p for p in data["programmes"]}["kp-cctv-sites"]
    fields = prog["field_sources"]
    assert fields["sites.power_station"] == fields["sites.store"] == "nknews-2019"
    assert fields["first_reported"] == "nknews-2019"
    assert fields["sites.road_entrance"] == fields["sites.border"] == "viewus-60232"
    assert set(fields) >= {f"sites.{s}" for s in prog["sites"]}
    from survatlas.publish.profile import country_profile

    with Store(tmp_path / "kp.db") as store:
        import_case_study(store, "dprk")
        profile = country_profile(store, "KP")
    cctv = next(p for p in profile["programmes"] if p["key"] == "kp-cctv-sites")
    assert cctv["field_refs"]["sites.power_station"] != cctv["field_refs"]["sites.school"]


def test_fcc_covered_list_and_authorisation_ban_are_two_events(tmp_path) -> None:
    import json
    from importlib import resources

    vendors = json.loads(resources.files("survatlas.data.supply").joinpath("vendors.json")
                         .read_text("utf-8"))
    hik = next(v for v in vendors["vendors"] if v["key"] == "hikvision")
    listed = {r["list_key"]: r["listed_from"] for r in hik["restrictions"]}
    assert listed["us-fcc-covered-list"] == "2021-03"
    assert listed["us-fcc-authorisation-ban"] == "2022-11"


def test_programme_descriptions_borrow_no_other_sources_findings(data: dict) -> None:
    progs = {p["key"]: p for p in data["programmes"]}
    sources = {s["key"]: s for s in data["sources"]}
    human = progs["kp-human-surveillance"]
    assert "triple-tier" not in human["description"]  # the Washington Times' phrase
    triple = next(c for c in data["claims"] if "triple-tier" in c["statement"])
    assert sources[triple["source"]]["original"] == "washtimes-2024"
    mobile = progs["kp-mobile-network"]
    lead = sources[mobile["source"]]
    assert "mirror" not in lead["publisher"] and lead.get("reliability") != "D" and lead["url"]
    assert "Lumen" not in mobile["description"] and "AdverSec" not in mobile["description"]
    fields = mobile["field_sources"]
    assert fields["data_collected." + mobile["data_collected"][0]] == "adversec-reveal"
    assert all(f.split(".")[0] in mobile for f in fields)  # each cited field exists


def test_the_population_page_is_shown_as_a_copy_of_un_wpp(tmp_path) -> None:
    from survatlas.publish.profile import country_profile

    with Store(tmp_path / "kp.db") as store:
        import_case_study(store, "dprk")
        profile = country_profile(store, "KP")
    by_ref = {s["ref"]: s for s in profile["sources"]}
    copy = next(s for s in profile["sources"] if s["publisher"] == "Humanity Forecast")
    assert by_ref[copy["original"]]["title"] == "World Population Prospects 2024"
    people = next(q for o in profile["open_questions"] for q in o["derived_claims"]
                  if "one in 20" in q["text"])
    assert people["refs"] == [copy["ref"]] and people["reprint_of"] == [copy["original"]]
