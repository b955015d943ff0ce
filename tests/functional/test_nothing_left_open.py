"""No request leaves a transaction or a connection behind, whatever it answers (issue 21
finding 1): every web route as every role, every API route with every role's token, and every
webhook, on the application's own engine; after each, the pool has every connection back and
(SQLite) another process can take the write lock at once.

One left open would make every later webhook wait and fail, a texted STOP included (S2).
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from outreach.models import OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.services.records.audit import SYSTEM
from outreach.services.staff.tokens import issue_token
from tests.conftest import NOW
from tests.factories import World, build_world, make_safe_check_delivery
from tests.functional.committed import nothing_left_open
from tests.functional.test_web_crawl import _call, _path, _seed, _web_rules
from tests.functional.test_webhooks import CONTACT, signed_post
from tests.functional.web import log_in

ROLES = ("liaison", "supervisor", "facilitator", "admin", "outsider")
# One body for every API write: each route takes what it knows and refuses the rest, and
# either way the request must end its transaction.
API_BODY: dict[str, Any] = {
    "channel": "voice",
    "at": NOW.isoformat(),
    "outcome": "no_answer",
    "resolution": "completed",
    "type": "enrolled",
    "date": "2026-11-17",
    "reason": "storm",
    "status": "present",
}


def _world(app: Flask, rt: Runtime) -> tuple[World, dict[str, str]]:
    with rt.sessions() as session:
        world = build_world(session, rt.vault, now=NOW)
        ids = _seed(app, session, world)
        task = session.get(OutreachTask, uuid.UUID(ids["task_id"]))
        assert task is not None
        ids["code"] = make_safe_check_delivery(session, task, now=NOW).code
        session.commit()
        return world, ids


def _rules(app: Flask, prefix: str) -> list[tuple[str, str]]:
    return sorted(
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    )


def test_no_web_route_of_any_role_leaves_anything_open(committed: tuple[Flask, Runtime]) -> None:
    app, rt = committed
    world, ids = _world(app, rt)
    for role in (None, *ROLES):
        client = app.test_client()
        if role is not None:
            log_in(client, world.users[role])
        nothing_left_open(rt)
        for method, rule in sorted(_web_rules(app) - {("POST", "/logout")}):
            status, _ = _call(client, method, _path(rule, ids))
            assert status < 500, f"{role}: {method} {rule} answered {status}"
            nothing_left_open(rt)


def test_no_api_route_of_any_role_leaves_anything_open(committed: tuple[Flask, Runtime]) -> None:
    app, rt = committed
    world, ids = _world(app, rt)
    with rt.sessions() as session:
        tokens = {
            role: issue_token(
                session, username=world.users[role].username, days=9, now=NOW, actor=SYSTEM
            )
            for role in ROLES
        }
        session.commit()
    routes = _rules(app, "/api/")
    for role, issued in (("stranger", None), *tokens.items()):
        headers = {"Authorization": f"Bearer {issued.token}"} if issued else {}
        for method, rule in routes:
            response = app.test_client().open(
                _api_path(rule, ids), method=method, json=API_BODY, headers=headers
            )
            assert response.status_code < 500, f"{role}: {method} {rule}"
            response.close()
            nothing_left_open(rt)


def _api_path(path: str, ids: dict[str, str]) -> str:
    """API rules name their ids without a converter (`<task_id>`)."""
    for name, value in ids.items():
        path = path.replace(f"<{name}>", value)
    return path


def test_no_webhook_leaves_anything_open(committed: tuple[Flask, Runtime]) -> None:
    app, rt = committed
    _, ids = _world(app, rt)
    fields = {
        "From": CONTACT,
        "Body": "HELP",
        "MessageSid": "SMcrawl",
        "MessageStatus": "delivered",
        "CallSid": "CAcrawl",
        "CallStatus": "completed",
        "AnsweredBy": "human",
        "Digits": "2",
        "DialCallStatus": "completed",
    }
    client: FlaskClient = app.test_client()
    for method, rule in _rules(app, "/webhooks/"):
        assert method == "POST"
        for query in (f"?c={ids['code']}", "?c=unknown"):
            response = signed_post(app, client, rule + query, fields)
            assert response.status_code == 200, f"{rule}{query} answered {response.status_code}"
            nothing_left_open(rt)
    assert runtime(app).engine.pool.checkedout() == 0
