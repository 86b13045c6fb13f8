"""Matching devices across lists and building capture histories."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import osmium
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas.errors import InputError
from survatlas.estimate import DeviceList, capture_histories, estimate_total, match_lists

M_PER_DEG_LAT = 111_195.0


def _jitter(
    lon: np.ndarray, lat: np.ndarray, metres: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Move each point by up to ``metres`` in a random direction (uniform over the disc)."""
    ang = rng.uniform(0, 2 * np.pi, len(lon))
    r = metres * np.sqrt(rng.random(len(lon)))
    dlat = r * np.sin(ang) / M_PER_DEG_LAT
    dlon = r * np.cos(ang) / (M_PER_DEG_LAT * np.cos(np.radians(lat)))
    return lon + dlon, lat + dlat


def _survey(
    name: str,
    lon: np.ndarray,
    lat: np.ndarray,
    types: np.ndarray,
    keep: float,
    rng: np.random.Generator,
    jitter_m: float = 3.0,
) -> tuple[np.ndarray, DeviceList]:
    kept = np.flatnonzero(rng.random(len(lon)) < keep)
    jl, jt = _jitter(lon[kept], lat[kept], jitter_m, rng)
    return kept, DeviceList(name, jl, jt, types[kept], record_ids=kept)


@pytest.fixture(scope="module")
def helsinki_cameras(helsinki_pbf: Path) -> tuple[np.ndarray, np.ndarray]:
    pts = [
        (o.location.lon, o.location.lat)
        for o in osmium.FileProcessor(str(helsinki_pbf)).with_filter(
            osmium.filter.KeyFilter("man_made")
        )
        if o.is_node() and o.tags.get("man_made") == "surveillance"
    ]
    arr = np.array(pts)
    assert len(arr) == 221
    return arr[:, 0], arr[:, 1]


def test_sparse_layout_recovers_overlap_exactly() -> None:
    rng = np.random.default_rng(1)
    gx, gy = np.meshgrid(np.arange(20), np.arange(15))  # 300 devices 60 m apart
    lat = 48.2 + gy.ravel() * 60 / M_PER_DEG_LAT
    lon = 16.37 + gx.ravel() * 60 / (M_PER_DEG_LAT * np.cos(np.radians(48.2)))
    types = np.full(len(lon), "camera", dtype=object)
    a_ids, a = _survey("osm", lon, lat, types, 0.7, rng, 5.0)
    b_ids, b = _survey("field", lon, lat, types, 0.5, rng, 5.0)
    matching = match_lists([a, b], 15)
    assert matching.overlap("osm", "field") == len(np.intersect1d(a_ids, b_ids))
    both = matching.clusters[(matching.clusters >= 0).all(axis=1)]
    assert np.array_equal(a.record_ids[both[:, 0]], b.record_ids[both[:, 1]])
    assert matching.ambiguous == []


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_helsinki_surveys_recover_true_overlap(
    helsinki_cameras: tuple[np.ndarray, np.ndarray], seed: int
) -> None:
    """Central Helsinki is dense (100 of 221 cameras have another within 15 m), so positions
    alone cannot always tell an omitted camera from its neighbour: with device types recorded
    the overlap is recovered to within 3 % (false links between one-list-only neighbours), and
    every true pair is found."""
    lon, lat = helsinki_cameras
    rng = np.random.default_rng(seed)
    types = rng.choice(np.array(["camera", "alpr", "speed_camera"], dtype=object), len(lon))
    a_ids, a = _survey("osm", lon, lat, types, 0.8, rng)
    b_ids, b = _survey("field", lon, lat, types, 0.7, rng)
    matching = match_lists([a, b], 15)
    truth = len(np.intersect1d(a_ids, b_ids))
    found = matching.overlap("osm", "field")
    assert truth <= found <= truth + max(1, round(0.03 * truth))
    assert matching.ambiguous, "dense centre: ambiguous candidates must be reported"


def test_helsinki_three_surveys_estimate_covers_true_total(
    helsinki_cameras: tuple[np.ndarray, np.ndarray],
) -> None:
    lon, lat = helsinki_cameras
    rng = np.random.default_rng(11)
    types = rng.choice(np.array(["camera", "alpr"], dtype=object), len(lon))
    lists = [
        _survey(n, lon, lat, types, p, rng)[1] for n, p in [("A", 0.6), ("B", 0.5), ("C", 0.4)]
    ]
    est = estimate_total(lists, match_distance=10, model="independence")
    assert est.ci_low <= 221 <= est.ci_high
    assert est.details["matching"]["list_sizes"] == {d.id: len(d) for d in lists}
    assert any("candidate matches" in w for w in est.warnings)


def test_types_must_be_compatible() -> None:
    a = DeviceList("a", [10.0], [50.0], ["camera"])
    b = DeviceList("b", [10.00001], [50.0], ["alpr"])
    c = DeviceList("c", [10.00001], [50.0], ["other"])
    assert match_lists([a, b], 15).overlap("a", "b") == 0
    assert match_lists([a, c], 15).overlap("a", "c") == 1


def test_ambiguous_record_is_reported_with_candidates() -> None:
    a = DeviceList("a", [24.0], [60.0], ["camera"], record_ids=["a1"])
    east = 5 / (M_PER_DEG_LAT * np.cos(np.radians(60)))
    b = DeviceList(
        "b",
        [24.0 + east, 24.0 - 2 * east],
        [60.0, 60.0],
        ["camera", "camera"],
        record_ids=["b1", "b2"],
    )
    matching = match_lists([a, b], 15)
    assert matching.overlap("a", "b") == 1
    (amb,) = matching.ambiguous
    assert amb["record"] == "a1" and amb["candidates"] == ["b1", "b2"]
    assert amb["distances_m"] == pytest.approx([5, 10], abs=0.01)
    both = matching.clusters[(matching.clusters >= 0).all(axis=1)]
    assert both.tolist() == [[0, 0]]  # the nearer one wins


def test_complete_linkage_does_not_chain() -> None:
    """a–b and b–c within 10 m but a–c 16 m apart: not one device seen by three lists."""
    step = 8 / (M_PER_DEG_LAT * np.cos(np.radians(45)))
    lists = [DeviceList(n, [5 + i * step], [45.0], ["camera"]) for i, n in enumerate("abc")]
    table = capture_histories(match_lists(lists, 10))
    assert table.n_observed == 2
    assert table.counts[(table.patterns == 1).all(axis=1)].sum() == 0


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 25), min_size=2, max_size=4),
    seed=st.integers(0, 10_000),
    distance=st.floats(1, 400),
)
def test_matching_is_a_partition_with_one_record_per_list(
    sizes: list[int], seed: int, distance: float
) -> None:
    rng = np.random.default_rng(seed)
    lists = [
        DeviceList(
            f"L{i}",
            2 + rng.random(n) * 0.01,
            41 + rng.random(n) * 0.01,
            rng.choice(["camera", "alpr", ""], n),
        )
        for i, n in enumerate(sizes)
    ]
    matching = match_lists(lists, distance)
    for j, n in enumerate(sizes):
        col = matching.clusters[:, j]
        assert sorted(col[col >= 0].tolist()) == list(range(n))
    assert (matching.clusters >= 0).any(axis=1).all()
    table = capture_histories(matching)
    assert table.n_observed == len(matching.clusters)
    assert list(table.list_sizes().values()) == sizes


def test_bad_lists_are_input_errors() -> None:
    with pytest.raises(InputError, match="equal lengths"):
        DeviceList("a", [1.0, 2.0], [3.0], ["camera"])
    with pytest.raises(InputError, match="swapped"):
        DeviceList("a", [10.0], [95.0], ["camera"])
    a = DeviceList("a", [1.0], [2.0], ["camera"])
    with pytest.raises(InputError, match="distinct"):
        match_lists([a, a])
    with pytest.raises(InputError, match="positive"):
        match_lists([a, DeviceList("b", [1.0], [2.0], ["camera"])], 0)
