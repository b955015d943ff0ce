"""`outreach keys rotate` re-keys the phone index as an operator runs it (S2, S10)."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from tests.functional.test_cli import run


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A development instance with the demo's contacts, indexed under its single index key."""
    path = tmp_path_factory.mktemp("keys") / "instance"
    result = run(path, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    return path


@pytest.fixture
def instance(seeded: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(seeded, tmp_path / "instance"))


def _new_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode()


def _counts(output: str, when: str) -> str:
    found = re.search(rf"^{when}: phone indexes by key id: (.*)$", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def test_an_operator_re_keys_the_phone_index_then_removes_the_old_key(instance: Path) -> None:
    generated = json.loads((instance / "generated-secrets.json").read_text())
    single = generated["OUTREACH_INDEX_KEY"]
    new = f"i2:{_new_key()}"

    forgotten = run(instance, "keys", "rotate", OUTREACH_INDEX_KEYS=new)
    assert forgotten.returncode == 1
    assert "made with keys not configured: OUTREACH_INDEX_KEY" in forgotten.stderr

    rotated = run(
        instance,
        "keys",
        "rotate",
        "--index-to",
        "i2",
        OUTREACH_INDEX_KEYS=new,
        OUTREACH_INDEX_KEY=single,
    )
    assert rotated.returncode == 0, rotated.stderr
    contacts = int(_counts(rotated.stdout, "before").removeprefix("OUTREACH_INDEX_KEY: "))
    assert contacts > 0
    assert _counts(rotated.stdout, "after") == f"i2: {contacts}"
    assert "indexing under i2" in rotated.stdout

    alone = run(instance, "keys", "rotate", OUTREACH_INDEX_KEYS=new)  # the old key removed
    assert alone.returncode == 0, alone.stderr
    assert _counts(alone.stdout, "before") == f"i2: {contacts}"
    assert "+1" not in rotated.stdout + rotated.stderr + alone.stdout  # no phone shown (S10)
    assert run(instance, "audit", "verify").returncode == 0  # each batch audited, chained


def test_the_help_tells_an_operator_the_order_of_the_steps(instance: Path) -> None:
    shown = run(instance, "keys", "rotate", "--help")
    assert shown.returncode == 0
    text = " ".join(shown.stdout.split())
    assert "OUTREACH_INDEX_KEYS" in text
    assert "--index-to KEY_ID" in text
    assert "remove an old key only once nothing is left under it" in text
