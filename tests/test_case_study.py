"""The bundled DPRK case study: every claim cited, unverified claims labelled, derived numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from survatlas.errors import NotFoundError
from survatlas.store import Store
from survatlas.supply.case_studies import available_case_studies, import_case_study, load_case_study


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("cs") / "cs.db")
    import_case_study(s, "dprk")
    yield s
    s.close()


def test_dprk_is_bundled() -> None:
    assert "dprk" in available_case_studies()
    with pytest.raises(NotFoundError):
        load_case_study("atlantis")


def test_every_claim_has_an_existing_source(store: Store) -> None:
    assert store.scalar("SELECT count(*) FROM claims") >= 60
    orphans = store.scalar(
        "SELECT count(*) FROM claims c LEFT JOIN sources s ON s.id = c.source_id WHERE s.id IS NULL"
    )
    assert orphans == 0


def test_every_programme_vendor_link_and_constraint_is_cited(store: Store) -> None:
    assert store.scalar("SELECT count(*) FROM programmes WHERE source_id IS NULL") == 0
    assert store.scalar("SELECT count(*) FROM programme_vendors WHERE source_id IS NULL") == 0
    kinds = {r[0] for r in store.query("SELECT kind FROM infra_constraints")}
    assert kinds == {"electricity", "connectivity", "compute"}


def test_sources_have_urls_or_say_why_not(store: Store) -> None:
    for row in store.query("SELECT title, url, note FROM sources WHERE kind != 'trade_record'"):
        assert row["url"] or row["note"], row["title"]


def test_syndicated_copies_link_to_their_original(store: Store) -> None:
    copies = store.query(
        "SELECT c.publisher, o.publisher AS original FROM sources c JOIN sources o "
        "ON o.id = c.original_of"
    )
    originals = {r["original"] for r in copies}
    assert "Associated Press" in originals
    assert sum(r["original"] == "Associated Press" for r in copies) >= 4


def test_one_in_20_is_unverified_with_readings_and_derived_arithmetic(store: Store) -> None:
    claim = store.query(
        "SELECT c.*, d.readings, d.attribution FROM claims c JOIN claim_details d "
        "ON d.claim_id = c.id WHERE d.key = 'one-in-20'"
    )[0]
    assert claim["status"] == "unverified"
    assert claim["confidence"] == "low"
    assert claim["derived"] == 0
    assert len(json.loads(claim["readings"])) == 3
    assert "not in the AP coverage" in claim["attribution"]
    derived = store.query(
        "SELECT c.*, d.formula FROM claims c JOIN claim_details d ON d.claim_id = c.id "
        "WHERE d.derived_from = ?",
        (claim["id"],),
    )[0]
    assert derived["derived"] == 1 and derived["formula"]
    # "as many as one in 20" is an upper bound; the population is UN WPP's (issue 14)
    assert claim["value"] is None and claim["high"] == 0.05
    assert derived["high"] == pytest.approx(claim["high"] * 26_500_000)
    assert derived["value"] is None and "UN WPP" in derived["formula"]


def test_statuses_follow_the_confidence_rule(store: Store) -> None:
    bad = store.query(
        "SELECT statement FROM claims WHERE status = 'verified' AND confidence != 'high'"
    )
    assert bad == []


def test_comparators_carry_year_and_method(store: Store) -> None:
    rows = store.query(
        "SELECT k.place, c.as_of, c.method FROM comparators k JOIN claims c ON c.id = k.claim_id"
    )
    assert len(rows) >= 5
    assert all(r["as_of"] and r["method"] for r in rows)


def test_import_is_idempotent(store: Store) -> None:
    before = [
        store.scalar(f"SELECT count(*) FROM {t}")
        for t in ("sources", "claims", "programmes", "vendors", "comparators", "infra_constraints")
    ]
    import_case_study(store, "dprk")
    after = [
        store.scalar(f"SELECT count(*) FROM {t}")
        for t in ("sources", "claims", "programmes", "vendors", "comparators", "infra_constraints")
    ]
    assert before == after


def test_dataset_urls_appear_in_the_facts_file(shared_dir: Path) -> None:
    facts = (shared_dir / "reference" / "dprk-facts.md").read_text("utf-8")
    data = load_case_study("dprk")
    urls = [
        s["url"]
        for s in data["sources"]
        if s.get("url") and "Added during verification" not in (s.get("note") or "")
    ]
    missing = [u for u in urls if u.split("://", 1)[1].rstrip("/") not in facts]
    assert missing == []
