"""Crawl every route as a facilitator, an outsider and a stranger: nothing of a contact leaks.

S7: a facilitator gets 403 from every contact route and never sees one byte of contact data.
Object-level checks: a liaison of another program is refused every record of this one.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from outreach.runtime import runtime
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import disclosures, her_word, opt_back_in
from tests.conftest import NOW
from tests.factories import World, make_contact, make_release
from tests.functional.web import csrf, log_in, open_tasks

# Every way the seeded contact's name or number could be written.
SECRETS = ("Avery", "Sample", "4045550123", "404-555-0123", "(404) 555-0123", "555-0123")
# What a release or a compelled disclosure holds (tests/factories.py make_release).
SECRETS += ("Rivera", "kept away", "2026-CV-0099", "at risk")

# Web routes that hold or act on contact data (and the supervisor's and admin's pages).
CONTACT_ROUTES = {
    ("GET", "/queue"),
    ("GET", "/tasks/<uuid:task_id>"),
    ("POST", "/tasks/<uuid:task_id>/claim"),
    ("POST", "/tasks/<uuid:task_id>/attempts"),
    ("POST", "/tasks/<uuid:task_id>/close"),
    ("POST", "/tasks/<uuid:task_id>/call"),
    ("GET", "/tasks/<uuid:task_id>/calls/<uuid:call_id>/progress"),
    ("POST", "/tasks/<uuid:task_id>/confirm"),
    ("POST", "/tasks/<uuid:task_id>/rhythm"),
    ("POST", "/tasks/<uuid:task_id>/updates"),
    ("POST", "/tasks/<uuid:task_id>/channels"),
    ("POST", "/tasks/<uuid:task_id>/opt-back-in"),
    ("POST", "/tasks/<uuid:task_id>/opt-back-in/<uuid:request_id>/confirm"),
    # seeds/001 "Massachusetts": her safe mailing address and the letter printed to it.
    ("POST", "/tasks/<uuid:task_id>/mailing-address"),
    ("GET", "/tasks/<uuid:task_id>/letter"),
    ("POST", "/tasks/<uuid:task_id>/letter/mailed"),
    ("GET", "/review/attempts"),
    ("GET", "/review/attempts.csv"),
    ("GET", "/review/compliance"),
    ("GET", "/review/duty-to-warn.csv"),
    ("GET", "/review/sign-offs"),
    ("POST", "/review/tasks/<uuid:task_id>/sign-off"),
    ("POST", "/review/attempts/<uuid:attempt_id>/correction"),
    ("GET", "/releases"),
    ("GET", "/contacts/<uuid:contact_id>/releases"),
    ("POST", "/contacts/<uuid:contact_id>/releases"),
    ("POST", "/contacts/<uuid:contact_id>/releases/<uuid:release_id>/revoke"),
    ("POST", "/contacts/<uuid:contact_id>/releases/<uuid:release_id>/share"),
    ("POST", "/contacts/<uuid:contact_id>/disclosures"),
    ("POST", "/contacts/<uuid:contact_id>/disclosures/<uuid:disclosure_id>/confirm"),
}
ADMIN_ROUTES = {
    ("GET", "/admin/users"),
    ("POST", "/admin/users"),
    ("POST", "/admin/users/<uuid:user_id>/disable"),
    ("POST", "/admin/users/<uuid:user_id>/token"),
    ("GET", "/admin/programs"),
    ("POST", "/admin/programs"),
    # S8: each program's on-call supervisor and duty-to-warn response target.
    ("GET", "/admin/programs/duty-to-warn"),
    ("POST", "/admin/programs/<uuid:program_id>/on-call"),
    ("POST", "/admin/programs/<uuid:program_id>/duty-to-warn-target"),
}
PROGRAM_ROUTES = {
    ("GET", "/groups"),
    ("GET", "/groups/<uuid:group_id>"),
    ("POST", "/groups/<uuid:group_id>/cancellations"),
    ("POST", "/participants/<uuid:participant_id>/attendance"),
    ("POST", "/participants/<uuid:participant_id>/events"),
}
OPEN_ROUTES = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/login/code"),
    ("POST", "/login/code"),
    ("POST", "/logout"),
    ("GET", "/healthz"),
    ("GET", "/static/<path:filename>"),
}
SIGNED_IN_ROUTES = {
    ("GET", "/home"),
    ("GET", "/account/second-factor"),
    ("POST", "/account/second-factor"),
    ("GET", "/account/password"),
    ("POST", "/account/password"),
    ("GET", "/account/phone"),
    ("POST", "/account/phone"),
    ("GET", "/account/language"),
    ("POST", "/account/language"),
}
PROTECTED = sorted(CONTACT_ROUTES | ADMIN_ROUTES | PROGRAM_ROUTES | SIGNED_IN_ROUTES)
# Routes on one program's records: a liaison of another program is refused every one.
OBJECT_ROUTES = sorted(r for r in CONTACT_ROUTES | PROGRAM_ROUTES if "<uuid:" in r[1])


def _web_rules(app: Flask) -> set[tuple[str, str]]:
    return {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if not rule.rule.startswith(("/api/", "/webhooks/"))
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
    }


def _seed(app: Flask, db: Session, world: World) -> dict[str, str]:
    task = open_tasks(app, db, world, NOW)[0]
    attempt = attempt_log.record_attempt(
        db,
        runtime(app).vault,
        actor=world.actor("liaison"),
        task_id=task.id,
        channel="voice",
        at=NOW - timedelta(days=1),
        outcome="no_answer",
        now=NOW,
        notes="Avery asked for a call on Monday",
        entry=attempt_log.Entry(reason="entered from the paper log"),  # S14: before the task opened
    )
    release = make_release(db, runtime(app).vault, world, now=NOW)
    disclosure = disclosures.record_disclosure(
        db,
        runtime(app).vault,
        actor=world.actor("supervisor"),
        contact_id=world.contact.id,
        report=disclosures.DisclosureReport(
            authority="subpoena",
            authority_detail="Case 2026-CV-0099",
            items=("notes",),
            description="Avery's notes, to the clerk",
            danger_reason="Avery Sample would be at risk",
        ),
        now=NOW,
    )
    # S1: a contact who declined and asked to be contacted again, held for a supervisor.
    declined = make_contact(
        db,
        runtime(app).vault,
        world.participant,
        now=NOW,
        phone="404-555-0177",
        consent="consented",
    )
    her_word.record_decline(db, actor=world.actor("liaison"), contact_id=declined.id, now=NOW)
    db.commit()
    held = opt_back_in.request(
        db, runtime(app).vault, actor=world.actor("liaison"), contact_id=declined.id,
        words="Avery wants calls again", channels={"voice": True}, now=NOW,
    )  # fmt: skip
    return {
        "request_id": str(held.id),
        "call_id": str(uuid.uuid4()),  # no call: the task's program is checked first
        "task_id": str(task.id),
        "attempt_id": str(attempt.id),
        "release_id": str(release.id),
        "disclosure_id": str(disclosure.id),
        "group_id": str(world.group.id),
        "participant_id": str(world.participant.id),
        "program_id": str(world.home.id),
        "user_id": str(world.users["liaison"].id),
        "contact_id": str(world.contact.id),
        "filename": "app.css",
    }


def _path(rule: str, ids: dict[str, str]) -> str:
    for name, value in ids.items():
        for converter in ("uuid", "path", "string"):
            rule = rule.replace(f"<{converter}:{name}>", value)
        rule = rule.replace(f"<{name}>", value)
    return rule


def _call(client: FlaskClient, method: str, path: str) -> tuple[int, str]:
    if method == "GET":
        response = client.get(path)
    else:
        token = csrf(client, "/login")
        data = {
            "csrf_token": token,
            "outcome": "no_answer",
            "status": "present",
            "date": "2026-11-17",
        }
        response = client.open(path, method=method, data=data)
    body = response.get_data(as_text=True)
    response.close()  # a static file's handle closes here, not at garbage collection
    return response.status_code, body


def test_every_web_route_is_classified(app: Flask) -> None:
    known = CONTACT_ROUTES | ADMIN_ROUTES | PROGRAM_ROUTES | OPEN_ROUTES | SIGNED_IN_ROUTES
    assert _web_rules(app) == known, "classify each new route in this test"


def test_a_facilitator_crawling_every_route_sees_no_contact_data(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    ids = _seed(app, db, world)
    log_in(client, world.users["facilitator"])
    every = {(m, r.rule) for r in app.url_map.iter_rules() for m in r.methods or ()} - {
        ("POST", "/logout")
    }
    for method, rule in sorted(every - {(m, r) for m, r in every if m in ("HEAD", "OPTIONS")}):
        status, body = _call(client, method, _path(rule, ids))
        if (method, rule) in CONTACT_ROUTES | ADMIN_ROUTES:
            assert status == 403, f"{method} {rule} answered {status}"
        for secret in SECRETS:
            assert secret not in body, f"{method} {rule} leaked contact data"


def test_an_outsider_crawling_every_route_sees_no_contact_data(
    app: Flask, client: FlaskClient, db: Session, world: World
) -> None:
    ids = _seed(app, db, world)
    log_in(client, world.users["outsider"])
    for method, rule in sorted(_web_rules(app) - {("POST", "/logout")}):
        _, body = _call(client, method, _path(rule, ids))
        for secret in SECRETS:
            assert secret not in body, f"{method} {rule} leaked contact data"


@pytest.mark.parametrize(("method", "rule"), OBJECT_ROUTES)
def test_every_record_route_refuses_a_liaison_of_another_program(
    app: Flask, client: FlaskClient, db: Session, world: World, method: str, rule: str
) -> None:
    ids = _seed(app, db, world)
    log_in(client, world.users["outsider"])
    status, _ = _call(client, method, _path(rule, ids))
    assert status == 403


@pytest.mark.parametrize(("method", "rule"), PROTECTED)
def test_every_protected_route_sends_a_stranger_to_sign_in(
    app: Flask, client: FlaskClient, method: str, rule: str
) -> None:
    ids = {name: str(uuid.uuid4()) for name in ("task_id", "attempt_id", "group_id")}
    ids |= {name: str(uuid.uuid4()) for name in ("participant_id", "user_id")}
    ids |= {name: str(uuid.uuid4()) for name in ("contact_id", "release_id", "disclosure_id")}
    ids |= {
        "request_id": str(uuid.uuid4()),
        "program_id": str(uuid.uuid4()),
        "call_id": str(uuid.uuid4()),
    }
    status, _ = _call(client, method, _path(rule, ids))
    assert status in (302, 400)  # 400: a POST without a session has no CSRF token to match
    if method == "GET":
        with client.get(_path(rule, ids)) as response:
            assert response.headers["Location"].endswith("/login")
