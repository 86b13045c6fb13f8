"""One exception hierarchy for survatlas.

Every error raised on purpose derives from :class:`SurvatlasError` and, where one fits, from the
matching builtin, so callers can catch either. Messages say what went wrong *and what to do*.
Only the CLI and the web layer turn these into exit codes or HTTP errors.
"""


class SurvatlasError(Exception):
    """Base class of every error survatlas raises on purpose."""


class InputError(SurvatlasError, ValueError):
    """A file, value or option given by the user cannot be used."""


class InputFileNotFoundError(InputError, FileNotFoundError):
    """An input file does not exist."""


class CorruptFileError(InputError):
    """An input file exists but cannot be parsed."""


class StoreError(SurvatlasError, RuntimeError):
    """The store of record cannot be opened or written."""


class NotAStoreError(StoreError):
    """A file given as the store is not a survatlas store."""


class NotFoundError(SurvatlasError, LookupError):
    """A record asked for by id does not exist."""


class CoverageMissingError(NotFoundError):
    """The stored coverage run does not cover the area, level or scenario asked for (the
    message names the ``survatlas coverage …`` command to run)."""


class RoutingError(SurvatlasError, ValueError):
    """A route cannot be computed (unreachable points, gaps in the network)."""


class EstimationError(SurvatlasError, ValueError):
    """An estimate cannot be computed from the data given."""


class SecurityError(SurvatlasError, PermissionError):
    """A protection would be broken (wrong key, missing role, restricted material)."""


class StaleCoverageError(SecurityError):
    """Coverage results were computed with a camera since withdrawn from the audience asked for:
    publishing them would leak it (re-run ``survatlas coverage``)."""


class IntegrityError(SurvatlasError):
    """Evidence or the custody log does not verify."""


class ScaleError(SurvatlasError, RuntimeError):
    """A tiled (distributed) run could not compute every tile; ``failed`` lists them."""

    def __init__(self, message: str, failed: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.failed = dict(failed or {})


class FetchError(SurvatlasError):
    """A web service (Overpass, Nominatim, an extract server) failed or answered nonsense."""
