"""Candidate claims from a report's text (offline, rule-based, nothing stored without review)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.provenance.sources import cite_source
from survatlas.store import Store
from survatlas.supply import accept_candidates, extract_claims

ARTICLE = """\
Surveillance spreads across Veridia, report says

ARDENNE, 3 March 2025 - The Republic of Veridia has installed more than 1,000 towers and an
estimated 6.5–7 million subscribers now use its two mobile networks, a report by the Lantern
Institute said on Monday. As many as one in 20 Veridians is already in the national biometric
registry, which stores fingerprints and facial photographs.

Chinese cameras were installed at schools, airports and train stations since 2021. About 40% of
the equipment came from Russian suppliers, the report said. The new border fence is at least
480 km long and has sensors every 50 metres. Between 2019 and 2023 the police hired some 12,000
informants.
"""


def _find(cands: list, kind: str, text: str):
    return next(c for c in cands if c.kind == kind and text.lower() in c.text.lower())


def test_quantities_ranges_and_ratios_are_parsed() -> None:
    cands = extract_claims(ARTICLE)
    towers = _find(cands, "quantity", "1,000 towers")
    assert (towers.value, towers.low, towers.unit, towers.qualifier) == (
        1000,
        1000,
        "towers",
        "more_than",
    )
    subs = _find(cands, "range", "6.5–7 million")
    assert (subs.low, subs.high, subs.unit) == (6_500_000, 7_000_000, "subscribers")
    ratio = _find(cands, "ratio", "one in 20")
    assert ratio.value == pytest.approx(0.05) and ratio.qualifier == "up_to"
    fence = _find(cands, "quantity", "480 km")
    assert fence.low == 480 and fence.qualifier == "at_least"
    share = _find(cands, "quantity", "40%")
    assert share.unit == "percent" and share.qualifier == "about"
    informants = _find(cands, "quantity", "12,000 informants")
    assert informants.value == 12000


def test_sites_technologies_origins_and_dates() -> None:
    cands = extract_claims(ARTICLE)
    sites = {c.label for c in cands if c.kind == "site"}
    assert {"school", "airport", "rail_station", "border"} <= sites
    tech = {c.label for c in cands if c.kind == "technology"}
    assert {"fingerprint", "cctv", "fence_sensors", "informant_network", "mobile_network"} <= tech
    origins = {c.label for c in cands if c.kind == "origin"}
    assert {"CN", "RU"} <= origins
    dates = {c.text for c in cands if c.kind == "date"}
    assert {"3 March 2025", "since 2021", "Between 2019 and 2023"} <= dates
    assert not any(c.kind == "quantity" and c.value in (2019, 2021, 2023) for c in cands)


def test_every_candidate_carries_its_sentence() -> None:
    for c in extract_claims(ARTICLE):
        assert c.text.lower() in c.sentence.lower()
        assert " ".join(ARTICLE[c.start : c.start + len(c.text)].split()) == c.text


def test_facts_file(shared_dir: Path) -> None:
    text = (shared_dir / "reference" / "dprk-facts.md").read_text("utf-8")
    cands = extract_claims(text)
    ranges = {(c.low, c.high) for c in cands if c.kind == "range"}
    assert (6_500_000, 7_000_000) in ranges or (6.5e6, 7.0e6) in ranges
    assert any(c.kind == "ratio" and c.value == pytest.approx(0.05) for c in cands)
    assert any(c.kind == "quantity" and c.value == 482 and c.unit == "km" for c in cands)
    assert any(c.kind == "site" and c.label == "airport" for c in cands)


def test_nothing_is_stored_until_accepted(tmp_path: Path) -> None:
    article = tmp_path / "article.txt"
    article.write_text(ARTICLE)
    db = tmp_path / "c.db"
    with Store(db) as store, store.transaction() as conn:
        source = cite_source(conn, title="Veridia report", kind="news", url="https://example.org/v")
    runner = CliRunner()
    out = tmp_path / "candidates.json"
    result = runner.invoke(
        main, ["--db", str(db), "claims", "extract", str(article), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert store.scalar("SELECT count(*) FROM claims") == 0
    reviewed = json.loads(out.read_text())
    chosen = [i for i, c in enumerate(reviewed) if c["kind"] in ("range", "ratio")]
    for i in chosen:
        reviewed[i]["accept"] = True
    out.write_text(json.dumps(reviewed))
    for _ in range(2):
        result = runner.invoke(
            main,
            [
                "--db",
                str(db),
                "claims",
                "accept",
                str(out),
                "--source",
                str(source),
                "--country",
                "XX",
            ],
        )
        assert result.exit_code == 0, result.output
    with Store(db) as store:
        rows = store.query("SELECT status, quote, source_id FROM claims")
        assert len(rows) == len({reviewed[i]["sentence"] for i in chosen})
        assert all(r["status"] == "unverified" and r["source_id"] == source for r in rows)


def test_accept_needs_the_sentence(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db") as store:
        with store.transaction() as conn:
            source = cite_source(conn, title="T")
        with pytest.raises(ValueError, match="sentence"):
            accept_candidates(store, [{"accept": True, "kind": "quantity"}], source_id=source)
