"""A supervisor's CSV export never stalls the service (S2: a STOP texted meanwhile is kept).

Each request runs on the application's own engine here, as in production, so a transaction or a
connection that a response leaves behind is seen by the next request, by another process, or by
the pool.
"""

from __future__ import annotations

import csv
import io
import time
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from outreach.runtime import Runtime, runtime
from outreach.services.attempts import attempt_log
from outreach.services.contact_persons import preferences
from outreach.services.supervision import attempt_export
from tests.conftest import NOW
from tests.factories import World, build_world, report_event
from tests.functional.committed import nothing_left_open
from tests.functional.test_webhooks import CONTACT, signed_post
from tests.functional.web import log_in


def _seed(rt: Runtime, attempts: int) -> World:
    """A world whose liaison logged `attempts` calls, three at a time at the same minute (so the
    export's paging must order ties by something other than the time)."""
    with rt.sessions() as session:
        world = build_world(session, rt.vault, now=NOW - timedelta(days=2))
        # The task opened the day before, so none of its attempts came before it (S14).
        [task] = report_event(session, rt.profiles, world, "enrolled", now=NOW - timedelta(days=1))
        for n in range(attempts):
            attempt_log.record_attempt(
                session,
                rt.vault,
                actor=world.actor("liaison"),
                task_id=task.id,
                channel="voice",
                at=NOW - timedelta(minutes=n // 3 + 1),
                outcome="no_answer",
                now=NOW,
            )
        session.commit()
        return world


def _export(client: FlaskClient) -> list[list[str]]:
    response = client.get("/review/attempts.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    response.close()
    return rows


def _stop_is_kept_within_a_second(app: Flask, client: FlaskClient, world: World) -> None:
    started = time.monotonic()
    response = signed_post(
        app,
        client,
        "/webhooks/twilio/sms/inbound",
        {"From": CONTACT, "Body": "STOP", "MessageSid": "SMstopafterexport"},
    )
    assert response.status_code == 200
    assert time.monotonic() - started < 1.0, "the STOP waited on a lock the export left"
    with runtime(app).sessions() as session:
        assert preferences.current_preferences(session, world.contact.id).sms is False


def test_after_an_export_a_texted_stop_is_kept_and_answered_at_once(
    committed: tuple[Flask, Runtime],
) -> None:
    app, rt = committed
    world = _seed(rt, attempts=30)
    supervisor = app.test_client()
    log_in(supervisor, world.users["supervisor"])
    rows = _export(supervisor)
    assert len(rows) == 31  # the header and every attempt
    nothing_left_open(rt)
    _stop_is_kept_within_a_second(app, app.test_client(), world)


def test_an_export_read_only_in_part_leaves_nothing_open(committed: tuple[Flask, Runtime]) -> None:
    """A supervisor whose download breaks off: the server closes the stream half-read."""
    app, rt = committed
    world = _seed(rt, attempts=30)
    supervisor = app.test_client()
    log_in(supervisor, world.users["supervisor"])
    response = supervisor.get("/review/attempts.csv", buffered=False)
    first = next(iter(response.response))
    assert first.startswith(b"attempt,")
    response.close()
    nothing_left_open(rt)
    _stop_is_kept_within_a_second(app, app.test_client(), world)


def test_an_export_larger_than_one_read_comes_out_whole_and_in_order(
    committed: tuple[Flask, Runtime], monkeypatch: pytest.MonkeyPatch
) -> None:
    # 31 attempts: eight reads, ties across them
    monkeypatch.setattr(attempt_export, "EXPORT_CHUNK", 4)
    app, rt = committed
    world = _seed(rt, attempts=31)
    supervisor = app.test_client()
    log_in(supervisor, world.users["supervisor"])
    rows = _export(supervisor)
    header, body = rows[0], rows[1:]
    assert len(body) == 31
    times = [row[header.index("at_utc")] for row in body]
    assert times == sorted(times, reverse=True)  # newest first, none twice, none lost
    assert len({row[header.index("attempt")] for row in body}) == 31
    nothing_left_open(rt)
