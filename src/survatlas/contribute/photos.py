"""Photos that show no one: the only form in which a contributed photo is stored or shown.

:func:`sanitise_photo` checks a photo by its content (JPEG, PNG or WebP, decoded by Pillow;
the file name is never trusted), applies its EXIF orientation, scales it down, blurs every face
and licence plate the detector finds, and re-encodes it as a JPEG that carries no metadata
(no EXIF, GPS, device, time, XMP, ICC or comment) — checked by decoding the result. The tool
blurs people; it never recognises them.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from survatlas.contribute._detect import Box, HaarDetector
from survatlas.errors import CorruptFileError, InputError
from survatlas.provenance.evidence import check_no_metadata

#: media types accepted, by their first bytes.
ACCEPTED = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WebP"}
#: how much each detected box is widened on every side before blurring (share of its size).
MARGIN = 0.25
#: blocks across a blurred region (a mosaic this coarse keeps no facial or character detail).
MOSAIC_BLOCKS = 6
JPEG_QUALITY = 85


@dataclass(frozen=True)
class PhotoLimits:
    """Limits on one uploaded photo."""

    max_bytes: int = 12 * 1024 * 1024
    max_pixels: int = 50_000_000
    max_side: int = 2048


@dataclass(frozen=True)
class CleanPhoto:
    """A photo fit to store: metadata removed, faces and plates blurred."""

    data: bytes
    width: int
    height: int
    faces: list[Box] = field(default_factory=list)
    plates: list[Box] = field(default_factory=list)
    method: str = ""


def size_text(n: int) -> str:
    """A byte count for people: ``12 MB``, ``20 kB``."""
    return f"{n / 1e6:.3g} MB" if n >= 1_000_000 else f"{n / 1e3:.3g} kB"


def media_type(data: bytes) -> str | None:
    """The media type of an image from its first bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def sanitise_photo(
    data: bytes,
    *,
    limits: PhotoLimits | None = None,
    detector: HaarDetector | None = None,
    label: str = "the photo",
) -> CleanPhoto:
    """Check, strip and blur one photo.

    Parameters
    ----------
    data
        The uploaded bytes.
    limits
        Size limits (:class:`PhotoLimits` defaults).
    detector
        Face and plate detector (:class:`HaarDetector` defaults).
    label
        How errors name the photo (never the client's file name unescaped).

    Raises
    ------
    InputError
        Too big, not an accepted image type, or too many pixels.
    CorruptFileError
        The image does not decode.
    """
    limits = limits or PhotoLimits()
    detector = detector or HaarDetector()
    rgb = decode_photo(data, limits, label)
    faces, plates = detector.detect(rgb)
    blurred = blur_regions(rgb, [*faces, *plates])
    out = encode_jpeg(blurred)
    check_no_metadata(out)
    return CleanPhoto(
        out,
        width=blurred.shape[1],
        height=blurred.shape[0],
        faces=faces,
        plates=plates,
        method=f"sanitise-photo-v1:max{limits.max_side}px:{detector.name}:"
        f"mosaic{MOSAIC_BLOCKS}-gauss:jpeg{JPEG_QUALITY}-no-metadata",
    )


def decode_photo(data: bytes, limits: PhotoLimits, label: str = "the photo") -> np.ndarray:
    """The photo as upright RGB pixels (H × W × 3, uint8), at most ``limits.max_side`` long."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise InputError(f"{label} is empty; choose a photo file")
    if len(data) > limits.max_bytes:
        raise InputError(
            f"{label} is {size_text(len(data))}; the limit is {size_text(limits.max_bytes)} — "
            "send a smaller photo"
        )
    kind = media_type(data)
    if kind is None:
        raise InputError(
            f"{label} is not a JPEG, PNG or WebP image (judged by its content, not its name); "
            "send a photo"
        )
    try:
        with Image.open(io.BytesIO(data), formats=[ACCEPTED[kind]]) as img:
            if img.width * img.height > limits.max_pixels:
                raise InputError(
                    f"{label} has {img.width}×{img.height} pixels; the limit is "
                    f"{limits.max_pixels / 1e6:.0f} megapixels — send a smaller photo"
                )
            img.draft("RGB", (limits.max_side, limits.max_side))
            upright = ImageOps.exif_transpose(img)
            rgb = _flatten(upright)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        if isinstance(exc, InputError):
            raise
        raise CorruptFileError(f"{label} does not decode as {kind} ({exc}); it is damaged") from exc
    rgb.thumbnail((limits.max_side, limits.max_side), Image.Resampling.LANCZOS)
    return np.asarray(rgb, dtype=np.uint8).copy()


def _flatten(img):
    """RGB, with any transparency composited onto white."""
    from PIL import Image

    if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def blur_regions(rgb: np.ndarray, boxes: list[Box]) -> np.ndarray:
    """A copy of ``rgb`` with every box (widened by :data:`MARGIN`) made a blurred mosaic."""
    import cv2

    out = rgb.copy()
    height, width = out.shape[:2]
    for x, y, w, h in boxes:
        dx, dy = round(w * MARGIN), round(h * MARGIN)
        x0, y0 = max(0, x - dx), max(0, y - dy)
        x1, y1 = min(width, x + w + dx), min(height, y + h + dy)
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        region = out[y0:y1, x0:x1]
        cols = max(1, min(MOSAIC_BLOCKS, x1 - x0))
        rows = max(1, min(MOSAIC_BLOCKS, y1 - y0))
        small = cv2.resize(region, (cols, rows), interpolation=cv2.INTER_AREA)
        mosaic = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)
        sigma = max(x1 - x0, y1 - y0) / (2 * MOSAIC_BLOCKS)
        out[y0:y1, x0:x1] = cv2.GaussianBlur(mosaic, (0, 0), sigmaX=sigma)
    return out


def encode_jpeg(rgb: np.ndarray) -> bytes:
    """``rgb`` as a baseline JPEG with no metadata at all."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return buffer.getvalue()
