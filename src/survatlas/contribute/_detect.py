"""Where faces and licence plates are in a photo: OpenCV's Haar cascades, shipped in the wheel.

The detectors *locate* regions to blur; nothing here describes, compares or recognises a face
or a plate. Settings favour recall over precision: a blurred wall costs nothing, a missed face
exposes a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from survatlas.errors import SurvatlasError

#: (cascade file, mirrored too) for faces and plates; every file ships in opencv-python-headless.
FACE_CASCADES = (
    ("haarcascade_frontalface_default.xml", False),
    ("haarcascade_frontalface_alt2.xml", False),
    ("haarcascade_profileface.xml", True),
)
PLATE_CASCADES = (
    ("haarcascade_russian_plate_number.xml", False),
    ("haarcascade_license_plate_rus_16stages.xml", False),
)
Box = tuple[int, int, int, int]  # x, y, width, height in pixels


@dataclass(frozen=True)
class HaarDetector:
    """Face and plate detection with OpenCV Haar cascades (Viola–Jones).

    Parameters
    ----------
    scale_factor
        Step between the scales searched (smaller finds more, slower).
    min_neighbors
        Overlapping hits needed to report a region (smaller finds more, with more false hits).
    min_face_px
        Smallest face searched, in pixels of the analysed image.
    max_side
        Long side (pixels) of the copy the detector runs on; boxes are scaled back.
    """

    scale_factor: float = 1.1
    min_neighbors: int = 3
    min_face_px: int = 20
    max_side: int = 1600
    faces: tuple[tuple[str, bool], ...] = FACE_CASCADES
    plates: tuple[tuple[str, bool], ...] = PLATE_CASCADES
    name: str = "opencv-haar-v1:faces-frontal-default+alt2+profile-both-ways:plates-rus+rus16"

    def detect(self, rgb: np.ndarray) -> tuple[list[Box], list[Box]]:
        """``(faces, plates)``: boxes in the pixel grid of ``rgb`` (H × W × 3, uint8)."""
        found = self.detect_each(rgb)
        faces = [b for name, _ in self.faces for b in found[name]]
        plates = [b for name, _ in self.plates for b in found[name]]
        return faces, plates

    def detect_each(self, rgb: np.ndarray) -> dict[str, list[Box]]:
        """Boxes found by each cascade, by cascade file name."""
        import cv2

        gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
        ratio = min(1.0, self.max_side / max(gray.shape))
        if ratio < 1.0:
            gray = cv2.resize(gray, None, fx=ratio, fy=ratio, interpolation=cv2.INTER_AREA)
        gray = cv2.equalizeHist(gray)
        face_min = (self.min_face_px, self.min_face_px)
        plate_min = (2 * self.min_face_px, max(8, self.min_face_px // 2))
        out = {}
        for cascades, min_size in ((self.faces, face_min), (self.plates, plate_min)):
            for name, mirrored in cascades:
                out[name] = _rescale(self._run(gray, name, mirrored, min_size), ratio)
        return out

    def _run(self, gray: np.ndarray, name: str, mirrored: bool, min_size: tuple) -> list[Box]:
        width = gray.shape[1]
        cascade = _cascade(name)
        found: list[Box] = []
        for flip in (False, True) if mirrored else (False,):
            image = np.ascontiguousarray(gray[:, ::-1]) if flip else gray
            hits = cascade.detectMultiScale(
                image,
                scaleFactor=self.scale_factor,
                minNeighbors=self.min_neighbors,
                minSize=min_size,
            )
            for x, y, w, h in (tuple(int(v) for v in hit) for hit in hits):
                found.append((width - x - w, y, w, h) if flip else (x, y, w, h))
        return found


@cache
def _cascade(name: str):
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if cascade.empty():
        raise SurvatlasError(
            f"OpenCV cascade {name} is missing: install opencv-python-headless 4.x "
            "(OpenCV 5 no longer ships the Haar cascades)"
        )
    return cascade


def _rescale(boxes: list[Box], ratio: float) -> list[Box]:
    if ratio == 1.0:
        return boxes
    return [tuple(round(v / ratio) for v in box) for box in boxes]  # type: ignore[misc]
