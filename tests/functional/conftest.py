"""Fixtures for the channel layer: the simulator in step-by-step mode, and a task to work."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from outreach import create_app
from outreach.channels.pacing import Pacer
from outreach.channels.simulator import Poster, SimulatorChannel
from outreach.channels.simulator_scenarios import Realism, ScriptedScenario
from outreach.clock import FixedClock
from outreach.models import OutreachTask
from outreach.runtime import Runtime, runtime
from outreach.security.vault import Vault
from outreach.services.delivery.outward import Outward
from outreach.services.records.audit import SYSTEM
from outreach.services.staff import users
from outreach.settings import load_settings
from tests.conftest import NOW, engine_url
from tests.factories import World, report_event
from tests.functional.committed import APP_NAME

LIAISON_PHONE = "+14045550111"


@pytest.fixture
def scenario() -> ScriptedScenario:
    return ScriptedScenario()


@pytest.fixture
def simulator(app: Flask, scenario: ScriptedScenario) -> SimulatorChannel:
    rt = runtime(app)
    channel = SimulatorChannel(
        Poster(app, rt.settings.webhook_token, rt.settings.public_url),
        scenario,
        Pacer(1000, sleep=lambda _: None),
        background=False,
        # Twilio as it behaves: callbacks shuffled and repeated, every machine verdict (issue 24).
        realism=Realism.realistic(),
    )
    rt.channel = channel
    return channel


@pytest.fixture
def out(app: Flask, simulator: SimulatorChannel) -> Outward:
    return runtime(app).outward()


@pytest.fixture
def intake(db: Session, world: World, vault: Vault, app: Flask) -> OutreachTask:
    users.set_phone(
        db, vault, user_id=world.users["liaison"].id, phone=LIAISON_PHONE, now=NOW, actor=SYSTEM
    )
    [task] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    return task


@pytest.fixture
def committed(own_engine: Engine, test_environ: dict[str, str]) -> Iterator[tuple[Flask, Runtime]]:
    """The application on a database of the test's own, where every commit is real."""
    url = engine_url(own_engine)
    if own_engine.dialect.name == "postgresql":
        url += f"&application_name={APP_NAME}"  # its connections, told apart from the suite's
    settings = load_settings({**test_environ, "OUTREACH_DATABASE_URL": url})
    app = create_app({"TESTING": True}, settings=settings, clock=FixedClock(NOW))
    yield app, runtime(app)
    runtime(app).engine.dispose()
