"""Country codes: ISO 3166 alpha-2 / alpha-3, UN M49 and Comtrade numbers, names, demonyms."""

from __future__ import annotations

import csv
import unicodedata
from functools import cache
from importlib import resources

from survatlas.errors import InputError


@cache
def _table() -> tuple[dict[str, str], dict[str, str]]:
    """(lookup key -> ISO2, ISO2 -> name) from the bundled country table."""
    lookup: dict[str, str] = {}
    names: dict[str, str] = {}
    text = resources.files("survatlas.data.supply").joinpath("countries.csv").read_text("utf-8")
    for row in csv.DictReader(text.splitlines()):
        iso2 = row["iso2"]
        names[iso2] = row["name"]
        keys = [iso2, row["iso3"], row["name"], *row["aliases"].split(";")]
        keys += [n for n in row["numeric"].split(";") if n]
        for key in keys:
            if key.strip():
                lookup[_key(key)] = iso2
    return lookup, names


def _key(value: str) -> str:
    value = unicodedata.normalize("NFKC", value).strip().casefold()
    if value.isdigit():
        return str(int(value))
    return value.replace("’", "'")


def country_code(value: str | int | None, *, strict: bool = False) -> str | None:
    """ISO 3166 alpha-2 code for a code, number or name (``"PRK"``, ``408``, ``"DPRK"`` → ``"KP"``).

    Unknown values return ``None`` (or raise :class:`InputError` with ``strict=True``).
    """
    if value is None or str(value).strip() == "":
        return None
    found = _table()[0].get(_key(str(value)))
    if found is None and strict:
        raise InputError(
            f"unknown country {value!r}: give an ISO 3166 code (e.g. KP or PRK) or a country name"
        )
    return found


def country_name(code: str) -> str:
    """English short name of an ISO alpha-2 code (the code itself when not in the table)."""
    return _table()[1].get(code, code)


def demonyms() -> dict[str, str]:
    """Every name, alias and demonym in the table (lower case) → ISO alpha-2 code."""
    lookup = _table()[0]
    return {k: v for k, v in lookup.items() if not k.isdigit() and len(k) > 3}
