"""Helpers for the staff-page tests: sign in as a persona, read CSRF tokens, open tasks."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.models import OutreachTask, User
from outreach.runtime import runtime
from tests.factories import PASSWORD, World, report_event


def csrf(client: FlaskClient, path: str = "/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, f"{path} carries a CSRF token"
    return match.group(1)


def log_in(client: FlaskClient, user: User) -> None:
    response = client.post(
        "/login",
        data={"username": user.username, "password": PASSWORD, "csrf_token": csrf(client)},
    )
    assert response.status_code == 302, response.get_data(as_text=True)


def post(client: FlaskClient, path: str, data: dict[str, str] | None = None) -> object:
    token = csrf(client, "/home")
    return client.post(path, data={**(data or {}), "csrf_token": token})


def open_tasks(
    app: Flask, db: Session, world: World, now: datetime, event: str = "enrolled"
) -> list[OutreachTask]:
    opened = report_event(db, runtime(app).profiles, world, event, now=now)
    assert opened, "the protocol opens a task for this event"
    return opened


def task_id(task: OutreachTask) -> uuid.UUID:
    return task.id
