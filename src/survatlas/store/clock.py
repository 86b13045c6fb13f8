"""The store's clock: every timestamp survatlas writes comes from here."""

from __future__ import annotations

from datetime import UTC, date, datetime

from survatlas.errors import InputError


def now_iso() -> str:
    """The current UTC time, ISO 8601, seconds."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def iso_instant(value: str | date | datetime | int | None) -> str | None:
    """``value`` as ISO 8601 UTC text ``YYYY-MM-DDTHH:MM:SS+00:00`` (how the store writes times).

    Accepts a date (``2019-04-21``), a year-month (``2019-04``), a year, a timestamp with any
    offset or ``Z``, a datetime, or seconds since 1970.

    Raises
    ------
    InputError
        When the text is no date.
    """
    if value is None:
        return None
    if isinstance(value, int):
        return datetime.fromtimestamp(value, UTC).isoformat()
    if isinstance(value, datetime):
        when = value if value.tzinfo else value.replace(tzinfo=UTC)
        return when.astimezone(UTC).replace(microsecond=0).isoformat()
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00+00:00"
    text = str(value).strip()
    padded = {4: "-01-01", 7: "-01"}.get(len(text), "")
    try:
        when = datetime.fromisoformat((text + padded).replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text!r} is not a date; use YYYY-MM-DD (or an ISO 8601 time)") from None
    return iso_instant(when)
