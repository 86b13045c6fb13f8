"""survatlas — map, measure and document surveillance infrastructure from open sources.

survatlas holds data about infrastructure, never about surveilled people: no face or plate
recognition, no person tracking.

The library entry points a notebook user calls are listed in :data:`__all__`; each is imported
only when first used (so ``import survatlas`` stays light)::

    import survatlas as sa

    with sa.Store("helsinki.db") as store:
        sa.import_osm(store, "data/helsinki-center.osm.pbf")
        summary = sa.compute_coverage(store)
        net = sa.load_network(store)
        plan = sa.plan_route(net, (60.17217, 24.94728), (60.16751, 24.93620))
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

ODBL_ATTRIBUTION = (
    "© OpenStreetMap contributors (ODbL 1.0, https://www.openstreetmap.org/copyright)"
)

#: Public name -> the module that defines it.
_API = {
    "Store": "survatlas.store",
    "open_store": "survatlas.store",
    "import_osm": "survatlas.ingest.osm",
    "import_cameras": "survatlas.ingest.fields",
    "import_layer": "survatlas.ingest.layers",
    "fetch_area": "survatlas.ingest.fetch",
    "fetch_region": "survatlas.ingest.fetch",
    "timeline": "survatlas.publish.growth",
    "diff": "survatlas.publish.growth",
    "Settings": "survatlas.coverage.analysis",
    "compute_coverage": "survatlas.coverage.scale",
    "load_network": "survatlas.routing.network",
    "plan_route": "survatlas.routing.plan",
    "route_exposure": "survatlas.routing.walked",
    "chapman": "survatlas.estimate.twolist",
    "mse": "survatlas.estimate.mse",
    "estimate_total": "survatlas.estimate.total",
    "country_profile": "survatlas.publish.profile",
    "render_profile": "survatlas.publish.profile",
}

__all__ = ["ODBL_ATTRIBUTION", "__version__", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        value = getattr(importlib.import_module(_API[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'survatlas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
