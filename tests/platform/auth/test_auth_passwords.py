"""Passwords: argon2id hashes, older werkzeug hashes upgraded at sign-in, and the password policy."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from flask import Flask
from werkzeug.security import generate_password_hash

from crm_platform.auth.passwords import hash_password, needs_rehash, verify_password
from crm_platform.auth.users import authenticate, create_user, set_password
from crm_platform.cli import cli
from crm_platform.services import CrmServices
from metamodel.errors import RecordInvalid
from metamodel.systables import users
from tests.platform.auth.authsupport import PASSWORD, login, post_form


def stored_hash(svc: CrmServices, username: str) -> str:
    """Return the stored password hash of ``username``."""
    with svc.engine.connect() as conn:
        return str(
            conn.execute(sa.select(users.c.password_hash).where(users.c.username == username)).scalar_one()
        )


def test_new_passwords_are_argon2id(auth_svc: CrmServices) -> None:
    """Created and changed passwords are stored as argon2id hashes that verify."""
    create_user(auth_svc.engine, "ann", PASSWORD)
    assert stored_hash(auth_svc, "ann").startswith("$argon2id$")
    assert verify_password(stored_hash(auth_svc, "ann"), PASSWORD)
    assert not verify_password(stored_hash(auth_svc, "ann"), PASSWORD + "x")
    set_password(auth_svc.engine, "ann", "another-secret-1")
    assert stored_hash(auth_svc, "ann").startswith("$argon2id$")
    assert authenticate(auth_svc.engine, "ann", "another-secret-1") is not None
    assert authenticate(auth_svc.engine, "ann", PASSWORD) is None


def test_old_werkzeug_hashes_still_work_and_are_upgraded(auth_svc: CrmServices) -> None:
    """A scrypt hash from before argon2 verifies, and a successful sign-in replaces it."""
    create_user(auth_svc.engine, "ben", PASSWORD)
    with auth_svc.engine.begin() as conn:
        conn.execute(
            users.update()
            .where(users.c.username == "ben")
            .values(password_hash=generate_password_hash(PASSWORD))
        )
    assert stored_hash(auth_svc, "ben").startswith("scrypt:") and needs_rehash(stored_hash(auth_svc, "ben"))
    assert authenticate(auth_svc.engine, "ben", "wrong-password-1") is None
    assert stored_hash(auth_svc, "ben").startswith("scrypt:")  # a failed attempt changes nothing
    assert authenticate(auth_svc.engine, "ben", PASSWORD) is not None
    assert stored_hash(auth_svc, "ben").startswith("$argon2id$")
    assert authenticate(auth_svc.engine, "ben", PASSWORD) is not None


def test_garbage_hashes_do_not_verify() -> None:
    """A corrupt stored hash or an absurdly long password is a plain mismatch, not an error."""
    assert not verify_password("not-a-hash", PASSWORD)
    assert not verify_password(hash_password(PASSWORD), "x" * 5000)
    assert needs_rehash("not-a-hash")


@pytest.mark.parametrize(
    ("username", "password", "message"),
    [
        ("cat", "short-1", "must be at least 10 characters"),
        ("catherine1", "catherine1", "must not be the user name"),
        ("catherine1", "CATHERINE1", "must not be the user name"),
        ("cat", "x" * 1025, "must be at most 1024 characters"),
    ],
)
def test_policy_refuses_weak_passwords(
    auth_svc: CrmServices, username: str, password: str, message: str
) -> None:
    """Too short, equal to the user name or absurdly long: refused with a message naming the rule."""
    with pytest.raises(RecordInvalid) as refused:
        create_user(auth_svc.engine, username, password)
    assert [(p.path, p.message) for p in refused.value.problems] == [("password", message)]
    create_user(auth_svc.engine, username, PASSWORD)
    with pytest.raises(RecordInvalid) as again:
        set_password(auth_svc.engine, username, password)
    assert [p.message for p in again.value.problems] == [message]
    assert authenticate(auth_svc.engine, username, PASSWORD) is not None


def test_cli_reports_the_policy(crm_env: dict[str, str]) -> None:
    """``crm create-user`` and ``crm set-password`` print the broken rule and exit 1."""
    runner = CliRunner()
    short = runner.invoke(cli, ["create-user", "dave", "--password", "nine-char"])
    assert short.exit_code == 1 and "password: must be at least 10 characters" in short.output
    assert runner.invoke(cli, ["create-user", "dave", "--password", "ten-chars!"]).exit_code == 0
    same = runner.invoke(cli, ["set-password", "dave", "--password", "Dave"])
    assert same.exit_code == 1 and "must be at least 10 characters" in same.output
    named = runner.invoke(cli, ["create-user", "davidson01", "--password", "davidson01"])
    assert named.exit_code == 1 and "password: must not be the user name" in named.output


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaaaa", "is too easy to guess: use a longer phrase of unrelated words"),
        ("Password123!", "is too easy to guess: use a longer phrase of unrelated words"),
        ("asdfasdfasdf", "is too easy to guess: use a longer phrase of unrelated words"),
        ("password123", "is one of the most commonly used passwords"),
        ("qwertyuiop", "is one of the most commonly used passwords"),
    ],
)
def test_policy_refuses_guessable_passwords(auth_svc: CrmServices, password: str, message: str) -> None:
    """Issue 14 safety 5: long enough is not strong enough (zxcvbn score and a common-password list)."""
    with pytest.raises(RecordInvalid) as refused:
        create_user(auth_svc.engine, "cat", password)
    assert [(p.path, p.message) for p in refused.value.problems] == [("password", message)]
    create_user(auth_svc.engine, "cat", PASSWORD)
    with pytest.raises(RecordInvalid):
        set_password(auth_svc.engine, "cat", password)
    assert authenticate(auth_svc.engine, "cat", PASSWORD) is not None


def test_the_password_form_explains_a_weak_password_in_both_languages(
    auth_app: Flask, auth_svc: CrmServices
) -> None:
    create_user(auth_svc.engine, "gus", PASSWORD)
    client = auth_app.test_client()
    assert login(client, "gus").status_code == 302
    for lang, weak, common in (
        ("en", "too easy to guess", "most commonly used passwords"),
        ("zh-CN", "密码太容易被猜到", "最常用的密码"),
    ):
        client.set_cookie("lang", lang)
        for new, expected in (("aaaaaaaaaa", weak), ("iloveyou12", common)):
            data = {"current_password": PASSWORD, "new_password": new, "confirm_password": new}
            refused = post_form(client, "/account/security", "/account/password", data)
            assert refused.status_code == 422 and expected in refused.get_data(as_text=True), (lang, new)
    assert authenticate(auth_svc.engine, "gus", PASSWORD) is not None
