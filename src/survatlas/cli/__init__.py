"""The ``survatlas`` command line: a thin face over the library.

Each command parses options, calls one library function and prints a table or ``--json``.
This package is the only place that turns :class:`survatlas.errors.SurvatlasError` into an exit
code. Command groups live in sibling modules named after the user's task and register
themselves on :data:`main` when imported at the bottom of this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from survatlas import __version__
from survatlas.errors import SurvatlasError

EXIT_USER_ERROR = 2
EXIT_INTERNAL = 70


class _Group(click.Group):
    """A click group that prints survatlas errors as one line and exits non-zero."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SurvatlasError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing was written by the unfinished step", err=True)
            ctx.exit(130)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("survatlas.db"),
    show_default=True,
    envvar="SURVATLAS_DB",
    help="The store file (SQLite).",
)
@click.version_option(__version__, prog_name="survatlas")
@click.pass_context
def main(ctx: click.Context, db_path: Path) -> None:
    """survatlas — map, measure and document surveillance infrastructure.

    Infrastructure, never people: no face or plate recognition, no person tracking.
    """
    ctx.ensure_object(dict)
    ctx.obj["db"] = db_path


def db_path(ctx: click.Context) -> Path:
    """The store path chosen with the global ``--db`` option."""
    return ctx.find_root().obj["db"]


def emit_json(data: Any) -> None:
    """Print ``data`` as JSON on stdout (the ``--json`` output of every command)."""
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=_json_default))


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")


def run() -> None:
    """Entry point used by ``python -m survatlas``."""
    main(obj={}, prog_name="survatlas")


# Command modules register themselves on ``main`` (one import per task).
from survatlas.cli import (  # noqa: E402,F401
    coverage,
    estimate,
    evidence,
    routing,
    store_commands,
    supply,
    web,
)

if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
