"""Tag keys and identifier checks shared by the supply-chain writers."""

from __future__ import annotations

import re
from collections.abc import Sequence

from survatlas.errors import InputError

#: Tag keys read for the vendor (in order) and for the model.
VENDOR_KEYS = (
    "manufacturer",
    "brand",
    "camera:manufacturer",
    "camera:brand",
    "manufacturer:wikidata",
)
MODEL_KEYS = ("model", "camera:model")
_LEGAL_SUFFIXES = frozenset(
    [
        "co",
        "ltd",
        "limited",
        "inc",
        "corp",
        "corporation",
        "company",
        "gmbh",
        "ag",
        "ab",
        "sa",
        "llc",
        "plc",
        "group",
        "holding",
        "holdings",
    ]
)
_MIN_CONTAINED_ALIAS = 4
_KEY = re.compile(r"[\w.\-]{1,80}")


def _choice(value: str, allowed: Sequence[str], what: str) -> str:
    if value not in allowed:
        raise InputError(f"unknown {what} {value!r}; use one of {', '.join(allowed)}")
    return value


def _slug(key: str, what: str) -> str:
    if not isinstance(key, str) or not _KEY.fullmatch(key):
        raise InputError(
            f"{what} {str(key)[:40]!r} must be a short identifier (letters, digits, . _ -)"
        )
    return key


# ---------------------------------------------------------------- sources and claims

