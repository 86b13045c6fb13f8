"""`claims accept` keeps one claim per statement and source (issue 14, finding 3)."""

from __future__ import annotations

from pathlib import Path

from survatlas.provenance.sources import cite_source
from survatlas.publish.profile import country_profile, render_markdown
from survatlas.store import Store
from survatlas.supply import ClaimInput, accept_candidates, extract_claims, record_claim

SENTENCE = ("State media show video surveillance growing in schools, workplaces and airports, "
            "and the newest ID cards require fingerprints.")
TEXT = SENTENCE + " Since 2021 traffic cameras have spread to major roads."


def _accepted() -> list[dict]:
    cands = [c.to_dict() for c in extract_claims(TEXT)]
    return [{**c, "accept": True} for c in cands]


def test_one_sentence_accepted_through_four_candidates_is_one_claim(tmp_path: Path) -> None:
    reviewed = _accepted()
    first = [c for c in reviewed if c["sentence"] == SENTENCE]
    assert len(first) >= 4  # schools, workplaces, airports, fingerprints …
    with Store(tmp_path / "c.db") as store:
        with store.transaction() as conn:
            source = cite_source(conn, title="AP story", kind="news", url="https://example.org/ap")
        ids = accept_candidates(store, reviewed, source_id=source, country="KP")
        again = accept_candidates(store, reviewed, source_id=source, country="KP")
        assert again == ids and len(ids) == 2  # two sentences, two claims, re-accept adds none
        rows = store.query("SELECT statement, value, unit, as_of FROM claims ORDER BY id")
        assert [r["statement"] for r in rows].count(SENTENCE) == 1
        readings = store.scalar("SELECT readings FROM claim_details WHERE claim_id = ?", (ids[0],))
        for word in ("school", "workplace", "airport", "fingerprint"):
            assert word in str(readings)
        dated = rows[1]
        assert dated["as_of"] == "2021" and dated["unit"] != "year"  # a year is not a quantity
        text = render_markdown(country_profile(store, "KP"))
    assert text.count(SENTENCE) == 1


def test_a_statement_already_stored_by_hand_is_not_stored_again(tmp_path: Path) -> None:
    with Store(tmp_path / "c.db") as store:
        with store.transaction() as conn:
            source = cite_source(conn, title="AP story", kind="news", url="https://example.org/ap")
            record_claim(conn, ClaimInput(source_id=source, statement="  " + SENTENCE,
                                          subject_key="KP", country="KP"))
        before = store.scalar("SELECT count(*) FROM claims")
        accept_candidates(store, [c for c in _accepted() if c["sentence"] == SENTENCE],
                          source_id=source, country="KP")
        assert store.scalar("SELECT count(*) FROM claims") == before
