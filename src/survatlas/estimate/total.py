"""How many devices exist, from several incomplete device lists: match, tabulate, estimate."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from survatlas.errors import InputError, NotFoundError
from survatlas.estimate.histories import CaptureTable
from survatlas.estimate.matching import (
    DeviceList,
    TypeRule,
    capture_histories,
    match_lists,
    types_compatible,
)
from survatlas.estimate.mse import mse
from survatlas.estimate.result import Estimate
from survatlas.estimate.twolist import chapman
from survatlas.store import Store
from survatlas.store.gate import audience_clause, numbering


def estimate_total(
    lists: Sequence[DeviceList],
    match_distance: float = 15.0,
    model: str = "aic",
    level: float = 0.95,
    compatible: TypeRule = types_compatible,
) -> Estimate:
    """Estimate the true number of devices from two or more overlapping lists.

    Devices are matched across lists (:func:`match_lists`), their capture histories tabulated
    (:func:`capture_histories`), and the total estimated with Chapman (two lists) or log-linear
    multiple systems estimation (three or more, model chosen by ``model``).

    Parameters
    ----------
    lists : sequence of DeviceList
        One list per source.
    match_distance : float
        Metres within which records of compatible type may be the same device.
    model : str
        Model for three or more lists (see :func:`mse`).
    level : float
        Confidence level.
    compatible : callable
        Device-type compatibility rule.

    Returns
    -------
    Estimate
        With the matching summary and ambiguous records in ``details["matching"]``.

    Examples
    --------
    Two sources of the same store (an OSM import and a field survey), matched within 15 m::

        from survatlas.estimate import load_device_lists
        with open_store("city.db") as store:
            lists = load_device_lists(store, ["osm", "survey.csv"])
        estimate = estimate_total(lists, match_distance=15.0)
        print(estimate.n_hat, estimate.ci_low, estimate.ci_high)
    """
    matching = match_lists(lists, match_distance, compatible)
    table = capture_histories(matching)
    result = _estimate_table(table, model, level)
    warnings = list(result.warnings)
    if matching.ambiguous:
        warnings.append(
            f"{len(matching.ambiguous)} records have two or more candidate matches within "
            f"{match_distance:g} m: false links lower the estimate, missed links raise it; "
            "try a smaller --match-distance or better device types"
        )
    details = {
        **result.details,
        "matching": {**matching.summary(), "ambiguous": matching.ambiguous},
        "capture_histories": table.rows(),
    }
    return replace(result, warnings=warnings, details=details)


def _estimate_table(table: CaptureTable, model: str, level: float) -> Estimate:
    if table.n_lists >= 3:
        return mse(table, model=model, level=level)
    sizes = list(table.list_sizes().values())
    result = chapman(sizes[0], sizes[1], table.overlap(0, 1), level)
    return replace(result, model=list(table.lists))


def load_device_lists(
    store: Store, sources: Sequence[str | int], include_restricted: bool = False
) -> list[DeviceList]:
    """Read one :class:`DeviceList` per source from the store.

    Parameters
    ----------
    store : Store
        An open store.
    sources : sequence of str or int
        Source ids, or source titles (an imported file's name).
    include_restricted : bool
        Also use devices marked restricted or confidential (default: public devices only).

    Returns
    -------
    list of DeviceList
        Named after the source titles (ids when titles repeat); record ids are device ids.
    """
    if len(sources) < 2:
        raise InputError("give at least two sources to compare, e.g. --sources 1,2")
    audience = "confidential" if include_restricted else "public"
    rows = [_source_row(store, ref, audience) for ref in sources]
    titles = [str(r["title"]) for r in rows]
    numbers = numbering(store, "sources", audience)
    names = titles if len(set(titles)) == len(titles) else [
        str(numbers.public(int(r["id"]))) for r in rows  # type: ignore[call-overload]
    ]
    device_numbers = numbering(store, "devices", audience)
    levels = ("public", "restricted", "confidential") if include_restricted else ("public",)
    marks = ", ".join("?" for _ in levels)
    lists = []
    for row, name in zip(rows, names, strict=True):
        devices = store.query(
            "SELECT id, device_type, lon, lat FROM devices "
            f"WHERE source_id = ? AND sensitivity IN ({marks}) ORDER BY id",
            (row["id"], *levels),
        )
        lists.append(
            DeviceList(
                id=name,
                lon=np.array([d["lon"] for d in devices], dtype=float),
                lat=np.array([d["lat"] for d in devices], dtype=float),
                device_type=np.array([d["device_type"] for d in devices], dtype=object),
                record_ids=np.array(  # public numbers: their gaps never count hidden devices
                    device_numbers.public_many([d["id"] for d in devices]), dtype=np.int64
                ),
            )
        )
    return lists


def _source_row(store: Store, ref: str | int, audience: str = "public") -> dict[str, object]:
    text = str(ref).strip()
    visible = audience_clause(audience)  # a hidden source is "not in the store" to this audience
    if text.isdigit():  # a public number (the id the audience sees)
        row = numbering(store, "sources", audience).row(int(text)) if len(text) < 19 else None
        found = store.query(f"SELECT id, title FROM sources WHERE id = ? AND {visible}", (row,))
    else:
        found = store.query(f"SELECT id, title FROM sources WHERE title = ? AND {visible}", (text,))
    if not found:
        raise NotFoundError(
            f"no source {text!r} in the store; list sources with `survatlas stats` and give "
            "their ids or titles"
        )
    if len(found) > 1:
        raise InputError(f"{len(found)} sources are titled {text!r}; give the source id instead")
    return dict(found[0])
