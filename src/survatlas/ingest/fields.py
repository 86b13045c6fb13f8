"""Import field camera lists: CSV (latitude/longitude columns) and GeoJSON points.

Columns or properties use the OSM tag vocabulary (``camera:direction``, ``surveillance:type``,
``height`` …), normalised exactly like OSM tags. Explicit geometry columns take precedence over
scenarios later: ``direction`` (degrees), ``fov_deg``, ``range_m``, ``height_m``, ``focal_mm``,
``sensor_width_mm``, ``width_px``, ``tilt_deg`` (degrees below the horizon; stored as
``tilt_down_deg``). A ``sensitivity`` column sets each row's sensitivity.
Every row is checked before anything is written; problems are reported with row numbers.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import shapely

from survatlas.errors import CorruptFileError, InputError, InputFileNotFoundError
from survatlas.ingest._history import SnapshotRecorder
from survatlas.ingest._records import ImportSummary, LayerCounts, Record, device_values
from survatlas.ingest._writer import write_layer, write_records
from survatlas.ingest.tags import normalise_tags
from survatlas.provenance.sources import (
    file_sha256,
    file_source,
    insert_import,
    raise_source_level,
)
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.vocab import SENSITIVITIES

LAT_NAMES = ("latitude", "lat", "y")
LON_NAMES = ("longitude", "lon", "lng", "long", "x")
#: explicit camera geometry columns: name -> (type, low, high) accepted range
EXPLICIT: dict[str, tuple[type, float, float]] = {
    "fov_deg": (float, 0.0, 360.0),
    "range_m": (float, 0.0, 5000.0),
    "height_m": (float, 0.0, 500.0),
    "focal_mm": (float, 0.0, 2000.0),
    "sensor_width_mm": (float, 0.0, 100.0),
    "width_px": (int, 1, 100_000),
    "tilt_deg": (float, -90.0, 90.0),
}
#: explicit columns stored under another device column
EXPLICIT_COLUMN = {"tilt_deg": "tilt_down_deg"}
META_PREFIX = "survatlas:"
_MAX_REPORTED = 5


def import_cameras(
    store: Store, path: str | Path, *, sensitivity: str = "public", osm_ids: bool = False,
    as_of: str | None = None, declassify: bool = False,
) -> ImportSummary:
    """Import a CSV or GeoJSON camera list into ``store`` in one transaction.

    Parameters
    ----------
    store
        The store to write to.
    path
        ``.csv`` (or ``.tsv``/``.txt``) with latitude/longitude columns, or ``.geojson``/``.json``.
    sensitivity
        Default sensitivity of every row (a ``sensitivity`` column overrides it per row).
    osm_ids
        The ``id`` column holds OSM node ids (an export of OSM cameras): rows become
        ``osm:node/ID`` and the file is a snapshot of OSM for the device history, so that OSM
        cameras inside its extent that it lacks are recorded as gone. Rows without an id stay
        field rows (never matched to OSM).
    as_of
        Date of the list (default: now) in the device history.
    declassify
        Allow lowering cameras stored at a higher level (logged); see ``ingest._levels``.

    Raises
    ------
    InputError
        With row numbers, when any row is unusable; nothing is written then.

    Examples
    --------
    A field survey with ``latitude``, ``longitude`` and OSM tag columns::

        with Store("city.db") as store:
            import_cameras(store, "survey.csv", sensitivity="restricted")
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileNotFoundError(f"{path}: no such file; give a CSV or GeoJSON camera list")
    _check_sensitivity(sensitivity, "--sensitivity")
    started, sha = now_iso(), file_sha256(path)
    rows = list(read_rows(path))
    if not rows:
        raise InputError(f"{path.name} has no rows; nothing to import")
    records, errors = _records(rows, path, sha, sensitivity, osm_ids)
    if errors:
        more = f" (and {len(errors) - _MAX_REPORTED} more)" if len(errors) > _MAX_REPORTED else ""
        raise InputError(
            f"{path.name}: {len(errors)} row(s) cannot be imported — "
            + "; ".join(errors[:_MAX_REPORTED])
            + more
            + ". Fix them and import again; nothing was written"
        )
    kind = "dataset" if path.suffix.lower() in {".geojson", ".json"} else "field_observation"
    with store.transaction() as conn:
        source_id = file_source(
            conn,
            kind=kind,
            title=path.name,
            uri=path.name,
            sha256=sha,
            retrieved_at=started,
            sensitivity=_source_sensitivity(records),
        )
        summary = ImportSummary(source_id=source_id, file=path.name)
        summary.layers["devices"], level = write_records(
            conn, "devices", source_id, records, declassify=declassify
        )
        raise_source_level(conn, source_id, level)
        recorder = SnapshotRecorder(  # a camera list speaks for the device types it holds
            scope="osm:" if osm_ids else None,
            device_types=frozenset(r.values["device_type"] for r in records))
        recorder.add_origins((r.origin, r.osm_timestamp) for r in records)
        recorder.extend(np.array([[r.values["lon"], r.values["lat"]] * 2 for r in records]))
        summary.history = recorder.record(conn, source_id, as_of or started).to_dict()
        for rec in records:
            for w in rec.warnings:
                summary.warnings_by_kind[w.kind] = summary.warnings_by_kind.get(w.kind, 0) + 1
        insert_import(conn, source_id=source_id, command="import cameras", started=started, summary=summary.to_dict(), counts=summary.counts(), file=summary.file)
    return summary


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(row_number, properties)``; GeoJSON points yield ``longitude``/``latitude``."""
    suffix = path.suffix.lower()
    if suffix in {".geojson", ".json"}:
        yield from _geojson_rows(path)
    elif suffix in {".csv", ".tsv", ".txt"}:
        yield from _csv_rows(path)
    else:
        raise InputError(f"{path.name}: unknown file type {suffix!r}; use .csv or .geojson")


def _csv_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(f"{path.name} is not UTF-8 text; save it as UTF-8 CSV") from exc
    if not text.strip():
        return
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    fields = [f.strip() for f in (reader.fieldnames or [])]
    lat, lon = _find(fields, LAT_NAMES), _find(fields, LON_NAMES)
    if lat is None or lon is None:
        hint = ""
        if len(fields) == 1 and any(d in fields[0] for d in ";\t|,"):
            hint = " (the delimiter looks wrong: use commas, semicolons or tabs consistently)"
        raise InputError(
            f"{path.name}: no latitude/longitude columns found{hint}; name them one of "
            f"{'/'.join(LAT_NAMES)} and {'/'.join(LON_NAMES)} (found: {', '.join(fields)[:200]})"
        )
    reader.fieldnames = fields
    for n, row in enumerate(reader, start=2):
        if None in row:
            raise InputError(
                f"{path.name}: row {n} has more cells than the header; check the delimiter"
            )
        props = {k: v.strip() for k, v in row.items() if v is not None and v.strip() != ""}
        props["latitude"], props["longitude"] = props.pop(lat, ""), props.pop(lon, "")
        yield n, props


def _find(fields: list[str], names: tuple[str, ...]) -> str | None:
    lowered = {f.lower(): f for f in fields}
    return next((lowered[n] for n in names if n in lowered), None)


def _geojson_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"{path.name} is not valid GeoJSON ({exc}); check the file") from exc
    except RecursionError as exc:
        raise CorruptFileError(
            f"{path.name} is nested too deeply to be GeoJSON; check the file"
        ) from exc
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise InputError(f"{path.name}: expected a GeoJSON FeatureCollection of points")
    for n, feature in enumerate(data["features"], start=1):
        feature = feature if isinstance(feature, dict) else {}
        geometry = feature.get("geometry") if isinstance(feature.get("geometry"), dict) else {}
        properties = (
            feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        )
        props = {k: v for k, v in properties.items() if v is not None}
        coords = geometry.get("coordinates")
        if geometry.get("type") != "Point" or not isinstance(coords, list) or len(coords) < 2:
            props["_error"] = f"geometry is {geometry.get('type')!r}, not a Point"
            coords = ["", ""]
        props["longitude"], props["latitude"] = coords[0], coords[1]
        yield n, props


def _records(
    rows: list[tuple[int, dict[str, Any]]], path: Path, sha: str, default_sens: str,
    osm_ids: bool = False,
) -> tuple[list[Record], list[str]]:
    records, errors, seen = [], [], set()
    for n, props in rows:
        try:
            rec = _record(n, props, path, sha, default_sens, osm_ids)
        except InputError as exc:
            errors.append(f"row {n}: {exc}")
            continue
        if rec.origin in seen:
            errors.append(f"row {n}: duplicate id {rec.origin}")
            continue
        seen.add(rec.origin)
        records.append(rec)
    return records, errors


def _record(
    n: int, props: dict[str, Any], path: Path, sha: str, default_sens: str, osm_ids: bool = False
) -> Record:
    if "_error" in props:
        raise InputError(props["_error"])
    meta = {k[len(META_PREFIX) :]: v for k, v in props.items() if str(k).startswith(META_PREFIX)}
    ident = props.get("id") or props.get("@id")
    if osm_ids and ident is not None and not meta.get("osm_id"):  # rows without one stay field rows
        try:
            meta = {**meta, "osm_type": "node", "osm_id": int(str(ident).removeprefix("node/"))}
        except ValueError:
            raise InputError(f"id {ident!r} is no OSM node id (--osm-ids)") from None
    origin, osm = _origin(meta, props, path, sha, n)
    return field_record(props, origin, sensitivity=default_sens, osm=osm)


def field_record(
    props: Mapping[str, Any],
    origin: str,
    *,
    sensitivity: str = "public",
    osm: Mapping[str, Any] | None = None,
) -> Record:
    """One device from field-file properties: ``latitude``, ``longitude``, OSM tags, the
    explicit geometry columns (:data:`EXPLICIT`) and an optional ``sensitivity``.

    The same fields are accepted by ``survatlas import cameras`` and by contributions made
    from the map (:mod:`survatlas.contribute`). Raises :class:`InputError` on a bad value.
    """
    props = dict(props)
    lon, lat = (
        _coordinate(props.pop("longitude", None), "longitude"),
        _coordinate(props.pop("latitude", None), "latitude"),
    )
    _check_position(lon, lat)
    meta = {k[len(META_PREFIX) :]: v for k, v in props.items() if str(k).startswith(META_PREFIX)}
    sens = str(props.pop("sensitivity", meta.get("sensitivity", sensitivity)))
    _check_sensitivity(sens, "sensitivity")
    explicit = {EXPLICIT_COLUMN.get(k, k): _explicit(k, props.pop(k))
                for k in list(props) if k in EXPLICIT}
    tags = {str(k): _tag_text(v) for k, v in props.items() if not str(k).startswith(META_PREFIX)}
    norm = normalise_tags(tags)
    values = device_values(norm, lon, lat, explicit)
    values["name"] = tags.get("name")
    if explicit.get("height_m") is not None:
        values["height_m"] = explicit["height_m"]
    return Record(
        origin,
        shapely.to_wkb(shapely.Point(lon, lat)),
        values,
        tags,
        sensitivity=sens,
        warnings=norm.warnings,
        **dict(osm or {}),
    )


def write_devices(
    conn: Any, source_id: int, records: list[Record], *, as_of: str | None = None
) -> LayerCounts:
    """Write device ``records`` of ``source_id`` inside the caller's transaction, and their
    versions in the device history (added or changed; nothing is declared absent)."""
    counts = write_layer(conn, "devices", source_id, records)
    if records:
        recorder = SnapshotRecorder(scope=None)
        recorder.add_origins((r.origin, r.osm_timestamp) for r in records)
        recorder.extend(np.array([[r.values["lon"], r.values["lat"]] * 2 for r in records]))
        recorder.record(conn, source_id, as_of or now_iso())
    return counts


def _origin(meta: Mapping[str, Any], props: Mapping[str, Any], path: Path, sha: str, n: int):
    osm: dict[str, Any] = {}
    if meta.get("osm_type") and meta.get("osm_id"):
        osm = {
            "osm_type": str(meta["osm_type"]),
            "osm_id": int(meta["osm_id"]),
            "osm_version": int(meta["osm_version"]) if meta.get("osm_version") else None,
        }
    if meta.get("origin"):
        return str(meta["origin"]), osm
    if osm:
        return f"osm:{osm['osm_type']}/{osm['osm_id']}", osm
    ident = props.get("id") or props.get("ref:survey")
    if ident:
        return f"field:{path.name}:{ident}", osm
    return f"field:{sha[:16]}:{n}", osm


def _coordinate(value: Any, name: str) -> float:
    try:
        number = float(str(value).replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} {value!r} is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{name} {value!r} is not a finite number")
    return number


def _check_position(lon: float, lat: float) -> None:
    if not -90 <= lat <= 90:
        swapped = " — are latitude and longitude swapped?" if -90 <= lon <= 90 else ""
        raise InputError(f"latitude {lat} is outside -90..90{swapped}")
    if not -180 <= lon <= 180:
        raise InputError(f"longitude {lon} is outside -180..180")
    if lon == 0 and lat == 0:
        raise InputError("position 0,0 (Null Island) is a missing position, not a camera")


def _explicit(name: str, value: Any) -> float | int:
    kind, low, high = EXPLICIT[name]
    try:
        number = kind(float(value))
    except (TypeError, ValueError):
        raise InputError(f"{name} {value!r} is not a number") from None
    inside = low <= number <= high if name == "height_m" else low < number <= high
    if not inside:
        raise InputError(f"{name} {value!r} is outside {low}..{high}")
    return number


def _tag_text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _check_sensitivity(value: str, what: str) -> None:
    if value not in SENSITIVITIES:
        raise InputError(f"{what} {value!r} is not one of {', '.join(SENSITIVITIES)}")


def _source_sensitivity(records: list[Record]) -> str:
    levels = {r.sensitivity for r in records}
    return next(s for s in reversed(SENSITIVITIES) if s in levels or s == "public")
