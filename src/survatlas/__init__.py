"""survatlas — map, measure and document surveillance infrastructure from open sources.

survatlas holds data about infrastructure, never about surveilled people: no face or plate
recognition, no person tracking.
"""

__version__ = "0.1.0"

ODBL_ATTRIBUTION = (
    "© OpenStreetMap contributors (ODbL 1.0, https://www.openstreetmap.org/copyright)"
)
