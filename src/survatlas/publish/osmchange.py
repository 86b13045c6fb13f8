"""Accepted contributions back to OpenStreetMap: an osmChange file to review and upload in JOSM.

The ``contributions`` layer is the devices created by accepting a contribution
(``origin = contribution:<id>``), read through :mod:`survatlas.store.gate` like every layer, so
a pending, rejected or restricted contribution never reaches the file. Each becomes a
``<create>`` node with a negative id and its OSM surveillance tags
(``man_made=surveillance``, ``surveillance:type``, ``camera:direction`` …); survatlas' own
fields and the contributor's note are never written.
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

import geopandas as gpd

from survatlas import __version__
from survatlas.errors import InputError
from survatlas.store import Store
from survatlas.store.gate import read_layer

#: origin prefix of the devices created from contributions.
CONTRIBUTION_ORIGIN = "contribution:"
#: OSM keys never written to an upload (survatlas' own or private).
_NOT_OSM = ("survatlas:", "note", "fixme:survatlas")
_MAX_TAG = 255


def contributions_frame(store: Store, bbox: tuple | None, audience: str) -> gpd.GeoDataFrame:
    """Devices created from accepted contributions that ``audience`` may see."""
    frame = read_layer(store, "devices", bbox, audience=audience)
    keep = frame["origin"].astype(str).str.startswith(CONTRIBUTION_ORIGIN) if len(frame) else []
    return frame[keep] if len(frame) else frame


def osm_tags(tags: dict[str, str]) -> dict[str, str]:
    """The tags to upload: OSM keys only, values within OSM's 255-character limit."""
    out = {
        str(k): str(v)
        for k, v in tags.items()
        if v not in (None, "") and not str(k).startswith(_NOT_OSM)
    }
    out.setdefault("man_made", "surveillance")
    out.setdefault("surveillance:type", "camera")
    for key, value in out.items():
        if len(key) > _MAX_TAG or len(value) > _MAX_TAG:
            raise InputError(f"tag {key[:40]!r} is longer than OSM's 255 characters; shorten it")
    return dict(sorted(out.items()))


def write_osc(frame: gpd.GeoDataFrame, out: Path, metadata: dict[str, str]) -> list[Path]:
    """An osmChange 0.6 file: one ``<create>`` node (negative id) per point of ``frame``.

    ``frame`` is a flat layer (:func:`survatlas.publish.export.flat_frame`): OSM tags are its
    columns without the ``survatlas:`` prefix.
    """
    if len(frame) and not (frame.geometry.geom_type == "Point").all():
        raise InputError("osmChange export writes points only; use --layer contributions")
    columns = [c for c in frame.columns if c != frame.geometry.name]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<osmChange version="0.6" generator={quoteattr(f"survatlas {__version__}")}>',
        "<create>",
    ]
    for n, (row, geom) in enumerate(
        zip(frame[columns].itertuples(index=False, name=None), frame.geometry, strict=True), 1
    ):
        raw = {c: v for c, v in zip(columns, row, strict=True) if isinstance(v, str)}
        tags = osm_tags(raw)
        lines.append(
            f'  <node id="-{n}" version="0" lat="{geom.y:.7f}" lon="{geom.x:.7f}">'
        )
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </node>")
    lines += ["</create>", "</osmChange>", ""]
    out.write_text("\n".join(lines), encoding="utf-8")
    return [out]
