"""`outreach purge` reaches Twilio: after the database purge it deletes Twilio's own records of
the purged contact's calls and texts, through the real SDK; a refusal waits for the next run."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from dateutil.relativedelta import relativedelta
from sqlalchemy import select

from outreach.channels.pacing import Pacer
from outreach.channels.twilio import TwilioChannel, make_client
from outreach.db import migrate
from outreach.models import AuditEvent, ProviderErasure
from outreach.runtime import runtime
from tests.conftest import NOW
from tests.factories import build_world, leave_provider_trail
from tests.fakes import RecordingHttpClient
from tests.functional.test_purge import _app

LATER = NOW + relativedelta(years=3) + timedelta(days=1)  # every test program keeps 3 years
OUTAGE = (503, {"code": 20503, "message": "Service unavailable", "status": 503})


@pytest.fixture
def instance(tmp_path: Path) -> Path:
    return tmp_path / "instance"


@pytest.fixture
def trail(instance: Path) -> set[str]:
    """A contact, years ago, whose calls and texts went through Twilio."""
    rt = runtime(_app(instance, NOW))
    migrate(rt.engine)
    with rt.session() as session:
        world = build_world(session, rt.vault, now=NOW)
        sids = leave_provider_trail(session, rt.vault, rt.profiles, world, now=NOW)
    rt.engine.dispose()
    return sids


def _purge(
    instance: Path, at: datetime, http: RecordingHttpClient, *options: str
) -> tuple[Result, set[str]]:
    """Run `outreach purge` with the Twilio adapter on `http`; answer what it printed and what
    is still queued for erasure."""
    app = _app(instance, at)
    rt = runtime(app)
    client = make_client("AC" + "1" * 32, "token", http_client=http)
    rt.channel = TwilioChannel(client, Pacer(1000, sleep=lambda _: None))
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["purge", *options])
    with rt.session() as session:
        queued = set(session.scalars(select(ProviderErasure.sid)))
    rt.engine.dispose()
    return result, queued


def _deleted(http: RecordingHttpClient) -> set[str]:
    assert {r.method for r in http.requests} == {"DELETE"}
    return {r.url.rsplit("/", 1)[1].removesuffix(".json") for r in http.requests}


def test_the_purge_deletes_twilios_record_of_each_call_leg_and_text(
    instance: Path, trail: set[str]
) -> None:
    http = RecordingHttpClient([(204, {})] * len(trail))
    result, queued = _purge(instance, LATER, http)

    assert result.exit_code == 0, result.output
    assert "purged 1 contact record(s)" in result.output
    assert "twilio: 6 record(s) of calls and texts erased" in result.output
    assert _deleted(http) == trail
    assert queued == set()


def test_records_twilio_refused_wait_for_the_next_run_which_finishes(
    instance: Path, trail: set[str]
) -> None:
    down = RecordingHttpClient([OUTAGE] * len(trail))
    refused, queued = _purge(instance, LATER, down)

    assert refused.exit_code == 1
    assert "purged 1 contact record(s)" in refused.output  # the database purge stands
    assert "6 not erased: Twilio answered 503 (20503)" in refused.output
    assert "6 provider record(s) not erased yet: run `outreach purge` again" in refused.output
    assert queued == trail

    back = RecordingHttpClient([(204, {})] * len(trail))
    again, queued = _purge(instance, LATER + timedelta(days=1), back)

    assert again.exit_code == 0, again.output
    assert "0 contact record(s) due" in again.output
    assert _deleted(back) == trail
    assert queued == set()
    rt = runtime(_app(instance, LATER))
    with rt.session() as session:
        runs = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "system.provider_records_erased")
            .order_by(AuditEvent.at)
        ).all()
    rt.engine.dispose()
    assert runs == [{"erased": 0, "refused": 6}, {"erased": 6, "refused": 0}]


def test_a_dry_run_says_how_many_records_wait_and_asks_twilio_nothing(
    instance: Path, trail: set[str]
) -> None:
    _purge(instance, LATER, RecordingHttpClient([OUTAGE] * len(trail)))
    http = RecordingHttpClient()
    result, queued = _purge(instance, LATER, http, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "6 provider record(s) to erase" in result.output
    assert "dry run: nothing was deleted" in result.output
    assert http.requests == []
    assert queued == trail
