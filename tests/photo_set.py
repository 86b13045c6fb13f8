"""A small labelled set of photos with faces and licence plates, for measuring blur recall.

Every image ships in a package or is generated here (nothing is downloaded):

* three portraits with hand-drawn face boxes: scikit-image's ``astronaut`` (NASA, public
  domain), ``camera`` (the cameraman, a profile; scikit-image, BSD-licensed sample data) and
  matplotlib's ``grace_hopper.jpg`` (US Navy, public domain), each also scaled to 50 % and 25 %
  to stand for people farther away;
* the 100 faces of scikit-image's ``lfw_subset`` (Labeled Faces in the Wild, 25×25 crops),
  enlarged to 48–120 px and set four to a scene on a packaged background, and its 100
  non-face patches set the same way (they measure false blurs);
* licence plates drawn here (EU-style and Russian-style layouts, random characters, placed
  with a slight rotation on a packaged background).

A labelled region counts as *hidden* when blurred boxes cover at least :data:`HIDDEN_SHARE` of
it: for privacy what matters is whether the face or plate is blurred, not box overlap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

Box = tuple[int, int, int, int]
HIDDEN_SHARE = 0.7
#: hand-drawn face boxes (x, y, w, h): forehead to chin, ear to ear.
PORTRAIT_FACES = {
    "astronaut": (178, 65, 90, 112),
    "grace_hopper": (155, 125, 205, 200),
    "camera": (175, 75, 95, 110),
}


@dataclass
class Labelled:
    """One image of the set and what it holds."""

    name: str
    rgb: np.ndarray
    faces: list[Box] = field(default_factory=list)
    plates: list[Box] = field(default_factory=list)
    decoys: list[Box] = field(default_factory=list)


def _portrait(name: str) -> np.ndarray:
    import skimage.data as sd
    from PIL import Image

    if name == "astronaut":
        return sd.astronaut()
    if name == "camera":
        return np.stack([sd.camera()] * 3, axis=-1)
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    return np.asarray(Image.open(path).convert("RGB"))


def portraits() -> list[Labelled]:
    """The three portraits at 100 %, 50 % and 25 %."""
    from PIL import Image

    out = []
    for name, box in PORTRAIT_FACES.items():
        rgb = _portrait(name)
        for scale in (1.0, 0.5, 0.25):
            img = Image.fromarray(rgb)
            if scale != 1.0:
                img = img.resize((round(img.width * scale), round(img.height * scale)))
            scaled = tuple(round(v * scale) for v in box)
            out.append(Labelled(f"{name}@{scale:g}", np.asarray(img), faces=[scaled]))
    return out


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    import skimage.data as sd
    from PIL import Image

    source = [sd.coffee, sd.chelsea, sd.rocket, sd.hubble_deep_field][int(rng.integers(4))]()
    img = Image.fromarray(source).resize((width, height))
    return np.asarray(img).copy()


def lfw_scenes(kind: str = "faces") -> list[Labelled]:
    """25 scenes of four LFW patches each (``faces`` or ``non-faces``)."""
    import skimage
    from PIL import Image

    patches = np.load(os.path.join(os.path.dirname(skimage.__file__), "data", "lfw_subset.npy"))
    patches = patches[:100] if kind == "faces" else patches[100:]
    rng = np.random.default_rng(19 if kind == "faces" else 91)
    out = []
    for scene in range(25):
        canvas = _background(rng, 640, 480)
        boxes = []
        for slot in range(4):
            size = int(rng.integers(48, 121))
            patch = (patches[scene * 4 + slot] * 255).astype(np.uint8)
            face = np.asarray(Image.fromarray(patch).resize((size, size), Image.Resampling.BICUBIC))
            x = (slot % 2) * 320 + int(rng.integers(20, 320 - size - 20))
            y = (slot // 2) * 240 + int(rng.integers(20, 240 - size - 20))
            canvas[y : y + size, x : x + size] = face[..., None]
            boxes.append((x, y, size, size))
        item = Labelled(f"lfw-{kind}-{scene}", canvas)
        if kind == "faces":
            item.faces = boxes
        else:
            item.decoys = boxes
        out.append(item)
    return out


def _plate(rng: np.random.Generator, style: str) -> np.ndarray:
    from PIL import Image, ImageDraw, ImageFont

    letters = "ABCEHKMOPTXY"
    digits = "0123456789"
    if style == "ru":
        text = (
            letters[rng.integers(12)]
            + "".join(digits[i] for i in rng.integers(10, size=3))
            + "".join(letters[i] for i in rng.integers(12, size=2))
            + " "
            + "".join(digits[i] for i in rng.integers(10, size=2))
        )
        width, height = 520, 112
    else:
        text = (
            "".join(letters[i] for i in rng.integers(12, size=2))
            + "-"
            + "".join(digits[i] for i in rng.integers(10, size=3))
            + "-"
            + "".join(letters[i] for i in rng.integers(12, size=2))
        )
        width, height = 520, 110
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.rectangle([3, 3, width - 4, height - 4], outline="black", width=6)
    if style == "eu":
        draw.rectangle([6, 6, 52, height - 7], fill=(0, 51, 153))
    font = ImageFont.load_default(size=84)
    left = 70 if style == "eu" else 24
    draw.text((left, height / 2), text, fill="black", font=font, anchor="lm")
    return np.asarray(img)


def plate_scenes(count: int = 24) -> list[Labelled]:
    """``count`` scenes with one drawn plate each, 90–260 px wide, slightly rotated."""
    from PIL import Image

    rng = np.random.default_rng(1919)
    out = []
    for n in range(count):
        canvas = _background(rng, 800, 600)
        plate = Image.fromarray(_plate(rng, "ru" if n % 2 else "eu"))
        width = int(rng.integers(90, 261))
        plate = plate.resize((width, round(width * plate.height / plate.width)))
        plate = plate.rotate(float(rng.uniform(-6, 6)), expand=True, fillcolor=(40, 40, 40))
        x = int(rng.integers(20, 800 - plate.width - 20))
        y = int(rng.integers(20, 600 - plate.height - 20))
        canvas[y : y + plate.height, x : x + plate.width] = np.asarray(plate)
        out.append(Labelled(f"plate-{n}", canvas, plates=[(x, y, plate.width, plate.height)]))
    return out


def labelled_set(small: bool = False) -> list[Labelled]:
    """The whole set: portraits, LFW face scenes, LFW non-face scenes, plate scenes (with
    ``small``, a third of it: every portrait, 6 face scenes, 4 non-face scenes, 8 plates)."""
    if small:
        return [*portraits(), *lfw_scenes("faces")[:6], *lfw_scenes("non-faces")[:4],
                *plate_scenes()[:8]]
    return [*portraits(), *lfw_scenes("faces"), *lfw_scenes("non-faces"), *plate_scenes()]


def covered_share(box: Box, blurred: list[Box], margin: float = 0.0) -> float:
    """Share of ``box`` covered by the union of ``blurred`` boxes (each widened by ``margin``)."""
    x, y, w, h = box
    mask = np.zeros((h, w), dtype=bool)
    for bx, by, bw, bh in blurred:
        dx, dy = round(bw * margin), round(bh * margin)
        x0, y0 = max(x, bx - dx), max(y, by - dy)
        x1, y1 = min(x + w, bx + bw + dx), min(y + h, by + bh + dy)
        if x1 > x0 and y1 > y0:
            mask[y0 - y : y1 - y, x0 - x : x1 - x] = True
    return float(mask.mean()) if mask.size else 0.0


def measure(detector, margin: float, small: bool = False) -> dict[str, dict[str, float]]:
    """Recall of faces and plates, and the share of non-face patches blurred, over the set."""
    counts = {k: [0, 0] for k in ("faces", "plates", "decoys")}
    for item in labelled_set(small):
        faces, plates = detector.detect(item.rgb)
        blurred = [*faces, *plates]
        for kind in counts:
            for box in getattr(item, kind):
                counts[kind][1] += 1
                counts[kind][0] += covered_share(box, blurred, margin) >= HIDDEN_SHARE
    return {
        kind: {"hidden": hit, "total": total, "share": hit / total if total else 0.0}
        for kind, (hit, total) in counts.items()
    }
