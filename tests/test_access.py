"""Promise 6 (library): tokens hashed at rest, roles ordered, revocation, custody of changes."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from survatlas.cli import main
from survatlas.errors import InputError, SecurityError
from survatlas.provenance.access import (
    create_token,
    list_tokens,
    revoke_token,
    role_at_least,
    verify_token,
)
from survatlas.store import Store


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "s.db") as s:
        yield s


def test_a_token_is_shown_once_and_stored_hashed(store):
    token = create_token(store, "ana", "editor")
    raw = store.path.read_bytes() + b"".join(
        p.read_bytes() for p in store.path.parent.glob("s.db-*")
    )
    assert token.encode() not in raw
    assert token not in str(list_tokens(store))
    principal = verify_token(store, token)
    assert (principal.name, principal.role) == ("ana", "editor")


@pytest.mark.parametrize("bad", [None, "", "sva_wrong", "Bearer x", "sva_" + "a" * 300])
def test_a_bad_token_is_refused(store, bad):
    create_token(store, "ana", "admin")
    with pytest.raises(SecurityError):
        verify_token(store, bad)


def test_a_revoked_token_is_refused(store):
    token = create_token(store, "ana", "viewer")
    revoke_token(store, "ana")
    with pytest.raises(SecurityError, match="revoked"):
        verify_token(store, token)
    actions = [r[0] for r in store.query("SELECT action FROM custody_log")]
    assert actions[-2:] == ["token.create", "token.revoke"]


def test_roles_are_ordered():
    assert role_at_least("admin", "editor") and role_at_least("editor", "viewer")
    assert not role_at_least("viewer", "editor") and not role_at_least("editor", "admin")
    with pytest.raises(InputError):
        role_at_least("root", "viewer")


def test_names_are_unique(store):
    create_token(store, "ana", "viewer")
    with pytest.raises(InputError, match="exists"):
        create_token(store, "ana", "admin")


def test_cli_prints_the_token_once(tmp_path):
    db = str(tmp_path / "s.db")
    out = CliRunner().invoke(
        main, ["--db", db, "token", "create", "--role", "viewer", "--name", "bo"]
    )
    assert out.exit_code == 0 and out.output.startswith("sva_")
    listed = CliRunner().invoke(main, ["--db", db, "token", "list", "--json"])
    assert out.output.strip() not in listed.output and '"bo"' in listed.output
