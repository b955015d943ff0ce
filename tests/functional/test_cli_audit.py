"""`outreach audit verify` and `outreach keys rotate` as an operator runs them (S10)."""

from __future__ import annotations

import base64
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.functional.test_cli import run


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance with a database and a few audited events: two staff accounts, a token."""
    path = tmp_path_factory.mktemp("audited") / "instance"
    assert run(path, "init").returncode == 0
    for name in ("sam.ops", "kim.ops"):
        added = run(path, "users", "add", name, "--role", "admin")
        assert added.returncode == 0, added.stderr
    assert run(path, "users", "token", "sam.ops").returncode == 0
    return path


@pytest.fixture
def instance(audited: Path, tmp_path: Path) -> Path:
    """A copy of the audited instance for one test to change (SQLite is one file, WAL aside)."""
    return Path(shutil.copytree(audited, tmp_path / "instance"))


def _tamper(instance: Path, *statements: str) -> None:
    """Change the file as someone with write access to it would, around the triggers."""
    with sqlite3.connect(instance / "outreach.db") as db:
        db.execute("DROP TRIGGER audit_event_no_update")
        db.execute("DROP TRIGGER audit_event_no_delete")
        for statement in statements:
            db.execute(statement)


def test_a_clean_chain_verifies_and_prints_its_head(instance: Path) -> None:
    result = run(instance, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert "audit chain intact: 3 events" in result.stdout
    assert "head 3:" in result.stdout


def test_a_changed_row_fails_verification_naming_the_event(instance: Path) -> None:
    _tamper(instance, "UPDATE audit_event SET action = 'user.nothing' WHERE seq = 2")
    result = run(instance, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN at event 2: changed" in result.stderr


def test_a_deleted_row_fails_verification(instance: Path) -> None:
    _tamper(instance, "DELETE FROM audit_event WHERE seq = 1")
    result = run(instance, "audit", "verify")
    assert result.returncode == 1
    assert "BROKEN at event 1: deleted" in result.stderr


def test_cutting_off_the_newest_event_fails_against_the_kept_head(instance: Path) -> None:
    head = run(instance, "audit", "verify").stdout.split("head ")[1].split()[0]
    _tamper(instance, "DELETE FROM audit_event WHERE seq = 3")
    result = run(instance, "audit", "verify", "--head", head)
    assert result.returncode == 1
    assert "BROKEN at event 3: deleted" in result.stderr


def test_the_wrong_audit_key_trusts_nothing(instance: Path) -> None:
    other = base64.urlsafe_b64encode(os.urandom(32)).decode()
    result = run(instance, "audit", "verify", OUTREACH_AUDIT_KEY=other)
    assert result.returncode == 1
    assert "BROKEN at event 1" in result.stderr


def test_keys_rotate_moves_everything_to_the_newest_key(instance: Path) -> None:
    run(instance, "users", "add", "ann.liaison", "--role", "liaison")
    generated = (instance / "generated-secrets.json").read_text()
    old = generated.split('"OUTREACH_DATA_KEYS": "')[1].split('"')[0]
    keys = f"k2:{base64.urlsafe_b64encode(os.urandom(32)).decode()},{old}"
    refused = run(instance, "keys", "rotate", "--to", "k3", OUTREACH_DATA_KEYS=keys)
    assert refused.returncode == 1
    assert "newest key 'k3' is missing" in refused.stderr
    rotated = run(instance, "keys", "rotate", "--to", "k2", OUTREACH_DATA_KEYS=keys)
    assert rotated.returncode == 0, rotated.stderr
    assert "before: contact keys by key id: none" in rotated.stdout
    assert run(instance, "audit", "verify").returncode == 0  # rotation is audited, chained
