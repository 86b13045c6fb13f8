"""Map label glyphs (signed distance fields, MapLibre's glyph PBF format) from installed fonts.

MapLibre GL draws symbol-layer text from glyph ranges ``{fontstack}/{start}-{end}.pbf``: 256
code points per range, each glyph a signed distance field with a 3-pixel border at 24 px. This
module makes them from the Noto fonts of the Debian packages ``fonts-noto-core`` (Latin,
Cyrillic, Greek …) and ``fonts-noto-cjk`` (Korean, Chinese, Japanese), so that labels need
nothing from the network: a code point is drawn with the first font of the stack that has it.

Fonts are looked up by file name under the directories of :data:`FONT_DIRS` (or the
``SURVATLAS_FONT_DIRS`` environment variable, ``:``-separated).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from scipy.ndimage import distance_transform_edt

from survatlas.errors import InputError, NotFoundError
from survatlas.publish._mvt import varint, zigzag

__all__ = ["FONT_DIRS", "FONT_STACKS", "FontMissingError", "glyph_range", "stack_fonts"]

#: where font packages install their files (Debian, then local installs).
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")
#: font stack name -> font files in order of preference (``file#face`` picks a collection face).
FONT_STACKS: dict[str, tuple[str, ...]] = {
    "Noto Sans Regular": ("NotoSans-Regular.ttf", "NotoSansCJK-Regular.ttc#KR"),
    "Noto Sans Bold": ("NotoSans-Bold.ttf", "NotoSansCJK-Bold.ttc#KR"),
    "Noto Sans Italic": ("NotoSans-Italic.ttf", "NotoSansCJK-Regular.ttc#KR"),
}
SIZE = 24  # MapLibre's glyph size (px)
BUFFER = 3  # border around each SDF bitmap (px)
RADIUS = 8.0  # distance (px) spanned by the field on each side of the edge
CUTOFF = 0.25  # share of the byte range outside the edge (edge at 191)
OVERSAMPLE = 4  # glyphs are drawn this many times larger, then sampled
MAX_CODE_POINT = 0xFFFF


class FontMissingError(NotFoundError):
    """No font of a stack is installed (the glyphs cannot be made here)."""


@dataclass(frozen=True)
class _Face:
    path: Path
    index: int
    codes: frozenset[int]


def _font_dirs() -> list[Path]:
    env = os.environ.get("SURVATLAS_FONT_DIRS")
    dirs = env.split(":") if env else FONT_DIRS
    return [Path(d).expanduser() for d in dirs if d]


@lru_cache(maxsize=64)
def _find(file_name: str) -> Path | None:
    for root in _font_dirs():
        if root.is_dir():
            for found in sorted(root.rglob(file_name)):
                return found
    return None


@lru_cache(maxsize=16)
def _face(spec: str) -> _Face | None:
    from fontTools.ttLib import TTCollection, TTFont

    file_name, _, wanted = spec.partition("#")
    path = _find(file_name)
    if path is None:
        return None
    if not wanted:
        with TTFont(path, lazy=True) as font:
            return _Face(path, 0, frozenset(font.getBestCmap()))
    collection = TTCollection(path, lazy=True)
    try:
        for index, font in enumerate(collection.fonts):
            family = font["name"].getDebugName(1) or ""
            if family.split()[-1:] == [wanted]:
                return _Face(path, index, frozenset(font.getBestCmap()))
    finally:
        collection.close()
    return None


def stack_fonts(stack: str) -> list[Path]:
    """The installed font files of ``stack`` (in order of preference).

    Raises
    ------
    InputError
        Unknown stack.
    """
    if stack not in FONT_STACKS:
        raise InputError(f"unknown font stack {stack!r}; use one of {', '.join(FONT_STACKS)}")
    return [face.path for spec in FONT_STACKS[stack] if (face := _face(spec)) is not None]


@lru_cache(maxsize=16)
def _pil_font(path: Path, index: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(
        str(path), SIZE * OVERSAMPLE, index=index, layout_engine=ImageFont.Layout.BASIC
    )


def _sdf(font: ImageFont.FreeTypeFont, char: str) -> tuple[bytes, int, int, int, int]:
    """SDF bitmap, width, height, left and top (above the baseline) of ``char`` at 24 px."""
    s = OVERSAMPLE
    x0, y0, x1, y1 = font.getbbox(char, anchor="ls")
    if x1 <= x0 or y1 <= y0:
        return b"", 0, 0, 0, 0
    left, right = math.floor(x0 / s), math.ceil(x1 / s)
    top, bottom = math.ceil(-y0 / s), math.floor(-y1 / s)
    width, height = right - left, top - bottom
    big = Image.new("L", ((width + 2 * BUFFER) * s, (height + 2 * BUFFER) * s), 0)
    origin = ((BUFFER - left) * s, (BUFFER + top) * s)
    ImageDraw.Draw(big).text(origin, char, font=font, fill=255, anchor="ls")
    inside = np.asarray(big) >= 128
    if not inside.any():
        return b"", 0, 0, 0, 0
    signed = distance_transform_edt(~inside) - distance_transform_edt(inside)
    sampled = signed[s // 2 :: s, s // 2 :: s] / s
    values = 255.0 - 255.0 * (sampled / RADIUS + CUTOFF)
    bitmap = np.clip(np.rint(values), 0, 255).astype(np.uint8)
    return bitmap.tobytes(), width, height, left, top


def _is_control(code: int) -> bool:
    return code < 0x20 or 0x7F <= code < 0xA0 or 0xD800 <= code < 0xE000


def _field(number: int, value: int | bytes, *, signed: bool = False) -> bytes:
    if isinstance(value, bytes):
        return varint(number << 3 | 2) + varint(len(value)) + value
    if signed:
        value = zigzag(value)
    return varint(number << 3) + varint(value)


def _glyph(code: int, font: ImageFont.FreeTypeFont, ascender: int) -> bytes:
    char = chr(code)
    bitmap, width, height, left, top = _sdf(font, char)
    advance = round(font.getlength(char) / OVERSAMPLE)
    parts = [_field(1, code)]
    if bitmap:
        parts.append(_field(2, bitmap))
    parts += [
        _field(3, width),
        _field(4, height),
        _field(5, left, signed=True),
        _field(6, top - ascender, signed=True),
        _field(7, advance),
    ]
    return b"".join(parts)


@lru_cache(maxsize=96)
def glyph_range(stack: str, start: int) -> bytes:
    """Glyph PBF of the 256 code points from ``start`` in font stack ``stack``.

    Code points no installed font of the stack has are left out (MapLibre then draws nothing).

    Raises
    ------
    InputError
        Unknown stack, or ``start`` not a multiple of 256 within the Basic Multilingual Plane.
    FontMissingError
        None of the stack's fonts is installed (install ``fonts-noto-core``).
    """
    if start % 256 or not 0 <= start <= MAX_CODE_POINT:
        raise InputError(f"glyph range start {start} must be a multiple of 256 up to 65280")
    faces = [face for spec in FONT_STACKS.get(stack, ()) if (face := _face(spec)) is not None]
    stack_fonts(stack)  # validates the name
    if not faces:
        raise FontMissingError(
            f"no font of {stack!r} is installed; install the Debian packages fonts-noto-core "
            "and fonts-noto-cjk (make publishing)"
        )
    end = start + 255
    glyphs = []
    for code in range(start, end + 1):
        face = next((f for f in faces if code in f.codes), None)
        if face is None or _is_control(code):
            continue
        font = _pil_font(face.path, face.index)
        ascender = round(font.getmetrics()[0] / OVERSAMPLE)
        glyphs.append(_field(3, _glyph(code, font, ascender)))
    fontstack = _field(1, stack.encode()) + _field(2, f"{start}-{end}".encode()) + b"".join(glyphs)
    return _field(1, fontstack)
