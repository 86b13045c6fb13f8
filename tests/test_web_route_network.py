"""The web's route planner shares one routing network per coverage run across requests."""

from __future__ import annotations

import threading

import pytest

from routing_builders import X0, Y0, grid_streets, latlon, make_store, write_discs
from survatlas import routing
from survatlas.web import _analyses


@pytest.fixture()
def store(tmp_path):  # type: ignore[no-untyped-def]
    store = make_store(tmp_path, grid_streets(5), [(200, 0, "public"), (400, 200, "public")])
    write_discs(store, {("typical", "detection"): 40.0})
    yield store
    store.close()


def _loads(monkeypatch) -> list:  # type: ignore[no-untyped-def]
    calls: list = []
    real = routing.load_network

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(kwargs.get("bbox"))
        return real(*args, **kwargs)

    monkeypatch.setattr(routing, "load_network", counted)
    return calls


def test_network_loaded_once_and_again_after_a_new_run(store, monkeypatch) -> None:
    calls = _loads(monkeypatch)
    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    first = _analyses.compare_routes(store, a, b, 1.25, "public")
    again = _analyses.compare_routes(store, a, b, 1.25, "public")
    assert first == again
    assert calls == [None]  # the whole network, once, for both requests
    assert first["shortest"]["in_view_m"] > 0
    with store.transaction() as conn:
        conn.execute("DELETE FROM street_seen")
    write_discs(store, {("typical", "detection"): 10.0})  # a new coverage run: less in view
    after = _analyses.compare_routes(store, a, b, 1.25, "public")
    assert calls == [None, None]
    assert after["shortest"]["in_view_m"] < first["shortest"]["in_view_m"]


def test_shared_network_gives_the_windowed_answer(store, monkeypatch) -> None:
    a, b = latlon(X0 + 100, Y0), latlon(X0 + 300, Y0 + 400)
    shared = _analyses.compare_routes(store, a, b, 1.5, "public")
    monkeypatch.setattr(_analyses, "SHARED_NETWORK_MAX_STREETS", 0)  # too big: windows
    monkeypatch.setattr(_analyses, "_networks", {})
    monkeypatch.setattr(_analyses, "_answers", _analyses.OrderedDict())  # no kept answer
    calls = _loads(monkeypatch)
    windowed = _analyses.compare_routes(store, a, b, 1.5, "public")
    assert calls and calls[0] is not None
    assert windowed == shared


def test_concurrent_first_requests_build_one_network(store, monkeypatch) -> None:
    calls = _loads(monkeypatch)
    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    store_path = store.path
    results: list = []

    def request() -> None:
        from survatlas.store import Store

        with Store(store_path, create=False) as own:  # one connection per thread, as the web
            results.append(_analyses.compare_routes(own, a, b, 1.25, "public"))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 6 and all(r == results[0] for r in results)
    assert calls == [None]


def test_route_pieces_cut_as_shapely_substring_does() -> None:
    import numpy as np
    import shapely
    from shapely.ops import substring

    from survatlas.routing._lines import _substring

    rng = np.random.default_rng(5)
    for _ in range(300):
        xy = np.cumsum(rng.normal(0, 10, (int(rng.integers(2, 8)), 2)), axis=0)
        line = shapely.LineString(xy)
        a, b = sorted(rng.uniform(0.0, line.length, 2))  # what routes ask for
        if rng.random() < 0.2:  # at a vertex, or empty
            a = b = float(shapely.line_locate_point(line, shapely.Point(xy[1])))
        ours, ref = _substring(line, a, b), substring(line, a, b)
        if ref.geom_type == "Point":
            ref = shapely.LineString([ref.coords[0], ref.coords[0]])
        np.testing.assert_allclose(shapely.get_coordinates(ours), shapely.get_coordinates(ref),
                                   atol=1e-9)


def test_network_ready_only_for_the_loaded_state(store, monkeypatch) -> None:
    """``/api/route`` plans on the event loop only when ``network_ready``: then no loading is
    left to do; the latest run is re-read only when the store's files have changed."""
    monkeypatch.setattr(_analyses, "_networks", {})
    assert not _analyses.network_ready(store, "public")
    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    _analyses.compare_routes(store, a, b, 1.25, "public")
    assert _analyses.network_ready(store, "public")
    assert not _analyses.network_ready(store, "restricted")  # another audience: not loaded
    queries = []
    real_query = store.query
    monkeypatch.setattr(store, "query", lambda *q: queries.append(q) or real_query(*q))
    assert _analyses.network_ready(store, "public")
    assert queries == []  # unchanged files: the latest run is known
    write_discs(store, {("typical", "detection"): 10.0})  # a new coverage run
    assert not _analyses.network_ready(store, "public")
    assert queries  # the changed files made it read the latest run again


def test_route_endpoint_plans_on_the_event_loop_once_loaded(store, monkeypatch) -> None:
    from fastapi.testclient import TestClient

    from survatlas.web import api_routing
    from survatlas.web.app import create_app

    monkeypatch.setattr(_analyses, "_networks", {})
    handed_off: list = []
    real = api_routing.run_in_threadpool

    async def counted(func, *args):  # type: ignore[no-untyped-def]
        handed_off.append(func)
        return await real(func, *args)

    monkeypatch.setattr(api_routing, "run_in_threadpool", counted)
    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    params = {"from": f"{a[0]},{a[1]}", "to": f"{b[0]},{b[1]}"}
    with TestClient(create_app(store.path, preload_routes=False)) as client:
        first = client.get("/api/route", params=params)
        assert first.status_code == 200, first.text
        assert handed_off == [api_routing._routes]  # loading the network: a worker thread
        params["max_detour"] = "1.5"
        second = client.get("/api/route", params=params)
        assert second.status_code == 200
        assert handed_off == [api_routing._routes]  # loaded: planned on the event loop
    assert second.json()["shortest"] == first.json()["shortest"]


def test_route_json_is_the_answer_as_json_dumps_writes_it(store) -> None:
    import json

    import numpy as np

    from survatlas.web.api_routing import json_response

    a, b = latlon(X0, Y0), latlon(X0 + 400, Y0 + 400)
    answer = _analyses.compare_routes(store, a, b, 1.25, "public")
    body = json_response(answer).body
    assert json.loads(body) == json.loads(json.dumps(answer))
    coords = answer["shortest"]["geometry"]["coordinates"]
    assert json.dumps(coords, separators=(",", ":")).encode() in body  # same digits
    assert json.loads(json_response({"n": np.int64(3), "x": np.float64(0.1)}).body) == {
        "n": 3, "x": 0.1}
    with pytest.raises(TypeError):  # orjson.JSONEncodeError
        json_response({"x": object()})
