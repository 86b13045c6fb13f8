"""The point-layer MVT writer round-trips through mapbox-vector-tile's decoder."""

from __future__ import annotations

import mapbox_vector_tile
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas.publish._mvt import tile_layer, varint, zigzag

values = st.one_of(
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.text(max_size=12),
    st.booleans(),
)


def decode(data: bytes) -> dict:
    return mapbox_vector_tile.decode(data, default_options={"y_coord_down": True})


def test_varint_and_zigzag_known_values():
    assert varint(0) == b"\x00" and varint(300) == b"\xac\x02"
    assert [zigzag(n) for n in (0, -1, 1, -2, 2)] == [0, 1, 2, 3, 4]


@given(
    points=st.lists(
        st.tuples(
            st.integers(-64, 4160),
            st.integers(-64, 4160),
            st.dictionaries(st.sampled_from(["a", "b", "name", "n"]), values, max_size=4),
        ),
        min_size=1,
        max_size=30,
    )
)
@settings(max_examples=150, deadline=None)
def test_points_and_properties_round_trip(points):
    xy = np.array([(x, y) for x, y, _ in points], dtype=np.int64)
    props = [dict(p) for _, _, p in points]
    layer = decode(tile_layer("devices", xy, props, 4096))["devices"]
    assert layer["extent"] == 4096
    assert len(layer["features"]) == len(points)
    for feature, (x, y, prop) in zip(layer["features"], points, strict=True):
        assert feature["geometry"]["coordinates"] == [x, y]
        assert set(feature["properties"]) == set(prop)
        for key, value in prop.items():
            got = feature["properties"][key]
            assert got == value and type(got) is type(value)


def test_ids_become_feature_ids_and_layers_concatenate():
    xy = np.array([[10, 20], [30, 40]])
    data = tile_layer("a", xy, [{"id": 7}, {"id": 9}], 4096) + tile_layer(
        "b", xy[:1], [{"count": 3}], 4096
    )
    tile = decode(data)
    assert [f["id"] for f in tile["a"]["features"]] == [7, 9]
    assert tile["b"]["features"][0]["properties"] == {"count": 3}
