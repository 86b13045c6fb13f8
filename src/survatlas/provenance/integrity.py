"""``survatlas verify``: re-hash every evidence file and walk the custody chain.

Reports an edited, deleted, reordered or truncated log entry, a changed or missing evidence
file, and records that have no custody entry (or entries whose record vanished). Prints the
anchor (last sequence number and hash) to notarise elsewhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from survatlas.errors import SecurityError
from survatlas.provenance.evidence import blob_path, evidence_root, sha256_id
from survatlas.store import Store
from survatlas.store.custody import check_chain, content_digest, format_anchor, head, read_entries
from survatlas.store.encryption import Key, decrypt_bytes, load_key
from survatlas.store.schema import schema_problems
from survatlas.store.states import state_problems, table_problems
from survatlas.store.store_key import key_problems

#: table -> custody action that creates its rows (rows after the log's baseline must have one).
_CREATED_BY = {"claims": "claim.add", "imports": "import"}
#: the same for the tables logged since the ``custody.extend`` entry (checked in logs that have it).
_CREATED_BY_EXTENDED = {
    "programmes": "programme.add",
    "vendors": "vendor.add",
    "device_models": "model.add",
    "contributions": "contribution.submit",
}


@dataclass
class VerifyReport:
    """What ``verify`` found."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    entries: int = 0
    files_checked: int = 0
    anchor: str = ""

    @property
    def ok(self) -> bool:
        """True when nothing is wrong."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form for ``--json``."""
        return {"ok": self.ok, **vars(self)}


def verify_store(
    store: Store, *, anchor: tuple[int, str] | None = None, key: Key | None = None
) -> VerifyReport:
    """Check the custody chain, every evidence file and the custody of every record.

    Parameters
    ----------
    anchor
        A ``(seq, hash)`` notarised earlier: it must still be in the chain.
    key
        The data key; with it, encrypted evidence is decrypted and its plaintext hash checked
        too (without it, the stored bytes are checked against their recorded hash).
    """
    report = VerifyReport()
    entries = read_entries(store.conn)
    report.entries = len(entries)
    key = key if key is not None else _maybe_key()
    report.problems.extend(schema_problems(store.conn))
    report.problems.extend(key_problems(store.conn))
    report.problems.extend(check_chain(store.conn, anchor))
    report.problems.extend(_check_records(store, entries))
    for check in (state_problems, table_problems):
        problems, notes = check(store.conn, key)
        report.problems.extend(problems)
        report.notes.extend(notes)
    _check_files(store, key, report)
    report.anchor = format_anchor(*head(store.conn))
    return report


def _maybe_key() -> Key | None:
    try:
        return load_key()
    except SecurityError:
        return None


def _check_records(store: Store, entries: list) -> list[str]:
    """Every record created after custody began has its entry, and every entry its record."""
    problems = []
    subjects: dict[str, set[str]] = {}
    import_sources: set[int] = set()
    baseline: dict[str, int] = {}
    extended = None
    for e in entries:
        subjects.setdefault(e.action, set()).add(e.subject or "")
        if e.action == "import":
            import_sources.add(json.loads(e.details).get("source_id"))
        if e.action == "custody.start":
            baseline = json.loads(e.details)
        if e.action == "custody.extend":
            extended = e
    if not entries or entries[0].action != "custody.start":
        problems.append("the custody log does not start with its opening entry: it was truncated")
    tables = dict(_CREATED_BY)
    if extended is not None:
        baseline = {**baseline, **json.loads(extended.details)}
        tables.update(_CREATED_BY_EXTENDED)
        problems.extend(_check_coverage_run(store, entries, extended))
    for table, action in tables.items():
        prefix = action.split(".")[0] if "." in action else action
        ids = {r[0] for r in store.query(f"SELECT id FROM {table}")}
        logged = {int(s.split(":")[1]) for s in subjects.get(action, ()) if s.count(":") == 1}
        after = {i for i in ids if i > baseline.get(f"{table}_before", 0)}
        for missing in sorted(after - logged)[:20]:
            problems.append(
                f"{table} row {missing} has no custody entry ({prefix}): log truncated?"
            )
        for gone in sorted(logged - ids)[:20]:
            problems.append(f"custody entry for {table} row {gone} but the row is gone: deleted?")
    src_logged = {int(s.split(":")[1]) for s in subjects.get("source.add", ())} | import_sources
    src_after = {
        r[0]
        for r in store.query(
            "SELECT id FROM sources WHERE id > ?", (baseline.get("sources_before", 0),)
        )
    }
    for missing in sorted(src_after - src_logged)[:20]:
        problems.append(f"source {missing} has no custody entry: log truncated?")
    ev_rows = {r[0] for r in store.query("SELECT sha256 FROM evidence_files")}
    ev_logged = {
        s.removeprefix("evidence:")
        for action in ("evidence.add", "evidence.derive")
        for s in subjects.get(action, ())
    }
    for missing in sorted(ev_rows - ev_logged)[:20]:
        problems.append(f"evidence {missing[:19]}… has no custody entry: log truncated?")
    for gone in sorted(ev_logged - ev_rows)[:20]:
        problems.append(
            f"evidence {gone[:19]}… is in the custody log but not in the store: deleted?"
        )
    return problems


def _check_coverage_run(store: Store, entries: list, extended: Any) -> list[str]:
    """The stored coverage run is the one the last ``coverage.save`` entry pins (a run older
    than the extended log, never replaced since, has none)."""
    run = store.query("SELECT created_at, settings, summary FROM coverage_runs ORDER BY id DESC")
    saves = [e for e in entries if e.action == "coverage.save"]
    if not run:
        return []
    if saves and json.loads(saves[-1].details).get("run_sha256") == content_digest(*run[0]):
        return []
    older = json.loads(extended.details).get("coverage_runs_before", 0) and not saves
    if older and datetime.fromisoformat(run[0][0]) <= datetime.fromisoformat(extended.at):
        return []
    return [f"the coverage run of {run[0][0]} has no custody entry: log truncated?"]


def _check_files(store: Store, key: Key | None, report: VerifyReport) -> None:
    root = evidence_root(store)
    known = set()
    skipped = 0
    for r in store.query(
        "SELECT sha256, stored_sha256, encryption FROM evidence_files ORDER BY id"
    ):
        sha_id, stored_sha, encryption = r
        path = blob_path(root, sha_id)
        known.add(path)
        report.files_checked += 1
        try:
            stored = path.read_bytes()
        except OSError:
            report.problems.append(f"evidence file {sha_id[:19]}… is missing from {root.name}")
            continue
        if sha256_id(stored) != stored_sha:
            report.problems.append(f"evidence file {sha_id[:19]}… was changed on disk")
            continue
        if encryption is None:
            if stored_sha != sha_id:
                report.problems.append(f"evidence record {sha_id[:19]}… does not match its file")
        elif key is None:
            skipped += 1
        else:
            try:
                plain = decrypt_bytes(key, stored, f"evidence:{sha_id}")
            except SecurityError as exc:
                report.problems.append(str(exc))
                continue
            if sha256_id(plain) != sha_id:
                report.problems.append(f"evidence file {sha_id[:19]}… does not match its hash")
    if skipped:
        report.notes.append(
            f"{skipped} encrypted file(s) checked against their stored hash only (no key given)"
        )
    orphans = [
        p for p in (root / "sha256").glob("*/*") if p not in known and not p.name.startswith(".")
    ]
    if orphans:
        report.notes.append(
            f"{len(orphans)} unreferenced file(s) in {root.name} (an interrupted add; harmless)"
        )
