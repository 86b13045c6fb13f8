"""The ``survatlas`` command line: a thin face over the library.

Each command parses options, calls one library function and prints a table or ``--json``.
This package is the only place that turns :class:`survatlas.errors.SurvatlasError` into an exit
code. Command groups live in sibling modules named after the user's task and register
themselves on :data:`main` when imported at the bottom of this file.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

# A command does no BLAS work (the coverage kernels call none: a test keeps them out; the
# estimates' least squares are a few columns wide), but importing numpy starts OpenBLAS's pool
# of one thread a core, which costs ≈ 0.1 s of CPU a process on a 2-core machine (a quarter
# of a small coverage run). One thread, unless the user chose; set before numpy is imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import click

from survatlas import __version__
from survatlas.cli._lazy import LazyGroup
from survatlas.errors import SurvatlasError

EXIT_USER_ERROR = 2
EXIT_INTERNAL = 70


#: Every top-level command: name -> (module, attribute, short help). A command's module is
#: imported only when it runs, so ``survatlas --help`` imports no heavy library.
COMMANDS: dict[str, tuple[str, str, str]] = {
    name: (f"survatlas.cli.{module}", attr, text)
    for name, module, attr, text in (
        ("import", "store_commands", "import_group",
         "Import OSM extracts, field camera lists or GIS layers."),
        ("fetch", "fetch", "fetch_cmd",
         "Fetch any place from OpenStreetMap (Overpass, Nominatim, extracts), import it."),
        ("stats", "stats", "stats_cmd", "What is in the store: counts, tags, sites."),
        ("export", "export", "export_cmd", "Export a layer with ODbL attribution."),
        ("delete", "store_commands", "delete_cmd",
         "Delete a map record (device:12 …); logged in custody."),
        ("optics", "coverage", "optics_cmd", "Field of view and DORI distances of a camera."),
        ("coverage", "coverage", "coverage_cmd", "Compute what the cameras see, per DORI level."),
        ("coverage-summary", "results", "coverage_summary_cmd",
         "The stored coverage run at one level (streets, site categories)."),
        ("sites", "results", "sites_cmd", "Sites ranked by the share of them in view."),
        ("route", "routing", "route_cmd", "The shortest and the least-watched route."),
        ("exposure", "routing", "exposure_cmd", "How exposed a route you walked or plan is."),
        ("estimate", "estimate", "estimate_group",
         "Estimate true totals from incomplete lists (capture–recapture, MSE)."),
        ("source", "evidence", "source_group", "Sources: where facts come from."),
        ("claim", "evidence", "claim_group", "Claims: what a source says."),
        ("evidence", "evidence", "evidence_group", "Evidence files, content-addressed."),
        ("verify", "evidence", "verify_cmd", "Re-hash evidence and walk the custody chain."),
        ("custody", "evidence", "custody_group", "The append-only, hash-chained custody log."),
        ("token", "evidence", "token_group", "API tokens (stored hashed)."),
        ("key", "evidence", "key_group", "Encryption keys for confidential fields and files."),
        ("backup", "evidence", "backup_cmd", "Write a verified backup of the store."),
        ("restore", "evidence", "restore_cmd", "Verify a backup and restore it as the store."),
        ("archive", "evidence", "archive_group", "Full-fidelity plain-text archives."),
        ("trade", "supply", "trade_group", "Trade flows, HS codes and sanctions screening."),
        ("profile", "supply", "profile_cmd", "A country profile with every line sourced."),
        ("vendors", "supply", "vendors_group", "Vendors, aliases, restrictions, attribution."),
        ("programmes", "supply", "programmes_cmd", "Surveillance programmes and their vendors."),
        ("claims", "supply", "claims_group", "Propose claims from a report's text, accept them."),
        ("timeline", "growth", "timeline_cmd",
         "Devices added, removed and in place per month or year (device history)."),
        ("diff", "growth", "diff_cmd", "What appeared, disappeared or changed between two dates."),
        ("report", "report", "report_cmd",
         "A report (HTML, PDF, Markdown) on an area, place, site or route."),
        ("publish", "publish", "publish_group",
         "Publish for readers: a static web site (map, figures, report)."),
        ("serve", "web", "serve_cmd", "Serve the web map and the JSON API."),
        ("contributions", "contributions", "contributions_group",
         "Moderate cameras reported from the map or a phone."),
        ("template", "contributions", "template_group",
         "Empty field files (CSV, GeoJSON) for `import cameras`."),
    )
}


class _Group(LazyGroup):
    """A click group that prints survatlas errors as one line and exits non-zero."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SurvatlasError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except RecursionError:
            click.echo("error: the input is nested too deeply to be read (a hostile or broken "
                       "file?); nothing was written", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except OSError as exc:  # a full disk, a read-only folder … while writing an output
            reason = exc.strerror or type(exc).__name__
            click.echo(f"error: {reason} ({Path(exc.filename).name if exc.filename else 'I/O'}); "
                       "free space or choose another place and retry", err=True)
            ctx.exit(EXIT_USER_ERROR)
        except KeyboardInterrupt:
            click.echo("interrupted: nothing was written by the unfinished step", err=True)
            ctx.exit(130)


@click.group(cls=_Group, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
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


def run() -> None:
    """Entry point used by ``python -m survatlas``."""
    main(obj={}, prog_name="survatlas")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
