"""Routes of contributions: report a camera, and the editors' moderation queue.

``POST /api/contributions`` takes a multipart form (``lat``, ``lon``, ``direction``, OSM keys
such as ``surveillance:type`` or ``camera:mount``, ``note`` and ``photo`` once or more) and
answers ``{"id": …}``. By default only editor tokens may contribute; a server started with
anonymous contributions accepts them without a token, rate-limited per client address and
protected against cross-site posting by an Origin check. Every other route here is a
moderation view for editors (tagged ``moderation``): it shows restricted material to editors
and is never a public output.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, Request, Response
from starlette.datastructures import UploadFile

from survatlas.contribute.form import form_description
from survatlas.contribute.moderation import (
    STATUSES,
    ContributionPolicy,
    accept_contribution,
    get_contribution,
    list_contributions,
    reject_contribution,
    submit_contribution,
)
from survatlas.contribute.photos import size_text
from survatlas.errors import InputError, NotFoundError
from survatlas.provenance.evidence import read_evidence
from survatlas.store.gate import numbering
from survatlas.web._context import WebContext, get_context
from survatlas.web.auth import current_principal, require_role

router = APIRouter(prefix="/api/contributions")
Context = Annotated[WebContext, Depends(get_context)]
Editor = [Depends(require_role("editor"))]
ContributionId = Annotated[int, Path(ge=1, le=2**62)]
#: routes that writing anonymously may reach when the policy allows it (see web.auth).
OPEN_WRITE_PATHS = frozenset({"/api/contributions"})


class RateLimit:
    """At most ``per_hour`` requests per client address in any hour (in memory)."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, client: str) -> None:
        """Count one request of ``client``; HTTP 429 when over the limit."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(client, deque())
            while hits and now - hits[0] > 3600:
                hits.popleft()
            if len(hits) >= self.per_hour:
                wait = int(3600 - (now - hits[0])) + 1
                raise HTTPException(
                    429,
                    f"too many reports from this address ({self.per_hour} an hour); "
                    f"try again in {wait // 60 + 1} minutes",
                    headers={"Retry-After": str(wait)},
                )
            hits.append(now)


def policy_of(request: Request) -> ContributionPolicy:
    """The contribution policy of the app."""
    return request.app.state.contribution_policy


@router.get("/form", tags=["contributions"])
def get_form(request: Request) -> dict[str, Any]:
    """The report form: fields, the OSM values offered, photo limits, who may contribute."""
    return form_description(policy_of(request))


@router.post("", tags=["contributions"], status_code=201)
async def post_contribution(request: Request, ctx: Context) -> dict[str, int]:
    """Report a camera (multipart form; ``photo`` may repeat). Stored pending and restricted:
    nothing of it is public until an editor accepts it."""
    policy = policy_of(request)
    principal = current_principal(request)
    if principal is None:
        if not policy.anonymous:
            raise HTTPException(401, "reporting needs an editor token on this server")
        _check_same_origin(request)
        request.app.state.contribution_rate.check(_client(request))
    elif not principal.allows("editor") and not policy.anonymous:
        raise HTTPException(403, "reporting needs the editor role on this server")
    _check_length(request, policy)
    fields, photos = await _read_form(request, policy)
    from fastapi.concurrency import run_in_threadpool

    def submit() -> int:  # in a worker thread: the slow part (photos) and the store write
        return submit_contribution(ctx.store(), fields, photos, policy=policy)

    return {"id": await run_in_threadpool(submit)}


@router.get("", tags=["moderation"], dependencies=Editor)
def get_contributions(
    ctx: Context,
    status: Annotated[str | None, Query(description=f"One of {', '.join(STATUSES)}; all if absent")]
    = "pending",
) -> dict[str, Any]:
    """The moderation queue (editors): contributions of one status, newest first."""
    items = list_contributions(ctx.store(), status or None)
    return {"status": status, "count": len(items), "contributions": items}


@router.get("/{contribution_id}", tags=["moderation"], dependencies=Editor)
def get_one(ctx: Context, contribution_id: ContributionId) -> dict[str, Any]:
    """One contribution (editors)."""
    return get_contribution(ctx.store(), contribution_id)


@router.get("/{contribution_id}/photos/{position}", tags=["moderation"], dependencies=Editor)
def get_photo(
    ctx: Context, contribution_id: ContributionId, position: Annotated[int, Path(ge=1, le=100)]
) -> Response:
    """A photo of a contribution as stored: metadata removed, faces and plates blurred."""
    item = get_contribution(ctx.store(), contribution_id)
    photo = next((p for p in item["photos"] if p["position"] == position), None)
    if photo is None:
        raise NotFoundError(f"contribution {contribution_id} has no photo {position}")
    data = read_evidence(ctx.store(), photo["evidence"], audience="restricted")
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


@router.post("/{contribution_id}/accept", tags=["moderation"], dependencies=Editor)
def post_accept(
    ctx: Context,
    contribution_id: ContributionId,
    sensitivity: Annotated[str, Body(embed=True)] = "public",
) -> dict[str, Any]:
    """Accept: a device is created (``public`` unless said otherwise) from the contribution.

    ``device_id`` is the store's row id (what editors' commands take); ``public_device_id`` is
    the device's number on the public map and exports (``null`` when it is not public).
    """
    store = ctx.store()
    device_id = accept_contribution(store, contribution_id, sensitivity=sensitivity)
    public_id = numbering(store, "devices", "public").public(device_id)
    return {"id": contribution_id, "status": "accepted", "device_id": device_id,
            "public_device_id": public_id}


@router.post("/{contribution_id}/reject", tags=["moderation"], dependencies=Editor)
def post_reject(
    ctx: Context, contribution_id: ContributionId, reason: Annotated[str, Body(embed=True)]
) -> dict[str, Any]:
    """Reject, with a reason (kept with the contribution)."""
    reject_contribution(ctx.store(), contribution_id, reason)
    return {"id": contribution_id, "status": "rejected"}


def _check_length(request: Request, policy: ContributionPolicy) -> None:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit():
        raise HTTPException(411, "send the report with a Content-Length (a multipart form)")
    if int(length) > policy.max_request_bytes:
        raise HTTPException(
            413,
            f"the report is {size_text(int(length))}; the limit is "
            f"{size_text(policy.max_request_bytes)} ({policy.max_photos} photos of "
            f"{size_text(policy.limits.max_bytes)}) — send fewer or smaller photos",
        )


async def _read_form(
    request: Request, policy: ContributionPolicy
) -> tuple[dict[str, str], list[bytes]]:
    kind = request.headers.get("content-type", "")
    if not kind.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        raise InputError("send the report as multipart/form-data (fields and photo files)")
    try:
        form = await request.form(
            max_files=policy.max_photos, max_fields=64, max_part_size=64 * 1024
        )
    except HTTPException:
        raise
    except Exception as exc:  # malformed multipart bodies
        raise InputError(f"the form could not be read ({str(exc)[:120]}); send it again") from exc
    fields: dict[str, str] = {}
    photos: list[bytes] = []
    try:
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                if name != "photo":
                    raise InputError(f"a file was sent as {name[:40]!r}; send photos as 'photo'")
                data = await value.read(policy.limits.max_bytes + 1)
                if len(data) > policy.limits.max_bytes:
                    raise InputError(
                        f"photo {len(photos) + 1} is over {size_text(policy.limits.max_bytes)}; "
                        "send a smaller photo"
                    )
                photos.append(data)
            elif name == "photo":
                raise InputError("'photo' must be a file, not text")
            elif name in fields:
                raise InputError(f"field {name[:40]!r} was sent twice; send it once")
            else:
                fields[name] = value
    finally:
        await form.close()
    return fields, photos


def _check_same_origin(request: Request) -> None:
    """Refuse a browser form posted from another site (CSRF): the Origin, when a browser sends
    one, must be this server's own."""
    origin = request.headers.get("origin")
    site = request.headers.get("sec-fetch-site")
    if origin is not None:
        own = f"{request.url.scheme}://{request.url.netloc}"
        parts = urlsplit(origin)
        if f"{parts.scheme}://{parts.netloc}" != own:
            raise HTTPException(403, "reports must be sent from this server's own page")
    elif site not in (None, "same-origin", "none"):
        raise HTTPException(403, "reports must be sent from this server's own page")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"
