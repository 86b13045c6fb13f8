"""The contribution form: its fields and the OSM values offered for each (from the tag tables).

The same keys are the columns of a field file (``survatlas template cameras``) and the form
fields of ``POST /api/contributions``, so a team can collect offline in any tool and import later.
"""

from __future__ import annotations

from typing import Any

from survatlas.contribute.moderation import MAX_NOTE, MAX_VALUE, TAG_FIELDS, ContributionPolicy
from survatlas.ingest.tags import AREAS, CAMERA_TYPES, DEVICE_TYPES, MOUNTS, ZONES, Vocabulary

#: field -> (label, vocabulary or None for free text, help).
_FIELDS: dict[str, tuple[str, Vocabulary | None, str]] = {
    "surveillance:type": ("Type", DEVICE_TYPES, "camera, ALPR (plate reader), guard …"),
    "surveillance": ("Area watched", AREAS, "public, outdoor, indoor, traffic …"),
    "surveillance:zone": ("Zone", ZONES, "what it watches: street, parking, entrance, shop …"),
    "camera:type": ("Camera type", CAMERA_TYPES, "fixed, dome, panning (PTZ), panorama"),
    "camera:mount": ("Mount", MOUNTS, "wall, pole, ceiling, street lamp …"),
    "operator": ("Operator", None, "who runs it, as written on a sign (e.g. City of …)"),
    "height": ("Height (m)", None, "metres above the ground, e.g. 4"),
}


def standard_values(table: Vocabulary) -> list[str]:
    """The values of ``table`` read silently as themselves (OSM's documented values)."""
    return sorted(k for k, (canonical, note) in table.items() if canonical == k and note is None)


def form_description(policy: ContributionPolicy | None = None) -> dict[str, Any]:
    """What a client needs to draw the form and to check a contribution before sending it."""
    policy = policy or ContributionPolicy()
    fields = [
        {
            "key": key,
            "label": label,
            "values": standard_values(table) if table is not None else None,
            "help": help_text,
        }
        for key, (label, table, help_text) in _FIELDS.items()
    ]
    return {
        "position": ["lat", "lon"],
        "direction": "degrees clockwise from north (0–360), optional",
        "fields": fields,
        "other_keys": [k for k in TAG_FIELDS if k not in _FIELDS],
        "note_max": MAX_NOTE,
        "value_max": MAX_VALUE,
        "photos": {
            "max": policy.max_photos,
            "max_bytes": policy.limits.max_bytes,
            "types": ["image/jpeg", "image/png", "image/webp"],
        },
        "anonymous": policy.anonymous,
        "privacy": "Photos lose their metadata (GPS, device, time) and have faces and licence "
        "plates blurred before they are stored; reports stay private until an editor accepts "
        "them.",
    }


def template_rows() -> list[str]:
    """Columns of a field-file template (``survatlas template cameras``)."""
    return ["id", "latitude", "longitude", "camera:direction", *_FIELDS, "camera:angle",
            "manufacturer", "model", "name", "sensitivity"]
