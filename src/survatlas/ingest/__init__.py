"""Ingest: OpenStreetMap extracts, field camera lists and GIS layers into the store.

Every import is one transaction (all-or-nothing) and idempotent (importing the same file twice
adds nothing; a newer OSM version of an object updates it).
"""

from survatlas.ingest._records import ImportSummary
from survatlas.ingest.fields import import_cameras
from survatlas.ingest.layers import import_layer
from survatlas.ingest.osm import import_osm

__all__ = ["ImportSummary", "import_cameras", "import_layer", "import_osm"]
