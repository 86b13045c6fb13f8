"""The naive exact oracle from the store, as a whole process, for ``benchmarks/peer.py``.

Usage::

    python benchmarks/_peer_oracle.py STORE.db

Reads what ``survatlas coverage`` reads (:func:`survatlas.coverage.analysis.load_inputs`), builds
each camera's view at detection level with typical optics as a shapely polygon (sector minus one
shadow per wall edge in range: :func:`survatlas.coverage.oracle_visibility`), unites them and
intersects the union with the streets. Prints the street metres in view as JSON.
"""

from __future__ import annotations

import json
import sys

import numpy as np
import shapely

from survatlas.coverage import oracle_visibility, prepare_obstacles
from survatlas.coverage.analysis import device_rows, load_inputs
from survatlas.optics import camera_geometry, expand_views
from survatlas.store import Store


def main(db: str) -> int:
    with Store(db, create=False) as store:
        inputs = load_inputs(store)
    geoms = [camera_geometry(row, "typical") for row in device_rows(inputs.devices)]
    cam, direction, fov, radius = expand_views(geoms, "detection")
    regions = oracle_visibility(prepare_obstacles(inputs.buildings), inputs.cam_x[cam],
                                inputs.cam_y[cam], direction, fov, radius)
    seen = shapely.union_all(np.asarray(regions, dtype=object))
    seen_m = float(shapely.length(shapely.intersection(inputs.streets, seen)).sum())
    total = float(shapely.length(inputs.streets).sum())
    print(json.dumps({"street_in_view_m": seen_m, "street_length_m": total,
                      "street_in_view_share": seen_m / total}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
