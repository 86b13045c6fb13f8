"""Normalised records and their column layout per layer; the import summary; chunks of rows ready to write."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from survatlas.ingest._wkb import wkb_bounds

#: Extra (layer-specific) columns written for each layer, in order.
LAYER_COLUMNS: dict[str, tuple[str, ...]] = {
    "devices": (
        "device_type",
        "area",
        "zone",
        "mount",
        "camera_type",
        "views",
        "tilt_down_deg",
        "height_m",
        "operator",
        "manufacturer",
        "model",
        "name",
        "fov_deg",
        "range_m",
        "focal_mm",
        "sensor_width_mm",
        "width_px",
        "lon",
        "lat",
    ),
    "buildings": ("building", "obstacle", "height_m", "levels", "min_height_m"),
    "streets": ("highway", "name", "walkable"),
    "sites": ("category", "name"),
}
_COMMON = (
    "origin",
    "source_id",
    "osm_type",
    "osm_id",
    "osm_version",
    "osm_timestamp",
    "content_sha",
    "geom",
    "min_x",
    "min_y",
    "max_x",
    "max_y",
    "tags",
    "sensitivity",
)


@dataclass
class Record:
    """One normalised feature ready to be written to a layer."""

    origin: str
    geom_wkb: bytes
    values: dict[str, Any]
    tags: dict[str, str]
    osm_type: str | None = None
    osm_id: int | None = None
    osm_version: int | None = None
    osm_timestamp: str | None = None
    sensitivity: str = "public"
    warnings: Sequence[Any] = ()

    @property
    def key(self) -> tuple[str, ...]:
        """Identity in its table (sites are unique per origin and category)."""
        return (
            (self.origin, self.values["category"]) if "category" in self.values else (self.origin,)
        )


@dataclass
class LayerCounts:
    """What an import did to one layer."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped_older: int = 0
    warned: int = 0
    #: rows at a lower level than their stored record, same content: the record kept its level
    kept_level: int = 0
    #: records lowered by an explicit ``declassify`` import
    declassified: int = 0
    #: site records merged into a stored site of another source (ingest._site_merge)
    merged: int = 0


@dataclass
class ImportSummary:
    """What an import did, per layer, and the warnings by kind."""

    source_id: int
    file: str
    layers: dict[str, LayerCounts] = field(default_factory=dict)
    warnings_by_kind: dict[str, int] = field(default_factory=dict)
    rejected: list[str] = field(default_factory=list)
    #: what the import did to the device history (added, moved, retagged, absent …), if anything
    history: dict[str, int] | None = None
    #: map context features written per kind (water, green, rail, road, place) and removed
    context: dict[str, int] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return {
            "source_id": self.source_id,
            "file": self.file,
            "history": self.history,
            "context": self.context,
            "layers": {k: vars(v) for k, v in self.layers.items()},
            "warnings_by_kind": dict(sorted(self.warnings_by_kind.items())),
            "rejected": _count_reasons(self.rejected),
            "rejected_examples": self.rejected[:10],
        }

    def counts(self) -> dict[str, int]:
        """Rows added, updated and unchanged over every layer (what the custody log keeps)."""
        counts = {
            "added": sum(c.added for c in self.layers.values()),
            "updated": sum(c.updated for c in self.layers.values()),
            "unchanged": sum(c.unchanged for c in self.layers.values()),
        }
        declassified = sum(c.declassified for c in self.layers.values())
        if declassified:  # a lowering is always on the record
            counts["declassified"] = declassified
        return counts

    @property
    def changed(self) -> int:
        """Number of records added or updated."""
        return sum(c.added + c.updated for c in self.layers.values())


def _count_reasons(rejected: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in rejected:
        reason = item.split(": ", 1)[-1]
        counts[reason] = counts.get(reason, 0) + 1
    return counts


#: Columns of a :class:`RowChunk` for each layer, in order (the bounding box comes apart).
ROW_COLUMNS: dict[str, tuple[str, ...]] = {
    layer: (
        "origin",
        "osm_type",
        "osm_id",
        "osm_version",
        "osm_timestamp",
        "content_sha",
        "geom",
        "tags",
        "sensitivity",
        *extra,
    )
    for layer, extra in LAYER_COLUMNS.items()
}
_ORIGIN, _VERSION, _SHA = 0, 3, 5

@dataclass
class RowChunk:
    """Rows of one layer stored by column, ready for ``executemany``.

    ``columns`` follow :data:`ROW_COLUMNS` (tags as JSON text); ``bounds`` is ``(n, 4)``
    min_x, min_y, max_x, max_y, or None to compute them from the WKB (:meth:`boxes`); ``warnings`` holds the data-quality warnings of each row
    (devices only). A chunk of OSM objects (``osm``) leaves out ``origin`` (SQLite writes
    ``osm:{type}/{id}``: it costs less there than in Python). ``checked``: the importer has
    already refused NaN and infinite vertices (the writer checks them otherwise).
    """

    layer: str
    columns: list[list[Any]]
    bounds: np.ndarray | None = None
    warnings: list[Sequence[Any]] | None = None
    osm: bool = False
    checked: bool = False

    def __len__(self) -> int:
        return len(self.columns[0])

    def boxes(self) -> np.ndarray:
        """The bounds, computed from the WKB when not given (by the writer: it has time)."""
        if self.bounds is None:
            geoms = self.columns[ROW_COLUMNS[self.layer].index("geom") - (1 if self.osm else 0)]
            self.bounds = wkb_bounds(geoms)
        return self.bounds

    def rows(self) -> list[tuple]:
        """One tuple per row: every column of :data:`ROW_COLUMNS`, then the bounds."""
        columns = self.columns
        if self.osm:
            origins = [f"osm:{t}/{i}" for t, i in zip(columns[0], columns[1], strict=True)]
            columns = [origins, *columns]
        return list(zip(*columns, *self.boxes().T.tolist(), strict=True))

    def origin(self, k: int) -> str:
        """The origin of row ``k``."""
        if self.osm:
            return f"osm:{self.columns[0][k]}/{self.columns[1][k]}"
        return self.columns[_ORIGIN][k]


def records_chunk(layer: str, records: Sequence[Record]) -> RowChunk:
    """A :class:`RowChunk` of ``records`` (their bounds computed with shapely)."""
    bounds = shapely.bounds(shapely.from_wkb([r.geom_wkb for r in records]))
    bounds = np.asarray(bounds, dtype=np.float64).reshape(-1, 4)
    rows = []
    for rec in records:
        tags_json = json.dumps(rec.tags, sort_keys=True, ensure_ascii=False)
        rows.append(
            (
                rec.origin,
                rec.osm_type,
                rec.osm_id,
                rec.osm_version,
                rec.osm_timestamp,
                _content_sha(rec, tags_json),
                rec.geom_wkb,
                tags_json,
                rec.sensitivity,
                *[rec.values.get(c) for c in LAYER_COLUMNS[layer]],
            )
        )
    columns = [list(c) for c in zip(*rows, strict=True)] or [[] for _ in ROW_COLUMNS[layer]]
    warnings = [r.warnings for r in records] if layer == "devices" else None
    return RowChunk(layer, columns, bounds, warnings)


def _content_sha(rec: Record, tags_json: str) -> str:
    """What identifies a record's content: its OSM version, or a hash of its data.

    The level is not part of it: the writer compares levels itself (``ingest._levels``).
    """
    if rec.osm_version is not None and rec.origin.startswith("osm:"):
        return osm_content_sha(rec.osm_version)
    digest = hashlib.sha1(rec.geom_wkb)
    digest.update(tags_json.encode())
    digest.update(repr(sorted(rec.values.items())).encode())
    digest.update(f"{rec.osm_version}".encode())
    return digest.hexdigest()


def content_shas(
    geoms: Sequence[bytes], tags_json: Sequence[str], values: dict[str, Sequence[Any]]
) -> list[str]:
    """The content hashes of file rows (no OSM version), as :func:`_content_sha` gives them,
    built by column: each column's ``repr`` is made once per distinct value.

    Parameters
    ----------
    geoms, tags_json
        Each row's WKB and tags JSON.
    values
        The layer's columns (as in :attr:`Record.values`), one value per row.
    """
    items = [_item_reprs(k, values[k]) for k in sorted(values)]
    tail = b"None"  # the OSM version of a file row
    sha1 = hashlib.sha1
    return [
        sha1(b"".join((g, t.encode(), ("[" + ", ".join(r) + "]").encode(), tail))).hexdigest()
        for g, t, *r in zip(geoms, tags_json, *items, strict=True)
    ]


def _item_reprs(key: str, column: Sequence[Any]) -> list[str]:
    """``repr((key, value))`` of every value of a column, each distinct value formatted once.

    Equal values must share a repr to share a cache entry: a column of one type (besides
    None) only — 1, 1.0 and True are equal keys — and zeros apart (0.0 == -0.0); NaN never
    finds itself, so it is formatted each time.
    """
    kinds = set(map(type, column)) - {type(None)}
    cache: dict[Any, str] = {None: repr((key, None))}
    get, add = cache.get, cache.setdefault
    if kinds <= {str} or kinds <= {int}:
        return [get(v) or add(v, repr((key, v))) for v in column]
    if kinds == {float}:
        return [get(v) or add(v, repr((key, v))) if v != 0 else repr((key, v)) for v in column]
    return [repr((key, value)) for value in column]


def osm_content_sha(version: int) -> str:
    """The content key of an OSM object: its version."""
    return f"osm-v{version}"


def device_values(
    norm: Any, lon: float, lat: float, explicit: dict[str, Any] | None = None
) -> dict:
    """Columns of a device from normalised tags (and explicit field-data geometry)."""
    values = {
        "device_type": norm.device_type,
        "area": norm.area,
        "zone": norm.zone,
        "mount": norm.mount,
        "camera_type": norm.camera_type,
        "views": json.dumps([[v.direction_deg, v.fov_deg] for v in norm.views]),
        "tilt_down_deg": norm.tilt_down_deg,
        "height_m": norm.height_m,
        "operator": norm.operator,
        "manufacturer": norm.manufacturer,
        "model": norm.model,
        "lon": lon,
        "lat": lat,
    }
    values.update(explicit or {})
    return values
