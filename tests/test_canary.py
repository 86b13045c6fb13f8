"""Promise 4: restricted and confidential records never leave through a public output.

A canary (a unique string at a unique place) is seeded into confidential and restricted records
of every kind. Every registered exporter (``export.LAYER_READERS`` × ``export.WRITERS``) and
every printing CLI command runs on two stores that differ only by the canary records; each
output is decoded (GeoPackage tables and geometries, GeoParquet columns, KML blocks, CSV, JSON,
vector tiles) and must (1) hold no trace of the canary and (2) be identical to the output of
the store without it — so a leaked geometry, count or link is caught even without the string.
New exporters and commands are enumerated automatically; an unclassified command fails.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import survatlas
from security_builders import (
    CANARY,
    Decoded,
    build_pair,
    decode_file,
    leaks,
    raw_leaks,
    set_key,
    without_times,
)
from survatlas.cli import main
from survatlas.publish import export
from survatlas.publish.stats import store_stats
from survatlas.store import Store
from survatlas.store import gate as publish


def _import_everything() -> None:
    """Import every survatlas module so that every exporter and command registers itself."""
    for info in pkgutil.walk_packages(survatlas.__path__, "survatlas."):
        if info.name.startswith(("survatlas.web", "survatlas.__main__")):
            continue
        importlib.import_module(info.name)


_import_everything()
LAYERS = sorted(export.LAYER_READERS)
FORMATS = sorted(export.WRITERS)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    set_key(mp)
    try:
        yield build_pair(tmp_path_factory.mktemp("canary"))
    finally:
        mp.undo()


def _export(db, layer, fmt, folder) -> Decoded:
    folder.mkdir(parents=True, exist_ok=True)
    with Store(db, create=False) as store:
        result = export.export_layer(store, layer, fmt, folder / f"{layer}.{fmt}")
    decoded = Decoded()
    for name in result["files"]:
        one = decode_file(Path(name))
        assert not raw_leaks(Path(name).read_bytes()), f"{layer}/{fmt}: raw bytes leak"
        decoded.text.extend(one.text)
        decoded.coords.extend(one.coords)
    return decoded


def test_the_canary_is_really_in_the_store(pair):
    """Guard: the test would be empty if the canary records were not seeded."""
    _, canary, _ = pair
    with Store(canary, create=False) as store:
        assert store.scalar("SELECT count(*) FROM devices WHERE sensitivity != 'public'") == 3
        assert store.scalar("SELECT count(*) FROM contributions") == 3
        # two by file flag in each layer; two more by their own column (sites: GeoJSON,
        # buildings: GeoPackage, both imported as public); re-imports lowered none
        for layer, hidden in (("buildings", 4), ("streets", 2), ("sites", 4)):
            assert store.scalar(
                f"SELECT count(*) FROM {layer} WHERE sensitivity != 'public'"
            ) == hidden
        assert not store.scalar(
            f"SELECT count(*) FROM sites WHERE sensitivity = 'public' AND origin LIKE '%{CANARY}%'"
        )
        seen = publish.read_layer(store, "devices", audience="confidential")
        assert any(CANARY in str(n) for n in seen["name"])


@pytest.mark.parametrize(
    ("layer", "fmt"), [(la, f) for la in LAYERS for f in FORMATS if export.supports(la, f)]
)
def test_no_exporter_leaks_the_canary(pair, tmp_path, layer, fmt):
    plain, canary, _ = pair
    with_canary = _export(canary, layer, fmt, tmp_path / "with")
    without = _export(plain, layer, fmt, tmp_path / "without")
    assert leaks(with_canary) == []
    assert with_canary.canonical() == without.canonical()


def test_a_restricted_audience_export_does_show_the_restricted_canary(pair, tmp_path):
    """The decoder really finds the canary when it is there (the test can fail)."""
    _, canary, _ = pair
    with Store(canary, create=False) as store:
        out = export.export_layer(
            store, "devices", "geojson", tmp_path / "r.geojson", audience="restricted"
        )
    assert leaks(decode_file(tmp_path / "r.geojson"))
    assert out["features"] == 5


def test_library_aggregates_and_lists_are_unchanged_by_the_canary(pair):
    plain, canary, _ = pair
    results = []
    for db in (plain, canary):
        with Store(db, create=False) as store:
            results.append(
                json.dumps(
                    without_times(
                        {
                            "stats": store_stats(store),
                            "grid": publish.grid_counts(store),
                            "sources": publish.read_sources(store),
                            "claims": publish.read_claims(store),
                            "claims_device_1": publish.read_claims(
                                store, subject_type="device", subject_id=1
                            ),
                        }
                    ),
                    sort_keys=True,
                    default=str,
                )
            )
    assert CANARY not in results[1]
    assert results[0] == results[1]


# --- the command line ------------------------------------------------------------------------

#: commands that print public output: arguments (run with the global --db) on both stores.
PUBLIC_OUTPUT = {
    "stats": [["stats", "--json"]],
    "source list": [["source", "list", "--json"]],
    "source show": [["source", "show", "1", "--json"], ["source", "show", "4", "--json"]],
    "claim list": [
        ["claim", "list", "--json"],
        ["claim", "list", "--subject", "device:1", "--json"],
    ],
    "evidence list": [["evidence", "list", "--json"]],
    "token list": [["token", "list", "--json"]],
    "estimate total": [
        ["estimate", "total", "--sources", f"1,{n}", "--json"] for n in (5, 6, 12, 13)
    ],
    "export": [
        *(["export", "--layer", layer, "--format", "geojson", "{out}", "--json"]
          for layer in ("devices", "sites", "contributions")),
        ["export", "--layer", "contributions", "--format", "osc", "{out}", "--json"],
    ],
    "coverage": [["coverage", "--level", "detection", "--cell", "4", "--json"]],
    "route": [["route", "--from", "43.7200,7.4000", "--to", "43.7220,7.4040", "--json"]],
    "exposure": [["exposure", "{route}", "--json"]],
    "coverage-summary": [["coverage-summary", "--json"]],
    "sites": [["sites", "--limit", "100", "--json"]],
    "profile": [["profile", "KP", "--format", "json"], ["profile", "MC", "--format", "json"]],
    "programmes": [["programmes", "--json"]],
    "vendors list": [["vendors", "list", "--json"]],
    "trade screen": [["trade", "screen", "--json"]],
    "timeline": [["timeline", "--by", "month", "--json"]],
    "diff": [["diff", "--from", "2000-01-01", "--to", "2100-01-01", "--json"]],
    "report": [["report", "--bbox", "7.39,43.71,7.44,43.75", "--format", "json"]],
}
#: commands that write a folder of public files: each is checked file by file below.
FOLDER_OUTPUT = {"publish site"}
#: custodian views: they reveal that records exist, never their content or place.
CUSTODIAN_OUTPUT = {
    "custody log": [["custody", "log", "--json"]],
    "verify": [["verify", "--json"]],
}
#: commands that never read the store (their output comes from their arguments or files).
STORE_FREE = {"estimate two-list", "estimate mse", "estimate sample", "estimate compose",
              "optics", "trade hs-codes", "trade rules", "claims extract", "template cameras"}
#: commands that serve the web API: every route is checked by tests/test_canary_web.py.
WEB_SERVER = {"serve"}
#: commands that write to the store or make full copies for the custodian (not publications).
NOT_PUBLIC_OUTPUT = {
    "import osm",
    "import cameras",
    "import layer",
    "source add",
    "claim add",
    "claim status",
    "evidence add",
    "evidence strip",
    "evidence get",
    "token create",
    "token revoke",
    "key create",
    "backup",
    "restore",
    "archive export",
    "archive import",
    "import case-study",
    "claims accept",
    "trade import",
    "vendors attribute",
    # the moderation queue shows restricted contributions to editors (like `evidence get`)
    "contributions list",
    "contributions accept",
    "contributions reject",
    "delete",
    # fetches from OpenStreetMap services and imports into the store
    "fetch",
}


def _leaf_commands(group, prefix=""):
    """Every leaf command, lazy ones included (a lazy group lists them before importing them)."""
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        cmd = group.get_command(ctx, name)
        full = f"{prefix}{name}"
        if isinstance(cmd, click.Group):
            yield from _leaf_commands(cmd, full + " ")
        else:
            yield full


def test_every_command_is_classified():
    """A new command must be classified here (and, if it prints, checked for the canary)."""
    known = (set(PUBLIC_OUTPUT) | set(CUSTODIAN_OUTPUT) | NOT_PUBLIC_OUTPUT | STORE_FREE
             | WEB_SERVER | FOLDER_OUTPUT)
    unclassified = sorted(set(_leaf_commands(main)) - known)
    assert unclassified == [], f"classify these commands in {__name__}: {unclassified}"


ROUTE = {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[7.4000, 43.7200], [7.4020, 43.7210],
                                                           [7.4040, 43.7220]]}}


def _run(db, args, tmp_path):
    route = tmp_path / "walk.geojson"
    route.write_text(json.dumps(ROUTE), encoding="utf-8")
    args = [
        a.replace("{out}", str(tmp_path / f"out-{len(list(tmp_path.iterdir()))}.geojson"))
        .replace("{route}", str(route))
        for a in args
    ]
    result = CliRunner().invoke(main, ["--db", str(db), *args])
    assert result.exit_code in (0, 2), result.output
    files = [p.read_text(encoding="utf-8") for p in tmp_path.glob("out-*")]
    return result.output, files


def _normalise(text: str) -> str:
    """The JSON of an output without time stamps; notes printed on stderr before it are kept."""
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.startswith(("{", "["))), 0)
    head, body = "".join(lines[:start]), "".join(lines[start:])
    try:
        data = json.loads(body)
    except ValueError:
        return text
    if isinstance(data, dict):
        data.pop("files", None)
    return head + json.dumps(without_times(data), sort_keys=True)


@pytest.mark.parametrize("name", sorted(PUBLIC_OUTPUT))
def test_no_public_command_leaks_the_canary(pair, tmp_path, name):
    plain, canary, _ = pair
    for args in PUBLIC_OUTPUT[name]:
        (tmp_path / "a").mkdir(exist_ok=True)
        (tmp_path / "b").mkdir(exist_ok=True)
        out_c, files_c = _run(canary, args, tmp_path / "a")
        out_p, files_p = _run(plain, args, tmp_path / "b")
        assert CANARY not in out_c and all(CANARY not in f for f in files_c)
        assert not raw_leaks(out_c.encode())
        out_c = out_c.replace(canary.name, plain.name)  # outputs may name their store file
        assert _normalise(out_c) == _normalise(out_p), args
        assert files_c == files_p, args


@pytest.mark.parametrize("name", sorted(CUSTODIAN_OUTPUT))
def test_custodian_views_hold_no_canary_content(pair, tmp_path, name):
    _, canary, _ = pair
    for args in CUSTODIAN_OUTPUT[name]:
        out, _ = _run(canary, args, tmp_path)
        assert CANARY not in out
        assert not raw_leaks(out.encode())


def test_evidence_get_refuses_a_confidential_file_by_default(pair, tmp_path):
    _, canary, ids = pair
    result = CliRunner().invoke(
        main, ["--db", str(canary), "evidence", "get", ids["evidence"], str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def _site_files(db, folder) -> dict[str, Decoded]:
    result = CliRunner().invoke(main, ["--db", str(db), "publish", "site", str(folder)])
    assert result.exit_code == 0, result.output
    out = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        name = str(path.relative_to(folder))
        assert not raw_leaks(data), f"{name}: raw bytes leak"
        decoded = decode_file(path)
        if path.suffix == ".json":  # time stamps differ between the two builds
            decoded.text = [json.dumps(without_times(json.loads(data)), sort_keys=True)]
        elif path.suffix == ".html":
            decoded.text = [re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(\+00:00|Z| UTC)?",
                                   "T", t) for t in decoded.text]
        out[name] = decoded
    return out


def test_the_static_site_holds_no_canary_in_any_file_or_tile(pair, tmp_path):
    """`publish site`: every file (HTML, JSON, every tile of every PMTiles archive) is free
    of the canary and identical to the site of the store without it."""
    plain, canary, _ = pair
    with_canary = _site_files(canary, tmp_path / "with")
    without = _site_files(plain, tmp_path / "without")
    assert "tiles/devices.pmtiles" in with_canary and "index.html" in with_canary
    tiles = [t for t in with_canary["tiles/devices.pmtiles"].text if "/" in t.split(" ")[0]]
    assert tiles, "the devices archive decoded to no tile: the check would be empty"
    for name, decoded in with_canary.items():
        assert leaks(decoded) == [], name
    assert sorted(with_canary) == sorted(without)
    for name in with_canary:
        assert with_canary[name].canonical() == without[name].canonical(), name


def test_the_static_site_s_coverage_layer_and_glyphs_hold_no_canary(pair, tmp_path):
    """`publish site` with a stored coverage run: the coverage archive, the glyph files and the
    rest are free of the canary and identical to the site of the store without it."""
    import shutil

    plain, canary, _ = pair
    sites = {}
    for label, db in (("with", canary), ("without", plain)):
        copy = tmp_path / f"{label}.db"
        shutil.copyfile(db, copy)
        result = CliRunner().invoke(main, ["--db", str(copy), "coverage", "--level", "detection",
                                           "--cell", "4", "--json"])
        assert result.exit_code == 0, result.output
        sites[label] = _site_files(copy, tmp_path / f"site-{label}")
    with_canary, without = sites["with"], sites["without"]
    manifest = json.loads((tmp_path / "site-with" / "site.json").read_text("utf-8"))
    assert manifest["coverage_note"] is None, manifest["coverage_note"]
    tiles = [t for t in with_canary["tiles/coverage.pmtiles"].text if "/" in t.split(" ")[0]]
    assert tiles, "the coverage archive decoded to no tile: the check would be empty"
    assert any(name.startswith("fonts/") for name in with_canary)
    for name, decoded in with_canary.items():
        assert leaks(decoded) == [], name
    assert sorted(with_canary) == sorted(without)
    for name in with_canary:
        assert with_canary[name].canonical() == without[name].canonical(), name
