"""Named route figures: one definition each, used by the CLI, the web API and reports.

Every figure is computed at the DORI level and under the optics scenario the least-exposed
route optimised (for ``robust``: the worst case over the scenarios, per route).

``metres_in_view_avoided``
    metres in view on the shortest route − metres in view on the least-exposed route.
``cameras_avoided``
    cameras that see the shortest route and do **not** see the least-exposed route (a set
    difference of ``devices.id``). ``cameras_added`` counts the reverse (cameras the detour
    passes that the shortest does not), so ``cameras_avoided − cameras_added`` is the change in
    the number of cameras in view.
``extra_metres``, ``detour``
    least-exposed length − shortest length, and their ratio.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FIGURES = {
    "metres_in_view_avoided": "metres in view on the shortest route minus on the least-exposed",
    "cameras_avoided": "cameras seeing the shortest route but not the least-exposed one",
    "cameras_added": "cameras seeing the least-exposed route but not the shortest one",
    "extra_metres": "length of the least-exposed route minus the shortest",
    "detour": "length of the least-exposed route divided by the shortest",
}


def cameras_avoided(shortest: Iterable[int], least: Iterable[int]) -> int:
    """Cameras that see the shortest route and not the least-exposed one."""
    return len(set(shortest) - set(least))


def price_of_privacy(
    shortest_m: float,
    least_m: float,
    shortest_seen: tuple[float, Iterable[int]],
    least_seen: tuple[float, Iterable[int]],
) -> dict[str, Any]:
    """The figures comparing the least-exposed route with the shortest.

    Parameters
    ----------
    shortest_m, least_m
        Route lengths in metres.
    shortest_seen, least_seen
        ``(metres in view, camera ids)`` of each route at the optimised level and scenario.
    """
    (s_m, s_cams), (l_m, l_cams) = shortest_seen, least_seen
    s_cams, l_cams = set(s_cams), set(l_cams)
    return {
        "extra_metres": round(least_m - shortest_m, 1),
        "detour": round(least_m / shortest_m, 3) if shortest_m else 1.0,
        "metres_in_view_avoided": round(s_m - l_m, 1),
        "cameras_avoided": cameras_avoided(s_cams, l_cams),
        "cameras_added": cameras_avoided(l_cams, s_cams),
        "definitions": FIGURES,
    }
