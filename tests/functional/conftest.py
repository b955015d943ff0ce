"""Fixtures for the channel layer: the simulator in step-by-step mode, and a task to work."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from outreach.channels.pacing import Pacer
from outreach.channels.simulator import Poster, ScriptedScenario, SimulatorChannel
from outreach.models import OutreachTask
from outreach.runtime import runtime
from outreach.security.vault import Vault
from outreach.services import users
from outreach.services.deliveries import Outward
from tests.conftest import NOW
from tests.factories import World, report_event

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
    )
    rt.channel = channel
    return channel


@pytest.fixture
def out(app: Flask, simulator: SimulatorChannel) -> Outward:
    return runtime(app).outward()


@pytest.fixture
def intake(db: Session, world: World, vault: Vault, app: Flask) -> OutreachTask:
    users.set_phone(db, vault, user_id=world.users["liaison"].id, phone=LIAISON_PHONE, now=NOW)
    [task] = report_event(db, runtime(app).profiles, world, "enrolled", now=NOW)
    return task
