"""Fetch any place from OpenStreetMap services, then import it like a file.

``fetch_area`` geocodes a place name with Nominatim (or takes a box), asks an Overpass API for
the cameras, buildings, streets and sites in it (tile by tile for a large area), caches every
answer on disk keyed by its query, and imports the answers through
:func:`survatlas.ingest.osm.import_osm` (all-or-nothing, idempotent), with the endpoint, the
fetch time and the OSM snapshot date (Overpass ``timestamp_osm_base``) as the source's
provenance. ``fetch_region`` downloads a Geofabrik-style extract with its published MD5,
resuming an interrupted download, and imports it.

Servers are set, from strongest to weakest, by argument, environment variable
(``SURVATLAS_OVERPASS_URL``, ``SURVATLAS_NOMINATIM_URL``, ``SURVATLAS_GEOFABRIK_URL``,
``SURVATLAS_CACHE_DIR``), the ``[fetch]`` table of the config file (``SURVATLAS_CONFIG``, default
``~/.config/survatlas/config.toml``), or the public instances.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import tomllib
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from survatlas import ODBL_ATTRIBUTION
from survatlas.errors import FetchError, InputError, NotFoundError
from survatlas.geo import parse_bbox
from survatlas.ingest._http import Client, file_md5
from survatlas.ingest._overpass import (
    WHATS,
    area_km2,
    merge,
    parse_answer,
    query,
    tiles,
    write_elements,
)
from survatlas.ingest._records import ImportSummary
from survatlas.ingest.osm import import_osm
from survatlas.store import Store
from survatlas.store.clock import now_iso

__all__ = ["WHATS", "FetchSettings", "fetch_area", "fetch_region", "geocode", "load_settings"]

DEFAULTS = {
    "overpass_url": "https://overpass-api.de/api/interpreter",
    "nominatim_url": "https://nominatim.openstreetmap.org",
    "geofabrik_url": "https://download.geofabrik.de",
}
_ENV = {"overpass_url": "SURVATLAS_OVERPASS_URL", "nominatim_url": "SURVATLAS_NOMINATIM_URL",
        "geofabrik_url": "SURVATLAS_GEOFABRIK_URL", "cache_dir": "SURVATLAS_CACHE_DIR"}
#: Progress callback: (what is happening, done, total)
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class FetchSettings:
    """Where to fetch from, where to cache, and how large an area may be."""

    overpass_url: str = DEFAULTS["overpass_url"]
    nominatim_url: str = DEFAULTS["nominatim_url"]
    geofabrik_url: str = DEFAULTS["geofabrik_url"]
    cache_dir: Path = field(default_factory=lambda: _default_cache())
    #: largest tile asked of Overpass in one query (km²)
    tile_km2: float = 25.0
    #: largest area fetched from Overpass at all (km²): beyond, use a region extract
    max_km2: float = 2_500.0
    client: Client = field(default_factory=Client)


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "survatlas"


def load_settings(**overrides: Any) -> FetchSettings:
    """Settings from ``overrides`` (None: not given), the environment, the config file, defaults.

    Raises
    ------
    InputError
        When the config file is not valid TOML.
    """
    config = _config_file()
    values: dict[str, Any] = {}
    for name in ("overpass_url", "nominatim_url", "geofabrik_url", "cache_dir", "tile_km2",
                 "max_km2"):
        value = overrides.get(name)
        if value is None and name in _ENV:
            value = os.environ.get(_ENV[name]) or None
        if value is None:
            value = config.get(name)
        if value is not None:
            values[name] = Path(value).expanduser() if name == "cache_dir" else value
    for name in ("overpass_url", "nominatim_url", "geofabrik_url"):
        if name in values:
            values[name] = _check_url(name, str(values[name]))
    for name in ("tile_km2", "max_km2"):
        if name in values:
            values[name] = _check_km2(name, values[name])
    settings = FetchSettings(**values)
    if overrides.get("client") is not None:
        settings = replace(settings, client=overrides["client"])
    return settings


def _check_url(name: str, url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        option = "--" + name.replace("_", "-")
        raise InputError(f"{option} {url!r} is not an http(s) URL; give e.g. "
                         f"{DEFAULTS[name]} (option, {_ENV[name]} or the config file)")
    return url


def _check_km2(name: str, value: Any) -> float:
    try:
        km2 = float(value)
    except (TypeError, ValueError):
        km2 = float("nan")
    if not km2 > 0:
        raise InputError(f"{name} = {value!r} in the config file must be a positive number "
                         "of km²")
    return km2


def _config_file() -> dict[str, Any]:
    path = Path(os.environ.get("SURVATLAS_CONFIG") or
                Path.home() / ".config" / "survatlas" / "config.toml")
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML ({exc}); fix or remove it") from None
    section = data.get("fetch", {})
    return section if isinstance(section, dict) else {}


def geocode(place: str, settings: FetchSettings, *, refresh: bool = False) -> dict[str, Any]:
    """The box of a place name: ``{"name", "bbox": (W, S, E, N), "osm"}`` from Nominatim.

    Raises
    ------
    InputError
        When Nominatim knows no such place.
    """
    url = f"{settings.nominatim_url.rstrip('/')}/search?" + urllib.parse.urlencode(
        {"q": place, "format": "jsonv2", "limit": 1})
    body, _ = _cached(settings, "nominatim", url, lambda: settings.client.request(url), refresh,
                      check=lambda b: _nominatim(b, url))
    hits = _nominatim(body, url)
    if not hits:
        raise InputError(f"unknown place {place!r}: Nominatim found nothing; check the spelling, "
                         "add the country, or give --bbox W,S,E,N")
    hit = hits[0]
    s, n, w, e = (float(v) for v in hit["boundingbox"])
    return {"name": hit.get("display_name", place), "bbox": (w, s, e, n),
            "osm": f"{hit.get('osm_type', '?')}/{hit.get('osm_id', '?')}"}


def _nominatim(body: bytes, url: str) -> list[dict[str, Any]]:
    try:
        hits = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise FetchError(f"{_host(url)} answered with malformed JSON; is it a Nominatim "
                         "server? nothing was written") from None
    if not isinstance(hits, list) or any(
        not isinstance(h, dict) or len(h.get("boundingbox") or ()) != 4 for h in hits
    ):
        raise FetchError(f"{_host(url)} answered JSON that is no Nominatim search result; "
                         "nothing was written")
    return hits


def fetch_area(
    store: Store,
    *,
    place: str | None = None,
    bbox: Sequence[float] | str | None = None,
    what: Sequence[str] = WHATS,
    settings: FetchSettings | None = None,
    refresh: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Fetch a place or a box from Overpass and import it (one transaction).

    Parameters
    ----------
    store
        The store to write to.
    place, bbox
        A place name (geocoded with Nominatim) or W, S, E, N; exactly one.
    what
        Layers to fetch: some of ``cameras``, ``buildings``, ``streets``, ``sites``.
    settings
        Servers, cache, limits (default: :func:`load_settings`).
    refresh
        Ask the servers again even when an answer is cached.
    progress
        Called with ``("tiles", done, total)`` as tiles arrive.

    Raises
    ------
    InputError
        Unknown place, both or neither of place and bbox, an area above ``max_km2``.
    FetchError
        A server error after retries, or a malformed answer (nothing is written).

    Examples
    --------
    ::

        with Store("monaco.db") as store:
            fetch_area(store, place="Monaco", what=("cameras", "buildings", "streets"))
    """
    settings = settings or load_settings()
    if (place is None) == (bbox is None):
        raise InputError("give either --place NAME or --bbox W,S,E,N")
    label = place
    if place is not None:
        found = geocode(place, settings, refresh=refresh)
        box, label = found["bbox"], f"{place} ({found['osm']})"
    else:
        box = parse_bbox(bbox) if isinstance(bbox, str) else tuple(float(v) for v in bbox)
    km2 = area_km2(box)
    if km2 > settings.max_km2:
        raise InputError(f"area too large: {km2:,.0f} km² (the limit is {settings.max_km2:,.0f} "
                         "km²); give a smaller --bbox or use --region for a whole extract")
    parts = tiles(box, settings.tile_km2)
    answers, fetched = [], []
    for k, tile in enumerate(parts):
        text = query(list(what), tile)
        body, when = _cached(
            settings, "overpass", settings.overpass_url + "\n" + text,
            lambda text=text: settings.client.request(settings.overpass_url, data={"data": text}),
            refresh, check=lambda b: parse_answer(b, _host(settings.overpass_url)),
        )
        answers.append(parse_answer(body, _host(settings.overpass_url)))
        fetched.append(when)
        if progress:
            progress("tiles", k + 1, len(parts))
    bases = [a.get("osm3s", {}).get("timestamp_osm_base") for a in answers]
    base = min((b for b in bases if b), default=None)
    elements = merge(answers)
    source = {
        "title": f"OpenStreetMap via Overpass: {label or _box_text(box)} [{','.join(what)}]",
        "uri": settings.overpass_url, "retrieved_at": min(fetched),
        "data_timestamp": base, "licence": "ODbL-1.0", "attribution": ODBL_ATTRIBUTION,
    }
    with tempfile.TemporaryDirectory(prefix="survatlas-fetch-") as tmp:
        path = write_elements(elements, Path(tmp) / "overpass.osm.pbf", box)
        summary = import_osm(store, path, source=source, as_of=base, bounds=box)
    summary.file = source["title"]
    return summary


def fetch_region(
    store: Store,
    name: str,
    *,
    settings: FetchSettings | None = None,
    refresh: bool = False,
    progress: Progress | None = None,
) -> ImportSummary:
    """Download a Geofabrik-style extract ``NAME-latest.osm.pbf`` (checked against its ``.md5``,
    resumed when interrupted, kept in the cache) and import it.

    ``name`` is the extract's path on the server, e.g. ``europe/finland`` or
    ``europe/monaco``.

    Raises
    ------
    InputError
        An unknown region (no such file on the server).
    FetchError
        A server error after retries, or a file that does not match its MD5.

    Parameters
    ----------
    store : Store
        The store to import into.
    name : str
        The extract's path on the server (``europe/monaco``).
    settings : FetchSettings, optional
        Servers, cache and limits (default: :func:`load_settings`).
    refresh : bool
        Download again even when the file is cached.
    progress : callable, optional
        Called with ``("bytes", done, total)`` while downloading.

    Examples
    --------
    ::

        with Store("monaco.db") as store:
            fetch_region(store, "europe/monaco")
    """
    settings = settings or load_settings()
    name = name.strip().strip("/")
    if not name or ".." in name.split("/"):
        raise InputError(f"--region {name!r}: give an extract path such as europe/monaco")
    url = f"{settings.geofabrik_url.rstrip('/')}/{name}-latest.osm.pbf"
    try:
        md5_text = settings.client.request(url + ".md5").decode("ascii", "replace")
    except NotFoundError:
        raise InputError(f"unknown region {name!r}: {url} does not exist; see the extract "
                         "server's index for names like europe/finland") from None
    expected = md5_text.split()[0].lower() if md5_text.split() else ""
    if len(expected) != 32:
        raise FetchError(f"{url}.md5 holds no MD5 checksum; nothing was written")
    folder = settings.cache_dir / "regions"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / (name.replace("/", "_") + "-latest.osm.pbf")
    if refresh or not dest.exists() or file_md5(dest) != expected:
        if progress:
            progress("download", 0, 1)
        dest.unlink(missing_ok=True)
        settings.client.download(url, dest)
        if file_md5(dest) != expected:
            dest.unlink()
            raise FetchError(f"the download of {url} does not match its MD5 ({expected}); it was "
                             "removed: run the command again")
        if progress:
            progress("download", 1, 1)
    source = {"title": dest.name, "uri": url, "retrieved_at": now_iso()}
    return import_osm(store, dest, source=source)


def _cached(
    settings: FetchSettings, service: str, key: str, get: Callable[[], bytes], refresh: bool,
    check: Callable[[bytes], Any],
) -> tuple[bytes, str]:
    """The answer to ``key`` from the cache, or from ``get`` (checked, then cached); and when
    it was fetched."""
    digest = hashlib.sha256(key.encode()).hexdigest()
    path = settings.cache_dir / service / f"{digest}.json"
    meta = path.with_suffix(".meta.json")
    if not refresh and path.is_file() and meta.is_file():
        return path.read_bytes(), json.loads(meta.read_text())["fetched_at"]
    when = now_iso()
    body = get()
    check(body)  # a malformed answer raises here, before anything is cached
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)
    meta.write_text(json.dumps({"fetched_at": when, "key": key[:2000]}))
    return body, when


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _box_text(box: Sequence[float]) -> str:
    return ",".join(f"{v:.5f}" for v in box)
