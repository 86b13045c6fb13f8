"""The store's clock: every timestamp survatlas writes comes from here."""

from __future__ import annotations

from datetime import UTC, datetime


def now_iso() -> str:
    """The current UTC time, ISO 8601, seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")
