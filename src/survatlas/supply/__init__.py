"""Programmes, vendors and models: who made the equipment, who runs it, and which source says so.

The linked model is device → vendor (and model, with optics) → programme → operator, and every
programme, vendor link, restriction and quantity is tied to a row of ``sources``. Quantities are
``claims`` (value, range, unit, date, method, confidence, status); numbers derived by survatlas
carry ``derived=1`` and the formula.

Writers take a ``sqlite3.Connection`` so several of them can run inside one
:meth:`survatlas.store.Store.transaction`, and append their custody-log entry in it (sources and
claims are written by :mod:`survatlas.provenance.sources`, the one writer of both; this module adds reuse by
URL, the derived-claim rule and ``claim_details``); readers take a
:class:`~survatlas.store.Store`.
"""

from __future__ import annotations

from survatlas.supply.attribution import AttributionSummary, attribute_devices, device_optics
from survatlas.supply.claims import ClaimInput, accept_candidates, extract_claims, record_claim
from survatlas.supply.programmes import (
    add_comparator,
    add_constraint,
    add_programme,
    link_programme_vendor,
    list_programmes,
    list_vendors,
)
from survatlas.supply.vendors import (
    add_alias,
    add_model,
    add_restriction,
    add_source_entry,
    add_vendor,
    add_vendor_entry,
    load_builtin_vendors,
    normalise_model,
    normalise_name,
    resolve_vendor,
    set_vendor_parent,
)

__all__ = [
    "AttributionSummary",
    "ClaimInput",
    "accept_candidates",
    "add_alias",
    "add_comparator",
    "add_constraint",
    "add_model",
    "add_programme",
    "add_restriction",
    "add_source_entry",
    "add_vendor",
    "add_vendor_entry",
    "attribute_devices",
    "device_optics",
    "extract_claims",
    "link_programme_vendor",
    "list_programmes",
    "list_vendors",
    "load_builtin_vendors",
    "normalise_model",
    "normalise_name",
    "record_claim",
    "resolve_vendor",
    "set_vendor_parent",
]
