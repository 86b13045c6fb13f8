"""Commands for sources, claims, evidence files, custody, tokens, keys, backups."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from survatlas.cli import db_path, emit_json
from survatlas.cli._options import ROW_ID, json_option, sensitivity_option
from survatlas.errors import InputError
from survatlas.provenance import access, backup, evidence, integrity, sources
from survatlas.store import MAX_ROW_ID, Store, custody, encryption
from survatlas.vocab import (
    CLAIM_STATUSES,
    CONFIDENCES,
    ROLES,
    SENSITIVITIES,
    SOURCE_KINDS,
)

actor_option = click.option(
    "--actor",
    envvar=custody.ACTOR_ENV,
    help="Who acts, for the custody log (default: the OS user).",
)
key_option = click.option(
    "--key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    envvar=encryption.KEY_FILE_ENV,
    help="Key file for confidential fields and files (or set SURVATLAS_KEY_FILE).",
)
audience_option = click.option(
    "--audience",
    type=click.Choice(SENSITIVITIES),
    default="public",
    show_default=True,
    help="Show what this audience may see (confidential needs the key).",
)


@contextmanager
def _acting(actor: str | None = None, key_file: Path | None = None) -> Iterator[None]:
    with ExitStack() as stack:
        stack.enter_context(custody.acting_as(actor))
        if key_file is not None:
            stack.enter_context(encryption.using_key(encryption.read_key_file(key_file)))
        yield


def _open(ctx: click.Context, create: bool = False) -> Store:
    return Store(db_path(ctx), create=create)


def _print_rows(rows: list[dict[str, Any]], columns: tuple[str, ...], title: str) -> None:
    table = Table(title=title)
    for col in columns:
        table.add_column(col)
    for row in rows:
        table.add_row(*("" if row.get(c) is None else str(row.get(c))[:60] for c in columns))
    Console().print(table)


def parse_subject(text: str) -> tuple[str, int | None, str | None]:
    """``device:12`` -> ("device", 12, None); ``programme:Sharp Eyes`` -> ("programme", None, key)."""
    kind, sep, ident = text.partition(":")
    if not sep or not kind or not ident:
        raise InputError(f"subject {text!r} must be TYPE:ID or TYPE:KEY, e.g. device:12")
    if not ident.isdigit():
        return kind, None, ident
    if not 1 <= int(ident) <= MAX_ROW_ID:
        raise InputError(
            f"subject {text[:40]!r}: no record has id {ident[:30]}; ids are 1 to {MAX_ROW_ID}"
        )
    return kind, int(ident), None


# --- sources -------------------------------------------------------------------------------


@click.group("source")
def source_group() -> None:
    """Sources: where facts come from (with syndication and reliability)."""


@source_group.command("add")
@click.option("--kind", type=click.Choice(SOURCE_KINDS), required=True)
@click.option("--title", required=True)
@click.option("--url")
@click.option("--archived-url", help="Archived copy (e.g. web.archive.org).")
@click.option("--publisher")
@click.option("--author")
@click.option("--published", "published_date", help="Publication date (YYYY[-MM[-DD]]).")
@click.option("--retrieved", "retrieved_at", help="Retrieval date (default: now).")
@click.option("--language", help="BCP 47 code, e.g. en, ko.")
@click.option("--original-of", type=ROW_ID, help="Id of the original this is a syndicated copy of.")
@click.option("--reliability", type=click.Choice(sources.RELIABILITY_GRADES, case_sensitive=False))
@click.option("--licence")
@click.option("--note")
@sensitivity_option
@actor_option
@key_option
@json_option
@click.pass_context
def source_add(
    ctx: click.Context, actor: str | None, key_file: Path | None, as_json: bool, **fields: Any
) -> None:
    """Record a source."""
    with _acting(actor, key_file), _open(ctx, create=True) as store:
        source_id = sources.add_source(store, **fields)
    emit_json({"id": source_id}) if as_json else click.echo(f"source {source_id} added")


@source_group.command("list")
@audience_option
@key_option
@json_option
@click.pass_context
def source_list(ctx: click.Context, audience: str, key_file: Path | None, as_json: bool) -> None:
    """List the sources the audience may see."""
    with _acting(None, key_file), _open(ctx) as store:
        rows = sources.list_sources(store, audience=audience)
    if as_json:
        emit_json(rows)
    else:
        _print_rows(
            rows,
            (
                "id",
                "kind",
                "title",
                "publisher",
                "published_date",
                "original_of",
                "reliability",
                "sensitivity",
            ),
            "sources",
        )


@source_group.command("show")
@click.argument("source_id", type=ROW_ID)
@audience_option
@key_option
@json_option
@click.pass_context
def source_show(
    ctx: click.Context, source_id: int, audience: str, key_file: Path | None, as_json: bool
) -> None:
    """Show a source with its claims and evidence files."""
    with _acting(None, key_file), _open(ctx) as store:
        row = sources.get_source(store, source_id, audience=audience)
    if as_json:
        emit_json(row)
        return
    for k, v in row.items():
        if k not in {"claims", "evidence"} and v is not None:
            click.echo(f"{k}: {v}")
    click.echo(f"claims: {len(row['claims'])}; evidence files: {len(row['evidence'])}")


# --- claims --------------------------------------------------------------------------------


@click.group("claim")
def claim_group() -> None:
    """Claims: what a source says about a record or a quantity."""


@claim_group.command("add")
@click.option("--source", "source_id", type=ROW_ID, required=True)
@click.option("--subject", required=True, help="TYPE:ID or TYPE:KEY, e.g. device:12, programme:X.")
@click.option("--statement", required=True)
@click.option("--quantity", help="What is counted or measured, e.g. cameras_installed.")
@click.option("--value", type=float)
@click.option("--low", type=float)
@click.option("--high", type=float)
@click.option("--unit")
@click.option("--as-of", help="Date the claim refers to (YYYY[-MM[-DD]]).")
@click.option("--method")
@click.option("--quote")
@click.option("--confidence", type=click.Choice(CONFIDENCES), default="medium", show_default=True)
@click.option(
    "--status", type=click.Choice(CLAIM_STATUSES), default="unverified", show_default=True
)
@sensitivity_option
@actor_option
@key_option
@json_option
@click.pass_context
def claim_add(
    ctx: click.Context,
    subject: str,
    actor: str | None,
    key_file: Path | None,
    as_json: bool,
    **fields: Any,
) -> None:
    """Record a claim."""
    kind, ident, skey = parse_subject(subject)
    with _acting(actor, key_file), _open(ctx) as store:
        claim_id = sources.add_claim(
            store, subject_type=kind, subject_id=ident, subject_key=skey, **fields
        )
    emit_json({"id": claim_id}) if as_json else click.echo(f"claim {claim_id} added")


@claim_group.command("list")
@click.option("--subject", help="Only claims about TYPE:ID or TYPE:KEY.")
@click.option("--source", "source_id", type=ROW_ID, help="Only claims of this source.")
@audience_option
@key_option
@json_option
@click.pass_context
def claim_list(
    ctx: click.Context,
    subject: str | None,
    source_id: int | None,
    audience: str,
    key_file: Path | None,
    as_json: bool,
) -> None:
    """List claims (with corroboration when a subject is given)."""
    kind, ident, skey = parse_subject(subject) if subject else (None, None, None)
    with _acting(None, key_file), _open(ctx) as store:
        rows = sources.list_claims(
            store,
            audience=audience,
            subject_type=kind,
            subject_id=ident,
            subject_key=skey,
            source_id=source_id,
        )
        corr = sources.corroboration(store, kind, ident, skey, audience=audience) if kind else None
    if as_json:
        emit_json({"claims": rows, "corroboration": corr} if corr else rows)
        return
    _print_rows(
        rows,
        (
            "id",
            "source_id",
            "subject_type",
            "subject_id",
            "statement",
            "value",
            "unit",
            "confidence",
            "status",
        ),
        "claims",
    )
    if corr:
        click.echo(
            f"{corr['supporting_claims']} supporting claim(s) from "
            f"{corr['independent_sources']} independent source(s)"
        )


@claim_group.command("status")
@click.argument("claim_id", type=ROW_ID)
@click.argument("status", type=click.Choice(CLAIM_STATUSES))
@actor_option
@click.pass_context
def claim_status(ctx: click.Context, claim_id: int, status: str, actor: str | None) -> None:
    """Set a claim's status (verified, unverified, disputed, superseded)."""
    with _acting(actor), _open(ctx) as store:
        sources.set_claim_status(store, claim_id, status)
    click.echo(f"claim {claim_id} is now {status}")


# --- evidence files ------------------------------------------------------------------------


@click.group("evidence")
def evidence_group() -> None:
    """Evidence files: content-addressed, write-once, hashed at ingest."""


@evidence_group.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", "source_id", type=ROW_ID, required=True)
@click.option("--sensitivity", type=click.Choice(SENSITIVITIES), help="Default: the source's.")
@click.option("--media-type", help="Default: sniffed from the bytes.")
@actor_option
@key_option
@json_option
@click.pass_context
def evidence_add(
    ctx: click.Context,
    file: Path,
    source_id: int,
    sensitivity: str | None,
    media_type: str | None,
    actor: str | None,
    key_file: Path | None,
    as_json: bool,
) -> None:
    """Store FILE as an original for a source; print its sha256 id."""
    with _acting(actor, key_file), _open(ctx) as store:
        rec = evidence.add_evidence(
            store, file, source_id, sensitivity=sensitivity, media_type=media_type
        )
    warning = evidence.public_location_warning(rec, file)
    if warning:
        click.echo(warning, err=True)
    if as_json:
        emit_json({**rec.to_dict(), "warnings": [warning] if warning else []})
    else:
        click.echo(rec.sha256)


@evidence_group.command("strip")
@click.argument("sha")
@click.option("--sensitivity", type=click.Choice(SENSITIVITIES), help="Default: the parent's.")
@actor_option
@key_option
@json_option
@click.pass_context
def evidence_strip(
    ctx: click.Context,
    sha: str,
    sensitivity: str | None,
    actor: str | None,
    key_file: Path | None,
    as_json: bool,
) -> None:
    """Store a copy of a JPEG without EXIF/GPS metadata (records its parent)."""
    with _acting(actor, key_file), _open(ctx) as store:
        rec = evidence.derive_stripped(store, sha, sensitivity=sensitivity)
    emit_json(rec.to_dict()) if as_json else click.echo(rec.sha256)


@evidence_group.command("list")
@audience_option
@json_option
@click.pass_context
def evidence_list(ctx: click.Context, audience: str, as_json: bool) -> None:
    """List evidence files the audience may see."""
    with _open(ctx) as store:
        rows = evidence.list_evidence(store, audience=audience)
    if as_json:
        emit_json(rows)
    else:
        _print_rows(
            rows,
            (
                "sha256",
                "source_id",
                "media_type",
                "size",
                "parent_sha256",
                "sensitivity",
                "added_by",
            ),
            "evidence files",
        )


@evidence_group.command("get")
@click.argument("sha")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@audience_option
@key_option
@click.pass_context
def evidence_get(
    ctx: click.Context, sha: str, out: Path, audience: str, key_file: Path | None
) -> None:
    """Write the original bytes of an evidence file to OUT (checked against its hash)."""
    with _acting(None, key_file), _open(ctx) as store:
        evidence.export_evidence(store, sha, out, audience=audience)
    click.echo(f"wrote {out}")


# --- custody, verify -----------------------------------------------------------------------


@click.command("verify")
@click.option("--anchor", help="SEQ:HASH notarised earlier; it must still be in the log.")
@key_option
@json_option
@click.pass_context
def verify_cmd(
    ctx: click.Context, anchor: str | None, key_file: Path | None, as_json: bool
) -> None:
    """Re-hash every evidence file and walk the custody chain; exit 1 on any problem."""
    parsed = custody.parse_anchor(anchor) if anchor else None
    with _acting(None, key_file), _open(ctx) as store:
        report = integrity.verify_store(store, anchor=parsed)
    if as_json:
        emit_json(report.to_dict())
    else:
        for problem in report.problems:
            click.echo(f"PROBLEM: {problem}")
        for note in report.notes:
            click.echo(f"note: {note}")
        click.echo(
            f"{report.entries} custody entries, {report.files_checked} evidence files: "
            + ("OK" if report.ok else f"{len(report.problems)} problem(s)")
        )
        click.echo(f"anchor: {report.anchor}")
    if not report.ok:
        ctx.exit(1)


@click.group("custody")
def custody_group() -> None:
    """The custody log (append-only, hash-chained)."""


@custody_group.command("log")
@click.option("--since", type=click.IntRange(0, MAX_ROW_ID), default=0,
              help="First sequence number.")
@click.option("--limit", type=click.IntRange(1, MAX_ROW_ID), help="At most this many entries.")
@json_option
@click.pass_context
def custody_log(ctx: click.Context, since: int, limit: int | None, as_json: bool) -> None:
    """Show custody-log entries."""
    with _open(ctx) as store:
        rows = [e.to_dict() for e in custody.read_entries(store.conn, since=since, limit=limit)]
    if as_json:
        emit_json(rows)
    else:
        _print_rows(rows, ("seq", "at", "actor", "action", "subject"), "custody log")


# --- tokens, keys --------------------------------------------------------------------------


@click.group("token")
def token_group() -> None:
    """API tokens (stored hashed)."""


@token_group.command("create")
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--name", required=True)
@actor_option
@click.pass_context
def token_create(ctx: click.Context, role: str, name: str, actor: str | None) -> None:
    """Create a token and print it once (it cannot be shown again)."""
    with _acting(actor), _open(ctx, create=True) as store:
        token = access.create_token(store, name, role)
    click.echo(token)


@token_group.command("list")
@json_option
@click.pass_context
def token_list(ctx: click.Context, as_json: bool) -> None:
    """List token names and roles (never the tokens)."""
    with _open(ctx) as store:
        rows = access.list_tokens(store)
    emit_json(rows) if as_json else _print_rows(
        rows, ("id", "name", "role", "created_at", "revoked_at"), "tokens"
    )


@token_group.command("revoke")
@click.argument("name")
@actor_option
@click.pass_context
def token_revoke(ctx: click.Context, name: str, actor: str | None) -> None:
    """Revoke a token."""
    with _acting(actor), _open(ctx) as store:
        access.revoke_token(store, name)
    click.echo(f"token {name} revoked")


@click.group("key")
def key_group() -> None:
    """Encryption keys for confidential fields and files."""


@key_group.command("create")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def key_create(file: Path) -> None:
    """Create a new key file (keep it off the machine that holds the store)."""
    key = encryption.write_key_file(file)
    click.echo(f"key {key.key_id} written to {file}; set SURVATLAS_KEY_FILE={file}")


# --- durability ----------------------------------------------------------------------------


@click.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@actor_option
@json_option
@click.pass_context
def backup_cmd(ctx: click.Context, out: Path, actor: str | None, as_json: bool) -> None:
    """Write a verified online backup of the store (and its evidence files) to OUT."""
    with _acting(actor), _open(ctx) as store:
        result = backup.backup_store(store, out)
    emit_json(result) if as_json else click.echo(
        f"backup written to {out}; anchor {result['anchor']}"
    )


@click.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace the existing store at --db.")
@actor_option
@json_option
@click.pass_context
def restore_cmd(
    ctx: click.Context, backup_file: Path, force: bool, actor: str | None, as_json: bool
) -> None:
    """Verify BACKUP_FILE and restore it as the store (--db)."""
    with _acting(actor):
        result = backup.restore_store(backup_file, db_path(ctx), force=force)
    emit_json(result) if as_json else click.echo(f"restored {backup_file} to {result['store']}")


@click.group("archive")
def archive_group() -> None:
    """Full-fidelity plain-text archives (records, evidence files, custody log)."""


@archive_group.command("export")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@actor_option
@json_option
@click.pass_context
def archive_export(ctx: click.Context, out_dir: Path, actor: str | None, as_json: bool) -> None:
    """Dump the whole store into a new folder."""
    with _acting(actor), _open(ctx) as store:
        result = backup.export_archive(store, out_dir)
    emit_json(result) if as_json else click.echo(f"archive written to {out_dir}")


@archive_group.command("import")
@click.argument("archive_dir", type=click.Path(file_okay=False, path_type=Path))
@actor_option
@json_option
@click.pass_context
def archive_import(ctx: click.Context, archive_dir: Path, actor: str | None, as_json: bool) -> None:
    """Rebuild a new store (--db) from an archive."""
    with _acting(actor):
        result = backup.import_archive(archive_dir, db_path(ctx))
    emit_json(result) if as_json else click.echo(f"store {result['store']} rebuilt")
