"""The street graph: nodes at shared vertices, profiles, simple graph, components."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from routing_builders import X0, Y0, grid_streets, streets_frame
from survatlas.errors import InputError, RoutingError
from survatlas.routing import build_graph


def _line(*pts: tuple[float, float]) -> shapely.LineString:
    return shapely.LineString([(X0 + x, Y0 + y) for x, y in pts])


def test_nodes_sit_at_shared_vertices_and_ends_only() -> None:
    # a long street with an inner vertex shared by a side street, and one unshared bend
    streets = streets_frame(
        [_line((0, 0), (50, 5), (100, 0), (200, 0)), _line((100, 0), (100, 80))]
    )
    g = build_graph(streets)
    assert g.n_nodes == 4  # (0,0), (100,0), (200,0), (100,80): the bend is not a node
    assert len(g.edge_u) == 3
    lengths = dict(zip(g.edge_street.tolist(), g.edge_length.tolist(), strict=False))
    assert g.edge_length.sum() == pytest.approx(sum(streets.geometry.length))
    assert lengths[2] == pytest.approx(80)


def test_crossing_without_shared_vertex_is_not_connected() -> None:
    streets = streets_frame([_line((0, 0), (100, 0)), _line((50, -50), (50, 50))])
    g = build_graph(streets)
    assert len(set(g.component.tolist())) == 2


def test_edge_positions_follow_the_street() -> None:
    streets = streets_frame([_line((0, 0), (30, 0), (60, 0)), _line((30, 0), (30, 40))])
    g = build_graph(streets)
    pieces = sorted(
        (s, a, b)
        for s, a, b in zip(
            g.edge_street.tolist(), g.edge_start.tolist(), g.edge_end.tolist(), strict=True
        )
    )
    assert pieces == [(1, 0.0, 30.0), (1, 30.0, 60.0), (2, 0.0, 40.0)]


def test_walk_profile_excludes_private_and_foot_no() -> None:
    lines = [
        _line((0, 0), (100, 0)),
        _line((0, 10), (100, 10)),
        _line((0, 20), (100, 20)),
        _line((0, 30), (100, 30)),
    ]
    tags = [{}, {"access": "private"}, {"foot": "no"}, {"access": "private", "foot": "yes"}]
    g = build_graph(streets_frame(lines, tags, ["footway", "residential", "path", "service"]))
    assert sorted(set(g.edge_street.tolist())) == [1, 4]


def test_walk_profile_uses_the_store_walkable_flag() -> None:
    streets = streets_frame([_line((0, 0), (100, 0)), _line((0, 10), (100, 10))])
    streets["walkable"] = [1, 0]
    assert build_graph(streets).edge_street.tolist() == [1]


def test_bike_profile_follows_oneway_and_bicycle_tags() -> None:
    lines = [
        _line((0, 0), (100, 0)),
        _line((0, 10), (100, 10)),
        _line((0, 20), (100, 20)),
        _line((0, 30), (100, 30)),
        _line((0, 40), (100, 40)),
    ]
    tags = [
        {"oneway": "yes"},
        {"oneway": "yes", "oneway:bicycle": "no"},
        {},
        {"bicycle": "no"},
        {"oneway": "-1"},
    ]
    highway = ["residential", "residential", "footway", "cycleway", "residential"]
    g = build_graph(streets_frame(lines, tags, highway), "bike")
    dirs = {
        s: (f, b)
        for s, f, b in zip(
            g.edge_street.tolist(), g.edge_fwd.tolist(), g.edge_bwd.tolist(), strict=True
        )
    }
    assert dirs == {1: (True, False), 2: (True, True), 5: (False, True)}
    # walking ignores one-way rules
    walk = build_graph(streets_frame(lines, tags, highway))
    assert walk.edge_fwd.all() and walk.edge_bwd.all()


def test_loops_and_parallel_streets_become_a_simple_graph() -> None:
    streets = streets_frame(
        [
            _line((0, 0), (100, 0)),
            _line((0, 0), (50, 30), (100, 0)),  # parallel to street 1
            _line((100, 0), (150, 40), (200, 0), (100, 0)),  # a loop through one node
        ]
    )
    g = build_graph(streets)
    pairs = {tuple(sorted(p)) for p in zip(g.edge_u.tolist(), g.edge_v.tolist(), strict=True)}
    assert len(pairs) == len(g.edge_u)
    assert not np.any(g.edge_u == g.edge_v)
    assert g.edge_length.sum() == pytest.approx(sum(streets.geometry.length))
    for s in (1, 2, 3):
        starts = np.sort(g.edge_start[g.edge_street == s])
        ends = np.sort(g.edge_end[g.edge_street == s])
        assert starts[0] == 0 and np.allclose(starts[1:], ends[:-1])
    # every edge geometry is as long as its recorded length
    np.testing.assert_allclose(shapely.length(g.edge_geom), g.edge_length, atol=1e-6)


def test_csr_holds_both_directions_for_walking() -> None:
    g = build_graph(grid_streets(4))
    assert len(g.csr_indices) == 2 * len(g.edge_u)
    assert np.all(np.diff(g.csr_key) > 0)


def test_lon_lat_streets_are_projected_to_local_utm() -> None:
    streets = grid_streets(3).to_crs("EPSG:4326")
    g = build_graph(streets)
    assert g.crs.to_epsg() == 32635
    assert g.edge_length.sum() == pytest.approx(grid_streets(3).geometry.length.sum(), rel=1e-6)


def test_no_usable_street_and_bad_profile() -> None:
    with pytest.raises(RoutingError, match="no street usable"):
        build_graph(streets_frame([_line((0, 0), (1, 0))], [{"foot": "no"}]))
    with pytest.raises(InputError, match="profile"):
        build_graph(grid_streets(3), "car")


def test_multilinestring_parts_follow_one_another_in_the_street_measure() -> None:
    multi = shapely.MultiLineString(
        [[(X0, Y0), (X0 + 100, Y0)], [(X0, Y0 + 50), (X0 + 40, Y0 + 50)]]
    )
    streets = streets_frame([multi, _line((100, 0), (100, 50))])
    g = build_graph(streets)
    pieces = sorted(
        zip(g.edge_street.tolist(), g.edge_start.tolist(), g.edge_end.tolist(), strict=True)
    )
    assert pieces == [(1, 0.0, 100.0), (1, 100.0, 140.0), (2, 0.0, 50.0)]
    assert len(set(g.component.tolist())) == 2  # the second part touches nothing
