"""Vendors: alias normalisation, device attribution from tags, model optics."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from survatlas.errors import InputError
from survatlas.ingest import import_cameras
from survatlas.provenance.sources import cite_source
from survatlas.store import Store
from survatlas.supply import (
    add_model,
    add_vendor,
    attribute_devices,
    device_optics,
    list_vendors,
    load_builtin_vendors,
    normalise_name,
    resolve_vendor,
)


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(tmp_path / "v.db")
    with s.transaction() as conn:
        load_builtin_vendors(conn)
    yield s
    s.close()


def _vendor_id(store: Store, key: str) -> int:
    return store.scalar("SELECT id FROM vendors WHERE key = ?", (key,))


@pytest.mark.parametrize(
    "spelling",
    [
        "HIKVISION",
        "Hikvision",
        "Hangzhou Hikvision Digital Technology",
        "Hangzhou Hikvision Digital Technology Co., Ltd.",
        "hikvision ds-2cd2143g0-i",
        "DS-2CD2143G0-I",
    ],
)
def test_spellings_of_hikvision_resolve_to_one_vendor(store: Store, spelling: str) -> None:
    match = resolve_vendor(store.conn, spelling)
    assert match is not None
    assert match.vendor_id == _vendor_id(store, "hikvision")


def test_resolution_methods_are_reported(store: Store) -> None:
    assert resolve_vendor(store.conn, "HIKVISION").method == "alias"
    assert resolve_vendor(store.conn, "Hikvision Europe B.V.").method == "name_in_text"
    assert resolve_vendor(store.conn, "IPC-HFW2431S").method == "model_prefix"


def test_unknown_and_ambiguous_names_do_not_resolve(store: Store) -> None:
    assert resolve_vendor(store.conn, "Acme Cameras") is None
    assert resolve_vendor(store.conn, "Hikvision or Dahua, unclear") is None


def test_alias_owned_by_another_vendor_is_an_error(store: Store) -> None:
    with store.transaction() as conn, pytest.raises(InputError, match="already names"):
        add_vendor(conn, key="fake", name="Fake", aliases=["Hik Vision"])


def test_bad_wikidata_id_is_rejected(store: Store) -> None:
    with store.transaction() as conn, pytest.raises(InputError, match="Q12345"):
        add_vendor(conn, key="x", name="X", wikidata="hikvision")


@given(st.text(min_size=1, max_size=40))
def test_normalise_name_is_idempotent(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once


@given(st.sampled_from(["Dahua", "Hikvision", "Axis"]), st.sampled_from(["", " Co., Ltd.", " Inc"]))
def test_case_and_legal_suffix_do_not_matter(name: str, suffix: str) -> None:
    assert normalise_name(name.upper() + suffix) == normalise_name(name.lower())


def _cameras(tmp_path: Path) -> Path:
    path = tmp_path / "cams.csv"
    path.write_text(
        "latitude,longitude,manufacturer,brand,model\n"
        "60.17,24.94,HIKVISION,,DS-2CD2143G0-I\n"
        "60.171,24.941,,Hangzhou Hikvision Digital Technology,\n"
        "60.172,24.942,,,IPC-HFW2431S\n"
        "60.173,24.943,Axis Communications AB,,\n"
        "60.174,24.944,Acme,,\n"
        "60.175,24.945,,,\n"
    )
    return path


def test_attribute_devices_from_tags(store: Store, tmp_path: Path) -> None:
    import_cameras(store, _cameras(tmp_path))
    summary = attribute_devices(store)
    assert summary.devices == 6
    assert summary.attributed == 4
    assert summary.by_vendor == {"Hikvision": 2, "Dahua Technology": 1, "Axis Communications": 1}
    assert summary.by_method["model_prefix"] == 1
    assert summary.unmatched == {"Acme": 1}
    counts = {v["name"]: v["devices"] for v in list_vendors(store)}
    assert counts["Hikvision"] == 2
    again = attribute_devices(store)
    assert again.attributed == 4
    assert store.scalar("SELECT count(*) FROM device_vendors") == 4


def test_known_model_feeds_optics(store: Store, tmp_path: Path) -> None:
    import_cameras(store, _cameras(tmp_path))
    with store.transaction() as conn:
        source = cite_source(
            conn, title="Test datasheet", kind="document", url="https://example.org/ds"
        )
        add_model(
            conn,
            _vendor_id(store, "hikvision"),
            "DS-2CD2143G0-I",
            source_id=source,
            focal_mm=2.8,
            sensor_width_mm=4.8,
            width_px=2688,
        )
    attribute_devices(store)
    optics = device_optics(store)
    assert len(optics) == 1
    (only,) = optics.values()
    assert only["focal_mm"] == 2.8
    assert only["vendor"] == "Hikvision"
    assert only["source_id"] == source


def test_model_optics_must_be_positive(store: Store) -> None:
    with store.transaction() as conn:
        source = cite_source(conn, title="Test datasheet")
        with pytest.raises(InputError, match="positive"):
            add_model(conn, _vendor_id(store, "dahua"), "X", source_id=source, focal_mm=0)


def test_restriction_lists_are_cited(store: Store) -> None:
    hik = next(v for v in list_vendors(store) if v["name"] == "Hikvision")
    keys = {r["list_key"] for r in hik["restrictions"]}
    assert {"us-ndaa-fy2019-s889", "us-fcc-covered-list"} <= keys
    for r in hik["restrictions"]:
        assert store.scalar("SELECT url FROM sources WHERE id = ?", (r["source_id"],))
