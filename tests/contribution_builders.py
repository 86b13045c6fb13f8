"""Photos for the contribution tests: a portrait with GPS EXIF, hostile and broken uploads."""

from __future__ import annotations

import io

import numpy as np

#: the astronaut's face in the 256-px copy (x, y, w, h; scikit-image's astronaut, public domain)
FACE_256 = (89, 33, 45, 56)
GPS = {1: "N", 2: (60.0, 10.0, 12.5), 3: "E", 4: (24.0, 56.0, 24.0)}


def portrait(size: int = 256) -> np.ndarray:
    """scikit-image's astronaut (a face) scaled to ``size`` pixels."""
    import skimage.data as sd
    from PIL import Image

    return np.asarray(Image.fromarray(sd.astronaut()).resize((size, size)))


def jpeg_with_exif(rgb: np.ndarray, *, orientation: int | None = None) -> bytes:
    """``rgb`` as a JPEG with GPS, camera make/model, time and a comment in its metadata."""
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # make
    exif[0x0110] = "Phone 12 Pro"  # model
    exif[0x0132] = "2026:11:30 17:45:01"  # date and time
    if orientation:
        exif[0x0112] = orientation
    exif[0x8825] = GPS
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", exif=exif, comment=b"taken near the station")
    return out.getvalue()


def png(rgb: np.ndarray) -> bytes:
    """``rgb`` as a PNG."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def region_detail(rgb: np.ndarray, box: tuple[int, int, int, int]) -> float:
    """Mean absolute horizontal gradient inside ``box``: high for a face, ~0 once blurred."""
    x, y, w, h = box
    region = rgb[y : y + h, x : x + w].astype(float).mean(axis=2)
    return float(np.abs(np.diff(region, axis=1)).mean())
