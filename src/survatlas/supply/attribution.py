"""Devices attributed to vendors and models (with the models' optics)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry
from survatlas.supply._common import MODEL_KEYS, VENDOR_KEYS
from survatlas.supply.vendors import (
    VendorMatch,
    _alias_index,
    _match,
    load_builtin_vendors,
    normalise_model,
)


@dataclass
class AttributionSummary:
    """What :func:`attribute_devices` found."""

    devices: int = 0
    attributed: int = 0
    with_model: int = 0
    by_vendor: Counter = field(default_factory=Counter)
    by_method: Counter = field(default_factory=Counter)
    unmatched: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (unmatched values: the 20 most frequent)."""
        return {
            "devices": self.devices,
            "attributed": self.attributed,
            "with_model": self.with_model,
            "by_vendor": dict(self.by_vendor.most_common()),
            "by_method": dict(self.by_method.most_common()),
            "unmatched_values": dict(self.unmatched.most_common(20)),
            "method": (
                "Vendor from the manufacturer column and the OSM tags "
                f"{', '.join(VENDOR_KEYS)} (then {', '.join(MODEL_KEYS)}), matched on the alias "
                "table after normalisation; 'model_prefix' matches are heuristic."
            ),
        }


def attribute_devices(store: Store) -> AttributionSummary:
    """Attribute every device to a vendor (and model) from its tags; replaces earlier results."""
    summary = AttributionSummary()
    with store.transaction() as conn:
        load_builtin_vendors(conn)
        exact, prefixes = _alias_index(conn)
        models = {
            (r[0], r[1]): r[2]
            for r in conn.execute("SELECT vendor_id, model_norm, id FROM device_models")
        }
        names = dict(conn.execute("SELECT id, name FROM vendors").fetchall())
        replaced = conn.execute("DELETE FROM device_vendors").rowcount
        rows = conn.execute("SELECT id, manufacturer, model, tags FROM devices").fetchall()
        stamp = now_iso()
        for device_id, manufacturer, model, tags_json in rows:
            summary.devices += 1
            found = _attribute_one(manufacturer, model, json.loads(tags_json), exact, prefixes)
            if found is None:
                value = manufacturer or _first(json.loads(tags_json), VENDOR_KEYS)
                if value:
                    summary.unmatched[value] += 1
                continue
            match, key, value, model_value = found
            model_id = _model_id(models, match.vendor_id, model_value)
            conn.execute(
                "INSERT INTO device_vendors (device_id, vendor_id, model_id, matched_key, "
                "matched_value, method, attributed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (device_id, match.vendor_id, model_id, key, value, match.method, stamp),
            )
            summary.attributed += 1
            summary.with_model += model_id is not None
            summary.by_vendor[names[match.vendor_id]] += 1
            summary.by_method[match.method] += 1
        append_entry(
            conn,
            "vendors.attribute",
            "device_vendors",
            {
                "devices": summary.devices,
                "attributed": summary.attributed,
                "with_model": summary.with_model,
                "replaced": replaced,
            },
        )
    return summary


def _first(tags: dict[str, str], keys: Sequence[str]) -> str | None:
    return next((tags[k] for k in keys if tags.get(k)), None)


def _attribute_one(
    manufacturer: str | None,
    model: str | None,
    tags: dict[str, str],
    exact: dict[str, int],
    prefixes: list[tuple[str, int]],
) -> tuple[VendorMatch, str, str, str | None] | None:
    model_value = model or _first(tags, MODEL_KEYS)
    candidates = [("manufacturer", manufacturer)] + [(k, tags.get(k)) for k in VENDOR_KEYS]
    candidates += [("model", model)] + [(k, tags.get(k)) for k in MODEL_KEYS]
    for key, value in candidates:
        if value:
            match = _match(value, exact, prefixes)
            if match:
                return match, key, value, model_value
    return None


def _model_id(models: dict[tuple[int, str], int], vendor_id: int, model: str | None) -> int | None:
    if not model:
        return None
    norm = normalise_model(model)
    for (vid, model_norm), model_id in models.items():
        if vid == vendor_id and (norm == model_norm or norm.endswith(model_norm)):
            return model_id
    return None


def device_optics(store: Store) -> dict[int, dict[str, Any]]:
    """Optics of devices whose model is known: device id → focal, sensor, pixels, FOV, source.

    Coverage scenarios use these in place of the assumed optics when a device's model is known.
    """
    rows = store.query(
        "SELECT dv.device_id, m.model, v.name AS vendor, m.focal_mm, m.focal_max_mm, "
        "m.sensor_width_mm, m.width_px, m.height_px, m.fov_deg, m.ir_range_m, m.source_id "
        "FROM device_vendors dv JOIN device_models m ON m.id = dv.model_id "
        "JOIN vendors v ON v.id = dv.vendor_id ORDER BY dv.device_id"
    )
    out = {}
    for r in rows:
        item = dict(r)
        out[item.pop("device_id")] = item
    return out


# ---------------------------------------------------------------- programmes


