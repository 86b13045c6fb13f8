"""Match devices across sources to build capture histories.

Two records from different lists are the same device when they lie within a distance threshold
and their device types are compatible. Each list holds a device at most once, so a matched group
(a *cluster*) has at most one record per list. Clusters are formed greedily, closest pairs first,
with complete linkage: two clusters merge only when every pair of their members is within the
threshold and type-compatible and they share no list. Records with two or more candidates in the
same other list are reported as ambiguous: there the matching — and the estimate — is fragile.

Candidate pairs come from a k-d tree on Earth-centred 3-D coordinates (chord length), so no map
projection is involved and the method works at any latitude and extent.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from survatlas.errors import InputError
from survatlas.estimate.histories import CaptureTable

EARTH_RADIUS_M = 6_371_008.8
GENERIC_TYPES = frozenset({"", "other", "unknown", "none", "nan"})

TypeRule = Callable[[str, str], bool]


@dataclass(frozen=True)
class DeviceList:
    """One source's devices: where they are and what they are.

    Attributes
    ----------
    id : str
        Name of the list (the source), used as the capture-history column.
    lon, lat : numpy.ndarray
        WGS 84 coordinates in degrees.
    device_type : numpy.ndarray
        Device type per record (e.g. ``"camera"``, ``"alpr"``); empty or ``"other"`` matches any.
    record_ids : numpy.ndarray, optional
        The records' own ids (default: 0..n−1), used in the ambiguity report.
    """

    id: str
    lon: np.ndarray
    lat: np.ndarray
    device_type: np.ndarray
    record_ids: np.ndarray = field(default_factory=lambda: np.array([]))

    def __post_init__(self) -> None:
        lon = np.asarray(self.lon, dtype=float)
        lat = np.asarray(self.lat, dtype=float)
        types = np.array(["" if t is None else str(t) for t in self.device_type], dtype=object)
        ids = np.asarray(self.record_ids) if len(self.record_ids) else np.arange(len(lon))
        if not (len(lon) == len(lat) == len(types) == len(ids)):
            raise InputError(
                f"list {self.id!r}: lon, lat, device_type and record_ids must have equal lengths"
            )
        if not (np.isfinite(lon).all() and np.isfinite(lat).all()):
            raise InputError(f"list {self.id!r}: every device needs finite lon/lat")
        if (np.abs(lat) > 90).any() or (np.abs(lon) > 180).any():
            raise InputError(f"list {self.id!r}: lon/lat out of range (are they swapped?)")
        for name, value in (
            ("lon", lon),
            ("lat", lat),
            ("device_type", types),
            ("record_ids", ids),
        ):
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return len(self.lon)


@dataclass(frozen=True)
class Matching:
    """Devices matched across lists.

    Attributes
    ----------
    list_ids : tuple of str
        The lists, in column order.
    clusters : numpy.ndarray
        ``(devices, J)`` record index in each list, ``-1`` where that list lacks the device.
    distance_m : float
        Threshold used.
    ambiguous : list of dict
        Records with two or more candidates in one other list: ``list``, ``record``,
        ``other_list``, ``candidates`` (record ids) and ``distances_m``.
    """

    list_ids: tuple[str, ...]
    clusters: np.ndarray
    distance_m: float
    ambiguous: list[dict[str, object]]

    def overlap(self, a: str, b: str) -> int:
        """Devices found on both list ``a`` and list ``b``."""
        i, j = self.list_ids.index(a), self.list_ids.index(b)
        return int(((self.clusters[:, i] >= 0) & (self.clusters[:, j] >= 0)).sum())

    def summary(self) -> dict[str, object]:
        """Counts for reports: devices, list sizes, pair overlaps, ambiguous records."""
        seen = self.clusters >= 0
        return {
            "distance_m": self.distance_m,
            "devices": len(self.clusters),
            "list_sizes": dict(zip(self.list_ids, map(int, seen.sum(axis=0)), strict=True)),
            "pair_overlaps": {
                f"{a}:{b}": self.overlap(a, b) for a, b in itertools.combinations(self.list_ids, 2)
            },
            "ambiguous_records": len(self.ambiguous),
        }


def types_compatible(a: str, b: str) -> bool:
    """Default type rule: equal (case-insensitive), or either one generic/unknown."""
    a, b = a.strip().lower(), b.strip().lower()
    return a == b or a in GENERIC_TYPES or b in GENERIC_TYPES


def match_lists(
    lists: Sequence[DeviceList],
    distance_m: float = 15.0,
    compatible: TypeRule = types_compatible,
) -> Matching:
    """Match devices across lists by distance and type.

    Parameters
    ----------
    lists : sequence of DeviceList
        Two or more lists with distinct ids.
    distance_m : float
        Greatest distance (metres) at which two records can be the same device.
    compatible : callable
        ``compatible(type_a, type_b) -> bool``; default :func:`types_compatible`.

    Returns
    -------
    Matching
    """
    _check_lists(lists, distance_m)
    xyz = [_ecef(d.lon, d.lat) for d in lists]
    offsets = np.cumsum([0, *map(len, lists)])
    edges = _candidate_edges(lists, xyz, offsets, distance_m, compatible)
    clusters = _greedy_clusters(lists, xyz, offsets, edges, distance_m, compatible)
    return Matching(
        list_ids=tuple(d.id for d in lists),
        clusters=clusters,
        distance_m=float(distance_m),
        ambiguous=_ambiguous(lists, offsets, edges),
    )


def capture_histories(matching: Matching) -> CaptureTable:
    """The capture-history table of a matching: one pattern per matched device."""
    return CaptureTable.from_records(matching.list_ids, (matching.clusters >= 0).astype(np.int8))


def device_lists_from_records(
    records_by_list: Mapping[str, Iterable[Mapping[str, object]]],
) -> list[DeviceList]:
    """Build :class:`DeviceList` objects from records with ``lon``, ``lat``, ``device_type``.

    Records may also carry an ``id``. Useful for rows read from the store or a CSV.
    """
    out = []
    for name, records in records_by_list.items():
        rows = list(records)
        out.append(
            DeviceList(
                id=str(name),
                lon=np.array([float(r["lon"]) for r in rows]),  # type: ignore[arg-type]
                lat=np.array([float(r["lat"]) for r in rows]),  # type: ignore[arg-type]
                device_type=np.array([r.get("device_type") or "" for r in rows], dtype=object),
                record_ids=np.array([r.get("id", i) for i, r in enumerate(rows)]),
            )
        )
    return out


def _ecef(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    lo, la = np.radians(lon), np.radians(lat)
    return EARTH_RADIUS_M * np.column_stack(
        [np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]
    )


def _arc(chord: np.ndarray | float) -> np.ndarray:
    """Great-circle distance (m) from chord length (m)."""
    return 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(np.asarray(chord) / (2 * EARTH_RADIUS_M), 1))


def _chord(arc_m: float) -> float:
    return float(2 * EARTH_RADIUS_M * np.sin(arc_m / (2 * EARTH_RADIUS_M)))


def _candidate_edges(
    lists: Sequence[DeviceList],
    xyz: list[np.ndarray],
    offsets: np.ndarray,
    distance_m: float,
    compatible: TypeRule,
) -> np.ndarray:
    """Compatible cross-list pairs within the threshold: rows (global_i, global_j, metres)."""
    trees = [cKDTree(p) for p in xyz]
    rows = []
    for a, b in itertools.combinations(range(len(lists)), 2):
        pairs = trees[a].sparse_distance_matrix(
            trees[b], _chord(distance_m) * (1 + 1e-12), output_type="ndarray"
        )
        for i, j, chord in pairs:
            if compatible(lists[a].device_type[i], lists[b].device_type[j]):
                rows.append((offsets[a] + i, offsets[b] + j, float(_arc(chord))))
    if not rows:
        return np.empty((0, 3))
    edges = np.array(rows, dtype=float)
    return edges[np.lexsort((edges[:, 1], edges[:, 0], edges[:, 2]))]


def _greedy_clusters(
    lists: Sequence[DeviceList],
    xyz: list[np.ndarray],
    offsets: np.ndarray,
    edges: np.ndarray,
    distance_m: float,
    compatible: TypeRule,
) -> np.ndarray:
    """Closest pairs first, complete linkage, at most one record per list in a cluster."""
    points = np.vstack(xyz)
    owner = np.searchsorted(offsets, np.arange(offsets[-1]), side="right") - 1
    types = np.concatenate([d.device_type for d in lists])
    cluster_of = np.arange(offsets[-1])
    members: dict[int, list[int]] = {g: [g] for g in range(offsets[-1])}
    for gi, gj, _ in edges:
        ci, cj = cluster_of[int(gi)], cluster_of[int(gj)]
        if ci == cj:
            continue
        mi, mj = members[ci], members[cj]
        if set(owner[mi]) & set(owner[mj]):
            continue
        chords = np.linalg.norm(points[mi][:, None, :] - points[mj][None, :, :], axis=2)
        if (_arc(chords) > distance_m * (1 + 1e-9)).any():
            continue
        if not all(compatible(types[p], types[q]) for p in mi for q in mj):
            continue
        members[ci] = mi + mj
        cluster_of[mj] = ci
        del members[cj]
    table = np.full((len(members), len(lists)), -1, dtype=np.int64)
    for row, group in enumerate(sorted(members.values(), key=min)):
        for g in group:
            table[row, owner[g]] = g - offsets[owner[g]]
    return table


def _ambiguous(
    lists: Sequence[DeviceList], offsets: np.ndarray, edges: np.ndarray
) -> list[dict[str, object]]:
    """Records with two or more candidates within the threshold in one other list."""
    owner = np.searchsorted(offsets, np.arange(offsets[-1]), side="right") - 1
    found: dict[tuple[int, int], list[tuple[int, float]]] = {}
    for gi, gj, d in edges:
        for g, other in ((int(gi), int(gj)), (int(gj), int(gi))):
            found.setdefault((g, int(owner[other])), []).append((other, d))
    out = []
    for (g, other_list), cands in sorted(found.items()):
        if len(cands) < 2:
            continue
        a = int(owner[g])
        out.append(
            {
                "list": lists[a].id,
                "record": _py(lists[a].record_ids[g - offsets[a]]),
                "other_list": lists[other_list].id,
                "candidates": [
                    _py(lists[other_list].record_ids[c - offsets[other_list]]) for c, _ in cands
                ],
                "distances_m": [round(d, 2) for _, d in cands],
            }
        )
    return out


def _py(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _check_lists(lists: Sequence[DeviceList], distance_m: float) -> None:
    if len(lists) < 2:
        raise InputError(f"matching needs at least two lists, got {len(lists)}")
    ids = [d.id for d in lists]
    if len(set(ids)) != len(ids):
        raise InputError(f"list ids must be distinct, got {ids}")
    if not (distance_m > 0 and np.isfinite(distance_m)):
        raise InputError(
            f"the match distance must be a positive number of metres, got {distance_m}"
        )
