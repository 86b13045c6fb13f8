"""Shortest and least-cost paths equal an independent networkx oracle's (small graphs)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from routing_builders import disc_exposure, grid_streets, oracle, point_on
from survatlas.errors import RoutingError
from survatlas.routing import network_from_streets, plan_route
from survatlas.routing._plan import snap_nearest, solve
from survatlas.routing._search import ENGINES

camera = st.tuples(st.integers(1, 50), st.floats(0, 500), st.floats(0, 500), st.floats(5, 80))
city = st.fixed_dictionaries(
    {
        "k": st.integers(2, 6),
        "drop": st.sampled_from([0.0, 0.0, 0.15, 0.3]),
        "seed": st.integers(0, 10_000),
        "cameras": st.lists(camera, max_size=6, unique_by=lambda c: c[0]),
        "a": st.tuples(st.integers(0, 200), st.floats(0, 1)),
        "b": st.tuples(st.integers(0, 200), st.floats(0, 1)),
    }
)


def _setup(c: dict):  # type: ignore[no-untyped-def]
    streets = grid_streets(c["k"], drop=c["drop"], seed=c["seed"])
    assume(len(streets) > 0)
    exposure = disc_exposure(streets, c["cameras"])
    net = network_from_streets(streets, exposure)
    ids = streets["id"].tolist()
    a = point_on(streets, ids[c["a"][0] % len(ids)], c["a"][1])
    b = point_on(streets, ids[c["b"][0] % len(ids)], c["b"][1])
    return streets, exposure, net, a, b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(city, st.sampled_from([0.0, 0.3, 2.0, 25.0]))
def test_every_engine_matches_the_oracle(c: dict, lam: float) -> None:
    streets, exposure, net, a, b = _setup(c)
    seen = exposure.intervals("typical", "detection")
    want = oracle(streets, seen, lam, a[:2], b[:2])
    anchors = [snap_nearest(net.graph, p[2:], 1e-3) for p in (a, b)]
    pricer = net.pricer("typical", "detection")
    for name, engine in ENGINES.items():
        path = solve(pricer, lam, anchors[0], anchors[1], engine.search)
        if want is None:
            assert path is None, name
        else:
            assert path is not None, name
            assert path.cost(lam) == pytest.approx(want, rel=1e-9, abs=1e-6), name


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(city)
def test_plan_shortest_length_matches_the_oracle(c: dict) -> None:
    streets, exposure, net, a, b = _setup(c)
    want = oracle(streets, exposure.intervals("typical", "detection"), 0.0, a[:2], b[:2])
    origin, dest = net.to_latlon(a[2:]), net.to_latlon(b[2:])
    if want is None:
        with pytest.raises(RoutingError, match="gap"):
            plan_route(net, origin, dest, max_snap_m=1e-3)
        return
    plan = plan_route(net, origin, dest, max_snap_m=1e-3)
    assert plan.shortest.length_m == pytest.approx(want, abs=1e-5)
    assert plan.origin.distance_m < 1e-3 and plan.destination.distance_m < 1e-3
