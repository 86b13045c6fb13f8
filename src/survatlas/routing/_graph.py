"""The street graph of a travel profile (plumbing for :mod:`survatlas.routing`).

Nodes sit at street vertices shared by two or more streets (or used twice by one) and at street
ends; every edge is a piece of one street between two nodes, with its position along that street
in metres (metric CRS), so seen intervals map onto edges exactly. Self-loops and parallel edges
are split at added nodes so that a pair of nodes has at most one edge: a path is then a node
sequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from shapely.ops import substring

from survatlas.errors import InputError, RoutingError
from survatlas.geo import local_crs
from survatlas.vocab import may_use


@dataclass(frozen=True)
class Profile:
    """A way of travelling: which streets it may use, in which direction, how fast.

    Parameters
    ----------
    name
        ``walk`` or ``bike``.
    speed_mps
        Assumed travel speed (m/s) for the time estimate.
    """

    name: str
    speed_mps: float

    def allows(self, highway: str, walkable: bool | None, tags: Mapping[str, str]) -> bool:
        """Whether a street may be used by this profile."""
        if self.name == "walk" and walkable is not None:
            return bool(walkable)
        return may_use(self.name, {**tags, "highway": highway})

    def directions(self, tags: Mapping[str, str]) -> tuple[bool, bool]:
        """(forward, backward) travel allowed along the street's vertex order."""
        if self.name == "walk" or tags.get("oneway:bicycle") == "no":
            return True, True
        if any(str(tags.get(k, "")).startswith("opposite") for k in _CONTRAFLOW_KEYS):
            return True, True
        oneway = tags.get("oneway")
        if oneway in {"-1", "reverse"}:
            return False, True
        if oneway in {"yes", "true", "1"} or (
            oneway is None and tags.get("junction") in {"roundabout", "circular"}
        ):
            return True, False
        return True, True


_CONTRAFLOW_KEYS = ("cycleway", "cycleway:left", "cycleway:right", "cycleway:both")

#: The travel profiles: walking 5 km/h, cycling 15 km/h.
PROFILES = {"walk": Profile("walk", 5 / 3.6), "bike": Profile("bike", 15 / 3.6)}


def get_profile(name: str) -> Profile:
    """The profile called ``name`` (``walk`` or ``bike``)."""
    if name not in PROFILES:
        raise InputError(f"unknown profile {name!r}; use one of {', '.join(PROFILES)}")
    return PROFILES[name]


@dataclass
class StreetGraph:
    """A routable street graph in a metric CRS.

    Edge ``e`` runs from node ``edge_u[e]`` to ``edge_v[e]`` along street ``edge_street[e]``
    from position ``edge_start[e]`` to ``edge_end[e]`` (metres from the street's first vertex);
    ``edge_fwd``/``edge_bwd`` say whether it may be travelled u→v / v→u. The CSR arrays hold the
    directed adjacency; ``csr_edge`` and ``csr_fwd`` give the edge and direction of each entry.
    """

    profile: Profile
    crs: CRS
    node_xy: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_street: np.ndarray
    edge_start: np.ndarray
    edge_end: np.ndarray
    edge_fwd: np.ndarray
    edge_bwd: np.ndarray
    edge_geom: np.ndarray
    street_names: dict[int, str | None]
    csr_indptr: np.ndarray = field(init=False, repr=False)
    csr_indices: np.ndarray = field(init=False, repr=False)
    csr_edge: np.ndarray = field(init=False, repr=False)
    csr_fwd: np.ndarray = field(init=False, repr=False)
    csr_key: np.ndarray = field(init=False, repr=False)
    edge_length: np.ndarray = field(init=False, repr=False)
    component: np.ndarray = field(init=False, repr=False)
    tree: shapely.STRtree = field(init=False, repr=False)
    #: node coordinates as two contiguous arrays (what the A* kernel reads)
    node_x: np.ndarray = field(init=False, repr=False)
    node_y: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.edge_length = self.edge_end - self.edge_start
        self.node_x = np.ascontiguousarray(self.node_xy[:, 0], dtype=float)
        self.node_y = np.ascontiguousarray(self.node_xy[:, 1], dtype=float)
        self._build_csr()
        n = len(self.node_xy)
        adj = coo_matrix((np.ones(len(self.edge_u)), (self.edge_u, self.edge_v)), shape=(n, n))
        self.component = connected_components(adj, directed=False)[1]
        self.tree = shapely.STRtree(self.edge_geom)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_xy)

    def _build_csr(self) -> None:
        fwd, bwd = np.flatnonzero(self.edge_fwd), np.flatnonzero(self.edge_bwd)
        rows = np.concatenate([self.edge_u[fwd], self.edge_v[bwd]])
        cols = np.concatenate([self.edge_v[fwd], self.edge_u[bwd]])
        edges = np.concatenate([fwd, bwd])
        is_fwd = np.concatenate([np.ones(len(fwd), bool), np.zeros(len(bwd), bool)])
        order = np.lexsort((cols, rows))
        self.csr_indices = cols[order].astype(np.int64)
        self.csr_edge = edges[order].astype(np.int64)
        self.csr_fwd = is_fwd[order]
        counts = np.bincount(rows, minlength=self.n_nodes)
        self.csr_indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.csr_key = rows[order].astype(np.int64) * self.n_nodes + self.csr_indices

    def edge_coords(self) -> tuple[np.ndarray, np.ndarray]:
        """Every edge's vertices: ``coords[ptr[e]:ptr[e + 1]]`` (made on first use)."""
        found = self.__dict__.get("_edge_coords")
        if found is None:
            coords, which = shapely.get_coordinates(self.edge_geom, return_index=True)
            ptr = np.searchsorted(which, np.arange(len(self.edge_geom) + 1)).astype(np.int64)
            found = self.__dict__["_edge_coords"] = (ptr, coords)
        return found

    def reverse_csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The reversed adjacency ``(indptr, indices, entry)``: row ``w`` lists the nodes with a
        step to ``w``, ``entry`` the forward CSR entry of each such step (made on first use)."""
        found = self.__dict__.get("_reverse_csr")
        if found is None:
            rows = np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.csr_indptr))
            order = np.argsort(self.csr_indices, kind="stable").astype(np.int64)
            counts = np.bincount(self.csr_indices, minlength=self.n_nodes)
            indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
            found = self.__dict__["_reverse_csr"] = (indptr, rows[order], order)
        return found

    def entries(self, nodes: Sequence[int]) -> np.ndarray:
        """The CSR entries of the steps along a node sequence (raises for a missing step)."""
        path = np.asarray(nodes, dtype=np.int64)
        want = path[:-1] * self.n_nodes + path[1:]
        k = np.minimum(np.searchsorted(self.csr_key, want), len(self.csr_key) - 1)
        if len(want) and np.any(self.csr_key[k] != want):
            raise RoutingError("internal: a path step has no edge")
        return k


def build_graph(
    streets: gpd.GeoDataFrame, profile: str = "walk", *, crs: CRS | None = None
) -> StreetGraph:
    """Build the street graph of a profile from a streets GeoDataFrame.

    Parameters
    ----------
    streets
        Columns ``id``, ``highway``, ``tags`` (dict), optionally ``walkable`` and ``name``;
        LineString geometries in any CRS (EPSG:4326 from the store).
    profile
        ``walk`` or ``bike``.
    crs
        The metric CRS; by default the CRS of ``streets`` when projected, else the local UTM
        zone of the data's centre.
    """
    prof = get_profile(profile)
    if streets.crs is None:
        raise InputError("the streets have no CRS: set one (EPSG:4326 for lon/lat)")
    kept = streets[_usable(streets, prof)]
    kept = kept[kept.geometry.geom_type.isin(["LineString", "MultiLineString"])]
    if kept.empty:
        raise RoutingError(
            f"no street usable for the {profile} profile here: import an OSM extract or a "
            "streets layer covering the area (survatlas import osm FILE)"
        )
    crs = crs or _metric_crs(kept)
    metric = kept.to_crs(crs) if kept.crs is not None and kept.crs != crs else kept
    dirs = np.array([prof.directions(t) for t in kept["tags"]], dtype=bool).reshape(-1, 2)
    geographic = bool(kept.crs.is_geographic)
    geo_parts, owner = shapely.get_parts(kept.geometry.values, return_index=True)
    metric_parts = shapely.get_parts(metric.geometry.values)
    offset = _part_offsets(shapely.length(metric_parts), owner)
    parts = _split_at_nodes(geo_parts, metric_parts, geographic)
    names = kept["name"] if "name" in kept else [None] * len(kept)
    ids = kept["id"].to_numpy(np.int64)
    u, v, part, start, end, geom, node_xy = _simple(*parts)
    line = owner[part]
    return StreetGraph(
        profile=prof,
        crs=crs,
        node_xy=node_xy,
        edge_u=u,
        edge_v=v,
        edge_street=ids[line],
        edge_start=start + offset[part],
        edge_end=end + offset[part],
        edge_fwd=dirs[line, 0],
        edge_bwd=dirs[line, 1],
        edge_geom=geom,
        street_names={
            i: (n if isinstance(n, str) else None) for i, n in zip(ids.tolist(), names, strict=True)
        },
    )


def _part_offsets(lengths: np.ndarray, owner: np.ndarray) -> np.ndarray:
    """Metres before each part of a multi-line: parts follow one another in the street's measure."""
    cum = np.cumsum(lengths) - lengths
    first = np.searchsorted(owner, owner)
    return cum - cum[first]


def _usable(streets: gpd.GeoDataFrame, prof: Profile) -> np.ndarray:
    walkable = streets["walkable"] if "walkable" in streets else [None] * len(streets)
    return np.array(
        [
            prof.allows(h, None if w is None else bool(w), t)
            for h, w, t in zip(streets["highway"], walkable, streets["tags"], strict=True)
        ],
        dtype=bool,
    )


def _metric_crs(streets: gpd.GeoDataFrame) -> CRS:
    if streets.crs is not None and streets.crs.is_projected:
        return CRS(streets.crs)
    w, s, e, n = streets.total_bounds
    return local_crs((w + e) / 2, (s + n) / 2)


def _split_at_nodes(
    geo: np.ndarray, metric: np.ndarray, geographic: bool
) -> tuple[np.ndarray, ...]:
    """Cut every line at its node vertices; return raw edges (may hold loops and parallels)."""
    keys_xy, line = shapely.get_coordinates(geo, return_index=True)
    xy = shapely.get_coordinates(metric)
    scale = 1e7 if geographic else 1e3
    vertex = _group(np.round(keys_xy * scale).astype(np.int64))
    step = np.hypot(*np.diff(xy, axis=0).T)
    step[line[1:] != line[:-1]] = 0.0
    cum = np.concatenate([[0.0], np.cumsum(step)])
    first = np.searchsorted(line, line)
    pos = cum - cum[first]
    ends = np.ones(len(line), bool)
    ends[1:-1] = (line[1:-1] != line[:-2]) | (line[1:-1] != line[2:])
    is_node = ends | (np.bincount(vertex)[vertex] > 1)
    idx = np.flatnonzero(is_node)
    same = line[idx[1:]] == line[idx[:-1]]
    i, j = idx[:-1][same], idx[1:][same]
    node_of_vertex = np.full(vertex.max() + 1, -1, np.int64)
    node_vertices = np.unique(vertex[idx])
    node_of_vertex[node_vertices] = np.arange(len(node_vertices))
    node_xy = np.zeros((len(node_vertices), 2))
    node_xy[node_of_vertex[vertex[idx]]] = xy[idx]
    counts = j - i + 1
    take = np.repeat(i - np.cumsum(np.concatenate([[0], counts[:-1]])), counts) + np.arange(
        counts.sum()
    )
    geom = shapely.linestrings(xy[take], indices=np.repeat(np.arange(len(i)), counts))
    u, v = node_of_vertex[vertex[i]], node_of_vertex[vertex[j]]
    return u, v, line[i], pos[i], pos[j], geom, node_xy


def _group(keys: np.ndarray) -> np.ndarray:
    """Dense ids of identical (x, y) integer keys."""
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    k = keys[order]
    new = np.ones(len(k), bool)
    new[1:] = np.any(k[1:] != k[:-1], axis=1)
    ids = np.empty(len(k), np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def _simple(
    u: np.ndarray,
    v: np.ndarray,
    line: np.ndarray,
    start: np.ndarray,
    end: np.ndarray,
    geom: np.ndarray,
    node_xy: np.ndarray,
) -> tuple[np.ndarray, ...]:
    """Drop zero-length loops; split loops in three and parallel edges in two."""
    keep = (u != v) | (end > start)
    u, v, line, start, end, geom = (a[keep] for a in (u, v, line, start, end, geom))
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    order = np.lexsort((end - start, hi, lo))
    dup = np.zeros(len(u), bool)
    dup[order[1:]] = (lo[order[1:]] == lo[order[:-1]]) & (hi[order[1:]] == hi[order[:-1]])
    split = np.flatnonzero(dup | (u == v))
    if not len(split):
        return u, v, line, start, end, geom, node_xy
    new: dict[str, list[Any]] = {k: [] for k in ("u", "v", "line", "start", "end", "geom")}
    xy = [node_xy]
    n = len(node_xy)
    for e in split.tolist():
        pieces = 3 if u[e] == v[e] else 2
        cuts = [start[e] + (end[e] - start[e]) * k / pieces for k in range(pieces + 1)]
        mids = list(range(n, n + pieces - 1))
        n += pieces - 1
        nodes = [int(u[e]), *mids, int(v[e])]
        local = [c - start[e] for c in cuts]
        xy.append(shapely.get_coordinates(shapely.line_interpolate_point(geom[e], local[1:-1])))
        for k in range(pieces):
            new["u"].append(nodes[k])
            new["v"].append(nodes[k + 1])
            new["line"].append(line[e])
            new["start"].append(cuts[k])
            new["end"].append(cuts[k + 1])
            new["geom"].append(substring(geom[e], local[k], local[k + 1]))
    rest = np.ones(len(u), bool)
    rest[split] = False
    return (
        np.concatenate([u[rest], np.array(new["u"], np.int64)]),
        np.concatenate([v[rest], np.array(new["v"], np.int64)]),
        np.concatenate([line[rest], np.array(new["line"], np.int64)]),
        np.concatenate([start[rest], np.array(new["start"])]),
        np.concatenate([end[rest], np.array(new["end"])]),
        np.concatenate([geom[rest], np.array(new["geom"], dtype=object)]),
        np.concatenate(xy),
    )
