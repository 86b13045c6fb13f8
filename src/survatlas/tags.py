"""TEMPORARY minimal tag normaliser, replaced by the full table-driven module (tags branch)."""

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    direction_deg: float
    fov_deg: float | None


@dataclass(frozen=True)
class TagWarning:
    key: str
    value: str
    kind: str
    message: str


@dataclass(frozen=True)
class DeviceTags:
    device_type: str
    area: str | None
    zone: str | None
    mount: str | None
    camera_type: str | None
    views: tuple
    tilt_down_deg: float | None
    height_m: float | None
    operator: str | None
    manufacturer: str | None
    model: str | None
    warnings: tuple


def parse_height(v):
    return float(v.replace("m", "").strip())


def normalise_tags(t):
    w = []
    views = ()
    d = t.get("camera:direction")
    if d:
        try:
            views = (View(float(d) % 360, None),)
        except ValueError:
            w.append(TagWarning("camera:direction", d, "unparsed_direction", "x"))
    return DeviceTags(
        "speed_camera" if t.get("highway") == "speed_camera" else "camera",
        t.get("surveillance"),
        t.get("surveillance:zone"),
        t.get("camera:mount"),
        t.get("camera:type"),
        views,
        None,
        None,
        t.get("operator"),
        t.get("manufacturer"),
        t.get("model"),
        tuple(w),
    )
