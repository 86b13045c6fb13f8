"""Issue 15, finding 3: stored results never remember a camera made non-public after the run.

Two stores hold the same public records. In the *twin* a camera is restricted before the
coverage run; in the *changed* store the same camera is restricted after it. Every public
output derived from coverage results — the result layers (visibility, street coverage, site
coverage, H3) in every format, every printing command, every GET route of the web app
(``/api/h3``, coverage tiles, summaries, rankings, routes) — must either refuse with a clear
"run ``survatlas coverage`` again" error, or be identical to the twin's output: the withdrawn
camera is neither counted nor listed, and its position never appears.
"""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from security_builders import seed_public
from survatlas.cli import main
from survatlas.coverage.analysis import Settings
from survatlas.coverage.results import h3_layer, site_coverage_layer, street_coverage_layer
from survatlas.coverage.scale import compute_coverage
from survatlas.errors import StaleCoverageError
from survatlas.publish import export
from survatlas.store import Store
from test_canary import FORMATS, PUBLIC_OUTPUT, _normalise
from test_canary_web import _decode, _requests, endpoints, make_app, moderation_paths

RESULT_LAYERS = ("visibility", "street-coverage", "site-coverage", "h3")
WITHDRAWN = "SELECT id FROM devices WHERE origin LIKE '%:p1'"
#: the public records' area (a small bbox: the summary routes refuse large ones)
BBOX = "7.39,43.71,7.41,43.73"
SETTINGS = Settings(levels=("detection", "identification"), cell_m=4.0)


def _restrict(store: Store) -> None:
    with store.transaction() as conn:
        conn.execute(f"UPDATE devices SET sensitivity = 'restricted' WHERE id = ({WITHDRAWN})")


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    folder = tmp_path_factory.mktemp("withdrawn")
    changed, twin = folder / "changed.db", folder / "twin.db"
    for db in (changed, twin):
        with Store(db) as store:
            seed_public(store, folder / "in")
    with Store(twin) as store:
        _restrict(store)
        compute_coverage(store, settings=SETTINGS)
    with Store(changed) as store:
        compute_coverage(store, settings=SETTINGS)
        _restrict(store)
    return changed, twin


def test_the_withdrawn_camera_did_count_in_the_run(stores):
    """Guard: the camera really is in the changed store's results (the test could fail)."""
    changed, twin = stores
    with Store(changed, create=False) as store:
        camera = store.scalar(WITHDRAWN)
        assert store.scalar("SELECT count(*) FROM coverage_views WHERE device_id = ?", (camera,))
        restricted = [
            len(f(store, None, audience="restricted"))
            for f in (street_coverage_layer, site_coverage_layer)
        ]
        seen = store.scalar(
            "SELECT sum(in_view_m) FROM street_coverage WHERE level = 'detection'"
        )
    with Store(twin, create=False) as store:
        assert seen > store.scalar(
            "SELECT sum(in_view_m) FROM street_coverage WHERE level = 'detection'"
        )
    assert all(restricted)


@pytest.mark.parametrize("layer", RESULT_LAYERS)
def test_result_layers_are_refused_in_every_format(stores, tmp_path, layer):
    changed, _ = stores
    for fmt in FORMATS:
        if not export.supports(layer, fmt):
            continue
        with Store(changed, create=False) as store, pytest.raises(
            StaleCoverageError, match="survatlas coverage"
        ):
            export.export_layer(store, layer, fmt, tmp_path / f"{layer}.{fmt}")
        assert not (tmp_path / f"{layer}.{fmt}").exists()


def test_h3_streets_and_sites_are_refused_publicly(stores):
    changed, _ = stores
    with Store(changed, create=False) as store:
        for reader in (h3_layer, street_coverage_layer, site_coverage_layer):
            with pytest.raises(StaleCoverageError, match="survatlas coverage"):
                reader(store, None)


def _cli(db, args, tmp_path):
    tmp_path.mkdir(parents=True, exist_ok=True)
    args = [a.replace("{out}", str(tmp_path / "out.geojson")).replace("{route}", "-")
            for a in args]
    return CliRunner().invoke(main, ["--db", str(db), *args])


def _without_run(text: str) -> str:
    """JSON output without the run's own record (its ``stale`` flag differs, rightly)."""
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict):
        for key in ("coverage_run", "stale", "files"):
            data.pop(key, None)
    return _normalise(json.dumps(data))


@pytest.mark.parametrize(
    "name", ["coverage-summary", "sites", "route", "export", "stats", "source list"]
)
def test_commands_refuse_or_print_what_a_run_without_the_camera_prints(stores, tmp_path, name):
    changed, twin = stores
    for args in PUBLIC_OUTPUT[name]:
        got, ref = _cli(changed, args, tmp_path / "a"), _cli(twin, args, tmp_path / "b")
        if got.exit_code != 0 and ref.exit_code == 0:  # refused, saying what to run
            assert "survatlas coverage" in got.output, args
            assert len(got.output.strip().splitlines()) == 1, args
            continue
        assert got.exit_code == ref.exit_code, (args, got.output)
        if got.exit_code == 0 and got.stderr:  # a run-level warning is fine; say what to run
            assert "survatlas coverage" in got.stderr, args
        out = got.stdout.replace(changed.name, twin.name)
        assert _without_run(out) == _without_run(ref.stdout), args


def test_web_routes_refuse_or_answer_as_a_run_without_the_camera(stores):
    changed, twin = stores
    with Store(changed, create=False) as store:
        camera = int(store.scalar(WITHDRAWN))
    ids = {"device": camera, "source": 1, "evidence": "sha256:" + "0" * 64}
    apps = {db: TestClient(make_app(db, private=False)) for db in (changed, twin)}
    moderation = moderation_paths(apps[changed].app)
    routes = [e for e in endpoints(apps[changed].app) if e[0] == "GET" and e[1] not in moderation]
    refused = compared = 0
    for _, route_path, query_names in routes:
        paths = dict.fromkeys(p for p, _ in _requests(route_path, [], ids))
        query = {"bbox": BBOX} if any("bbox" in n for n in query_names) else {}
        for path in paths:
            got, ref = apps[changed].get(path, params=query), apps[twin].get(path, params=query)
            if got.status_code in (403, 409) and ref.status_code == 200:
                assert "survatlas coverage" in got.text, path
                refused += 1
                continue
            assert got.status_code == ref.status_code, (path, query, got.text[:200])
            assert _decode(got).canonical() == _decode(ref).canonical(), (path, query)
            compared += 1
    assert refused and compared
    # /api/h3 in particular: refused, never counting the withdrawn camera
    h3 = apps[changed].get("/api/h3", params={"bbox": BBOX})
    assert h3.status_code in (403, 409) and "survatlas coverage" in h3.text, h3.text
