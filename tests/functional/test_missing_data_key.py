"""A contact whose data key is not configured: the page says the record cannot be opened, and
the operator's log names the key to put back, never anything of the contact (S10).

This is what a liaison meets after a restore without the keys kept beside the backup, or after
an old key was removed too early (docs/operations.md, "Backup and restore drill").
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.runtime import runtime
from outreach.security.crypto import Keyring
from outreach.security.vault import Vault
from outreach.settings_secrets import DataKey
from tests.conftest import NOW
from tests.factories import World
from tests.functional.test_asvs_logging import Kept
from tests.functional.web import log_in, open_tasks, post


@pytest.fixture
def logged(app: Flask) -> Iterator[Kept]:
    """What the application logs, through production's masking filter."""
    handler, logger = Kept(), logging.getLogger("outreach")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


def _lose_the_data_key(app: Flask) -> None:
    """The service restarted with a keyring that lacks the key the contacts are wrapped under."""
    rt = runtime(app)
    rt.vault = Vault(Keyring((DataKey("k9", os.urandom(32)),)), rt.vault.index_keys)


def test_a_liaison_opening_a_task_sees_it_cannot_be_opened_and_the_log_names_the_key(
    app: Flask, client: FlaskClient, db: Session, world: World, logged: Kept
) -> None:
    task = open_tasks(app, db, world, NOW)[0]
    log_in(client, world.users["liaison"])
    post(client, f"/tasks/{task.id}/claim")
    _lose_the_data_key(app)
    response = client.get(f"/tasks/{task.id}")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Contact data cannot be opened" in page
    assert "test1" not in page, "key ids are for the operator's log, not the page"
    assert "CRITICAL outreach.web: contact data cannot be opened: data key test1 missing" in (
        logged.text()
    )
    for secret in ("Avery", "4045550123", "555-0123"):
        assert secret not in page
        assert secret not in logged.text()
