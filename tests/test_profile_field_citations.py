"""The country profile cites each programme field to its own source and labels reprint-only
claims (issue 14, finding 6), in Markdown and HTML alike."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from survatlas.publish._profile_doc import all_statements
from survatlas.publish.document import REPRINT_LABEL
from survatlas.publish.profile import country_profile, render_html, render_markdown
from survatlas.store import Store
from survatlas.supply.case_studies import import_case_study, load_case_study


@pytest.fixture(scope="module")
def profile(tmp_path_factory) -> dict:
    with Store(tmp_path_factory.mktemp("kp") / "kp.db") as store:
        import_case_study(store, "dprk")
        return country_profile(store, "KP")


def _ref(profile: dict, source_key: str) -> str:
    """The profile reference (``S12``) of a case-study source, found by its URL."""
    url = {s["key"]: s["url"] for s in load_case_study("dprk")["sources"]}[source_key]
    assert url, source_key
    return next(s["ref"] for s in profile["sources"] if s["url"] == url)


def _cctv_md(profile: dict) -> str:
    md = render_markdown(profile)
    start = md.index("### CCTV at schools")
    return md[start:md.index("\n### ", start + 1)]


def _line(text: str, needle: str) -> str:
    return next(ln for ln in text.splitlines() if needle in ln)


def test_markdown_cites_each_cctv_field_to_its_source(profile: dict) -> None:
    nk, viewus = _ref(profile, "nknews-2019"), _ref(profile, "viewus-60232")
    ap_copy = _ref(profile, "ap-localnews8")
    section = _cctv_md(profile)
    for needle, ref in (("Sites: power_station, store", nk), ("First reported: 2019-07", nk),
                        ("Sites: public_space, road_entrance, border", viewus),
                        ("Sites: school, workplace, airport", ap_copy)):
        line = _line(section, needle)
        assert re.findall(r"\[\[(\w+)\]\]", line) == [ref], (needle, line)


def test_html_cites_each_cctv_field_to_its_source(profile: dict) -> None:
    page = render_html(profile)
    start = page.index("CCTV at schools, workplaces, airports")
    section = page[start:page.index("<h3", start)]
    nk, viewus = _ref(profile, "nknews-2019"), _ref(profile, "viewus-60232")
    for values, ref in (("power_station, store", nk),
                        ("public_space, road_entrance, border", viewus), ("2019-07", nk)):
        line = section[section.index(values):]
        line = line[:line.index("</li>")]
        assert f'href="#src-{ref}"' in line, (values, ref)


def test_reprint_only_claims_are_labelled_in_markdown_and_html(profile: dict) -> None:
    ap_copy, viewus = _ref(profile, "ap-localnews8"), _ref(profile, "viewus-60232")
    claims = all_statements(profile)
    copied = [c for c in claims if c["refs"] == [ap_copy]]
    primary = [c for c in claims if c["refs"] == [viewus]]
    assert copied and all(c["reprint_of"] for c in copied)
    assert primary and not any(c["reprint_of"] for c in primary)
    md, page = render_markdown(profile), render_html(profile)
    for c in copied:
        line = next(ln for ln in md.splitlines() if c["text"][:60] in ln)
        assert REPRINT_LABEL in line
        text = str(escape(c["text"][:60]))
        assert REPRINT_LABEL in page[page.index(text):].split("</li>")[0]
    for c in primary:
        line = next(ln for ln in md.splitlines() if c["text"][:60] in ln)
        assert REPRINT_LABEL not in line
    # the source list tells the reader which original the reprint copies
    original = next(s for s in profile["sources"] if s["ref"] == ap_copy)["original"]
    assert f"copy of [[{original}]]" in _line(md, f'id="{ap_copy.lower()}"')


def test_a_year_is_not_a_headline_quantity(profile: dict) -> None:
    dated = [s for s in all_statements(profile) if s.get("unit") == "year" and s.get("quantity")]
    assert dated  # "since 2021" is in the case study
    md = render_markdown(profile)
    summary = md[md.index("## Summary"):md.index("## Programmes")]
    heads = re.findall(r"^- \*\*([^*]+)\*\*:", summary, flags=re.M)
    assert heads and not any(re.fullmatch(r"\d{4}", h) for h in heads), heads
