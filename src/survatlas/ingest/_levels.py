"""The sensitivity of a written row: one rule for every importer, applied by the writer.

1. A row's own ``sensitivity`` value (a column or property of the row in the file) wins over
   the file's level (``--sensitivity``).
2. A record already stored never loses its level to a re-import: a row at a lower level whose
   content is the same leaves the record as it is; one whose content differs is refused (a
   different file that shares the name and row id must not overwrite a protected record).
   Only an import made with ``declassify`` lowers a level; the count is logged in custody.
"""

from __future__ import annotations

import json

from survatlas.errors import InputError
from survatlas.vocab import SENSITIVITIES

_RANK = {level: k for k, level in enumerate(SENSITIVITIES)}
#: how a row's own level appears in its tags JSON (rows without it keep the file's level)
SENSITIVITY_TAG = '"sensitivity"'


def rank(level: str) -> int:
    """Order of a level: public 0 < restricted 1 < confidential 2."""
    return _RANK[level]


def row_level(tags_json: str | None, given: str, origin: str) -> str:
    """The level of a row: its own ``sensitivity`` attribute (in its tags) or ``given``.

    Raises
    ------
    InputError
        When the row's value is not a sensitivity level.
    """
    if not tags_json or SENSITIVITY_TAG not in tags_json:
        return given
    value = json.loads(tags_json).get("sensitivity")
    if value is None:
        return given
    level = str(value).strip().lower()
    if level not in _RANK:
        raise InputError(
            f"{origin}: sensitivity {str(value)[:40]!r} is not one of {', '.join(SENSITIVITIES)}; "
            "fix the row and import again; nothing was written"
        )
    return level


def lowering_refused(origin: str, stored: str, level: str) -> InputError:
    """The error of a row that would change a record stored at a higher level."""
    return InputError(
        f"{origin} is stored as {stored} and this import would change it as {level}: import "
        f"the file with --sensitivity {stored}, or with --declassify to lower the record "
        "(logged); nothing was written"
    )
