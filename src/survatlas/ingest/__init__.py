"""Ingest: OpenStreetMap extracts, field camera lists and GIS layers into the store.

Every import is one transaction (all-or-nothing) and idempotent (importing the same file twice
adds nothing; a newer OSM version of an object updates it).

The importers are loaded when first used (:pep:`562`): ``survatlas import osm`` never imports
geopandas, pandas or pyproj, which only the layer and camera importers need.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from survatlas.ingest._records import ImportSummary
    from survatlas.ingest.fields import import_cameras
    from survatlas.ingest.layers import import_layer
    from survatlas.ingest.osm import import_osm

__all__ = ["ImportSummary", "import_cameras", "import_layer", "import_osm"]

#: public name -> the module that defines it
_HOMES = {
    "ImportSummary": "survatlas.ingest._records",
    "import_cameras": "survatlas.ingest.fields",
    "import_layer": "survatlas.ingest.layers",
    "import_osm": "survatlas.ingest.osm",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home), name)
