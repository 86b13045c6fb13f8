"""Per-application state: settings, one store connection per worker thread, a tile cache."""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import Request

from survatlas.store import Store

#: bytes of tiles (and other cached values) kept in memory.
CACHE_BYTES = 64 * 1024 * 1024


@dataclass
class WebContext:
    """What every route needs: the store path, the audience and the optional online tiles.

    Parameters
    ----------
    db_path
        The store file (read-only in spirit: only the contribution routes write).
    audience
        Sensitivity gate of every response (``public`` unless the app is private).
    tile_url
        Optional online raster tile template (``https://…/{z}/{x}/{y}.png``) drawn under the
        store's own layers; ``None`` keeps the map fully offline.
    """

    db_path: Path
    audience: str = "public"
    tile_url: str | None = None
    private: bool = False
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _cache_bytes: int = field(default=0, repr=False)

    def store(self) -> Store:
        """The calling thread's connection to the store (SQLite connections stay in a thread)."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = Store(self.db_path, create=False)
            self._local.store = store
        return store

    def generation(self) -> tuple[int, ...]:
        """A value that changes whenever the store file (or its WAL) is written."""
        parts: list[int] = []
        for suffix in ("", "-wal"):
            try:
                st = os.stat(f"{self.db_path}{suffix}")
            except FileNotFoundError:
                parts.extend((0, 0))
            else:
                parts.extend((st.st_mtime_ns, st.st_size))
        return tuple(parts)

    def lookup(self, key: tuple) -> object | None:
        """The value cached under ``key`` for the current store generation, or ``None``."""
        full = (*key, self.generation())
        with self._lock:
            if full in self._cache:
                self._cache.move_to_end(full)
                return self._cache[full]
        return None

    def memo(self) -> dict:
        """A dict that lives as long as the store is unchanged (for per-store summaries)."""
        return self.cached(("memo",), dict)  # type: ignore[return-value]

    def cached(self, key: tuple, make: Callable[[], object]) -> object:
        """``make()`` memoised under ``key`` for the current store generation (LRU)."""
        found = self.lookup(key)
        if found is not None:
            return found
        full = (*key, self.generation())
        value = make()
        with self._lock:
            if full not in self._cache:
                self._cache[full] = value
                self._cache_bytes += _size(value)
            while self._cache_bytes > CACHE_BYTES and len(self._cache) > 1:
                _, old = self._cache.popitem(last=False)
                self._cache_bytes -= _size(old)
        return value


def _size(value: object) -> int:
    return len(value) + 100 if isinstance(value, bytes) else 1000


async def get_context(request: Request) -> WebContext:
    """FastAPI dependency: the application's :class:`WebContext`.

    A coroutine, so that FastAPI calls it on the event loop instead of handing it to a worker
    thread (a thread hand-off per request costs more than the attribute read).
    """
    return request.app.state.context
