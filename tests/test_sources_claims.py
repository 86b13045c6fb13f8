"""Promise 1: sources with citations and syndication; claims on records and quantities;
corroboration counts a syndicated copy once."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from security_builders import set_key, write
from survatlas.cli import main
from survatlas.errors import InputError, NotFoundError
from survatlas.ingest import import_cameras
from survatlas.provenance.sources import (
    add_claim,
    add_source,
    corroboration,
    get_source,
    list_claims,
    root_source,
)
from survatlas.store import Store
from survatlas.store.gate import public_id


@pytest.fixture
def store(tmp_path, monkeypatch):
    set_key(monkeypatch)
    with Store(tmp_path / "s.db") as s:
        import_cameras(s, write(tmp_path / "c.csv", "latitude,longitude\n43.7,7.4\n43.8,7.5\n"))
        yield s


def test_a_source_keeps_its_citation(store):
    sid = add_source(
        store,
        kind="news",
        title="Cameras at the border",
        url="https://example.org/a",
        archived_url="https://web.archive.org/x",
        publisher="Example News",
        author="A. Writer",
        published_date="2024-03-05",
        retrieved_at="2024-03-06",
        language="en",
        reliability="b",
    )
    got = get_source(store, sid)
    assert got["publisher"] == "Example News" and got["reliability"] == "B"
    assert got["published_date"] == "2024-03-05" and got["language"] == "en"
    assert got["root_source_id"] == sid


def test_five_reprints_of_one_wire_story_are_one_corroboration(store):
    wire = add_source(store, kind="news", title="AP story", publisher="AP")
    copies = [
        add_source(store, kind="news", title=f"reprint {i}", original_of=wire) for i in range(4)
    ]
    other = add_source(store, kind="satellite_analysis", title="imagery")
    for sid in (wire, *copies, other):
        add_claim(
            store, source_id=sid, subject_type="device", subject_id=1, statement="camera here"
        )
    result = corroboration(store, "device", 1)
    assert result["supporting_claims"] == 6
    assert result["independent_sources"] == 2
    assert result["root_source_ids"] == [wire, other]
    assert root_source(store, copies[2]) == wire


def test_a_chain_of_copies_leads_to_the_original(store):
    a = add_source(store, kind="news", title="original")
    b = add_source(store, kind="news", title="copy", original_of=a)
    c = add_source(store, kind="news", title="copy of copy", original_of=b)
    assert root_source(store, c) == a


def test_disputed_and_superseded_claims_do_not_corroborate(store):
    s1 = add_source(store, kind="news", title="n1")
    s2 = add_source(store, kind="document", title="d1")
    add_claim(
        store, source_id=s1, subject_type="device", subject_id=1, statement="x", status="disputed"
    )
    add_claim(
        store, source_id=s2, subject_type="device", subject_id=1, statement="x", status="superseded"
    )
    result = corroboration(store, "device", 1)
    assert result["independent_sources"] == 0
    assert result["disputed"] == 1 and result["superseded"] == 1


def test_a_quantity_claim(store):
    sid = add_source(store, kind="state_media", title="KCNA")
    cid = add_claim(
        store,
        source_id=sid,
        subject_type="programme",
        subject_key="city-cctv",
        statement="cameras installed",
        quantity="cameras_installed",
        value=1200,
        low=1000,
        high=1500,
        unit="cameras",
        as_of="2023",
        method="official statement",
        quote="over a thousand cameras",
        confidence="low",
    )
    [claim] = list_claims(store, subject_type="programme", subject_key="city-cctv")
    assert claim["id"] == cid and (claim["low"], claim["value"], claim["high"]) == (
        1000,
        1200,
        1500,
    )
    with pytest.raises(InputError, match="low <= value <= high"):
        add_claim(
            store,
            source_id=sid,
            subject_type="programme",
            subject_key="p",
            statement="s",
            value=5,
            low=6,
            unit="u",
        )
    with pytest.raises(InputError, match="unit"):
        add_claim(
            store, source_id=sid, subject_type="programme", subject_key="p", statement="s", value=5
        )


def test_every_device_lists_its_supporting_claims(store):
    sid = add_source(store, kind="field_observation", title="walk")
    add_claim(store, source_id=sid, subject_type="device", subject_id=2, statement="dome camera")
    assert [c["statement"] for c in list_claims(store, subject_type="device", subject_id=2)] == [
        "dome camera"
    ]
    assert list_claims(store, subject_type="device", subject_id=1) == []


def test_a_claim_is_as_protected_as_its_source(store):
    secret = add_source(store, kind="testimony", title="w", sensitivity="restricted")
    cid = add_claim(store, source_id=secret, subject_type="device", subject_id=1, statement="s")
    assert store.scalar("SELECT sensitivity FROM claims WHERE id = ?", (cid,)) == "restricted"
    assert list_claims(store) == []
    assert corroboration(store, "device", 1)["supporting_claims"] == 0


def test_a_hidden_original_is_not_linked_publicly(store):
    secret = add_source(store, kind="document", title="leak", sensitivity="confidential")
    copy = add_source(store, kind="news", title="story", original_of=secret)
    # the public audience knows the copy by its public number (the hidden original is not counted)
    number = public_id(store, "sources", copy)
    assert number == copy - 1  # the hidden original before it is not counted
    assert get_source(store, number)["original_of"] is None
    assert get_source(store, copy, audience="confidential")["original_of"] == secret


def test_bad_references_are_clear_errors(store):
    with pytest.raises(NotFoundError):
        add_claim(store, source_id=999, subject_type="device", subject_id=1, statement="s")
    sid = add_source(store, kind="news", title="n")
    with pytest.raises(NotFoundError):
        add_claim(store, source_id=sid, subject_type="device", subject_id=999, statement="s")
    with pytest.raises(NotFoundError):
        add_source(store, kind="news", title="copy", original_of=999)
    with pytest.raises(InputError):
        add_source(store, kind="rumour", title="x")


@settings(max_examples=60, deadline=None)
@given(
    title=st.text(max_size=50),
    url=st.one_of(st.none(), st.text(max_size=30)),
    date=st.one_of(st.none(), st.text(max_size=12)),
    language=st.one_of(st.none(), st.text(max_size=8)),
)
def test_hostile_source_metadata_is_refused_or_stored_whole(
    tmp_path_factory, title, url, date, language
):
    """Promise 8 for source metadata: a clear error or a complete record, nothing half-written."""
    from survatlas.errors import SurvatlasError

    with Store(tmp_path_factory.mktemp("h") / "s.db") as store:
        entries = store.scalar("SELECT count(*) FROM custody_log")
        try:
            sid = add_source(
                store, kind="news", title=title, url=url, published_date=date, language=language
            )
        except SurvatlasError:
            assert store.scalar("SELECT count(*) FROM sources") == 0
            assert store.scalar("SELECT count(*) FROM custody_log") == entries
            return
        assert get_source(store, sid)["title"] == title.strip()


def test_cli_source_and_claim_round_trip(tmp_path, monkeypatch):
    set_key(monkeypatch)
    db = str(tmp_path / "s.db")
    run = CliRunner().invoke
    assert (
        run(
            main,
            ["--db", db, "source", "add", "--kind", "news", "--title", "Wire", "--actor", "ana"],
        ).exit_code
        == 0
    )
    assert (
        run(
            main,
            [
                "--db",
                db,
                "source",
                "add",
                "--kind",
                "news",
                "--title",
                "Copy",
                "--original-of",
                "1",
            ],
        ).exit_code
        == 0
    )
    for sid in ("1", "2"):
        r = run(
            main,
            [
                "--db",
                db,
                "claim",
                "add",
                "--source",
                sid,
                "--subject",
                "programme:x",
                "--statement",
                "s",
            ],
        )
        assert r.exit_code == 0, r.output
    out = run(main, ["--db", db, "claim", "list", "--subject", "programme:x"])
    assert "2 supporting claim(s) from 1 independent source(s)" in out.output
    bad = run(
        main,
        ["--db", db, "claim", "add", "--source", "1", "--subject", "device", "--statement", "s"],
    )
    assert bad.exit_code == 2 and "TYPE:ID" in bad.output
