"""Recall of the face and plate blur on a small labelled set (tests/photo_set.py).

Runs every cascade once per image and prints, for the detector used by
``survatlas.contribute.photos`` and for leaner cascade sets side by side, the share of labelled
faces and plates that end up blurred (≥ 70 % of the region covered by blurred boxes, margin
included), the share of non-face patches blurred, and the detection seconds per image::

    python benchmarks/photo_recall.py [--scale-factor 1.1] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

from photo_set import HIDDEN_SHARE, covered_share, labelled_set  # noqa: E402
from survatlas.contribute._detect import FACE_CASCADES, PLATE_CASCADES, HaarDetector  # noqa: E402
from survatlas.contribute.photos import MARGIN  # noqa: E402

FACES = [name for name, _ in FACE_CASCADES]
PLATES = [name for name, _ in PLATE_CASCADES]
#: cascade sets compared: label -> cascade file names (faces and plates).
VARIANTS = {
    "default (all)": FACES + PLATES,
    "no frontal alt2": [n for n in FACES if "alt2" not in n] + PLATES,
    "frontal default only": [FACES[0], *PLATES],
}


def run(scale_factor: float) -> dict:
    """Per-image, per-cascade boxes and timings, then recall per variant."""
    detector = HaarDetector(scale_factor=scale_factor)
    items = labelled_set()
    found, seconds = [], {name: 0.0 for name in FACES + PLATES}
    for item in items:
        boxes = {}
        for name, mirrored in (*FACE_CASCADES, *PLATE_CASCADES):
            one = HaarDetector(
                scale_factor=scale_factor,
                faces=((name, mirrored),) if name in FACES else (),
                plates=((name, mirrored),) if name in PLATES else (),
            )
            start = time.perf_counter()
            boxes[name] = one.detect_each(item.rgb)[name]
            seconds[name] += time.perf_counter() - start
        found.append(boxes)
    rows = {}
    for label, names in VARIANTS.items():
        counts = {k: [0, 0] for k in ("faces", "plates", "decoys")}
        for item, boxes in zip(items, found, strict=True):
            blurred = [b for n in names for b in boxes[n]]
            for kind, pair in counts.items():
                for box in getattr(item, kind):
                    pair[1] += 1
                    pair[0] += covered_share(box, blurred, MARGIN) >= HIDDEN_SHARE
        rows[label] = {
            **{k: {"hidden": h, "total": t, "share": h / t} for k, (h, t) in counts.items()},
            "seconds_per_image": sum(seconds[n] for n in names) / len(items),
        }
    return {
        "images": len(items),
        "scale_factor": scale_factor,
        "min_neighbors": detector.min_neighbors,
        "margin": MARGIN,
        "hidden_share": HIDDEN_SHARE,
        "machine": f"{platform.machine()} {platform.processor() or ''} {platform.python_version()}",
        "variants": rows,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale-factor", type=float, default=HaarDetector().scale_factor)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    result = run(args.scale_factor)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{result['images']} images, scale factor {args.scale_factor}, margin {MARGIN}")
    print(f"{'variant':<22}{'faces hidden':>16}{'plates hidden':>16}{'non-faces blurred':>20}"
          f"{'s/image':>9}")
    for name, r in result["variants"].items():
        cells = [f"{r[k]['hidden']}/{r[k]['total']} {r[k]['share']:.0%}"
                 for k in ("faces", "plates", "decoys")]
        print(f"{name:<22}{cells[0]:>16}{cells[1]:>16}{cells[2]:>20}"
              f"{r['seconds_per_image']:>9.2f}")


if __name__ == "__main__":
    main()
