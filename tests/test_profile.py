"""Country profiles: every statement links to a source; unverified labelled; escaping; gate."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.errors import CorruptFileError, InputError
from survatlas.provenance.sources import cite_source
from survatlas.publish.profile import country_profile, render_html, render_markdown
from survatlas.store import Store
from survatlas.supply import ClaimInput, add_programme, record_claim
from survatlas.supply.case_studies import import_case_study


class _Page(HTMLParser):
    """Collects ids, internal hrefs, and statement spans with the links that follow them."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.scripts = 0
        self.statements: list[list[str]] = []
        self._in_statement_li = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "script":
            self.scripts += 1
        if tag == "span" and a.get("class") == "statement":
            self.statements.append([])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.hrefs.append(a["href"][1:])
            if self.statements and a.get("class") == "ref":
                self.statements[-1].append(a["href"][1:])


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    s = Store(tmp_path_factory.mktemp("p") / "p.db")
    import_case_study(s, "dprk")
    yield s
    s.close()


@pytest.fixture(scope="module")
def profile(store: Store) -> dict:
    return country_profile(store, "KP")


def test_every_statement_links_to_an_existing_source(profile: dict) -> None:
    page = _Page()
    page.feed(render_html(profile))
    assert len(page.statements) >= 60
    assert all(links for links in page.statements), "a statement without a source link"
    missing = [h for h in page.hrefs if h not in page.ids]
    assert missing == []


def test_every_cited_source_is_listed_with_url_or_reason(profile: dict) -> None:
    html_text = render_html(profile)
    for s in profile["sources"]:
        assert f'id="src-{s["ref"]}"' in html_text
        if s["url"] and s["url"].startswith("http"):
            assert f'href="{s["url"].replace("&", "&amp;")}"' in html_text


def test_unverified_claims_are_labelled(profile: dict) -> None:
    questions = profile["open_questions"]
    assert questions and all(q["status"] in ("unverified", "disputed") for q in questions)
    one_in_20 = next(q for q in questions if "one in 20" in q["text"])
    assert one_in_20["readings"] and one_in_20["derived_claims"]
    assert one_in_20["derived_claims"][0]["derived"] is True
    html_text = render_html(profile)
    md_text = render_markdown(profile)
    assert html_text.count('class="status unverified">UNVERIFIED<') >= len(questions) // 2
    line = next(x for x in md_text.splitlines() if "one in 20 North Koreans" in x)
    assert "UNVERIFIED" in line and "[[S" in line


def test_profile_sections(profile: dict) -> None:
    assert profile["country"] == {"code": "KP", "name": "North Korea"}
    names = {p["name"] for p in profile["programmes"]}
    assert "Biometric citizen ID cards" in names
    cctv = next(p for p in profile["programmes"] if p["key"] == "kp-cctv-sites")
    assert cctv["vendors"][0]["name"] == "Hikvision"
    assert {"electricity", "connectivity", "compute"} <= set(cctv["constrained_by"])
    hik = next(v for v in profile["vendors"] if v["name"] == "Hikvision")
    assert hik["origin"] == "imported" and hik["restrictions"]
    assert all(c["year"] and c["method"] for c in profile["comparators"])
    assert profile["devices"]["total"] is None


def test_hostile_strings_render_as_text(tmp_path: Path) -> None:
    with Store(tmp_path / "h.db") as store:
        with store.transaction() as conn, pytest.raises(InputError, match="url"):
            cite_source(conn, title="T", kind="news", url="javascript:alert(2)")
        with store.transaction() as conn:
            src = cite_source(conn, title="<script>alert(1)</script>", kind="news")
            # A hostile URL can still reach a store written by another tool or an older version.
            conn.execute("UPDATE sources SET url = 'javascript:alert(2)' WHERE id = ?", (src,))
            add_programme(
                conn,
                key="x",
                name="<img src=x onerror=alert(3)>",
                country="KP",
                source_id=src,
                description='"><script>alert(4)</script>',
            )
            record_claim(
                conn,
                ClaimInput(
                    source_id=src,
                    statement="<b>bold</b> & <script>x</script>",
                    subject_key="KP",
                    country="KP",
                ),
            )
        text = render_html(country_profile(store, "KP"))
    page = _Page()
    page.feed(text)
    assert page.scripts == 0
    assert "<img" not in text and "javascript:" not in text.split("URL (not a web link)")[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in text


def test_restricted_records_stay_out(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db") as store:
        with store.transaction() as conn:
            public = cite_source(conn, title="Public source", url="https://example.org/a")
            secret = cite_source(
                conn, title="Witness W-7", kind="testimony", sensitivity="restricted"
            )
            record_claim(
                conn,
                ClaimInput(
                    source_id=public, statement="PUBLIC CLAIM", subject_key="KP", country="KP"
                ),
            )
            record_claim(
                conn,
                ClaimInput(
                    source_id=secret, statement="FROM A WITNESS", subject_key="KP", country="KP"
                ),
            )
            record_claim(
                conn,
                ClaimInput(
                    source_id=public,
                    statement="RESTRICTED CLAIM",
                    subject_key="KP",
                    country="KP",
                    sensitivity="restricted",
                ),
            )
        text = json.dumps(country_profile(store, "KP"))
        assert "PUBLIC CLAIM" in text
        assert "FROM A WITNESS" not in text and "Witness W-7" not in text
        assert "RESTRICTED CLAIM" not in text
        inside = json.dumps(country_profile(store, "KP", audience="restricted"))
        assert "FROM A WITNESS" in inside


def test_user_comparator_file(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "cmp.csv"
    path.write_text(
        "place,country,metric,value,year,method,source_title,source_url\n"
        "Testville,XX,cameras_per_1000_people,12.5,2022,count / population,"
        "City report,https://example.org/r\n"
    )
    prof = country_profile(store, "KP", comparators_csv=path)
    row = next(c for c in prof["comparators"] if c["place"] == "Testville")
    assert row["year"] == "2022" and row["refs"][0].startswith("C")
    bad = tmp_path / "bad.csv"
    bad.write_text("place,metric,value\nX,m,1\n")
    with pytest.raises(CorruptFileError, match="year"):
        country_profile(store, "KP", comparators_csv=bad)


def test_acceptance_cli_import_then_html_profile(tmp_path: Path) -> None:
    db, out = tmp_path / "a.db", tmp_path / "kp.html"
    runner = CliRunner()
    result = runner.invoke(main, ["--db", str(db), "import", "case-study", "dprk"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        main, ["--db", str(db), "profile", "KP", "--format", "html", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    page = _Page()
    page.feed(out.read_text("utf-8"))
    assert page.statements and all(page.statements)
    md = runner.invoke(main, ["--db", str(db), "profile", "North Korea", "--format", "md"])
    assert md.exit_code == 0 and "# Surveillance profile: North Korea (KP)" in md.output
    js = runner.invoke(main, ["--db", str(db), "profile", "PRK", "--format", "json"])
    assert json.loads(js.output)["country"]["code"] == "KP"
    unknown = runner.invoke(main, ["--db", str(db), "profile", "Atlantis"])
    assert unknown.exit_code == 2 and "unknown country" in unknown.output


def test_markdown_refs_resolve(profile: dict) -> None:
    md = render_markdown(profile)
    anchors = set(re.findall(r'<a id="([a-z0-9]+)"></a>', md))
    links = set(re.findall(r"\]\(#([a-z0-9]+)\)", md))
    assert links and links <= anchors


def test_device_statistics_for_a_mapped_area(tmp_path: Path) -> None:
    from survatlas.ingest import import_cameras
    from survatlas.supply import attribute_devices

    cams = tmp_path / "cams.csv"
    cams.write_text(
        "latitude,longitude,manufacturer\n39.02,125.75,HIKVISION\n"
        "39.03,125.76,Dahua\n39.04,125.77,\n50.0,10.0,HIKVISION\n"
    )
    with Store(tmp_path / "d.db") as store:
        import_case_study(store, "dprk")
        import_cameras(store, cams)
        attribute_devices(store)
        prof = country_profile(store, "KP", bbox=(125.0, 38.5, 126.5, 39.5))
    dev = prof["devices"]
    assert dev["total"] == 3
    assert dev["by_vendor"] == {"Hikvision": 1, "Dahua Technology": 1, "(not attributed)": 1}
    assert dev["by_vendor_country"]["CN"] == 2 and dev["refs"]
    dahua = next(v for v in prof["vendors"] if v["name"] == "Dahua Technology")
    assert dahua["devices_in_area"] == 1 and dahua["origin"] == "imported"
    assert "No comparator figure for North Korea" in prof["comparators_note"]


def test_kp_pdf_fits_ten_a4_pages_with_every_citation(tmp_path: Path, profile: dict) -> None:
    import shutil
    import subprocess

    if shutil.which("pdftotext") is None:
        pytest.fail("poppler-utils (pdftotext) is needed: make test installs it")
    from survatlas.publish.profile import render_profile

    pdf = tmp_path / "kp.pdf"
    pdf.write_bytes(render_profile(profile, "pdf"))
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info
    pages = int(next(x.split()[-1] for x in info.splitlines() if x.startswith("Pages")))
    assert pages <= 10
    text = " ".join(
        subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
        .stdout.split()
    )
    assert text.index("Key findings") < text.index("Programmes and capabilities")
    for source in profile["sources"]:
        assert f"[{source['ref']}]" in text, source["ref"]
    for q in profile["open_questions"]:
        assert " ".join(q["text"].split())[:40] in text.replace("- ", "-"), q["text"][:40]
