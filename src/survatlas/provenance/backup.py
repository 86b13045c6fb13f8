"""Durability: backups (SQLite online backup), restore, and full-fidelity archives.

A backup is a consistent copy of the store taken while it may be in use (SQLite's online
backup API) plus its evidence folder; it is verified before it is reported as written. A
restore verifies the backup first and never overwrites a store unless asked. An *archive* is
a plain-text dump (one JSON Lines file per table, blobs in base64, evidence files alongside,
a manifest of SHA-256 hashes) from which :func:`import_archive` rebuilds a store whose records,
hashes and custody log are identical and verify.

Backups and archives are full copies for the custodian, not publications: they hold every
record (confidential fields stay encrypted).

An archive made with the data key in force is **signed**: the manifest carries an HMAC-SHA-256
of itself under a key derived from the data key (:func:`manifest_signature`), so a table
*and* its manifest hash changed together are refused on import; a store that has a key
(``store_key`` rows) is never imported from an unsigned manifest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from survatlas.errors import InputError, IntegrityError, SecurityError
from survatlas.provenance.evidence import evidence_root
from survatlas.provenance.integrity import verify_store
from survatlas.store import Store, create_private_file
from survatlas.store.custody import append_entry, format_anchor, head
from survatlas.store.encryption import Key, load_key

ARCHIVE_FORMAT = "survatlas-archive/1"
#: tables an archive leaves out: SQLite's own, the migration record, and the input state and
#: fingerprint memo of migration m0130 (a cache of the store it was made in; a new store starts
#: its own)
_SKIP_TABLES = ("sqlite_", "_migrations", "input_version", "fingerprint_memo")


def backup_store(store: Store, out: str | Path) -> dict[str, Any]:
    """Write a verified backup of ``store`` (and its evidence folder) to ``out``."""
    out = Path(out)
    if out.exists():
        raise InputError(f"{out} exists; choose a new backup file name")
    if not out.parent.is_dir():
        raise InputError(f"folder {out.parent} does not exist; create it first")
    if _evidence_of(out).exists():
        raise InputError(f"{_evidence_of(out)} exists; choose a new backup file name")
    with store.transaction() as conn:
        entry = append_entry(conn, "backup", "store", {"entries": head(conn)[0]})
    tmp = out.with_name(f".partial-{out.name}")
    try:
        _sqlite_copy(store.conn, tmp)
        files = _copy_evidence(evidence_root(store), _evidence_of(out))
        tmp.replace(out)
        with Store(out, create=False) as copy:
            report = verify_store(copy)
        if not report.ok:
            raise IntegrityError("the backup does not verify: " + "; ".join(report.problems[:3]))
    except BaseException:
        _remove_store_files(tmp, out, _evidence_of(out))
        raise
    return {
        "backup": str(out),
        "evidence_files": files,
        "anchor": format_anchor(entry.seq, entry.hash),
    }


def restore_store(backup: str | Path, target: str | Path, *, force: bool = False) -> dict[str, Any]:
    """Restore ``backup`` to ``target`` after verifying it; ``force`` replaces an existing store."""
    backup, target = Path(backup), Path(target)
    if not backup.is_file():
        raise InputError(f"{backup}: no such backup file")
    if target.exists() and not force:
        raise InputError(f"{target} exists; pass --force to replace it with the backup")
    tmp = target.with_name(f".partial-{target.name}")
    try:
        with Store(backup, create=False) as src:
            report = verify_store(src)
            if not report.ok:
                raise IntegrityError(
                    "the backup does not verify: " + "; ".join(report.problems[:3])
                )
            _remove_store_files(tmp)
            _sqlite_copy(src.conn, tmp)
        files = _copy_evidence(_evidence_of(backup), evidence_root_path(target))
    except BaseException:  # nothing half-restored is left behind (no plaintext copy)
        _remove_store_files(tmp)
        raise
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    tmp.replace(target)
    with Store(target, create=False) as restored, restored.transaction() as conn:
        entry = append_entry(
            conn, "restore", "store", {"from_anchor_seq": int(report.anchor.split(":")[0])}
        )
    return {
        "store": str(target),
        "evidence_files": files,
        "anchor": format_anchor(entry.seq, entry.hash),
    }


def _remove_store_files(*paths: Path) -> None:
    """Remove store files (with their -wal and -shm) or folders left by a failed step."""
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
            continue
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def evidence_root_path(db: Path) -> Path:
    """The evidence folder of the store file ``db``."""
    return db.with_name(db.name + ".evidence")


_evidence_of = evidence_root_path


def _sqlite_copy(conn: sqlite3.Connection, out: Path) -> None:
    create_private_file(out)  # a backup is as private as the store (mode 0600)
    dst = sqlite3.connect(out)
    try:
        conn.backup(dst)
        dst.execute("PRAGMA journal_mode = WAL")
    finally:
        dst.close()


def _copy_evidence(src: Path, dst: Path) -> int:
    """Copy the evidence blobs of ``src`` to ``dst``; a link anywhere is refused, never followed."""
    count = 0
    if src.is_symlink():
        raise IntegrityError(f"{src.name} is a link, not an evidence folder; nothing was copied")
    for path in sorted((src / "sha256").rglob("*")) if src.is_dir() else ():
        if path.is_symlink():
            raise IntegrityError(
                f"{path.relative_to(src)} is a link: an evidence folder holds files only "
                "(a link could copy any file of this machine); nothing was restored"
            )
        if path.name.startswith(".") or path.is_dir():
            continue
        target = dst / path.relative_to(src)
        if target.exists():
            if _sha(target.read_bytes()) != _sha(path.read_bytes()):
                raise IntegrityError(f"{target} exists with other content; restore elsewhere")
            continue
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copy2(path, target)
        os.chmod(target, 0o400)  # the owner's only, read-only (as in the store)
        count += 1
    return count


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _tables(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' ORDER BY name"
    ).fetchall()
    virtual = {r[0] for r in rows if (r[1] or "").upper().startswith("CREATE VIRTUAL")}
    shadow = {r[0] for r in rows if any(r[0].startswith(v + "_") for v in virtual)}
    return [
        r[0]
        for r in rows
        if not r[0].startswith(_SKIP_TABLES) and r[0] not in virtual and r[0] not in shadow
    ]


def export_archive(store: Store, out_dir: str | Path) -> dict[str, Any]:
    """Dump every table and evidence file of ``store`` into the new folder ``out_dir``."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        raise InputError(f"{out_dir} exists; give a new folder for the archive")
    with store.transaction() as conn:
        append_entry(conn, "archive.export", "store", {"entries": head(conn)[0]})
    out_dir.mkdir(parents=True)
    manifest: dict[str, Any] = {"format": ARCHIVE_FORMAT, "tables": {}, "files": {}}
    store.conn.execute("BEGIN")  # one consistent snapshot for every table
    try:
        for table in _tables(store.conn):
            manifest["tables"][table] = _dump_table(store.conn, table, out_dir / f"{table}.jsonl")
        manifest["anchor"] = format_anchor(*head(store.conn))
    finally:
        store.conn.execute("COMMIT")
    manifest["evidence_files"] = _copy_evidence(evidence_root(store), out_dir / "evidence")
    for path in sorted(out_dir.rglob("*")):
        if path.is_file():
            manifest["files"][path.relative_to(out_dir).as_posix()] = _sha(path.read_bytes())
    key = _key_in_force()
    manifest["signature"] = manifest_signature(manifest, key) if key else None
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return {"archive": str(out_dir), "tables": manifest["tables"], "anchor": manifest["anchor"],
            "signed": key is not None}


def manifest_signature(manifest: dict[str, Any], key: Key) -> str:
    """``hmac:<key id>:<hex>`` over the manifest (every field but the signature), canonical
    JSON, under a key derived from the data key."""
    body = {k: v for k, v in manifest.items() if k != "signature"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    sub = hmac.new(key.secret, b"survatlas-archive-manifest-v1", hashlib.sha256).digest()
    return f"hmac:{key.key_id}:" + hmac.new(sub, text, hashlib.sha256).hexdigest()


def _key_in_force() -> Key | None:
    try:
        return load_key()
    except SecurityError:
        return None


def _check_signature(archive: Path, manifest: dict[str, Any]) -> None:
    """Refuse an archive whose signed manifest was changed, or a keyed store's unsigned one."""
    signature = manifest.get("signature")
    if not signature:
        if manifest["tables"].get("store_key"):
            raise IntegrityError(
                f"{archive}: the manifest of an archive of an encrypted store is not signed "
                "(the signature was removed?); nothing was imported"
            )
        return
    key_id = str(signature).split(":")[1] if str(signature).count(":") >= 2 else "?"
    key = _key_in_force()
    if key is None or key.key_id != key_id:
        raise IntegrityError(
            f"{archive}: the manifest is signed with key {key_id}; give that key "
            "(--key-file or SURVATLAS_KEY_FILE) to check and import it"
        )
    if not hmac.compare_digest(manifest_signature(manifest, key), str(signature)):
        raise IntegrityError(
            f"{archive}: the manifest's signature does not match: the archive was changed "
            "after export; nothing was imported"
        )


def _dump_table(conn: sqlite3.Connection, table: str, path: Path) -> int:
    cur = conn.execute(f"SELECT * FROM {table} ORDER BY rowid")
    names = [d[0] for d in cur.description]
    n = 0
    with path.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(names) + "\n")
        for row in cur:
            fh.write(json.dumps([_encode(v) for v in row], ensure_ascii=False) + "\n")
            n += 1
    return n


def _encode(value: Any) -> Any:
    return {"b64": base64.b64encode(value).decode()} if isinstance(value, bytes) else value


def _decode(value: Any) -> Any:
    return base64.b64decode(value["b64"]) if isinstance(value, dict) else value


def import_archive(archive: str | Path, db: str | Path) -> dict[str, Any]:
    """Rebuild a store at the new path ``db`` from an archive; it must verify."""
    archive, db = Path(archive), Path(db)
    manifest = _read_manifest(archive)
    if db.exists():
        raise InputError(f"{db} exists; an archive is imported into a new store")
    try:
        with Store(db) as store:
            _load_tables(store, archive, manifest)
            _copy_evidence(archive / "evidence", evidence_root(store))
            report = verify_store(store)
            if not report.ok:
                raise IntegrityError(
                    "the imported store does not verify: " + "; ".join(report.problems[:3])
                )
            with store.transaction() as conn:
                append_entry(
                    conn,
                    "archive.import",
                    "store",
                    {"anchor_seq": int(manifest["anchor"].split(":")[0])},
                )
    except BaseException:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        raise
    return {"store": str(db), "tables": manifest["tables"], "anchor": manifest["anchor"]}


def _read_manifest(archive: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((archive / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{archive} is not a survatlas archive (no readable manifest.json)"
        ) from exc
    if manifest.get("format") != ARCHIVE_FORMAT:
        raise InputError(f"{archive}: unknown archive format {manifest.get('format')!r}")
    links = [p for p in archive.rglob("*") if p.is_symlink()]
    if links:
        raise IntegrityError(
            f"archive entry {links[0].relative_to(archive)} is a link: an archive holds plain "
            "files only (a link could copy any file of this machine); nothing was imported"
        )
    for rel, digest in manifest["files"].items():
        parts = Path(rel).parts
        if Path(rel).is_absolute() or ".." in parts or not parts:
            raise IntegrityError(f"archive file name {rel[:80]!r} points outside the archive")
        path = archive / rel
        if not path.is_file() or _sha(path.read_bytes()) != digest:
            raise IntegrityError(f"archive file {rel} is missing or changed since export")
    _check_signature(archive, manifest)
    return manifest


def _load_tables(store: Store, archive: Path, manifest: dict[str, Any]) -> None:
    with store.transaction() as conn:
        conn.execute("PRAGMA defer_foreign_keys = ON")
        # The fresh store opened its own log; the archive's log replaces it.
        conn.execute("DROP TRIGGER custody_log_no_delete")
        conn.execute("DROP TRIGGER custody_head_no_delete")
        conn.execute("DELETE FROM custody_log")
        conn.execute("DELETE FROM custody_head")
        conn.execute(
            "CREATE TRIGGER custody_log_no_delete BEFORE DELETE ON custody_log "
            "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END"
        )
        conn.execute(
            "CREATE TRIGGER custody_head_no_delete BEFORE DELETE ON custody_head "
            "BEGIN SELECT RAISE(ABORT, 'the custody log is append-only'); END"
        )
        # and the views whose rows an older archive holds as tables (coverage_views and
        # street_seen before m0131): their INSTEAD OF triggers file the rows
        known = set(_tables(conn)) | {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'view'")}
        for table in manifest["tables"]:
            if table == "custody_head":  # derived: the log's insert trigger rebuilds it
                continue
            if table not in known:
                raise InputError(f"the archive has a table {table!r} this survatlas does not know")
            _load_table(conn, table, archive / f"{table}.jsonl")


def _load_table(conn: sqlite3.Connection, table: str, path: Path) -> None:
    with path.open(encoding="utf-8") as fh:
        names = json.loads(fh.readline())
        sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        conn.executemany(sql, ([_decode(v) for v in json.loads(line)] for line in fh))
