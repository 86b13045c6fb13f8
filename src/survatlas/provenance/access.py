"""Access roles for the API: viewer, editor, admin, with tokens hashed at rest.

A token is shown once, when created; the store keeps only its SHA-256 (tokens are 256-bit
random, so a plain hash is enough). Roles are ordered: an admin may do what an editor may, an
editor what a viewer may. The API is a public output whatever the role: roles govern writes,
not which records are shown (see :mod:`survatlas.store.gate`).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from survatlas.errors import InputError, NotFoundError, SecurityError
from survatlas.store import Store
from survatlas.store.clock import now_iso
from survatlas.store.custody import append_entry
from survatlas.store.states import logged_state
from survatlas.vocab import ROLES

TOKEN_PREFIX = "sva_"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to."""

    name: str
    role: str

    def allows(self, role: str) -> bool:
        """Whether this principal has ``role`` or a higher one."""
        return role_at_least(self.role, role)


def role_at_least(have: str, need: str) -> bool:
    """Whether role ``have`` includes role ``need``."""
    for role in (have, need):
        if role not in ROLES:
            raise InputError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return ROLES.index(have) >= ROLES.index(need)


def hash_token(token: str) -> str:
    """The form in which a token is stored."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(store: Store, name: str, role: str) -> str:
    """Create a token for ``name`` with ``role``; return it (it is never shown again)."""
    if not _NAME.match(name or ""):
        raise InputError("a token name is 1–64 letters, digits or . _ @ -")
    role_at_least(role, "viewer")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.transaction() as conn:
        if conn.execute("SELECT 1 FROM tokens WHERE name = ?", (name,)).fetchone():
            raise InputError(f"a token named {name!r} exists; revoke it or choose another name")
        cur = conn.execute(
            "INSERT INTO tokens (name, role, token_hash, created_at) VALUES (?, ?, ?, ?)",
            (name, role, hash_token(token), now_iso()),
        )
        append_entry(conn, "token.create", f"token:{cur.lastrowid}", {"name": name, "role": role})
    return token


def verify_token(store: Store, token: str | None) -> Principal:
    """The principal of a valid, unrevoked token; :class:`SecurityError` otherwise."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise SecurityError("invalid token: give a token made by `survatlas token create`")
    row = store.query(
        "SELECT id, name, role FROM tokens WHERE token_hash = ? AND revoked_at IS NULL",
        (hash_token(token),),
    )
    if not row or not _as_logged(store, int(row[0][0]), row[0][2]):
        raise SecurityError("invalid or revoked token")
    return Principal(row[0][1], row[0][2])


def _as_logged(store: Store, token_id: int, role: str) -> bool:
    """Whether the custody log agrees: the token was created through survatlas, and its last
    entry neither revoked it nor gave it another role (an edit made with ``sqlite3`` — a
    revocation undone, a role raised — does not bring a token back)."""
    subject = f"token:{token_id}"
    if store.scalar("SELECT 1 FROM custody_log WHERE subject = ? LIMIT 1", (subject,)) is None:
        return False
    logged = logged_state(store.conn, subject)
    if logged is None:  # created before entries carried the state
        return True
    state = logged[1]
    return not state.get("state.revoked") and state.get("state.role") == role


def revoke_token(store: Store, name: str) -> None:
    """Revoke the token called ``name``."""
    with store.transaction() as conn:
        row = conn.execute(
            "SELECT id FROM tokens WHERE name = ? AND revoked_at IS NULL", (name,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no active token named {name!r}")
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE id = ?", (now_iso(), row[0]))
        append_entry(conn, "token.revoke", f"token:{row[0]}", {"name": name})


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Token names, roles and dates (never the tokens or their hashes)."""
    return [
        dict(r)
        for r in store.query(
            "SELECT id, name, role, created_at, revoked_at FROM tokens ORDER BY id"
        )
    ]
