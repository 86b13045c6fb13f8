"""Per-group sums of the land grid (H3 counts): the word-wise 4×4 sum equals a plain reduction."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from survatlas.coverage._raster import Raster
from survatlas.coverage.aggregate import block_sums, h3_cell_counts


@settings(max_examples=200, deadline=None)
@given(by=st.integers(1, 9), bx=st.integers(1, 9), block=st.sampled_from([1, 2, 3, 4, 5]),
       seed=st.integers(0, 2**32 - 1), density=st.floats(0.0, 1.0))
def test_block_sums_equal_a_reduction(by, bx, block, seed, density):
    cells = (np.random.default_rng(seed).random((by * block, bx * block)) < density)
    want = cells.reshape(by, block, bx, block).sum(axis=(1, 3)).ravel()
    got = block_sums(cells.astype(np.uint8), block)
    assert got.tolist() == want.tolist()


def test_h3_counts_add_up_to_the_land_and_seen_cells():
    from pyproj import CRS

    rng = np.random.default_rng(3)
    raster = Raster(0.0, 0.0, 2.0, 203, 150)  # sides not multiples of the 4-cell groups
    land = rng.random((150, 203)) < 0.7
    counts = rng.integers(0, 3, (150, 203)).astype(np.int32)
    crs = CRS.from_proj4("+proj=aeqd +lat_0=60.17 +lon_0=24.94 +units=m")
    names, land_cells, seen_cells = h3_cell_counts(raster, counts, land, crs, 10)
    assert names.size > 1
    assert land_cells.sum() == land.sum()
    assert seen_cells.sum() == (land & (counts > 0)).sum()
    assert (seen_cells <= land_cells).all()
