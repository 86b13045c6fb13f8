"""HTTP for the fetch: an identifying User-Agent, retries with back-off, resumable downloads.

Standard library only (``urllib``). A 429 or a 5xx answer (and a dropped connection) is retried
after the server's ``Retry-After`` (seconds or an HTTP date) or, without one, after an
exponential back-off; the last failure becomes one :class:`~survatlas.errors.FetchError` line.
"""

from __future__ import annotations

import email.utils
import hashlib
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from survatlas import __version__
from survatlas.errors import FetchError, NotFoundError

USER_AGENT = f"survatlas/{__version__} (+https://github.com/survatlas/survatlas)"
#: answers worth retrying
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_CHUNK = 1 << 20


@dataclass(frozen=True)
class Client:
    """How to talk to a server: tries, back-off (seconds, doubled each try), timeout, agent."""

    tries: int = 4
    backoff_s: float = 2.0
    max_wait_s: float = 120.0
    timeout_s: float = 300.0
    user_agent: str = USER_AGENT
    sleep: Callable[[float], None] = time.sleep

    def request(
        self, url: str, *, data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> bytes:
        """GET ``url`` (or POST ``data`` form-encoded); the body of a 2xx answer.

        Raises
        ------
        NotFoundError
            On 404 (no retry).
        FetchError
            When every try failed, naming the last status.
        """
        with self.open(url, data=data, headers=headers) as answer:
            return answer.read()

    def open(
        self, url: str, *, data: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ):
        """The open response of a 2xx answer, after retries (see :meth:`request`)."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        last = ""
        for attempt in range(self.tries):
            req = urllib.request.Request(url, data=body, headers={
                "User-Agent": self.user_agent, **(headers or {})})
            try:
                return urllib.request.urlopen(req, timeout=self.timeout_s)
            except urllib.error.HTTPError as exc:
                if exc.code == 404:
                    raise NotFoundError(f"{_host(url)} has no {_path(url)} (HTTP 404)") from None
                if exc.code not in RETRY_STATUS:
                    raise FetchError(f"{_host(url)} refused the request (HTTP {exc.code}: "
                                     f"{_reason(exc)})") from None
                last = f"HTTP {exc.code}"
                wait = retry_after(exc.headers.get("Retry-After"))
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = str(getattr(exc, "reason", exc))
                wait = None
            if attempt + 1 < self.tries:
                self.sleep(min(self.max_wait_s, wait if wait is not None
                               else self.backoff_s * 2**attempt))
        raise FetchError(f"{_host(url)} failed {self.tries} times (last: {last}); try again "
                         "later or use another server (--overpass-url / --nominatim-url)")

    def download(self, url: str, dest: Path) -> Path:
        """Download ``url`` to ``dest``, resuming ``dest.part`` with an HTTP Range request."""
        part = dest.with_name(dest.name + ".part")
        have = part.stat().st_size if part.exists() else 0
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            answer = self.open(url, headers=headers)
        except FetchError as exc:
            if have and "HTTP 416" in str(exc):  # the part is already whole
                part.replace(dest)
                return dest
            raise
        with answer:
            mode = "ab" if have and answer.status == 206 else "wb"
            with part.open(mode) as out:
                while block := answer.read(_CHUNK):
                    out.write(block)
        part.replace(dest)
        return dest


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def file_md5(path: Path) -> str:
    """Hex MD5 of a file (what extract servers publish beside each file)."""
    digest = hashlib.md5()
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or url


def _path(url: str) -> str:
    return urllib.parse.urlsplit(url).path or "/"


def _reason(exc: urllib.error.HTTPError) -> str:
    try:
        text = exc.read(300).decode("utf-8", "replace").strip().splitlines()
    except OSError:
        text = []
    return (text[0] if text else exc.reason or "").strip()[:160]
